// Synthetic next-token logits shaped like a language model's, for the coder tests and bench: Gaussian
// logits of spread `sigma`, with one random token raised until it holds probability `p_top`.
#pragma once

#include <cmath>
#include <random>
#include <vector>

namespace lmc::testing {

inline std::vector<float> peaked_logits(int vocab, double p_top, double sigma, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, sigma);
  std::vector<float> logits(vocab);
  for (float& x : logits) x = static_cast<float>(normal(rng));
  int top = std::uniform_int_distribution<int>(0, vocab - 1)(rng);
  double rest = 0.0;
  for (int i = 0; i < vocab; ++i) rest += i == top ? 0.0 : std::exp(static_cast<double>(logits[i]));
  logits[top] = static_cast<float>(std::log(p_top / (1.0 - p_top) * rest));
  return logits;
}

// softmax in double with std::exp: the reference the quantised tables are measured against.
inline std::vector<double> softmax(const std::vector<float>& logits) {
  double max = logits[0];
  for (float x : logits) max = std::max(max, static_cast<double>(x));
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(logits[i] - max);
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace lmc::testing
