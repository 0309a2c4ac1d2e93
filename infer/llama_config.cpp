#include "infer/llama_config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace lmc {
namespace {

using nlohmann::json;

int64_t required_int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) throw Error(std::string("field '") + key + "' missing");
  if (!it->is_number_integer()) throw Error(std::string("field '") + key + "' is not an integer");
  int64_t value = it->get<int64_t>();
  if (value <= 0) throw Error(std::string("field '") + key + "' must be positive, got " + std::to_string(value));
  return value;
}

template <typename T>
T optional_value(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(std::string("field '") + key + "' has the wrong type: " + it->dump());
  }
}

std::vector<int64_t> int_or_list(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  if (it->is_array()) {
    std::vector<int64_t> ids;
    for (const auto& v : *it) {
      if (!v.is_number_integer()) throw Error(std::string("field '") + key + "' holds a non-integer: " + v.dump());
      ids.push_back(v.get<int64_t>());
    }
    return ids;
  }
  throw Error(std::string("field '") + key + "' must be an integer or a list of integers");
}

RopeScaling parse_rope_scaling(const json& r) {
  RopeScaling s;
  s.rope_type = optional_value<std::string>(r, "rope_type", optional_value<std::string>(r, "type", "default"));
  if (s.rope_type == "default") return s;
  if (s.rope_type != "llama3" && s.rope_type != "linear") {
    throw Error("rope_scaling type '" + s.rope_type + "' is not supported (default, linear, llama3)");
  }
  s.factor = optional_value<double>(r, "factor", 0.0);
  if (!(s.factor > 0)) throw Error("rope_scaling.factor must be positive");
  if (s.rope_type == "llama3") {
    s.low_freq_factor = optional_value<double>(r, "low_freq_factor", 1.0);
    s.high_freq_factor = optional_value<double>(r, "high_freq_factor", 4.0);
    s.original_max_position_embeddings = optional_value<int64_t>(r, "original_max_position_embeddings", 8192);
    if (!(s.high_freq_factor > s.low_freq_factor)) {
      throw Error("rope_scaling.high_freq_factor must exceed low_freq_factor");
    }
  }
  return s;
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& j) {
  if (!j.is_object()) throw Error("config is not a JSON object");
  std::string model_type = optional_value<std::string>(j, "model_type", "llama");
  if (model_type != "llama") throw Error("model_type '" + model_type + "' is not supported (llama)");
  std::string act = optional_value<std::string>(j, "hidden_act", "silu");
  if (act != "silu") throw Error("hidden_act '" + act + "' is not supported (silu)");

  LlamaConfig c;
  c.vocab_size = required_int(j, "vocab_size");
  c.hidden_size = required_int(j, "hidden_size");
  c.intermediate_size = required_int(j, "intermediate_size");
  c.num_hidden_layers = required_int(j, "num_hidden_layers");
  c.num_attention_heads = required_int(j, "num_attention_heads");
  c.num_key_value_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                              ? required_int(j, "num_key_value_heads")
                              : c.num_attention_heads;
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? required_int(j, "head_dim")
                                                                   : c.hidden_size / c.num_attention_heads;
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    throw Error("num_attention_heads (" + std::to_string(c.num_attention_heads) +
                ") is not a multiple of num_key_value_heads (" + std::to_string(c.num_key_value_heads) + ")");
  }
  if (!j.contains("head_dim") && c.hidden_size % c.num_attention_heads != 0) {
    throw Error("hidden_size is not a multiple of num_attention_heads and no head_dim is given");
  }
  if (c.head_dim % 2 != 0) throw Error("head_dim must be even for rotary embeddings");
  c.max_position_embeddings = optional_value<int64_t>(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = optional_value<double>(j, "rms_norm_eps", 1e-6);
  c.tie_word_embeddings = optional_value<bool>(j, "tie_word_embeddings", false);
  c.attention_bias = optional_value<bool>(j, "attention_bias", false);
  c.mlp_bias = optional_value<bool>(j, "mlp_bias", false);

  // transformers v5 keeps rope settings in `rope_parameters`; older configs at top level.
  if (auto rp = j.find("rope_parameters"); rp != j.end() && rp->is_object()) {
    c.rope_theta = optional_value<double>(*rp, "rope_theta", optional_value<double>(j, "rope_theta", 10000.0));
    c.rope_scaling = parse_rope_scaling(*rp);
  } else {
    c.rope_theta = optional_value<double>(j, "rope_theta", 10000.0);
    if (auto rs = j.find("rope_scaling"); rs != j.end() && rs->is_object()) c.rope_scaling = parse_rope_scaling(*rs);
  }
  if (!(c.rope_theta > 0)) throw Error("field 'rope_theta' must be positive");

  auto bos = int_or_list(j, "bos_token_id");
  if (!bos.empty()) c.bos_token_id = bos.front();
  c.eos_token_ids = int_or_list(j, "eos_token_id");
  c.torch_dtype = optional_value<std::string>(j, "torch_dtype", optional_value<std::string>(j, "dtype", "float32"));
  c.lmc_tokenizer = optional_value<std::string>(j, "lmc_tokenizer", "");
  return c;
}

LlamaConfig LlamaConfig::load(const std::filesystem::path& config_json) {
  return with_context(config_json.string(), [&] {
    std::ifstream in(config_json);
    if (!in) throw Error("cannot open");
    json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw Error("not valid JSON");
    return from_json(j);
  });
}

json LlamaConfig::to_json() const {
  json j = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"hidden_act", "silu"},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope_theta},
      {"tie_word_embeddings", tie_word_embeddings},
      {"attention_bias", attention_bias},
      {"mlp_bias", mlp_bias},
      {"torch_dtype", torch_dtype},
  };
  if (rope_scaling.rope_type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    j["rope_scaling"] = {{"rope_type", rope_scaling.rope_type}, {"factor", rope_scaling.factor}};
    if (rope_scaling.rope_type == "llama3") {
      j["rope_scaling"]["low_freq_factor"] = rope_scaling.low_freq_factor;
      j["rope_scaling"]["high_freq_factor"] = rope_scaling.high_freq_factor;
      j["rope_scaling"]["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
  }
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids.front();
  if (eos_token_ids.size() > 1) j["eos_token_id"] = eos_token_ids;
  if (!lmc_tokenizer.empty()) j["lmc_tokenizer"] = lmc_tokenizer;
  return j;
}

int64_t LlamaConfig::num_parameters() const {
  int64_t q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  int64_t attention = hidden_size * q * 2 + hidden_size * kv * 2;
  if (attention_bias) attention += q + 2 * kv + hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size + (mlp_bias ? 2 * intermediate_size + hidden_size : 0);
  int64_t per_layer = attention + mlp + 2 * hidden_size;
  int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return embeddings + num_hidden_layers * per_layer + hidden_size;
}

}  // namespace lmc
