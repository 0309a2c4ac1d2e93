// `lmc prepare` as a user meets it: a real process, its summary, one-line errors, and the output directory
// left absent when it fails. h5py (tests/oracles/data_check_shards.py) checks what a successful run wrote.
#include <gtest/gtest.h>

#include <filesystem>

#include "data_test_util.h"

namespace lmc::testing {
namespace {

namespace fs = std::filesystem;

class DataCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "corpus/sub");
    write_file(dir_ / "corpus/a.txt", make_text(3000, 1));
    write_file(dir_ / "corpus/sub/b.xml", "<x>" + make_text(2000, 2) + "</x>");
    write_file(dir_ / "corpus/c.jsonl", "{\"text\": \"first\"}\n{\"text\": \"second \\u2603\"}\n");
  }
  TempDir dir_;
};

TEST_F(DataCli, PreparesTextWithFractionsAndSeed) {
  std::string corpus = (dir_ / "corpus").string();
  std::string out = (dir_ / "shards").string();
  auto result = run_lmc("prepare --inputs " + corpus + " --modality text --train-bytes 0.5 --val-bytes 1KB"
                        " --chunk-bytes 256 --seed 9 --out " + out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("documents shuffled with seed 9"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("train"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");  // no progress bar when stderr is not a terminal
  auto check = check_shards_with_python("--out " + out + " --modality text --inputs " + corpus +
                                        " --chunk-bytes 256 --train-bytes 0.5 --val-bytes 1KB --tokenizer bytes");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(DataCli, ErrorsAreOneLineAndLeaveNoOutput) {
  std::string out = (dir_ / "shards").string();
  auto missing = run_lmc("prepare --inputs " + (dir_ / "nope.txt").string() + " --out " + out);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(missing.err, "lmc prepare: error: cannot read " + (dir_ / "nope.txt").string() +
                             ": No such file or directory\n");
  auto fit = run_lmc("prepare --inputs " + (dir_ / "corpus").string() + " --out " + out);
  EXPECT_NE(fit.exit_code, 0);
  EXPECT_TRUE(fit.err.starts_with("lmc prepare: error: split sizes do not fit: train 64.0 MiB")) << fit.err;
  auto size = run_lmc("prepare --inputs " + (dir_ / "corpus").string() + " --train-bytes 1.5 --out " + out);
  EXPECT_NE(size.exit_code, 0);
  EXPECT_NE(size.err.find("a fraction must be a number in [0, 1]"), std::string::npos) << size.err;
  EXPECT_EQ(listing(dir_.path()), std::vector<std::string>{"corpus"});
}

}  // namespace
}  // namespace lmc::testing
