// `lmc train --dry-run` sizes a run from config.json alone: for the paper's LLaMA3-8B LoRA recipe the
// trainable count is PEFT's well-known 20,971,520 (r = 8 on all seven projections) and the model's
// 8,030,261,248 parameters; LoRA in bf16 fits one 80 GiB GPU, a full fp32 AdamW fine-tune does not.
#include <gtest/gtest.h>


#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

// Meta-Llama-3-8B's config.json fields (docs/formats.md); no weights.
void write_llama3_8b_config(const fs::path& dir) {
  fs::create_directories(dir);
  nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 128256},
                           {"hidden_size", 4096}, {"intermediate_size", 14336}, {"num_hidden_layers", 32},
                           {"num_attention_heads", 32}, {"num_key_value_heads", 8}, {"rms_norm_eps", 1e-5},
                           {"rope_theta", 500000.0}, {"max_position_embeddings", 8192}, {"bos_token_id", 128000},
                           {"eos_token_id", 128001}, {"tie_word_embeddings", false}, {"torch_dtype", "bfloat16"}};
  write_file(dir / "config.json", config.dump(2));
}

TEST(DryRun, Llama3_8bLoraFitsOneGpuAndFullFineTuneDoesNot) {
  TempDir dir;
  write_llama3_8b_config(dir / "llama3-8b");
  const std::string recipe = setting("LMC_SOURCE_DIR") + "/recipes/llama3_8b_lora_medical.yaml";
  auto lora = run_lmc("train " + recipe + " --dry-run model.path=" + (dir / "llama3-8b").string());
  ASSERT_EQ(lora.exit_code, 0) << lora.err;
  EXPECT_NE(lora.out.find("parameters: 8.03B (8030261248)"), std::string::npos) << lora.out;
  EXPECT_NE(lora.out.find("trainable: 20.97M (20971520"), std::string::npos) << lora.out;
  EXPECT_NE(lora.out.find("fits in 80 GiB: yes"), std::string::npos) << lora.out;
  EXPECT_FALSE(fs::exists(dir / "llama3-8b" / "model.safetensors"));

  auto full = run_lmc("train " + recipe + " --dry-run lora= dtype=fp32 model.path=" + (dir / "llama3-8b").string());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("trainable: 8.03B (8030261248"), std::string::npos) << full.out;
  EXPECT_NE(full.out.find("fits in 80 GiB: no"), std::string::npos) << full.out;
}

TEST(DryRun, MissingModelDirectoryIsAOneLineError) {
  const std::string recipe = setting("LMC_SOURCE_DIR") + "/recipes/llama3_8b_lora_medical.yaml";
  auto result = run_lmc("train " + recipe + " --dry-run model.path=/nonexistent/llama");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(result.err.starts_with("lmc train: error: ")) << result.err;
  EXPECT_NE(result.err.find("/nonexistent/llama/config.json"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace lmc::testing
