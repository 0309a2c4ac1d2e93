// Bits per byte as the training objective. A batch holds chunks that each start from BOS; the model
// predicts every token of every chunk, and the loss is the tokens' cross-entropy in bits, summed, divided
// by the bytes those tokens cover (the chunks' bytes): the code length the compressor would pay per byte
// of original data. The forward may checkpoint each decoder layer and run under bf16 autocast.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc::train {

struct TokenBatch {
  at::Tensor input_ids;  // [B, T] int64: BOS then each chunk's tokens but the last, padded with BOS
  at::Tensor targets;    // [B, T] int64: each chunk's tokens, padded with kIgnoreIndex
  int64_t bytes = 0;     // bytes covered by the targets
  int64_t tokens = 0;    // real (unpadded) targets
};

inline constexpr int64_t kIgnoreIndex = -100;

// Rows of token ids (BOS excluded) and the byte length of each row's chunk. T = longest row.
TokenBatch make_token_batch(const std::vector<std::vector<TokenId>>& rows, const std::vector<int64_t>& bytes,
                            TokenId bos, const at::Device& device);

struct ForwardOptions {
  bool checkpoint_layers = false;               // recompute each decoder layer in backward
  std::optional<at::ScalarType> autocast;       // e.g. bf16: matmuls in bf16, loss in fp32
};

// -sum over targets of log2 p(target | prefix), an fp32 scalar attached to the autograd graph.
at::Tensor batch_bits(LlamaForCausalLM& model, const TokenBatch& batch, const ForwardOptions& options);

}  // namespace lmc::train
