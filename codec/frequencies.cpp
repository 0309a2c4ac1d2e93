// Logits -> integer frequencies, bit for bit the same on every build for one ISA. Compiled with
// -ffp-contract=off (codec/CMakeLists.txt). Every floating-point operation here is a single IEEE
// + - * / or conversion, whose result IEEE 754 fixes; the one floating-point sum runs in a fixed lane
// order, so the compiler may vectorise it but not reorder it; no libm call is made (ideal_bits, which only
// reports, uses log2).
//
// The quantisation: w_i = exp(x_i - max x) in float; f_i = max(1, round(w_i * scale)), with scale
// first T / sum(w) and then refitted (at most kMaxPasses times) so that the frequencies above the
// floor absorb what the floor of 1 added. The remaining difference D = sum(f) - T, a few rounding
// errors, goes to the lowest-numbered symbols that can take it. Total T = 2^total_bits, exactly.
#include "codec/frequencies.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/exp_nonpositive.h"

namespace lmc {
namespace {

constexpr int kBlock = 64;       // symbols per prefix-sum block
constexpr int kLanes = 8;        // fixed reduction order for the floating-point sum
constexpr int kMaxPasses = 4;    // quantisation passes before the remainder is assigned directly
constexpr float kLogitLimit = 1e30f;   // a larger maximum logit (or +inf) counts as this

// The passes over the whole vocabulary get an AVX2 clone on x86-64 (picked at load time): the same
// IEEE operations on wider registers, so the same bits, about twice as fast. No FMA: see the top.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LMC_VOCAB_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define LMC_VOCAB_LOOP
#endif

// The largest logit, NaN ignored, clamped to kLogitLimit. Written with a 4-float vector so that it
// becomes one packed max per 4 logits (compilers won't vectorise a float max reduction on their own
// without -ffinite-math-only); the max is exact, so lane order cannot change the result.
float max_logit(const float* x, size_t n) {
  using Vec4 = float __attribute__((vector_size(16)));
  Vec4 lanes = {-kLogitLimit, -kLogitLimit, -kLogitLimit, -kLogitLimit};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    Vec4 v;
    std::memcpy(&v, x + i, sizeof v);
    lanes = v > lanes ? v : lanes;
  }
  float m = -kLogitLimit;
  for (int j = 0; j < 4; ++j) m = lanes[j] > m ? lanes[j] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m < kLogitLimit ? m : kLogitLimit;
}

// w_i = exp(x_i - max_logit), with NaN and everything far below the maximum at exp(kExpMinArgument).
LMC_VOCAB_LOOP void exp_weights(const float* __restrict x, float* __restrict w, size_t n, float max_logit) {
  for (size_t i = 0; i < n; ++i) {
    float d = x[i] - max_logit;
    d = d > kExpMinArgument ? d : kExpMinArgument;  // also NaN and -inf
    d = d < 0.0f ? d : 0.0f;                        // logits above kLogitLimit
    w[i] = exp_nonpositive(d);
  }
}

// Sum in double over kLanes interleaved lanes, added in a fixed order.
LMC_VOCAB_LOOP double sum_weights(const float* w, size_t n) {
  double lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += w[i + j];
  }
  for (; i < n; ++i) lanes[0] += w[i];
  double sum = 0.0;
  for (double lane : lanes) sum += lane;
  return sum;
}

struct PassStats {
  uint64_t total = 0;     // sum of all frequencies
  uint64_t at_floor = 0;  // how many are exactly 1
};

// f_i = max(1, round(w_i * scale)); scale <= 2^30 and w_i <= 1 keep every value inside int32. Also
// stores each block's sum, which build_block_prefix() turns into the lookup table.
LMC_VOCAB_LOOP PassStats quantize_pass(const float* __restrict w, uint32_t* __restrict freqs,
                                       uint64_t* __restrict block_sums, size_t n, float scale) {
  PassStats stats;
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    uint64_t block_sum = 0;
    uint64_t at_floor = 0;
    for (size_t i = begin; i < end; ++i) {
      auto f = static_cast<uint32_t>(static_cast<int32_t>(w[i] * scale + 0.5f));
      f = f > 1 ? f : 1;
      freqs[i] = f;
      block_sum += f;
      at_floor += f == 1;
    }
    block_sums[begin / kBlock] = block_sum;
    stats.total += block_sum;
    stats.at_floor += at_floor;
  }
  return stats;
}

