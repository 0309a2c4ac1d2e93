// Eight-float vectors for the hand-written kernels whose results must not depend on the build's
// vector width or on the thread count: the KV-cache attention and the small-batch linear layers. Every
// sum here has one fixed order (lane by lane, then the lane_sum tree), so a kernel gives the same bits
// in its AVX2 clone and in its default (SSE2) clone. Include it only from files compiled with
// -ffp-contract=off, so that no multiply-add is fused in one build and not in another.
#pragma once

#include <cstdint>
#include <cstring>

// An AVX2 clone on x86-64, picked at load time: the same IEEE operations on wider registers (the target
// has no FMA, so nothing is fused), hence the same bits as the default clone.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LMC_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LMC_VECTOR_CLONES
#endif
#define LMC_INLINE inline __attribute__((always_inline))

#if defined(__clang__)
#define LMC_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define LMC_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, ::lmc::Index8{__VA_ARGS__})
#endif

namespace lmc {

using Vec8 = float __attribute__((vector_size(32)));
using Index8 = int32_t __attribute__((vector_size(32)));
inline constexpr int64_t kLanes = 8;

// Vectors go in and out through references: a Vec8 passed by value would change the default clone's ABI.
LMC_INLINE void load(Vec8& v, const float* p) { std::memcpy(&v, p, sizeof v); }
LMC_INLINE void store(float* p, const Vec8& v) { std::memcpy(p, &v, sizeof v); }

LMC_INLINE float lane_sum(const Vec8& v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

// [x0+x1, x2+x3, y0+y1, y2+y3, x4+x5, x6+x7, y4+y5, y6+y7]
LMC_INLINE void add_pairs(const Vec8& x, const Vec8& y, Vec8& r) {
  r = LMC_SHUFFLE(x, y, 0, 2, 8, 10, 4, 6, 12, 14) + LMC_SHUFFLE(x, y, 1, 3, 9, 11, 5, 7, 13, 15);
}

// sums[j] = lane_sum(v[j]) for eight vectors at once, with exactly lane_sum's additions.
LMC_INLINE void lane_sums(const Vec8 (&v)[kLanes], Vec8& sums) {
  Vec8 p01, p23, p45, p67, low, high;
  add_pairs(v[0], v[1], p01);
  add_pairs(v[2], v[3], p23);
  add_pairs(v[4], v[5], p45);
  add_pairs(v[6], v[7], p67);
  add_pairs(p01, p23, low);   // lanes 0-3: halves 0-3 of v[0..3]; lanes 4-7: halves 4-7 of v[0..3]
  add_pairs(p45, p67, high);  // the same for v[4..7]
  sums = LMC_SHUFFLE(low, high, 0, 1, 2, 3, 8, 9, 10, 11) + LMC_SHUFFLE(low, high, 4, 5, 6, 7, 12, 13, 14, 15);
}

}  // namespace lmc
