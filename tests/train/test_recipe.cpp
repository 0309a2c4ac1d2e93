// Recipes: every key read with its default, key=value overrides, all problems reported at once with
// their key paths, the recipes shipped in recipes/ parse and say how to launch them, and the CLI turns a
// bad recipe into one error line without writing anything.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "test_util.h"
#include "train/recipe.h"

namespace lmc::train {
namespace {
namespace fs = std::filesystem;

const char* kFullRecipe = R"(
model:
  path: /models/base
tokenizer: /models/base/tokenizer.json
data:
  inputs: [a.txt, corpus/]
  train_size: 64MiB
  val_size: 0.05
  split_seed: 9
  chunk_bytes: 512
  shuffle: false
  eval_chunks: 10
lora:
  rank: 16
  alpha: 8
  dropout: 0.05
  use_rslora: true
  target_modules: [q_proj, v_proj]
  init_from: adapters/start
optimizer: {name: adamw, lr: 1.0e-4, betas: [0.8, 0.95], eps: 1.0e-6, weight_decay: 0.0}
scheduler: {name: constant, warmup_steps: 7}
batch_size: 3
gradient_accumulation_steps: 5
dtype: bf16
activation_checkpointing: true
max_steps: 100
epochs: 2
eval_every: 10
checkpoint_every: 25
keep_checkpoints: 2
log_every: 5
seed: 42
device: cuda:1
threads: 4
output_dir: runs/x
)";

TEST(Recipe, ReadsEveryKey) {
  Recipe r = parse_recipe(kFullRecipe);
  EXPECT_EQ(r.model.path, "/models/base");
  EXPECT_TRUE(r.model.architecture.is_null());
  EXPECT_EQ(r.tokenizer, "/models/base/tokenizer.json");
  EXPECT_EQ(r.data.inputs, (std::vector<std::string>{"a.txt", "corpus/"}));
  EXPECT_EQ(r.data.train_size, "64MiB");
  EXPECT_EQ(r.data.val_size, "0.05");
  EXPECT_EQ(r.data.split_seed, 9);
  EXPECT_EQ(r.data.chunk_bytes, 512);
  EXPECT_FALSE(r.data.shuffle);
  EXPECT_EQ(r.data.eval_chunks, 10);
  ASSERT_TRUE(r.lora.has_value());
  EXPECT_EQ(r.lora->rank, 16);
  EXPECT_EQ(r.lora->alpha, 8.0);
  EXPECT_EQ(r.lora->dropout, 0.05);
  EXPECT_TRUE(r.lora->use_rslora);
  EXPECT_EQ(r.lora->target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(r.lora->init_from, "adapters/start");
  EXPECT_EQ(r.optimizer.lr, 1e-4);
  EXPECT_EQ(r.optimizer.beta1, 0.8);
  EXPECT_EQ(r.optimizer.beta2, 0.95);
  EXPECT_EQ(r.optimizer.eps, 1e-6);
  EXPECT_EQ(r.optimizer.weight_decay, 0.0);
  EXPECT_EQ(r.scheduler.name, "constant");
  EXPECT_EQ(r.scheduler.warmup_steps, 7);
  EXPECT_EQ(r.batch_size, 3);
  EXPECT_EQ(r.gradient_accumulation_steps, 5);
  EXPECT_EQ(r.dtype, "bf16");
  EXPECT_TRUE(r.activation_checkpointing);
  EXPECT_EQ(r.max_steps, 100);
  EXPECT_EQ(r.epochs, 2);
  EXPECT_EQ(r.eval_every, 10);
  EXPECT_EQ(r.checkpoint_every, 25);
  EXPECT_EQ(r.keep_checkpoints, 2);
  EXPECT_EQ(r.log_every, 5);
  EXPECT_EQ(r.seed, 42);
  EXPECT_EQ(r.device, "cuda:1");
  EXPECT_EQ(r.threads, 4);
  EXPECT_EQ(r.output_dir, "runs/x");
}

TEST(Recipe, DefaultsFollowThePaper) {
  Recipe r = parse_recipe("model: {path: m}\ndata: {inputs: [x]}\nlora: {}\noutput_dir: o\n");
  ASSERT_TRUE(r.lora.has_value());
  EXPECT_EQ(r.lora->rank, 8);
  EXPECT_EQ(r.lora->alpha, 32.0);
  EXPECT_EQ(r.lora->target_modules, kLoraModules);
  EXPECT_EQ(r.data.chunk_bytes, 2048);
  EXPECT_EQ(r.dtype, "fp32");
  EXPECT_EQ(r.scheduler.name, "cosine");
  Recipe full = parse_recipe("model: {path: m}\ndata: {inputs: [x]}\noutput_dir: o\n");
  EXPECT_FALSE(full.lora.has_value()) << "no lora section means a full fine-tune";
}

TEST(Recipe, OverridesReplaceAddAndRemoveKeys) {
  Recipe r = parse_recipe(kFullRecipe, {"max_steps=20", "optimizer.lr=1e-3", "lora.rank=4", "data.inputs=[b.txt]",
                                        "optimizer.betas=[0.9, 0.99]", "device=cpu", "seed=7"});
  EXPECT_EQ(r.max_steps, 20);
  EXPECT_EQ(r.optimizer.lr, 1e-3);
  EXPECT_EQ(r.optimizer.beta2, 0.99);
  EXPECT_EQ(r.lora->rank, 4);
  EXPECT_EQ(r.data.inputs, std::vector<std::string>{"b.txt"});
  EXPECT_EQ(r.device, "cpu");
  EXPECT_EQ(r.seed, 7);
  Recipe no_lora = parse_recipe(kFullRecipe, {"lora="});
  EXPECT_FALSE(no_lora.lora.has_value()) << "an empty override removes the section";
  Recipe added = parse_recipe("model: {path: m}\ndata: {inputs: [x]}\noutput_dir: o\n", {"lora.rank=2"});
  ASSERT_TRUE(added.lora.has_value());
  EXPECT_EQ(added.lora->rank, 2);
}

TEST(Recipe, ReportsEveryProblemAtOnceWithItsKeyPath) {
  const std::string yaml = R"(
model: {path: m, init_std: -1}
data: {inputs: [x], shards: y, chunk_bytes: 0}
lora: {rank: eight, target_modules: [q_proj, qq_proj]}
optimizer: {lrr: 1.0, betas: [0.9]}
scheduler: {name: linear}
batch_size: many
dtype: fp8
max_stpes: 10
output_dir: o
)";
  try {
    parse_recipe(yaml, {"epochs=-1", "noequals", "model.path.x=1"}, "bad.yaml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const char* expected :
         {"bad.yaml", "model.init_std: must be positive", "data: give exactly one of 'inputs'",
          "data.chunk_bytes: must be positive", "lora.rank: expected an integer, got 'eight'",
          "lora.target_modules: unknown module 'qq_proj'", "optimizer.lrr: unknown key", "optimizer.betas: expected two",
          "scheduler.name: must be one of cosine, constant, got 'linear'", "batch_size: expected an integer, got 'many'",
          "dtype: must be one of fp32, bf16, got 'fp8'", "max_stpes: unknown key", "epochs: must be positive",
          "noequals: an override must read key=value", "model.path.x: cannot override: 'model.path' is not a section",
          "14 problems"}) {
      EXPECT_NE(m.find(expected), std::string::npos) << "missing '" << expected << "' in: " << m;
    }
  }
}

TEST(Recipe, RejectsBadYamlAndMissingSections) {
  try {
    parse_recipe("model: [unclosed\n", {}, "broken.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.yaml: not valid YAML"), std::string::npos) << e.what();
  }
  try {
    parse_recipe("model: {architecture: {hidden_size: 64}}\n", {}, "r");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const char* expected : {"model.architecture: field 'vocab_size'", "data: missing required key",
                                 "output_dir: missing required key", "tokenizer: a model trained from 'architecture'"}) {
      EXPECT_NE(m.find(expected), std::string::npos) << "missing '" << expected << "' in: " << m;
    }
  }
}

TEST(Recipe, ShippedRecipesParseAndSayHowToLaunchThem) {
  const std::string source = testing::setting("LMC_SOURCE_DIR");
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(source) / "recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(load_recipe(entry.path()));
    const std::string text = testing::read_file(entry.path());
    ASSERT_TRUE(text.starts_with("#")) << "a recipe opens with a comment";
    EXPECT_NE(text.find("lmc train recipes/" + entry.path().filename().string()), std::string::npos)
        << "the header comment shows the launch command";
  }
  EXPECT_GE(count, 5);
}

TEST(Recipe, CliPrintsOneErrorLineAndWritesNothing) {
  testing::TempDir dir;
  const fs::path out = dir / "run";
  testing::write_file(dir / "r.yaml", "model: {path: m}\ndata: {inputs: [x]}\noutput_dir: " + out.string() + "\n");
  auto result = testing::run_lmc("train " + (dir / "r.yaml").string() + " optimizer.lrr=1 batch_size=0");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(result.err.starts_with("lmc train: error: ")) << result.err;
  EXPECT_NE(result.err.find("optimizer.lrr: unknown key"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("batch_size: must be positive"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace lmc::train
