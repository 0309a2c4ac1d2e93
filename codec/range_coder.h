// A byte-oriented range coder (arithmetic coder) with a 64-bit state: the encoder narrows an interval by
// each symbol's [cum, cum + freq) out of a power-of-two total and writes bytes; the decoder mirrors it.
// It knows nothing about where frequencies come from (codec/frequencies.h) and does no modelling.
// Invariants and the stream layout are written at the top of range_coder.cpp.
//
// The decoder reads from a span and never reads outside it: bytes past the end read as zeros, and
// overrun()/finished_cleanly() let callers reject truncated or corrupt streams. Decoding garbage yields
// garbage symbols, never a crash or an endless loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lmc {

// Largest frequency total the coder accepts, as a power of two. The coder's range never drops below
// 2^48, so even at 2^32 the rounding of range / total costs < 2^-16 of a bit per symbol.
inline constexpr int kCoderMaxTotalBits = 32;

class RangeEncoder {
 public:
  // Narrows the interval to the symbol occupying [cum, cum + freq) of a total 2^total_bits.
  // Requires freq >= 1, cum + freq <= 2^total_bits and 1 <= total_bits <= kCoderMaxTotalBits.
  void encode(uint64_t cum, uint64_t freq, int total_bits);

  // Writes the shortest tail that pins the final interval and returns the whole stream. The encoder
  // is then reset, ready for a new stream.
  std::vector<uint8_t> finish();

 private:
  void shift_low();

  uint64_t low_ = 0;
  uint64_t range_ = uint64_t{1} << 56;
  uint8_t cache_ = 0;         // newest byte not yet written: a carry may still add one to it
  uint64_t pending_ff_ = 0;   // 0xFF bytes after cache_, waiting for the same carry
  bool leading_ = true;       // cache_ is the virtual leading byte, which is never written
  std::vector<uint8_t> out_;
};

// Bytes from a span, zeros after its end; counts how far past the end the reader went.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t next() {
    uint8_t byte = pos_ < bytes_.size() ? bytes_[pos_] : 0;
    ++pos_;
    return byte;
  }
  size_t position() const { return pos_; }  // bytes consumed, counting the zeros past the end
  size_t size() const { return bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

class RangeDecoder {
 public:
  explicit RangeDecoder(std::span<const uint8_t> bytes);

  // The position in [0, 2^total_bits) of the next symbol: the caller finds the symbol whose
  // [cum, cum + freq) holds it and passes that range to consume().
  uint64_t target(int total_bits);
  // Removes the symbol found from target(); cum <= target < cum + freq.
  void consume(uint64_t cum, uint64_t freq);

  // The stream ran out: more bytes were needed than any valid stream of this length supplies.
  bool overrun() const;
  // After the last symbol: true iff the stream decoded consistently and ended exactly where the
  // encoder's did (a truncated, extended or corrupt stream almost always fails this).
  bool finished_cleanly() const;

 private:
  ByteReader in_;
  uint64_t code_ = 0;   // the encoder's final value minus the interval's low end
  uint64_t range_ = uint64_t{1} << 56;
  uint64_t step_ = 0;   // range_ >> total_bits from the last target()
  bool invalid_ = false;
};

// A bit whose probability of being 1 is p1 / 2^16 (1 <= p1 < 2^16): the zero takes [0, 2^16 - p1).
inline constexpr int kBitProbabilityBits = 16;

inline void encode_bit(RangeEncoder& encoder, uint32_t p1, int bit) {
  const uint32_t zero = (uint32_t{1} << kBitProbabilityBits) - p1;
  if (bit) {
    encoder.encode(zero, p1, kBitProbabilityBits);
  } else {
    encoder.encode(0, zero, kBitProbabilityBits);
  }
}

inline int decode_bit(RangeDecoder& decoder, uint32_t p1) {
  const uint32_t zero = (uint32_t{1} << kBitProbabilityBits) - p1;
  const bool one = decoder.target(kBitProbabilityBits) >= zero;
  decoder.consume(one ? zero : 0, one ? p1 : zero);
  return one ? 1 : 0;
}

}  // namespace lmc
