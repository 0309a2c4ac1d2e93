// tiktoken rank files (Llama 3's tokenizer.model): one line per token, `base64(token bytes) rank`.
// The ranks become the ids and must be exactly 0..n-1. Like Meta's llama3 tokenizer.py, 256 special
// tokens follow at n+i (<|begin_of_text|> = BOS, <|end_of_text|> = EOS, ...), which for Llama 3's 128000
// ranks gives 128000/128001 and a vocabulary of 128256. The pre-tokenizer is Llama 3's regex.
#pragma once

#include <filesystem>
#include <string_view>

#include "infer/tokenizers/byte_bpe.h"

namespace lmc {

inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr int kLlama3SpecialTokens = 256;

// True when the first line of `head` (a file's first bytes) reads `base64 rank`.
bool looks_like_tiktoken(std::string_view head);

// Throws lmc::Error naming the file and line on anything malformed.
ByteBpeModel read_tiktoken_model(const std::filesystem::path& path);

}  // namespace lmc
