#include "checkpoints/peft_adapter.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "checkpoints/tensor_restore.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
constexpr const char* kAllLinear = "all-linear";  // PEFT's shorthand for every linear but the output layer

std::string join(const std::vector<std::string>& parts) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? "; " : "") + parts[i];
  return text;
}

json read_config_json(const fs::path& dir) {
  const fs::path path = dir / kConfigFile;
  if (!fs::exists(path)) {
    throw Error(std::string(kConfigFile) + ": no such file (a PEFT adapter directory holds " + kConfigFile + " and " +
                kWeightsFile + ")");
  }
  std::ifstream in(path);
  if (!in) throw Error(std::string("cannot open ") + kConfigFile);
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(std::string(kConfigFile) + " is not a JSON object");
  return j;
}

// A field's value, or `fallback` when absent or null; a value of the wrong type becomes a problem.
template <typename T>
T field(const json& j, const char* key, T fallback, std::vector<std::string>& problems) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    problems.push_back(std::string(key) + " has the wrong type (" + it->dump() + ")");
    return fallback;
  }
}

// Whether a field that lmc cannot honour is absent or holds its neutral value.
bool empty_or_null(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() || (it->is_boolean() && !it->get<bool>()) ||
         ((it->is_array() || it->is_object()) && it->empty());
}

bool matches_name(const std::string& prefix, const std::string& target) {
  return prefix == target || prefix.ends_with("." + target);
}

}  // namespace

bool PeftAdapterConfig::targets(const std::string& prefix) const {
  if (target_regex) return *target_regex == kAllLinear || std::regex_match(prefix, std::regex(*target_regex));
  for (const auto& target : target_modules) {
    if (matches_name(prefix, target)) return true;
  }
  return false;
}

PeftAdapterConfig read_peft_adapter_config(const fs::path& dir) {
  const json j = read_config_json(dir);
  std::vector<std::string> problems;
  PeftAdapterConfig config;
  const auto peft_type = field<std::string>(j, "peft_type", "LORA", problems);
  if (peft_type != "LORA") problems.push_back("peft_type is " + peft_type + ", lmc reads LORA adapters only");
  const auto task_type = field<std::string>(j, "task_type", "CAUSAL_LM", problems);
  if (task_type != "CAUSAL_LM") {
    problems.push_back("task_type is " + task_type + ", expected CAUSAL_LM (an adapter for another kind of model)");
  }
  config.spec.rank = field<int64_t>(j, "r", 8, problems);
  if (config.spec.rank <= 0) problems.push_back("r must be positive, got " + std::to_string(config.spec.rank));
  config.spec.alpha = field<double>(j, "lora_alpha", 8.0, problems);
  config.spec.dropout = field<double>(j, "lora_dropout", 0.0, problems);
  config.spec.use_rslora = field<bool>(j, "use_rslora", false, problems);
  config.base_model = field<std::string>(j, "base_model_name_or_path", "", problems);

  auto targets = j.find("target_modules");
  if (targets == j.end() || targets->is_null()) {
    problems.push_back("target_modules is missing");
  } else if (targets->is_string()) {
    config.target_regex = targets->get<std::string>();
    try {
      std::regex check(*config.target_regex);
    } catch (const std::regex_error&) {
      problems.push_back("target_modules '" + *config.target_regex + "' is not a valid regular expression");
    }
  } else {
    config.target_modules = field<std::vector<std::string>>(j, "target_modules", {}, problems);
    if (config.target_modules.empty()) problems.push_back("target_modules names no module");
  }

  if (field<std::string>(j, "bias", "none", problems) != "none") {
    problems.push_back("bias is " + j.at("bias").dump() + ", lmc adapters train no biases (expected \"none\")");
  }
  const std::pair<const char*, const char*> unsupported[] = {
      {"fan_in_fan_out", "transposed (Conv1D) weights"},
      {"use_dora", "DoRA"},
      {"modules_to_save", "fully trained extra modules"},
      {"layers_to_transform", "adapting a subset of layers"},
      {"rank_pattern", "per-module ranks"},
      {"alpha_pattern", "per-module alphas"},
      {"exclude_modules", "excluding modules from the targets"},
      {"lora_bias", "a bias on lora_B"},
      {"layer_replication", "replicated layers"},
      {"target_parameters", "adapting parameters of non-Linear modules"},
      {"trainable_token_indices", "training single embedding rows"},
      {"use_qalora", "QALoRA"},
  };
  for (const auto& [key, what] : unsupported) {
    if (!empty_or_null(j, key)) problems.push_back(std::string(key) + " is set (" + what + " is not supported)");
  }
  if (!problems.empty()) throw Error(std::string(kConfigFile) + ": " + join(problems));
  return config;
}

std::string peft_key(const std::string& linear_prefix, const char* factor) {
  return "base_model.model." + linear_prefix + "." + factor + ".weight";
}

void save_peft_adapter(const fs::path& dir, const AdaptedLinears& adapted, const std::vector<std::string>& target_modules,
                       const std::string& base_model) {
  with_context("saving adapter to " + dir.string(), [&] {
    if (adapted.empty()) throw Error("the model carries no LoRA adapter");
    const LoraSpec& spec = adapted.front().second->lora_spec();
    fs::create_directories(dir);
    NamedTensors tensors;
    for (const auto& [prefix, linear] : adapted) {
      tensors.emplace_back(peft_key(prefix, "lora_A"), linear->lora_A.detach().to(at::kCPU, at::kFloat).contiguous());
      tensors.emplace_back(peft_key(prefix, "lora_B"), linear->lora_B.detach().to(at::kCPU, at::kFloat).contiguous());
    }
    write_safetensors(dir / kWeightsFile, tensors);
    json config = {
        {"peft_type", "LORA"},
        {"task_type", "CAUSAL_LM"},
        {"r", spec.rank},
        {"lora_alpha", spec.alpha},
        {"lora_dropout", spec.dropout},
        {"use_rslora", spec.use_rslora},
        {"target_modules", target_modules},
        {"bias", "none"},
        {"fan_in_fan_out", false},
        {"init_lora_weights", true},
        {"modules_to_save", nullptr},
        {"inference_mode", true},
        {"base_model_name_or_path", base_model},
    };
    write_file_atomically(dir / kConfigFile, config.dump(2) + "\n");
  });
}

