// Audio-as-string, WAV parsing and FLAC decoding against files made by Python's `wave` module and the real
// `flac` tool (tests/oracles/data_inputs.py), and against `flac -d` on the LibriSpeech FLACs when present.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/audio_string.h"
#include "data/flac.h"
#include "data/wav.h"
#include "data_test_util.h"

namespace lmc::data {
namespace {

using lmc::testing::data_inputs;
using lmc::testing::error_of;

using lmc::testing::read_bytes;

nlohmann::json expected_formats() {
  std::ifstream in(data_inputs() / "expected.json");
  return nlohmann::json::parse(in);
}

void expect_format(const PcmFormat& format, const nlohmann::json& want, const std::string& name) {
  EXPECT_EQ(format.sample_rate, want["sample_rate"].get<uint32_t>()) << name;
  EXPECT_EQ(format.channels, want["channels"].get<uint16_t>()) << name;
  EXPECT_EQ(format.bits_per_sample, want["bits_per_sample"].get<uint16_t>()) << name;
}

void expect_audio_string_round_trip(const std::vector<uint8_t>& pcm, const std::string& name) {
  AudioString s = to_audio_string(pcm);
  ASSERT_EQ(s.ascii.size(), pcm.size()) << name;
  for (size_t i = 0; i < pcm.size(); ++i) {
    ASSERT_EQ(static_cast<uint8_t>(s.ascii[i]), pcm[i] / 2) << name << " byte " << i;
    ASSERT_EQ(s.lsb_bits[i], pcm[i] % 2) << name << " byte " << i;
  }
  EXPECT_EQ(from_audio_string(s.ascii, s.lsb_bits), pcm) << name;
}

TEST(DataAudioString, EveryByteValueRoundTripsAndIsSevenBit) {
  std::vector<uint8_t> all(512);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i * 7);
  expect_audio_string_round_trip(all, "all byte values");
  AudioString s = to_audio_string(std::vector<uint8_t>{0x00, 0x01, 0xFE, 0xFF, 0x80});
  EXPECT_EQ(s.ascii, std::string("\x00\x00\x7F\x7F\x40", 5));
  EXPECT_EQ(s.lsb_bits, (std::vector<uint8_t>{0, 1, 0, 1, 0}));
}

TEST(DataAudioString, StreamingEqualsWhole) {
  std::vector<uint8_t> pcm(1000);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<uint8_t>(i * 31 + 3);
  AudioString streamed;
  append_audio_string(std::span(pcm).first(333), streamed);
  append_audio_string(std::span(pcm).subspan(333), streamed);
  AudioString whole = to_audio_string(pcm);
  EXPECT_EQ(streamed.ascii, whole.ascii);
  EXPECT_EQ(streamed.lsb_bits, whole.lsb_bits);
}

TEST(DataAudioString, RejectsMismatchedInput) {
  EXPECT_NE(error_of([] { from_audio_string("ab", std::vector<uint8_t>{1}); }).find("2 characters but 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { from_audio_string("\x80", std::vector<uint8_t>{0}); }).find("expected 0..127"),
            std::string::npos);
}

TEST(DataAudioString, PackBitsMatchesNumpyOrder) {
  // numpy.packbits([1,0,1,1,0,0,0,0, 1]) == [0xB0, 0x80]
  std::vector<uint8_t> bits = {1, 0, 1, 1, 0, 0, 0, 0, 1};
  EXPECT_EQ(pack_bits(bits), (std::vector<uint8_t>{0xB0, 0x80}));
  EXPECT_EQ(unpack_bits(pack_bits(bits), bits.size()), bits);
  EXPECT_THROW(unpack_bits(std::vector<uint8_t>{0}, 9), Error);
}

TEST(DataWav, PcmFilesFromPythonWaveParseAndRoundTrip) {
  auto formats = expected_formats();
  int checked = 0;
  for (const auto& [name, want] : formats.items()) {
    if (!name.starts_with("wav/")) continue;
    auto file = read_bytes(data_inputs() / name);
    auto pcm = read_bytes(data_inputs() / (name.substr(0, name.size() - 4) + ".pcm"));
    WavLayout layout = parse_wav(file);
    expect_format(layout.format, want, name);
    ASSERT_EQ(layout.data_size, pcm.size()) << name;
    std::vector<uint8_t> samples(file.begin() + layout.data_offset, file.begin() + layout.data_offset + layout.data_size);
    EXPECT_EQ(samples, pcm) << name;
    // header + samples (through audio-as-string) + trailer rebuilds the exact file.
    AudioString s = to_audio_string(samples);
    std::vector<uint8_t> rebuilt(file.begin(), file.begin() + layout.data_offset);
    auto back = from_audio_string(s.ascii, s.lsb_bits);
    rebuilt.insert(rebuilt.end(), back.begin(), back.end());
    rebuilt.insert(rebuilt.end(), file.begin() + layout.data_offset + layout.data_size, file.end());
    EXPECT_EQ(rebuilt, file) << name;
    expect_audio_string_round_trip(pcm, name);
    ++checked;
  }
  EXPECT_EQ(checked, 10);  // 8/16/24/32-bit x mono/stereo, extra chunks, extensible PCM
}

TEST(DataWav, ExtraChunksStayOutOfTheSamples) {
  auto file = read_bytes(data_inputs() / "wav/extra_chunks.wav");
  WavLayout layout = parse_wav(file);
  EXPECT_GT(file.size(), layout.data_offset + layout.data_size);  // a LIST chunk follows the data
  EXPECT_EQ(layout.data_size, read_bytes(data_inputs() / "wav/extra_chunks.pcm").size());
}

TEST(DataWav, NonPcmCodecsAreRejectedByName) {
  auto message = [](const std::string& name) {
    return error_of([&] { parse_wav(read_bytes(data_inputs() / name)); });
  };
  EXPECT_NE(message("wav/float32.wav").find("IEEE float"), std::string::npos) << message("wav/float32.wav");
  EXPECT_NE(message("wav/adpcm.wav").find("ADPCM"), std::string::npos) << message("wav/adpcm.wav");
  std::string extensible = message("wav/extensible_float.wav");
  EXPECT_NE(extensible.find("WAVE_FORMAT_EXTENSIBLE with sub-format IEEE float"), std::string::npos) << extensible;
  EXPECT_NE(extensible.find("only integer PCM"), std::string::npos) << extensible;
}

TEST(DataWav, TruncatedAndForeignFilesAreRejected) {
  auto file = read_bytes(data_inputs() / "wav/pcm16_stereo.wav");
  file.resize(file.size() - 10);
  EXPECT_NE(error_of([&] { parse_wav(file); }).find("truncated"), std::string::npos);
  auto flac = read_bytes(data_inputs() / "flac/pcm16_mono.flac");
  EXPECT_NE(error_of([&] { parse_wav(flac); }).find("not a RIFF/WAVE file"), std::string::npos);
  EXPECT_NE(error_of([] { parse_wav(std::vector<uint8_t>(5)); }).find("too short"), std::string::npos);
}

TEST(DataFlac, DecodesLikeTheFlacTool) {
  auto formats = expected_formats();
  int checked = 0;
  for (const auto& [name, want] : formats.items()) {
    if (!name.starts_with("flac/")) continue;
    DecodedAudio audio = decode_flac(read_bytes(data_inputs() / name));
    expect_format(audio.format, want, name);
    EXPECT_EQ(audio.pcm, read_bytes(data_inputs() / (name.substr(0, name.size() - 5) + ".pcm"))) << name;
    expect_audio_string_round_trip(audio.pcm, name);
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(DataFlac, CorruptAndTruncatedStreamsFail) {
  std::string corrupt = error_of([] { decode_flac(read_bytes(data_inputs() / "flac/corrupt.flac")); });
  EXPECT_NE(corrupt.find("FLAC"), std::string::npos) << corrupt;
  EXPECT_TRUE(corrupt.find("corrupt") != std::string::npos || corrupt.find("MD5") != std::string::npos) << corrupt;
  std::string truncated = error_of([] { decode_flac(read_bytes(data_inputs() / "flac/truncated.flac")); });
  EXPECT_NE(truncated.find("FLAC"), std::string::npos) << truncated;
  EXPECT_NE(error_of([] { decode_flac(read_bytes(data_inputs() / "wav/pcm8_mono.wav")); }).find("not a FLAC file"),
            std::string::npos);
}

TEST(DataFlac, LibriSpeechMatchesFlacTool) {
  auto shared = lmc::testing::shared_data();
  if (!shared || !std::filesystem::is_directory(*shared / "audio")) {
    GTEST_SKIP() << "no shared data (LMC_SHARED_DATA/audio): LibriSpeech FLAC check skipped";
  }
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(*shared / "audio")) {
    if (entry.path().extension() != ".flac") continue;
    DecodedAudio audio = decode_flac(read_bytes(entry.path()));
    ASSERT_EQ(audio.format.bits_per_sample, 16) << entry.path();
    auto tool = lmc::testing::run_command("flac -s -c -d --force-raw-format --endian=little --sign=signed '" +
                                          entry.path().string() + "'");
    ASSERT_EQ(tool.exit_code, 0) << tool.err;
    EXPECT_EQ(audio.pcm, std::vector<uint8_t>(tool.out.begin(), tool.out.end())) << entry.path();
    expect_audio_string_round_trip(audio.pcm, entry.path().string());
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace lmc::data