void check_total_bits(int total_bits) {
  if (total_bits < kMinTotalBits || total_bits > kMaxTotalBits) {
    throw Error("frequency total of 2^" + std::to_string(total_bits) + " is outside the supported 2^" +
                std::to_string(kMinTotalBits) + "..2^" + std::to_string(kMaxTotalBits));
  }
}

}  // namespace

void FrequencyTable::assign_logits(std::span<const float> logits, int total_bits) {
  const size_t n = logits.size();
  check_total_bits(total_bits);
  if (n == 0 || n > (size_t{1} << total_bits)) {
    throw Error("a vocabulary of " + std::to_string(n) + " symbols does not fit a frequency total of 2^" +
                std::to_string(total_bits) + " with every symbol at least 1");
  }
  total_bits_ = total_bits;
  freqs_.resize(n);
  weights_.resize(n);
  block_sums_.resize((n + kBlock - 1) / kBlock);
  exp_weights(logits.data(), weights_.data(), n, max_logit(logits.data(), n));
  weight_sum_ = sum_weights(weights_.data(), n);  // >= 1: the maximum has weight exp(0) = 1

  const uint64_t total = uint64_t{1} << total_bits;
  const double max_scale = static_cast<double>(total);
  double scale = max_scale / weight_sum_;
  PassStats stats;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    stats = quantize_pass(weights_.data(), freqs_.data(), block_sums_.data(), n, static_cast<float>(scale));
    uint64_t miss = stats.total > total ? stats.total - total : total - stats.total;
    if (miss <= (total >> 16)) break;
    // Frequencies above the floor scale with `scale`; those at the floor stay 1 whatever it is.
    uint64_t above = stats.total - stats.at_floor;
    if (above == 0 || stats.at_floor >= total) break;
    scale = std::min(max_scale, scale * static_cast<double>(total - stats.at_floor) / static_cast<double>(above));
  }

  if (stats.total < total) {
    freqs_[0] += static_cast<uint32_t>(total - stats.total);
    block_sums_[0] += total - stats.total;
  } else {
    // sum(f - 1) = stats.total - n >= stats.total - total, so this takes everything it needs.
    uint64_t excess = stats.total - total;
    for (size_t s = 0; excess > 0; ++s) {
      uint64_t take = std::min<uint64_t>(freqs_[s] - 1, excess);
      freqs_[s] -= static_cast<uint32_t>(take);
      block_sums_[s / kBlock] -= take;
      excess -= take;
    }
  }
  build_block_prefix();
}

void FrequencyTable::assign_frequencies(std::span<const uint32_t> freqs, int total_bits) {
  check_total_bits(total_bits);
  uint64_t sum = 0;
  for (size_t s = 0; s < freqs.size(); ++s) {
    if (freqs[s] == 0) throw Error("symbol " + std::to_string(s) + " has frequency 0");
    sum += freqs[s];
  }
  if (sum != (uint64_t{1} << total_bits)) {
    throw Error("frequencies sum to " + std::to_string(sum) + ", not 2^" + std::to_string(total_bits));
  }
  total_bits_ = total_bits;
  weights_.clear();
  freqs_.assign(freqs.begin(), freqs.end());
  sum_blocks();
}

void FrequencyTable::give_probability(int symbol, uint32_t p12) {
  const uint64_t total = uint64_t{1} << total_bits_;
  const uint64_t others_floor = freqs_.size() - 1;
  uint64_t target = total_bits_ >= 12 ? uint64_t{p12} << (total_bits_ - 12) : uint64_t{p12} >> (12 - total_bits_);
  target = std::clamp<uint64_t>(target, 1, total - others_floor);
  // The other symbols' frequencies above their floor shrink (or grow) by spare_after / spare_before, as
  // a 30-bit fixed-point factor: (f - 1) <= spare_before, so the product stays below 2^60.
  const uint64_t spare_before = total - freqs_[symbol] - others_floor;
  const uint64_t spare_after = total - target - others_floor;
  const uint64_t factor = spare_before == 0 ? 0 : (spare_after << 30) / spare_before;
  freqs_[symbol] = 1;  // stays 1 in the loop, so `others` counts it as 1
  block_sums_.assign((freqs_.size() + kBlock - 1) / kBlock, 0);
  uint64_t others = 0;
  for (size_t s = 0; s < freqs_.size(); ++s) {
    const uint64_t f = 1 + (((freqs_[s] - uint64_t{1}) * factor) >> 30);
    freqs_[s] = static_cast<uint32_t>(f);
    block_sums_[s / kBlock] += f;
    others += f;
  }
  others -= 1;
  freqs_[symbol] = static_cast<uint32_t>(total - others);  // >= target: the rounding down goes to the symbol
  block_sums_[static_cast<size_t>(symbol) / kBlock] += freqs_[symbol] - 1;
  build_block_prefix();
}

