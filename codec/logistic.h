// The logistic domain of context-mixing compressors, in integers: probabilities are 12-bit, "stretch"
// is their logit in 1/256 units and "squash" its inverse, both from one table of knots, so encoder and
// decoder compute the same values on any machine. Used by the mixers of MatchModel and of the audio
// low bits (codec/adaptive_bits.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace lmc::logistic {

// round(4096 / (1 + e^(-x/256))) at x = -2048, -1920, ..., 2048.
inline constexpr std::array<int, 33> kSquashKnots = {1,    2,    4,    6,    10,   17,   27,   45,   74,   120,  194,
                                                     311,  488,  747,  1102, 1546, 2048, 2550, 2994, 3349, 3608, 3785,
                                                     3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095};

// A logit in 1/256 units -> a 12-bit probability, linear between the knots.
constexpr int squash(int x) {
  x = std::clamp(x, -2047, 2047);
  const int i = (x + 2048) >> 7, w = (x + 2048) & 127;
  return (kSquashKnots[i] * (128 - w) + kSquashKnots[i + 1] * w + 64) >> 7;
}

// The inverse of squash: for each 12-bit probability, the smallest logit that squashes to it or above.
constexpr std::array<int16_t, 4096> make_stretch() {
  std::array<int16_t, 4096> table{};
  int next = 0;
  for (int x = -2047; x <= 2047; ++x) {
    for (const int p = squash(x); next <= p; ++next) table[next] = static_cast<int16_t>(x);
  }
  for (; next < 4096; ++next) table[next] = 2047;
  return table;
}
inline constexpr std::array<int16_t, 4096> kStretch = make_stretch();

inline int stretch(int p12) { return kStretch[std::clamp(p12, 1, 4095)]; }

}  // namespace lmc::logistic
