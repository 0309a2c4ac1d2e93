// LockstepPredictor: runs the B chunks of a group through the model's KV-cache step together, one
// token per chunk per step. Encoder and decoder drive it with the same group sizes and token counts, so
// they compute the same batched operations and get bit-identical logits; a whole-sequence forward
// (cheaper for the encoder alone) would differ from the decoder's steps in the last bits.
#pragma once

#include <vector>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

class LockstepPredictor {
 public:
  LockstepPredictor(LlamaForCausalLM model, TokenId bos);

  // Starts a group of `streams` chunks of at most `max_tokens` tokens each; the first step feeds BOS.
  void start(int64_t streams, int64_t max_tokens);
  // Feeds `previous[b]` (the token each stream emitted last; ignored at step 0, where BOS goes in;
  // negative for a stream already finished, which then gets BOS so both sides feed the same)
  // and returns fp32 logits [B, V] on the CPU, contiguous, for the next token of every stream.
  const float* step(const std::vector<TokenId>& previous);

  int64_t vocab_size() const { return vocab_; }
  int64_t streams() const { return streams_; }

 private:
  LlamaForCausalLM model_;
  TokenId bos_;
  int64_t vocab_;
  int64_t streams_ = 0;
  int64_t position_ = 0;
  KVCache cache_;
  torch::Tensor logits_;  // [B, V] fp32 CPU, the last step's output
};

}  // namespace lmc
