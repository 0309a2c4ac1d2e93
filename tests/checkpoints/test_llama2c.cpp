// llama2.c checkpoints imported with `lmc convert llama2c`, against a numpy transcription of llama2.c's
// run.c reading the original files (tests/oracles/llama2c_reference.py): logits of both file versions,
// transformers on the converted directory, and, with ../shared/data, the real stories260K model
// generating run.c's 200 greedy tokens and encoding a prompt as run.c does. Also the Llama 2
// tokenizer.bin turned back into a tokenizer.model that encodes exactly as Meta's.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "adapter_test_util.h"
#include "checkpoints/llama2c.h"
#include "checkpoints/llama2c_tokenizer.h"
#include "common/error.h"
#include "infer/tokenizers/load.h"
#include "tensor_compare.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path reference() { return golden_dir("llama2c"); }

at::Tensor forward_logits(const fs::path& model_dir, const at::Tensor& ids) { return lmc_logits(model_dir, {}, ids)[0]; }

TEST(Llama2c, BothFileVersionsGiveRunCsLogits) {
  TempDir tmp;
  const fs::path tokenizer = reference() / "tiny_tok.bin";
  auto v0 = run_lmc("convert llama2c " + (reference() / "tiny_v0.bin").string() + " " + tokenizer.string() + " --out " +
                    (tmp / "v0").string());
  ASSERT_EQ(v0.exit_code, 0) << v0.err;
  EXPECT_NE(v0.out.find("llama2.c version 0"), std::string::npos) << v0.out;
  const Llama2cImport v1 = convert_llama2c(reference() / "tiny_v1.bin", tokenizer, tmp / "v1", false);
  EXPECT_EQ(v1.version, 1);
  EXPECT_FALSE(v1.config.tie_word_embeddings) << "negative vocab_size / shared flag 0: a separate classifier";

  const SafetensorsFile a = SafetensorsFile::open(tmp / "v0" / "model.safetensors");
  const SafetensorsFile b = SafetensorsFile::open(tmp / "v1" / "model.safetensors");
  auto sorted = [](std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
  };
  EXPECT_EQ(sorted(a.names()), sorted(b.names()));  // the same tensors, stored in each version's order
  for (const auto& name : a.names()) EXPECT_TRUE(at::equal(a.tensor(name), b.tensor(name))) << name;
  EXPECT_TRUE(a.contains("lm_head.weight"));

  const fs::path golden = reference() / "tiny.safetensors";
  const at::Tensor ids = golden_tensor(golden, "input_ids");
  EXPECT_TRUE(tensors_close(forward_logits(tmp / "v0", ids), golden_tensor(golden, "logits"), 1e-4));
}

constexpr const char* kTransformersLogits = R"(import sys
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], attn_implementation='eager').eval()
with torch.no_grad():
    logits = model(load_file(sys.argv[2])['input_ids']).logits[0].float().contiguous()
save_file({'logits': logits}, sys.argv[3])
)";

TEST(Llama2c, TransformersReadsTheConversion) {
  TempDir tmp;
  convert_llama2c(reference() / "tiny_v0.bin", reference() / "tiny_tok.bin", tmp / "hf", false);
  const fs::path golden = reference() / "tiny.safetensors";
  run_python(tmp, kTransformersLogits,
             (tmp / "hf").string() + " " + golden.string() + " " + (tmp / "logits.safetensors").string());
  EXPECT_TRUE(tensors_close(golden_tensor(tmp / "logits.safetensors", "logits"), golden_tensor(golden, "logits"), 1e-4));
}

TEST(Llama2c, BadInputsAreRefusedWithoutOutput) {
  TempDir tmp;
  const std::string tokenizer = (reference() / "tiny_tok.bin").string();
  const std::string truncated = (tmp / "truncated.bin").string();
  write_file(truncated, read_file(reference() / "tiny_v0.bin").substr(0, 5000));
  auto r = run_lmc("convert llama2c " + truncated + " " + tokenizer + " --out " + (tmp / "out").string());
  expect_one_line_error(r, "convert", "truncated.bin: the file has 5000 bytes, but a version-0 checkpoint of dim 32");

  std::string v2 = read_file(reference() / "tiny_v1.bin");
  v2[4] = 2;
  write_file(tmp / "v2.bin", v2);
  r = run_lmc("convert llama2c " + (tmp / "v2.bin").string() + " " + tokenizer + " --out " + (tmp / "out").string());
  expect_one_line_error(r, "convert", "llama2.c format version 2 is not supported");

  const std::string short_tokenizer = (tmp / "tok.bin").string();
  write_file(short_tokenizer, read_file(reference() / "tiny_tok.bin").substr(0, 2000));
  r = run_lmc("convert llama2c " + (reference() / "tiny_v0.bin").string() + " " + short_tokenizer + " --out " +
              (tmp / "out").string());
  expect_one_line_error(r, "convert", "tok.bin: the file ends inside token");
  EXPECT_FALSE(fs::exists(tmp / "out"));

  // A legacy header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: a separate
  // classifier), seq_len.
  auto legacy_header = [&](std::array<int32_t, 7> fields) {
    std::string bytes(sizeof fields, '\0');
    std::memcpy(bytes.data(), fields.data(), sizeof fields);
    write_file(tmp / "header.bin", bytes + std::string(4096, '\0'));
    return run_lmc("convert llama2c " + (tmp / "header.bin").string() + " " + tokenizer + " --out " +
                   (tmp / "out").string());
  };
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  r = legacy_header({1 << 30, kMax, kMax, 1, 1, kMax, kMax});
  expect_one_line_error(r, "convert", "holds more than 2^64");
  r = legacy_header({32, 64, 1, 4, 4, std::numeric_limits<int32_t>::min(), 64});
  expect_one_line_error(r, "convert", "header field vocab_size is out of range");
  EXPECT_FALSE(fs::exists(tmp / "out"));

  fs::create_directories(tmp / "out");
  r = run_lmc("convert llama2c " + (reference() / "tiny_v0.bin").string() + " " + tokenizer + " --out " +
              (tmp / "out").string());
  expect_one_line_error(r, "convert", "already exists (use -f to replace it)");
}

