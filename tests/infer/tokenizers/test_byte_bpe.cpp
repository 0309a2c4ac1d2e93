// Byte-level BPE against its references on tiny self-contained tokenizers (tests/oracles/tokenizer_tiny.py):
// tiktoken for a rank file, Hugging Face tokenizers for tokenizer.json (merges derived from ranks, and a
// BpeTrainer's own merges with GPT-2's regex). Inputs with invalid UTF-8 are compared against the
// references applied to each valid run, with the byte token for each invalid byte.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/error.h"
#include "infer/tokenizers/load.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

nlohmann::json tiny_cases() { return read_json(golden_dir("tokenizer_tiny") / "cases.json"); }

void expect_matches_reference(const Tokenizer& tokenizer, const std::string& reference) {
  int compared = 0;
  for (const auto& c : tiny_cases()) {
    const std::string input = from_hex(c["hex"]);
    const std::vector<TokenId> ids = tokenizer.encode(input);
    EXPECT_EQ(ids, json_ids(c[reference])) << reference << " differs on input hex " << c["hex"];
    EXPECT_EQ(tokenizer.decode(ids), input) << "round trip of hex " << c["hex"];
    ++compared;
  }
  EXPECT_GT(compared, 500);
}

TEST(ByteBpe, TiktokenFileMatchesTiktoken) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken");
  EXPECT_EQ(tokenizer->kind(), "tiktoken");
  expect_matches_reference(*tokenizer, "tiktoken");
}

TEST(ByteBpe, TokenizerJsonFromRanksMatchesTokenizers) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "hf_from_ranks");
  EXPECT_EQ(tokenizer->kind(), "hf-bpe");
  expect_matches_reference(*tokenizer, "hf_from_ranks");
}

TEST(ByteBpe, TrainedTokenizerJsonMatchesTokenizers) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "hf_trained" / "tokenizer.json");
  expect_matches_reference(*tokenizer, "hf_trained");
}

TEST(ByteBpe, TiktokenSpecialsFollowTheRanks) {
  const auto path = golden_dir("tokenizer_tiny") / "tiny.tiktoken";
  auto tokenizer = load_tokenizer(path);
  const std::string text = read_file(path);
  const auto ranks = static_cast<TokenId>(std::count(text.begin(), text.end(), '\n'));
  EXPECT_EQ(tokenizer->vocab_size(), ranks + 256);
  EXPECT_EQ(tokenizer->bos_id(), ranks);
  EXPECT_EQ(tokenizer->eos_id(), ranks + 1);
  EXPECT_EQ(tokenizer->piece(ranks), "");
  // Special ids decode to nothing; text spelling a special token is ordinary text.
  const std::vector<TokenId> body = tokenizer->encode("<|begin_of_text|>hi");
  for (TokenId id : body) EXPECT_LT(id, ranks);
  std::vector<TokenId> framed = {ranks};
  framed.insert(framed.end(), body.begin(), body.end());
  framed.push_back(ranks + 1);
  EXPECT_EQ(tokenizer->decode(framed), "<|begin_of_text|>hi");
}

TEST(ByteBpe, SpecialIdsFromTheModelDirectoryConfig) {
  const auto dir = golden_dir("tokenizer_tiny");
  auto from_file = load_tokenizer(dir / "hf_from_ranks" / "tokenizer.json");
  auto from_dir = load_tokenizer(dir / "hf_from_ranks");
  const auto config = read_json(dir / "hf_from_ranks" / "config.json");
  // config.json: bos an int, eos a list whose first element counts.
  EXPECT_EQ(from_dir->bos_id(), config["bos_token_id"].get<TokenId>());
  EXPECT_EQ(from_dir->eos_id(), config["eos_token_id"][0].get<TokenId>());
  EXPECT_FALSE(from_file->bos_id().has_value());
  EXPECT_NE(from_file->fingerprint(), from_dir->fingerprint());

  // tokenizer_config.json beside a tokenizer.json names BOS/EOS by content.
  auto trained = load_tokenizer(dir / "hf_trained" / "tokenizer.json");
  ASSERT_TRUE(trained->bos_id() && trained->eos_id());
  const auto vocab = read_json(dir / "hf_trained" / "tokenizer.json")["model"]["vocab"];
  EXPECT_EQ(*trained->bos_id(), vocab["<|bos|>"].get<TokenId>());
  EXPECT_EQ(*trained->eos_id(), vocab["<|eos|>"].get<TokenId>());
}

