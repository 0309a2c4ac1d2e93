// Merged exports: the weights are exactly lmc's own in-memory merge (fp32, then cast), transformers
// loads the directory (one file or sharded) with the logits lmc computes with the adapter unmerged,
// the side files come along, and an export that fails or would overwrite leaves nothing behind.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapter_test_util.h"
#include "checkpoints/merged_export.h"
#include "common/error.h"
#include "tensor_compare.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kAdapter = "peft_qv";

ExportOptions export_request(const fs::path& out) {
  ExportOptions options;
  options.base = adapter_base();
  options.adapter = adapters_golden() / kAdapter;
  options.out = out;
  return options;
}

// Every weight of the exported directory equals the base with the adapter merged in place by
// Linear::merge_lora, cast to `dtype`.
void expect_weights_are_lmcs_merge(const fs::path& out, at::ScalarType dtype) {
  LlamaForCausalLM model = load_llama(adapter_base());
  for (auto& [prefix, linear] : apply_peft_adapter(model, adapters_golden() / kAdapter)) linear->merge_lora();
  const TensorSource exported = TensorSource::open(out);
  int64_t compared = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key().find("lora_") != std::string::npos) continue;
    ASSERT_TRUE(exported.contains(item.key())) << item.key();
    EXPECT_TRUE(at::equal(exported.tensor(item.key()), item.value().to(dtype))) << item.key();
    compared += 1;
  }
  EXPECT_EQ(compared, static_cast<int64_t>(exported.names().size()));
}

TEST(Export, WeightsAreTheFp32MergeCast) {
  TempDir tmp;
  ExportOptions request = export_request(tmp / "fp32");
  const ExportResult result = export_merged(request);
  EXPECT_EQ(result.merged, 6);  // q, v, down in two layers
  EXPECT_EQ(result.dtype, at::kFloat);
  expect_weights_are_lmcs_merge(tmp / "fp32", at::kFloat);

  request.out = tmp / "bf16";
  request.dtype = at::kBFloat16;
  export_merged(request);
  expect_weights_are_lmcs_merge(tmp / "bf16", at::kBFloat16);
  const json config = json::parse(read_file(tmp / "bf16" / "config.json"));
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_EQ(config["dtype"], "bfloat16");  // transformers v5's spelling, present in the base's config
  EXPECT_EQ(config["lmc_tokenizer"], "bytes");
  EXPECT_EQ(SafetensorsFile::open(tmp / "bf16" / "model.safetensors").info("lm_head.weight").dtype, "BF16");
}

constexpr const char* kTransformersLogits = R"(import sys
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM
ids = load_file(sys.argv[1])['input_ids']
out = {}
for i, path in enumerate(sys.argv[3:]):
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation='eager').eval()
    with torch.no_grad():
        out[f'logits_{i}'] = model(ids).logits.float().contiguous()
save_file(out, sys.argv[2])
)";

TEST(Export, TransformersLoadsItWithLmcsUnmergedLogits) {
  TempDir tmp;
  ExportOptions request = export_request(tmp / "single");
  export_merged(request);
  request.out = tmp / "sharded";
  request.max_shard_bytes = 20'000;
  const ExportResult sharded = export_merged(request);
  EXPECT_TRUE(fs::exists(tmp / "sharded" / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(tmp / "sharded" / "model.safetensors"));
  EXPECT_GT(TensorSource::open(tmp / "sharded").file_count(), 5);
  EXPECT_EQ(sharded.files.size(), static_cast<size_t>(std::distance(fs::directory_iterator(tmp / "sharded"),
                                                                  fs::directory_iterator{})));

  const fs::path golden_file = adapters_golden() / "golden.safetensors";
  run_python(tmp, kTransformersLogits,
             golden_file.string() + " " + (tmp / "hf.safetensors").string() + " " + (tmp / "single").string() + " " +
                 (tmp / "sharded").string());
  const at::Tensor ids = golden_tensor(golden_file, "input_ids");
  const at::Tensor unmerged = lmc_logits(adapter_base(), adapters_golden() / kAdapter, ids);
  for (const char* name : {"logits_0", "logits_1"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(tensors_close(golden_tensor(tmp / "hf.safetensors", name), unmerged, 1e-4));
  }
}

TEST(Export, CopiesTheSideFilesAndLoadsInLmc) {
  TempDir tmp;
  fs::copy(adapter_base(), tmp / "base", fs::copy_options::recursive);
  write_file(tmp / "base" / "tokenizer_config.json", "{\"tokenizer_class\": \"none\"}\n");
  ExportOptions request = export_request(tmp / "out");
  request.base = tmp / "base";
  const ExportResult result = export_merged(request);
  for (const char* name : {"generation_config.json", "tokenizer_config.json"}) {
    EXPECT_EQ(read_file(tmp / "out" / name), read_file(tmp / "base" / name)) << name;
  }
  EXPECT_FALSE(fs::exists(tmp / "out" / "sample.bin")) << "only Hugging Face model files are copied";
  EXPECT_EQ(result.files.size(), 4u);  // model.safetensors, config.json and the two above
  const at::Tensor ids = golden_tensor(adapters_golden() / "golden.safetensors", "input_ids");
  EXPECT_TRUE(tensors_close(lmc_logits(tmp / "out", {}, ids), lmc_logits(adapter_base(), adapters_golden() / kAdapter, ids),
                            1e-4));
}

TEST(Export, RefusesToOverwriteAndFailsWithoutATrace) {
  TempDir tmp;
  fs::create_directories(tmp / "out");
  write_file(tmp / "out" / "keep.txt", "precious");
  try {
    export_merged(export_request(tmp / "out"));
    ADD_FAILURE() << "an existing --out was overwritten without being asked";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists (use -f to replace it)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(tmp / "out" / "keep.txt"), "precious");

  ExportOptions bad = export_request(tmp / "out");
  bad.overwrite = true;
  bad.adapter = adapters_golden() / "other_hidden";
  EXPECT_THROW(export_merged(bad), Error);
  EXPECT_EQ(read_file(tmp / "out" / "keep.txt"), "precious");
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"out"});

  ExportOptions replace = export_request(tmp / "out");
  replace.overwrite = true;
  export_merged(replace);
  EXPECT_FALSE(fs::exists(tmp / "out" / "keep.txt"));
  EXPECT_TRUE(fs::exists(tmp / "out" / "model.safetensors"));
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"out"});

  ExportOptions onto_base = export_request(adapter_base());
  onto_base.overwrite = true;
  EXPECT_THROW(export_merged(onto_base), Error);
}

}  // namespace
}  // namespace lmc::testing
