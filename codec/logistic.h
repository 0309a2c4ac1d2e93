// The logistic domain of context-mixing compressors, in integers: probabilities are 12-bit, "stretch"
// is their logit in 1/256 units and "squash" its inverse, both from one table of knots, so encoder and
// decoder compute the same values on any machine. Used by the mixers of MatchModel and of the audio
// low bits (codec/adaptive_bits.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
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

constexpr int stretch(int p12) { return kStretch[std::clamp(p12, 1, 4095)]; }

// The mixers' constant input: a logit of 1.
inline constexpr int kBiasInput = 256;
inline constexpr int32_t kWeightLimit = 1 << 24;

// A mixer's prediction: the logits `inputs` weighted (16.16) and summed, squashed to a 12-bit probability.
template <size_t N>
int mix(const std::array<int32_t, N>& weights, const std::array<int, N>& inputs) {
  int64_t dot = 0;
  for (size_t i = 0; i < N; ++i) dot += int64_t{weights[i]} * inputs[i];
  return squash(static_cast<int>(std::clamp<int64_t>(dot >> 16, -2047, 2047)));
}

// After `outcome` followed a mixed prediction of p12, moves each weight down the coding cost's gradient
// by input x error x rate, in 2^-14 of 16.16, within +-kWeightLimit.
template <size_t N>
void learn(std::array<int32_t, N>& weights, const std::array<int, N>& inputs, int p12, bool outcome, int64_t rate) {
  const int64_t error = ((outcome ? 4096 : 0) - p12) * rate;
  for (size_t i = 0; i < N; ++i) {
    const int64_t w = weights[i] + ((inputs[i] * error) >> 14);
    weights[i] = static_cast<int32_t>(std::clamp<int64_t>(w, -kWeightLimit, kWeightLimit));
  }
}

}  // namespace lmc::logistic
