// Hugging Face model directories: config.json + model.safetensors (or a sharded index) + tokenizer
// files. Loads weights into lmc's LlamaForCausalLM by walking its named parameters, so every tensor
// the model needs is checked against the checkpoint (name, shape) and all problems are reported at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "infer/llama.h"

namespace lmc {

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16" -> dtype; throws naming the accepted spellings.
torch::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType dtype);  // "fp32", "bf16", "fp16"
// "cpu", "cuda", "cuda:1"; throws when CUDA is asked for but not available.
torch::Device parse_device(const std::string& name);

struct ModelLoadOptions {
  torch::Device device = torch::kCPU;
  // Unset: the checkpoint's dtype on CUDA, fp32 on CPU (few CPUs have fast bf16/fp16 matmuls).
  std::optional<torch::ScalarType> dtype;
};

class TensorSource;

// Checks that `source` holds every parameter of `model` with its shape and nothing else (bar what HF
// checkpoints may carry that lmc computes itself: rotary inv_freq, a tied lm_head); throws listing
// every problem. `model` may live on the meta device: only names and shapes are read.
void check_llama_tensors(const TensorSource& source, LlamaForCausalLM& model);

LlamaForCausalLM load_llama(const std::filesystem::path& model_dir, const ModelLoadOptions& options = {});

// What `lmc info` shows without loading weights: the tensors' dtypes and sizes from the headers.
struct CheckpointSummary {
  LlamaConfig config;
  int64_t tensors = 0;
  int64_t parameters = 0;                      // elements in the checkpoint's tensors
  int64_t bytes = 0;                           // bytes of tensor data
  std::map<std::string, int64_t> dtype_bytes;  // safetensors dtype -> bytes
  int64_t shards = 1;
};
CheckpointSummary summarize_checkpoint(const std::filesystem::path& model_dir);

}  // namespace lmc
