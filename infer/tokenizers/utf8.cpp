#include "infer/tokenizers/utf8.h"

#include <cstdint>
#include <cstring>

namespace lmc {

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  const size_t left = text.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const auto continuation = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // a continuation byte, or the overlong leads C0/C1
  if (lead < 0xE0) return left >= 2 && continuation(1) ? 2 : 0;
  if (lead < 0xF0) {
    if (left < 3 || !continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (lead < 0xF5) {
    if (left < 4 || !continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

size_t utf8_valid_run_end(std::string_view text, size_t pos) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  while (pos < text.size()) {
    // ASCII dominates real text: skip it eight bytes at a time.
    if (text.size() - pos >= 8) {
      uint64_t word;
      std::memcpy(&word, text.data() + pos, 8);
      if ((word & kHighBits) == 0) {
        pos += 8;
        continue;
      }
    }
    const size_t length = utf8_sequence_length(text, pos);
    if (length == 0) break;
    pos += length;
  }
  return pos;
}

}  // namespace lmc
