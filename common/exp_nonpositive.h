// exp(x) for x <= 0 built from + - * and the float's exponent bits only, so that it gives the same float
// on every build for one ISA (libm's exp differs between versions and is not vectorised without
// -ffast-math). Both users need that: the codec's frequency tables (encoder and decoder must agree on
// every bit) and the KV-cache attention kernel (a softmax over thousands of scores per token).
// Include it from a file compiled with -ffp-contract=off, or a compiler may fuse its multiply-adds
// differently in another build.
#pragma once

#include <bit>
#include <cstdint>

namespace lmc {

// exp(-80) ~ 1.8e-35: below any frequency floor for totals up to 2^30 and below float precision next to
// a softmax maximum of exp(0) = 1, yet still a normal float. Arguments are clamped to it.
inline constexpr float kExpMinArgument = -80.0f;

// exp(x) for x in [kExpMinArgument, 0]: x = k ln2 + r with |r| <= ln2 / 2 (the subtraction of
// k * ln2_hi is exact by Sterbenz' lemma), exp(r) by its Taylor series to degree 6 (truncation
// < 1.3e-7, about float rounding), times 2^k built in the exponent bits. exp(0) is exactly 1.
inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split so that k * kLn2Hi is exact for |k| < 2^15 (kLn2Hi = 355/512 has 9 significant bits).
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (x + magic) - magic rounds x to an integer
  float k = (x * kLog2e + kRoundMagic) - kRoundMagic;
  float r = (x - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  auto two_to_k = std::bit_cast<float>((static_cast<int32_t>(k) + 127) << 23);
  return p * two_to_k;
}

}  // namespace lmc
