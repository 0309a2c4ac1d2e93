// The PCM model of audio archives (codec/pcm_model.h): LPC fitting against known autoregressive
// processes, the coefficients' coding, bit-exact round trips through the range coder in 8, 16 and 24
// bits, the coded size against the residual's analytic entropy, the mixer's use of a language model
// that helps or misleads, and golden digests of the coded bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec/coder.h"
#include "codec/container.h"
#include "codec/pcm_model.h"
#include "common/error.h"

namespace lmc {
namespace {

constexpr int kVocab = 259;         // symbols are tokens 3..130, as a byte tokenizer with specials first might number them
constexpr int kTotalBits = 16;

PcmSymbolTokens symbol_tokens() {
  PcmSymbolTokens map;
  map.symbol.assign(kVocab, -1);
  for (int s = 0; s < 128; ++s) {
    map.token[s] = s + 3;
    map.symbol[s + 3] = static_cast<int16_t>(s);
  }
  return map;
}

// The language model's logits for position t, given the chunk's true bytes (a test oracle both sides share).
using Logits = std::function<std::vector<float>(size_t t, const std::vector<uint8_t>& pcm)>;

std::vector<float> flat(size_t, const std::vector<uint8_t>&) { return std::vector<float>(kVocab, 0.0f); }

std::vector<uint8_t> encode_chunk(const std::vector<uint8_t>& pcm, const PcmLayout& layout, const Logits& logits,
                                  bool cross_channel = true) {
  const PcmSymbolTokens map = symbol_tokens();
  RangeEncoder encoder;
  auto coefficients = fit_lpc(pcm, layout, true);
  encode_lpc(encoder, coefficients);
  PcmChunkModel model(map, coefficients, layout.sample_bytes, cross_channel);
  FrequencyTable table;
  std::vector<float> mixed(kVocab);
  for (size_t t = 0; t < pcm.size(); ++t) {
    const std::vector<float> l = logits(t, pcm);
    model.mix(l, mixed);
    table.assign_logits(mixed, kTotalBits);
    const TokenId token = map.token[pcm[t] >> 1];
    encode_symbol(encoder, table, token);
    model.observe_symbol(token);
    encode_bit(encoder, model.bit_p16(), pcm[t] & 1);
    model.observe_bit(pcm[t] & 1);
  }
  EXPECT_EQ(model.pcm(), pcm);
  return encoder.finish();
}

std::vector<uint8_t> decode_chunk(const std::vector<uint8_t>& payload, const std::vector<uint8_t>& truth,
                                  const PcmLayout& layout, const Logits& logits, bool cross_channel = true) {
  const PcmSymbolTokens map = symbol_tokens();
  RangeDecoder decoder(payload);
  PcmChunkModel model(map, decode_lpc(decoder, layout.channels, true), layout.sample_bytes, cross_channel);
  FrequencyTable table;
  std::vector<float> mixed(kVocab);
  for (size_t t = 0; t < truth.size(); ++t) {
    model.mix(logits(t, truth), mixed);
    table.assign_logits(mixed, kTotalBits);
    model.observe_symbol(decode_symbol(decoder, table));
    model.observe_bit(decode_bit(decoder, model.bit_p16()));
  }
  EXPECT_TRUE(decoder.finished_cleanly());
  return model.pcm();
}

PcmLayout mono(int sample_bytes = 2) { return {1, sample_bytes}; }

// Samples as WAV stores them: little-endian, offset binary in 8 bits, two's complement wider.
std::vector<uint8_t> as_pcm(const std::vector<int32_t>& samples, int sample_bytes = 2) {
  const int32_t high = (1 << (8 * sample_bytes - 1)) - 1;
  std::vector<uint8_t> pcm;
  for (int32_t v : samples) {
    const int32_t clamped = std::clamp(v, -high - 1, high);
    const auto pattern = static_cast<uint32_t>(sample_bytes == 1 ? clamped + 128 : clamped);
    for (int k = 0; k < sample_bytes; ++k) pcm.push_back(static_cast<uint8_t>(pattern >> (8 * k)));
  }
  return pcm;
}

// x[n] = a1 x[n-1] + a2 x[n-2] + e[n], e Gaussian with deviation sigma, rounded to integers.
std::vector<int32_t> autoregressive(double a1, double a2, double sigma, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  std::vector<int32_t> x(n);
  double x1 = 0, x2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double v = a1 * x1 + a2 * x2 + noise(rng);
    x[i] = static_cast<int32_t>(std::lround(v));
    x2 = x1;
    x1 = x[i];
  }
  return x;
}

std::vector<int32_t> interleave(const std::vector<int32_t>& left, const std::vector<int32_t>& right) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < left.size(); ++i) out.insert(out.end(), {left[i], right[i]});
  return out;
}

