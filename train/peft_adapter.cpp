#include "train/peft_adapter.h"

#include <cmath>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "common/error.h"
#include "train/tensor_restore.h"

namespace lmc::train {
namespace fs = std::filesystem;

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
    write_safetensors(dir / "adapter_model.safetensors", tensors);
    nlohmann::json config = {
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
    write_file_atomically(dir / "adapter_config.json", config.dump(2) + "\n");
  });
}

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path.filename().string());
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(path.filename().string() + " is not a JSON object");
  return j;
}

}  // namespace

void load_peft_adapter(const fs::path& dir, const AdaptedLinears& adapted) {
  with_context("loading adapter " + dir.string(), [&] {
    if (!fs::is_directory(dir)) throw Error("not a directory");
    if (adapted.empty()) throw Error("the model carries no LoRA adapter to load into");
    const nlohmann::json config = read_json(dir / "adapter_config.json");
    const LoraSpec& spec = adapted.front().second->lora_spec();
    std::vector<std::string> problems;
    if (config.value("peft_type", std::string("LORA")) != "LORA") problems.push_back("peft_type is not LORA");
    const int64_t rank = config.value("r", int64_t{8});
    const double alpha = config.value("lora_alpha", 8.0);
    const bool rslora = config.value("use_rslora", false);
    if (rank != spec.rank) {
      problems.push_back("r is " + std::to_string(rank) + ", the recipe's lora.rank is " + std::to_string(spec.rank));
    }
    if (std::abs(alpha - spec.alpha) > 1e-9 * std::abs(spec.alpha)) {
      problems.push_back("lora_alpha is " + std::to_string(alpha) + ", the recipe's lora.alpha is " +
                         std::to_string(spec.alpha));
    }
    if (rslora != spec.use_rslora) problems.push_back("use_rslora differs from the recipe's lora.use_rslora");

    if (!problems.empty()) {
      std::string text;
      for (size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
      throw Error("adapter_config.json: " + text);
    }
    std::vector<std::pair<std::string, at::Tensor>> targets;
    for (const auto& [prefix, linear] : adapted) {
      targets.emplace_back(peft_key(prefix, "lora_A"), linear->lora_A);
      targets.emplace_back(peft_key(prefix, "lora_B"), linear->lora_B);
    }
    restore_tensors(targets, TensorSource::open(dir / "adapter_model.safetensors"), /*reject_unexpected=*/true);
  });
}

}  // namespace lmc::train
