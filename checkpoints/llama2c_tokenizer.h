// llama2.c's tokenizer.bin turned back into the SentencePiece model it was exported from, so lmc (and
// sentencepiece, and transformers' LlamaTokenizer) load it as a tokenizer.model.
// tokenizer.bin (llama2.c's tokenizer.py): int32 max_token_length, then per id a float32 score, an
// int32 byte length and the piece's bytes, with SentencePiece's U+2581 turned into a space and BOS/EOS
// written as "\n<s>\n" / "\n</s>\n". Undoing exactly that gives the original pieces and scores; the
// piece types follow from their spelling (<unk>, <s>, </s>, <0xNN> byte pieces, normal otherwise).
// tokenizer.bin does not record the normaliser: the model is written with the settings llama2.c's
// run.c assumes and Llama 2's tokenizer has (BPE, identity normalisation, dummy prefix, whitespace
// kept, byte fallback).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lmc {

struct Llama2cVocabulary {
  std::vector<std::string> pieces;  // as stored in tokenizer.bin
  std::vector<float> scores;
};

// Reads exactly `vocab_size` entries (the model's); throws naming the file and the entry at fault.
Llama2cVocabulary read_llama2c_tokenizer(const std::filesystem::path& path, int vocab_size);

// The serialized SentencePiece ModelProto (the bytes of a tokenizer.model).
std::string sentencepiece_model_from_llama2c(const Llama2cVocabulary& vocabulary);

}  // namespace lmc
