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
// together, against 0.795 in the symbols' contexts (tests/codec/test_adaptive_bits.cpp prints both).
#include "codec/adaptive_bits.h"

#include <algorithm>
#include <array>
#include <string>

#include "codec/range_coder.h"
#include "common/error.h"

namespace lmc {
namespace {

constexpr int kProbBits = 16;
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

class BitModel {
 public:
  BitModel(int period, std::string_view symbols, bool pcm16)
      : period_(static_cast<size_t>(period)),
        symbols_(symbols),
        pcm16_(pcm16),
        prob_(period_ * contexts_per_position(), kProbOne / 2),
        seen_(period_ * contexts_per_position(), 0) {}

  // The context of bit i; `bits` holds at least the i bits before it.
  size_t context(const uint8_t* bits, size_t i, size_t position) const {
    size_t within = 0;
    if (symbols_.empty()) {
      within = history_context(bits, i);
    } else if (pcm16_ && position % 2 == 1) {
      within = neighbour_context(bits, i);
    } else {
      within = symbol_context(bits, i);
    }
    return position * contexts_per_position() + within;
  }

  size_t contexts_per_position() const {
    if (symbols_.empty()) return size_t{1} << kHistoryBits;
    return pcm16_ ? std::max(kSymbolContexts, kNeighbourContexts) : kSymbolContexts;
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
    auto clipped = [](int motion) { return static_cast<size_t>(std::clamp(motion, -kMotionClip, kMotionClip) + kMotionClip); };
    size_t context = clipped(symbol(0) - symbol(1));
    context = context * kMotionValues + clipped(symbol(0) - 2 * symbol(1) + symbol(2));
    for (size_t back = 1; back <= kSymbolFrames; ++back) {
      context = (context << 1) | (i >= back * period_ ? bits[i - back * period_] : 0);
    }
    return context;
  }

  // Bit i is a high byte's LSB. `i - period_ * back` is then the high byte `back` frames earlier.
  size_t neighbour_context(const uint8_t* bits, size_t i) const {
    const size_t frame = i / period_;
    const int clear = sample(i, bits[i - 1], 0);  // the value with bit 8 clear; with it set: + 256
    const int middle = clear + 128;
    auto coded_sample = [&](size_t back) {  // every bit of it known
      const size_t high = i - back * period_;
      return sample(high, bits[high - 1], bits[high]);
    };
    const int previous = frame >= 1 ? coded_sample(1) : middle;
    const int before = frame >= 2 ? coded_sample(2) : previous;
    const int next = i + period_ < symbols_.size() ? sample(i + period_, 0, 0) + 128 : previous;
    auto step = [](int distance) { return static_cast<size_t>(std::clamp(distance >> 6, -6, 5) + 6); };
    return step(((previous + next) >> 1) - middle) * kNeighbourSteps + step(2 * previous - before - middle);
  }

  // The 16-bit sample whose high byte is symbol `high` (its low byte the symbol before), with the given
  // low bits of its low and high bytes.
  int sample(size_t high, int low_byte_lsb, int high_byte_lsb) const {
    const auto low_byte = static_cast<uint32_t>((uint8_t(symbols_[high - 1]) << 1) | low_byte_lsb);
    const auto high_byte = static_cast<uint32_t>((uint8_t(symbols_[high]) << 1) | high_byte_lsb);
    return static_cast<int16_t>(static_cast<uint16_t>((high_byte << 8) | low_byte));
  }

  // Probability that the bit in `ctx` is 1, in 1/kProbOne, kept codable.
  uint32_t p1(size_t ctx) const {
    return static_cast<uint32_t>(std::clamp<int32_t>(prob_[ctx], kProbMin, kProbOne - kProbMin));
  }

  void update(size_t ctx, uint8_t bit) {
    int32_t target = bit ? kProbOne : 0;
    int64_t step = (static_cast<int64_t>(target - prob_[ctx]) * kRates[seen_[ctx]]) >> kProbBits;
    prob_[ctx] = static_cast<uint16_t>(prob_[ctx] + step);
    if (seen_[ctx] < kRates.size() - 1) ++seen_[ctx];
  }

  size_t period() const { return period_; }

 private:
  size_t period_;
  std::string_view symbols_;
  bool pcm16_;
  std::vector<uint16_t> prob_;
  std::vector<uint8_t> seen_;
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
                                 int pcm16_channels) {
  check_arguments(context_period, bits.size(), symbols, pcm16_channels);
  BitModel model(context_period, symbols, pcm16_channels > 0);
  RangeEncoder encoder;
  size_t position = 0;
  for (size_t i = 0; i < bits.size(); ++i) {
    uint8_t bit = bits[i];
    if (bit > 1) {
      throw Error("bit " + std::to_string(i) + " of the stream is " + std::to_string(bit) + ", not 0 or 1");
    }
    size_t ctx = model.context(bits.data(), i, position);
    uint32_t p1 = model.p1(ctx);
    if (bit) {
      encoder.encode(kProbOne - p1, p1, kProbBits);
    } else {
      encoder.encode(0, kProbOne - p1, kProbBits);
    }
    model.update(ctx, bit);
    if (++position == model.period()) position = 0;
  }
  return encoder.finish();
}

std::vector<uint8_t> decode_bits(std::span<const uint8_t> coded, size_t n_bits, int context_period,
                                 std::string_view symbols, int pcm16_channels) {
  check_arguments(context_period, n_bits, symbols, pcm16_channels);
  if (n_bits / kMaxBitsPerCodedByte > coded.size() + 7) {
    throw Error("coded bit stream of " + std::to_string(coded.size()) + " bytes cannot hold " +
                std::to_string(n_bits) + " bits");
  }
  BitModel model(context_period, symbols, pcm16_channels > 0);
  RangeDecoder decoder(coded);
  std::vector<uint8_t> bits(n_bits);
  size_t position = 0;
  for (size_t i = 0; i < n_bits; ++i) {
    size_t ctx = model.context(bits.data(), i, position);
    uint32_t zero_freq = kProbOne - model.p1(ctx);
    uint8_t bit = decoder.target(kProbBits) >= zero_freq;
    if (bit) {
      decoder.consume(zero_freq, kProbOne - zero_freq);
    } else {
      decoder.consume(0, zero_freq);
    }
    bits[i] = bit;
    model.update(ctx, bit);
    if (++position == model.period()) position = 0;
    if (i % kOverrunCheckInterval == 0 && decoder.overrun()) break;
  }
  if (!decoder.finished_cleanly()) throw Error("coded bit stream is truncated or corrupt");
  return bits;
}

}  // namespace lmc
