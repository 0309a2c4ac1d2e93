// `lmc compress` / `lmc decompress` end to end with a real (tiny, random) model: bit-exact round trips
// of the edge cases and real files, the coded size against the model's cross-entropy, the gzip-like file
// handling, and every way an archive can be wrong, each a one-line error that leaves no output behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lmc {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;
using nlohmann::json;
using testing::golden_dir;
using testing::read_file;
using testing::run_lmc;
using testing::write_file;

std::string model_flag() { return " --model " + (golden_dir("cli_models") / "bytes_model").string() + " "; }

// lmc's shipped default model and its held-out sample (models/): real text under a real model.
fs::path shipped(const std::string& name) { return fs::path(testing::setting("LMC_SOURCE_DIR")) / "models" / name; }
std::string default_model_flag() { return " --model " + shipped("default").string() + " "; }

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Compresses `bytes` and decompresses the archive; returns compress's JSON statistics.
json round_trip_once(const std::string& bytes, const std::string& extra, const std::string& model) {
  testing::TempDir tmp;
  write_file(tmp / "in", bytes);
  // One thread unless asked: the model is tiny, and threads only add synchronisation to its small ops.
  const std::string threads = extra.find("--threads") == std::string::npos ? " --threads 1 " : " ";
  auto c = run_lmc("compress -k --json" + model + threads + extra + " -o " + (tmp / "in.lmc").string() + " " +
                   (tmp / "in").string());
  EXPECT_EQ(c.exit_code, 0) << c.err;
  if (c.exit_code != 0) return {};
  auto d = run_lmc("decompress -k" + model + " -o " + (tmp / "out").string() + " " + (tmp / "in.lmc").string());
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(tmp / "out") == bytes) << "round trip differs for " << bytes.size() << " bytes";
  json stats = json::parse(c.out);
  EXPECT_EQ(stats["bytes_out"], fs::file_size(tmp / "in.lmc"));
  EXPECT_EQ(stats["bytes_in"], bytes.size());
  return stats;
}

// Round trips `bytes` twice: with every chunk coded (--no-store: the random test models rarely beat 8
// bits a byte, so otherwise most chunks would be stored and the decoder's model path never run), then
// as a user would; returns the second run's statistics.
json round_trip(const std::string& bytes, const std::string& extra = "", const std::string& model = model_flag()) {
  {
    SCOPED_TRACE("--no-store");
    json coded = round_trip_once(bytes, extra + " --no-store", model);
    if (!coded.is_null()) {
      EXPECT_EQ(coded["stored_chunks"], 0);
    }
  }
  return round_trip_once(bytes, extra, model);
}

TEST(CliCodec, EdgeCasesRoundTripBitExact) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  const std::string invalid_utf8 = "ok \xff\xfe \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 end\r\r\n\0\0"s;
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"empty", ""},
           {"one byte", "x"},
           {"exactly one chunk", std::string(2048, 'a')},
           {"one chunk + 1", random_bytes(2049, 1)},
           {"all byte values", all_bytes},
           {"invalid utf-8", invalid_utf8}}) {
    SCOPED_TRACE(name);
    round_trip(bytes);
  }
}

TEST(CliCodec, OneAndTwoThreadsAndBatchesRoundTrip) {
  const std::string text = random_bytes(1500, 2) + std::string(1500, ' ');
  for (const char* flags : {"--threads 1", "--threads 2", "--threads 2 --batch 1 --chunk-bytes 700", "--mode bytes"}) {
    SCOPED_TRACE(flags);
    round_trip(text, flags);
  }
}

