// The training loop a recipe describes: bits per byte of the training chunks as the loss, AdamW with
// warmup + cosine, gradient accumulation, data parallelism across processes, validation every N steps,
// the best weights kept by validation bits per byte, checkpoints every N steps and exact resume.
// It reports through train/run_log.h. Recipe parsing is train/recipe.h; the CLI is apps/cmd_train.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"
#include "train/recipe.h"
#include "train/train_data.h"

namespace lmc::train {

// Runs at every validation on rank 0 with the model (eval mode, no grad) and the validation chunks scored
// there (a chunk's bytes are tokenizer.decode(chunk.tokens): tokenizers are lossless); returns extra
// metrics for that step's record. apps/cmd_train.cpp plugs the codec in here (coded bits per byte and
// their gap to the cross-entropy): train/ itself does not depend on codec/.
using ValidationHook = std::function<std::vector<std::pair<std::string, double>>(
    LlamaForCausalLM& model, const Tokenizer& tokenizer, const std::vector<Chunk>& chunks)>;

struct TrainOptions {
  bool resume = false;               // continue from OUTPUT_DIR's latest step_N
  std::optional<bool> progress_bar;  // default: when stderr is a terminal
  ValidationHook validation_hook;
};

struct TrainSummary {
  int64_t first_step = 1;  // 1, or the step after the checkpoint resumed from
  int64_t steps = 0;       // the last step done
  double initial_val_bpb = 0;  // before training (NaN when resumed)
  double final_val_bpb = 0;
  double best_val_bpb = 0;
  int64_t best_step = 0;
  double seconds = 0;
};

TrainSummary run_training(const Recipe& recipe, const TrainOptions& options = {});

}  // namespace lmc::train
