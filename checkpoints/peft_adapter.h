// LoRA adapters in PEFT's on-disk format, the one adapter format of lmc: `lmc train` writes it, and
// inference, export and training load it, so an adapter moves freely between lmc and PEFT. A directory
// holds adapter_config.json (peft_type LORA, r, lora_alpha, target_modules, ...) and
// adapter_model.safetensors with keys "base_model.model.<linear prefix>.lora_A.weight" [r, in] and
// "...lora_B.weight" [out, r].
// Only what lmc's LoRA expresses: adapters on the decoder projections (q/k/v/o, gate/up/down), no bias
// training, no modules_to_save, no DoRA, no per-module rank patterns; each is refused by name. PEFT's
// older pickled adapter_model.bin is not read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "infer/llama.h"

namespace lmc {

using AdaptedLinears = std::vector<std::pair<std::string, Linear>>;

struct PeftAdapterConfig {
  LoraSpec spec;
  // PEFT's target_modules: a list of names, each matching a module whose name is it or ends in "." + it,
  // or (target_regex) one regular expression the whole module name must match; "all-linear" is every
  // decoder projection.
  std::vector<std::string> target_modules;
  std::optional<std::string> target_regex;
  std::string base_model;  // base_model_name_or_path, informational

  // Whether PEFT would adapt the Linear named `prefix` ("model.layers.0.self_attn.q_proj").
  bool targets(const std::string& prefix) const;
};

// Reads and checks adapter_config.json in `dir`; every unsupported or invalid field is reported at once.
PeftAdapterConfig read_peft_adapter_config(const std::filesystem::path& dir);

// PEFT's key for one adapter factor: "base_model.model." + prefix + ".lora_A.weight".
std::string peft_key(const std::string& linear_prefix, const char* factor);

// Writes adapter_config.json and adapter_model.safetensors (fp32) into `dir` (created if needed); each
// file appears atomically. `base_model` goes to base_model_name_or_path.
void save_peft_adapter(const std::filesystem::path& dir, const AdaptedLinears& adapted,
                       const std::vector<std::string>& target_modules, const std::string& base_model);

// Copies the adapter in `dir` into the adapters already attached to `adapted` (training: resuming, or
// starting from an adapter). Checks rank, alpha and rslora against each Linear's spec and every
// tensor's name and shape, and reports all mismatches at once; nothing is modified unless all match.
void load_peft_adapter(const std::filesystem::path& dir, const AdaptedLinears& adapted);

// An adapter read for a given base model and checked against it: each targeted Linear's factors, fp32
// on the CPU, in model order.
struct PeftAdapter {
  PeftAdapterConfig config;
  struct Factors {
    at::Tensor A;  // [r, in]
    at::Tensor B;  // [out, r]
  };
  std::vector<std::pair<std::string, Factors>> linears;

  const Factors* find(const std::string& prefix) const;
};

// Reads the adapter in `dir` for `model` (which may live on the meta device: only names and shapes are
// used). Refuses, naming the file and the tensor, target modules the model does not have, factors of
// the wrong shape (an adapter for another model), missing and unexpected tensors.
PeftAdapter read_peft_adapter(const std::filesystem::path& dir, LlamaForCausalLM& model);

// Inference: the adapter in `dir` attached, unmerged, to the Linears it targets, its factors in the
// model's dtype and device. The model is untouched when anything does not match.
AdaptedLinears apply_peft_adapter(LlamaForCausalLM& model, const std::filesystem::path& dir);

}  // namespace lmc
