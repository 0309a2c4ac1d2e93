// FLAC decoding (libFLAC) to interleaved PCM bytes laid out exactly like the data chunk `flac -d` writes:
// 8-bit samples unsigned, 16/24/32-bit signed little-endian, channels interleaved. Sample rate, channels and
// bit depth come back as a PcmFormat. Decoding is strict: any libFLAC error, a frame whose format differs from
// STREAMINFO, a short stream or an MD5 mismatch throws lmc::Error. Bit depths that are not whole bytes (12,
// 20) are rejected rather than repacked. It does not encode FLAC.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "data/pcm_format.h"
#include "data/wav.h"

namespace lmc::data {

struct FlacInfo {
  PcmFormat format;
  uint64_t total_frames = 0;  // samples per channel from STREAMINFO; 0 means "not recorded"
};

// Reads only the STREAMINFO block (after an optional ID3v2 tag).
FlacInfo read_flac_info(const ReadAt& read_at, uint64_t file_size);

// Decodes the whole stream, handing PCM bytes to `on_pcm` one FLAC frame at a time.
using PcmSink = std::function<void(std::span<const uint8_t> pcm)>;
FlacInfo decode_flac(const ReadAt& read_at, uint64_t file_size, const PcmSink& on_pcm);

struct DecodedAudio {
  PcmFormat format;
  std::vector<uint8_t> pcm;
};
DecodedAudio decode_flac(std::span<const uint8_t> file);

}  // namespace lmc::data
