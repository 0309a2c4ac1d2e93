// The bit model: one adaptive probability per context. Without symbols a context is the bit's position
// in its frame, the bits at the same position in the previous kFrameHistory frames and the
// kRecentHistory bits just before it. With symbols it is the position, the bits at that position in
// the previous kSymbolFrames frames, and the first and second differences of the byte's symbol over
// those frames, each clipped to +-kMotionClip (measured on LibriSpeech test-other: 0.85 against 0.93
// bits per bit). Probabilities are 16-bit; each adapts at rate 1/(n + 2) after n observations (fast
// start), settling at 1/kSlowestRate, which on random bits costs about 1/(2 * 64 * 2 ln 2), or 0.6%,
// over one bit per bit.
//
// For 16-bit PCM (format 6 on) the high byte's LSB, bit 8 of its sample, has contexts of its own. The
// sample's other 15 bits are known by then (its symbols, and its low byte's LSB, coded just before), so
// bit 8 chooses between two values 256 apart. Where the waveform runs is read off its channel's
// neighbours: the two samples before, every bit of which is known, and the one after, whose symbols are
// (its two low bits are not: taken as halfway). The context is how far, in steps of 64, the midpoint
// of the two values lies from the neighbours' interpolation and from the previous two's extrapolation.
// On LibriSpeech test-other 1688-142285-0000 the low bits then cost 0.693 bits each, both bytes'
// together, against 0.795 in the symbols' contexts. Format 7 mixes that context's prediction with three
// more, each of which also sees the waveform's local scale, and costs 0.666: half the bits are bit 0s at
// about 1 bit each, so bit 8 went from about 0.39 to 0.33 bits (tests/codec/test_adaptive_bits.cpp prints
// each rate).
#include "codec/adaptive_bits.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <string>

#include "codec/logistic.h"
#include "codec/range_coder.h"
#include "common/error.h"

namespace lmc {
namespace {

constexpr int kProbBits = kBitProbabilityBits;  // the range coder codes bits in these units
constexpr int32_t kProbOne = 1 << kProbBits;
// Coded probabilities stay in [kProbMin, kProbOne - kProbMin]: a bit costs at most 11 bits and at
// least -log2(1 - 2^-11) > 7.04e-4 bits, so N coded bytes hold at most 8 / 7.04e-4 < 11400 bits per
// byte (plus the coder's 7-byte window).
constexpr int32_t kProbMin = 32;
constexpr size_t kMaxBitsPerCodedByte = 11400;
constexpr int kFrameHistory = 3;
constexpr int kRecentHistory = 2;
constexpr int kHistoryBits = kFrameHistory + kRecentHistory;
constexpr int kSymbolFrames = 2;
constexpr int kMotionClip = 2;
constexpr size_t kMotionValues = 2 * kMotionClip + 1;
constexpr size_t kSymbolContexts = (size_t{1} << kSymbolFrames) * kMotionValues * kMotionValues;
constexpr int kNeighbourSteps = 12;  // each distance, in steps of 64, clipped to -6..5
constexpr size_t kNeighbourContexts = kNeighbourSteps * kNeighbourSteps;
constexpr int kSlowestRate = 64;
constexpr size_t kOverrunCheckInterval = 4096;  // bits between checks that the input has not run out

constexpr std::array<int32_t, kSlowestRate - 1> make_rates() {
  std::array<int32_t, kSlowestRate - 1> rates{};
  for (int n = 0; n < kSlowestRate - 1; ++n) rates[n] = kProbOne / (n + 2);
  return rates;
}
constexpr auto kRates = make_rates();  // rate after n observations, in 1/kProbOne

// A neighbour estimate's distance from bit 8's midpoint, measured against the waveform's local scale
// (the interpolation's in quarters of it, the extrapolation's, a coarser guess, in halves), takes
// 2 * kScaledReach + 1 values; the scale itself falls in one of kScaleBuckets octaves (8..14, 15..30,
// 31..62, and so on).
constexpr int kScaledReach = 16;
constexpr size_t kScaledValues = 2 * kScaledReach + 1;
constexpr int kScaleBuckets = 12;
// The mixed model's tables, in each high byte's block of contexts: the format-6 context; it again in
// each scale; the cubic interpolation's scaled distance; the extrapolation's.
constexpr size_t kPlainTable = 0;
constexpr size_t kScaledPlainTable = kPlainTable + kNeighbourContexts;
constexpr size_t kInterpolationTable = kScaledPlainTable + kNeighbourContexts * kScaleBuckets;
constexpr size_t kExtrapolationTable = kInterpolationTable + kScaledValues * kScaleBuckets;
constexpr size_t kMixedContexts = kExtrapolationTable + kScaledValues * kScaleBuckets;
constexpr int kMixedInputs = 5;  // stretch of each table's probability, and a bias
constexpr int32_t kInitialWeight = 19661;  // 0.3 in 16.16: the tables overlap, so none starts at full weight
constexpr int64_t kMixerRate = 20;         // weight step per unit of input x error, in 2^-14 of 16.16
constexpr int32_t kInitialScale = 256;     // the waveform's local scale before any sample was seen

// a / b rounded to the nearest integer, halves up, for b > 0 (negative a included).
int64_t rounded_quotient(int64_t a, int64_t b) {
  const int64_t twice = 2 * a + b, divisor = 2 * b;
  return twice >= 0 ? twice / divisor : -((-twice + divisor - 1) / divisor);
}

class BitModel {
 public:
  BitModel(int period, std::string_view symbols, int pcm16_channels, Pcm16Contexts pcm16_contexts)
      : period_(static_cast<size_t>(period)),
        symbols_(symbols),
        pcm16_(pcm16_channels > 0),
        mixed_(pcm16_ && pcm16_contexts == Pcm16Contexts::kMixedNeighbours),
        prob_(period_ * contexts_per_position(), kProbOne / 2),
        seen_(period_ * contexts_per_position(), 0),
        scale16_(period_, kInitialScale * 16) {
    for (auto& weights : weights_) weights = {kInitialWeight, kInitialWeight, kInitialWeight, kInitialWeight, 0};
  }

