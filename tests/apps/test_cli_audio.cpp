// `lmc compress` / `lmc decompress` on PCM WAV: audio-as-string, the PCM model at every sample width and
// its wasted bits, the separate low-bit coder, stored chunks, format versions and corrupt archives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <utility>

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
using testing::read_file;
using testing::round_trip;
using testing::round_trip_once;
using testing::run_lmc;
using testing::write_file;
using testing::write_wav;

TEST(CliCodecAudio, PcmWavRoundTripsInAudioMode) {
  testing::TempDir tmp;
  for (int bits : {8, 16, 24}) {
    for (int channels : {1, 2}) {
      SCOPED_TRACE(std::to_string(bits) + "-bit, " + std::to_string(channels) + " channel(s)");
      fs::path wav = tmp / (std::to_string(bits) + "bit_" + std::to_string(channels) + "ch.wav");
      write_wav(wav, bits, channels, 1500);
      json stats = round_trip(read_file(wav), "--model-only");
      EXPECT_EQ(stats["mode"], "audio");
    }
  }
}

// Chunks of 1001 bytes hold no whole 16-bit frames, so formats 8 to 10 code their low bits apart, as
// format 7 did: by mixing predictions from the neighbouring samples. Format 6 used one table of their contexts,
// format 4 contexts that see the symbols, format 3 bit-history contexts: the same archive labelled 7, 6,
// 5 or 3 is read with that version's contexts and blob layout, so its low bits do not decode.
TEST(CliCodecAudio, LowBitContextsFollowTheFormatVersion) {
  testing::TempDir tmp;
  write_wav(tmp / "a.wav", 16, 1, 1500);
  // Without the match model and stored chunks, format 13 differs from formats 3 to 7 in the low bits alone.
  auto c = run_lmc("compress -k --no-store --no-match --threads 1 --chunk-bytes 1001" + model_flag() + "-o " +
                   (tmp / "a.lmc").string() + " " + (tmp / "a.wav").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string archive = read_file(tmp / "a.lmc");
  ASSERT_EQ(archive[3], 13);
  for (const char version : {7, 6, 5, 3}) {
    SCOPED_TRACE(int{version});
    std::string older = archive;
    older[3] = version;
    write_file(tmp / "older.lmc", older);
    auto d = run_lmc("decompress" + model_flag() + "-o " + (tmp / "out").string() + " " + (tmp / "older.lmc").string());
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_EQ(d.err, "lmc decompress: error: " + (tmp / "older.lmc").string() +
                         ": archive corrupt in the audio's low bits: coded bit stream is truncated or corrupt\n");
    EXPECT_FALSE(fs::exists(tmp / "out"));
  }
}

// PCM in chunks of whole frames, under a byte-level model, is coded with the PCM model (codec/pcm_model.h),
// each sample's bits inside its chunk: 16-bit from format 8, 8- and 24-bit from format 10. The default
// chunk size rounds down to whole frames (24 bits: 2046); a size given that
// splits them (2047, or 2048 for 24 bits) has the bits coded apart. On a sine with a little noise, which
// the tiny random model cannot predict, the PCM model's archive is far smaller, every chunk coded
// (--no-store: stored chunks would be xz's work, not the model's). (8-bit mono frames are single bytes,
// which no chunk size splits.)
TEST(CliCodecAudio, PcmIsCodedWithThePcmModelAtEveryWidth) {
  testing::TempDir tmp;
  for (const auto& [bits, channels] : {std::pair{8, 2}, std::pair{16, 1}, std::pair{16, 2}, std::pair{24, 1}, std::pair{24, 2}}) {
    SCOPED_TRACE(std::to_string(bits) + "-bit, " + std::to_string(channels) + " channel(s)");
    write_wav(tmp / "a.wav", bits, channels, 6000);
    const std::string wav = read_file(tmp / "a.wav");
    const double with_pcm_model = round_trip_once(wav, "--no-store", model_flag())["bytes_out"].get<double>();
    const double apart = round_trip_once(wav, bits == 24 ? "--no-store --chunk-bytes 2048" : "--no-store --chunk-bytes 2047",
                                         model_flag())["bytes_out"].get<double>();
    // In 8 bits the noise (uniform over 101 values, log2 101 = 6.66 bits a sample) is most of the signal.
    EXPECT_LT(with_pcm_model, (bits == 8 ? 0.85 : 0.75) * apart);
  }
}

// 16-bit samples stored in 24 bits: the PCM model finds the zero low byte (flac's wasted bits) and codes
// the samples as in 16 bits, within 2%, given chunks of as many samples (2046 bytes hold 682 24-bit
// samples, 1364 bytes as many 16-bit ones; with 1024 of them a chunk's filter and warm-up cost less).
TEST(CliCodecAudio, WastedBitsAreNotCoded) {
  testing::TempDir tmp;
  for (int channels : {1, 2}) {
    SCOPED_TRACE(std::to_string(channels) + " channel(s)");
    write_wav(tmp / "a16.wav", 16, channels, 4000);
    write_wav(tmp / "a24.wav", 16, channels, 4000, 0, 24);
    const double as16 =
        round_trip(read_file(tmp / "a16.wav"), "--model-only --chunk-bytes 1364")["bytes_out"].get<double>();
    const double as24 = round_trip(read_file(tmp / "a24.wav"), "--model-only")["bytes_out"].get<double>();
    EXPECT_LT(as24, 1.02 * as16);
  }
}

// tmp / "a.wav" compressed (format 13), the archive relabelled `version`: it decompresses to the WAV
// if `decodes`, else it is refused (with the error `refusal` after the archive's name, if one is given)
// and leaves no output.
void expect_relabelled_archive(const testing::TempDir& tmp, char version, bool decodes,
                               const std::string& refusal = "") {
  auto c = run_lmc("compress -k -f --model-only --threads 1" + model_flag() + "-o " + (tmp / "a.lmc").string() + " " +
                   (tmp / "a.wav").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::string archive = read_file(tmp / "a.lmc");
  ASSERT_EQ(archive[3], 13);
  archive[3] = version;
  write_file(tmp / "relabelled.lmc", archive);
  const auto d = run_lmc("decompress -f" + model_flag() + "-o " + (tmp / "out").string() + " " +
                         (tmp / "relabelled.lmc").string());
  if (decodes) {
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_TRUE(read_file(tmp / "out") == read_file(tmp / "a.wav"));
  } else {
    EXPECT_EQ(d.exit_code, 1);
    if (!refusal.empty()) {
      EXPECT_EQ(d.err, "lmc decompress: error: " + (tmp / "relabelled.lmc").string() + ": " + refusal + "\n");
    }
    EXPECT_FALSE(fs::exists(tmp / "out"));
  }
  fs::remove(tmp / "out");
}

// Before format 10 only 16-bit PCM had the PCM model: an 8- or 24-bit archive relabelled 9 is refused
// as corrupt, a 16-bit one decodes.
TEST(CliCodecAudio, PcmWidthsFollowTheFormatVersion) {
  testing::TempDir tmp;
  for (int bits : {8, 16, 24}) {
    SCOPED_TRACE(std::to_string(bits) + "-bit");
    write_wav(tmp / "a.wav", bits, 1, 3000);
    expect_relabelled_archive(tmp, 9, bits == 16,
                              "archive corrupt in the audio's low bits: no PCM to model");
  }
}

// Format 9 predicts a second channel from the first channel's residuals too, format 8 did not: a stereo
// archive labelled 8 does not decode, a mono one (which has no second channel) does.
TEST(CliCodecAudio, CrossChannelPredictionFollowsTheFormatVersion) {
  testing::TempDir tmp;
  for (int channels : {1, 2}) {
    SCOPED_TRACE(std::to_string(channels) + " channel(s)");
    write_wav(tmp / "a.wav", 16, channels, 3000);
    expect_relabelled_archive(tmp, 8, channels == 1);
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

// A well-formed IEEE-float WAV (format tag 3) is not integer PCM: auto mode codes it as text, and
// `--mode audio`, which cannot be honoured for it, for a text file or for a PCM WAV without samples, is
// refused with the reason (naming the file, or from standard input once read) and leaves no archive.
TEST(CliCodecAudio, AudioModeNeedsPcmWav) {
  auto wav_with = [](uint16_t format_tag, size_t data_bytes) {
    std::string fmt = "fmt "s + std::string("\x10\0\0\0", 4);
    for (uint32_t field : {uint32_t{format_tag} | (1u << 16), 16000u, 32000u, 2u | (16u << 16)}) {
      for (int i = 0; i < 4; ++i) fmt.push_back(static_cast<char>(field >> (8 * i)));
    }
    std::string data = "data"s;
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>(data_bytes >> (8 * i)));
    data += std::string(data_bytes, '\x3f');
    const uint32_t size = static_cast<uint32_t>(4 + fmt.size() + data.size());
    std::string riff_size(4, '\0');
    for (int i = 0; i < 4; ++i) riff_size[i] = static_cast<char>(size >> (8 * i));
    return "RIFF" + riff_size + "WAVE" + fmt + data;
  };
  const std::string float_wav = wav_with(3, 16);
  EXPECT_EQ(round_trip(float_wav)["mode"], "text");
  EXPECT_EQ(round_trip_once(wav_with(1, 16), "--mode audio", model_flag())["mode"], "audio");
  testing::TempDir tmp;
  write_file(tmp / "float.wav", float_wav);
  write_file(tmp / "silent.wav", wav_with(1, 0));
  write_file(tmp / "t.txt", "plain text, not audio\n");
  for (const auto& [name, reason] : std::vector<std::pair<std::string, std::string>>{
           {"float.wav", "needs a PCM WAV file: WAV: "},
           {"t.txt", "needs a PCM WAV file: WAV: "},
           {"silent.wav", "needs a PCM WAV file with samples: this one has none"}}) {
    SCOPED_TRACE(name);
    for (const std::string& input : {(tmp / name).string(), "- < " + (tmp / name).string() + " > /dev/null"}) {
      auto c = run_lmc("compress -k --mode audio" + model_flag() + input);
      EXPECT_EQ(c.exit_code, 1);
      const std::string named = input.starts_with("-") ? "" : input + ": ";
      EXPECT_EQ(c.err.rfind("lmc compress: error: " + named + "--mode audio " + reason, 0), 0u) << c.err;
      EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
      EXPECT_FALSE(fs::exists(tmp / (name + ".lmc")));
    }
  }
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
    auto d = lmc("decompress -k -f -o " + (tmp / "back").string() + " " + archive.string());
    ASSERT_EQ(d.exit_code, 0) << d.out;
    EXPECT_TRUE(read_file(tmp / "back") == read_file(tmp / input));
    auto piped = lmc("decompress -f -o " + (tmp / "piped").string() + " - < " + archive.string());
    ASSERT_EQ(piped.exit_code, 0) << piped.out << " (from stdin)";
    EXPECT_TRUE(read_file(tmp / "piped") == read_file(tmp / input));
  }
}

}  // namespace
}  // namespace lmc
