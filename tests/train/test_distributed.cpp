// Data parallelism: two `lmc train` processes joined through c10d (TCPStore + Gloo, torchrun's
// environment variables) train exactly what one process does with twice the gradient accumulation:
// the same chunks per step and the same summed gradient, so losses and adapters agree to 1e-5.
#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"
#include "tensor_compare.h"
#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

TEST(Distributed, TwoGlooRanksMatchOneRankWithDoubledAccumulation) {
  TempDir dir;
  write_file(dir / "text.txt", synthetic_text(24000, 3));
  write_file(dir / "recipe.yaml", tiny_recipe(dir / "text.txt", dir / "unused", "log_every: 1\n"));
  const std::string recipe = (dir / "recipe.yaml").string();
  // Dropout off: each rank draws its own masks, which one process cannot reproduce.
  Child single = spawn_lmc({"train", recipe, "output_dir=" + (dir / "one").string(), "lora.dropout=0",
                            "gradient_accumulation_steps=4", "keep_checkpoints=2"},
                           {}, dir.path(), "one");
  ASSERT_EQ(wait_child(single), 0) << read_file(single.stderr_path);

  const std::string port = std::to_string(free_port());
  std::vector<Child> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.push_back(spawn_lmc({"train", recipe, "output_dir=" + (dir / "two").string(), "lora.dropout=0",
                               "gradient_accumulation_steps=2"},
                              {{"WORLD_SIZE", "2"}, {"RANK", std::to_string(rank)}, {"LOCAL_RANK", std::to_string(rank)},
                               {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}},
                              dir.path(), "rank" + std::to_string(rank)));
  }
  for (const auto& child : ranks) EXPECT_EQ(wait_child(child), 0) << read_file(child.stderr_path);

  const auto one = read_metrics(dir / "one"), two = read_metrics(dir / "two");
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i]["step"], two[i]["step"]);
    EXPECT_EQ(one[i].value("step_tokens", 0), two[i].value("step_tokens", 0)) << "the same chunks in each step";
    for (const char* key : {"loss_bpb", "val_bpb"}) {
      if (!one[i].contains(key)) continue;
      const double a = one[i][key].get<double>(), b = two[i][key].get<double>();
      EXPECT_NEAR(b, a, 1e-5 * std::abs(a)) << key << " at record " << i;
    }
  }
  SafetensorsFile a = SafetensorsFile::open(dir / "one" / "step_12" / "adapter_model.safetensors");
  SafetensorsFile b = SafetensorsFile::open(dir / "two" / "step_12" / "adapter_model.safetensors");
  for (const auto& name : a.names()) EXPECT_TENSORS_CLOSE(b.tensor(name), a.tensor(name), 1e-7, 1e-5, name);
  EXPECT_FALSE(fs::exists(dir / "one" / "step_4")) << "keep_checkpoints=2 keeps only the newest two";
  EXPECT_TRUE(fs::exists(dir / "one" / "step_8"));
  EXPECT_TRUE(fs::exists(dir / "two" / "step_4")) << "rank 0 alone writes, and keeps all by default";
  const auto events = std::distance(fs::directory_iterator(dir / "two" / "tensorboard"), fs::directory_iterator());
  EXPECT_EQ(events, 1) << "only rank 0 logs";
}

}  // namespace
}  // namespace lmc::testing
