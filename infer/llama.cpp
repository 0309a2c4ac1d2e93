#include "infer/llama.h"

#include "infer/row_linear.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "common/error.h"

namespace lmc {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions& options) : eps_(eps) {
  weight = register_parameter("weight", at::empty({dim}, options));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c, const torch::TensorOptions& options)
    : num_heads_(c.num_attention_heads), num_kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, num_heads_ * head_dim_, c.attention_bias, options));
  k_proj = register_module("k_proj", Linear(c.hidden_size, num_kv_heads_ * head_dim_, c.attention_bias, options));
  v_proj = register_module("v_proj", Linear(c.hidden_size, num_kv_heads_ * head_dim_, c.attention_bias, options));
  o_proj = register_module("o_proj", Linear(num_heads_ * head_dim_, c.hidden_size, c.attention_bias, options));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const AttentionContext& context, int64_t layer) {
  const int64_t batch = x.size(0), length = x.size(1);
  auto q = q_proj(x).view({batch, length, num_heads_, head_dim_}).transpose(1, 2);     // [B, H, T, D]
  auto k = k_proj(x).view({batch, length, num_kv_heads_, head_dim_}).transpose(1, 2);  // [B, KV, T, D]
  auto v = v_proj(x).view({batch, length, num_kv_heads_, head_dim_}).transpose(1, 2);  // [B, KV, T, D]
  q = apply_rope(q, context.rope);
  k = apply_rope(k, context.rope);
  torch::Tensor attended = context.cache == nullptr  // [B, H, T, D]
      ? at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true, std::nullopt,
                                         /*enable_gqa=*/num_kv_heads_ != num_heads_)
      : attend_cached(*context.cache, layer, *context.step, q, k, v);
  return o_proj(attended.transpose(1, 2).reshape({batch, length, num_heads_ * head_dim_}));
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c, const torch::TensorOptions& options) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, options));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, options));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, c.mlp_bias, options));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c, const torch::TensorOptions& options) {
  self_attn = register_module("self_attn", LlamaAttention(c, options));
  mlp = register_module("mlp", LlamaMLP(c, options));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const AttentionContext& context, int64_t layer) {
  auto h = x + self_attn(input_layernorm(x), context, layer);
  return h + mlp(post_attention_layernorm(h));
}

EmbeddingImpl::EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({vocab, dim}, options));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) { return at::embedding(weight, ids); }

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c, const torch::TensorOptions& options) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c, options));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(LlamaConfig config, const torch::TensorOptions& options)
    : config_(std::move(config)) {
  model = register_module("model", LlamaModel(config_, options));
  if (!config_.tie_word_embeddings) {
    lm_head = register_module("lm_head", Linear(config_.hidden_size, config_.vocab_size, false, options));
  }
  inv_freq_ = rope_inverse_frequencies(config_).to(options.device());
}

torch::Tensor LlamaForCausalLMImpl::run_layers(torch::Tensor x, const AttentionContext& context) {
  for (size_t i = 0; i < model->layers->size(); ++i) {
    x = model->layers[i]->as<LlamaDecoderLayer>()->forward(x, context, static_cast<int64_t>(i));
  }
  return model->norm(x);
}

torch::Tensor LlamaForCausalLMImpl::hidden_states(const torch::Tensor& input_ids) {
  if (input_ids.dim() != 2) throw Error("input_ids must be [batch, length]");
  auto x = model->embed_tokens(input_ids);  // [B, T, C]
  AttentionContext context;
  auto positions = at::arange(input_ids.size(1), input_ids.options().dtype(at::kLong));
  context.rope = rope_angles(inv_freq_, positions, x.scalar_type());  // [T, D]
  return run_layers(x, context);
}

torch::Tensor LlamaForCausalLMImpl::logits(const torch::Tensor& hidden) {
  return lm_head ? lm_head(hidden) : dense(hidden, model->embed_tokens->weight);
}

torch::Tensor LlamaForCausalLMImpl::forward(const torch::Tensor& input_ids) { return logits(hidden_states(input_ids)); }

KVCache LlamaForCausalLMImpl::new_cache(int64_t batch, int64_t capacity) const {
  KVCache cache;
  auto options = model->embed_tokens->weight.options().requires_grad(false);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    cache.keys.push_back(at::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim}, options));
    cache.values.push_back(at::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim}, options));
  }
  return cache;
}

torch::Tensor LlamaForCausalLMImpl::step(const torch::Tensor& tokens, const torch::Tensor& positions, KVCache& cache) {
  const int64_t batch = tokens.size(0);
  if (tokens.dim() != 1 || positions.dim() != 1 || positions.size(0) != batch) {
    throw Error("step() takes tokens [B] and positions [B]");
  }
  if (cache.batch() != batch) {
    throw Error("KV cache holds " + std::to_string(cache.batch()) + " streams, step() got " + std::to_string(batch));
  }
  const CacheStep cache_step = prepare_cache_step(cache, positions);
  AttentionContext context;
  context.cache = &cache;
  context.step = &cache_step;
  auto x = model->embed_tokens(tokens.to(device(), at::kLong)).unsqueeze(1);  // [B, 1, C]
  context.rope = rope_angles(inv_freq_, cache_step.positions.view({batch, 1, 1}), x.scalar_type());  // [B, 1, 1, D]
  return logits(run_layers(x, context)).squeeze(1);  // [B, V]
}

std::vector<std::pair<std::string, Linear>> LlamaForCausalLMImpl::named_linears() {
  std::vector<std::pair<std::string, Linear>> result;
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto layer = model->layers[i]->as<LlamaDecoderLayer>();
    std::string prefix = "model.layers." + std::to_string(i) + ".";
    auto& a = layer->self_attn;
    auto& m = layer->mlp;
    for (auto& [name, linear] : std::vector<std::pair<const char*, Linear>>{
             {"self_attn.q_proj", a->q_proj}, {"self_attn.k_proj", a->k_proj}, {"self_attn.v_proj", a->v_proj},
             {"self_attn.o_proj", a->o_proj}, {"mlp.gate_proj", m->gate_proj}, {"mlp.up_proj", m->up_proj},
             {"mlp.down_proj", m->down_proj}}) {
      result.emplace_back(prefix + name, linear);
    }
  }
  return result;
}

void LlamaForCausalLMImpl::init_weights(double std) {
  at::NoGradGuard no_grad;
  for (auto& [name, linear] : named_linears()) {
    torch::nn::init::normal_(linear->weight, 0.0, std);
    if (linear->bias.defined()) linear->bias.zero_();
  }
  torch::nn::init::normal_(model->embed_tokens->weight, 0.0, std);
  if (lm_head) torch::nn::init::normal_(lm_head->weight, 0.0, std);
  for (auto& p : named_parameters()) {
    if (p.key().ends_with("layernorm.weight") || p.key() == "model.norm.weight") p.value().fill_(1.0);
  }
}

}  // namespace lmc
