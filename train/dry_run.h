// What a recipe would train, without loading weights or data: parameter counts (total and trainable)
// and an estimate of the device memory one rank needs, split into weights, gradients, optimizer state
// and activations, so `lmc train RECIPE --dry-run` answers "does this fit on one 80 GB GPU?" before a
// download. The activation figure is an upper bound (every token is assumed to cover one byte).
#pragma once

#include <cstdint>
#include <string>

#include "infer/llama_config.h"
#include "train/recipe.h"

namespace lmc::train {

struct TrainingPlan {
  LlamaConfig config;
  int64_t parameters = 0;  // all of the model's
  int64_t trainable = 0;   // what the optimizer updates
  int64_t tokens_per_micro_batch = 0;  // upper bound: batch_size * (chunk_bytes + 1)
  double weight_bytes = 0;
  double gradient_bytes = 0;
  double optimizer_bytes = 0;
  double activation_bytes = 0;
  double total_bytes() const { return weight_bytes + gradient_bytes + optimizer_bytes + activation_bytes; }
};

// Reads only the model's config.json (or the recipe's architecture).
TrainingPlan plan_training(const Recipe& recipe);
// A human-readable report of the plan, ending with whether it fits in `device_gib` GiB.
std::string describe_plan(const Recipe& recipe, const TrainingPlan& plan, double device_gib = 80.0);

}  // namespace lmc::train