// A windowed fit of 1024 samples is biased (the window tapers the autocorrelation), so the coefficients
// are near the process's rather than equal; what matters is that the quantised filter's residual is
// nearly the innovation, whose variance is 30^2.
TEST(PcmModel, LpcRecoversAutoregressiveProcesses) {
  const auto left = autoregressive(1.6, -0.8, 30, 1024, 1), right = autoregressive(0.9, 0, 30, 1024, 2);
  const auto q = fit_lpc(as_pcm(interleave(left, right)), {2, 2}, true);
  ASSERT_EQ(q.size(), 2u);
  const double unit = 1 << kLpcPrecision;
  EXPECT_NEAR(q[0].coefficients[0] / unit, 1.6, 0.15);
  EXPECT_NEAR(q[0].coefficients[1] / unit, -0.8, 0.15);
  EXPECT_NEAR(q[1].coefficients[0] / unit, 0.9, 0.1);
  for (int c = 0; c < 2; ++c) {
    const auto& x = c == 0 ? left : right;
    double squares = 0;
    for (size_t n = kLpcOrder; n < x.size(); ++n) {
      int64_t sum = 0;
      for (int j = 0; j < kLpcOrder; ++j) sum += int64_t{q[c].coefficients[j]} * x[n - 1 - j];
      const double e = x[n] - static_cast<double>(sum >> kLpcPrecision);
      squares += e * e;
    }
    EXPECT_LT(squares / static_cast<double>(x.size() - kLpcOrder), 1.15 * 900) << "channel " << c;
  }

  const auto silent = fit_lpc(as_pcm(interleave(left, std::vector<int32_t>(1024, 0))), {2, 2}, true);
  const LpcFilter none{0, std::vector<int32_t>(kLpcOrder, 0)};
  EXPECT_EQ(silent[1], none);
  EXPECT_EQ(fit_lpc(as_pcm(std::vector<int32_t>(left.begin(), left.begin() + kLpcOrder)), mono(), true)[0], none);
  for (const PcmLayout bad : {PcmLayout{0, 2}, PcmLayout{kMaxPcmChannels + 1, 2}, PcmLayout{1, 0}, PcmLayout{1, 4}}) {
    EXPECT_THROW(fit_lpc(as_pcm(left), bad, true), Error) << bad.channels << " channel(s) of " << bad.sample_bytes;
  }
}

// The same samples read from 8- and 24-bit bytes (offset binary, three-byte two's complement) give the
// filter they give in 16 bits; shifted up (16-bit audio in 24 bits, 12-bit audio in 16) they give it
// too, with the shift as wasted bits, unless the fit is told not to look for them (before format 10).
TEST(PcmModel, LpcReadsEverySampleWidthAndFindsWastedBits) {
  const auto x = autoregressive(1.6, -0.8, 3, 1024, 9);
  const LpcFilter wide = fit_lpc(as_pcm(x, 2), mono(2), true)[0];
  EXPECT_EQ(wide.wasted_bits, 0);
  EXPECT_NEAR(wide.coefficients[0] / double{1 << kLpcPrecision}, 1.6, 0.15);
  EXPECT_EQ(fit_lpc(as_pcm(x, 1), mono(1), true)[0], wide);
  for (const auto& [shift, sample_bytes] : {std::pair{8, 3}, std::pair{4, 2}}) {
    std::vector<int32_t> shifted;
    for (int32_t v : x) shifted.push_back(v * (1 << shift));
    const LpcFilter found = fit_lpc(as_pcm(shifted, sample_bytes), mono(sample_bytes), true)[0];
    EXPECT_EQ(found.wasted_bits, shift);
    EXPECT_EQ(found.coefficients, wide.coefficients);
    EXPECT_EQ(fit_lpc(as_pcm(shifted, sample_bytes), mono(sample_bytes), false)[0].wasted_bits, 0);
  }
}

