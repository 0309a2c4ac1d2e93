#include "checkpoints/model_dir.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <set>

#include "checkpoints/safetensors.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return torch::kFloat;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  if (name == "fp16" || name == "float16") return torch::kHalf;
  throw Error("unknown dtype '" + name + "' (expected fp32, bf16 or fp16)");
}

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat: return "fp32";
    case torch::kBFloat16: return "bf16";
    case torch::kHalf: return "fp16";
    default: throw Error(std::string("dtype ") + c10::toString(dtype) + " is not a model dtype");
  }
}

torch::Device parse_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw Error("unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
  }
  if (device->is_cuda() && !torch::cuda::is_available()) {
    throw Error("device '" + name + "' asked for, but CUDA is not available on this machine (use --device cpu)");
  }
  if (!device->is_cpu() && !device->is_cuda()) throw Error("device '" + name + "' is not supported (cpu or cuda)");
  return *device;
}

namespace {

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::ScalarType default_dtype(const LlamaConfig& config, const torch::Device& device) {
  if (device.is_cpu()) return torch::kFloat;
  const std::string& stored = config.torch_dtype;
  if (stored == "bfloat16" || stored == "float16" || stored == "float32") return parse_dtype(stored);
  return torch::kFloat;
}

// Names a checkpoint may carry that lmc's model deliberately has no parameter for.
bool ignorable(const std::string& name, const LlamaConfig& config) {
  return name.ends_with("rotary_emb.inv_freq") || (config.tie_word_embeddings && name == "lm_head.weight");
}

}  // namespace

void check_llama_tensors(const TensorSource& source, LlamaForCausalLM& model) {
  const LlamaConfig& config = model->config();
  std::vector<std::string> missing, mismatched;
  std::set<std::string> expected;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    expected.insert(name);
    if (!source.contains(name)) {
      missing.push_back(name);
      continue;
    }
    const at::IntArrayRef stored(source.info(name).shape);
    if (stored != item.value().sizes()) {
      mismatched.push_back("'" + name + "' has shape " + shape_string(stored) + ", expected " +
                           shape_string(item.value().sizes()));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& name : source.names()) {
    if (!expected.count(name) && !ignorable(name, config)) unexpected.push_back(name);
  }
  std::string problems;
  auto report = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    problems += problems.empty() ? "" : "; ";
    problems += what + std::string(" (") + std::to_string(names.size()) + "): ";
    for (size_t i = 0; i < names.size() && i < 8; ++i) problems += (i ? ", " : "") + names[i];
    if (names.size() > 8) problems += ", ...";
  };
  report("shape mismatch", mismatched);
  report("missing tensors", missing);
  report("unexpected tensors", unexpected);
  if (!problems.empty()) throw Error(problems);
}

LlamaForCausalLM load_llama(const fs::path& model_dir, const ModelLoadOptions& options) {
  return with_context("loading model " + model_dir.string(), [&] {
    if (!fs::is_directory(model_dir)) throw Error("not a directory");
    LlamaConfig config = LlamaConfig::load(model_dir / "config.json");
    const torch::ScalarType dtype = options.dtype.value_or(default_dtype(config, options.device));
    TensorSource source = TensorSource::open(model_dir);

    // Parameters are allocated lazily (uninitialized, untouched pages) and replaced one by one, so
    // peak memory stays near one copy of the weights.
    LlamaForCausalLM model(config, torch::TensorOptions().dtype(dtype).device(options.device));
    check_llama_tensors(source, model);
    at::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      // Same dtype on CPU: the parameter keeps viewing the copy-on-write mapping, no copy at all.
      item.value().set_data(source.tensor(item.key()).to(options.device, dtype));
    }
    model->eval();
    return model;
  });
}

CheckpointSummary summarize_checkpoint(const fs::path& model_dir) {
  return with_context("reading model " + model_dir.string(), [&] {
    if (!fs::is_directory(model_dir)) throw Error("not a directory");
    CheckpointSummary summary;
    summary.config = LlamaConfig::load(model_dir / "config.json");
    TensorSource source = TensorSource::open(model_dir);
    summary.shards = source.file_count();
    for (const auto& name : source.names()) {
      if (ignorable(name, summary.config) && name.ends_with("inv_freq")) continue;
      auto info = source.info(name);
      int64_t elements = 1;
      for (auto d : info.shape) elements *= d;
      summary.tensors += 1;
      summary.parameters += elements;
      summary.bytes += info.byte_size();
      summary.dtype_bytes[info.dtype] += info.byte_size();
    }
    return summary;
  });
}

}  // namespace lmc
