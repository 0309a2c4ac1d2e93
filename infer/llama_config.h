// LlamaConfig: the architecture hyper-parameters of a Hugging Face `LlamaForCausalLM`, read from and
// written to config.json. Reads both rope layouts (top-level rope_theta/rope_scaling, and the newer
// `rope_parameters`). Does not hold weights or tokenizer state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lmc {

struct RopeScaling {
  std::string rope_type = "default";  // "default" (none), "linear" or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;        // llama3 only
  double high_freq_factor = 4.0;       // llama3 only
  int64_t original_max_position_embeddings = 8192;  // llama3 only
};

struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype = "float32";  // the dtype the checkpoint was saved in
  std::string lmc_tokenizer;            // "bytes" declares lmc's byte tokenizer; empty otherwise

  // Throws lmc::Error naming the field on a missing or invalid value.
  static LlamaConfig from_json(const nlohmann::json& j);
  static LlamaConfig load(const std::filesystem::path& config_json);
  // The HF layout transformers reads back (top-level rope_theta / rope_scaling).
  nlohmann::json to_json() const;

  int64_t num_parameters() const;
};

}  // namespace lmc
