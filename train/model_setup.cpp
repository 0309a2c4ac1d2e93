#include "train/model_setup.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "checkpoints/atomic_file.h"
#include "checkpoints/model_dir.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "checkpoints/tensor_restore.h"
#include "common/error.h"
#include "infer/tokenizers/load.h"

namespace lmc::train {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxShardBytes = uint64_t{5} << 30;  // transformers' default max_shard_size
// Tokenizer files of a Hugging Face directory, copied next to a saved full model.
const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                                       "special_tokens_map.json"};

}  // namespace

std::unique_ptr<Tokenizer> recipe_tokenizer(const Recipe& recipe, fs::path* source) {
  const std::string& name = recipe.tokenizer;
  if (name == "bytes") return make_byte_tokenizer();
  const fs::path path = name.empty() ? fs::path(recipe.model.path) : fs::path(name);
  if (source) *source = path;
  return with_context("loading the tokenizer", [&] { return load_tokenizer(path); });
}

LlamaConfig recipe_model_config(const Recipe& recipe) {
  if (recipe.model.from_scratch()) return LlamaConfig::from_json(recipe.model.architecture);
  return LlamaConfig::load(fs::path(recipe.model.path) / "config.json");
}

TrainModel build_train_model(const Recipe& recipe, const at::Device& device) {
  TrainModel out;
  out.tokenizer = recipe_tokenizer(recipe, &out.tokenizer_path);
  if (recipe.model.from_scratch()) {
    LlamaConfig config = LlamaConfig::from_json(recipe.model.architecture);
    out.model = LlamaForCausalLM(config, at::TensorOptions().dtype(at::kFloat).device(device));
    // Its own seed, so the base weights do not change with the run's seed (or with LoRA on/off).
    at::manual_seed(static_cast<uint64_t>(recipe.model.init_seed));
    out.model->init_weights(recipe.model.init_std);
    out.base_model = "random-init(seed=" + std::to_string(recipe.model.init_seed) + ")";
  } else {
    ModelLoadOptions load;
    load.device = device;
    // A LoRA run under bf16 never updates the base: load it in bf16 straight away.
    load.dtype = recipe.lora && recipe.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
    out.model = load_llama(recipe.model.path, load);
    out.base_model = recipe.model.path;
  }
  const LlamaConfig& config = out.model->config();
  if (out.tokenizer->vocab_size() > config.vocab_size) {
    throw Error("the tokenizer has " + std::to_string(out.tokenizer->vocab_size()) + " ids but the model's vocab_size is " +
                std::to_string(config.vocab_size));
  }
  at::manual_seed(static_cast<uint64_t>(recipe.seed));
  if (recipe.lora) {
    LoraSpec spec{recipe.lora->rank, recipe.lora->alpha, recipe.lora->dropout, recipe.lora->use_rslora};
    out.target_modules = recipe.lora->target_modules;
    out.adapted = attach_lora(out.model, spec, out.target_modules);
    if (!recipe.lora->init_from.empty()) load_peft_adapter(recipe.lora->init_from, out.adapted);
    if (recipe.dtype == "bf16") {
      // The frozen base only feeds autocast's bf16 matmuls: keep it in bf16, half the memory.
      at::NoGradGuard no_grad;
      for (auto& p : out.model->parameters()) {
        if (!p.requires_grad() && p.scalar_type() != at::kBFloat16) p.set_data(p.to(at::kBFloat16));
      }
    }
  }
  out.model->train();
  return out;
}

void TrainModel::save_weights(const fs::path& dir) const {
  if (lora()) {
    save_peft_adapter(dir, adapted, target_modules, base_model);
    return;
  }
  with_context("saving the model to " + dir.string(), [&] {
    fs::create_directories(dir);
    LlamaConfig config = model->config();
    config.torch_dtype = "float32";
    if (tokenizer->kind() == "bytes") config.lmc_tokenizer = "bytes";
    if (!config.bos_token_id && tokenizer->bos_id()) config.bos_token_id = *tokenizer->bos_id();
    NamedTensors tensors;
    for (const auto& item : model->named_parameters()) {
      tensors.emplace_back(item.key(), item.value().detach().to(at::kCPU).contiguous());
    }
    write_safetensors_sharded(dir, tensors, kMaxShardBytes);
    write_file_atomically(dir / "config.json", config.to_json().dump(2) + "\n");
    if (tokenizer_path.empty()) return;
    if (fs::is_directory(tokenizer_path)) {
      for (const char* name : kTokenizerFiles) {
        if (fs::exists(tokenizer_path / name)) {
          fs::copy_file(tokenizer_path / name, dir / name, fs::copy_options::overwrite_existing);
        }
      }
    } else {
      const bool json = tokenizer_path.extension() == ".json";
      fs::copy_file(tokenizer_path, dir / (json ? "tokenizer.json" : "tokenizer.model"),
                    fs::copy_options::overwrite_existing);
    }
  });
}

void TrainModel::load_weights(const fs::path& dir) {
  if (lora()) {
    load_peft_adapter(dir, adapted);
    return;
  }
  with_context("loading model weights from " + dir.string(), [&] {
    std::vector<std::pair<std::string, at::Tensor>> targets;
    for (const auto& item : model->named_parameters()) targets.emplace_back(item.key(), item.value());
    restore_tensors(targets, TensorSource::open(dir), /*reject_unexpected=*/true);
  });
}

}  // namespace lmc::train
