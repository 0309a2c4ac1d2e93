// Seeded permutations that are identical on every platform and standard library (std::shuffle's algorithm
// and the std distributions are unspecified): SplitMix64 feeding a Fisher-Yates shuffle with unbiased
// bounded draws. Used for document order in `lmc prepare` and for epoch order in the shard reader.
#pragma once

#include <cstdint>
#include <vector>

namespace lmc::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t bound);  // uniform in [0, bound), bound > 0

 private:
  uint64_t state_;
};

// 0..n-1 permuted by `seed`.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);

// A seed derived from two values (e.g. a run seed and an epoch) that differ in every bit for nearby inputs.
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace lmc::data
