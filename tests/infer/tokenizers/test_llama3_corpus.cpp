// The real Llama 3 tokenizer (shared data) against tiktoken and Hugging Face tokenizers on every file of
// the shared text corpus and on fuzz strings (tests/oracles/tokenizer_llama3.py), plus the known ids of
// "This is a test sentence." from the data's SOURCES.md. Skips without /work/shared/data.
#include <gtest/gtest.h>

#include "infer/tokenizers/load.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

namespace fs = std::filesystem;

class Llama3 : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = shared_data();
    if (!data_ || !fs::is_regular_file(model_path())) GTEST_SKIP() << "no shared data (LMC_SHARED_DATA)";
    golden_ = golden_dir("tokenizer_llama3");
    ASSERT_TRUE(fs::exists(golden_ / "stamp.json")) << "tokenizer_llama3.py did not finish";
  }
  fs::path model_path() const { return *data_ / "models/llama3_tiktoken/tokenizer.model"; }

  std::optional<fs::path> data_;
  fs::path golden_;
};

TEST_F(Llama3, KnownSentenceAndSpecials) {
  for (const fs::path& path : {model_path(), golden_ / "hf"}) {
    auto tokenizer = load_tokenizer(path);
    EXPECT_EQ(tokenizer->encode("This is a test sentence."), (std::vector<TokenId>{2028, 374, 264, 1296, 11914, 13}))
        << path;
    EXPECT_EQ(tokenizer->vocab_size(), 128256) << path;
    EXPECT_EQ(tokenizer->bos_id(), 128000) << path;
    EXPECT_EQ(tokenizer->eos_id(), 128001) << path;
    const std::vector<TokenId> ids = tokenizer->encode("<|begin_of_text|>");
    EXPECT_GT(ids.size(), 1u) << "special-token text must be ordinary text";
    EXPECT_EQ(tokenizer->decode(ids), "<|begin_of_text|>");
    EXPECT_EQ(tokenizer->decode({128000, 128006, 128009}), "");
  }
}

TEST_F(Llama3, CorpusMatchesTiktokenAndTokenizers) {
  auto tiktoken = load_tokenizer(model_path());
  auto hf = load_tokenizer(golden_ / "hf");
  size_t files = 0;
  for (const auto& entry : read_json(golden_ / "corpus.json")) {
    const std::string path = entry["path"];
    const std::string bytes = read_file(*data_ / path);
    ASSERT_EQ(bytes.size(), entry["bytes"].get<size_t>()) << path << " changed since the oracle ran";
    const std::vector<TokenId> ids = tiktoken->encode(bytes);
    EXPECT_EQ(ids.size(), entry["tiktoken"]["count"].get<size_t>()) << path;
    EXPECT_EQ(ids_crc32(ids), entry["tiktoken"]["crc32"].get<uint32_t>()) << path << " differs from tiktoken";
    EXPECT_TRUE(tiktoken->decode(ids) == bytes) << path << " does not round-trip";
    const std::vector<TokenId> hf_ids = hf->encode(bytes);
    EXPECT_EQ(hf_ids.size(), entry["hf"]["count"].get<size_t>()) << path;
    EXPECT_EQ(ids_crc32(hf_ids), entry["hf"]["crc32"].get<uint32_t>()) << path << " differs from tokenizers";
    ++files;
  }
  EXPECT_GT(files, 300u);
}

TEST_F(Llama3, FuzzMatchesTiktokenAndTokenizers) {
  auto tiktoken = load_tokenizer(model_path());
  auto hf = load_tokenizer(golden_ / "hf");
  for (const auto& c : read_json(golden_ / "fuzz.json")) {
    const std::string input = from_hex(c["hex"]);
    const std::vector<TokenId> ids = tiktoken->encode(input);
    EXPECT_EQ(ids, json_ids(c["tiktoken"])) << "tiktoken differs on hex " << c["hex"];
    EXPECT_EQ(hf->encode(input), json_ids(c["hf"])) << "tokenizers differs on hex " << c["hex"];
    EXPECT_EQ(tiktoken->decode(ids), input) << "round trip of hex " << c["hex"];
  }
}

TEST_F(Llama3, RandomBytesRoundTrip) {
  auto tokenizer = load_tokenizer(model_path());
  RandomBytes random(31);
  for (int i = 0; i < 100000; ++i) {
    const std::string input = random.next(12);
    ASSERT_EQ(tokenizer->decode(tokenizer->encode(input)), input) << "hex " << to_hex(input);
  }
}

}  // namespace
}  // namespace lmc::testing
