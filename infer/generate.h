// The compressor's model used as a generator (as in "Language Modeling Is Compression"): token by token
// through the KV-cache step, sampling each next token at a temperature with nucleus (top-p) filtering,
// or the most probable one at temperature 0. The random draws come from a seeded mt19937_64, never
// from torch's generator, so a seed gives the same text on every run of the same build.
// Not here: tokenizing and printing (apps/cmd_generate.cpp), batching several prompts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include <ATen/core/Tensor.h>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

struct SamplingOptions {
  double temperature = 1.0;  // 0: argmax
  double top_p = 1.0;        // keep the most probable tokens whose probabilities reach top_p (1: all)
  uint64_t seed = 0;
};

class TokenSampler {
 public:
  explicit TokenSampler(const SamplingOptions& options);
  // logits [V] (any dtype or device) -> the next token.
  TokenId sample(const at::Tensor& logits);

 private:
  SamplingOptions options_;
  std::mt19937_64 random_;
};

// Feeds `prompt` (non-empty: it starts with BOS) into a fresh KV cache, then samples up to
// `max_new_tokens` tokens, handing each to `on_token` as it comes; stops before a token in `stop`.
// Throws when prompt + max_new_tokens exceeds the model's max_position_embeddings.
std::vector<TokenId> generate(LlamaForCausalLM& model, const std::vector<TokenId>& prompt, int64_t max_new_tokens,
                              const SamplingOptions& options, const std::vector<TokenId>& stop,
                              const std::function<void(TokenId)>& on_token);

}  // namespace lmc
