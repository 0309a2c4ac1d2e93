// Coded bits per byte at validation: `lmc train` codes validation chunks with the codec's range coder
// (encoded, then decoded back to their bytes) and logs val_coded_bpb and val_coded_gap next to val_bpb.
// With every validation chunk coded, the coded size can exceed the trainer's own cross-entropy (from its
// full forward, an independent computation of the coder's KV-cache logits) by no more than what the
// coder itself spends, and the codec's match model takes it well below on this repetitive corpus;
// TensorBoard's EventAccumulator reads the same numbers from the run.
#include <gtest/gtest.h>

#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {

constexpr int64_t kChunkBytes = 256;

class CodedValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_ / "corpus.txt", synthetic_text(40000, 5));
    write_file(dir_ / "recipe.yaml", tiny_recipe(dir_ / "corpus.txt", dir_ / "run"));
  }
  CommandResult train(const std::string& overrides) {
    return run_lmc("train " + (dir_ / "recipe.yaml").string() + " data.chunk_bytes=" + std::to_string(kChunkBytes) +
                   " " + overrides);
  }
  TempDir dir_;
};

TEST_F(CodedValidation, CodedSizeIsTheCrossEntropyPlusTheCodersCost) {
  auto result = train("data.eval_chunks=0 data.codec_chunks=1000");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("coded "), std::string::npos) << "the progress line shows coded bits per byte";
  int validations = 0;
  for (const auto& r : read_metrics(dir_ / "run")) {
    if (!r.contains("val_bpb")) continue;
    ++validations;
    ASSERT_TRUE(r.contains("val_coded_bpb") && r.contains("val_coded_gap")) << r.dump();
    const double ce = r["val_bpb"].get<double>(), coded = r["val_coded_bpb"].get<double>();
    const double gap = r["val_coded_gap"].get<double>();
    // The gap is measured against the coder's own logits (KV-cache steps); the trainer's full forward
    // gives the same cross-entropy to fp32 rounding, far below 1e-4 bits per byte.
    EXPECT_NEAR(coded - gap, ce, 1e-4) << r.dump();
    // The coder's cost: at most two bytes per chunk to end each stream (range_coder.cpp) and, with a
    // 2^28 frequency total, well under 0.01 bit per byte for quantisation. The validation split holds
    // chunks of 256 bytes except each document's last, and this corpus is one document.
    EXPECT_LT(gap, 16.0 / kChunkBytes * 1.1 + 0.01) << r.dump();
    // Its sentences reuse a small vocabulary of words, which the tiny model has not learnt yet.
    EXPECT_LT(coded, ce * 0.8) << "the match model predicts the corpus's repeats: " << r.dump();
  }
  EXPECT_EQ(validations, 4);  // before training, steps 4, 8, 12

  const auto scalars = tensorboard_scalars(dir_ / "run" / "tensorboard");
  ASSERT_TRUE(scalars.contains("val_coded_bpb")) << scalars.dump();
  const auto records = read_metrics(dir_ / "run");
  EXPECT_EQ(scalars["val_coded_bpb"].size(), 4u);
  EXPECT_FLOAT_EQ(scalars["val_coded_bpb"].back()[1].get<float>(),
                  static_cast<float>(records.back()["val_coded_bpb"].get<double>()));
  EXPECT_EQ(scalars["val_coded_gap"].back()[0].get<int>(), 12);
}

TEST_F(CodedValidation, ZeroChunksTurnItOff) {
  auto result = train("data.codec_chunks=0 max_steps=4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const auto& r : read_metrics(dir_ / "run")) EXPECT_FALSE(r.contains("val_coded_bpb")) << r.dump();
}

TEST_F(CodedValidation, AdaptersOverABf16BaseAreCodedUnderAutocast) {
  auto result = train("dtype=bf16 data.codec_chunks=4 max_steps=4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto records = read_metrics(dir_ / "run");
  ASSERT_TRUE(records.back().contains("val_coded_bpb")) << records.back().dump();
  const double gap = records.back()["val_coded_gap"].get<double>();
  EXPECT_LT(gap, 16.0 / kChunkBytes * 1.1 + 0.01);
  EXPECT_NEAR(records.back()["val_coded_bpb"].get<double>() - gap, records.back()["val_bpb"].get<double>(), 0.05)
      << "the coder's logits under autocast match the trainer's to bf16 rounding";
}

}  // namespace
}  // namespace lmc::testing