TEST(PcmModel, LpcFiltersRoundTripAndBadFieldsAreRefused) {
  const std::vector<LpcFilter> filters = {{0, {32767, -32767, 0, 1, -1, 2, -2, 1000, -4096, 7}},
                                          {0, std::vector<int32_t>(kLpcOrder, 0)},
                                          {3, {-1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
                                          {23, std::vector<int32_t>(kLpcOrder, 0)}};
  RangeEncoder encoder;
  encode_lpc(encoder, filters);
  const auto payload = encoder.finish();
  RangeDecoder decoder(payload);
  EXPECT_EQ(decode_lpc(decoder, 4, true), filters);
  RangeDecoder before_format10(payload);
  EXPECT_THROW(decode_lpc(before_format10, 4, false), Error) << "wasted bits before format 10";

  // A width of 17, and the wasted bits' escape (31) with 0 or 24 of them.
  for (const std::vector<uint64_t>& fields : {std::vector<uint64_t>{17}, {31, 0, 0}, {31, 24, 0}}) {
    RangeEncoder bad;
    for (uint64_t field : fields) bad.encode(field, 1, 5);
    const auto bad_payload = bad.finish();
    RangeDecoder bad_decoder(bad_payload);
    EXPECT_THROW(decode_lpc(bad_decoder, 1, true), Error) << fields[0] << ", " << fields.size() << " fields";
  }
  const PcmSymbolTokens map = symbol_tokens();
  EXPECT_THROW(PcmChunkModel(map, {LpcFilter{16, std::vector<int32_t>(kLpcOrder, 0)}}, 2, true), Error);
}

// 16-bit samples stored in 24 bits (the low byte always zero) and 12-bit ones stored in 16 cost what
// the same samples cost at their own width, within 1%: the wasted bits are known, not coded.
TEST(PcmModel, WastedBitsCostNothing) {
  const auto x = autoregressive(1.6, -0.8, 30, 2048, 10);
  const double own = encode_chunk(as_pcm(x, 2), mono(2), flat).size();
  for (const auto& [shift, sample_bytes] : {std::pair{8, 3}, std::pair{4, 2}}) {
    SCOPED_TRACE(std::to_string(shift) + " wasted bits");
    std::vector<int32_t> shifted;
    for (int32_t v : x) shifted.push_back(v * (1 << shift));
    const auto pcm = as_pcm(shifted, sample_bytes);
    const auto payload = encode_chunk(pcm, mono(sample_bytes), flat);
    EXPECT_LT(payload.size(), 1.01 * own);  // measured: 1843 bytes in 16 bits, 1852 as 12 bits in 16
    EXPECT_GT(payload.size(), 0.99 * own);
    EXPECT_EQ(decode_chunk(payload, pcm, mono(sample_bytes), flat), pcm);
  }
}

// The residual of an AR(2) process is Gaussian with deviation sigma: its entropy, log2(sigma sqrt(2 pi e)),
// is what an ideal coder pays per sample. The chunk also pays for its coefficients and for learning
// the scale from its first samples. In 24 bits the low byte is as good as noise and its symbols are
// taken as uniform: the bound holds all the same.
TEST(PcmModel, CodesNearTheResidualsEntropyAtEveryWidth) {
  for (const auto& [sample_bytes, sigma] : {std::pair{1, 3.0}, std::pair{2, 30.0}, std::pair{3, 7680.0}}) {
    SCOPED_TRACE(std::to_string(8 * sample_bytes) + "-bit samples");
    const auto samples = autoregressive(1.6, -0.8, sigma, 2048, 3);
    const auto pcm = as_pcm(samples, sample_bytes);
    const auto payload = encode_chunk(pcm, mono(sample_bytes), flat);
    const double bits_per_sample = 8.0 * payload.size() / samples.size();
    const double entropy = std::log2(sigma * std::sqrt(2 * M_PI * std::exp(1.0)));
    EXPECT_GT(bits_per_sample, entropy - 0.1);
    EXPECT_LT(bits_per_sample, entropy + 0.3);
    EXPECT_EQ(decode_chunk(payload, pcm, mono(sample_bytes), flat), pcm);
  }
}

// A chunk whose spectrum flips half way: one set of LPC coefficients fits neither half, and the second
// stage, which follows the signal, has to make up the difference.
TEST(PcmModel, FollowsASpectrumThatChangesWithinTheChunk) {
  auto samples = autoregressive(0.9, 0, 30, 1024, 5);
  const auto second = autoregressive(-0.9, 0, 30, 1024, 6);
  samples.insert(samples.end(), second.begin(), second.end());
  const double bits_per_sample = 8.0 * encode_chunk(as_pcm(samples), mono(), flat).size() / samples.size();
  const double entropy = std::log2(30 * std::sqrt(2 * M_PI * std::exp(1.0)));
  // Measured: 7.30 bits a sample, 7.47 with the second stage off; the innovations' entropy is 6.95.
  EXPECT_LT(bits_per_sample, entropy + 0.4);
}

// A model may pad its vocabulary past the tokenizer's: the ids beyond the symbol map are no symbol, so
// the predictor gives them its floor, and the first mix weighs them 0.3 * logit + 0.75 * -60.
TEST(PcmModel, TokensBeyondTheSymbolMapAreNoSymbols) {
  const PcmSymbolTokens map = symbol_tokens();
  PcmChunkModel model(map, {LpcFilter{0, std::vector<int32_t>(kLpcOrder, 0)}}, 2, true);
  const std::vector<float> logits(kVocab + 41, 1.0f);
  std::vector<float> mixed(logits.size());
  model.mix(logits, mixed);
  EXPECT_EQ(mixed.back(), static_cast<float>(0.3 * 1.0 + 0.75 * -60));
  EXPECT_GT(mixed[map.token[0]], mixed.back());
  EXPECT_THROW(model.observe_symbol(kVocab + 40), Error);
}

// Each chunk of `pcm` coded and decoded with 1 to 3 channels, with and without cross-channel taps, under a
// language model that is sometimes sure of the right symbol, sometimes of a wrong one, and under none.
void round_trip_all_channels(const std::vector<uint8_t>& pcm, int sample_bytes) {
  const Logits noisy = [](size_t t, const std::vector<uint8_t>& bytes) {
    std::vector<float> l(kVocab);
    std::mt19937 rng(static_cast<uint32_t>(t));
    for (float& v : l) v = static_cast<float>(rng() % 1000) / 250.0f;
    l[3 + ((bytes[t] >> 1) + (t % 3 == 0 ? 1 : 0)) % 128] += 6.0f;
    l[0] = -INFINITY;
    return l;
  };
  for (int channels : {1, 2, 3}) {
    for (bool cross : {false, true}) {
      SCOPED_TRACE(std::to_string(8 * sample_bytes) + " bits, " + std::to_string(channels) +
                   " channel(s), cross-channel taps " + (cross ? "on" : "off"));
      const PcmLayout layout{channels, sample_bytes};
      EXPECT_EQ(decode_chunk(encode_chunk(pcm, layout, noisy, cross), pcm, layout, noisy, cross), pcm);
      EXPECT_EQ(decode_chunk(encode_chunk(pcm, layout, flat, cross), pcm, layout, flat, cross), pcm);
    }
  }
}

TEST(PcmModel, RoundTripsBitExactAtEveryWidth) {
  for (int sample_bytes : {1, 2, 3}) {
    const int32_t high = (1 << (8 * sample_bytes - 1)) - 1;
    std::vector<int32_t> edges;
    for (int i = 0; i < 300; ++i) edges.push_back(i % 50 < 25 ? high : -high - 1);  // a clipped square wave
    for (int i = 0; i < 300; ++i) edges.push_back(0);
    for (int i = 0; i < 300; ++i) {
      edges.push_back(static_cast<int32_t>(0.6 * high * std::sin(i * 0.3)) + (i * 7919) % (high / 300 + 2));
    }
    round_trip_all_channels(as_pcm(edges, sample_bytes), sample_bytes);
  }
}

// Geometric mixing with learned weights: a language model that knows the symbols makes the chunk much
// cheaper, and one that is confidently wrong costs little, because the mixer learns to discount it.
TEST(PcmModel, MixerUsesAHelpfulModelAndDiscountsAMisleadingOne) {
  const auto pcm = as_pcm(autoregressive(1.6, -0.8, 300, 2048, 4));
  const auto peaked_at = [](int offset) {
    return [offset](size_t t, const std::vector<uint8_t>& bytes) {
      std::vector<float> l(kVocab, 0.0f);
      l[3 + ((bytes[t] >> 1) + offset) % 128] = 5.0f;
      return l;
    };
  };
  const double alone = encode_chunk(pcm, mono(), flat).size();
  const double helped = encode_chunk(pcm, mono(), peaked_at(0)).size();
  const double misled = encode_chunk(pcm, mono(), peaked_at(64)).size();
  EXPECT_LT(helped, 0.8 * alone);
  EXPECT_LT(misled, 1.05 * alone);
}

// The coded bytes of a fixed stereo input, pinned for format 8 (no cross-channel taps), format 9 and, in
// 8 and 24 bits, format 10: any change to the predictor, the distributions, the mixer or their
// arithmetic changes them, and archives of those formats would no longer decode.
std::vector<uint8_t> golden_payload(bool cross_channel, int sample_bytes = 2) {
  std::vector<int32_t> samples;
  uint32_t state = 12345;
  int32_t x1 = 0, x2 = 0;  // integers only, so that the input is the same on every build
  for (int i = 0; i < 1024; ++i) {
    state = state * 1103515245u + 12345u;
    const int32_t v = (3 * x1) / 2 - (7 * x2) / 10 + static_cast<int32_t>((state >> 16) % 201) - 100;
    // 8 bits: a sixteenth of the level, which fits; 24 bits: the 16-bit value over a noisy low byte.
    samples.push_back(sample_bytes == 1 ? v / 16 : sample_bytes == 3 ? v * 256 + static_cast<int32_t>(state >> 24) : v);
    x2 = x1;
    x1 = v;
  }
  const Logits logits = [](size_t t, const std::vector<uint8_t>&) {
    std::vector<float> l(kVocab);
    for (int v = 0; v < kVocab; ++v) l[v] = static_cast<float>(((v * 31 + static_cast<int>(t) * 17) % 23) - 11) / 4.0f;
    return l;
  };
  const std::vector<int32_t> reversed(samples.rbegin(), samples.rend());
  return encode_chunk(as_pcm(interleave(samples, reversed), sample_bytes), {2, sample_bytes}, logits, cross_channel);
}

uint64_t digest(const std::vector<uint8_t>& bytes) {
  ContentChecksum checksum;
  checksum.update({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  return checksum.digest();
}

TEST(PcmModel, GoldenCodedBytes) {
  const auto format8 = golden_payload(false), format9 = golden_payload(true);
  EXPECT_EQ(format8.size(), 2096u);
  EXPECT_EQ(digest(format8), 0x5bad567a612cd734u);
  EXPECT_EQ(format9.size(), 2096u);
  EXPECT_EQ(digest(format9), 0xea8001497d3a1366u);
  const auto bytes8 = golden_payload(true, 1), bytes24 = golden_payload(true, 3);
  EXPECT_EQ(bytes8.size(), 1079u);
  EXPECT_EQ(digest(bytes8), 0xc958cf16b3f025c0u);
  EXPECT_EQ(bytes24.size(), 4146u);
  EXPECT_EQ(digest(bytes24), 0x73c57731667706e7u);
}

// Channels that share a signal: the second is mostly the first one sample late. The cross-channel taps
// find what the first channel's residual says about the second's.
TEST(PcmModel, CrossChannelTapsUseWhatChannelsShare) {
  const auto left = autoregressive(1.6, -0.8, 100, 1024, 7);
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0, 10);
  std::vector<int32_t> right(left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    right[i] = static_cast<int32_t>(std::lround(0.8 * (i ? left[i - 1] : 0) + 0.2 * left[i] + noise(rng)));
  }
  const auto pcm = as_pcm(interleave(left, right));
  const PcmLayout stereo{2, 2};
  const double without = encode_chunk(pcm, stereo, flat, false).size();
  const double with = encode_chunk(pcm, stereo, flat, true).size();
  // Measured: 2019 bytes with them, 2261 without.
  EXPECT_LT(with, 0.95 * without);
}

}  // namespace
}  // namespace lmc
