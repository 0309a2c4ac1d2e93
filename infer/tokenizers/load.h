// Finding and loading a tokenizer: the one entry point the rest of lmc uses.
//
// PATH a directory (a model directory): tokenizer.json wins, else tokenizer.model (a tiktoken rank file
// or a SentencePiece model, told apart by content, not name), else lmc's byte tokenizer when config.json
// declares "lmc_tokenizer": "bytes". config.json's bos_token_id / eos_token_id (an int, or a list whose
// first element counts; null or absent keeps the tokenizer's own) override the tokenizer file's.
// PATH a file: a *.json file (or one starting with '{') is a tokenizer.json; anything else is a tiktoken
// rank file or a SentencePiece model by content.
// Every failure is an lmc::Error whose one-line message names the path and what was expected.
#pragma once

#include <filesystem>
#include <memory>

#include "infer/tokenizers/byte_tokenizer.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

}  // namespace lmc
