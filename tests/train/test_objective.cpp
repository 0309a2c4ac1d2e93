// The pieces of a training step on a tiny random model: only LoRA factors train; merge and unmerge are
// exact inverses that leave the function unchanged; an adapter that does not fit is refused whole; bits
// per batch (padding ignored) equal infer's independent chunk scorer; activation checkpointing (with
// LoRA dropout drawing random masks) gives the gradients of the plain forward.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "checkpoints/peft_adapter.h"
#include "common/error.h"
#include "infer/scoring.h"
#include "infer/tokenizers/byte_tokenizer.h"
#include "tensor_compare.h"
#include "test_util.h"
#include "train/lora.h"
#include "train/objective.h"
#include "train/recipe.h"
#include "train_test_util.h"

namespace lmc::train {
namespace {

LlamaForCausalLM tiny_model() {
  LlamaConfig c;
  c.vocab_size = 258;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.bos_token_id = 256;
  LlamaForCausalLM model(c, at::TensorOptions().dtype(at::kFloat));
  at::manual_seed(5);
  model->init_weights(0.2);
  return model;
}

std::vector<std::string> sample_chunks() {
  const std::string text = testing::synthetic_text(200, 4);
  return {text.substr(0, 64), text.substr(64, 40), text.substr(104, 64)};
}

TokenBatch batch_of(const std::vector<std::string>& chunks) {
  std::vector<std::vector<TokenId>> rows;
  std::vector<int64_t> bytes;
  for (const auto& c : chunks) {
    rows.emplace_back(c.begin(), c.end());
    for (auto& id : rows.back()) id &= 0xff;
    bytes.push_back(static_cast<int64_t>(c.size()));
  }
  return make_token_batch(rows, bytes, kByteBos, at::kCPU);
}

TEST(Lora, OnlyAdapterFactorsTrain) {
  auto model = tiny_model();
  auto adapted = attach_lora(model, LoraSpec{4, 8.0, 0.0, false}, {"q_proj", "v_proj", "down_proj"});
  EXPECT_EQ(adapted.size(), 6u);
  auto trainable = trainable_parameters(model);
  ASSERT_EQ(trainable.size(), 12u);
  for (const auto& [name, p] : trainable) {
    EXPECT_TRUE(name.ends_with("lora_A.weight") || name.ends_with("lora_B.weight")) << name;
    EXPECT_EQ(p.scalar_type(), at::kFloat);
  }
  EXPECT_EQ(trainable.front().first, "model.layers.0.self_attn.q_proj.lora_A.weight");
}

TEST(Lora, MergeAndUnmergeAreExactInversesOfTheAdapter) {
  auto model = tiny_model();
  auto adapted = attach_lora(model, LoraSpec{4, 8.0, 0.0, false}, kLoraModules);
  {
    at::NoGradGuard no_grad;
    for (auto& [name, linear] : adapted) linear->lora_B.normal_(0.0, 0.1);
  }
  model->eval();
  at::NoGradGuard no_grad;
  auto ids = batch_of(sample_chunks()).input_ids;
  const at::Tensor weight = adapted[0].second->weight.clone();
  const at::Tensor adapted_logits = model->forward(ids);
  merge_lora(model);
  EXPECT_GT(testing::max_abs_diff(adapted[0].second->weight, weight), 1e-3) << "merging changes W";
  EXPECT_TENSORS_CLOSE(model->forward(ids), adapted_logits, 1e-5, 1e-5, "merged logits");
  unmerge_lora(model);
  EXPECT_TENSORS_CLOSE(adapted[0].second->weight, weight, 1e-6, 0, "W after unmerge");
  EXPECT_TENSORS_CLOSE(model->forward(ids), adapted_logits, 1e-5, 1e-5, "unmerged logits");
}

TEST(Lora, AdapterOfAnotherShapeIsRefusedAndNothingChanges) {
  testing::TempDir dir;
  auto source = tiny_model();
  save_peft_adapter(dir / "r4", attach_lora(source, LoraSpec{4, 8.0, 0.0, false}, kLoraModules), kLoraModules, "tiny");

  auto other_rank = tiny_model();
  auto adapted = attach_lora(other_rank, LoraSpec{2, 8.0, 0.0, false}, kLoraModules);
  const at::Tensor before = adapted[0].second->lora_A.clone();
  try {
    load_peft_adapter(dir / "r4", adapted);
    FAIL() << "a rank-4 adapter loaded into rank-2 modules";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("r is 4, the recipe's lora.rank is 2"), std::string::npos) << e.what();
  }
  auto fewer = tiny_model();
  auto q_only = attach_lora(fewer, LoraSpec{4, 8.0, 0.0, false}, {"q_proj"});
  try {
    load_peft_adapter(dir / "r4", q_only);
    FAIL() << "tensors of modules the model does not adapt were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(at::equal(adapted[0].second->lora_A, before));
}

TEST(Objective, BatchBitsEqualInferChunkScores) {
  auto model = tiny_model();
  model->eval();
  auto tokenizer = make_byte_tokenizer();
  const auto chunks = sample_chunks();
  std::vector<std::string_view> views(chunks.begin(), chunks.end());
  double expected = 0;
  for (const auto& s : score_chunks(model, *tokenizer, views, 1)) expected += s.bits;
  at::NoGradGuard no_grad;
  TokenBatch batch = batch_of(chunks);
  EXPECT_EQ(batch.bytes, 168);
  EXPECT_EQ(batch.tokens, 168);
  const double bits = batch_bits(model, batch, {}).item<double>();
  EXPECT_NEAR(bits, expected, 1e-5 * expected);
}

TEST(Objective, ActivationCheckpointingGivesThePlainGradients) {
  auto model = tiny_model();
  for (auto& [name, linear] : attach_lora(model, LoraSpec{4, 8.0, 0.3, false}, kLoraModules)) {
    at::NoGradGuard no_grad;
    linear->lora_B.normal_(0.0, 0.1);  // B starts at zero, which would leave A without a gradient
  }
  model->train();
  const TokenBatch batch = batch_of(sample_chunks());
  auto gradients = [&](bool checkpoint) {
    at::manual_seed(9);  // the same dropout masks for both runs
    ForwardOptions options;
    options.checkpoint_layers = checkpoint;
    batch_bits(model, batch, options).backward();
    std::vector<at::Tensor> grads;
    for (auto& [name, p] : trainable_parameters(model)) {
      grads.push_back(p.grad().clone());
      p.mutable_grad() = at::Tensor();
    }
    return grads;
  };
  const auto plain = gradients(false);
  const auto checkpointed = gradients(true);
  ASSERT_EQ(plain.size(), checkpointed.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_GT(plain[i].abs().max().item<double>(), 0) << "parameter " << i << " got no gradient";
    EXPECT_TENSORS_CLOSE(checkpointed[i], plain[i], 1e-6, 1e-5, "gradient " + std::to_string(i));
  }
}

}  // namespace
}  // namespace lmc::train
