// Exact resume: `lmc train` killed with SIGKILL after a checkpoint and started again with --resume must
// log bit-identical losses and validation figures, and end with byte-identical weights, compared with a
// run that was never interrupted (LoRA with dropout, so the random state must survive too; and a full
// fine-tune). Also the refusals that protect a run's directory.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

// The step, loss and validation of every record: what must match bit for bit.
std::vector<std::tuple<int64_t, double, double>> trajectory(const fs::path& run) {
  std::vector<std::tuple<int64_t, double, double>> out;
  for (const auto& r : read_metrics(run)) {
    out.emplace_back(r["step"].get<int64_t>(), r.value("loss_bpb", -1.0), r.value("val_bpb", -1.0));
  }
  return out;
}

void kill_resume_and_compare(const std::vector<std::string>& overrides, const std::string& weights_file) {
  TempDir dir;
  write_file(dir / "text.txt", synthetic_text(24000, 1));
  write_file(dir / "recipe.yaml", tiny_recipe(dir / "text.txt", dir / "unused", "log_every: 1\n"));
  auto args = [&](const std::string& out) {
    std::vector<std::string> a = {"train", (dir / "recipe.yaml").string(), "output_dir=" + out,
                                  "max_steps=48", "checkpoint_every=4", "eval_every=8"};
    a.insert(a.end(), overrides.begin(), overrides.end());
    return a;
  };
  const fs::path reference = dir / "reference", run = dir / "run";
  Child whole = spawn_lmc(args(reference.string()), {}, dir.path(), "reference");
  ASSERT_EQ(wait_child(whole), 0) << read_file(whole.stderr_path);

  Child victim = spawn_lmc(args(run.string()), {}, dir.path(), "victim");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(run / "step_8") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(::kill(victim.pid, SIGKILL), 0);
  ASSERT_EQ(wait_child(victim), 128 + SIGKILL) << read_file(victim.stderr_path);
  const auto before = losses_of(read_metrics(run));
  ASSERT_LT(before.size(), 48u) << "the run finished before it could be killed: the test proves nothing";
  ASSERT_FALSE(fs::exists(run / "step_48"));

  std::vector<std::string> resume_args = args(run.string());
  resume_args.push_back("--resume");
  Child resumed = spawn_lmc(resume_args, {}, dir.path(), "resumed");
  ASSERT_EQ(wait_child(resumed), 0) << read_file(resumed.stderr_path);
  EXPECT_NE(read_file(resumed.stderr_path).find("resuming from"), std::string::npos);

  const auto expected = trajectory(reference);
  const auto actual = trajectory(run);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i], expected[i]) << "record " << i << " (step " << std::get<0>(expected[i]) << ")";
  }
  EXPECT_EQ(read_file(run / "step_48" / weights_file), read_file(reference / "step_48" / weights_file));
  EXPECT_EQ(read_file(run / "best" / weights_file), read_file(reference / "best" / weights_file));
  for (const auto& entry : fs::directory_iterator(run)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".partial")) << "left behind: " << entry.path();
  }
}

TEST(Resume, LoraRunKilledAndResumedIsBitIdentical) {
  kill_resume_and_compare({}, "adapter_model.safetensors");
}

TEST(Resume, FullFineTuneKilledAndResumedIsBitIdentical) {
  kill_resume_and_compare({"lora="}, "model.safetensors");
}

TEST(Resume, RefusesToOverwriteARunAndKeepsItsCheckpoints) {
  TempDir dir;
  write_file(dir / "text.txt", synthetic_text(12000, 2));
  write_file(dir / "recipe.yaml", tiny_recipe(dir / "text.txt", dir / "run"));
  auto first = run_lmc("train " + (dir / "recipe.yaml").string() + " max_steps=4");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string adapter = read_file(dir / "run" / "step_4" / "adapter_model.safetensors");
  auto again = run_lmc("train " + (dir / "recipe.yaml").string() + " max_steps=4");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already holds checkpoints (step_4); pass --resume"), std::string::npos) << again.err;
  EXPECT_EQ(read_file(dir / "run" / "step_4" / "adapter_model.safetensors"), adapter);

  auto other_data = run_lmc("train " + (dir / "recipe.yaml").string() + " --resume max_steps=6 data.chunk_bytes=32");
  EXPECT_NE(other_data.exit_code, 0);
  EXPECT_NE(other_data.err.find("resuming would train on other chunks"), std::string::npos) << other_data.err;
  auto finished = run_lmc("train " + (dir / "recipe.yaml").string() + " --resume max_steps=6");
  EXPECT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_TRUE(fs::exists(dir / "run" / "step_6"));
}

}  // namespace
}  // namespace lmc::testing
