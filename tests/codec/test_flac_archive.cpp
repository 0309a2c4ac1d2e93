// The flac archive lmc keeps when flac -8 beats the model on a PCM WAV: its stream read back by the real
// flac tool, the WAV restored byte for byte around the samples, and every way the archive can be corrupt.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "codec/flac_archive.h"
#include "common/error.h"
#include "data/wav.h"
#include "test_util.h"

namespace lmc {
namespace {
using testing::read_file;
using testing::run_command;
using testing::write_file;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

// A PCM WAV of a sine with noise; `extra` is a chunk after the samples (a LIST chunk, as editors write),
// `before` one between the format and the samples.
std::string make_wav(int bits, int channels, int frames, const std::string& extra = "", uint32_t rate = 16000,
                     const std::string& before = "") {
  std::mt19937 rng(static_cast<uint32_t>(bits * 10 + channels));
  std::string pcm;
  const double peak = std::ldexp(1.0, bits - 1) - 1;
  for (int i = 0; i < frames; ++i) {
    for (int c = 0; c < channels; ++c) {
      const auto v = static_cast<int64_t>(peak * 0.4 * std::sin(i * 0.03 * (c + 1))) +
                     static_cast<int64_t>(rng() % 61) - 30;
      put_le(pcm, bits == 8 ? static_cast<uint64_t>(v + 128) : static_cast<uint64_t>(v), bits / 8);
    }
  }
  std::string fmt;
  put_le(fmt, 1, 2);
  put_le(fmt, static_cast<uint64_t>(channels), 2);
  put_le(fmt, rate, 4);
  put_le(fmt, uint64_t{rate} * static_cast<uint64_t>(channels * bits / 8), 4);
  put_le(fmt, static_cast<uint64_t>(channels * bits / 8), 2);
  put_le(fmt, static_cast<uint64_t>(bits), 2);
  std::string body = "WAVEfmt ";
  put_le(body, fmt.size(), 4);
  body += fmt + before + "data";
  put_le(body, pcm.size(), 4);
  body += pcm + extra;
  std::string wav = "RIFF";
  put_le(wav, body.size(), 4);
  return wav + body;
}

std::string list_chunk() {
  std::string chunk = "LIST";
  put_le(chunk, 16, 4);
  return chunk + "INFOISFT" + std::string("\x04\0\0\0lmc\0", 8);
}

// Decodes a flac archive; returns the WAV, or the error.
std::string unpack(const std::string& archive) {
  try {
    std::istringstream in(archive);
    ArchiveReader reader(in);
    if (reader.header().mode != ArchiveMode::kFlac) return "(not a flac archive)";
    std::ostringstream out;
    EXPECT_EQ(decode_flac_archive(reader, out), *reader.header().original_size);
    return std::move(out).str();
  } catch (const Error& e) {
    return e.what();
  }
}

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The audio frames of a FLAC stream: what follows its metadata blocks.
std::string flac_frames(const std::string& stream) {
  size_t at = 4;  // "fLaC"
  for (bool last = false; !last && at + 4 <= stream.size();) {
    last = (static_cast<uint8_t>(stream[at]) & 0x80) != 0;
    const size_t length = (size_t{static_cast<uint8_t>(stream[at + 1])} << 16) |
                          (size_t{static_cast<uint8_t>(stream[at + 2])} << 8) | static_cast<uint8_t>(stream[at + 3]);
    at += 4 + length;
  }
  return stream.substr(std::min(at, stream.size()));
}

const std::pair<int, int> kFormats[] = {{8, 1}, {16, 1}, {16, 2}, {24, 2}};  // bits, channels

TEST(FlacArchive, RestoresTheWavAroundItsSamples) {
  for (const auto& [bits, channels] : kFormats) {
    SCOPED_TRACE(std::to_string(bits) + "-bit, " + std::to_string(channels) + " channel(s)");
    const std::string wav = make_wav(bits, channels, 5000, list_chunk());
    const auto archive = flac_archive(wav);
    ASSERT_TRUE(archive);
    EXPECT_TRUE(unpack(*archive) == wav);
    Archive parsed = parse_archive(as_span(*archive));
    ASSERT_EQ(parsed.parts.size(), 3u);
    EXPECT_EQ(parsed.parts[0].size(), data::parse_wav(as_span(wav)).data_offset);
    EXPECT_TRUE(std::string(parsed.parts[2].begin(), parsed.parts[2].end()) == list_chunk());
  }
  const std::string listed_first = make_wav(16, 2, 3000, "", 16000, list_chunk());
  const Archive parsed = parse_archive(as_span(*flac_archive(listed_first)));
  EXPECT_EQ(parsed.parts[0].size(), 44 + list_chunk().size()) << "a chunk before the samples is in the head";
  EXPECT_TRUE(unpack(*flac_archive(listed_first)) == listed_first);
}

// The real flac tool decodes the archive's stream to the WAV's samples, and its own -8 file has the
// same audio frames: only its metadata blocks (a seek table) differ.
TEST(FlacArchive, TheFlacToolReadsItsStream) {
  if (run_command("command -v flac").exit_code != 0) {
    GTEST_SKIP() << "'flac' is not installed: nothing to check against";
  }
  testing::TempDir tmp;
  for (const auto& [bits, channels] : kFormats) {
    SCOPED_TRACE(std::to_string(bits) + "-bit, " + std::to_string(channels) + " channel(s)");
    const std::string wav = make_wav(bits, channels, 5000, list_chunk());
    const Archive parsed = parse_archive(as_span(*flac_archive(wav)));
    const std::string stream(parsed.parts[1].begin(), parsed.parts[1].end());
    write_file(tmp / "s.flac", stream);
    auto d = run_command("flac -d -s -f -o " + (tmp / "s.wav").string() + " " + (tmp / "s.flac").string());
    ASSERT_EQ(d.exit_code, 0) << d.err;
    const std::string decoded = read_file(tmp / "s.wav");
    const data::WavLayout tool_layout = data::parse_wav(as_span(decoded));
    const data::WavLayout layout = data::parse_wav(as_span(wav));
    EXPECT_TRUE(decoded.substr(tool_layout.data_offset, tool_layout.data_size) ==
                wav.substr(layout.data_offset, layout.data_size));
    write_file(tmp / "in.wav", wav);
    auto e = run_command("flac -8 --no-padding -s -f -o " + (tmp / "tool.flac").string() + " " +
                         (tmp / "in.wav").string());
    ASSERT_EQ(e.exit_code, 0) << e.err;
    const std::string tool = read_file(tmp / "tool.flac");
    EXPECT_TRUE(flac_frames(stream) == flac_frames(tool));
    EXPECT_LT(stream.size(), tool.size());
  }
}

TEST(FlacArchive, OnlyPcmWavFlacTakesIsTaken) {
  EXPECT_FALSE(flac_archive("plain text, not a WAV"));
  EXPECT_FALSE(flac_archive(make_wav(16, 1, 0))) << "no samples";
  std::string float_wav = make_wav(16, 1, 100);
  float_wav[20] = 3;  // WAVE_FORMAT_IEEE_FLOAT
  EXPECT_FALSE(flac_archive(float_wav));
  EXPECT_FALSE(flac_archive(make_wav(16, 1, 100, "", 88201))) << "a sample rate outside FLAC's subset";
}

TEST(FlacArchive, RefusesEveryCorruption) {
  const std::string wav = make_wav(16, 1, 3000);
  const std::string archive = *flac_archive(wav);
  auto changed = [&](size_t at, char value) {
    std::string bad = archive;
    bad[at] = value;
    return unpack(bad);
  };
  EXPECT_EQ(changed(3, 10), "archive corrupt: unknown mode 4") << "no flac archives before format 11";
  EXPECT_EQ(changed(5, 0), "archive corrupt: a flac archive without its original size");
  // The original size, 6044, is the varint 0x9c 0x2f.
  EXPECT_EQ(changed(6, static_cast<char>(0x9d)),
            "archive corrupt: the streams decode to 6044 bytes but the header says 6045");
  EXPECT_EQ(changed(6, static_cast<char>(0x9b)),
            "archive corrupt: FLAC: more samples than the archive's header leaves room for (5999 bytes)");
  const std::string error = changed(archive.size() / 2, static_cast<char>(archive[archive.size() / 2] ^ 0x08));
  EXPECT_TRUE(error.starts_with("archive corrupt: ")) << error;
  EXPECT_EQ(changed(archive.size() - 1, static_cast<char>(archive.back() ^ 1)),
            "checksum mismatch: the archive is corrupt");
  EXPECT_EQ(changed(10, static_cast<char>(archive[10] ^ 1)), "checksum mismatch: the archive is corrupt")
      << "a byte of the WAV header";
  for (size_t keep = 4; keep < archive.size(); keep += 97) {
    const std::string truncated = unpack(archive.substr(0, keep));
    EXPECT_TRUE(truncated.starts_with("archive truncated in ")) << keep << " bytes: " << truncated;
  }
}

// Random edits (bytes flipped, replaced, inserted, deleted) of a flac archive: libFLAC's decoder and the
// archive's checks must turn each into lmc::Error or the original WAV, never a crash or another exception.
TEST(FlacArchive, MutatedArchivesFailCleanly) {
  const std::string wav = make_wav(16, 2, 2000, list_chunk());
  const std::string archive = *flac_archive(wav);
  std::mt19937_64 rng(20261125);
  int decoded = 0;
  for (int run = 0; run < 3000; ++run) {
    std::string bytes = archive;
    for (int e = 0, edits = 1 + static_cast<int>(rng() % 3); e < edits && !bytes.empty(); ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8))); break;
        case 1: bytes[at] = static_cast<char>(rng()); break;
        case 2: bytes.insert(at, 1, static_cast<char>(rng())); break;
        default: bytes.erase(at, 1); break;
      }
    }
    try {
      std::istringstream in(bytes);
      ArchiveReader reader(in);
      if (reader.header().mode != ArchiveMode::kFlac) continue;
      std::ostringstream out;
      decode_flac_archive(reader, out);
      EXPECT_TRUE(out.str() == wav) << "run " << run << " decoded to something else";
      ++decoded;
    } catch (const Error&) {
      // refused, as a corrupt archive should be
    } catch (const std::exception& e) {
      FAIL() << "run " << run << ": " << e.what() << " escaped instead of lmc::Error";
    }
  }
  EXPECT_LT(decoded, 30) << "edits nothing checks (padding bits, say) are rare";
}

}  // namespace
}  // namespace lmc
