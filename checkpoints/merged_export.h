// A base model with a LoRA adapter merged into its weights, written as a Hugging Face checkpoint that
// transformers (or anything else) loads without PEFT: config.json (torch_dtype set to the output
// dtype), model.safetensors or shards plus model.safetensors.index.json, and the base's tokenizer and
// generation files copied.
// Streaming: a block of rows at a time is read from the memory-mapped base, merged in fp32
// (W + alpha/r * B A, as PEFT's merge), cast, written at its place in the output and its pages handed
// back, so working memory is a few tens of megabytes whatever the model's size. The output directory appears whole
// or not at all. Without an adapter this is a re-export (dtype change, resharding).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include <c10/core/ScalarType.h>

namespace lmc {

struct ExportOptions {
  std::filesystem::path base;                    // a Hugging Face model directory lmc loads
  std::optional<std::filesystem::path> adapter;  // a PEFT LoRA adapter directory
  std::filesystem::path out;
  std::optional<c10::ScalarType> dtype;          // unset: the base's torch_dtype
  uint64_t max_shard_bytes = 5'000'000'000;      // transformers' default max_shard_size, "5GB"
  bool overwrite = false;                        // replace an existing `out`
};

struct ExportResult {
  std::vector<std::filesystem::path> files;  // every file of the output directory
  int64_t tensors = 0;
  int64_t merged = 0;   // tensors an adapter changed
  uint64_t bytes = 0;   // tensor data written
  c10::ScalarType dtype = c10::ScalarType::Float;
};

// Throws lmc::Error naming the file, tensor or option at fault; nothing is written then.
ExportResult export_merged(const ExportOptions& options);

// transformers' spelling of a model dtype: "float32", "bfloat16", "float16".
const char* hf_dtype_name(c10::ScalarType dtype);

}  // namespace lmc
