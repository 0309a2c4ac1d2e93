// What the CLI tests share: the tiny byte-level test model, round trips through `lmc compress` and
// `lmc decompress` that check the bytes come back and return compress's JSON statistics, and test WAVs.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace lmc::testing {

// " --model DIR " for the tiny random byte-level model the CLI tests share (a golden fixture).
std::string model_flag();

// Compresses `bytes` and decompresses the archive; returns compress's JSON statistics.
nlohmann::json round_trip_once(const std::string& bytes, const std::string& extra, const std::string& model);

// Round trips `bytes` twice: with every chunk coded (--no-store: the random test models rarely beat 8
// bits a byte, so otherwise most chunks would be stored and the decoder's model path never run), then
// as a user would; returns the second run's statistics.
nlohmann::json round_trip(const std::string& bytes, const std::string& extra = "", const std::string& model = model_flag());

// Writes a WAV with Python's `wave` module (an independent writer): a sine with noise, or in its first
// `loud_frames` frames full-scale noise; `bits`-bit samples, stored in `stored_bits` (the low bits zero).
void write_wav(const std::filesystem::path& path, int bits, int channels, int frames, int loud_frames = 0,
               int stored_bits = 0);

}  // namespace lmc::testing
