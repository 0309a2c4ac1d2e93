// The batch lmc compress picks when --batch is not given: bounded by the row kernels' 64 streams and by
// a 2 GiB KV cache at one token per byte, so a large model still fits in memory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "codec/codec.h"

namespace lmc {
namespace {

LlamaConfig config(int64_t layers, int64_t kv_heads, int64_t head_dim) {
  return LlamaConfig::from_json({{"vocab_size", 128256},
                                 {"hidden_size", 32 * head_dim},
                                 {"intermediate_size", 14336},
                                 {"num_hidden_layers", layers},
                                 {"num_attention_heads", 32},
                                 {"num_key_value_heads", kv_heads},
                                 {"head_dim", head_dim}});
}

TEST(AutoBatch, SmallModelsGetTheKernelsWidestBatch) {
  EXPECT_EQ(auto_batch(config(6, 4, 32), torch::kFloat32, 2048), 64);
}

// LLaMA-3-8B: 32 layers x 8 KV heads x 128 x 2 (K and V) x 2 bytes = 128 KiB per token, 2049 tokens a
// stream: 7 streams fit in 2 GiB, and in fp32 half as many.
TEST(AutoBatch, LargeModelsAreBoundedByTheirKvCache) {
  EXPECT_EQ(auto_batch(config(32, 8, 128), torch::kBFloat16, 2048), 7);
  EXPECT_EQ(auto_batch(config(32, 8, 128), torch::kFloat32, 2048), 3);
  EXPECT_EQ(auto_batch(config(32, 8, 128), torch::kBFloat16, 512), 31);
}

TEST(AutoBatch, NeverBelowOne) {
  EXPECT_EQ(auto_batch(config(80, 8, 128), torch::kFloat32, 1 << 20), 1);
}

}  // namespace
}  // namespace lmc
