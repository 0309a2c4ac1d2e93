#include "apps/model_options.h"

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <ATen/Parallel.h>

#include "checkpoints/model_dir.h"
#include "checkpoints/peft_adapter.h"
#include "common/error.h"
#include "infer/tokenizers/load.h"

namespace lmc::apps {
namespace fs = std::filesystem;

void add_model_options(CLI::App& command, ModelOptions& options) {
  command.add_option("--model", options.model,
                     "Hugging Face model directory (config.json, safetensors), or a shipped model's name "
                     "(default, audio); default: models/default");
  command.add_option("--adapter", options.adapter,
                     "PEFT LoRA adapter directory, or medical, legal or speech for the default model's adapters; "
                     "applied unmerged on top of --model");
  command.add_option("--device", options.device, "cpu, cuda or cuda:N")->capture_default_str();
  command.add_option("--dtype", options.dtype, "auto, fp32, bf16 or fp16 (auto: fp32 on CPU, the checkpoint's on CUDA)")
      ->capture_default_str();
  command.add_option("--threads", options.threads, "intra-op threads (0: all cores)")
      ->check(CLI::Range(0, 4096));
}

fs::path models_dir() {
  if (const char* dir = std::getenv("LMC_MODELS_DIR"); dir && *dir) return dir;
  // build/lmc sits one level below the source tree's models/.
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot locate models/: /proc/self/exe is unreadable; set LMC_MODELS_DIR");
  return exe.parent_path().parent_path() / "models";
}

namespace {

// A directory as given, or, for a bare name that is not one, the shipped directory of that name under
// `shelf` (models/ or models/adapters/); `what` names the option in the error.
fs::path resolve_named(const std::string& value, const fs::path& shelf, const std::string& what) {
  const fs::path path(value);
  if (fs::exists(path)) return path;
  if (value.find('/') == std::string::npos) {
    const fs::path named = shelf / value;
    if (fs::is_directory(named)) return named;
    std::string known;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(shelf, error)) {
      if (entry.is_directory() && entry.path().filename() != "adapters") {
        known += (known.empty() ? "" : ", ") + entry.path().filename().string();
      }
    }
    throw Error(what + " '" + value + "': no such directory, nor a shipped " + what + " (" +
                (known.empty() ? "none installed" : known) + ")");
  }
  throw Error(what + " '" + value + "': no such directory");
}

}  // namespace

fs::path resolve_model_path(const std::string& model) {
  if (!model.empty()) return resolve_named(model, models_dir(), "model");
  const fs::path path = models_dir() / "default";
  if (!fs::is_directory(path)) {
    throw Error("no --model given and the default model is not at " + path.string() + " (set LMC_MODELS_DIR)");
  }
  return path;
}

fs::path resolve_adapter_path(const std::string& adapter) {
  return resolve_named(adapter, models_dir() / "adapters", "adapter");
}

LoadedModel load_model(const ModelOptions& options) {
  if (options.threads > 0) at::set_num_threads(options.threads);
  ModelLoadOptions load;
  load.device = parse_device(options.device);
  if (options.dtype != "auto") load.dtype = parse_dtype(options.dtype);
  LoadedModel loaded;
  const fs::path model_dir = resolve_model_path(options.model);
  loaded.model = load_llama(model_dir, load);
  if (!options.adapter.empty()) apply_peft_adapter(loaded.model, resolve_adapter_path(options.adapter));
  loaded.tokenizer = with_context("loading the tokenizer of " + model_dir.string(),
                                  [&] { return load_tokenizer(model_dir); });
  return loaded;
}

}  // namespace lmc::apps
