// Integer frequency tables for the range coder: a model's logits become frequencies >= 1 that sum to
// exactly 2^total_bits, computed bit-identically on every build for the same ISA (encoder and decoder
// must agree on every integer). Also the cumulative lookups the coder needs in both directions.
//
// Determinism is by construction, not by luck: one thread, a fixed order for every floating-point
// reduction, our own exp built from + - * only, and frequencies.cpp compiled with -ffp-contract=off so
// no multiply-add is fused differently by another compiler. This file does not run models.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lmc {

// Totals the tables support: up to 2^30 keeps every frequency and cumulative count in 32 bits.
inline constexpr int kMinTotalBits = 1;
inline constexpr int kMaxTotalBits = 30;

class FrequencyTable {
 public:
  // softmax(logits) quantised to integers: frequency = max(1, round(p * s)), with s fitted (a little
  // under 2^total_bits) so that the floor of 1 is paid for by the larger frequencies, then the last
  // few counts corrected so that the total is exactly 2^total_bits. NaN logits count as the lowest
  // possible. Throws lmc::Error if the vocabulary is empty or larger than 2^total_bits, or total_bits
  // is outside [kMinTotalBits, kMaxTotalBits].
  // Reuses its buffers: no allocation once the table has seen this vocabulary size.
  void assign_logits(std::span<const float> logits, int total_bits);
  // Takes frequencies as given; throws lmc::Error unless each is >= 1 and they sum to 2^total_bits.
  void assign_frequencies(std::span<const uint32_t> freqs, int total_bits);

  // Gives `symbol` the probability p12 / 4096 (0 < p12 < 4096; as close as the total and the other
  // symbols' floor of 1 allow, rounded up) and shares the rest among the other symbols in proportion to
  // their frequencies above 1, in integers; when all of them are at the floor they stay there. After
  // assign_logits, ideal_bits still reports the softmax from before.
  void give_probability(int symbol, uint32_t p12);

  // A symbol and a probability in 32-bit fixed point (2^32 is 1).
  struct SymbolProbability {
    int symbol;
    uint64_t p32;
  };
  // Each symbol in `given` (distinct symbols below vocab(), which the caller guarantees: the span is
  // sorted in place, not checked) gets probability min(p32, 2^32) / 2^32,
  // every other symbol its present probability times others_scale32 / 2^32; the result is renormalised
  // to the total in integers, every frequency at least 1, the rounding remainder to the most probable
  // symbol. ideal_bits is unchanged, as after give_probability.
  void reshape(uint64_t others_scale32, std::span<SymbolProbability> given);

  // -log2 of the symbol's probability before quantisation: softmax(logits) after assign_logits (from
  // the float weights it quantised, so within ~1e-6 bits of exact, with logits more than 80 below the
  // maximum counted as exactly 80 below), freq / total after assign_frequencies. The ideal code length
  // that the coded size is compared with; reporting only, never coded.
  double ideal_bits(int symbol) const;

  int vocab() const { return static_cast<int>(freqs_.size()); }
  int total_bits() const { return total_bits_; }
  uint32_t freq(int symbol) const { return freqs_[symbol]; }
  const std::vector<uint32_t>& frequencies() const { return freqs_; }

  // Sum of the frequencies of symbols below `symbol`.
  uint64_t cum(int symbol) const;

  struct Slot {
    int symbol;
    uint64_t cum;
    uint64_t freq;
  };
  // The symbol whose [cum, cum + freq) holds `target` (target < 2^total_bits): a binary search over
  // per-block prefix sums, then a scan inside one block.
  Slot find(uint64_t target) const;

 private:
  void sum_blocks();  // block_sums_ and the prefix from freqs_ as they are
  void build_block_prefix();

  int total_bits_ = 0;
  std::vector<uint32_t> freqs_;
  std::vector<uint64_t> block_sums_;  // sum of freqs_ in each block of kBlock symbols
  std::vector<uint32_t> block_cum_;   // block_cum_[b] = sum of freqs_ below symbol b * kBlock
  std::vector<float> weights_;        // exp(logit - max logit); empty after assign_frequencies
  double weight_sum_ = 0;             // sum of weights_
};

}  // namespace lmc
