// TensorBoard event files written by hand: CRC-32C against known check values, and tensorboard's own
// EventAccumulator (the Python package) reading back every scalar at its step.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train_test_util.h"
#include "train/tensorboard.h"

namespace lmc::train {
namespace {
namespace fs = std::filesystem;

TEST(TensorBoard, Crc32cMatchesKnownValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value (RFC 3720, B.4)
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(masked_crc32c(""), 0xA282EAD8u);  // crc 0 leaves just the mask's delta
}

TEST(TensorBoard, EventAccumulatorReadsTheScalars) {
  const std::string python = testing::setting("LMC_PYTHON");
  if (python.empty()) GTEST_SKIP() << "LMC_PYTHON is not set";
  testing::TempDir dir;
  {
    TensorBoardWriter writer(dir / "tb");
    writer.add_scalars(0, {{"val_bpb", 8.25}});
    for (int step = 1; step <= 5; ++step) writer.add_scalars(step, {{"loss_bpb", 1.0 / step}, {"lr", step * 1e-3}});
    writer.add_scalars(5, {{"val_bpb", 2.5}});
  }
  const auto scalars = testing::tensorboard_scalars(dir / "tb");
  ASSERT_EQ(scalars["loss_bpb"].size(), 5u) << scalars.dump();
  for (int step = 1; step <= 5; ++step) {
    EXPECT_EQ(scalars["loss_bpb"][step - 1][0].get<int>(), step);
    EXPECT_FLOAT_EQ(scalars["loss_bpb"][step - 1][1].get<float>(), 1.0f / step);
    EXPECT_FLOAT_EQ(scalars["lr"][step - 1][1].get<float>(), static_cast<float>(step * 1e-3));
  }
  ASSERT_EQ(scalars["val_bpb"].size(), 2u) << scalars.dump();
  EXPECT_EQ(scalars["val_bpb"][1][0].get<int>(), 5);
  EXPECT_FLOAT_EQ(scalars["val_bpb"][1][1].get<float>(), 2.5f);
}

}  // namespace
}  // namespace lmc::train
