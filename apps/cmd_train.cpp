// `lmc train RECIPE [key=value ...] [--resume] [--dry-run]`: fine-tunes (LoRA) or trains a model as the
// YAML recipe says, with command-line overrides of any recipe key. --dry-run prints parameter counts
// and a memory estimate without loading weights or data. Parsing and printing only: train/ does the work.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "train/dry_run.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace lmc::apps {
namespace {

struct TrainCommandOptions {
  std::string recipe;
  std::vector<std::string> overrides;
  bool resume = false;
  bool dry_run = false;
  double device_gib = 80.0;
};

void run_train(const TrainCommandOptions& options) {
  train::Recipe recipe = train::load_recipe(options.recipe, options.overrides);
  if (options.dry_run) {
    std::cout << train::describe_plan(recipe, train::plan_training(recipe), options.device_gib);
    return;
  }
  train::TrainOptions train_options;
  train_options.resume = options.resume;
  train::run_training(recipe, train_options);
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = app.add_subcommand("train", "Train or LoRA-fine-tune a model from a YAML recipe");
  command->footer(
      "Overrides: any recipe key as key=value, e.g. max_steps=20 optimizer.lr=1e-3 lora.rank=16.\n"
      "Several processes: torchrun --nproc-per-node N --no-python lmc train RECIPE (see docs/training.md).");
  command->add_option("RECIPE", options->recipe, "YAML recipe (see recipes/)")->required();
  command->add_option("OVERRIDES", options->overrides, "key=value overrides of recipe keys");
  command->add_flag("--resume", options->resume, "continue from the latest checkpoint in output_dir");
  command->add_flag("--dry-run", options->dry_run, "print parameter counts and a memory estimate, train nothing");
  command->add_option("--device-gib", options->device_gib, "device memory the --dry-run verdict compares with")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->callback([options] { run_train(*options); });
}

}  // namespace lmc::apps
