#include "apps/model_options.h"

#include <CLI/CLI.hpp>
#include <ATen/Parallel.h>

#include "checkpoints/model_dir.h"
#include "common/error.h"
#include "infer/tokenizers/load.h"

namespace lmc::apps {

void add_model_options(CLI::App& command, ModelOptions& options, bool model_required) {
  auto* model = command.add_option("--model", options.model, "Hugging Face model directory (config.json, safetensors)");
  if (model_required) model->required();
  command.add_option("--device", options.device, "cpu, cuda or cuda:N")->capture_default_str();
  command.add_option("--dtype", options.dtype, "auto, fp32, bf16 or fp16 (auto: fp32 on CPU, the checkpoint's on CUDA)")
      ->capture_default_str();
  command.add_option("--threads", options.threads, "intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

LoadedModel load_model(const ModelOptions& options) {
  if (options.threads > 0) at::set_num_threads(options.threads);
  ModelLoadOptions load;
  load.device = parse_device(options.device);
  if (options.dtype != "auto") load.dtype = parse_dtype(options.dtype);
  LoadedModel loaded;
  loaded.model = load_llama(options.model, load);
  loaded.tokenizer = with_context("loading the tokenizer of " + options.model,
                                  [&] { return load_tokenizer(options.model); });
  return loaded;
}

}  // namespace lmc::apps
