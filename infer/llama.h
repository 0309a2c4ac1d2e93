// The LLaMA architecture as Hugging Face's LlamaForCausalLM implements it, as small LibTorch modules
// named after the HF state dict (model.layers.{i}.self_attn.q_proj.weight, ...), so loading a
// checkpoint is one loop over named_parameters(). Two entry points: forward() over whole sequences
// (training, scoring) and step() for B independent streams with a KV cache (the coder). No I/O here:
// checkpoints/ loads weights; tokenizers live in infer/tokenizers.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "infer/kv_cache.h"
#include "infer/linear.h"
#include "infer/llama_config.h"
#include "infer/rope.h"

namespace lmc {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions& options);
  // Normalises in fp32, casts back to x's dtype, then scales by weight (HF's order of operations).
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // [C]

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// What the attention of one layer needs about positions, built once per forward/step for all layers.
struct AttentionContext {
  RopeAngles rope;
  KVCache* cache = nullptr;            // step() only
  const CacheStep* step = nullptr;     // step(): where each stream's new token goes
};

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const LlamaConfig& config, const torch::TensorOptions& options);
  // x: [B, T, C] -> [B, T, C]; causal over T (forward) or over the cache (step, T == 1).
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& context, int64_t layer);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t num_heads_, num_kv_heads_, head_dim_;
};
TORCH_MODULE(LlamaAttention);

class LlamaMLPImpl : public torch::nn::Module {
 public:
  LlamaMLPImpl(const LlamaConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x))
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMLP);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const LlamaConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& context, int64_t layer);
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& ids);  // [...] int64 -> [..., C]
  torch::Tensor weight;                             // [V, C]
};
TORCH_MODULE(Embedding);

class LlamaModelImpl : public torch::nn::Module {
 public:
  LlamaModelImpl(const LlamaConfig& config, const torch::TensorOptions& options);
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  // Parameters are allocated uninitialized in `options`' dtype/device; load or init_weights() them.
  LlamaForCausalLMImpl(LlamaConfig config, const torch::TensorOptions& options);

  // input_ids: [B, T] int64 -> logits [B, T, V] (model dtype). Positions 0..T-1, causal.
  torch::Tensor forward(const torch::Tensor& input_ids);
  // The final hidden states [B, T, C] before lm_head (losses that chunk the vocabulary projection).
  torch::Tensor hidden_states(const torch::Tensor& input_ids);
  // hidden [..., C] -> logits [..., V] through lm_head (or the tied embedding).
  torch::Tensor logits(const torch::Tensor& hidden);

  // An empty cache for `batch` streams of up to `capacity` tokens, on the model's device and dtype.
  KVCache new_cache(int64_t batch, int64_t capacity) const;
  // One token per stream: tokens [B] int64 placed at positions [B] int64 (each < capacity), attending
  // to that stream's cached tokens at positions < its own. Returns logits [B, V] for the next token.
  torch::Tensor step(const torch::Tensor& tokens, const torch::Tensor& positions, KVCache& cache);

  // HF's _init_weights for training from scratch: normal(0, std) linear and embedding weights,
  // zero biases, unit norms; seeded by the caller's generator state.
  void init_weights(double std = 0.02);

  const LlamaConfig& config() const { return config_; }
  torch::Device device() const { return model->embed_tokens->weight.device(); }
  torch::ScalarType dtype() const { return model->embed_tokens->weight.scalar_type(); }
  // Each Linear of the decoder layers with its state-dict prefix ("model.layers.0.self_attn.q_proj").
  std::vector<std::pair<std::string, Linear>> named_linears();

  LlamaModel model{nullptr};
  Linear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  torch::Tensor run_layers(torch::Tensor x, const AttentionContext& context);

  LlamaConfig config_;
  torch::Tensor inv_freq_;  // [head_dim / 2] fp32, not a parameter (HF does not save it either)
};
TORCH_MODULE(LlamaForCausalLM);

}  // namespace lmc
