#include "checkpoints/merged_export.h"

#include <algorithm>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "checkpoints/model_dir.h"
#include "checkpoints/peft_adapter.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

namespace {

// Tensors are read, merged and written in blocks of rows of about this many fp32 bytes, so working
// memory stays far below the largest tensor (an 8B model's embedding is 2 GB in fp32).
constexpr int64_t kBlockBytes = int64_t{32} << 20;

// What a Hugging Face model directory holds besides config.json and the weights.
const char* const kCopiedFiles[] = {"tokenizer.json",         "tokenizer.model",    "tokenizer_config.json",
                                    "special_tokens_map.json", "added_tokens.json", "generation_config.json"};

nlohmann::json read_json_object(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path.string());
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(path.string() + " is not a JSON object");
  return j;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a) && fs::exists(b) && fs::equivalent(a, b, ec);
}

}  // namespace

const char* hf_dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Half: return "float16";
    default: throw Error(std::string("dtype ") + c10::toString(dtype) + " is not a model dtype");
  }
}

ExportResult export_merged(const ExportOptions& options) {
  return with_context("exporting " + options.base.string(), [&] {
    if (fs::exists(options.out) && !options.overwrite) {
      throw Error("'" + options.out.string() + "' already exists (use -f to replace it)");
    }
    if (same_directory(options.out, options.base)) throw Error("--out is the base model's own directory");
    if (options.adapter && same_directory(options.out, *options.adapter)) throw Error("--out is the adapter's directory");
    if (!fs::is_directory(options.base)) throw Error("not a directory");
    nlohmann::json config_json = read_json_object(options.base / "config.json");
    const LlamaConfig config = with_context("config.json", [&] { return LlamaConfig::from_json(config_json); });
    const TensorSource source = TensorSource::open(options.base);

    // The model's parameter names and shapes, allocating nothing: what to write, and what an adapter
    // is checked against.
    LlamaForCausalLM layout(config, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));
    check_llama_tensors(source, layout);
    std::optional<PeftAdapter> adapter;
    if (options.adapter) adapter = read_peft_adapter(*options.adapter, layout);

    ExportResult result;
    result.dtype = options.dtype.value_or(config.torch_dtype == "bfloat16"  ? at::kBFloat16
                                          : config.torch_dtype == "float16" ? at::kHalf
                                                                            : at::kFloat);
    std::vector<TensorSpec> specs;
    for (const auto& item : layout->named_parameters()) {
      specs.push_back({item.key(), result.dtype, item.value().sizes().vec()});
    }
    config_json["torch_dtype"] = hf_dtype_name(result.dtype);
    if (config_json.contains("dtype")) config_json["dtype"] = hf_dtype_name(result.dtype);

    write_directory_atomically(options.out, [&](const fs::path& dir) {
      ShardedWriter writer(dir, specs, options.max_shard_bytes);
      at::NoGradGuard no_grad;
      const double scale = adapter ? adapter->config.spec.scale() : 0.0;
      for (const auto& spec : specs) {
        const at::Tensor stored = source.tensor(spec.name);
        const PeftAdapter::Factors* factors =
            adapter && spec.name.ends_with(".weight") ? adapter->find(spec.name.substr(0, spec.name.size() - 7)) : nullptr;
        const int64_t rows = stored.size(0);
        const int64_t block = std::max<int64_t>(1, kBlockBytes / std::max<int64_t>(1, stored.numel() / rows * 4));
        for (int64_t first = 0; first < rows; first += block) {
          const int64_t n = std::min(block, rows - first);
          const at::Tensor part = stored.narrow(0, first, n);
          if (factors) {
            // The fp32 sum of Linear::merge_lora, built in one buffer: (B A) * scale + W.
            at::Tensor merged = at::matmul(factors->B.narrow(0, first, n), factors->A);  // [n, in]
            merged.mul_(scale).add_(part);
            writer.add_rows(spec.name, first, merged.to(result.dtype));
          } else {
            writer.add_rows(spec.name, first, part.to(result.dtype));
          }
          source.release(spec.name);
        }
        result.merged += factors ? 1 : 0;
        result.tensors += 1;
        result.bytes += static_cast<uint64_t>(spec.byte_size());
      }
      result.files = writer.finish();
      write_file_atomically(dir / "config.json", config_json.dump(2) + "\n");
      result.files.push_back(dir / "config.json");
      for (const char* name : kCopiedFiles) {
        if (!fs::exists(options.base / name)) continue;
        fs::copy_file(options.base / name, dir / name);
        result.files.push_back(dir / name);
      }
    });
    for (auto& file : result.files) file = options.out / file.filename();
    return result;
  });
}

}  // namespace lmc