void FrequencyTable::reshape(uint64_t others_scale32, std::span<SymbolProbability> given) {
  std::sort(given.begin(), given.end(), [](const auto& a, const auto& b) { return a.symbol < b.symbol; });
  constexpr uint64_t kOne = uint64_t{1} << 32;
  const uint64_t total = uint64_t{1} << total_bits_;
  // One pass over the table: the weights' sum is bounded from the given symbols alone, since the others'
  // rounded-down weights sum to at most their frequencies' sum times the scale. An upper bound keeps the
  // frequencies' total within 2^total_bits; the remainder goes to the most probable symbol as always.
  uint64_t given_freqs = 0, weight_bound = 0;
  for (const auto& g : given) {
    given_freqs += freqs_[g.symbol];
    weight_bound += std::min(g.p32, kOne);
  }
  weight_bound += ((total - given_freqs) * others_scale32) >> total_bits_;
  if (weight_bound == 0) return;
  // Each weight is at most the bound, so weight * factor stays below 2^62.
  const uint64_t factor = ((total - freqs_.size()) << 32) / weight_bound;
  block_sums_.assign((freqs_.size() + kBlock - 1) / kBlock, 0);
  uint64_t assigned = 0;
  size_t most_probable = 0;
  auto next = given.begin();
  for (size_t s = 0; s < freqs_.size(); ++s) {
    uint64_t weight = (uint64_t{freqs_[s]} * others_scale32) >> total_bits_;
    if (next != given.end() && next->symbol == static_cast<int>(s)) weight = std::min((next++)->p32, kOne);
    freqs_[s] = static_cast<uint32_t>(1 + ((weight * factor) >> 32));
    block_sums_[s / kBlock] += freqs_[s];
    assigned += freqs_[s];
    if (freqs_[s] > freqs_[most_probable]) most_probable = s;
  }
  freqs_[most_probable] += static_cast<uint32_t>(total - assigned);
  block_sums_[most_probable / kBlock] += total - assigned;
  build_block_prefix();
}

void FrequencyTable::sum_blocks() {
  block_sums_.assign((freqs_.size() + kBlock - 1) / kBlock, 0);
  for (size_t s = 0; s < freqs_.size(); ++s) block_sums_[s / kBlock] += freqs_[s];
  build_block_prefix();
}

void FrequencyTable::build_block_prefix() {
  block_cum_.resize(block_sums_.size() + 1);
  block_cum_[0] = 0;
  for (size_t b = 0; b < block_sums_.size(); ++b) {
    block_cum_[b + 1] = block_cum_[b] + static_cast<uint32_t>(block_sums_[b]);
  }
}

double FrequencyTable::ideal_bits(int symbol) const {
  if (weights_.empty()) return total_bits_ - std::log2(static_cast<double>(freqs_[symbol]));
  return std::log2(weight_sum_) - std::log2(static_cast<double>(weights_[symbol]));
}

uint64_t FrequencyTable::cum(int symbol) const {
  size_t block = static_cast<size_t>(symbol) / kBlock;
  uint64_t sum = block_cum_[block];
  for (size_t s = block * kBlock; s < static_cast<size_t>(symbol); ++s) sum += freqs_[s];
  return sum;
}

FrequencyTable::Slot FrequencyTable::find(uint64_t target) const {
  // block_cum_ rises strictly (every frequency >= 1) from 0 to the total, which exceeds target.
  auto after = std::upper_bound(block_cum_.begin(), block_cum_.end(), target);
  size_t s = static_cast<size_t>(after - block_cum_.begin() - 1) * kBlock;
  uint64_t low = block_cum_[s / kBlock];
  while (low + freqs_[s] <= target) low += freqs_[s++];
  return {static_cast<int>(s), low, freqs_[s]};
}

}  // namespace lmc
