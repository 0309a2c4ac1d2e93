// Cross-entropy of byte chunks under a model: each chunk is tokenized on its own, BOS first, and scored
// with one full forward, so bits per byte count every byte of the input. This is the model's ideal code
// length; codec/ measures what the arithmetic coder actually achieves.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

struct ChunkScore {
  int64_t bytes = 0;
  int64_t tokens = 0;  // tokens coded (BOS excluded)
  double bits = 0.0;   // -sum log2 p(token | prefix), computed from fp32 log-softmax
};

// The id every chunk starts from: the tokenizer's BOS, else the config's; throws if neither has one.
TokenId start_token(const LlamaConfig& config, const Tokenizer& tokenizer);

// Scores `chunks` in batches of up to `batch_size` (right-padded; causal attention keeps padding from
// reaching real positions). Runs under inference mode on the model's device.
std::vector<ChunkScore> score_chunks(LlamaForCausalLM& model, const Tokenizer& tokenizer,
                                     const std::vector<std::string_view>& chunks, int64_t batch_size = 8);

// Cuts `bytes` into consecutive pieces of `chunk_bytes` (the last one shorter; none for empty input).
std::vector<std::string_view> split_chunks(std::string_view bytes, int64_t chunk_bytes);

// Throws lmc::Error when a chunk of `tokens` tokens (after BOS) has more positions than the model was
// built for: its logits there would be extrapolation, not the model's. The message suggests a smaller
// --chunk-bytes; `hint` false leaves that out (a decoder has no choice of chunk size).
void check_fits_context(const LlamaConfig& config, int64_t tokens, bool hint = true);

}  // namespace lmc
