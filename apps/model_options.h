// The options every model-running subcommand shares (--model, --adapter, --device, --dtype, --threads)
// and the one place that turns them into a loaded model and tokenizer.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace CLI {
class App;
}

namespace lmc::apps {

struct ModelOptions {
  std::string model;
  std::string adapter;  // empty: the base model alone
  std::string device = "cpu";
  std::string dtype = "auto";
  int threads = 0;  // 0: torch's default
};

void add_model_options(CLI::App& command, ModelOptions& options);

// Where the shipped models live: $LMC_MODELS_DIR, else models/ beside the directory holding the lmc
// binary (the source tree, for build/lmc).
std::filesystem::path models_dir();
// The --model value: a model directory or a name under models/ (default, audio); models/default when empty.
std::filesystem::path resolve_model_path(const std::string& model);
// An --adapter value: a PEFT adapter directory, or a name under models/adapters/ (medical, legal, speech).
std::filesystem::path resolve_adapter_path(const std::string& adapter);

struct LoadedModel {
  LlamaForCausalLM model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
};

// Sets the thread count, loads the model and its directory's tokenizer, and attaches the adapter
// (unmerged: the base weights stay as stored, the adapter's path runs beside them).
LoadedModel load_model(const ModelOptions& options);

}  // namespace lmc::apps
