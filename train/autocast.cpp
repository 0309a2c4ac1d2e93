#include "train/autocast.h"

#include <ATen/autocast_mode.h>

namespace lmc::train {

AutocastGuard::AutocastGuard(c10::DeviceType type, std::optional<c10::ScalarType> dtype)
    : type_(type), was_enabled_(at::autocast::is_autocast_enabled(type)),
      was_dtype_(at::autocast::get_autocast_dtype(type)) {
  at::autocast::set_autocast_enabled(type, dtype.has_value());
  if (dtype) at::autocast::set_autocast_dtype(type, *dtype);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, was_enabled_);
  at::autocast::set_autocast_dtype(type_, was_dtype_);
}

std::optional<c10::ScalarType> AutocastGuard::current(c10::DeviceType type) {
  if (!at::autocast::is_autocast_enabled(type)) return std::nullopt;
  return at::autocast::get_autocast_dtype(type);
}

}  // namespace lmc::train
