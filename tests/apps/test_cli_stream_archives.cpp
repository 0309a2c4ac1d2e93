// `lmc compress` keeps xz -9e's stream, or for a WAV flac -8's, when it is smaller than the model's
// archive: the choice, the archive's size against the real tools, its stream read back by them, decoding
// without the model, and the cases that keep the model's archive (--model-only, --no-store, stdin).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli_round_trip.h"
#include "test_util.h"

namespace lmc {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::model_flag;
using testing::read_file;
using testing::random_bytes;
using testing::run_command;
using testing::run_lmc;
using testing::write_file;
using testing::write_wav;

size_t varint_size(uint64_t value) {
  size_t n = 1;
  for (; value >= 0x80; value >>= 7) ++n;
  return n;
}

class CliStreamArchive : public ::testing::Test {
 protected:
  // Compresses `bytes` from a file with `flags`; returns the JSON statistics (the archive is tmp_/in.lmc).
  json compress(const std::string& bytes, const std::string& flags) {
    write_file(tmp_ / "in", bytes);
    return compress_in(flags);
  }
  json compress_in(const std::string& flags) {
    auto c = run_lmc("compress -k -f --json --threads 1 " + flags + model_flag() + "-o " + archive().string() + " " +
                     (tmp_ / "in").string());
    EXPECT_EQ(c.exit_code, 0) << c.err;
    return c.exit_code == 0 ? json::parse(c.out) : json{};
  }
  std::string xz_tool(const std::string& bytes) {
    write_file(tmp_ / "plain", bytes);
    auto r = run_command("xz -9e -T1 -c " + (tmp_ / "plain").string() + " > " + (tmp_ / "plain.xz").string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_file(tmp_ / "plain.xz");
  }
  fs::path archive() const { return tmp_ / "in.lmc"; }
  testing::TempDir tmp_;
};

// Random bytes said three times: the model, here without the match model, sees each 2048-byte chunk on
// its own and must store them all, while xz finds the repeats. The archive is then the real xz tool's
// output behind lmc's 6-byte header, the lengths and the end marker, and the tool reads it back.
TEST_F(CliStreamArchive, XzStreamIsKeptWhenSmaller) {
  if (run_command("command -v xz").exit_code != 0) GTEST_SKIP() << "'xz' is not installed: nothing to check against";
  const std::string once = random_bytes(6000, 1), input = once + once + once;
  json s = compress(input, "--no-match --verify");
  EXPECT_EQ(s["mode"], "xz");
  const std::string tool = xz_tool(input);
  const size_t header = 6 + varint_size(input.size()) + varint_size(tool.size());
  EXPECT_EQ(s["bytes_out"], header + tool.size() + 9);
  EXPECT_GT(s["model_bytes_out"].get<double>(), s["bytes_out"].get<double>());
  EXPECT_GT(s["model_bytes_in"].get<double>(), 0);
  const std::string lmc_archive = read_file(archive());
  ASSERT_EQ(lmc_archive.size(), s["bytes_out"].get<size_t>());
  EXPECT_TRUE(lmc_archive.substr(header, tool.size()) == tool) << "xz -9e's own bytes";
  write_file(tmp_ / "stream.xz", lmc_archive.substr(header, tool.size()));
  auto r = run_command("xz -d -c " + (tmp_ / "stream.xz").string() + " > " + (tmp_ / "by_tool").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(read_file(tmp_ / "by_tool") == input);

  // In groups of two chunks the model stops once its archive has passed xz's, before the end.
  json early = compress(input, "--no-match --batch 2");
  EXPECT_EQ(early["bytes_out"], s["bytes_out"]);
  EXPECT_LT(early["model_bytes_in"].get<double>(), input.size());

  // The model's own archive is what --model-only keeps, and the larger one.
  json model = compress(input, "--no-match --model-only");
  EXPECT_EQ(model["mode"], "text");
  EXPECT_GT(model["bytes_out"].get<double>(), s["bytes_out"].get<double>());
}

// An xz archive records no model: lmc decompresses it exactly with any model or none, and damage is a
// one-line error that leaves no output.
TEST_F(CliStreamArchive, XzArchiveDecodesWithoutItsModel) {
  const std::string once = random_bytes(5000, 2), input = once + once;
  ASSERT_EQ(compress(input, "--no-match")["mode"], "xz");
  const fs::path other = testing::golden_dir("cli_models") / "micro_bytes_model";
  auto d = run_lmc("decompress -k -f --model " + other.string() + " -o " + (tmp_ / "out").string() + " " +
                   archive().string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(tmp_ / "out") == input);
  auto no_model = run_command("LMC_MODELS_DIR=" + (tmp_ / "no_models").string() + " " + testing::setting("LMC_BIN") +
                              " decompress -k -f -o " + (tmp_ / "out2").string() + " " + archive().string());
  ASSERT_EQ(no_model.exit_code, 0) << no_model.err;
  EXPECT_TRUE(read_file(tmp_ / "out2") == input);
  auto from_stdin = run_command("LMC_MODELS_DIR=" + (tmp_ / "no_models").string() + " " + testing::setting("LMC_BIN") +
                                " decompress -f -o " + (tmp_ / "out3").string() + " - < " + archive().string());
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_TRUE(read_file(tmp_ / "out3") == input);

  std::string damaged = read_file(archive());
  damaged[damaged.size() / 2] ^= 0x20;
  write_file(tmp_ / "damaged.lmc", damaged);
  fs::remove(tmp_ / "out");
  auto bad = run_lmc("decompress -k" + model_flag() + "-o " + (tmp_ / "out").string() + " " +
                     (tmp_ / "damaged.lmc").string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(bad.err, "lmc decompress: error: " + (tmp_ / "damaged.lmc").string() + ": archive corrupt: xz stream: corrupt data\n");
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
}

// Where the model wins, the archive is byte for byte the one --model-only writes. --no-store measures the
// model, so it keeps the model's archive, as does input from stdin, which cannot be read twice.
TEST_F(CliStreamArchive, ModelArchiveIsKeptWhenSmallerOrAsked) {
  std::string text;
  for (int i = 0; text.size() < 12000; ++i) text += "line " + std::to_string(i * 7 % 13) + " of the text\n";
  json s = compress(text, "");
  ASSERT_EQ(s["mode"], "text");
  const std::string weighed = read_file(archive());
  compress(text, "--model-only");
  EXPECT_TRUE(read_file(archive()) == weighed);

  const std::string once = random_bytes(6000, 3), repeated = once + once + once;
  EXPECT_EQ(compress(repeated, "--no-match --no-store")["mode"], "text");
  write_file(tmp_ / "in", repeated);
  auto c = run_lmc("compress --json --threads 1 --no-match" + model_flag() + "-o " + (tmp_ / "stdin.lmc").string() +
                   " - < " + (tmp_ / "in").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(json::parse(c.out)["mode"], "text");
}

// A 16-bit stereo WAV in chunks that split its frames, so the tiny random model codes the low bits
// apart and cannot match flac: the archive is flac -8's stream of the samples between the WAV's own
// bytes, as long as the flac tool's file (which adds metadata blocks) plus the 44-byte WAV header and
// lmc's header and lengths at most, and the flac tool reads that stream back to the same samples.
TEST_F(CliStreamArchive, FlacStreamIsKeptForAWavWhenSmaller) {
  write_wav(tmp_ / "in", 16, 2, 6000);
  const std::string wav = read_file(tmp_ / "in");
  json s = compress_in("--chunk-bytes 2047 --verify");
  ASSERT_EQ(s["mode"], "flac");
  json model = compress_in("--chunk-bytes 2047 --model-only");
  EXPECT_EQ(model["mode"], "audio");
  EXPECT_GT(model["bytes_out"].get<double>(), s["bytes_out"].get<double>());
  compress_in("--chunk-bytes 2047");
  const std::string archive_bytes = read_file(archive());
  EXPECT_EQ(archive_bytes.size(), s["bytes_out"].get<size_t>());
  auto d = run_command("LMC_MODELS_DIR=" + (tmp_ / "no_models").string() + " " + testing::setting("LMC_BIN") +
                       " decompress -k -f -o " + (tmp_ / "out.wav").string() + " " + archive().string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(tmp_ / "out.wav") == wav);
  if (run_command("command -v flac").exit_code != 0) {
    GTEST_SKIP() << "'flac' is not installed: nothing to check against";
  }
  auto f = run_command("flac -8 --no-padding -s -f -o " + (tmp_ / "tool.flac").string() + " " + (tmp_ / "in").string());
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_LE(archive_bytes.size(), fs::file_size(tmp_ / "tool.flac") + 44 + 6 + 3 + 3 * 3 + 9);
  const size_t stream_at = archive_bytes.find("fLaC");
  ASSERT_NE(stream_at, std::string::npos);
  // After the stream: the WAV's empty tail (its length, 0) and the end marker (0 and the checksum).
  write_file(tmp_ / "stream.flac", archive_bytes.substr(stream_at, archive_bytes.size() - stream_at - 1 - 9));
  auto back =
      run_command("flac -d -s -f -o " + (tmp_ / "by_tool.wav").string() + " " + (tmp_ / "stream.flac").string());
  EXPECT_EQ(back.exit_code, 0) << back.err;
  EXPECT_TRUE(read_file(tmp_ / "by_tool.wav").substr(44) == wav.substr(44)) << "the same samples";
}

// Where the model wins, weighing changes nothing: a LibriSpeech utterance under the shipped audio model
// gets the very archive --model-only writes, smaller than the flac tool's file.
TEST(CliStreamArchiveShared, SpeechKeepsTheAudioModelsArchive) {
  auto shared = testing::shared_data();
  if (!shared) GTEST_SKIP() << "../shared/data is absent: the LibriSpeech utterance is not there";
  if (run_command("command -v flac").exit_code != 0) {
    GTEST_SKIP() << "'flac' is not installed: it decodes the utterance";
  }
  testing::TempDir tmp;
  auto d = run_command("flac -d -s -o " + (tmp / "a.wav").string() + " " +
                       (*shared / "audio/librispeech_test/3005-163389-0007.flac").string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const fs::path models = fs::path(testing::setting("LMC_SOURCE_DIR")) / "models";
  const std::string audio_model = " --model " + (models / "audio").string();
  auto weighed = run_lmc("compress -k --json --threads 2" + audio_model + " -o " + (tmp / "weighed.lmc").string() +
                         " " + (tmp / "a.wav").string());
  ASSERT_EQ(weighed.exit_code, 0) << weighed.err;
  EXPECT_EQ(json::parse(weighed.out)["mode"], "audio");
  auto model_only = run_lmc("compress -k --model-only --threads 2" + audio_model + " -o " +
                            (tmp / "model_only.lmc").string() + " " + (tmp / "a.wav").string());
  ASSERT_EQ(model_only.exit_code, 0) << model_only.err;
  EXPECT_TRUE(read_file(tmp / "weighed.lmc") == read_file(tmp / "model_only.lmc"));
  auto f = run_command("flac -8 --no-padding -s -o " + (tmp / "a.flac").string() + " " + (tmp / "a.wav").string());
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_LT(fs::file_size(tmp / "weighed.lmc"), fs::file_size(tmp / "a.flac"));
}

}  // namespace
}  // namespace lmc
