#include "train/dry_run.h"

#include <algorithm>
#include <cstdio>

#include "train/model_setup.h"

namespace lmc::train {
namespace {

// in/out features of each decoder projection, by PEFT name.
std::pair<int64_t, int64_t> projection_shape(const LlamaConfig& c, const std::string& name) {
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  if (name == "q_proj") return {c.hidden_size, q};
  if (name == "k_proj" || name == "v_proj") return {c.hidden_size, kv};
  if (name == "o_proj") return {q, c.hidden_size};
  if (name == "down_proj") return {c.intermediate_size, c.hidden_size};
  return {c.hidden_size, c.intermediate_size};  // gate_proj, up_proj
}

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

std::string count(int64_t n) {
  char text[32];
  if (n >= 1000000000) {
    std::snprintf(text, sizeof(text), "%.2fB", n / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(text, sizeof(text), "%.2fM", n / 1e6);
  } else {
    std::snprintf(text, sizeof(text), "%lld", static_cast<long long>(n));
  }
  return text;
}

}  // namespace

TrainingPlan plan_training(const Recipe& recipe) {
  TrainingPlan plan;
  plan.config = recipe_model_config(recipe);
  const LlamaConfig& c = plan.config;
  plan.parameters = c.num_parameters();
  const bool bf16 = recipe.dtype == "bf16";
  if (recipe.lora) {
    for (const auto& name : recipe.lora->target_modules) {
      auto [in, out] = projection_shape(c, name);
      plan.trainable += c.num_hidden_layers * recipe.lora->rank * (in + out);
    }
    // The frozen base in bf16 under autocast, fp32 otherwise; adapters in fp32.
    plan.weight_bytes = static_cast<double>(plan.parameters) * (bf16 ? 2 : 4) + plan.trainable * 4.0;
  } else {
    plan.trainable = plan.parameters;
    plan.weight_bytes = plan.parameters * 4.0;
  }
  plan.gradient_bytes = plan.trainable * 4.0;
  plan.optimizer_bytes = plan.trainable * 8.0;  // AdamW: two fp32 moments

  const double tokens = static_cast<double>(recipe.batch_size) * static_cast<double>(recipe.data.chunk_bytes + 1);
  plan.tokens_per_micro_batch = static_cast<int64_t>(tokens);
  const double act = bf16 ? 2.0 : 4.0;
  const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim);
  const double h = static_cast<double>(c.hidden_size), inter = static_cast<double>(c.intermediate_size);
  // Tensors autograd keeps per token in one decoder layer: the two norms' inputs and outputs, q/k/v,
  // the attention output, the MLP's gate, up, activation and product (fp32 norm internals included).
  const double per_layer_token = (8 * h + 2 * kv + 4 * inter) * act + 2 * h * 4.0;
  const double layers = static_cast<double>(c.num_hidden_layers);
  const double stack = recipe.activation_checkpointing ? tokens * (layers * h * act + per_layer_token)
                                                       : tokens * layers * per_layer_token;
  // Logits in the compute dtype, their fp32 copy and its gradient.
  const double logits = tokens * static_cast<double>(c.vocab_size) * (act + 8.0);
  plan.activation_bytes = stack + logits;
  return plan;
}

std::string describe_plan(const Recipe& recipe, const TrainingPlan& plan, double device_gib) {
  const LlamaConfig& c = plan.config;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "model: %lld layers, hidden %lld, intermediate %lld, heads %lld/%lld, vocab %lld\n",
                static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
                static_cast<long long>(c.intermediate_size), static_cast<long long>(c.num_attention_heads),
                static_cast<long long>(c.num_key_value_heads), static_cast<long long>(c.vocab_size));
  out += line;
  out += "parameters: " + count(plan.parameters) + " (" + std::to_string(plan.parameters) + ")\n";
  std::snprintf(line, sizeof(line), "trainable: %s (%lld, %.4f%%)%s\n", count(plan.trainable).c_str(),
                static_cast<long long>(plan.trainable), 100.0 * plan.trainable / std::max<int64_t>(1, plan.parameters),
                recipe.lora ? " LoRA adapters" : " full fine-tune");
  out += line;
  std::snprintf(line, sizeof(line), "micro-batch: %lld chunks of %lld bytes (<= %lld tokens), dtype %s%s\n",
                static_cast<long long>(recipe.batch_size), static_cast<long long>(recipe.data.chunk_bytes),
                static_cast<long long>(plan.tokens_per_micro_batch), recipe.dtype.c_str(),
                recipe.activation_checkpointing ? ", activation checkpointing" : "");
  out += line;
  out += "memory estimate per rank:\n";
  out += "  weights     " + gib(plan.weight_bytes) + "\n";
  out += "  gradients   " + gib(plan.gradient_bytes) + "\n";
  out += "  optimizer   " + gib(plan.optimizer_bytes) + "\n";
  out += "  activations " + gib(plan.activation_bytes) + " (upper bound)\n";
  out += "  total       " + gib(plan.total_bytes()) + "\n";
  const double limit = device_gib * 1024.0 * 1024.0 * 1024.0;
  std::snprintf(line, sizeof(line), "fits in %.0f GiB: %s\n", device_gib, plan.total_bytes() <= limit ? "yes" : "no");
  out += line;
  return out;
}

}  // namespace lmc::train
