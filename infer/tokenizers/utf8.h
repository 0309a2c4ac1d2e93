// UTF-8 validity scanning for the byte-level tokenizers: they pre-tokenize maximal valid UTF-8 runs with
// a Unicode regex and give every other byte its own byte token. "Valid" is RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF (the same rule as PCRE2's UTF check and Python's decoder).
// Decoding to code points is deliberately not offered: nothing here needs it.
#pragma once

#include <cstddef>
#include <string_view>

namespace lmc {

// Length (1..4) of the valid UTF-8 sequence starting at text[pos], or 0 if none starts there.
size_t utf8_sequence_length(std::string_view text, size_t pos);

// End of the maximal valid UTF-8 run starting at pos (== pos if text[pos] starts no valid sequence).
size_t utf8_valid_run_end(std::string_view text, size_t pos);

}  // namespace lmc
