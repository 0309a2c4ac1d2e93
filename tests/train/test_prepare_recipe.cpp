// `lmc prepare --recipe R`: a recipe's data section prepared by the CLI gives the same shards as the flags
// that say the same (--train-bytes, --chunk-bytes, ...), lands where `lmc train` looks (which then trains on
// it without preparing again), takes key=value overrides, and refuses what it cannot prepare.
#include <gtest/gtest.h>

#include "data/shard_reader.h"
#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

class PrepareRecipe : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_ / "corpus.txt", synthetic_text(30000, 11));
    write_file(dir_ / "recipe.yaml", tiny_recipe(dir_ / "corpus.txt", dir_ / "run"));
  }
  std::string recipe() const { return (dir_ / "recipe.yaml").string(); }
  TempDir dir_;
};

void expect_same_shards(const fs::path& a, const fs::path& b) {
  for (const char* split : {"train.h5", "val.h5", "test.h5"}) {
    data::ShardReader x(a / split), y(b / split);
    ASSERT_EQ(x.info().chunks, y.info().chunks) << split;
    EXPECT_EQ(x.info().chunk_bytes, y.info().chunk_bytes) << split;
    for (int64_t i = 0; i < x.info().chunks; ++i) {
      ASSERT_EQ(x.chunk_bytes(i), y.chunk_bytes(i)) << split << " chunk " << i;
      ASSERT_EQ(x.chunk_tokens(i), y.chunk_tokens(i)) << split << " chunk " << i;
    }
  }
}

TEST_F(PrepareRecipe, WritesWhatTheFlagsWouldIntoTheRunsDataDirectory) {
  auto prepared = run_lmc("prepare --recipe " + recipe());
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  const fs::path data_dir = dir_ / "run" / "data";
  EXPECT_NE(prepared.out.find("prepared 30000 bytes (text) into " + data_dir.string()), std::string::npos)
      << prepared.out;
  auto flags = run_lmc("prepare --inputs " + (dir_ / "corpus.txt").string() +
                       " --train-bytes 0.8 --val-bytes 0.1 --chunk-bytes 64 --out " + (dir_ / "flags").string());
  ASSERT_EQ(flags.exit_code, 0) << flags.err;
  expect_same_shards(data_dir, dir_ / "flags");

  // `lmc train` finds the shards and trains on them as they are.
  const auto written = fs::last_write_time(data_dir / "train.h5");
  auto trained = run_lmc("train " + recipe() + " max_steps=2");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_EQ(fs::last_write_time(data_dir / "train.h5"), written) << "the run prepared the data again";
}

TEST_F(PrepareRecipe, TakesOverridesAndAnOutputDirectory) {
  auto prepared = run_lmc("prepare --recipe " + recipe() + " data.chunk_bytes=128 data.split_seed=4 --out " +
                          (dir_ / "elsewhere").string());
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  EXPECT_NE(prepared.out.find("documents shuffled with seed 4"), std::string::npos) << prepared.out;
  EXPECT_EQ(data::ShardReader(dir_ / "elsewhere" / "train.h5").info().chunk_bytes, 128);
  EXPECT_FALSE(fs::exists(dir_ / "run")) << "--out leaves the run's directory alone";
}

TEST_F(PrepareRecipe, RefusesWhatItCannotPrepareAndWritesNothing) {
  auto shards = run_lmc("prepare --recipe " + recipe() + " data.inputs= data.shards=" + (dir_ / "x").string());
  EXPECT_EQ(shards.exit_code, 1);
  EXPECT_EQ(shards.err, "lmc prepare: error: the recipe's data names shards (" + (dir_ / "x").string() +
                            "), prepared already; give data.inputs to prepare\n");
  auto bad_key = run_lmc("prepare --recipe " + recipe() + " data.chunk_bytes=0 data.colour=red");
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("data.chunk_bytes"), std::string::npos) << bad_key.err;
  EXPECT_NE(bad_key.err.find("data.colour"), std::string::npos) << bad_key.err;
  auto both = run_lmc("prepare --recipe " + recipe() + " --inputs " + (dir_ / "corpus.txt").string());
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  auto too_big = run_lmc("prepare --recipe " + recipe() + " data.train_size=1MiB");
  EXPECT_EQ(too_big.exit_code, 1);
  EXPECT_NE(too_big.err.find("split sizes do not fit"), std::string::npos) << too_big.err;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "data" / "train.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "data_spec.json"));
}

}  // namespace
}  // namespace lmc::testing