// ../shared/data/models/<folder>, or empty (the caller skips).
fs::path shared_model(const std::string& folder) {
  auto data = shared_data();
  return data ? *data / "models" / folder : fs::path();
}

class Stories260K : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = shared_model("llama2c_stories260K");
    if (folder_.empty() || !fs::exists(reference() / "stories260K.json")) {
      GTEST_SKIP() << "../shared/data/models/llama2c_stories260K is absent";
    }
    golden_ = json::parse(read_file(reference() / "stories260K.json"));
    auto r = run_lmc("convert llama2c " + (folder_ / "stories260K.bin").string() + " " + (folder_ / "tok512.bin").string() +
                     " --out " + model().string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  fs::path model() const { return tmp_ / "stories260K"; }

  TempDir tmp_;
  fs::path folder_;
  json golden_;
};

TEST_F(Stories260K, GeneratesRunCsTwoHundredGreedyTokens) {
  auto r = run_lmc("generate --json --model " + model().string() + " --temperature 0 -n 200");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["prompt_tokens"], json::array({1}));
  ASSERT_EQ(golden_["tokens"].size(), 200u);
  EXPECT_EQ(j["tokens"], golden_["tokens"]);
  EXPECT_EQ(j["text"], golden_["text"]);
  const std::string opening =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
  EXPECT_EQ(j["text"].get<std::string>().rfind(opening, 0), 0u) << j["text"];

  auto streamed = run_lmc("generate --model " + model().string() + " --temperature 0 -n 200");
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(streamed.out, golden_["text"].get<std::string>() + "\n");
}

TEST_F(Stories260K, LogitsMatchRunC) {
  const fs::path golden = reference() / "stories260K.safetensors";
  EXPECT_TRUE(tensors_close(forward_logits(model(), golden_tensor(golden, "input_ids")), golden_tensor(golden, "logits"),
                            1e-4));
}

TEST_F(Stories260K, PromptsAreEncodedAsRunCDoes) {
  const std::string prompt = golden_["prompt"];
  const size_t steps = golden_["prompt_continuation"].size();
  auto r = run_lmc("generate --json --model " + model().string() + " --temperature 0 -n " + std::to_string(steps) +
                   " --prompt '" + prompt + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["prompt_tokens"], golden_["prompt_tokens"]);
  EXPECT_EQ(j["tokens"], golden_["prompt_continuation"]);
  EXPECT_EQ(prompt + j["text"].get<std::string>(), golden_["prompt_text"].get<std::string>());
}

constexpr const char* kComparePieces = R"(import sys
import sentencepiece as spm
ours, meta = spm.SentencePieceProcessor(model_file=sys.argv[1]), spm.SentencePieceProcessor(model_file=sys.argv[2])
assert ours.get_piece_size() == meta.get_piece_size()
kinds = lambda sp, i: (sp.is_control(i), sp.is_unknown(i), sp.is_byte(i))
bad = [i for i in range(meta.get_piece_size()) if (ours.id_to_piece(i), ours.get_score(i), kinds(ours, i)) !=
       (meta.id_to_piece(i), meta.get_score(i), kinds(meta, i))]
text = open(sys.argv[3], encoding='utf-8', errors='replace').read()
print(len(bad), ours.encode(text) == meta.encode(text))
)";

TEST(Llama2Tokenizer, TokenizerBinBecomesMetasModel) {
  const fs::path folder = shared_model("llama2_sentencepiece");
  if (folder.empty()) GTEST_SKIP() << "../shared/data/models/llama2_sentencepiece is absent";
  TempDir tmp;
  const std::string model = sentencepiece_model_from_llama2c(read_llama2c_tokenizer(folder / "tokenizer.bin", 32000));
  write_file(tmp / "tokenizer.model", model);
  std::string text = "Once upon a time, in 1987, Lily's caf\xC3\xA9 \xE2\x98\x83 sold  two\tbreads.\r\n";
  for (const auto& entry : fs::recursive_directory_iterator(*shared_data() / "text" / "general")) {
    if (entry.is_regular_file()) {
      text += read_file(entry.path()).substr(0, 100000);
      break;
    }
  }
  text += std::string("\xFF\xFE invalid UTF-8 \x80", 18);
  write_file(tmp / "sample.txt", text);
  const auto ours = load_tokenizer(tmp / "tokenizer.model");
  const auto meta = load_tokenizer(folder / "tokenizer.model");
  EXPECT_EQ(ours->encode(text), meta->encode(text));
  EXPECT_EQ(ours->decode(ours->encode(text)), text);
  auto r = run_python(tmp, kComparePieces,
                      (tmp / "tokenizer.model").string() + " " + (folder / "tokenizer.model").string() + " " +
                          (tmp / "sample.txt").string());
  EXPECT_EQ(r.out, "0 True\n") << "pieces differing from Meta's, and whether sentencepiece encodes alike";
}

}  // namespace
}  // namespace lmc::testing
