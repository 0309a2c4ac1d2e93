// The baseline compressors against the real command-line tools on the same bytes: every size must be the
// tool's output size, whole-file and chunk by chunk. A tool that is not installed skips its case.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "codec/baselines.h"
#include "common/error.h"
#include "test_util.h"

namespace lmc {
namespace {
namespace fs = std::filesystem;
using testing::random_bytes;
using testing::run_command;
using testing::write_file;

// Prose-like text: words with a skewed distribution, so that the compressors have structure to find.
std::string text_sample(size_t n, uint32_t seed) {
  static const char* kWords[] = {"the", "of", "and", "compression", "model", "a", "in", "to", "arithmetic",
                                 "coder", "is", "bits", "per", "byte", "language", "chunk", "token", "with"};
  std::mt19937 rng(seed);
  std::geometric_distribution<int> pick(0.25);
  std::string s;
  while (s.size() < n) s += std::string(kWords[pick(rng) % 18]) + (rng() % 11 == 0 ? ".\n" : " ");
  return s.substr(0, n);
}

void put_le(std::string& s, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// `frames` frames of a two-tone signal with noise, as a WAV's data chunk stores them.
std::string pcm_samples(int bits, int channels, int frames) {
  std::mt19937 rng(static_cast<uint32_t>(bits * 10 + channels));
  std::normal_distribution<double> noise(0.0, bits == 8 ? 1.0 : 40.0);
  const double peak = bits == 8 ? 100.0 : 0.4 * double((1u << (bits - 1)) - 1);
  std::string data;
  for (int i = 0; i < frames; ++i) {
    for (int c = 0; c < channels; ++c) {
      double v = peak * (0.6 * std::sin(i * 0.031 * (c + 1)) + 0.3 * std::sin(i * 0.17)) + noise(rng);
      int32_t sample = static_cast<int32_t>(v);
      put_le(data, static_cast<uint32_t>(bits == 8 ? sample + 128 : sample), bits / 8);
    }
  }
  return data;
}

// A canonical PCM WAV (44-byte header) holding `data`.
std::string wav_file(int bits, int channels, uint32_t rate, const std::string& data) {
  const uint32_t block_align = static_cast<uint32_t>(channels * bits / 8);
  std::string wav = "RIFF";
  put_le(wav, static_cast<uint32_t>(36 + data.size()), 4);
  wav += "WAVEfmt ";
  put_le(wav, 16, 4);
  put_le(wav, 1, 2);  // PCM
  put_le(wav, static_cast<uint32_t>(channels), 2);
  put_le(wav, rate, 4);
  put_le(wav, rate * block_align, 4);
  put_le(wav, block_align, 2);
  put_le(wav, static_cast<uint32_t>(bits), 2);
  wav += "data";
  put_le(wav, static_cast<uint32_t>(data.size()), 4);
  return wav + data;
}

struct WavSpec {
  std::string name;
  int bits, channels;
  uint32_t rate;
  int frames;
};

const WavSpec kWavs[] = {{"16-bit stereo", 16, 2, 16000, 30000},
                         {"8-bit mono", 8, 1, 8000, 9000},
                         {"24-bit mono", 24, 1, 44100, 20000},
                         // Longer than the 10 s between seek points: three of them.
                         {"16-bit mono, 25 s", 16, 1, 4000, 100000}};

struct Tool {
  Baseline baseline;
  std::string program;
  // Writes the compressed form of $IN to $OUT. xz gets -T1: one thread, as the library call (xz 5.4 uses
  // one by default; later versions split the input into blocks when they use more).
  std::string command;
};

// Names the case in test listings (and so in ctest's names) instead of dumping the struct's bytes.
void PrintTo(const Tool& tool, std::ostream* out) { *out << tool.program; }

const Tool kTools[] = {
    {Baseline::kGzip, "gzip", "gzip -9 -n -c \"$IN\" > \"$OUT\""},
    {Baseline::kBzip2, "bzip2", "bzip2 -9 -c \"$IN\" > \"$OUT\""},
    {Baseline::kXz, "xz", "xz -9e -T1 -c \"$IN\" > \"$OUT\""},
    {Baseline::kZstd, "zstd", "zstd -19 -q -c \"$IN\" > \"$OUT\""},
    {Baseline::kFlac, "flac", "flac -8 --no-padding -s -f -o \"$OUT\" \"$IN\""},
};

class BaselineTool : public ::testing::TestWithParam<Tool> {
 protected:
  void SetUp() override {
    if (run_command("command -v " + GetParam().program).exit_code != 0) {
      GTEST_SKIP() << "'" << GetParam().program << "' is not installed: its sizes cannot be checked";
    }
  }
  // The size of the real tool's output for `bytes`.
  uint64_t tool_size(const std::string& bytes) {
    write_file(tmp_ / "in.wav", bytes);
    std::string command = GetParam().command;
    command.replace(command.find("$IN"), 3, (tmp_ / "in.wav").string());
    command.replace(command.find("$OUT"), 4, (tmp_ / "out").string());
    auto r = run_command(command);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    return fs::file_size(tmp_ / "out");
  }
  // General compressors' inputs (flac has its own, kWavs).
  static std::vector<std::pair<std::string, std::string>> inputs() {
    return {{"text", text_sample(120000, 1)}, {"random bytes", random_bytes(30000, 2)}, {"one byte", "x"}};
  }
  testing::TempDir tmp_;
};

TEST_P(BaselineTool, WholeFileSizeIsTheToolsSize) {
  if (GetParam().baseline == Baseline::kFlac) {
    for (const auto& w : kWavs) {
      SCOPED_TRACE(w.name);
      const std::string wav = wav_file(w.bits, w.channels, w.rate, pcm_samples(w.bits, w.channels, w.frames));
      EXPECT_EQ(compressed_size(Baseline::kFlac, wav), tool_size(wav));
    }
    return;
  }
  for (const auto& [name, bytes] : inputs()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(compressed_size(GetParam().baseline, bytes), tool_size(bytes));
  }
}

TEST_P(BaselineTool, ChunkedSizeIsTheSumOfTheToolsSizesPerChunk) {
  const int64_t chunk_bytes = 7000;
  if (GetParam().baseline == Baseline::kFlac) {
    for (const auto& w : kWavs) {
      SCOPED_TRACE(w.name);
      const std::string data = pcm_samples(w.bits, w.channels, w.frames);
      // Each chunk of whole frames as a WAV of its own, which the tool reads like any other.
      const size_t frame = static_cast<size_t>(w.bits / 8 * w.channels), step = chunk_bytes / frame * frame;
      uint64_t expected = 0;
      for (size_t begin = 0; begin < data.size(); begin += step) {
        expected += tool_size(wav_file(w.bits, w.channels, w.rate, data.substr(begin, step)));
      }
      EXPECT_EQ(chunked_size(Baseline::kFlac, wav_file(w.bits, w.channels, w.rate, data), chunk_bytes), expected);
    }
    return;
  }
  for (const auto& [name, bytes] : inputs()) {
    SCOPED_TRACE(name);
    uint64_t expected = 0;
    for (size_t begin = 0; begin < bytes.size(); begin += chunk_bytes) expected += tool_size(bytes.substr(begin, chunk_bytes));
    EXPECT_EQ(chunked_size(GetParam().baseline, bytes, chunk_bytes), expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Tools, BaselineTool, ::testing::ValuesIn(kTools),
                         [](const auto& info) { return info.param.program; });

TEST(Baselines, FlacTakesOnlyPcmWav) {
  EXPECT_FALSE(compressed_size(Baseline::kFlac, text_sample(5000, 3)).has_value());
  EXPECT_FALSE(chunked_size(Baseline::kFlac, "RIFF", 2048).has_value());
  EXPECT_TRUE(compressed_size(Baseline::kGzip, "").has_value());
  EXPECT_EQ(chunked_size(Baseline::kXz, "", 2048), uint64_t{0}) << "no chunks, nothing to store";
  EXPECT_THROW(chunked_size(Baseline::kGzip, "abc", 0), Error);
}

}  // namespace
}  // namespace lmc
