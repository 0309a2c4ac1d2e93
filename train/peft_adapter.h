// LoRA adapters in PEFT's on-disk format, so an adapter lmc trains loads with
// PeftModel.from_pretrained and an adapter from PEFT continues training in lmc: a directory holding
// adapter_config.json (peft_type LORA, r, lora_alpha, target_modules, ...) and adapter_model.safetensors
// with keys "base_model.model.<linear prefix>.lora_A.weight" [r, in] and "...lora_B.weight" [out, r].
// Only what lmc's LoRA can express: no bias training, no modules_to_save, no DoRA.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "infer/llama.h"

namespace lmc::train {

using AdaptedLinears = std::vector<std::pair<std::string, Linear>>;

// PEFT's key for one adapter factor: "base_model.model." + prefix + ".lora_A.weight".
std::string peft_key(const std::string& linear_prefix, const char* factor);

// Writes adapter_config.json and adapter_model.safetensors (fp32) into `dir` (created if needed); each
// file appears atomically. `base_model` goes to base_model_name_or_path.
void save_peft_adapter(const std::filesystem::path& dir, const AdaptedLinears& adapted,
                       const std::vector<std::string>& target_modules, const std::string& base_model);

// Copies the adapter in `dir` into the adapters already attached to `adapted`. Checks rank, alpha and
// rslora against each Linear's spec and every tensor's name and shape, and reports all mismatches at
// once; nothing is modified unless everything matches.
void load_peft_adapter(const std::filesystem::path& dir, const AdaptedLinears& adapted);

}  // namespace lmc::train