  // Probability that bit i (at `position` in its frame) is 1, in 1/kProbOne, kept codable; `bits` holds
  // at least the i bits before it.
  uint32_t predict(const uint8_t* bits, size_t i, size_t position) {
    const size_t block = position * contexts_per_position();
    mixing_ = false;
    if (symbols_.empty()) {
      context_ = block + history_context(bits, i);
    } else if (pcm16_ && position % 2 == 1) {
      if (mixed_) return predict_mixed(bits, i, block, position);
      context_ = block + neighbour_context(bits, i).plain;
    } else {
      context_ = block + symbol_context(bits, i);
    }
    return codable(prob_[context_]);
  }

  // Learns the bit last predicted.
  void update(uint8_t bit) {
    if (!mixing_) {
      update_table(context_, bit);
      return;
    }
    for (size_t t = 0; t < mixed_contexts_.size(); ++t) update_table(mixed_contexts_[t], bit);
    logistic::learn(weights_[scale_bucket_], inputs_, mixed_p12_, bit, kMixerRate);
    const int64_t sample = neighbours_.clear + (bit ? 256 : 0);
    const int64_t miss16 = std::abs(6 * sample - neighbours_.interpolation6) * 16 / 6;
    int32_t& scale16 = scale16_[mixed_position_];
    scale16 += static_cast<int32_t>((miss16 - scale16) >> 4);
  }

  size_t period() const { return period_; }

 private:
  size_t contexts_per_position() const {
    if (symbols_.empty()) return size_t{1} << kHistoryBits;
    if (!pcm16_) return kSymbolContexts;
    return std::max(kSymbolContexts, mixed_ ? kMixedContexts : kNeighbourContexts);
  }

  static uint32_t codable(int32_t p) {
    return static_cast<uint32_t>(std::clamp<int32_t>(p, kProbMin, kProbOne - kProbMin));
  }

  void update_table(size_t ctx, uint8_t bit) {
    int32_t target = bit ? kProbOne : 0;
    int64_t step = (static_cast<int64_t>(target - prob_[ctx]) * kRates[seen_[ctx]]) >> kProbBits;
    prob_[ctx] = static_cast<uint16_t>(prob_[ctx] + step);
    if (seen_[ctx] < kRates.size() - 1) ++seen_[ctx];
  }

  size_t history_context(const uint8_t* bits, size_t i) const {
    size_t history = 0;
    for (size_t back = 1; back <= kFrameHistory; ++back) {
      history = (history << 1) | (i >= back * period_ ? bits[i - back * period_] : 0);
    }
    for (size_t back = 1; back <= kRecentHistory; ++back) {
      history = (history << 1) | (i >= back ? bits[i - back] : 0);
    }
    return history;
  }

