// Scalar renderings of the float order lmc's step kernels document (common/vec8.h), shared by their
// bit-exact tests. Include only from files compiled with -ffp-contract=off, as the kernels are.
#pragma once

#include <cstdint>

namespace lmc::testing {

// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): how a kernel folds its 8 lanes.
inline float lane_tree(const float (&lanes)[8]) {
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// x . w for n a multiple of 8: lane k mod 8 sums x[k] * w[k] over ascending k, started from its first
// product, each product rounded before its add (no fused multiply-add); then the lane tree.
inline float documented_dot(const float* x, const float* w, int64_t n) {
  float lanes[8];
  for (int l = 0; l < 8; ++l) {
    lanes[l] = x[l] * w[l];
    for (int64_t k = 8 + l; k < n; k += 8) {
      const float product = x[k] * w[k];
      lanes[l] = lanes[l] + product;
    }
  }
  return lane_tree(lanes);
}

}  // namespace lmc::testing
