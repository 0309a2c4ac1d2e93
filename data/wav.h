// RIFF/WAVE parsing for integer PCM (8/16/24/32-bit, any channel count). It locates the PCM data chunk and
// leaves every other byte alone: header = file[0, data_offset), samples = the data chunk's payload,
// trailer = everything after it (pad byte, LIST/id3 chunks, junk). Concatenating the three rebuilds the exact
// file, which is what the codec relies on. Non-PCM codecs (IEEE float, ADPCM, A-law, mu-law, MP3,
// WAVE_FORMAT_EXTENSIBLE with a non-PCM sub-format) are rejected with an lmc::Error naming the codec, so the
// caller can fall back to treating the file as bytes. It does not resample, convert or write WAV files.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "data/pcm_format.h"

namespace lmc::data {

struct WavLayout {
  PcmFormat format;
  uint64_t data_offset = 0;  // first byte of the PCM samples in the file
  uint64_t data_size = 0;    // bytes of PCM samples (a whole number of frames)
};

// Fills `out` with the file's bytes starting at `offset`; throws lmc::Error if it cannot.
using ReadAt = std::function<void(uint64_t offset, std::span<uint8_t> out)>;
// Reads from bytes in memory, which must outlive it; throws lmc::Error for a read past their end.
ReadAt memory_read_at(std::span<const uint8_t> bytes);

// Whether a file starting with `prefix` (its first 12 bytes suffice) declares itself RIFF/WAVE. Cheap,
// for choosing a path; parse_wav still decides whether the file is PCM lmc can read.
bool looks_like_wav(std::string_view prefix);

// Parses a WAV file held in memory.
WavLayout parse_wav(std::span<const uint8_t> file);
// Parses a WAV file of `file_size` bytes read on demand (only chunk headers and the fmt chunk are read).
WavLayout parse_wav(const ReadAt& read_at, uint64_t file_size);

}  // namespace lmc::data
