// The PCM model of format-8 audio (codec/pcm_model.h): LPC fitting against known autoregressive
// processes, the coefficients' coding, bit-exact round trips through the range coder, the coded size
// against the residual's analytic entropy, the mixer's use of a language model that helps or misleads,
// and a golden digest of the coded bytes.
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

std::vector<uint8_t> encode_chunk(const std::vector<uint8_t>& pcm, int channels, const Logits& logits,
                                  bool cross_channel = true) {
  const PcmSymbolTokens map = symbol_tokens();
  RangeEncoder encoder;
  auto coefficients = fit_lpc(pcm, channels);
  encode_lpc(encoder, coefficients);
  PcmChunkModel model(map, coefficients, cross_channel);
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

std::vector<uint8_t> decode_chunk(const std::vector<uint8_t>& payload, const std::vector<uint8_t>& truth, int channels,
                                  const Logits& logits, bool cross_channel = true) {
  const PcmSymbolTokens map = symbol_tokens();
  RangeDecoder decoder(payload);
  PcmChunkModel model(map, decode_lpc(decoder, channels), cross_channel);
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

std::vector<uint8_t> as_pcm(const std::vector<int32_t>& samples) {
  std::vector<uint8_t> pcm;
  for (int32_t v : samples) {
    const auto u = static_cast<uint16_t>(static_cast<int16_t>(std::clamp(v, -32768, 32767)));
    pcm.push_back(static_cast<uint8_t>(u & 0xff));
    pcm.push_back(static_cast<uint8_t>(u >> 8));
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
  const auto q = fit_lpc(as_pcm(interleave(left, right)), 2);
  ASSERT_EQ(q.size(), 2u);
  const double unit = 1 << kLpcPrecision;
  EXPECT_NEAR(q[0][0] / unit, 1.6, 0.15);
  EXPECT_NEAR(q[0][1] / unit, -0.8, 0.15);
  EXPECT_NEAR(q[1][0] / unit, 0.9, 0.1);
  for (int c = 0; c < 2; ++c) {
    const auto& x = c == 0 ? left : right;
    double squares = 0;
    for (size_t n = kLpcOrder; n < x.size(); ++n) {
      int64_t sum = 0;
      for (int j = 0; j < kLpcOrder; ++j) sum += int64_t{q[c][j]} * x[n - 1 - j];
      const double e = x[n] - static_cast<double>(sum >> kLpcPrecision);
      squares += e * e;
    }
    EXPECT_LT(squares / static_cast<double>(x.size() - kLpcOrder), 1.15 * 900) << "channel " << c;
  }

  const auto silent = fit_lpc(as_pcm(interleave(left, std::vector<int32_t>(1024, 0))), 2);
  EXPECT_EQ(silent[1], std::vector<int32_t>(kLpcOrder, 0));
  EXPECT_EQ(fit_lpc(as_pcm(std::vector<int32_t>(left.begin(), left.begin() + kLpcOrder)), 1)[0],
            std::vector<int32_t>(kLpcOrder, 0));
  EXPECT_THROW(fit_lpc(as_pcm(left), 0), Error);
}

TEST(PcmModel, LpcCoefficientsRoundTripAndBadWidthsAreRefused) {
  const std::vector<std::vector<int32_t>> coefficients = {{32767, -32767, 0, 1, -1, 2, -2, 1000, -4096, 7},
                                                          std::vector<int32_t>(kLpcOrder, 0),
                                                          {-1, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  RangeEncoder encoder;
  encode_lpc(encoder, coefficients);
  const auto payload = encoder.finish();
  RangeDecoder decoder(payload);
  EXPECT_EQ(decode_lpc(decoder, 3), coefficients);

  RangeEncoder bad;
  bad.encode(17, 1, 5);
  const auto bad_payload = bad.finish();
  RangeDecoder bad_decoder(bad_payload);
  EXPECT_THROW(decode_lpc(bad_decoder, 1), Error);
}

// The residual of an AR(2) process is Gaussian with deviation 30: its entropy, log2(30 sqrt(2 pi e)),
// is what an ideal coder pays per sample. The chunk also pays for its coefficients and for learning
// the scale from its first samples.
TEST(PcmModel, CodesNearTheResidualsEntropy) {
  const auto samples = autoregressive(1.6, -0.8, 30, 2048, 3);
  const auto pcm = as_pcm(samples);
  const auto payload = encode_chunk(pcm, 1, flat);
  const double bits_per_sample = 8.0 * payload.size() / samples.size();
  const double entropy = std::log2(30 * std::sqrt(2 * M_PI * std::exp(1.0)));
  EXPECT_GT(bits_per_sample, entropy - 0.1);
  EXPECT_LT(bits_per_sample, entropy + 0.3);
  EXPECT_EQ(decode_chunk(payload, pcm, 1, flat), pcm);
}

// A chunk whose spectrum flips half way: one set of LPC coefficients fits neither half, and the second
// stage, which follows the signal, has to make up the difference.
TEST(PcmModel, FollowsASpectrumThatChangesWithinTheChunk) {
  auto samples = autoregressive(0.9, 0, 30, 1024, 5);
  const auto second = autoregressive(-0.9, 0, 30, 1024, 6);
  samples.insert(samples.end(), second.begin(), second.end());
  const double bits_per_sample = 8.0 * encode_chunk(as_pcm(samples), 1, flat).size() / samples.size();
  const double entropy = std::log2(30 * std::sqrt(2 * M_PI * std::exp(1.0)));
  // Measured: 7.30 bits a sample, 7.47 with the second stage off; the innovations' entropy is 6.95.
  EXPECT_LT(bits_per_sample, entropy + 0.4);
}

// A model may pad its vocabulary past the tokenizer's: the ids beyond the symbol map are no symbol, so
// the predictor gives them its floor, and the first mix weighs them 0.3 * logit + 0.75 * -60.
TEST(PcmModel, TokensBeyondTheSymbolMapAreNoSymbols) {
  const PcmSymbolTokens map = symbol_tokens();
  PcmChunkModel model(map, std::vector<std::vector<int32_t>>(1, std::vector<int32_t>(kLpcOrder, 0)), true);
  const std::vector<float> logits(kVocab + 41, 1.0f);
  std::vector<float> mixed(logits.size());
  model.mix(logits, mixed);
  EXPECT_EQ(mixed.back(), static_cast<float>(0.3 * 1.0 + 0.75 * -60));
  EXPECT_GT(mixed[map.token[0]], mixed.back());
  EXPECT_THROW(model.observe_symbol(kVocab + 40), Error);
}

TEST(PcmModel, RoundTripsBitExact) {
  std::vector<int32_t> edges;
  for (int i = 0; i < 300; ++i) edges.push_back(i % 50 < 25 ? 32767 : -32768);  // a clipped square wave
  for (int i = 0; i < 300; ++i) edges.push_back(0);
  for (int i = 0; i < 300; ++i) edges.push_back(static_cast<int32_t>(20000 * std::sin(i * 0.3)) + (i * 7919) % 97);
  // A language model that is sometimes sure of the right symbol, sometimes of a wrong one.
  const Logits noisy = [](size_t t, const std::vector<uint8_t>& pcm) {
    std::vector<float> l(kVocab);
    std::mt19937 rng(static_cast<uint32_t>(t));
    for (float& v : l) v = static_cast<float>(rng() % 1000) / 250.0f;
    l[3 + ((pcm[t] >> 1) + (t % 3 == 0 ? 1 : 0)) % 128] += 6.0f;
    l[0] = -INFINITY;
    return l;
  };
  for (int channels : {1, 2, 3}) {
    for (bool cross : {false, true}) {
      SCOPED_TRACE(std::to_string(channels) + " channel(s), cross-channel taps " + (cross ? "on" : "off"));
      const auto pcm = as_pcm(edges);
      EXPECT_EQ(decode_chunk(encode_chunk(pcm, channels, noisy, cross), pcm, channels, noisy, cross), pcm);
      EXPECT_EQ(decode_chunk(encode_chunk(pcm, channels, flat, cross), pcm, channels, flat, cross), pcm);
    }
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
  const double alone = encode_chunk(pcm, 1, flat).size();
  const double helped = encode_chunk(pcm, 1, peaked_at(0)).size();
  const double misled = encode_chunk(pcm, 1, peaked_at(64)).size();
  EXPECT_LT(helped, 0.8 * alone);
  EXPECT_LT(misled, 1.05 * alone);
}

// The coded bytes of a fixed stereo input, pinned for format 8 (no cross-channel taps) and format 9: any
// change to the predictor, the distributions, the mixer or their arithmetic changes them, and archives
// of those formats would no longer decode.
std::vector<uint8_t> golden_payload(bool cross_channel) {
  std::vector<int32_t> samples;
  uint32_t state = 12345;
  int32_t x1 = 0, x2 = 0;  // integers only, so that the input is the same on every build
  for (int i = 0; i < 1024; ++i) {
    state = state * 1103515245u + 12345u;
    const int32_t v = (3 * x1) / 2 - (7 * x2) / 10 + static_cast<int32_t>((state >> 16) % 201) - 100;
    samples.push_back(v);
    x2 = x1;
    x1 = v;
  }
  const Logits logits = [](size_t t, const std::vector<uint8_t>&) {
    std::vector<float> l(kVocab);
    for (int v = 0; v < kVocab; ++v) l[v] = static_cast<float>(((v * 31 + static_cast<int>(t) * 17) % 23) - 11) / 4.0f;
    return l;
  };
  const std::vector<int32_t> reversed(samples.rbegin(), samples.rend());
  return encode_chunk(as_pcm(interleave(samples, reversed)), 2, logits, cross_channel);
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
  const double without = encode_chunk(pcm, 2, flat, false).size(), with = encode_chunk(pcm, 2, flat, true).size();
  // Measured: 2019 bytes with them, 2261 without.
  EXPECT_LT(with, 0.95 * without);
}

}  // namespace
}  // namespace lmc
