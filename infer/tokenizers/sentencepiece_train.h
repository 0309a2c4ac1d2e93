// Trains a SentencePiece model for lmc's own small models, configured so SentencePiece itself is
// lossless on valid UTF-8: BPE, identity normalisation, no dummy prefix, whitespace kept as is
// (remove_extra_whitespaces=false, whitespace-only pieces allowed), byte fallback, digits split.
// Input files are read line by line (SentencePiece's sentences); the model is written to `output`
// through a temporary file, so a failed run leaves no partial model behind. No vocabulary file is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace lmc {

struct SentencePieceTrainOptions {
  std::vector<std::filesystem::path> inputs;
  int vocab_size = 0;
  std::filesystem::path output;
  // SentencePiece samples at most this many lines (shuffled) to bound memory on large corpora.
  int64_t max_sentences = 2'000'000;
  int threads = 0;  // 0: all hardware threads
};

// Throws lmc::Error (SentencePiece's message, with context) on bad options or input.
void train_sentencepiece(const SentencePieceTrainOptions& options);

}  // namespace lmc
