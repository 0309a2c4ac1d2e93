// A training recipe: the YAML file `lmc train RECIPE` reads, in the spirit of torchtune's (a launch
// command in the header comment, `key=value` overrides on the command line). Every field has a default
// here; load_recipe() collects all unknown keys and bad values and reports them at once, each with its key
// path. Paths are kept as written: relative ones resolve against the working directory, as with any CLI.
// This file only describes and validates; train/trainer.h runs a recipe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmc::train {

// The decoder-layer projections LoRA may target, by their PEFT names.
inline const std::vector<std::string> kLoraModules = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                      "gate_proj", "up_proj", "down_proj"};

struct ModelRecipe {
  std::string path;           // a Hugging Face model directory, or
  nlohmann::json architecture;  // config.json fields of a model trained from a random start
  double init_std = 0.02;     // random start: normal(0, init_std) weights, as transformers initialises
  int64_t init_seed = 0;      // random start: seeds the initial weights (independent of the run's seed)
  bool from_scratch() const { return path.empty(); }
};

struct DataRecipe {
  std::vector<std::string> inputs;  // raw inputs (files, directories, globs), prepared on the fly, or
  std::string shards;               // a directory written by `lmc prepare` (train.h5, val.h5)
  std::string modality = "text";    // raw inputs: text, or audio (as string)
  std::string train_size = "0.9";   // raw inputs: bytes ("64MiB") or a fraction of the corpus
  std::string val_size = "0.1";
  std::optional<int64_t> split_seed;  // raw inputs: document order for the split; absent: input order
  int64_t chunk_bytes = 2048;       // raw inputs: the sequence length, in bytes (each chunk starts at BOS)
  bool shuffle = true;              // a new seeded order every epoch; false: shard order
  int64_t eval_chunks = 0;          // validation chunks scored per evaluation (0: all)
  int64_t codec_chunks = 8;         // of those, coded with the real codec at each evaluation (0: none)
};

struct LoraRecipe {
  int64_t rank = 8;
  double alpha = 32.0;
  double dropout = 0.0;
  bool use_rslora = false;
  std::vector<std::string> target_modules = kLoraModules;
  std::string init_from;  // a PEFT adapter directory to start from instead of a fresh initialisation
};

struct OptimizerRecipe {
  double lr = 3e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

struct SchedulerRecipe {
  std::string name = "cosine";  // linear warmup then cosine decay to zero, or "constant" after warmup
  int64_t warmup_steps = 0;
};

struct Recipe {
  ModelRecipe model;
  std::string tokenizer;  // "bytes", a tokenizer file or directory; empty: the model directory's tokenizer
  DataRecipe data;
  std::optional<LoraRecipe> lora;  // absent: full fine-tune
  OptimizerRecipe optimizer;
  SchedulerRecipe scheduler;
  int64_t batch_size = 4;                   // chunks per micro-batch, per rank
  int64_t gradient_accumulation_steps = 1;  // micro-batches per optimizer step, per rank
  std::string dtype = "fp32";               // fp32, or bf16 autocast (trainable weights stay fp32)
  bool activation_checkpointing = false;    // recompute each decoder layer in backward
  int64_t max_steps = 0;                    // 0: run `epochs` epochs
  int64_t epochs = 1;
  int64_t eval_every = 0;        // steps between validations (0: only before and after training)
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: only at the end)
  int64_t keep_checkpoints = 0;  // step_N directories kept (0: all)
  int64_t log_every = 1;
  int64_t seed = 0;
  std::string device = "cpu";
  int64_t threads = 0;  // intra-op threads (0: torch's default)
  std::string output_dir;

  // The recipe as YAML-like JSON (for output_dir/recipe.json and --dry-run).
  nlohmann::json to_json() const;
};

// Reads `path`, applies `overrides` ("optimizer.lr=1e-3"), validates. Throws lmc::Error listing every
// problem found, each with its key path.
Recipe load_recipe(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
// The same from YAML text (`name` appears in messages).
Recipe parse_recipe(const std::string& yaml_text, const std::vector<std::string>& overrides = {},
                    const std::string& name = "recipe");

}  // namespace lmc::train
