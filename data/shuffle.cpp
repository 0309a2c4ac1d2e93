// SplitMix64 constants are Steele, Lea and Flood's (also Java's SplittableRandom).
#include "data/shuffle.h"

#include <cstddef>
#include <numeric>
#include <utility>

namespace lmc::data {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t bound) {
  // Reject the lowest (2^64 mod bound) values so every residue is equally likely.
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t x = next();
    if (x >= threshold) return x % bound;
  }
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  SplitMix64 rng(a ^ SplitMix64(b).next());
  return rng.next();
}

}  // namespace lmc::data
