// Finding a tokenizer in a model directory (precedence, content sniffing, config.json overrides) and the
// one-line errors for missing or malformed files, from the library and through `lmc tokenize` /
// `lmc tokenizer train`.
#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"
#include "infer/tokenizers/load.h"
#include "test_util.h"
#include "tokenizer_test_util.h"

namespace lmc::testing {
namespace {

namespace fs = std::filesystem;

fs::path tiny(const std::string& name) { return golden_dir("tokenizer_tiny") / name; }

// The message of the lmc::Error `load_tokenizer(path)` throws; fails the test if it does not throw.
std::string load_error(const fs::path& path) {
  try {
    load_tokenizer(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << "does not name the path: " << message;
    return message;
  }
  ADD_FAILURE() << "loading " << path << " did not throw";
  return "";
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

TEST(LoadTokenizer, DirectoryPrecedenceAndContentSniffing) {
  TempDir dir;
  // tokenizer.model holding tiktoken ranks, then SentencePiece: told apart by content.
  fs::copy_file(tiny("tiny.tiktoken"), dir / "tokenizer.model");
  EXPECT_EQ(load_tokenizer(dir.path())->kind(), "tiktoken");
  fs::copy_file(tiny("spm_lossless.model"), dir / "tokenizer.model", fs::copy_options::overwrite_existing);
  EXPECT_EQ(load_tokenizer(dir.path())->kind(), "sentencepiece");
  // tokenizer.json wins over tokenizer.model.
  fs::copy_file(tiny("hf_trained/tokenizer.json"), dir / "tokenizer.json");
  EXPECT_EQ(load_tokenizer(dir.path())->kind(), "hf-bpe");
  // A file is sniffed too, whatever its name.
  fs::copy_file(tiny("tiny.tiktoken"), dir / "renamed.bin");
  EXPECT_EQ(load_tokenizer(dir / "renamed.bin")->kind(), "tiktoken");
}

TEST(LoadTokenizer, ByteTokenizerDeclaredByConfig) {
  TempDir dir;
  write_file(dir / "config.json", R"({"lmc_tokenizer": "bytes", "bos_token_id": 256, "eos_token_id": [257]})");
  auto tokenizer = load_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->kind(), "bytes");
  EXPECT_EQ(tokenizer->fingerprint(), make_byte_tokenizer()->fingerprint());  // same ids: not wrapped
  write_file(dir / "config.json", R"({"lmc_tokenizer": "bytes", "bos_token_id": 10, "eos_token_id": null})");
  tokenizer = load_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->bos_id(), 10);
  EXPECT_EQ(tokenizer->eos_id(), 257);
  EXPECT_NE(tokenizer->fingerprint(), make_byte_tokenizer()->fingerprint());
}

TEST(LoadTokenizer, MissingThingsAreNamed) {
  TempDir dir;
  std::string message = load_error(dir.path());
  expect_contains(message, "tokenizer.json");
  expect_contains(message, "tokenizer.model");
  expect_contains(message, "lmc_tokenizer");
  expect_contains(load_error(dir / "nope.model"), "no such file");
  write_file(dir / "config.json", R"({"lmc_tokenizer": "words"})");
  expect_contains(load_error(dir.path()), "\"words\" is unknown");
  write_file(dir / "config.json", R"({"lmc_tokenizer": "bytes", "bos_token_id": 999})");
  expect_contains(load_error(dir.path()), "outside the tokenizer's vocabulary");
  write_file(dir / "config.json", "{broken");
  expect_contains(load_error(dir.path()), "config.json is malformed");
}

TEST(LoadTokenizer, MalformedFilesAreNamed) {
  TempDir dir;
  write_file(dir / "garbage.model", std::string("\x01\x02\x03 not a model", 17));
  expect_contains(load_error(dir / "garbage.model"), "neither a tiktoken rank file nor a SentencePiece model");
  write_file(dir / "bad_rank.model", "IQ== 0\nIg== one\n");
  expect_contains(load_error(dir / "bad_rank.model"), "line 2: rank 'one'");
  write_file(dir / "hole.model", "IQ== 0\nIg== 2\n");
  expect_contains(load_error(dir / "hole.model"), "rank 1 is missing");
  write_file(dir / "bad64.model", "IQ= 0\n");
  expect_contains(load_error(dir / "bad64.model"), "line 1");
  write_file(dir / "partial.model", "IQ== 0\nIg== 1\n");
  expect_contains(load_error(dir / "partial.model"), "lacks the single-byte token");
  write_file(dir / "tokenizer.json", "{\"model\": ");
  expect_contains(load_error(dir / "tokenizer.json"), "malformed JSON");

  nlohmann::json j = read_json(tiny("hf_trained/tokenizer.json"));
  j["normalizer"] = {{"type", "NFKC"}};
  write_file(dir / "normalizer.json", j.dump());
  expect_contains(load_error(dir / "normalizer.json"), "normalizers are not supported");
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  j["decoder"] = nullptr;
  write_file(dir / "metaspace.json", j.dump());
  expect_contains(load_error(dir / "metaspace.json"), "pre-tokenizer 'Metaspace' is not supported");
  j["pre_tokenizer"] = nullptr;
  write_file(dir / "not_byte_level.json", j.dump());
  expect_contains(load_error(dir / "not_byte_level.json"), "not a byte-level BPE");
  j = read_json(tiny("hf_trained/tokenizer.json"));
  j["model"]["merges"].push_back("zzzz qqqq");
  write_file(dir / "bad_merge.json", j.dump());
  expect_contains(load_error(dir / "bad_merge.json"), "'zzzz', which is not in the vocab");
}

// The CLI: `lmc tokenize` prints what the library computes; errors are one line and exit non-zero.
TEST(TokenizeCli, PrintsIdsAndPieces) {
  TempDir dir;
  const std::string text = "Hello  world\r\n\xFF<|begin_of_text|>\n";
  write_file(dir / "in.txt", text);
  const fs::path model = tiny("tiny.tiktoken");
  const std::vector<TokenId> ids = load_tokenizer(model)->encode(text);

  const CommandResult r = run_lmc("tokenize --tokenizer " + model.string() + " " + (dir / "in.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::vector<TokenId> printed;
  for (TokenId id; out >> id;) printed.push_back(id);
  EXPECT_EQ(printed, ids);

  const CommandResult pieces =
      run_lmc("tokenize --pieces --tokenizer " + model.string() + " " + (dir / "in.txt").string());
  ASSERT_EQ(pieces.exit_code, 0) << pieces.err;
  EXPECT_EQ(static_cast<size_t>(std::count(pieces.out.begin(), pieces.out.end(), '\n')), ids.size());
  expect_contains(pieces.out, "\\xFF\n");
  expect_contains(pieces.out, "\\r\\n\n");
}

TEST(TokenizeCli, ErrorsAreOneLine) {
  TempDir dir;
  write_file(dir / "in.txt", "text");
  for (const std::string& args :
       {"tokenize --tokenizer " + (dir / "missing").string() + " " + (dir / "in.txt").string(),
        "tokenize --tokenizer " + tiny("tiny.tiktoken").string() + " " + (dir / "absent.txt").string()}) {
    const CommandResult r = run_lmc(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(r.err.rfind("lmc tokenize: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(TokenizerTrainCli, TrainsAModelTheLoaderReads) {
  TempDir dir;
  std::string corpus;
  for (int i = 0; i < 300; ++i) corpus += "a small corpus line number " + std::to_string(i) + " for training\n";
  write_file(dir / "a.txt", corpus);
  const CommandResult r = run_lmc("tokenizer train --input " + (dir / "a.txt").string() +
                                  " --vocab-size 300 --out " + (dir / "m.model").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_tokenizer(dir / "m.model")->vocab_size(), 300);

  const CommandResult bad = run_lmc("tokenizer train --input " + (dir / "none.txt").string() +
                                    " --vocab-size 300 --out " + (dir / "n.model").string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(bad.err.rfind("lmc tokenizer: error: ", 0), 0u) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "n.model"));
}

}  // namespace
}  // namespace lmc::testing
