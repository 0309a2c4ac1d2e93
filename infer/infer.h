// Public header of infer/: the LLaMA model, its config, and the tokenizer interface.
#pragma once

#include "infer/kv_cache.h"
#include "infer/linear.h"
#include "infer/llama.h"
#include "infer/llama_config.h"
#include "infer/tokenizers/tokenizer.h"