TEST(ByteBpe, FingerprintsTellModelsApart) {
  const auto dir = golden_dir("tokenizer_tiny");
  auto a = load_tokenizer(dir / "tiny.tiktoken");
  auto b = load_tokenizer(dir / "tiny.tiktoken");
  auto c = load_tokenizer(dir / "hf_from_ranks" / "tokenizer.json");
  auto d = load_tokenizer(dir / "hf_trained" / "tokenizer.json");
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_NE(a->fingerprint(), c->fingerprint());
  EXPECT_NE(c->fingerprint(), d->fingerprint());
}

TEST(ByteBpe, InvalidUtf8BytesBecomeByteTokens) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken");
  const std::vector<TokenId> ff = tokenizer->encode("\xFF");
  ASSERT_EQ(ff.size(), 1u);
  EXPECT_EQ(tokenizer->piece(ff[0]), "\xFF");
  // The valid runs on either side are encoded on their own: the invalid byte splits them.
  std::vector<TokenId> expected = tokenizer->encode("abc ");
  expected.push_back(ff[0]);
  const std::vector<TokenId> tail = tokenizer->encode(" def");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(tokenizer->encode("abc \xFF def"), expected);
  // A truncated sequence is one byte token per byte.
  EXPECT_EQ(tokenizer->encode("\xE2\x82").size(), 2u);
}

TEST(ByteBpe, HugePiecesStayLinearAndLossless) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken");
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& input : {std::string(1 << 20, ' ') + "x", std::string(1 << 20, 'q'),
                                   std::string(1 << 19, '\n') + std::string(1 << 19, '\t'),
                                   std::string(1 << 20, '!')}) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(input)), input);
  }
  // Quadratic merging of a 1 MiB piece would take minutes; the heap merge takes well under a second each.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20.0);
}

TEST(ByteBpe, ConcurrentEncodesAgree) {
  // One thread holds the shared piece cache while the other encodes without it: same ids either way.
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken");
  std::vector<std::string> inputs;
  RandomBytes random(11);
  for (int i = 0; i < 2000; ++i) inputs.push_back(random.next(40));
  std::vector<std::vector<TokenId>> expected;
  for (const auto& input : inputs) expected.push_back(tokenizer->encode(input));
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < inputs.size(); ++i) mismatches[t] += tokenizer->encode(inputs[i]) != expected[i];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0}));
}

TEST(ByteBpe, DecodeRejectsIdsOutsideTheVocabulary) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken");
  try {
    tokenizer->decode({1, tokenizer->vocab_size()});
    FAIL() << "expected lmc::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tokenizer->piece(-1), Error);
}

TEST(ByteTokenizer, IdsAreBytes) {
  auto tokenizer = make_byte_tokenizer();
  const std::string input("ab\0\xFF", 4);
  EXPECT_EQ(tokenizer->encode(input), (std::vector<TokenId>{97, 98, 0, 255}));
  EXPECT_EQ(tokenizer->decode({256, 97, 98, 0, 255, 257}), input);
  EXPECT_EQ(tokenizer->vocab_size(), 258);
  EXPECT_EQ(tokenizer->bos_id(), 256);
  EXPECT_EQ(tokenizer->eos_id(), 257);
  EXPECT_EQ(tokenizer->piece(255), "\xFF");
  EXPECT_EQ(tokenizer->piece(256), "");
  EXPECT_EQ(tokenizer->kind(), "bytes");
  EXPECT_THROW(tokenizer->decode({258}), Error);
}

}  // namespace
}  // namespace lmc::testing
