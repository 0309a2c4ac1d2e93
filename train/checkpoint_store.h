// Checkpoints of a run in OUTPUT_DIR: step_N/ holds the trained weights (a PEFT adapter, or a full HF
// model directory), the optimizer's moments (trainer_state.safetensors) and the counters
// (trainer_state.json: step, tokens, best validation, schedule, data position, seeds). No generator state
// is stored: the trainer reseeds every step from (seed, step, rank), which a resume reproduces. Each is
// built in a hidden temporary directory and renamed into place, so a run killed at any moment leaves
// only complete checkpoints; resuming loads the latest. best/ holds the weights with the lowest
// validation bits per byte so far, replaced the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "train/adamw.h"
#include "train/model_setup.h"

namespace lmc::train {

struct TrainerState {
  int64_t step = 0;    // optimizer steps done
  int64_t tokens = 0;  // trained on, all ranks
  int64_t bytes = 0;
  double best_val_bpb = std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  nlohmann::json info;  // schedule, data position, layout: checked on resume, informative otherwise
};

class CheckpointStore {
 public:
  // `keep`: step_N directories kept, the newest ones (0: all).
  CheckpointStore(std::filesystem::path output_dir, int64_t keep);

  // Writes step_N (N = state.step) and prunes old ones beyond `keep`.
  void save(const TrainModel& model, const AdamW& optimizer, const TrainerState& state) const;
  // Replaces best/ with the current weights and best.json ({"step", "val_bpb"}).
  void save_best(const TrainModel& model, int64_t step, double val_bpb) const;

  // The complete step_N with the largest N, if any.
  std::optional<std::filesystem::path> latest() const;
  // Restores weights, optimizer, generator states and counters from a step_N directory.
  TrainerState load(const std::filesystem::path& dir, TrainModel& model, AdamW& optimizer) const;
  // Cleans up after a killed run: puts back a best/ it had moved aside, removes its temporary directories.
  void remove_partial() const;

 private:
  std::filesystem::path dir_;
  int64_t keep_;
};

}  // namespace lmc::train