void load_peft_adapter(const fs::path& dir, const AdaptedLinears& adapted) {
  with_context("loading adapter " + dir.string(), [&] {
    if (!fs::is_directory(dir)) throw Error("not a directory");
    if (adapted.empty()) throw Error("the model carries no LoRA adapter to load into");
    const PeftAdapterConfig config = read_peft_adapter_config(dir);
    const LoraSpec& spec = adapted.front().second->lora_spec();
    std::vector<std::string> problems;
    if (config.spec.rank != spec.rank) {
      problems.push_back("r is " + std::to_string(config.spec.rank) + ", the recipe's lora.rank is " +
                         std::to_string(spec.rank));
    }
    if (std::abs(config.spec.alpha - spec.alpha) > 1e-9 * std::abs(spec.alpha)) {
      problems.push_back("lora_alpha is " + std::to_string(config.spec.alpha) + ", the recipe's lora.alpha is " +
                         std::to_string(spec.alpha));
    }
    if (config.spec.use_rslora != spec.use_rslora) problems.push_back("use_rslora differs from the recipe's lora.use_rslora");
    if (!problems.empty()) throw Error(std::string(kConfigFile) + ": " + join(problems));
    std::vector<std::pair<std::string, at::Tensor>> targets;
    for (const auto& [prefix, linear] : adapted) {
      targets.emplace_back(peft_key(prefix, "lora_A"), linear->lora_A);
      targets.emplace_back(peft_key(prefix, "lora_B"), linear->lora_B);
    }
    restore_tensors(targets, TensorSource::open(dir / kWeightsFile), /*reject_unexpected=*/true);
  });
}

const PeftAdapter::Factors* PeftAdapter::find(const std::string& prefix) const {
  for (const auto& [name, factors] : linears) {
    if (name == prefix) return &factors;
  }
  return nullptr;
}

PeftAdapter read_peft_adapter(const fs::path& dir, LlamaForCausalLM& model) {
  return with_context("loading adapter " + dir.string(), [&] {
    if (!fs::is_directory(dir)) throw Error("not a directory");
    PeftAdapter adapter{read_peft_adapter_config(dir), {}};
    const PeftAdapterConfig& config = adapter.config;
    const fs::path weights = dir / kWeightsFile;
    if (!fs::exists(weights)) {
      if (fs::exists(dir / "adapter_model.bin")) {
        throw Error(std::string("adapter_model.bin (a pickle) is not read: save the adapter with safe_serialization=True "
                                "to get ") + kWeightsFile);
      }
      throw Error(std::string(kWeightsFile) + ": no such file");
    }

    const AdaptedLinears linears = model->named_linears();
    std::vector<std::string> unmatched;
    for (const auto& target : config.target_modules) {
      bool found = false;
      for (const auto& [prefix, linear] : linears) found = found || matches_name(prefix, target);
      if (!found) unmatched.push_back("'" + target + "'");
    }
    if (config.target_regex && std::none_of(linears.begin(), linears.end(), [&](const auto& l) { return config.targets(l.first); })) {
      unmatched.push_back("regex '" + *config.target_regex + "'");
    }
    if (!unmatched.empty()) {
      std::string list;
      for (size_t i = 0; i < unmatched.size(); ++i) list += (i ? ", " : "") + unmatched[i];
      throw Error(std::string(kConfigFile) + ": target module " + list +
                  " matches no module of the model (lmc adapts q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
                  "down_proj)");
    }

    const int64_t rank = config.spec.rank;
    std::vector<std::pair<std::string, at::Tensor>> targets;
    for (const auto& [prefix, linear] : linears) {
      if (!config.targets(prefix)) continue;
      PeftAdapter::Factors factors{at::empty({rank, linear->in_features()}, at::kFloat),
                                   at::empty({linear->out_features(), rank}, at::kFloat)};
      targets.emplace_back(peft_key(prefix, "lora_A"), factors.A);
      targets.emplace_back(peft_key(prefix, "lora_B"), factors.B);
      adapter.linears.emplace_back(prefix, factors);
    }
    with_context(kWeightsFile, [&] { restore_tensors(targets, TensorSource::open(weights), /*reject_unexpected=*/true); });
    return adapter;
  });
}

AdaptedLinears apply_peft_adapter(LlamaForCausalLM& model, const fs::path& dir) {
  const PeftAdapter adapter = read_peft_adapter(dir, model);
  AdaptedLinears adapted;
  for (auto& [prefix, linear] : model->named_linears()) {
    const PeftAdapter::Factors* factors = adapter.find(prefix);
    if (!factors) continue;
    if (linear->has_lora()) throw Error("loading adapter " + dir.string() + ": the model already carries an adapter");
    adapted.emplace_back(prefix, linear);
  }
  at::NoGradGuard no_grad;
  for (auto& [prefix, linear] : adapted) {
    const PeftAdapter::Factors& factors = *adapter.find(prefix);
    linear->add_lora(adapter.config.spec);
    linear->lora_A.copy_(factors.A);
    linear->lora_B.copy_(factors.B);
  }
  return adapted;
}

}  // namespace lmc
