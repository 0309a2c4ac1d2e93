// lmc's LLaMA against transformers: tests/oracles/llama_tiny.py saves tiny random LlamaForCausalLM
// models with save_pretrained (one file and sharded, tied and untied, llama3 rope scaling, GQA, biases,
// explicit head_dim, both config rope layouts) and the logits transformers computes; lmc loads the same
// directories with its own code and must reproduce them.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include "checkpoints/model_dir.h"
#include "checkpoints/safetensors.h"
#include "tensor_compare.h"
#include "test_util.h"

namespace lmc {
namespace {

using testing::golden_dir;

const char* kModels[] = {"untied_llama3", "tied_sharded", "untied_llama3_legacy_rope", "tied_sharded_legacy_rope"};

struct Golden {
  torch::Tensor input_ids;    // [2, 41] int64
  torch::Tensor logits_fp32;  // [2, 41, V]
  torch::Tensor logits_bf16;  // [2, 41, V]
};

Golden read_golden(const std::filesystem::path& dir) {
  auto file = SafetensorsFile::open(dir / "golden.safetensors");
  return {file.tensor("input_ids").clone(), file.tensor("logits_fp32").clone(), file.tensor("logits_bf16").clone()};
}

class LlamaOracle : public ::testing::TestWithParam<const char*> {
 protected:
  std::filesystem::path dir() const { return golden_dir("llama") / GetParam(); }
};

TEST_P(LlamaOracle, FullForwardMatchesTransformersFp32) {
  Golden golden = read_golden(dir());
  auto model = load_llama(dir());
  c10::InferenceMode guard;
  auto logits = model->forward(golden.input_ids);
  // fp32 against fp32: only summation order differs between the two implementations.
  EXPECT_TENSORS_CLOSE(logits, golden.logits_fp32, 1e-4, 0.0, GetParam());
}

TEST_P(LlamaOracle, KvCacheStepsMatchFullForwardAtEveryPosition) {
  Golden golden = read_golden(dir());
  auto model = load_llama(dir());
  c10::InferenceMode guard;
  const int64_t length = golden.input_ids.size(1);
  // Stream 1 starts `delay` steps after stream 0: until then its slot holds a throwaway sequence, which
  // is then restarted at position 0, so the streams sit at different positions and a slot is reused.
  const int64_t delay = 7;
  auto cache = model->new_cache(2, length + delay);
  auto expected = model->forward(golden.input_ids);
  for (int64_t t = 0; t < length + delay; ++t) {
    const int64_t pos0 = std::min(t, length - 1);
    const int64_t pos1 = t < delay ? t : t - delay;
    const int64_t tok1 = t < delay ? (t * 13) % model->config().vocab_size : golden.input_ids[1][pos1].item<int64_t>();
    auto tokens = torch::tensor({golden.input_ids[0][pos0].item<int64_t>(), tok1});
    auto positions = torch::tensor({pos0, pos1});
    auto logits = model->step(tokens, positions, cache);  // [2, V]
    if (t < length) {
      EXPECT_TENSORS_CLOSE(logits[0], expected[0][t], 1e-4, 0.0, "stream 0, position " + std::to_string(t));
    }
    if (t >= delay) {
      EXPECT_TENSORS_CLOSE(logits[1], expected[1][pos1], 1e-4, 0.0, "stream 1, position " + std::to_string(pos1));
    }
  }
}

TEST_P(LlamaOracle, Bf16IsAsCloseToFp32AsTransformersBf16) {
  Golden golden = read_golden(dir());
  ModelLoadOptions options;
  options.dtype = torch::kBFloat16;
  auto model = load_llama(dir(), options);
  c10::InferenceMode guard;
  auto logits = model->forward(golden.input_ids);
  ASSERT_EQ(logits.scalar_type(), torch::kBFloat16);
  // bf16 keeps 8 significant bits, so two correct implementations differ by rounding noise of the same
  // size as their own error. The tolerance is therefore relative to transformers' own bf16 error against
  // fp32: lmc's bf16 logits may be off from fp32 by at most twice what transformers' bf16 logits are.
  const double hf_error = testing::max_abs_diff(golden.logits_bf16, golden.logits_fp32);
  const double lmc_error = testing::max_abs_diff(logits, golden.logits_fp32);
  EXPECT_GT(hf_error, 0.0);
  EXPECT_LE(lmc_error, 2.0 * hf_error) << "transformers bf16 error " << hf_error;
}

TEST_P(LlamaOracle, Fp16StaysWithinBf16Error) {
  Golden golden = read_golden(dir());
  ModelLoadOptions options;
  options.dtype = torch::kHalf;
  auto model = load_llama(dir(), options);
  c10::InferenceMode guard;
  auto logits = model->forward(golden.input_ids);
  ASSERT_EQ(logits.scalar_type(), torch::kHalf);
  // fp16 has 3 more mantissa bits than bf16 and these logits are far from its range limits, so its error
  // must stay below transformers' bf16 error.
  EXPECT_LE(testing::max_abs_diff(logits, golden.logits_fp32), testing::max_abs_diff(golden.logits_bf16, golden.logits_fp32));
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaOracle, ::testing::ValuesIn(kModels));

TEST(LlamaConfig, ParsesBothRopeLayoutsAndTokenLists) {
  auto current = LlamaConfig::load(golden_dir("llama") / "untied_llama3" / "config.json");
  auto legacy = LlamaConfig::load(golden_dir("llama") / "untied_llama3_legacy_rope" / "config.json");
  for (const auto* c : {&current, &legacy}) {
    EXPECT_EQ(c->rope_scaling.rope_type, "llama3");
    EXPECT_DOUBLE_EQ(c->rope_scaling.factor, 8.0);
    EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 32);
    EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
    EXPECT_EQ(c->num_key_value_heads, 2);
    EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(c->bos_token_id, 1);
  }
  auto tied = LlamaConfig::load(golden_dir("llama") / "tied_sharded" / "config.json");
  EXPECT_TRUE(tied.tie_word_embeddings);
  EXPECT_EQ(tied.head_dim, 24);
  EXPECT_EQ(tied.eos_token_ids, (std::vector<int64_t>{1}));
}

TEST(LlamaConfig, ParameterCountMatchesTheCheckpoint) {
  for (const char* name : {"untied_llama3", "tied_sharded"}) {
    auto summary = summarize_checkpoint(golden_dir("llama") / name);
    EXPECT_EQ(summary.config.num_parameters(), summary.parameters) << name;
  }
}

}  // namespace
}  // namespace lmc
