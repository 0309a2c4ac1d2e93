// LoRA on lmc's LLaMA, as PEFT applies it to a causal LM: an adapter on each decoder-layer projection whose
// name is among the targets (q_proj, ..., down_proj), everything else frozen, so only adapter parameters
// reach the optimizer. The adapter itself (A, B, scale, merge) lives in infer/linear.h; this file decides
// where adapters go and which parameters train. Saving and loading adapters is checkpoints/peft_adapter.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "infer/llama.h"

namespace lmc::train {

using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

// Adds an adapter to every decoder Linear whose last name component is in `target_modules`, in model
// order, drawing A from the global generator; freezes every other parameter. Adapter parameters are
// kept in fp32 whatever the base weights' dtype (the optimizer updates them). Returns the adapted
// Linears with their state-dict prefixes.
std::vector<std::pair<std::string, Linear>> attach_lora(LlamaForCausalLM& model, const LoraSpec& spec,
                                                        const std::vector<std::string>& target_modules);

// The parameters with requires_grad, by state-dict name, in registration order: the optimizer's list.
NamedParameters trainable_parameters(LlamaForCausalLM& model);

// Folds every adapter into its base weight (for export or fast inference) and back.
void merge_lora(LlamaForCausalLM& model);
void unmerge_lora(LlamaForCausalLM& model);

}  // namespace lmc::train
