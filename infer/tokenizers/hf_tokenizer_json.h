// Hugging Face tokenizer.json files holding a byte-level BPE (Llama 3, GPT-2 style): model.vocab and
// model.merges written in GPT-2's bytes-to-unicode alphabet, added_tokens, and the pre-tokenizer regex
// from a Split(Regex, "Isolated") pre-tokenizer or ByteLevel(use_regex) (GPT-2's pattern). BOS/EOS come
// from a tokenizer_config.json beside the file when it names them.
//
// Refused with a clear error, because lmc could not reproduce them losslessly or exactly: normalizers,
// ByteLevel(add_prefix_space), BPE dropout, subword prefixes/suffixes, non-BPE models, and BPE that is not
// byte-level (SentencePiece-style tokenizer.json, e.g. Llama 2's: use its tokenizer.model instead).
// Added tokens are never matched inside text (encode is "ordinary"), unlike tokenizers' encode.
#pragma once

#include <filesystem>
#include <string_view>

#include "infer/tokenizers/byte_bpe.h"

namespace lmc {

inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

ByteBpeModel read_hf_tokenizer_json(const std::filesystem::path& path);

}  // namespace lmc
