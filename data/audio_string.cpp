// The byte-wise audio-as-string transform and its bit packing; see audio_string.h.
#include "data/audio_string.h"

#include <string>

#include "common/error.h"

namespace lmc::data {

void append_audio_string(std::span<const uint8_t> pcm_bytes, AudioString& out) {
  size_t base = out.ascii.size();
  out.ascii.resize(base + pcm_bytes.size());
  out.lsb_bits.resize(base + pcm_bytes.size());
  for (size_t i = 0; i < pcm_bytes.size(); ++i) {
    out.ascii[base + i] = static_cast<char>(pcm_bytes[i] >> 1);
    out.lsb_bits[base + i] = pcm_bytes[i] & 1u;
  }
}

AudioString to_audio_string(std::span<const uint8_t> pcm_bytes) {
  AudioString out;
  append_audio_string(pcm_bytes, out);
  return out;
}

std::vector<uint8_t> from_audio_string(std::string_view ascii, std::span<const uint8_t> lsb_bits) {
  if (ascii.size() != lsb_bits.size()) {
    throw Error("audio string has " + std::to_string(ascii.size()) + " characters but " +
                std::to_string(lsb_bits.size()) + " low bits");
  }
  std::vector<uint8_t> pcm(ascii.size());
  for (size_t i = 0; i < ascii.size(); ++i) {
    auto c = static_cast<uint8_t>(ascii[i]);
    if (c > 127 || lsb_bits[i] > 1) {
      throw Error("audio string position " + std::to_string(i) + " holds character " + std::to_string(c) +
                  " and bit " + std::to_string(lsb_bits[i]) + "; expected 0..127 and 0/1");
    }
    pcm[i] = static_cast<uint8_t>((c << 1) | lsb_bits[i]);
  }
  return pcm;
}

std::vector<uint8_t> pack_bits(std::span<const uint8_t> bits) {
  std::vector<uint8_t> packed((bits.size() + 7) / 8, 0);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) packed[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
  }
  return packed;
}

std::vector<uint8_t> unpack_bits(std::span<const uint8_t> packed, size_t n_bits) {
  if (n_bits > packed.size() * 8) {
    throw Error("asked for " + std::to_string(n_bits) + " bits from " + std::to_string(packed.size()) +
                " packed bytes");
  }
  std::vector<uint8_t> bits(n_bits);
  for (size_t i = 0; i < n_bits; ++i) bits[i] = (packed[i / 8] >> (7 - i % 8)) & 1u;
  return bits;
}

}  // namespace lmc::data
