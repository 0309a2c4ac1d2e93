// Codes a stream of bits with a small adaptive context model through the range coder. It exists for
// the least-significant bits that audio-as-string shifts out of each PCM byte (every byte becomes 7-bit
// text; the dropped bits are kept here, losslessly): in a frame of `context_period` bytes the LSB of a
// sample's high byte follows the waveform and compresses, the LSB of its low byte is mostly noise.
// No modelling beyond that: no mixing, no SSE, no knowledge of WAV layouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lmc {

inline constexpr int kMaxContextPeriod = 64;

// `bits` holds one bit per element (0 or 1); `context_period` (1..kMaxContextPeriod) is the number of
// bits per frame, usually bytes per PCM sample frame. Throws lmc::Error on a bad argument.
std::vector<uint8_t> encode_bits(const std::vector<uint8_t>& bits, int context_period);

// Inverse of encode_bits for `n_bits` bits. Throws lmc::Error if `coded` is not a complete, consistent
// stream of that many bits (truncated, corrupt, or n_bits too large for its size).
std::vector<uint8_t> decode_bits(std::span<const uint8_t> coded, size_t n_bits, int context_period);

}  // namespace lmc
