// LoRA training against an independent reference: tests/oracles/train_lora_parity.py trains the same tiny
// model from the same adapter on the same chunks with transformers + peft + torch.optim.AdamW and
// transformers' warmup-cosine schedule. lmc, driven by a recipe, must reproduce its loss curve and its
// validation bits per byte (fp32, rtol 1e-5) and end with the same adapter (rtol 1e-4), which it writes
// in PEFT's format.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "checkpoints/safetensors.h"
#include "tensor_compare.h"
#include "test_util.h"
#include "train/recipe.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace lmc::train {
namespace {
namespace fs = std::filesystem;

TEST(LoraParity, MatchesPeftAndTorchAdamW) {
  const fs::path golden = testing::golden_dir("train_lora_parity");
  const auto g = nlohmann::json::parse(testing::read_file(golden / "golden.json"));
  const auto& h = g["hyper"];
  testing::TempDir dir;
  const std::string yaml =
      "model: {path: '" + (golden / "base").string() + "'}\n"
      "data:\n"
      "  inputs: ['" + (golden / "train.txt").string() + "']\n"
      "  train_size: '" + std::to_string(g["train_bytes"].get<int>()) + "'\n"
      "  val_size: '" + std::to_string(g["val_bytes"].get<int>()) + "'\n"
      "  chunk_bytes: " + std::to_string(g["chunk_bytes"].get<int>()) + "\n"
      "  shuffle: false\n"
      "lora:\n"
      "  rank: " + std::to_string(h["rank"].get<int>()) + "\n"
      "  alpha: " + std::to_string(h["alpha"].get<int>()) + "\n"
      "  init_from: '" + (golden / "init_adapter").string() + "'\n"
      "optimizer: {lr: " + h["lr"].dump() + ", betas: " + h["betas"].dump() + ", eps: " + h["eps"].dump() +
      ", weight_decay: " + h["weight_decay"].dump() + "}\n"
      "scheduler: {name: cosine, warmup_steps: " + h["warmup"].dump() + "}\n"
      "batch_size: " + g["batch_size"].dump() + "\n"
      "gradient_accumulation_steps: " + g["accumulation"].dump() + "\n"
      "max_steps: " + g["steps"].dump() + "\n"
      "threads: 1\n"
      "output_dir: '" + (dir / "run").string() + "'\n";
  TrainOptions options;
  options.progress_bar = false;
  TrainSummary summary = run_training(parse_recipe(yaml), options);

  const auto records = testing::read_metrics(dir / "run");
  const auto losses = testing::losses_of(records);
  const auto expected = g["losses"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), expected.size());
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_NEAR(losses[i], expected[i], 1e-5 * std::abs(expected[i])) << "step " << i + 1;
  }
  EXPECT_NEAR(summary.initial_val_bpb, g["val_initial"].get<double>(), 1e-5 * g["val_initial"].get<double>());
  EXPECT_NEAR(summary.final_val_bpb, g["val_final"].get<double>(), 1e-5 * g["val_final"].get<double>());
  EXPECT_LT(summary.final_val_bpb, summary.initial_val_bpb - 0.3) << "training must have moved the adapter";

  const fs::path step_dir = dir / "run" / ("step_" + g["steps"].dump());
  SafetensorsFile ours = SafetensorsFile::open(step_dir / "adapter_model.safetensors");
  SafetensorsFile theirs = SafetensorsFile::open(golden / "final_adapter" / "adapter_model.safetensors");
  ASSERT_EQ(ours.names().size(), theirs.names().size());
  for (const auto& name : theirs.names()) {
    ASSERT_TRUE(ours.contains(name)) << name;
    EXPECT_TENSORS_CLOSE(ours.tensor(name), theirs.tensor(name), 1e-7, 1e-4, name);
  }
  const auto config = nlohmann::json::parse(testing::read_file(step_dir / "adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["r"], h["rank"]);
}

}  // namespace
}  // namespace lmc::train
