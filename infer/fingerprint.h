// A 64-bit identity of everything that decides a model's predictions: the architecture (config), every
// parameter's name, shape, dtype and bytes (LoRA adapters included, merged or not), each adapter's scale
// (alpha over rank, or its square root with rsLoRA) and whether it is merged, and the tokenizer's own
// fingerprint. Archives record it; decoding with anything else is refused, because a single differing
// bit in a weight would silently corrupt the output.
#pragma once

#include <cstdint>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

// `adapter_scales` false: without the adapters' scales and merged state, as archives before format 12
// recorded it (two adapters with the same weights and another lora_alpha shared one).
uint64_t model_fingerprint(LlamaForCausalLM& model, const Tokenizer& tokenizer, bool adapter_scales = true);

}  // namespace lmc
