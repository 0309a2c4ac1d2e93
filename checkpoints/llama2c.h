// Importing karpathy/llama2.c checkpoints into a Hugging Face model directory that lmc and transformers
// load: config.json, model.safetensors (fp32), tokenizer.model, generation_config.json.
// Formats read: the legacy version-0 .bin (7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means an untied classifier stored last; fp32 tensors
// token embedding, attention norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final norm, RoPE tables,
// [classifier]) and version 1 (magic "ak42", version, the 7 int32, a shared-classifier byte, padded
// to 256 bytes; fp32 norms first, then embedding, wq ... w3, [classifier]). Not read: the quantized
// version 2. llama2.c rotates adjacent pairs of each head (q0,q1), (q2,q3), ...; HF pairs element i
// with i + head_dim/2, so the rows of wq and wk are permuted within each head, as transformers'
// convert_llama_weights_to_hf does. The rest of the architecture is fixed by run.c: rope_theta 10000,
// rms_norm_eps 1e-5, SiLU, BOS 1, EOS 2.
#pragma once

#include <filesystem>

#include "infer/llama_config.h"

namespace lmc {

struct Llama2cImport {
  LlamaConfig config;
  int version = 0;  // 0 (legacy) or 1
};

// Writes `out` (atomically; an existing `out` only with `overwrite`). Throws naming the file and the
// field when the checkpoint's size or header does not add up, or the tokenizer does not fit it.
Llama2cImport convert_llama2c(const std::filesystem::path& model_bin, const std::filesystem::path& tokenizer_bin,
                              const std::filesystem::path& out, bool overwrite);

}  // namespace lmc
