// The model a recipe trains: a Hugging Face checkpoint or a randomly initialised architecture, its
// tokenizer, and LoRA adapters when the recipe has a `lora` section (full fine-tune otherwise). Also
// how that model's trained weights are saved and restored: a PEFT adapter directory, or a complete
// Hugging Face model directory (config.json, model.safetensors, tokenizer files) that `lmc` and
// transformers load as any other.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "checkpoints/peft_adapter.h"
#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"
#include "train/lora.h"
#include "train/recipe.h"

namespace lmc::train {

struct TrainModel {
  LlamaForCausalLM model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
  AdaptedLinears adapted;  // empty: full fine-tune
  std::vector<std::string> target_modules;
  std::string base_model;  // the model path, or "random-init(seed=N)"
  std::filesystem::path tokenizer_path;  // where the tokenizer came from ("" for the byte tokenizer)

  bool lora() const { return !adapted.empty(); }
  // The adapter (PEFT) or the whole model (HF directory) into `dir`.
  void save_weights(const std::filesystem::path& dir) const;
  // What save_weights wrote, back into this model; throws lmc::Error on any mismatch.
  void load_weights(const std::filesystem::path& dir);
};

// The recipe's tokenizer: `bytes`, the file or directory it names, or the model directory's. `source`,
// if given, receives where it was read from (left alone for the byte tokenizer).
std::unique_ptr<Tokenizer> recipe_tokenizer(const Recipe& recipe, std::filesystem::path* source = nullptr);

// The architecture a recipe trains, read from config.json or the recipe alone (no weights loaded).
LlamaConfig recipe_model_config(const Recipe& recipe);

// Loads or initialises (from model.init_seed) the model on `device` in fp32 (a LoRA run under bf16 keeps
// the frozen base in bf16), loads the tokenizer, seeds the global generator with the recipe's seed and
// attaches adapters (drawn from it, or loaded from lora.init_from). The model is left in training mode.
TrainModel build_train_model(const Recipe& recipe, const at::Device& device);

}  // namespace lmc::train
