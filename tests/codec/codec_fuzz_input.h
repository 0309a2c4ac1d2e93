// What the codec fuzzers run on one input: parse it as an archive and, if it parses, decode every coded
// chunk with a stand-in predictor (a stored chunk is its bytes, unpacked by the parser) and every side
// blob as a bit stream, or an xz archive's stream. lmc::Error is the only acceptable
// failure; anything else (another exception, a crash, a hang) is a bug. Shared by the libFuzzer target
// (fuzz_codec.cpp) and the mutation loop in test_codec_fuzz.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codec/coder.h"

namespace lmc::testing {

// A deterministic order-1 model over bytes standing in for the language model: one fixed table per
// previous byte, quantised once from pseudo-logits. Tokens are bytes.
class StandInModel {
 public:
  static constexpr int kTotalBits = 24;
  StandInModel();
  const FrequencyTable& table(uint8_t previous) const { return tables_[previous]; }

 private:
  std::vector<FrequencyTable> tables_;
};

// Codes `text` as one chunk; the inverse of decode_chunk.
std::vector<uint8_t> encode_chunk(const StandInModel& model, const std::string& text);
// Decodes `tokens` bytes; stops early (returning what it has) once the decoder has overrun its input.
std::string decode_chunk(const StandInModel& model, std::span<const uint8_t> coded, uint64_t tokens,
                         bool* clean = nullptr);

// An archive of `chunks` chunks of text, coded with the stand-in model, batch 2, with a side blob of
// coded bits: the seed the mutation loop corrupts. Chunks marked in `stored` are stored instead, which
// the writer packs into an xz stream when that is smaller.
std::vector<uint8_t> make_seed_archive(const StandInModel& model, const std::vector<std::string>& chunks,
                                       const std::vector<bool>& stored = {});

// An xz archive of `text` (container.h), the xz decoder's seed.
std::vector<uint8_t> make_seed_xz_archive(const std::string& text);

// Parses and decodes `bytes` (an xz archive with the xz decoder); returns true if it was a valid archive whose chunks decoded cleanly.
bool fuzz_codec_input(const StandInModel& model, std::span<const uint8_t> bytes);

}  // namespace lmc::testing
