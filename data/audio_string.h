// Audio-as-string, as in LMCompress: every PCM byte (little-endian, in the order of a WAV data chunk) is
// shifted right one bit, giving 7-bit ASCII (0..127) a text model can read; the shifted-out low bits are kept
// separately, one per byte, so the transform is exactly invertible. Shared by `lmc prepare` (shards store the
// ASCII as /bytes and the bits packed as /lsb_bits) and the codec (which codes the bits with an adaptive bit
// model). It knows nothing of sample widths or channels: it is a byte transform.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmc::data {

struct AudioString {
  std::string ascii;              // ascii[i] = pcm[i] >> 1, always in 0..127
  std::vector<uint8_t> lsb_bits;  // lsb_bits[i] = pcm[i] & 1, one 0/1 value per byte
};

AudioString to_audio_string(std::span<const uint8_t> pcm_bytes);
// Appends the transform of `pcm_bytes` to `out` (for streaming in blocks).
void append_audio_string(std::span<const uint8_t> pcm_bytes, AudioString& out);
// Inverse; throws lmc::Error if the sizes differ or a character or bit is out of range.
std::vector<uint8_t> from_audio_string(std::string_view ascii, std::span<const uint8_t> lsb_bits);

// Packs 0/1 values eight to a byte, first bit in the most significant position (numpy.packbits order);
// the last byte is zero-padded.
std::vector<uint8_t> pack_bits(std::span<const uint8_t> bits);
// Inverse of pack_bits for the first `n_bits` bits.
std::vector<uint8_t> unpack_bits(std::span<const uint8_t> packed, size_t n_bits);

}  // namespace lmc::data
