#include "train/lora.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "common/error.h"

namespace lmc::train {

std::vector<std::pair<std::string, Linear>> attach_lora(LlamaForCausalLM& model, const LoraSpec& spec,
                                                        const std::vector<std::string>& target_modules) {
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  std::vector<std::pair<std::string, Linear>> adapted;
  for (auto& [name, linear] : model->named_linears()) {
    const std::string leaf = name.substr(name.rfind('.') + 1);
    if (std::find(target_modules.begin(), target_modules.end(), leaf) == target_modules.end()) continue;
    linear->add_lora(spec);
    at::NoGradGuard no_grad;
    if (linear->lora_A.scalar_type() != at::kFloat) {
      linear->lora_A.set_data(linear->lora_A.to(at::kFloat));
      linear->lora_B.set_data(linear->lora_B.to(at::kFloat));
    }
    adapted.emplace_back(name, linear);
  }
  if (adapted.empty()) throw Error("no module of the model matches the LoRA target_modules");
  return adapted;
}

NamedParameters trainable_parameters(LlamaForCausalLM& model) {
  NamedParameters result;
  for (auto& item : model->named_parameters()) {
    if (item.value().requires_grad()) result.emplace_back(item.key(), item.value());
  }
  return result;
}

void merge_lora(LlamaForCausalLM& model) {
  for (auto& [name, linear] : model->named_linears()) {
    if (linear->has_lora()) linear->merge_lora();
  }
}

void unmerge_lora(LlamaForCausalLM& model) {
  for (auto& [name, linear] : model->named_linears()) {
    if (linear->has_lora()) linear->unmerge_lora();
  }
}

}  // namespace lmc::train
