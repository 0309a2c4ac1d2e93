// y = x W^T (+ b) for the few rows of an incremental step, in a kernel whose every output is computed
// the same way whatever the number of rows, the thread count or the vector width of the machine.
//
// Why: a coder step has one row per stream (B of them, often a dozen). BLAS then spends most of its time
// repacking W on every call (MKL's sgemm copy was 37% of `lmc compress` with the default model), and
// its result bits may change with the row count, the thread count and the CPU's kernel choice. Here
// out[i, n] is one dot product of x[i] and W[n] in a fixed order: lanes of 8 consecutive k in
// ascending k (multiply, then add, never fused), then the lanes' fixed addition tree. W is read in its
// own [out, in] layout, so nothing is packed or copied.
#pragma once

#include <ATen/core/Tensor.h>

namespace lmc {

// Rows up to which a CPU fp32 linear layer uses the kernel when no gradient is needed (the coder's
// steps; scoring and training of whole sequences stay on BLAS). A constant, not a tuning knob: encoder
// and decoder must take the same path.
inline constexpr int64_t kRowLinearMaxRows = 64;

// True when row_linear() computes x W^T + b: CPU fp32 x [..., in] with at most kRowLinearMaxRows rows,
// fp32 W [out, in] with in a positive multiple of 8, bias fp32 [out] or undefined, no gradient required
// and no CPU autocast.
bool row_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// x [..., in], W [out, in], b [out] or undefined -> [..., out]. Requires row_linear_applies().
at::Tensor row_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// x W^T + b: row_linear() where it applies, at::linear otherwise. Every model layer goes through here.
at::Tensor dense(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace lmc
