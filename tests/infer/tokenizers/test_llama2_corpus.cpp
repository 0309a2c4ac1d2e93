// The real Llama 2 SentencePiece tokenizer (shared data) against the sentencepiece package on the first
// 8 KiB of every corpus file, three whole files (long inputs are encoded in segments) and fuzz strings
// (tests/oracles/tokenizer_llama2.py): the same ids wherever SentencePiece round-trips the text itself,
// and lossless everywhere. Skips without /work/shared/data.
#include <gtest/gtest.h>

#include "infer/tokenizers/load.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

namespace fs = std::filesystem;

class Llama2 : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = shared_data();
    if (!data_ || !fs::is_regular_file(model_path())) GTEST_SKIP() << "no shared data (LMC_SHARED_DATA)";
    golden_ = golden_dir("tokenizer_llama2");
    tokenizer_ = load_tokenizer(model_path());
  }
  fs::path model_path() const { return *data_ / "models/llama2_sentencepiece/tokenizer.model"; }

  std::optional<fs::path> data_;
  fs::path golden_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_F(Llama2, Specials) {
  EXPECT_EQ(tokenizer_->kind(), "sentencepiece");
  EXPECT_EQ(tokenizer_->vocab_size(), 32000);
  EXPECT_EQ(tokenizer_->bos_id(), 1);
  EXPECT_EQ(tokenizer_->eos_id(), 2);
  EXPECT_EQ(tokenizer_->decode({1, 0, 2}), "");
}

TEST_F(Llama2, CorpusPrefixesMatchSentencePiece) {
  size_t compared = 0;
  for (const auto& entry : read_json(golden_ / "corpus.json")) {
    const std::string path = entry["path"];
    const std::string bytes = read_file(*data_ / path).substr(0, entry["prefix_bytes"].get<size_t>());
    const std::vector<TokenId> ids = tokenizer_->encode(bytes);
    EXPECT_TRUE(tokenizer_->decode(ids) == bytes) << path << " does not round-trip";
    if (!entry["lossless"].get<bool>()) continue;
    EXPECT_EQ(ids.size(), entry["count"].get<size_t>()) << path;
    EXPECT_EQ(ids_crc32(ids), entry["crc32"].get<uint32_t>()) << path << " differs from sentencepiece";
    ++compared;
  }
  EXPECT_GT(compared, 300u);
}

TEST_F(Llama2, WholeFilesMatchSentencePiece) {
  for (const auto& entry : read_json(golden_ / "whole.json")) {
    const std::string path = entry["path"];
    const std::string bytes = read_file(*data_ / path);
    const std::vector<TokenId> ids = tokenizer_->encode(bytes);
    EXPECT_TRUE(tokenizer_->decode(ids) == bytes) << path << " does not round-trip";
    ASSERT_TRUE(entry["lossless"].get<bool>()) << path;
    EXPECT_EQ(ids.size(), entry["count"].get<size_t>()) << path;
    EXPECT_EQ(ids_crc32(ids), entry["crc32"].get<uint32_t>()) << path << " differs from sentencepiece";
  }
}

TEST_F(Llama2, FuzzMatchesSentencePieceWhereItIsLossless) {
  size_t compared = 0;
  for (const auto& c : read_json(golden_ / "fuzz.json")) {
    const std::string input = from_hex(c["hex"]);
    const std::vector<TokenId> ids = tokenizer_->encode(input);
    EXPECT_EQ(tokenizer_->decode(ids), input) << "round trip of hex " << c["hex"];
    if (!c["lossless"].get<bool>()) continue;
    EXPECT_EQ(ids, json_ids(c["ids"])) << "differs from sentencepiece on hex " << c["hex"];
    ++compared;
  }
  EXPECT_GT(compared, 1000u);
}

TEST_F(Llama2, RandomBytesRoundTrip) {
  RandomBytes random(37);
  for (int i = 0; i < 100000; ++i) {
    const std::string input = random.next(12);
    ASSERT_EQ(tokenizer_->decode(tokenizer_->encode(input)), input) << "hex " << to_hex(input);
  }
}

}  // namespace
}  // namespace lmc::testing