  size_t symbol_context(const uint8_t* bits, size_t i) const {
    auto symbol = [&](size_t back) { return i >= back * period_ ? int{uint8_t(symbols_[i - back * period_])} : 0; };
    auto clipped = [](int motion) {
      return static_cast<size_t>(std::clamp(motion, -kMotionClip, kMotionClip) + kMotionClip);
    };
    size_t context = clipped(symbol(0) - symbol(1));
    context = context * kMotionValues + clipped(symbol(0) - 2 * symbol(1) + symbol(2));
    for (size_t back = 1; back <= kSymbolFrames; ++back) {
      context = (context << 1) | (i >= back * period_ ? bits[i - back * period_] : 0);
    }
    return context;
  }

  // What the waveform around a sample says of its bit 8.
  struct Neighbours {
    size_t plain = 0;             // the format-6 context
    int clear = 0;                // the sample with bit 8 clear; with it set: + 256
    int middle = 0;               // halfway between the two
    int extrapolation = 0;        // from the two samples before
    int64_t interpolation6 = 0;   // six times the interpolation of the samples around it
  };

  // Bit i is a high byte's LSB. `i - period_ * back` is then the high byte `back` frames earlier.
  Neighbours neighbour_context(const uint8_t* bits, size_t i) const {
    const size_t frame = i / period_;
    Neighbours n;
    n.clear = sample(i, bits[i - 1], 0);
    n.middle = n.clear + 128;
    auto coded_sample = [&](size_t back) {  // every bit of it known
      const size_t high = i - back * period_;
      return sample(high, bits[high - 1], bits[high]);
    };
    auto open_sample = [&](size_t ahead, int fallback) {  // its symbols known, its two low bits taken as halfway
      return i + ahead * period_ < symbols_.size() ? sample(i + ahead * period_, 0, 0) + 128 : fallback;
    };
    const int previous = frame >= 1 ? coded_sample(1) : n.middle;
    const int before = frame >= 2 ? coded_sample(2) : previous;
    const int next = open_sample(1, previous);
    n.extrapolation = 2 * previous - before;
    auto step = [](int distance) { return static_cast<size_t>(std::clamp(distance >> 6, -6, 5) + 6); };
    n.plain = step(((previous + next) >> 1) - n.middle) * kNeighbourSteps + step(n.extrapolation - n.middle);
    if (mixed_) {
      const bool cubic = frame >= 2 && i + 2 * period_ < symbols_.size();
      n.interpolation6 = cubic ? int64_t{4} * (previous + next) - before - open_sample(2, next)
                               : int64_t{3} * (previous + next);
    }
    return n;
  }

  // Format 7: four tables' predictions of bit 8, mixed in the logistic domain with weights learned for
  // the waveform's local scale (how far samples stray from their interpolation, averaged over the last
  // 16 or so of the channel): the same distance from bit 8's midpoint means more in quiet passages.
  uint32_t predict_mixed(const uint8_t* bits, size_t i, size_t block, size_t position) {
    neighbours_ = neighbour_context(bits, i);
    const int64_t scale = std::max(scale16_[position] >> 4, 8);
    scale_bucket_ = static_cast<size_t>(
        std::clamp(static_cast<int>(std::bit_width(static_cast<uint64_t>(scale) + 1)) - 4, 0, kScaleBuckets - 1));
    auto scaled = [&](int64_t numerator, int64_t denominator) {
      const int64_t distance = rounded_quotient(numerator, denominator);
      return static_cast<size_t>(std::clamp<int64_t>(distance, -kScaledReach, kScaledReach) + kScaledReach);
    };
    const size_t interpolated = scaled(4 * (neighbours_.interpolation6 - 6 * int64_t{neighbours_.middle}), 6 * scale);
    const size_t extrapolated = scaled(2 * int64_t{neighbours_.extrapolation - neighbours_.middle}, scale);
    mixed_contexts_ = {block + kPlainTable + neighbours_.plain,
                       block + kScaledPlainTable + neighbours_.plain * kScaleBuckets + scale_bucket_,
                       block + kInterpolationTable + interpolated * kScaleBuckets + scale_bucket_,
                       block + kExtrapolationTable + extrapolated * kScaleBuckets + scale_bucket_};
    for (size_t t = 0; t < mixed_contexts_.size(); ++t) inputs_[t] = logistic::stretch(prob_[mixed_contexts_[t]] >> 4);
    inputs_[kMixedInputs - 1] = logistic::kBiasInput;
    mixed_p12_ = logistic::mix(weights_[scale_bucket_], inputs_);
    mixing_ = true;
    mixed_position_ = position;
    return codable(mixed_p12_ << 4);
  }

