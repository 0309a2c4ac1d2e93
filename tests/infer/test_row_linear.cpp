// The coder's small-batch linear kernel: close to BLAS, and every output bit-identical whatever the
// number of rows, the thread count or the row's position in the batch, because each output follows the
// documented summation order (checked against a scalar rendering of that order).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include <cstring>

#include "documented_order.h"
#include "infer/row_linear.h"

namespace lmc {
namespace {

// The documented order in scalar code: the lane-wise dot product, then the bias.
float reference_output(const float* x, const float* w, int64_t in, const float* bias) {
  const float sum = testing::documented_dot(x, w, in);
  return bias ? sum + *bias : sum;
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && std::memcmp(a.contiguous().data_ptr<float>(), b.contiguous().data_ptr<float>(),
                                               a.numel() * sizeof(float)) == 0;
}

struct Shape {
  int64_t rows, in, out;
  bool bias;
};

class RowLinear : public ::testing::TestWithParam<Shape> {};

TEST_P(RowLinear, FollowsTheDocumentedOrderBitForBitAndIsCloseToBlas) {
  c10::InferenceMode guard;
  const auto [rows, in, out, with_bias] = GetParam();
  at::manual_seed(rows * 1000 + in + out);
  auto x = at::randn({rows, in});
  auto w = at::randn({out, in}) / 8;
  auto b = with_bias ? at::randn({out}) : at::Tensor();
  ASSERT_TRUE(row_linear_applies(x, w, b));
  auto y = row_linear(x, w, b);
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{rows, out}));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t n = 0; n < out; ++n) {
      const float expected = reference_output(x[i].data_ptr<float>(), w[n].data_ptr<float>(), in,
                                              with_bias ? b.data_ptr<float>() + n : nullptr);
      ASSERT_EQ(std::memcmp(&expected, y[i].data_ptr<float>() + n, sizeof(float)), 0) << "row " << i << " output " << n;
    }
  }
  auto blas = at::linear(x.to(at::kDouble), w.to(at::kDouble), with_bias ? b.to(at::kDouble) : at::Tensor());
  EXPECT_TRUE(at::allclose(y.to(at::kDouble), blas, 1e-5, 1e-5));
}

TEST_P(RowLinear, EachRowIsTheSameAloneInAnyBatchAndOnAnyThreadCount) {
  c10::InferenceMode guard;
  const auto [rows, in, out, with_bias] = GetParam();
  at::manual_seed(7 + rows);
  auto x = at::randn({rows, in});
  auto w = at::randn({out, in});
  auto b = with_bias ? at::randn({out}) : at::Tensor();
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one_thread = row_linear(x, w, b);
  at::set_num_threads(2);
  auto two_threads = row_linear(x, w, b);
  at::set_num_threads(threads);
  EXPECT_TRUE(same_bits(one_thread, two_threads));
  for (int64_t i = 0; i < rows; ++i) EXPECT_TRUE(same_bits(row_linear(x.narrow(0, i, 1), w, b), one_thread.narrow(0, i, 1)));
  // A [B, 1, in] step input gives [B, 1, out] with the same values.
  EXPECT_TRUE(same_bits(row_linear(x.unsqueeze(1), w, b).squeeze(1), one_thread));
}

INSTANTIATE_TEST_SUITE_P(Shapes, RowLinear,
                         ::testing::Values(Shape{1, 8, 1, false}, Shape{3, 24, 13, true}, Shape{12, 256, 768, false},
                                           Shape{5, 768, 256, true}, Shape{64, 64, 130, false}));

TEST(RowLinearApplies, OnlyForFewRowsOfCpuFp32WithoutGradient) {
  c10::InferenceMode guard;
  auto w = at::randn({16, 32});
  EXPECT_TRUE(row_linear_applies(at::randn({kRowLinearMaxRows, 32}), w, {}));
  EXPECT_FALSE(row_linear_applies(at::randn({kRowLinearMaxRows + 1, 32}), w, {}));
  EXPECT_FALSE(row_linear_applies(at::randn({2, 12}), at::randn({16, 12}), {}));  // in not a multiple of 8
  EXPECT_FALSE(row_linear_applies(at::randn({2, 32}, at::kDouble), w.to(at::kDouble), {}));
  EXPECT_FALSE(row_linear_applies(at::randn({2, 32}), w.to(at::kBFloat16), {}));
}

TEST(RowLinearApplies, NotWhenAGradientIsNeeded) {
  auto w = at::randn({16, 32}).requires_grad_(true);
  auto b = at::randn({16}).requires_grad_(true);  // as a registered bias parameter is
  EXPECT_FALSE(row_linear_applies(at::randn({2, 32}), w, {}));
  EXPECT_FALSE(row_linear_applies(at::randn({2, 32}), w.detach(), b));
  c10::AutoGradMode no_grad(false);
  EXPECT_TRUE(row_linear_applies(at::randn({2, 32}), w, b));
}

TEST(RowLinearApplies, NotUnderAutocastNorForOddShapes) {
  c10::InferenceMode guard;
  auto w = at::randn({16, 32});
  {
    at::autocast::set_autocast_enabled(at::kCPU, true);
    const bool under_autocast = row_linear_applies(at::randn({2, 32}), w, {});
    at::autocast::set_autocast_enabled(at::kCPU, false);
    EXPECT_FALSE(under_autocast);
  }
  EXPECT_FALSE(row_linear_applies(at::randn({2, 0}), at::randn({16, 0}), {}));
  EXPECT_FALSE(row_linear_applies(at::randn({2, 32}), w, at::randn({15})));
}

}  // namespace
}  // namespace lmc
