// expect_close for tensors: reports the worst element (index, actual, expected) on failure, so a
// mismatch says where, not just that. Header-only; only LibTorch test binaries include it.
#pragma once

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <sstream>
#include <string>

namespace lmc::testing {

// Max |actual - expected| over all elements, both upcast to fp64.
inline double max_abs_diff(const at::Tensor& actual, const at::Tensor& expected) {
  return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
}

inline ::testing::AssertionResult tensors_close(const at::Tensor& actual, const at::Tensor& expected, double atol,
                                                double rtol = 0.0) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream out;
    out << "shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << out.str();
  }
  auto a = actual.to(at::kDouble).contiguous().flatten();
  auto e = expected.to(at::kDouble).contiguous().flatten();
  if (a.numel() == 0) return ::testing::AssertionSuccess();
  auto excess = (a - e).abs() - (e.abs() * rtol + atol);
  auto worst = excess.argmax().item<int64_t>();
  if (excess[worst].item<double>() <= 0) return ::testing::AssertionSuccess();
  std::ostringstream out;
  out << "worst element " << worst << " of " << a.numel() << ": actual " << a[worst].item<double>() << ", expected "
      << e[worst].item<double>() << " (|diff| " << std::abs(a[worst].item<double>() - e[worst].item<double>())
      << " > atol " << atol << " + rtol " << rtol << " * |expected|); max |diff| " << max_abs_diff(a, e);
  return ::testing::AssertionFailure() << out.str();
}

}  // namespace lmc::testing

#define EXPECT_TENSORS_CLOSE(actual, expected, atol, rtol, name) \
  EXPECT_TRUE(::lmc::testing::tensors_close((actual), (expected), (atol), (rtol))) << (name)
