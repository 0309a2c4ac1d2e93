// `lmc info MODEL_DIR`: the architecture, parameter count, dtypes and memory of a checkpoint, read from
// config.json and the safetensors headers without loading the weights.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "checkpoints/model_dir.h"

namespace lmc::apps {
namespace {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

void run_info(const std::string& model_dir, bool as_json) {
  CheckpointSummary s = summarize_checkpoint(model_dir);
  const LlamaConfig& c = s.config;
  // Memory to run: weights at their stored size, plus a KV cache of one 2048-token stream in that dtype.
  const int64_t element = s.parameters > 0 ? s.bytes / s.parameters : 4;
  const int64_t kv_per_token = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * element;
  if (as_json) {
    nlohmann::json j = {{"config", c.to_json()},          {"parameters", s.parameters},
                        {"tensors", s.tensors},           {"bytes", s.bytes},
                        {"shards", s.shards},             {"dtype_bytes", s.dtype_bytes},
                        {"kv_cache_bytes_per_token", kv_per_token}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "model        " << model_dir << "\n"
            << "architecture LlamaForCausalLM: " << c.num_hidden_layers << " layers, hidden " << c.hidden_size
            << ", intermediate " << c.intermediate_size << ", " << c.num_attention_heads << " heads / "
            << c.num_key_value_heads << " kv heads of " << c.head_dim << ", vocab " << c.vocab_size << "\n"
            << "rope         theta " << c.rope_theta << ", scaling " << c.rope_scaling.rope_type
            << (c.tie_word_embeddings ? ", tied embeddings" : ", untied embeddings") << "\n"
            << "parameters   " << s.parameters << " (" << s.tensors << " tensors in " << s.shards << " file"
            << (s.shards == 1 ? "" : "s") << ")\n";
  for (const auto& [dtype, bytes] : s.dtype_bytes) std::cout << "dtype        " << dtype << ": " << human_bytes(bytes) << "\n";
  std::cout << "memory       weights " << human_bytes(s.bytes) << " as stored, " << human_bytes(s.parameters * 4.0)
            << " in fp32; KV cache " << human_bytes(kv_per_token) << " per token per stream\n";
}

}  // namespace

void register_info_command(CLI::App& app) {
  auto* command = app.add_subcommand("info", "Show a model's architecture, parameters, dtypes and memory");
  auto model_dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  command->add_option("MODEL_DIR", *model_dir, "Hugging Face model directory")->required();
  command->add_flag("--json", *as_json, "print JSON");
  command->callback([=] { run_info(*model_dir, *as_json); });
}

}  // namespace lmc::apps
