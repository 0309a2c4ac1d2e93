// Mixed precision for one scope: autocast on a device type set to a dtype (bf16) or switched off, and the
// previous setting restored after. Leaving the outermost scope drops autocast's cache of low-precision
// weight copies, which would otherwise outlive the optimizer step that changes the weights.
#pragma once

#include <optional>

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace lmc::train {

class AutocastGuard {
 public:
  // `dtype` nullopt: autocast off inside the scope.
  AutocastGuard(c10::DeviceType type, std::optional<c10::ScalarType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

  // The setting in force on `type` right now (nullopt: off).
  static std::optional<c10::ScalarType> current(c10::DeviceType type);

 private:
  c10::DeviceType type_;
  bool was_enabled_;
  c10::ScalarType was_dtype_;
};

}  // namespace lmc::train
