#include "train/objective.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "common/error.h"
#include "infer/rope.h"
#include "train/activation_checkpoint.h"
#include "train/autocast.h"

namespace lmc::train {
namespace {

// The decoder stack with each layer checkpointed: the same computation as LlamaForCausalLM's
// hidden_states(), with only the layers' inputs kept for backward.
at::Tensor checkpointed_hidden_states(LlamaForCausalLM& model, const at::Tensor& input_ids) {
  auto& decoder = model->model;
  at::Tensor x = decoder->embed_tokens(input_ids);  // [B, T, C]
  auto positions = at::arange(input_ids.size(1), input_ids.options());
  const at::Tensor inv_freq = rope_inverse_frequencies(model->config()).to(x.device());
  AttentionContext context;
  context.rope = rope_angles(inv_freq, positions, x.scalar_type());  // [T, D]
  for (size_t i = 0; i < decoder->layers->size(); ++i) {
    auto layer = decoder->layers[i]->as<LlamaDecoderLayer>();
    const int64_t index = static_cast<int64_t>(i);
    x = checkpoint([layer, context, index](const at::Tensor& h) { return layer->forward(h, context, index); }, x);
  }
  return decoder->norm(x);
}

}  // namespace

TokenBatch make_token_batch(const std::vector<std::vector<TokenId>>& rows, const std::vector<int64_t>& bytes,
                            TokenId bos, const at::Device& device) {
  if (rows.empty() || rows.size() != bytes.size()) throw Error("a batch needs one byte count per row");
  size_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  if (longest == 0) throw Error("a batch of empty chunks");
  const int64_t batch = static_cast<int64_t>(rows.size()), width = static_cast<int64_t>(longest);
  std::vector<int64_t> inputs(batch * width, bos), targets(batch * width, kIgnoreIndex);
  TokenBatch out;
  for (int64_t r = 0; r < batch; ++r) {
    const auto& row = rows[r];
    for (size_t t = 0; t < row.size(); ++t) {
      targets[r * width + t] = row[t];
      if (t + 1 < row.size()) inputs[r * width + t + 1] = row[t];
    }
    out.tokens += static_cast<int64_t>(row.size());
    out.bytes += bytes[r];
  }
  out.input_ids = at::tensor(inputs, at::kLong).view({batch, width}).to(device);
  out.targets = at::tensor(targets, at::kLong).view({batch, width}).to(device);
  return out;
}

at::Tensor batch_bits(LlamaForCausalLM& model, const TokenBatch& batch, const ForwardOptions& options) {
  at::Tensor logits;  // [B, T, V]
  {
    AutocastGuard autocast(batch.input_ids.device().type(), options.autocast);
    at::Tensor hidden = options.checkpoint_layers ? checkpointed_hidden_states(model, batch.input_ids)
                                                  : model->hidden_states(batch.input_ids);
    logits = model->logits(hidden);
  }
  const int64_t vocab = logits.size(-1);
  at::Tensor nats = at::cross_entropy_loss(logits.to(at::kFloat).view({-1, vocab}), batch.targets.view({-1}), {},
                                           at::Reduction::Sum, kIgnoreIndex);
  return nats / std::log(2.0);
}

}  // namespace lmc::train
