// The options every model-running subcommand shares (--model, --device, --dtype, --threads) and the
// one place that turns them into a loaded model and tokenizer.
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
  std::string device = "cpu";
  std::string dtype = "auto";
  int threads = 0;  // 0: torch's default
};

void add_model_options(CLI::App& command, ModelOptions& options, bool model_required);

struct LoadedModel {
  LlamaForCausalLM model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
};

// Sets the thread count, loads the model and its directory's tokenizer.
LoadedModel load_model(const ModelOptions& options);

}  // namespace lmc::apps
