// The range coder. Numbers below are in bits; W = 56 is the width of the coding window.
//
// The stream is the base-256 expansion of a number V in [0, 1). The encoder keeps the interval
// [low, low + range) that V must end in, scaled so that the window holds the next 7 not-yet-final
// bytes: low is an integer with W bits plus one carry bit, range an integer in (0, 2^W].
//
// Invariants, true between calls to encode():
//   E1  2^48 <= range <= 2^56          (normalisation shifts a byte out whenever range < 2^48)
//   E2  low + range <= 2^57            (each step picks a sub-interval of the previous one, and
//                                       after a shift low < 2^56, range <= 2^56)
//   E3  the bytes written, then cache_, then pending_ff_ bytes of 0xFF, then the window, spell out the
//       interval's low end. A carry out of the window (low >= 2^56) is resolved by the shift that sees
//       it, which adds one to cache_, turns the 0xFF run into zeros and writes them all; so cache_
//       takes at most one carry, and it can only be 0xFF if it was set by a carrying shift, after
//       which E2 keeps the value below the next carry.
//   E4  the very first interval is [0, 2^56): no carry ever reaches the virtual byte in front of the
//       window, so it is always 0 and is not written.
//
// Coding a symbol [cum, cum + freq) out of 2^t: step = range >> t; low += step * cum;
// range = step * freq. Because range >= 2^48 and t <= 32, step >= 2^16 and the sliver
// range - step * 2^t that no symbol owns costs < 2^-16 of range, i.e. < 2^-15 bits per symbol.
//
// finish() rounds low up to a multiple of 2^48 (still inside the interval since range >= 2^48), so
// only the window's top byte is non-zero; it writes that byte and everything before it, and drops
// the six zero bytes below. A stream of S normalisation shifts is therefore exactly S + 1 bytes.
//
// The decoder holds code = V - low in the window (D1: code < range) and reads 7 bytes to start and one
// per shift, S + 7 = size + 6 bytes in all: that exact count, and D1 never being violated, is what
// finished_cleanly() checks. Garbage input can push code / step past the total; the decoder then
// clamps to the last position and records the stream as invalid instead of failing.
#include "codec/range_coder.h"

namespace lmc {
namespace {

constexpr int kWindowBits = 56;
constexpr uint64_t kWindowTop = uint64_t{1} << kWindowBits;  // carry bit
constexpr uint64_t kRangeMin = uint64_t{1} << 48;            // normalise below this
constexpr uint64_t kLowByteMask = kRangeMin - 1;             // the window below its top byte
constexpr size_t kWindowBytes = kWindowBits / 8;             // bytes the decoder reads to start
// A valid stream is consumed to exactly its size plus this many zero bytes (see the top comment).
constexpr size_t kTailBytes = kWindowBytes - 1;

}  // namespace

void RangeEncoder::encode(uint64_t cum, uint64_t freq, int total_bits) {
  uint64_t step = range_ >> total_bits;
  low_ += step * cum;
  range_ = step * freq;
  while (range_ < kRangeMin) {
    range_ <<= 8;
    shift_low();
  }
}

void RangeEncoder::shift_low() {
  bool carry = low_ >= kWindowTop;
  if (low_ < (uint64_t{0xFF} << 48) || carry) {
    if (!leading_) out_.push_back(static_cast<uint8_t>(cache_ + carry));
    leading_ = false;
    for (; pending_ff_ > 0; --pending_ff_) out_.push_back(static_cast<uint8_t>(0xFF + carry));
    cache_ = static_cast<uint8_t>(low_ >> 48);
  } else {
    ++pending_ff_;  // top byte 0xFF with no carry yet: its final value depends on a later carry
  }
  low_ = (low_ & kLowByteMask) << 8;
}

std::vector<uint8_t> RangeEncoder::finish() {
  low_ = (low_ + kLowByteMask) & ~kLowByteMask;
  shift_low();  // commits everything before the window's top byte
  shift_low();  // commits the top byte; the rest of the window is zero
  std::vector<uint8_t> stream = std::move(out_);
  *this = RangeEncoder();
  return stream;
}

RangeDecoder::RangeDecoder(std::span<const uint8_t> bytes) : in_(bytes) {
  for (size_t i = 0; i < kWindowBytes; ++i) code_ = (code_ << 8) | in_.next();
}

uint64_t RangeDecoder::target(int total_bits) {
  step_ = range_ >> total_bits;
  uint64_t position = code_ / step_;
  uint64_t last = (uint64_t{1} << total_bits) - 1;
  if (position > last) {  // only garbage lands in the unowned sliver above the last symbol
    invalid_ = true;
    position = last;
  }
  return position;
}

void RangeDecoder::consume(uint64_t cum, uint64_t freq) {
  code_ -= step_ * cum;
  range_ = step_ * freq;
  if (code_ >= range_) {  // breaks D1: keep the state sane so decoding garbage stays bounded
    invalid_ = true;
    code_ = range_ - 1;
  }
  while (range_ < kRangeMin) {
    range_ <<= 8;
    code_ = (code_ << 8) | in_.next();
  }
}

bool RangeDecoder::overrun() const { return in_.position() > in_.size() + kTailBytes; }

bool RangeDecoder::finished_cleanly() const {
  return !invalid_ && in_.position() == in_.size() + kTailBytes;
}

}  // namespace lmc
