// The adaptive bit coder: exact round trips, compression of the bits audio-as-string drops (synthetic
// 16-bit stereo PCM, and real LibriSpeech speech decoded by the flac tool when shared data is present)
// in each generation of contexts, the ~1% bound on random bits, and rejection of bad arguments and
// damaged streams.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numbers>
#include <random>

#include "codec/adaptive_bits.h"
#include "codec/container.h"
#include "common/error.h"
#include "test_util.h"

namespace lmc {
namespace {

std::vector<uint8_t> random_bits(size_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> bits(n);
  for (uint8_t& b : bits) b = rng() & 1;
  return bits;
}

// The least-significant bit of every byte of 16-bit little-endian PCM: what audio-as-string's one-bit
// shift leaves over, one bit per byte, frames of 2 bytes per channel.
std::vector<uint8_t> pcm_low_bits(const std::vector<int16_t>& samples) {
  std::vector<uint8_t> bits;
  for (int16_t s : samples) {
    auto u = static_cast<uint16_t>(s);
    bits.push_back(u & 1);          // low byte: bit 0 of the sample, noise
    bits.push_back((u >> 8) & 1);   // high byte: bit 8, follows the waveform
  }
  return bits;
}

// The 7-bit symbols audio-as-string keeps of the same bytes: what a decoder has before the low bits.
std::string pcm_symbols(const std::vector<int16_t>& samples) {
  std::string symbols;
  for (int16_t s : samples) {
    auto u = static_cast<uint16_t>(s);
    symbols.push_back(static_cast<char>((u & 0xff) >> 1));
    symbols.push_back(static_cast<char>(u >> 9));
  }
  return symbols;
}

// Codes `bits` (in symbol contexts when `symbols` are given, in 16-bit PCM contexts when the channels
// are), checks the round trip and returns (and prints) the cost in bits per bit.
double round_trip_rate(const std::vector<uint8_t>& bits, int period, const char* what, std::string_view symbols = {},
                       int pcm16_channels = 0, Pcm16Contexts pcm16_contexts = Pcm16Contexts::kMixedNeighbours) {
  std::vector<uint8_t> coded = encode_bits(bits, period, symbols, pcm16_channels, pcm16_contexts);
  EXPECT_EQ(decode_bits(coded, bits.size(), period, symbols, pcm16_channels, pcm16_contexts), bits) << what;
  double rate = 8.0 * coded.size() / bits.size();
  const char* pcm16 = pcm16_contexts == Pcm16Contexts::kNeighbours ? " (16-bit PCM neighbour contexts)"
                                                                    : " (16-bit PCM mixed neighbours)";
  const char* contexts = pcm16_channels > 0 ? pcm16 : symbols.empty() ? "" : " (symbol contexts)";
  std::printf("%s%s: %.4f bits per bit\n", what, contexts, rate);
  return rate;
}

TEST(AdaptiveBits, RoundTripsAnyPeriodAndLength) {
  std::mt19937_64 rng(1);
  for (int period : {1, 2, 3, 4, 6, 64}) {
    for (size_t n : {0, 1, 7, 64, 1000, 20000}) {
      std::vector<uint8_t> bits = random_bits(n, rng);
      for (size_t i = 0; i < n; i += 3) bits[i] = 1;  // some structure too
      std::vector<uint8_t> coded = encode_bits(bits, period);
      EXPECT_EQ(decode_bits(coded, n, period), bits) << "period " << period << " n " << n;
      std::string symbols(n, '\0');
      for (char& c : symbols) c = static_cast<char>(rng() & 0x7f);
      coded = encode_bits(bits, period, symbols);
      EXPECT_EQ(decode_bits(coded, n, period, symbols), bits) << "period " << period << " n " << n << " symbols";
      if (period % 2 == 0) {  // any bytes can be read as 16-bit PCM, however unlike audio they are
        for (char& c : symbols) c = static_cast<char>(rng() & 0xff);  // a corrupt archive's symbols
        for (const auto contexts : {Pcm16Contexts::kNeighbours, Pcm16Contexts::kMixedNeighbours}) {
          coded = encode_bits(bits, period, symbols, period / 2, contexts);
          EXPECT_EQ(decode_bits(coded, n, period, symbols, period / 2, contexts), bits)
              << "period " << period << " n " << n << " pcm16 contexts " << static_cast<int>(contexts);
        }
      }
    }
  }
}

// Archives of every released format must keep decoding: the history and symbol contexts must code these
// bits to exactly the bytes the format-5 code (commit 1d65458) wrote, format 6's neighbour contexts to
// those of commit a0cf19a, format 7's mixed neighbours to those of the commit that added them. A failure
// means a change altered a released format: that needs a new format version, not a new golden value.
// Integer-only PCM, a triangle wave with noise, so the inputs are the same on every platform.
TEST(AdaptiveBits, ReleasedFormatsCodeTheBytesTheyAlwaysDid) {
  std::mt19937_64 rng(11);
  std::vector<int16_t> samples;
  for (int t = 0; t < 20000; ++t) {
    const int phase = t % 200;
    const int triangle = (phase < 100 ? phase : 200 - phase) * 120 - 6000;
    samples.push_back(static_cast<int16_t>(triangle + static_cast<int>(rng() % 81) - 40));
  }
  const std::vector<uint8_t> bits = pcm_low_bits(samples);
  const std::string symbols = pcm_symbols(samples);
  auto digest = [](const std::vector<uint8_t>& bytes) {  // the archives' own checksum, XXH64
    ContentChecksum checksum;
    checksum.update({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    return checksum.digest();
  };
  const std::vector<uint8_t> history = encode_bits(bits, 2);
  EXPECT_EQ(history.size(), 3753u);
  EXPECT_EQ(digest(history), 0x223a169671d204fbull);
  const std::vector<uint8_t> with_symbols = encode_bits(bits, 2, symbols);
  EXPECT_EQ(with_symbols.size(), 3475u);
  EXPECT_EQ(digest(with_symbols), 0x4cb3edc31d2d9838ull);
  const std::vector<uint8_t> neighbours = encode_bits(bits, 2, symbols, 1, Pcm16Contexts::kNeighbours);
  EXPECT_EQ(neighbours.size(), 2597u);
  EXPECT_EQ(digest(neighbours), 0xad5b1fd56fb19cbeull);
  const std::vector<uint8_t> mixed = encode_bits(bits, 2, symbols, 1, Pcm16Contexts::kMixedNeighbours);
  EXPECT_EQ(mixed.size(), 2587u);
  EXPECT_EQ(digest(mixed), 0x511dd2894d4b3444ull);
}

TEST(AdaptiveBits, ConstantStreamsShrinkToAlmostNothing) {
  for (uint8_t value : {0, 1}) {
    std::vector<uint8_t> bits(1 << 20, value);
    std::vector<uint8_t> coded = encode_bits(bits, 2);
    // At the rate limit a certain bit costs -log2(1 - 2^-11) ~ 7e-4 bits: about 92 bytes per Mbit.
    EXPECT_LT(coded.size(), 200u);
    EXPECT_EQ(decode_bits(coded, bits.size(), 2), bits);
  }
}

TEST(AdaptiveBits, RandomBitsExpandByAtMostOnePercent) {
  std::mt19937_64 rng(2);
  for (int period : {1, 2, 4}) {
    std::vector<uint8_t> bits = random_bits(1 << 20, rng);
    double rate = round_trip_rate(bits, period, ("random bits, period " + std::to_string(period)).c_str());
    EXPECT_LE(rate * bits.size() / 8, bits.size() / 8.0 * 1.01 + 8) << "period " << period;
  }
}

TEST(AdaptiveBits, SyntheticStereoPcmLowBitsCompress) {
  // 16 kHz stereo: a 110 Hz and a 170 Hz tone with a little noise. Bit 8 of a sample flips only when the
  // waveform crosses a multiple of 256, so the high bytes' LSBs are predictable from earlier frames.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 20.0);
  std::vector<int16_t> samples;
  auto tone = [&](double amplitude, double hz, int t) {
    return static_cast<int16_t>(std::lround(amplitude * std::sin(2 * std::numbers::pi * hz * t / 16000.0) + noise(rng)));
  };
  for (int t = 0; t < 200000; ++t) {
    samples.push_back(tone(3000, 110, t));
    samples.push_back(tone(2000, 170, t));
  }
  // Half the bits are noise (1 bit each), so this needs the high bytes' bits under 0.8 bits each.
  const double history = round_trip_rate(pcm_low_bits(samples), 4, "synthetic stereo PCM low bits");
  EXPECT_LT(history, 0.9);
  // The symbols show where the waveform is heading: bit 8 flips only when the high byte's symbol moves.
  const double symbols =
      round_trip_rate(pcm_low_bits(samples), 4, "synthetic stereo PCM low bits", pcm_symbols(samples));
  EXPECT_LT(symbols, history * 0.9);
  // The neighbouring samples pin the waveform to within the noise, far closer than bit 8's 256.
  const double neighbours = round_trip_rate(pcm_low_bits(samples), 4, "synthetic stereo PCM low bits",
                                            pcm_symbols(samples), 2, Pcm16Contexts::kNeighbours);
  EXPECT_LT(neighbours, symbols * 0.9);
  EXPECT_LE(round_trip_rate(pcm_low_bits(samples), 4, "synthetic stereo PCM low bits", pcm_symbols(samples), 2),
            neighbours);
}

TEST(AdaptiveBits, RealSpeechLowBitsCompress) {
  auto data = testing::shared_data();
  if (!data) GTEST_SKIP() << "no shared data (LMC_SHARED_DATA): skipping the LibriSpeech check";
  auto flac = *data / "audio/librispeech_test/1688-142285-0000.flac";
  testing::TempDir dir;
  auto result = testing::run_command("flac -d -s --force-raw-format --endian=little --sign=signed -o " +
                                     (dir / "speech.raw").string() + " " + flac.string());
  if (result.exit_code != 0) GTEST_SKIP() << "the flac tool could not decode " << flac << ": " << result.err;
  std::string raw = testing::read_file(dir / "speech.raw");
  ASSERT_GT(raw.size(), 100000u);
  std::vector<int16_t> samples(raw.size() / 2);
  std::memcpy(samples.data(), raw.data(), samples.size() * 2);
  const double history = round_trip_rate(pcm_low_bits(samples), 2, "LibriSpeech 16-bit mono low bits");
  EXPECT_LT(history, 1.0);
  const double symbols = round_trip_rate(pcm_low_bits(samples), 2, "LibriSpeech 16-bit mono low bits",
                                         pcm_symbols(samples));
  EXPECT_LT(symbols, history * 0.95);
  const double neighbours = round_trip_rate(pcm_low_bits(samples), 2, "LibriSpeech 16-bit mono low bits",
                                            pcm_symbols(samples), 1, Pcm16Contexts::kNeighbours);
  EXPECT_LT(neighbours, symbols * 0.92);
  // Mixing several neighbour estimates, each in the waveform's local scale, saves over a tenth of what
  // bit 8 cost; bit 0, the other half of the bits, stays noise at 1 bit.
  EXPECT_LT(round_trip_rate(pcm_low_bits(samples), 2, "LibriSpeech 16-bit mono low bits", pcm_symbols(samples), 1),
            neighbours * 0.97);
}

TEST(AdaptiveBits, RejectsBadArguments) {
  EXPECT_THROW(encode_bits({0, 1, 2}, 2), Error);
  EXPECT_THROW(encode_bits({0, 1}, 0), Error);
  EXPECT_THROW(encode_bits({0, 1}, kMaxContextPeriod + 1), Error);
  EXPECT_THROW(decode_bits({}, 0, -1), Error);
  try {
    encode_bits({0, 1, 1}, 2, "ab");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "2 symbols for 3 bits");
  }
  const std::vector<std::pair<std::function<void()>, std::string>> pcm16_cases = {
      {[] { encode_bits({0, 1}, 2, {}, 1); }, "16-bit PCM contexts need the symbols"},
      {[] { decode_bits(std::vector<uint8_t>(8, 0), 2, 2, {}, 1); }, "16-bit PCM contexts need the symbols"},
      {[] { encode_bits({0, 1}, 2, "ab", -1); }, "16-bit PCM contexts for -1 channels"},
      {[] { encode_bits({0, 1, 1, 0}, 4, "abcd", 1); }, "16-bit PCM contexts for 1 channel(s) need a bit period of 2, not 4"},
      {[] { decode_bits(std::vector<uint8_t>(8, 0), 2, 2, "ab", 2); },
       "16-bit PCM contexts for 2 channel(s) need a bit period of 4, not 2"},
  };
  for (const auto& [call, message] : pcm16_cases) {
    try {
      call();
      ADD_FAILURE() << "no error for: " << message;
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
  try {
    decode_bits(std::vector<uint8_t>(3, 0), 1000000000, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "coded bit stream of 3 bytes cannot hold 1000000000 bits");
  }
}

TEST(AdaptiveBits, DamagedStreamsAreRejected) {
  std::mt19937_64 rng(4);
  std::vector<uint8_t> bits = random_bits(4000, rng);
  std::vector<uint8_t> coded = encode_bits(bits, 2);
  for (size_t keep : {size_t{0}, size_t{1}, coded.size() / 2, coded.size() - 1}) {
    std::vector<uint8_t> cut(coded.begin(), coded.begin() + static_cast<std::ptrdiff_t>(keep));
    try {
      decode_bits(cut, bits.size(), 2);
      FAIL() << "truncated to " << keep;
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "coded bit stream is truncated or corrupt");
    }
  }
  // Asking for more bits than were coded reads past the end.
  EXPECT_THROW(decode_bits(coded, bits.size() + 64, 2), Error);
  // Random bytes: an error or some bits, never a crash.
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<uint8_t> garbage = random_bits(rng() % 64, rng);
    for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
    try {
      EXPECT_EQ(decode_bits(garbage, 100, 3).size(), 100u);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace lmc