  // The 16-bit sample whose high byte is symbol `high` (its low byte the symbol before), with the given
  // low bits of its low and high bytes.
  int sample(size_t high, int low_byte_lsb, int high_byte_lsb) const {
    const auto low_byte = static_cast<uint32_t>((uint8_t(symbols_[high - 1]) << 1) | low_byte_lsb);
    const auto high_byte = static_cast<uint32_t>((uint8_t(symbols_[high]) << 1) | high_byte_lsb);
    return static_cast<int16_t>(static_cast<uint16_t>((high_byte << 8) | low_byte));
  }

  size_t period_;
  std::string_view symbols_;
  bool pcm16_;
  bool mixed_;
  std::vector<uint16_t> prob_;
  std::vector<uint8_t> seen_;
  std::vector<int32_t> scale16_;  // each position's local scale of the waveform, in 1/16 sample units
  std::array<std::array<int32_t, kMixedInputs>, kScaleBuckets> weights_{};  // 16.16
  // The last prediction, for update().
  size_t context_ = 0;
  bool mixing_ = false;
  std::array<size_t, kMixedInputs - 1> mixed_contexts_{};
  std::array<int, kMixedInputs> inputs_{};
  int mixed_p12_ = 2048;
  size_t scale_bucket_ = 0;
  size_t mixed_position_ = 0;
  Neighbours neighbours_;
};

void check_arguments(int context_period, size_t n_bits, std::string_view symbols, int pcm16_channels) {
  if (context_period < 1 || context_period > kMaxContextPeriod) {
    throw Error("bit context period " + std::to_string(context_period) + " is outside 1.." +
                std::to_string(kMaxContextPeriod));
  }
  if (!symbols.empty() && symbols.size() != n_bits) {
    throw Error(std::to_string(symbols.size()) + " symbols for " + std::to_string(n_bits) + " bits");
  }
  if (pcm16_channels < 0) throw Error("16-bit PCM contexts for " + std::to_string(pcm16_channels) + " channels");
  if (pcm16_channels == 0) return;
  if (symbols.size() != n_bits) throw Error("16-bit PCM contexts need the symbols");
  if (context_period != 2 * pcm16_channels) {
    throw Error("16-bit PCM contexts for " + std::to_string(pcm16_channels) + " channel(s) need a bit period of " +
                std::to_string(2 * pcm16_channels) + ", not " + std::to_string(context_period));
  }
}

}  // namespace

std::vector<uint8_t> encode_bits(const std::vector<uint8_t>& bits, int context_period, std::string_view symbols,
                                 int pcm16_channels, Pcm16Contexts pcm16_contexts) {
  check_arguments(context_period, bits.size(), symbols, pcm16_channels);
  BitModel model(context_period, symbols, pcm16_channels, pcm16_contexts);
  RangeEncoder encoder;
  size_t position = 0;
  for (size_t i = 0; i < bits.size(); ++i) {
    uint8_t bit = bits[i];
    if (bit > 1) {
      throw Error("bit " + std::to_string(i) + " of the stream is " + std::to_string(bit) + ", not 0 or 1");
    }
    encode_bit(encoder, model.predict(bits.data(), i, position), bit);
    model.update(bit);
    if (++position == model.period()) position = 0;
  }
  return encoder.finish();
}

std::vector<uint8_t> decode_bits(std::span<const uint8_t> coded, size_t n_bits, int context_period,
                                 std::string_view symbols, int pcm16_channels, Pcm16Contexts pcm16_contexts) {
  check_arguments(context_period, n_bits, symbols, pcm16_channels);
  if (n_bits / kMaxBitsPerCodedByte > coded.size() + 7) {
    throw Error("coded bit stream of " + std::to_string(coded.size()) + " bytes cannot hold " +
                std::to_string(n_bits) + " bits");
  }
  BitModel model(context_period, symbols, pcm16_channels, pcm16_contexts);
  RangeDecoder decoder(coded);
  std::vector<uint8_t> bits(n_bits);
  size_t position = 0;
  for (size_t i = 0; i < n_bits; ++i) {
    const auto bit = static_cast<uint8_t>(decode_bit(decoder, model.predict(bits.data(), i, position)));
    bits[i] = bit;
    model.update(bit);
    if (++position == model.period()) position = 0;
    if (i % kOverrunCheckInterval == 0 && decoder.overrun()) break;
  }
  if (!decoder.finished_cleanly()) throw Error("coded bit stream is truncated or corrupt");
  return bits;
}

}  // namespace lmc
