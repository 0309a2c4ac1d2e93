// The lossless property every tokenizer kind must have: decode(encode(x)) == x for 100k random short
// byte strings each (invalid UTF-8, NUL, lone CR, whitespace runs, U+2581, contractions, emoji...).
#include <gtest/gtest.h>

#include "infer/tokenizers/load.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

constexpr int kStrings = 100000;

void expect_round_trips(const Tokenizer& tokenizer, uint64_t seed) {
  RandomBytes random(seed);
  int failures = 0;
  for (int i = 0; i < kStrings && failures < 5; ++i) {
    const std::string input = random.next(12);
    const std::vector<TokenId> ids = tokenizer.encode(input);
    const std::string output = tokenizer.decode(ids);
    if (output != input) {
      ++failures;
      ADD_FAILURE() << tokenizer.kind() << ": hex " << to_hex(input) << " decodes to hex " << to_hex(output);
    }
  }
}

TEST(RoundTrip, Tiktoken) { expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "tiny.tiktoken"), 1); }

TEST(RoundTrip, TokenizerJsonLlama3Regex) {
  expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "hf_from_ranks"), 2);
}

TEST(RoundTrip, TokenizerJsonGpt2Regex) {
  expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "hf_trained"), 3);
}

TEST(RoundTrip, SentencePieceLosslessOptions) {
  expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "spm_lossless.model"), 4);
}

TEST(RoundTrip, SentencePieceLlamaLike) {
  expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "spm_llama_like.model"), 7);
}

TEST(RoundTrip, SentencePieceNormalisingDefaults) {
  expect_round_trips(*load_tokenizer(golden_dir("tokenizer_tiny") / "spm_default.model"), 5);
}

TEST(RoundTrip, Bytes) { expect_round_trips(*make_byte_tokenizer(), 6); }

}  // namespace
}  // namespace lmc::testing
