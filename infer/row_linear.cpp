#include "infer/row_linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>

#include "common/vec8.h"

namespace lmc {
namespace {

// The kW x kX outputs of kW rows of W (stride `in`) against kX rows of x (stride `in`): each a lane-wise
// sum over k in ascending chunks, started from the first product, then lane_sum().
template <int kW, int kX>
LMC_INLINE void dot_block(const float* __restrict x, const float* __restrict w, int64_t in, float (&sums)[kX][kW]) {
  Vec8 acc[kX][kW], wv[kW], xv;
#pragma GCC unroll 4
  for (int j = 0; j < kW; ++j) load(wv[j], w + j * in);
#pragma GCC unroll 3
  for (int i = 0; i < kX; ++i) {
    load(xv, x + i * in);
#pragma GCC unroll 4
    for (int j = 0; j < kW; ++j) acc[i][j] = xv * wv[j];
  }
  for (int64_t k = kLanes; k < in; k += kLanes) {
#pragma GCC unroll 4
    for (int j = 0; j < kW; ++j) load(wv[j], w + j * in + k);
#pragma GCC unroll 3
    for (int i = 0; i < kX; ++i) {
      load(xv, x + i * in + k);
#pragma GCC unroll 4
      for (int j = 0; j < kW; ++j) acc[i][j] += xv * wv[j];
    }
  }
#pragma GCC unroll 3
  for (int i = 0; i < kX; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < kW; ++j) sums[i][j] = lane_sum(acc[i][j]);
  }
}

// Writes out[i, n + j] = x[i] . W[n + j] (+ b[n + j]) for kX rows from i and kW outputs from n.
template <int kW, int kX>
LMC_INLINE void output_block(const float* x, int64_t i, const float* w, int64_t in, int64_t n, const float* bias,
                             float* out, int64_t out_stride) {
  float sums[kX][kW];
  dot_block<kW, kX>(x + i * in, w + n * in, in, sums);
  for (int r = 0; r < kX; ++r) {
    for (int j = 0; j < kW; ++j) out[(i + r) * out_stride + n + j] = bias ? sums[r][j] + bias[n + j] : sums[r][j];
  }
}

// kW outputs from n of every row. Rows go three at a time: 4 x 3 accumulators plus 4 weight vectors and
// one input vector fill the 16 AVX2 registers, so each loaded vector feeds 3 or 4 products, not 2 or 4.
// A last 4 rows go as two pairs, not as 3 + a lone row, which would reload all of W's block for one row.
template <int kW>
LMC_INLINE void output_columns(const float* x, int64_t rows, const float* w, int64_t in, int64_t n,
                               const float* bias, float* out, int64_t out_stride) {
  int64_t i = 0;
  for (; rows - i >= 3 && rows - i != 4; i += 3) output_block<kW, 3>(x, i, w, in, n, bias, out, out_stride);
  for (; rows - i >= 2; i += 2) output_block<kW, 2>(x, i, w, in, n, bias, out, out_stride);
  if (i < rows) output_block<kW, 1>(x, i, w, in, n, bias, out, out_stride);
}

// Outputs [begin, end) of every row. The caller's blocks of W stay in L1 while all rows go past them.
LMC_VECTOR_CLONES void row_linear_range(const float* x, int64_t rows, const float* w, int64_t in, int64_t begin,
                                        int64_t end, const float* bias, float* out, int64_t out_stride) {
  int64_t n = begin;
  for (; n + 4 <= end; n += 4) output_columns<4>(x, rows, w, in, n, bias, out, out_stride);
  for (; n < end; ++n) output_columns<1>(x, rows, w, in, n, bias, out, out_stride);
}

// Outputs per parallel task: enough work to pay for a task, a multiple of the 4-wide block.
constexpr int64_t kOutputsPerTask = 64;

}  // namespace

bool row_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const bool bias_needs_grad = bias.defined() && bias.requires_grad();
  if (c10::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() || bias_needs_grad)) return false;
  // Under autocast a layer must compute in the autocast dtype, as BLAS would through the dispatcher
  // (activation checkpointing replays a no-grad forward with gradients on).
  if (at::autocast::is_autocast_enabled(at::kCPU)) return false;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || x.dim() == 0) return false;
  if (!weight.device().is_cpu() || weight.scalar_type() != at::kFloat || weight.dim() != 2) return false;
  const int64_t in = weight.size(1);
  if (in == 0 || in % kLanes != 0 || x.size(-1) != in) return false;
  if (bias.defined() && (!bias.device().is_cpu() || bias.scalar_type() != at::kFloat || bias.dim() != 1 ||
                         bias.size(0) != weight.size(0))) {
    return false;
  }
  return x.numel() / in <= kRowLinearMaxRows;
}

at::Tensor row_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t in = weight.size(1), out_features = weight.size(0);
  auto rows_in = x.contiguous();
  auto w = weight.contiguous();
  auto b = bias.defined() ? bias.contiguous() : bias;
  const int64_t rows = rows_in.numel() / in;
  auto sizes = x.sizes().vec();
  sizes.back() = out_features;
  auto out = at::empty(sizes, x.options());
  const float* x_data = rows_in.data_ptr<float>();
  const float* w_data = w.data_ptr<float>();
  const float* b_data = b.defined() ? b.data_ptr<float>() : nullptr;
  float* out_data = out.data_ptr<float>();
  // Each output is computed whole by one task, so the split changes no bit.
  at::parallel_for(0, out_features, kOutputsPerTask, [&](int64_t begin, int64_t end) {
    row_linear_range(x_data, rows, w_data, in, begin, end, b_data, out_data, out_features);
  });
  return out;
}

at::Tensor dense(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return row_linear_applies(x, weight, bias) ? row_linear(x, weight, bias) : at::linear(x, weight, bias);
}

}  // namespace lmc
