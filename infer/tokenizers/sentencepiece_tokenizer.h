// SentencePiece models (Llama 2's tokenizer.model, lmc's own trained ones) through the SentencePiece
// library, made lossless on any bytes.
//
// Decoding (lmc's, not SentencePiece's, whose decoder folds invalid UTF-8 into U+FFFD): a normal piece
// is its text with U+2581 as a space, a byte piece <0xNN> is that byte, control and unknown pieces are
// "". The first non-control piece loses one leading space when the model's own decoder strips the dummy
// prefix (probed from the library at load, so it follows each model's normaliser spec).
//
// Encoding: SentencePiece's ids for the whole input when they decode back to it exactly, which is the
// case for ordinary text. Otherwise (normalisation, whitespace folding, a literal U+2581, invalid UTF-8,
// unknown pieces) piece by piece: SentencePiece reports the input span each piece covers; a piece whose
// decoding differs from its span is replaced by the byte pieces of the span, and bytes no piece covers
// become byte pieces. decode(encode(x)) == x therefore holds by construction. A model without byte
// pieces throws when it meets input it cannot reproduce.
//
// Long inputs: SentencePiece's BPE slows down on long strings (0.2 MB/s on a 1 MB book, 0.8 MB/s on
// 16 KiB pieces of it), so when it is exact the input is encoded in ~16 KiB segments cut before a space
// that follows a printable ASCII character. Exact means: a BPE model with the identity normaliser,
// spaces kept and escaped, and no piece holding U+2581 after another character, so no piece spans a cut
// and BPE merges on either side never interact; a dummy prefix stands in for the space a later segment
// starts with. Other models encode the whole input at once.
#pragma once

#include <filesystem>
#include <memory>

#include "infer/tokenizers/tokenizer.h"

namespace lmc {

// Throws lmc::Error naming the file when it is not a SentencePiece model.
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& path);

}  // namespace lmc