// 20 MB through the whole pipeline: 78,125 chunks in groups of 4096 streams (about 9 minutes on one core,
// most of it the context cache's per-token work on 20M byte tokens). The model is the smallest the step
// kernels take, so the test measures the codec's bookkeeping, not a model's arithmetic.
TEST(CliCodec, TwentyMegabytesRoundTripBitExact) {
  std::string big;
  big.reserve(20'000'000);
  std::mt19937 rng(20);
  while (big.size() < 20'000'000) {
    big += "Section " + std::to_string(rng() % 1000) + ": the cat sat on the mat.\n";
    if (rng() % 64 == 0) big += random_bytes(rng() % 3000, static_cast<uint32_t>(big.size()));
  }
  big.resize(20'000'000);
  testing::TempDir tmp;
  write_file(tmp / "big", big);
  const std::string model = " --model " + (golden_dir("cli_models") / "micro_bytes_model").string() + " ";
  auto c = run_lmc("compress -k --json --threads 1 --batch 4096 --chunk-bytes 256 --no-store" + model + "-o " +
                   (tmp / "big.lmc").string() + " " + (tmp / "big").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json stats = json::parse(c.out);
  EXPECT_EQ(stats["chunks"], 20'000'000 / 256);
  EXPECT_EQ(stats["stored_chunks"], 0);
  auto d = run_lmc("decompress" + model + "-o " + (tmp / "back").string() + " " + (tmp / "big.lmc").string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(tmp / "back") == big) << "the 20 MB round trip differs";
}

// Random bytes cost a model more than 8 bits each: those chunks are stored, so the archive is the input
// plus its header and tables; text and noise in one group (coded and stored streams in lockstep) decode.
TEST(CliCodec, IncompressibleChunksAreStoredNotExpanded) {
  const std::string noise = random_bytes(3 * 2048 + 100, 9);
  json s = round_trip(noise);
  EXPECT_EQ(s["stored_chunks"], 4);
  EXPECT_LE(s["bytes_out"].get<double>(), noise.size() + 64.0) << "header, 4 chunk entries and the end only";
  const std::string text = read_file(shipped("sample.txt"));
  std::string mixed;
  for (int i = 0; i < 3; ++i) mixed += text.substr(i * 512, 512) + random_bytes(512, 10 + i);
  for (const char* flags : {"--chunk-bytes 512 --batch 6", "--chunk-bytes 512 --batch 4 --threads 2"}) {
    SCOPED_TRACE(flags);
    json m = round_trip(mixed, flags, default_model_flag());
    EXPECT_EQ(m["stored_chunks"], 3);
    EXPECT_LT(m["bytes_out"].get<double>(), 3 * 512 + 3 * 512 * 0.5);
  }
}

// The default model on its held-out sample: every chunk coded, and, with the model's tables alone, the
// archive no bigger than the model's cross-entropy plus 0.1% and the header, chunk tables and coder
// flushes. The match model then makes it smaller still.
TEST(CliCodec, CodedSizeIsCrossEntropyPlusSmallOverhead) {
  const std::string text = read_file(shipped("sample.txt"));
  json s = round_trip(text, "--threads 2 --no-match", default_model_flag());
  EXPECT_EQ(s["stored_chunks"], 0);
  const double model_bits = s["model_bits_per_byte"].get<double>() * text.size();
  const double coded_bits = 8.0 * s["bytes_out"].get<double>();
  const double chunks = s["chunks"].get<double>();
  // Header ~25 bytes, ~6 table bytes per chunk, and at most ~2 bytes of coder flush per chunk.
  const double allowed = model_bits * 1.001 + 8.0 * (32 + 8 * chunks);
  EXPECT_LE(coded_bits, allowed) << "model " << model_bits << " bits, coded " << coded_bits;
  EXPECT_GT(coded_bits, model_bits * 0.99) << "coding below the model's cross-entropy is impossible";
  json matched = round_trip(text, "--threads 2", default_model_flag());
  EXPECT_EQ(matched["model_bits_per_byte"], s["model_bits_per_byte"]);
  EXPECT_LT(matched["bytes_out"].get<double>(), s["bytes_out"].get<double>() * 0.99);
}

TEST(CliCodec, ChunksLongerThanTheModelsContextAreRefused) {
  testing::TempDir tmp;
  write_file(tmp / "in", random_bytes(5000, 3));
  auto r = run_lmc("compress -k --mode bytes --chunk-bytes 4096" + model_flag() + "-o " + (tmp / "in.lmc").string() +
                   " " + (tmp / "in").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("4096 tokens is longer than the model's context of 2048 positions"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "in.lmc"));
}

// Without --batch, the tiny model gets 64 streams a group (codec.h's auto_batch); the archive records
// the batch, and decompression takes it from there.
TEST(CliCodec, BatchIsChosenUnlessGiven) {
  testing::TempDir tmp;
  const std::string bytes = random_bytes(5 * 700, 4);
  write_file(tmp / "in", bytes);
  for (const auto& [flags, batch] : std::vector<std::pair<std::string, int>>{
           {"", 64}, {"--batch auto", 64}, {"--batch 3", 3}}) {
    SCOPED_TRACE(flags);
    auto c = run_lmc("compress -k -f --json --threads 1 --chunk-bytes 700 " + flags + model_flag() + "-o " +
                     (tmp / "in.lmc").string() + " " + (tmp / "in").string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(json::parse(c.out)["batch"], batch);
    auto d = run_lmc("decompress -k -f --json" + model_flag() + "-o " + (tmp / "out").string() + " " +
                     (tmp / "in.lmc").string());
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(json::parse(d.out)["batch"], batch);
    EXPECT_TRUE(read_file(tmp / "out") == bytes);
  }
  for (const char* bad : {"0", "65537", "7x", "many"}) {
    SCOPED_TRACE(bad);
    auto r = run_lmc("compress -k --batch "s + bad + model_flag() + "-o " + (tmp / "bad.lmc").string() + " " +
                     (tmp / "in").string());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "lmc compress: error: --batch: expected auto or a number of chunks in 1..65536, got '"s + bad +
                         "'\n");
    EXPECT_FALSE(fs::exists(tmp / "bad.lmc"));
  }
}

TEST(CliCodec, GzipLikeFileHandling) {
  testing::TempDir tmp;
  const std::string bytes = "hello, world\n";
  write_file(tmp / "a.txt", bytes);
  auto c = run_lmc("compress" + model_flag() + (tmp / "a.txt").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_FALSE(fs::exists(tmp / "a.txt")) << "input removed without -k, like gzip";
  ASSERT_TRUE(fs::exists(tmp / "a.txt.lmc"));
  auto d = run_lmc("decompress -k" + model_flag() + (tmp / "a.txt.lmc").string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(read_file(tmp / "a.txt"), bytes);
  EXPECT_TRUE(fs::exists(tmp / "a.txt.lmc"));

  // Never overwrite without -f; the existing file stays as it was.
  write_file(tmp / "b.txt", "other");
  write_file(tmp / "b.txt.lmc", "precious");
  auto refused = run_lmc("compress -k" + model_flag() + (tmp / "b.txt").string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("already exists (use -f"), std::string::npos) << refused.err;
  EXPECT_EQ(read_file(tmp / "b.txt.lmc"), "precious");
  EXPECT_EQ(run_lmc("compress -k -f" + model_flag() + (tmp / "b.txt").string()).exit_code, 0);
  EXPECT_NE(read_file(tmp / "b.txt.lmc"), "precious");

  // stdin to stdout and back.
  const std::string lmc = testing::setting("LMC_BIN");
  auto piped = testing::run_command("printf 'piped bytes' | " + lmc + " compress" + model_flag() + "- | " + lmc +
                                    " decompress" + model_flag() + "-");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "piped bytes");

  auto no_suffix = run_lmc("decompress" + model_flag() + (tmp / "b.txt").string());
  EXPECT_NE(no_suffix.err.find("does not end in .lmc"), std::string::npos) << no_suffix.err;
}

class BadArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(tmp_ / "in", random_bytes(3000, 3));
    auto c = run_lmc("compress -k --threads 1 --no-store" + model_flag() + (tmp_ / "in").string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    archive_ = read_file(tmp_ / "in.lmc");
  }
  // Decompresses `archive` and expects a one-line error containing `needle` and no output file.
  void expect_refused(const std::string& archive, const std::string& needle, const std::string& model = "") {
    write_file(tmp_ / "bad.lmc", archive);
    auto r = run_lmc("decompress" + (model.empty() ? model_flag() : " --model " + model + " ") +
                     (tmp_ / "bad.lmc").string());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.err.rfind("lmc decompress: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(tmp_ / "bad")) << "no output may be left behind";
    for (const auto& entry : fs::directory_iterator(tmp_.path())) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << "temp file left behind";
    }
  }
  testing::TempDir tmp_;
  std::string archive_;
};

TEST_F(BadArchive, NotAnArchive) { expect_refused("hello world, not an archive", "not an lmc archive"); }

TEST_F(BadArchive, Truncated) {
  expect_refused(archive_.substr(0, 2), "not an lmc archive");
  for (size_t keep : {size_t{10}, archive_.size() / 2, archive_.size() - 1}) {
    SCOPED_TRACE(keep);
    expect_refused(archive_.substr(0, keep), "truncated");
  }
}

TEST_F(BadArchive, NewerFormatVersion) {
  std::string newer = archive_;
  newer[3] = static_cast<char>(newer[3] + 1);
  expect_refused(newer, "newer than this lmc");
}

TEST_F(BadArchive, OlderFormatVersion) {
  std::string older = archive_;
  older[3] = 1;
  expect_refused(older, "written by an older lmc");
}

// Version 2 is version 3 without the match model and its flag: such an archive still decompresses,
// and the same bytes read as coded with the match model do not. Versions 3 to 8 differ from 9 only in
// audio archives and (3 and 4) in the context cache, which runs with the match model, so a text archive
// coded without it and labelled 3 to 8 decodes too; with the match model, one labelled 5 to 8 decodes
// and one labelled 4 does not.
TEST_F(BadArchive, VersionTwoIsReadAsCodedWithoutTheMatchModel) {
  const fs::path in = tmp_ / "in", archive = tmp_ / "no_match.lmc", out = tmp_ / "out";
  auto c = run_lmc("compress -k --threads 1 --no-store --no-match" + model_flag() + "-o " + archive.string() + " " +
                   in.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::string version2 = read_file(archive);
  ASSERT_EQ(version2[3], 9);
  ASSERT_EQ(version2[5] & 2, 2) << "flags byte: bit 1 marks --no-match";
  version2[3] = 2;
  version2[5] = static_cast<char>(version2[5] & ~2);
  write_file(tmp_ / "v2.lmc", version2);
  auto d = run_lmc("decompress -k" + model_flag() + "-o " + out.string() + " " + (tmp_ / "v2.lmc").string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(out) == read_file(in));
  std::string with_match = version2;
  with_match[3] = 3;
  expect_refused(with_match, "corrupt");
  for (const char version : {3, 4, 5, 6, 7, 8}) {
    std::string older = read_file(archive);
    older[3] = version;
    write_file(tmp_ / "older.lmc", older);
    auto d3 = run_lmc("decompress -k -f" + model_flag() + "-o " + out.string() + " " + (tmp_ / "older.lmc").string());
    ASSERT_EQ(d3.exit_code, 0) << d3.err;
    EXPECT_TRUE(read_file(out) == read_file(in));
  }
  const fs::path cached = tmp_ / "cached.lmc";
  auto m = run_lmc("compress -k --threads 1 --no-store" + model_flag() + "-o " + cached.string() + " " + in.string());
  ASSERT_EQ(m.exit_code, 0) << m.err;
  std::string with_cache = read_file(cached);
  ASSERT_EQ(with_cache[3], 9);
  for (const char version : {5, 6, 7, 8}) {
    with_cache[3] = version;
    write_file(tmp_ / "older_cached.lmc", with_cache);
    auto d5 = run_lmc("decompress -k -f" + model_flag() + "-o " + out.string() + " " +
                      (tmp_ / "older_cached.lmc").string());
    ASSERT_EQ(d5.exit_code, 0) << d5.err;
    EXPECT_TRUE(read_file(out) == read_file(in));
  }
  std::string version4 = with_cache;
  version4[3] = 4;
  expect_refused(version4, "corrupt");
}

TEST_F(BadArchive, WrongModel) {
  // The same weights under a different config are a different model: the fingerprint covers both.
  fs::copy(golden_dir("cli_models") / "bytes_model", tmp_ / "other_model", fs::copy_options::recursive);
  json config = json::parse(read_file(tmp_ / "other_model" / "config.json"));
  config["rms_norm_eps"] = 1e-5;
  write_file(tmp_ / "other_model" / "config.json", config.dump());
  expect_refused(archive_, "another model", (tmp_ / "other_model").string());
}

TEST_F(BadArchive, CorruptPayloadIsDetected) {
  std::string corrupt = archive_;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  expect_refused(corrupt, "corrupt");
}

TEST_F(BadArchive, RandomMutationsNeverCrash) {
  std::mt19937 rng(4);
  for (int i = 0; i < 40; ++i) {
    std::string mutated = archive_;
    for (int k = 0; k < 1 + int(rng() % 4); ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    write_file(tmp_ / "m.lmc", mutated);
    auto r = run_lmc("decompress -o " + (tmp_ / "m.out").string() + model_flag() + (tmp_ / "m.lmc").string());
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "crashed with " << r.exit_code << ": " << r.err;
    if (r.exit_code == 0) {
      EXPECT_EQ(read_file(tmp_ / "m.out"), read_file(tmp_ / "in")) << "a mutation decoded to other bytes";
    }
    fs::remove(tmp_ / "m.out");
  }
}

}  // namespace
}  // namespace lmc

namespace lmc {
namespace {

// Writes a WAV with Python's `wave` module (an independent writer): a sine with noise, or in its first
// `loud_frames` frames full-scale noise.
void write_wav(const fs::path& path, int bits, int channels, int frames, int loud_frames = 0) {
  const std::string script =
      "import math, random, struct, sys, wave\n"
      "bits, ch, n, loud = " + std::to_string(bits) + ", " + std::to_string(channels) + ", " + std::to_string(frames) +
      ", " + std::to_string(loud_frames) + "\n"
      "random.seed(bits * 10 + ch)\n"
      "w = wave.open(sys.argv[1], 'wb'); w.setnchannels(ch); w.setsampwidth(bits // 8); w.setframerate(16000)\n"
      "peak = (1 << (bits - 1)) - 1\n"
      "out = bytearray()\n"
      "for i in range(n):\n"
      "    for c in range(ch):\n"
      "        v = int(peak * 0.5 * math.sin(i * 0.05 * (c + 1))) + random.randint(-50, 50)\n"
      "        if i < loud: v = random.randint(-peak - 1, peak)\n"
      "        if bits == 8: out += bytes([(v >> 0) + 128 & 255])\n"
      "        else: out += (v & ((1 << bits) - 1)).to_bytes(bits // 8, 'little')\n"
      "w.writeframes(bytes(out)); w.close()\n";
  write_file(path.string() + ".py", script);
  auto r = testing::run_command(testing::setting("LMC_PYTHON") + " " + path.string() + ".py " + path.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliCodecAudio, PcmWavRoundTripsInAudioMode) {
  testing::TempDir tmp;
  for (int bits : {8, 16, 24}) {
    for (int channels : {1, 2}) {
      SCOPED_TRACE(std::to_string(bits) + "-bit, " + std::to_string(channels) + " channel(s)");
      fs::path wav = tmp / (std::to_string(bits) + "bit_" + std::to_string(channels) + "ch.wav");
      write_wav(wav, bits, channels, 1500);
      json stats = round_trip(read_file(wav));
      EXPECT_EQ(stats["mode"], "audio");
    }
  }
}

// Chunks of 1001 bytes hold no whole 16-bit frames, so formats 8 and 9 code their low bits apart, as
// format 7 did: by mixing predictions from the neighbouring samples. Format 6 used one table of their contexts,
// format 4 contexts that see the symbols, format 3 bit-history contexts: the same archive labelled 7, 6,
// 5 or 3 is read with that version's contexts and blob layout, so its low bits do not decode.
TEST(CliCodecAudio, LowBitContextsFollowTheFormatVersion) {
  testing::TempDir tmp;
  write_wav(tmp / "a.wav", 16, 1, 1500);
  // Without the match model, format 9 differs from formats 3 to 7 in the low bits alone.
  auto c = run_lmc("compress -k --no-match --threads 1 --chunk-bytes 1001" + model_flag() + "-o " +
                   (tmp / "a.lmc").string() + " " + (tmp / "a.wav").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string archive = read_file(tmp / "a.lmc");
  ASSERT_EQ(archive[3], 9);
  for (const char version : {7, 6, 5, 3}) {
    SCOPED_TRACE(int{version});
    std::string older = archive;
    older[3] = version;
    write_file(tmp / "older.lmc", older);
    auto d = run_lmc("decompress" + model_flag() + "-o " + (tmp / "out").string() + " " + (tmp / "older.lmc").string());
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_EQ(d.err, "lmc decompress: error: archive corrupt in the audio's low bits: coded bit stream is truncated or "
                     "corrupt\n");
    EXPECT_FALSE(fs::exists(tmp / "out"));
  }
}

// Format 8: 16-bit PCM in chunks of whole frames, under a byte-level model, is coded with the PCM model
// (codec/pcm_model.h), each sample's bits inside its chunk. On a sine with a little noise, which the
// tiny random model cannot predict, that archive is far smaller than with the bits coded apart.
TEST(CliCodecAudio, Pcm16IsCodedWithThePcmModel) {
  testing::TempDir tmp;
  for (int channels : {1, 2}) {
    SCOPED_TRACE(std::to_string(channels) + " channel(s)");
    write_wav(tmp / "a.wav", 16, channels, 6000);
    const std::string wav = read_file(tmp / "a.wav");
    const double with_pcm_model = round_trip(wav, "--chunk-bytes 2048")["bytes_out"].get<double>();
    const double apart = round_trip(wav, "--chunk-bytes 2047")["bytes_out"].get<double>();
    EXPECT_LT(with_pcm_model, 0.6 * apart);
  }
}

// Format 9 predicts a second channel from the first channel's residuals too, format 8 did not: a stereo
// archive labelled 8 does not decode, a mono one (which has no second channel) does.
TEST(CliCodecAudio, CrossChannelPredictionFollowsTheFormatVersion) {
  testing::TempDir tmp;
  for (int channels : {1, 2}) {
    SCOPED_TRACE(std::to_string(channels) + " channel(s)");
    write_wav(tmp / "a.wav", 16, channels, 3000);
    auto c = run_lmc("compress -k -f --threads 1" + model_flag() + "-o " + (tmp / "a.lmc").string() + " " +
                     (tmp / "a.wav").string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    std::string archive = read_file(tmp / "a.lmc");
    ASSERT_EQ(archive[3], 9);
    archive[3] = 8;
    write_file(tmp / "v8.lmc", archive);
    auto d = run_lmc("decompress -f" + model_flag() + "-o " + (tmp / "out").string() + " " + (tmp / "v8.lmc").string());
    if (channels == 1) {
      ASSERT_EQ(d.exit_code, 0) << d.err;
      EXPECT_TRUE(read_file(tmp / "out") == read_file(tmp / "a.wav"));
    } else {
      EXPECT_EQ(d.exit_code, 1);
      EXPECT_FALSE(fs::exists(tmp / "out"));
    }
    fs::remove(tmp / "out");
  }
}

// Full-scale noise cannot be coded smaller than it is: its chunks are stored, as their PCM bytes, and
// the quiet chunks beside them in the group are coded. With the match model, the stored chunks still run
// through it in the decoder as in the encoder, PCM model included.
TEST(CliCodecAudio, StoredPcmChunksRoundTrip) {
  testing::TempDir tmp;
  write_wav(tmp / "a.wav", 16, 2, 6000, 2000);
  const std::string wav = read_file(tmp / "a.wav");
  for (const std::string flags : {"", "--match", "--match --batch 3"}) {
    SCOPED_TRACE(flags);
    json stats = round_trip_once(wav, flags, model_flag());
    EXPECT_GE(stats["stored_chunks"].get<int>(), 3);
    EXPECT_LT(stats["stored_chunks"].get<int>(), stats["chunks"].get<int>());
    EXPECT_LT(stats["bytes_out"].get<double>(), 2000 * 4 + 0.55 * 4000 * 4);
  }
}

// Corrupt format-8 audio archives are refused with exit status 1 (or, where the damage misses what is
// read, decode exactly), never crash: coded and stored chunks, with and without the match model (with
// it, the decoder refits the stored chunks' coefficients).
TEST(CliCodecAudio, CorruptPcmArchivesAreRefused) {
  testing::TempDir tmp;
  write_wav(tmp / "a.wav", 16, 2, 3000, 1000);
  const std::string wav = read_file(tmp / "a.wav");
  std::mt19937 rng(8);
  for (const std::string flags : {"", " --match"}) {
    SCOPED_TRACE(flags);
    auto c = run_lmc("compress -k -f --threads 1" + flags + model_flag() + "-o " + (tmp / "a.lmc").string() + " " +
                     (tmp / "a.wav").string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    const std::string archive = read_file(tmp / "a.lmc");
    for (int i = 0; i < 15; ++i) {
      std::string mutated = archive;
      for (int k = 0; k < 1 + int(rng() % 3); ++k) mutated[60 + rng() % (mutated.size() - 60)] = static_cast<char>(rng());
      write_file(tmp / "m.lmc", mutated);
      auto r = run_lmc("decompress -f -o " + (tmp / "m.out").string() + model_flag() + (tmp / "m.lmc").string());
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "crashed with " << r.exit_code << ": " << r.err;
      if (r.exit_code == 0) {
        EXPECT_TRUE(read_file(tmp / "m.out") == wav) << "a mutation decoded to other bytes";
      }
      fs::remove(tmp / "m.out");
    }
  }
}

// Audio-as-string seldom repeats, so audio is coded without the match model unless --match asks for
// it; the archive's flags say which (bit 1: without), and both decode.
TEST(CliCodecAudio, MatchModelIsOffForAudioUnlessAsked) {
  testing::TempDir tmp;
  write_wav(tmp / "a.wav", 16, 1, 1500);
  for (const std::string flag : {"", " --match", " --no-match"}) {
    SCOPED_TRACE(flag);
    const fs::path archive = tmp / "a.lmc", out = tmp / "out";
    auto c = run_lmc("compress -k -f --threads 1" + flag + model_flag() + "-o " + archive.string() + " " +
                     (tmp / "a.wav").string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(read_file(archive)[5] & 2, flag == " --match" ? 0 : 2);
    auto d = run_lmc("decompress -k -f" + model_flag() + "-o " + out.string() + " " + archive.string());
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_TRUE(read_file(out) == read_file(tmp / "a.wav"));
  }
  write_file(tmp / "t.txt", "text repeats, text repeats, text repeats");
  auto t = run_lmc("compress -k --threads 1" + model_flag() + "-o " + (tmp / "t.lmc").string() + " " +
                   (tmp / "t.txt").string());
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(read_file(tmp / "t.lmc")[5] & 2, 0);
  auto both = run_lmc("compress -k --match --no-match" + model_flag() + (tmp / "t.txt").string());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--match"), std::string::npos) << both.err;
}

TEST(CliCodecAudio, NonPcmWavFallsBackToBytes) {
  // A well-formed IEEE-float WAV (format tag 3): not integer PCM, so audio mode must not claim it.
  std::string fmt = "fmt "s + std::string("\x10\0\0\0\x03\0\x01\0\x80\x3e\0\0\0\xfa\0\0\x04\0\x20\0", 20);
  std::string data = "data"s + std::string("\x10\0\0\0", 4) + std::string(16, '\x3f');
  std::string riff_size(4, '\0');
  const uint32_t size = static_cast<uint32_t>(4 + fmt.size() + data.size());
  for (int i = 0; i < 4; ++i) riff_size[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  const std::string wav = "RIFF" + riff_size + "WAVE" + fmt + data;
  EXPECT_EQ(round_trip(wav, "--mode audio")["mode"], "bytes");
  EXPECT_EQ(round_trip(wav)["mode"], "text");
}

// With no --model, a WAV file goes to the shipped audio model and anything else to the default model;
// decompression without --model finds the shipped model whose fingerprint the archive records, so
// every archive below comes back without naming its model. Two different tiny models play both parts.
TEST(CliCodecAudio, ShippedModelIsChosenForTheInput) {
  testing::TempDir tmp;
  const fs::path shelf = tmp / "models";
  fs::create_directories(shelf / "adapters");
  fs::copy(golden_dir("cli_models") / "micro_bytes_model", shelf / "default", fs::copy_options::recursive);
  fs::copy(golden_dir("cli_models") / "bytes_model", shelf / "audio", fs::copy_options::recursive);
  write_wav(tmp / "a.wav", 16, 1, 1500);
  write_file(tmp / "a.txt", "plain text, not audio\n");
  auto lmc = [&](const std::string& args) {
    return testing::run_command("LMC_MODELS_DIR=" + shelf.string() + " " + testing::setting("LMC_BIN") +
                                " " + args + " 2>&1");
  };
  // Which model made an archive: only that one (named by path) decompresses it.
  auto made_with = [&](const fs::path& archive) {
    std::string found;
    for (const char* name : {"default", "audio"}) {
      auto r = run_lmc("decompress -k -f --model " + (shelf / name).string() + " -o " + (tmp / "probe").string() +
                       " " + archive.string());
      if (r.exit_code == 0) found += name;
    }
    return found;
  };
  for (const auto& [input, flags, model] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"a.wav", "", "audio"}, {"a.wav", "--mode bytes", "default"}, {"a.wav", "--model default", "default"},
           {"a.txt", "", "default"}}) {
    SCOPED_TRACE(input + " " + flags);
    const fs::path archive = tmp / (input + ".lmc");
    auto c = lmc("compress -k -f --threads 1 --no-store " + flags + " " + (tmp / input).string());
    ASSERT_EQ(c.exit_code, 0) << c.out;
    EXPECT_EQ(made_with(archive), model);
    auto d = lmc("decompress -f -o " + (tmp / "back").string() + " " + archive.string());
    ASSERT_EQ(d.exit_code, 0) << d.out;
    EXPECT_TRUE(read_file(tmp / "back") == read_file(tmp / input));
  }
}

TEST(CliCodecShared, RealFilesOfEveryKindRoundTrip) {
  auto shared = testing::shared_data();
  if (!shared) GTEST_SKIP() << "../shared/data is absent: real-file round trips skipped";
  const std::vector<fs::path> texts = {
      *shared / "text/general/Austen/Emma.txt", *shared / "text/legal/uk_judgments/2020-ewca-1-civ.xml",
      *shared / "text/legal/us_laws/113publ44-uslm.xml", *shared / "text/medical/9_CDC_QA.tar",
      *shared / "text/medical/pubmedqa/ori_pqal.json"};
  for (const auto& path : texts) {
    for (const char* threads : {"--threads 1", "--threads 2"}) {
      SCOPED_TRACE(path.string() + " " + threads);
      round_trip(read_file(path).substr(0, 20000), threads);
    }
  }
  // LibriSpeech FLAC decoded by the reference `flac` tool into a WAV (first half second).
  testing::TempDir tmp;
  auto decoded = testing::run_command("flac -s -d --until=0:00.5 -o " + (tmp / "a.wav").string() + " " +
                                      (*shared / "audio/librispeech_test/1688-142285-0000.flac").string());
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  for (const char* threads : {"--threads 1", "--threads 2"}) {
    SCOPED_TRACE(threads);
    EXPECT_EQ(round_trip(read_file(tmp / "a.wav"), threads)["mode"], "audio");
  }
}

}  // namespace
}  // namespace lmc
