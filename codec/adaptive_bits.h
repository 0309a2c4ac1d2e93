// Codes a stream of bits with a small adaptive context model through the range coder. It exists for
// the least-significant bits that audio-as-string shifts out of each PCM byte (every byte becomes 7-bit
// text; the dropped bits are kept here, losslessly): in a frame of `context_period` bytes the LSB of a
// sample's high byte follows the waveform and compresses, the LSB of its low byte is mostly noise.
// Of WAV layouts it knows only what the caller states; its one mixer serves 16-bit PCM's bit 8 (below).
//
// A bit's context is its position in its frame and the bits at that position in earlier frames, plus,
// when `symbols` are given (the 7-bit characters the bits were shifted out of, one per bit, which a
// decoder has before any low bit), how that byte's symbol moved over the last two frames: a high
// byte's LSB flips as the waveform crosses multiples of 256, which the symbols' motion foretells.
// Without symbols (archives before format 4) the context is the bit history alone. When the bits are
// known to be 16-bit little-endian PCM's (archives from format 6 on), the high byte's LSB, bit 8 of a
// sample, is coded in contexts of the waveform around it instead: which of the two values it leaves
// open, 256 apart, lies nearer the course that the neighbouring samples draw (codec/adaptive_bits.cpp);
// from format 7 on, several such estimates, each also measured against how far the waveform strays from
// them locally, are mixed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace lmc {

inline constexpr int kMaxContextPeriod = 64;

// How 16-bit PCM's bit 8 is modelled: archive format 6 looks it up in one table of neighbour contexts,
// format 7 on mixes four predictions from neighbour contexts.
enum class Pcm16Contexts : uint8_t { kNeighbours, kMixedNeighbours };

// `bits` holds one bit per element (0 or 1); `context_period` (1..kMaxContextPeriod) is the number of
// bits per frame, usually bytes per PCM sample frame; `symbols` is empty or as long as `bits`;
// `pcm16_channels` is 0 or, for 16-bit PCM, its channel count (then symbols are needed and
// context_period must be 2 * pcm16_channels), modelled as `pcm16_contexts` says. Throws lmc::Error on a
// bad argument.
std::vector<uint8_t> encode_bits(const std::vector<uint8_t>& bits, int context_period, std::string_view symbols = {},
                                 int pcm16_channels = 0,
                                 Pcm16Contexts pcm16_contexts = Pcm16Contexts::kMixedNeighbours);

// Inverse of encode_bits for `n_bits` bits, given the same symbols and channels. Throws lmc::Error if
// `coded` is not a complete, consistent stream of that many bits (truncated, corrupt, or n_bits too
// large for its size), or the arguments are bad as for encode_bits.
std::vector<uint8_t> decode_bits(std::span<const uint8_t> coded, size_t n_bits, int context_period,
                                 std::string_view symbols = {}, int pcm16_channels = 0,
                                 Pcm16Contexts pcm16_contexts = Pcm16Contexts::kMixedNeighbours);

}  // namespace lmc
