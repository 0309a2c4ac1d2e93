// A 64-bit identity of everything that decides a model's predictions: the architecture (config), every
// parameter's name, shape, dtype and bytes (LoRA adapters included, merged or not), and the
// tokenizer's own fingerprint. Archives record it; decoding with anything else is refused, because a
// single differing bit in a weight would silently corrupt the output.
#pragma once

#include <cstdint>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

uint64_t model_fingerprint(LlamaForCausalLM& model, const Tokenizer& tokenizer);

}  // namespace lmc
