// The parameters of an interleaved integer PCM stream, shared by the WAV parser, the FLAC decoder, the
// shards' audio attributes and the codec. Only whole-byte sample widths exist here: lmc never repacks bits.
#pragma once

#include <cstdint>

namespace lmc::data {

struct PcmFormat {
  uint32_t sample_rate = 0;
  uint16_t channels = 0;
  uint16_t bits_per_sample = 0;  // 8 (unsigned, as WAV stores it), 16, 24 or 32 (signed little-endian)

  uint32_t bytes_per_frame() const { return uint32_t{channels} * (bits_per_sample / 8u); }
  bool operator==(const PcmFormat&) const = default;
};

}  // namespace lmc::data
