// `lmc compress` / `lmc decompress` end to end with a real (tiny, random) model: bit-exact round trips
// of the edge cases and real files, the coded size against the model's cross-entropy, the gzip-like file
// handling, and every way an archive can be wrong, each a one-line error that leaves no output behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cli_round_trip.h"
#include "test_util.h"

namespace lmc {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;
using nlohmann::json;
using testing::golden_dir;
using testing::model_flag;
using testing::random_bytes;
using testing::random_letters;
using testing::read_file;
using testing::round_trip;
using testing::run_lmc;
using testing::write_file;

// lmc's shipped default model and its held-out sample (models/): real text under a real model.
fs::path shipped(const std::string& name) { return fs::path(testing::setting("LMC_SOURCE_DIR")) / "models" / name; }
std::string default_model_flag() { return " --model " + shipped("default").string() + " "; }

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
  json s = round_trip(noise, "--model-only");
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

// Chunks that are mostly not text (codec/set_aside.h) are stored without the model running on them:
// text, binary and random letters code the tokens of the text and the letters alone, and decode exactly
// with the stored letters still run in lockstep. The same archive labelled 12, whose reader runs every
// chunk through the model, does not decode.
TEST(CliCodec, BinaryChunksBypassTheModel) {
  const std::string text = read_file(shipped("sample.txt"));
  std::string mixed, without_binary;
  for (uint32_t i = 0; i < 3; ++i) {
    const std::string piece = text.substr(i * 512, 512), letters = random_letters(512, 30 + i);
    mixed += piece + random_bytes(512, 20 + i) + letters;
    without_binary += piece + letters;
  }
  const std::string flags = "--chunk-bytes 512 --batch 9 --threads 2 --model-only";
  const json m = round_trip(mixed, flags, default_model_flag());
  const json t = round_trip(without_binary, flags, default_model_flag());
  EXPECT_EQ(m["tokens"], t["tokens"]) << "the binary chunks must add no tokens";
  EXPECT_GT(m["stored_chunks"].get<int>(), 3) << "some letters stored beside the binary";
  EXPECT_EQ(m["bypassed_chunks"], 3);
  EXPECT_EQ(m["bypassed_bytes"], 3 * 512);
  EXPECT_EQ(t["bypassed_chunks"], 0);
  // A group of binary alone (no model step at all) before groups of text, and bytes mode.
  const std::string binary_first = random_bytes(3 * 512, 40) + without_binary;
  EXPECT_EQ(round_trip(binary_first, "--chunk-bytes 512 --batch 3 --model-only", default_model_flag())["bypassed_chunks"], 3);
  EXPECT_EQ(round_trip(mixed, flags + " --mode bytes", default_model_flag())["bypassed_chunks"], 3);

  testing::TempDir tmp;
  write_file(tmp / "mixed", mixed);
  auto c = run_lmc("compress -k " + flags + default_model_flag() + (tmp / "mixed").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::string relabelled = read_file(tmp / "mixed.lmc");
  ASSERT_EQ(relabelled[3], 13);
  relabelled[3] = 12;
  write_file(tmp / "v12.lmc", relabelled);
  auto d = run_lmc("decompress" + default_model_flag() + (tmp / "v12.lmc").string());
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(d.err.find("corrupt"), std::string::npos) << d.err;
}

// Stored chunks that xz shrinks are packed into one xz stream per group: 2 KB of noise four times over
// costs about one copy, where storing each chunk as it is would cost all four.
TEST(CliCodec, StoredChunksArePackedWithXz) {
  const std::string noise = random_bytes(2048, 21);
  const std::string repeated = noise + noise + noise + noise;
  json s = round_trip(repeated, "--model-only");
  EXPECT_EQ(s["stored_chunks"], 4);
  EXPECT_LT(s["bytes_out"].get<double>(), 2048 + 300.0);
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

// Text: a binary chunk never reaches the model, whatever its length.
TEST(CliCodec, ChunksLongerThanTheModelsContextAreRefused) {
  testing::TempDir tmp;
  write_file(tmp / "in", random_letters(5000, 3));
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
  for (const char* command : {" compress", " decompress"}) {
    auto closed = testing::run_command(lmc + command + model_flag() + "- <&- > " + (tmp / "closed").string());
    EXPECT_NE(closed.exit_code, 0) << command;
    EXPECT_NE(closed.err.find("standard input is closed"), std::string::npos) << closed.err;
  }

  // --json prints to stdout, so neither the archive nor the restored file may go there.
  for (const std::string command : {"compress -k --json", "decompress -k --json"}) {
    auto to_stdout = run_lmc(command + model_flag() + "-o - " + (tmp / "a.txt.lmc").string());
    EXPECT_NE(to_stdout.exit_code, 0) << command;
    EXPECT_NE(to_stdout.err.find("--json prints to stdout"), std::string::npos) << to_stdout.err;
    EXPECT_TRUE(to_stdout.out.empty()) << command;
  }

  auto no_suffix = run_lmc("decompress" + model_flag() + (tmp / "b.txt").string());
  EXPECT_NE(no_suffix.err.find("does not end in .lmc"), std::string::npos) << no_suffix.err;

  // decompress --json: the archive's bytes in, the restored bytes out.
  auto stats = run_lmc("decompress -k -f --json" + model_flag() + "-o " + (tmp / "a.out").string() + " " +
                       (tmp / "a.txt.lmc").string());
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(json::parse(stats.out)["bytes_in"], fs::file_size(tmp / "a.txt.lmc"));
  EXPECT_EQ(json::parse(stats.out)["bytes_out"], bytes.size());
}

// An output that is a FIFO (or a device: /dev/null) is written into, never replaced by a regular file,
// and the input is kept, with or without -f.
TEST(CliCodec, DeviceAndFifoOutputsAreWrittenIntoNotReplaced) {
  testing::TempDir tmp;
  write_file(tmp / "a.txt", "into a pipe\n");
  ASSERT_EQ(run_lmc("compress -k" + model_flag() + (tmp / "a.txt").string()).exit_code, 0);
  const std::string lmc = testing::setting("LMC_BIN");
  for (const char* force : {"", " -f"}) {
    SCOPED_TRACE(force);
    fs::remove(tmp / "fifo");
    ASSERT_EQ(testing::run_command("mkfifo " + (tmp / "fifo").string()).exit_code, 0);
    auto r = testing::run_command("cat " + (tmp / "fifo").string() + " > " + (tmp / "got").string() + " & " + lmc +
                                  " decompress" + force + model_flag() + "-o " + (tmp / "fifo").string() + " " +
                                  (tmp / "a.txt.lmc").string() + "; status=$?; wait; exit $status");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(tmp / "got"), "into a pipe\n");
    EXPECT_TRUE(fs::is_fifo(tmp / "fifo"));
    EXPECT_TRUE(fs::exists(tmp / "a.txt.lmc")) << "the input is kept";
  }
  // A symbolic link (/dev/stdout is one) is written through, never replaced; to a file, only with -f.
  write_file(tmp / "target", "precious");
  fs::create_symlink(tmp / "target", tmp / "link");
  auto refused = run_lmc("decompress" + model_flag() + "-o " + (tmp / "link").string() + " " + (tmp / "a.txt.lmc").string());
  EXPECT_NE(refused.err.find("already exists (use -f"), std::string::npos) << refused.err;
  EXPECT_EQ(read_file(tmp / "target"), "precious");
  auto through = run_lmc("decompress -f" + model_flag() + "-o " + (tmp / "link").string() + " " +
                         (tmp / "a.txt.lmc").string());
  ASSERT_EQ(through.exit_code, 0) << through.err;
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
  EXPECT_EQ(read_file(tmp / "target"), "into a pipe\n");
  EXPECT_TRUE(fs::exists(tmp / "a.txt.lmc"));
}

// Waits until `dir` holds a file whose name contains `part` (at most 60 s).
bool appears(const fs::path& dir, const std::string& part) {
  for (int i = 0; i < 600; ++i) {
    for (const auto& name : testing::listing(dir)) {
      if (name.find(part) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Interrupted while writing, lmc removes its temporary output and dies of the signal; a signal it was
// started ignoring (nohup) stays ignored, and the run completes.
TEST(CliCodec, AnInterruptLeavesNoTemporaryFile) {
  testing::TempDir tmp, logs;
  std::string text = read_file(shipped("sample.txt"));
  while (text.size() < 400'000) text += text;
  write_file(tmp / "big.txt", text);
  const std::vector<std::string> compress_big = {"compress", "-k", "--threads", "1", "--model",
                                                 shipped("default").string(), (tmp / "big.txt").string()};
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    SCOPED_TRACE(signal);
    const testing::Child child = testing::spawn_lmc(compress_big, {}, logs.path(), "big");
    ASSERT_TRUE(appears(tmp.path(), "big.txt.lmc.tmp-"));
    kill(child.pid, signal);
    EXPECT_EQ(testing::wait_child(child), 128 + signal) << read_file(child.stderr_path);
    EXPECT_EQ(testing::listing(tmp.path()), std::vector<std::string>{"big.txt"});
  }
  write_file(tmp / "small.txt", text.substr(0, 20'000));
  const testing::Child child = testing::spawn_lmc({"compress", "-k", "--threads", "1", "--model-only", "--model",
                                                   shipped("default").string(), (tmp / "small.txt").string()},
                                                  {}, logs.path(), "small", {SIGHUP});
  ASSERT_TRUE(appears(tmp.path(), "small.txt.lmc.tmp-"));
  kill(child.pid, SIGHUP);
  EXPECT_EQ(testing::wait_child(child), 0) << read_file(child.stderr_path);
  EXPECT_TRUE(fs::exists(tmp / "small.txt.lmc"));
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

TEST_F(BadArchive, NotAnArchive) { expect_refused("hello world, not an archive", "bad.lmc: not an lmc archive"); }

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
// and the same bytes read as coded with the match model do not. Versions 3 to 12 differ from 13 only in
// audio, xz, packed stored chunks and chunks that bypass the model (none here: --no-store) and (3 and 4)
// in the context cache, which runs with the match model, so a text archive coded without it and labelled
// 3 to 12 decodes too; with the match model, one labelled 5 to 12 decodes and one labelled 4 does not.
TEST_F(BadArchive, VersionTwoIsReadAsCodedWithoutTheMatchModel) {
  const fs::path in = tmp_ / "in", archive = tmp_ / "no_match.lmc", out = tmp_ / "out";
  auto c = run_lmc("compress -k --threads 1 --no-store --no-match" + model_flag() + "-o " + archive.string() + " " +
                   in.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::string version2 = read_file(archive);
  ASSERT_EQ(version2[3], 13);
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
  for (const char version : {3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
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
  ASSERT_EQ(with_cache[3], 13);
  for (const char version : {5, 6, 7, 8, 9, 10, 11, 12}) {
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

// Another dtype is named as such, not as another model (the fingerprint covers the weights' dtype too).
TEST_F(BadArchive, AnotherDtypeSaysWhichToUse) {
  auto c = run_lmc("compress -k -f --threads 1 --no-store --dtype bf16" + model_flag() + "-o " +
                   (tmp_ / "bf16.lmc").string() + " " + (tmp_ / "in").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  expect_refused(read_file(tmp_ / "bf16.lmc"), "made with the model in bf16, it is loaded in fp32 (use --dtype bf16)");
}

TEST_F(BadArchive, CorruptPayloadIsDetected) {
  std::string corrupt = archive_;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  expect_refused(corrupt, "corrupt");
}

// Every chunk coded (the fixture's archive), and text with binary in groups of four, whose stored chunks a
// mutation can turn from bypassing the model to running through it, or back.
TEST_F(BadArchive, RandomMutationsNeverCrash) {
  const std::string mixed = random_letters(700, 5) + random_bytes(600, 6) + random_letters(500, 7) + random_bytes(300, 8);
  write_file(tmp_ / "mixed", mixed);
  auto c = run_lmc("compress -k --json --model-only --chunk-bytes 256 --batch 4" + model_flag() + (tmp_ / "mixed").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json stats = json::parse(c.out);
  ASSERT_GE(stats["bypassed_chunks"].get<int>(), 3);
  ASSERT_GT(stats["stored_chunks"], stats["bypassed_chunks"]) << "letters stored too, run through the model";
  std::mt19937 rng(4);
  for (const auto& [archive, original] : {std::pair{archive_, read_file(tmp_ / "in")},
                                          std::pair{read_file(tmp_ / "mixed.lmc"), mixed}}) {
    for (int i = 0; i < 40; ++i) {
      std::string mutated = archive;
      for (int k = 0; k < 1 + int(rng() % 4); ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
      write_file(tmp_ / "m.lmc", mutated);
      auto r = run_lmc("decompress -o " + (tmp_ / "m.out").string() + model_flag() + (tmp_ / "m.lmc").string());
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "crashed with " << r.exit_code << ": " << r.err;
      if (r.exit_code == 0) {
        EXPECT_EQ(read_file(tmp_ / "m.out"), original) << "a mutation decoded to other bytes";
      }
      fs::remove(tmp_ / "m.out");
    }
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
    EXPECT_EQ(round_trip(read_file(tmp / "a.wav"), threads + " --model-only"s)["mode"], "audio");
  }
}

}  // namespace
}  // namespace lmc
