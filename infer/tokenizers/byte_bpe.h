// Byte-level BPE (Llama 3, GPT-2 style): the model both tiktoken rank files and Hugging Face
// tokenizer.json files load into, and the tokenizer built from it.
//
// Encoding rule (lossless on any bytes): the input is cut into maximal valid UTF-8 runs and the bytes
// between them (a byte that starts no valid sequence). Each such byte becomes its single-byte token.
// Each run is split by the pre-tokenizer regex into pieces that tile it; a piece that is itself a token
// is taken whole (when `whole_piece_first`), otherwise BPE merges its bytes. Text that looks like a
// special token ("<|begin_of_text|>") is ordinary text here, as in tiktoken's encode_ordinary. On valid
// UTF-8 the ids equal tiktoken's (rank files) or Hugging Face tokenizers' (tokenizer.json).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "infer/tokenizers/tokenizer.h"

namespace lmc {

enum class TokenRole : uint8_t {
  kMergeable,  // a BPE vocabulary entry: the bytes it stands for
  kSpecial,    // control token (BOS, EOS, reserved): never produced by encode, decodes to ""
  kAdded,      // a non-special added token: never produced by encode, decodes to its text
};

struct ByteBpeModel {
  std::string kind;                   // Tokenizer::kind(): "tiktoken" or "hf-bpe"
  std::vector<std::string> pieces;    // id -> bytes (the name, for specials); ids are dense from 0
  std::vector<TokenRole> roles;       // id -> role
  // true: a pair merges when its concatenation is a token, with that token's id as priority (tiktoken
  // ranks). false: only the pairs in `merges`, by position in the list (tokenizer.json).
  bool merge_by_rank = true;
  std::vector<std::pair<TokenId, TokenId>> merges;
  bool whole_piece_first = true;      // tiktoken always; tokenizer.json's "ignore_merges"
  std::string pattern;                // pre-tokenizer regex; empty: no splitting
  std::optional<TokenId> bos;
  std::optional<TokenId> eos;
};

// Validates the model (all 256 single-byte tokens present, merges consistent) and indexes it.
std::unique_ptr<Tokenizer> make_byte_bpe_tokenizer(ByteBpeModel model);

}  // namespace lmc
