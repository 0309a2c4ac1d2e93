// SentencePiece through lmc against the sentencepiece Python package (tests/oracles/tokenizer_tiny.py):
// SentencePiece's own ids wherever its own decode reproduces the input, and lossless everywhere else
// through the byte-piece fallback. Also `train_sentencepiece`: the options it promises and its failures.
#include <gtest/gtest.h>

#include "common/error.h"
#include "infer/tokenizers/load.h"
#include "infer/tokenizers/sentencepiece_train.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

struct Tally {
  int same_as_reference = 0;
  int fallback = 0;
  int refused = 0;
};

Tally compare_with_sentencepiece(const std::string& model, bool has_byte_pieces) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / (model + ".model"));
  EXPECT_EQ(tokenizer->kind(), "sentencepiece");
  Tally tally;
  for (const auto& c : read_json(golden_dir("tokenizer_tiny") / "cases.json")) {
    const std::string input = from_hex(c["hex"]);
    std::vector<TokenId> ids;
    try {
      ids = tokenizer->encode(input);
    } catch (const Error& e) {
      EXPECT_FALSE(has_byte_pieces) << model << " threw on hex " << c["hex"] << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("no byte-fallback pieces"), std::string::npos) << e.what();
      ++tally.refused;
      continue;
    }
    EXPECT_EQ(tokenizer->decode(ids), input) << model << " round trip of hex " << c["hex"];
    if (c.contains(model) && c[model]["lossless"].get<bool>()) {
      EXPECT_EQ(ids, json_ids(c[model]["ids"])) << model << " differs from sentencepiece on hex " << c["hex"];
      ++tally.same_as_reference;
    } else {
      ++tally.fallback;
    }
  }
  return tally;
}

TEST(SentencePiece, LosslessModelMatchesSentencePiece) {
  const Tally t = compare_with_sentencepiece("spm_lossless", true);
  EXPECT_GT(t.same_as_reference, 300);
  EXPECT_GT(t.fallback, 100);  // invalid UTF-8 and literal U+2581 inputs
}

TEST(SentencePiece, DefaultNormalisingModelIsMadeLossless) {
  const Tally t = compare_with_sentencepiece("spm_default", true);
  EXPECT_GT(t.same_as_reference, 50);
  EXPECT_GT(t.fallback, 300);  // NFKC, dummy prefix and whitespace folding lose bytes by themselves
}

TEST(SentencePiece, LlamaLikeModelMatchesSentencePiece) {
  const Tally t = compare_with_sentencepiece("spm_llama_like", true);
  EXPECT_GT(t.same_as_reference, 300);
  EXPECT_GT(t.fallback, 100);
}

TEST(SentencePiece, LongInputsEncodedInSegmentsMatchTheWholeText) {
  int compared = 0;
  for (const auto& c : read_json(golden_dir("tokenizer_tiny") / "long_cases.json")) {
    const std::string text = c["text"];
    for (const std::string model : {"spm_lossless", "spm_llama_like", "spm_default"}) {
      auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / (model + ".model"));
      const std::vector<TokenId> ids = tokenizer->encode(text);
      EXPECT_TRUE(tokenizer->decode(ids) == text) << model;
      if (!c[model]["lossless"].get<bool>()) continue;
      EXPECT_EQ(ids, json_ids(c[model]["ids"])) << model << " differs from sentencepiece on a long text";
      ++compared;
    }
  }
  EXPECT_EQ(compared, 6);
}

TEST(SentencePiece, ModelWithoutBytePiecesRefusesWhatItCannotSpell) {
  const Tally t = compare_with_sentencepiece("spm_nobytes", false);
  EXPECT_GT(t.same_as_reference, 10);  // a 150-piece unigram model without bytes: most fuzz hits <unk>
  EXPECT_GT(t.refused, 50);
}

TEST(SentencePiece, DummyPrefixIsStrippedOnlyFromTheFirstPiece) {
  auto tokenizer = load_tokenizer(golden_dir("tokenizer_tiny") / "spm_default.model");
  for (const std::string input : {" the", "the", "  the the", "\xFF the", "the\xFF"}) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(input)), input) << to_hex(input);
  }
  // BOS (control) does not count as the first piece.
  std::vector<TokenId> ids = tokenizer->encode("the");
  ids.insert(ids.begin(), *tokenizer->bos_id());
  EXPECT_EQ(tokenizer->decode(ids), "the");
}

std::string training_corpus() {
  std::string text;
  const char* lines[] = {"the quick brown fox jumps over the lazy dog", "  indented  with\ttabs\tand  spaces",
                         "numbers 12345 and 2024-06-01", "caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC"};
  for (int i = 0; i < 400; ++i) text += std::string(lines[i % 4]) + " " + std::to_string(i * 7919) + "\n";
  return text;
}

TEST(SentencePieceTrain, TrainsALosslessBpeModel) {
  TempDir dir;
  write_file(dir / "a.txt", training_corpus());
  write_file(dir / "b.txt", "second file line\nanother line\n");
  SentencePieceTrainOptions options;
  options.inputs = {dir / "a.txt", dir / "b.txt"};
  options.vocab_size = 320;
  options.output = dir / "lmc.model";
  train_sentencepiece(options);
  EXPECT_FALSE(std::filesystem::exists(dir / "lmc.model.tmp"));

  auto tokenizer = load_tokenizer(dir / "lmc.model");
  EXPECT_EQ(tokenizer->kind(), "sentencepiece");
  EXPECT_EQ(tokenizer->vocab_size(), 320);
  EXPECT_EQ(tokenizer->bos_id(), 1);
  EXPECT_EQ(tokenizer->eos_id(), 2);
  // No dummy prefix: the first piece of a word carries no space.
  EXPECT_EQ(tokenizer->piece(tokenizer->encode("the")[0]).front(), 't');
  // Digits are split one per piece.
  for (TokenId id : tokenizer->encode("12345")) EXPECT_EQ(tokenizer->piece(id).size(), 1u);
  // Whitespace is kept as is, byte fallback spells what the vocabulary lacks, and so on: lossless.
  const std::vector<std::string> inputs = {"  two  spaces\tand\ttabs  ", "line\r\nbreak\n\n", std::string("nul\0x", 5),
                                           "\xF0\x9F\x98\x80 emoji", "\xE2\x96\x81 literal", "bad \xFF byte"};
  for (const std::string& input : inputs) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(input)), input) << to_hex(input);
  }
}

TEST(SentencePieceTrain, FailuresAreClearAndWriteNothing) {
  TempDir dir;
  write_file(dir / "a.txt", "tiny corpus\n");
  SentencePieceTrainOptions options;
  options.inputs = {dir / "a.txt"};
  options.vocab_size = 100000;
  options.output = dir / "out.model";
  try {
    train_sentencepiece(options);
    FAIL() << "expected lmc::Error for a vocabulary larger than the corpus allows";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(options.output.string()), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out.model"));

  options.inputs = {dir / "missing.txt"};
  options.vocab_size = 300;
  try {
    train_sentencepiece(options);
    FAIL() << "expected lmc::Error for a missing input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out.model"));
}

}  // namespace
}  // namespace lmc::testing
