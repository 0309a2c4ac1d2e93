// lmc's byte tokenizer: ids 0..255 are the bytes themselves, 256 is BOS and 257 EOS (vocabulary 258).
// For raw bytes and audio-as-string, where no subword vocabulary is wanted. Lossless trivially.
#pragma once

#include <memory>

#include "infer/tokenizers/tokenizer.h"

namespace lmc {

inline constexpr TokenId kByteBos = 256;
inline constexpr TokenId kByteEos = 257;
inline constexpr int32_t kByteVocabSize = 258;

std::unique_ptr<Tokenizer> make_byte_tokenizer();

}  // namespace lmc
