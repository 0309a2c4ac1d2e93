// Helpers of the checkpoints tests: matches_encoded compares a tensor with its encoding by
// tests/oracles/safetensors_golden.py `encode` (shape, dtype facts, every element's raw bits and value,
// NaN and infinities spelled as strings), exactly: safetensors IO must not change a single bit.
// error_of returns the message of the lmc::Error a call throws.
#pragma once

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "test_util.h"

namespace lmc::testing {

inline std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no lmc::Error thrown)";
}

inline nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_file(path)); }

inline bool same_double(double actual, const nlohmann::json& expected) {
  if (expected.is_string()) {
    const auto text = expected.get<std::string>();
    if (text == "nan") return std::isnan(actual);
    if (text == "inf") return actual == INFINITY;
    if (text == "-inf") return actual == -INFINITY;
    return false;
  }
  return actual == expected.get<double>();
}

inline ::testing::AssertionResult matches_encoded(const at::Tensor& tensor, const nlohmann::json& expected) {
  auto fail = [](const std::string& what) { return ::testing::AssertionFailure() << what; };
  if (tensor.sizes().vec() != expected["shape"].get<std::vector<int64_t>>()) {
    return fail("shape " + c10::str(tensor.sizes()) + ", expected " + expected["shape"].dump());
  }
  const auto type = tensor.scalar_type();
  if (static_cast<int64_t>(tensor.element_size()) != expected["itemsize"].get<int64_t>() ||
      at::isFloatingType(type) != expected["is_floating_point"].get<bool>() ||
      at::isComplexType(type) != expected["is_complex"].get<bool>() ||
      at::isSignedType(type) != expected["is_signed"].get<bool>()) {
    return fail(std::string("dtype ") + c10::toString(type) + " does not fit " + expected.dump().substr(0, 200));
  }
  const at::Tensor flat = tensor.reshape(-1).contiguous();
  const auto* bytes = static_cast<const uint8_t*>(flat.data_ptr());
  const size_t size = flat.element_size();
  const auto& bits = expected["bits"];
  if (static_cast<int64_t>(bits.size()) != flat.numel()) return fail("element count differs");
  for (int64_t i = 0; i < flat.numel(); ++i) {
    uint64_t actual = 0;
    std::memcpy(&actual, bytes + i * size, size);
    if (actual != bits[i].get<uint64_t>()) {
      return fail("element " + std::to_string(i) + " has bits " + std::to_string(actual) + ", expected " + bits[i].dump());
    }
  }
  const auto& values = expected["values"];
  if (at::isComplexType(type) || at::isFloatingType(type)) {
    const at::Tensor real = (at::isComplexType(type) ? at::view_as_real(flat) : flat).to(at::kDouble).reshape(-1).contiguous();
    const double* data = real.data_ptr<double>();
    for (int64_t i = 0; i < real.numel(); ++i) {
      if (!same_double(data[i], values[i])) {
        return fail("value " + std::to_string(i) + " is " + std::to_string(data[i]) + ", expected " + values[i].dump());
      }
    }
  } else if (type == at::kBool) {
    for (int64_t i = 0; i < flat.numel(); ++i) {
      if ((bytes[i] != 0) != values[i].get<bool>()) return fail("bool " + std::to_string(i) + " differs");
    }
  } else if (type != at::kUInt64) {  // UInt64 values are its bits, checked above; int64 cannot hold them
    const at::Tensor wide = flat.to(at::kLong);
    const int64_t* data = wide.data_ptr<int64_t>();
    for (int64_t i = 0; i < wide.numel(); ++i) {
      if (data[i] != values[i].get<int64_t>()) {
        return fail("value " + std::to_string(i) + " is " + std::to_string(data[i]) + ", expected " + values[i].dump());
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace lmc::testing
