// The shipped tiny recipe on the real data in ../shared/data: it runs from the repository root exactly as
// committed (nothing prepared beforehand) well within a minute and lowers validation bits per byte; and
// LoRA adapts a model trained on one domain (Jane Austen's novels) to another it never saw (US law).
// Skipped when the shared data is absent.
#include <gtest/gtest.h>

#include <chrono>

#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

std::string source_dir() { return setting("LMC_SOURCE_DIR"); }

double first_val(const std::vector<nlohmann::json>& records) { return records.front()["val_bpb"].get<double>(); }
double last_val(const std::vector<nlohmann::json>& records) { return records.back()["val_bpb"].get<double>(); }

TEST(TinyLoraRecipe, RunsAsShippedAndLowersValidationBitsPerByte) {
  if (!shared_data()) GTEST_SKIP() << "no ../shared/data (LMC_SHARED_DATA): the recipe trains on it";
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  auto result = run_command("cd " + source_dir() + " && " + setting("LMC_BIN") +
                            " train recipes/tiny_lora.yaml output_dir=" + (dir / "run").string());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LT(seconds, 60.0);
  const auto records = read_metrics(dir / "run");
  ASSERT_EQ(records.back()["step"].get<int>(), 24);
  EXPECT_LT(last_val(records), first_val(records) - 0.5) << result.err;
  EXPECT_TRUE(fs::exists(dir / "run" / "best" / "adapter_model.safetensors"));
}

TEST(TinyLoraRecipe, LoraAdaptsAModelToADomainItNeverSaw) {
  auto data = shared_data();
  if (!data) GTEST_SKIP() << "no ../shared/data (LMC_SHARED_DATA)";
  TempDir dir;
  const std::string recipe = source_dir() + "/recipes/tiny_lora.yaml";
  const std::string lmc = std::string(setting("LMC_BIN")) + " train " + recipe;
  // A base model: the tiny architecture fully trained on one novel.
  auto base = run_command(lmc + " lora= optimizer.lr=3e-3 max_steps=60 eval_every=0 checkpoint_every=0" +
                          " data.inputs=[" + (*data / "text/general/Austen/Persuasion.txt").string() + "]" +
                          " data.train_size=400KiB data.val_size=32KiB" +
                          " output_dir=" + (dir / "base").string());
  ASSERT_EQ(base.exit_code, 0) << base.err;
  const auto base_records = read_metrics(dir / "base");
  // LoRA on US statutes, starting from that model.
  auto adapted = run_command(lmc + " model.architecture= model.path=" + (dir / "base" / "step_60").string() +
                             " tokenizer= data.inputs=[" + (*data / "text/legal/us_laws").string() + "]" +
                             " data.train_size=1MiB max_steps=40 output_dir=" + (dir / "lora").string());
  ASSERT_EQ(adapted.exit_code, 0) << adapted.err;
  const auto records = read_metrics(dir / "lora");
  EXPECT_GT(first_val(records), last_val(base_records) + 0.3)
      << "the law text must be a new domain: worse than the novel's own validation";
  EXPECT_LT(last_val(records), first_val(records) - 0.3) << "LoRA lowers validation bits per byte on the new domain";
}

}  // namespace
}  // namespace lmc::testing
