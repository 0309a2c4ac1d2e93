// `lmc info` and `lmc eval` end to end: results against transformers' numbers (tests/oracles/llama_tiny.py)
// and every bad-input path a user can hit, each a one-line error with a non-zero exit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lmc {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::golden_dir;
using testing::run_lmc;

fs::path bytes_model() { return golden_dir("cli_models") / "bytes_model"; }

// A writable copy of a golden model directory.
fs::path copy_model(const fs::path& from, const testing::TempDir& tmp) {
  fs::path to = tmp / "model";
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

void edit_config(const fs::path& dir, const std::function<void(json&)>& edit) {
  json config = json::parse(testing::read_file(dir / "config.json"));
  edit(config);
  testing::write_file(dir / "config.json", config.dump(2));
}

void expect_one_line_error(const testing::CommandResult& r, const std::string& command, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("lmc " + command + ": error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
}

TEST(CliInfo, ReportsTheCheckpointsParameters) {
  auto r = run_lmc("info --json " + (golden_dir("cli_models") / "tied_sharded").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["shards"], 19);
  EXPECT_EQ(j["config"]["head_dim"], 24);
  // transformers' index records total_size: our byte count must agree.
  json index = json::parse(testing::read_file(golden_dir("cli_models") / "tied_sharded" / "model.safetensors.index.json"));
  EXPECT_EQ(j["bytes"], index["metadata"]["total_size"]);
  EXPECT_EQ(j["parameters"], index["metadata"]["total_parameters"]);
}

TEST(CliEval, MatchesTransformersBitsPerByte) {
  json golden = json::parse(testing::read_file(bytes_model() / "eval_golden.json"));
  auto r = run_lmc("eval --json --chunk-bytes " + std::to_string(golden["chunk_bytes"].get<int>()) + " --model " +
                   bytes_model().string() + " " + (bytes_model() / "sample.bin").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["bytes"], golden["bytes"]);
  // fp32 logits agree to ~1e-4; over ~2000 tokens the summed bits agree to far better than 1e-4 relative.
  EXPECT_NEAR(j["bits"].get<double>(), golden["bits"].get<double>(), 1e-4 * golden["bits"].get<double>());
  EXPECT_NEAR(j["bits_per_byte"].get<double>(), golden["bits_per_byte"].get<double>(), 1e-4);
}

TEST(CliEval, CountsEveryByteWhateverTheChunkSize) {
  for (int chunk : {1, 7, 4096}) {
    auto r = run_lmc("eval --json --chunk-bytes " + std::to_string(chunk) + " --model " + bytes_model().string() +
                     " " + (bytes_model() / "sample.bin").string() + " " + (bytes_model() / "config.json").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["bytes"], fs::file_size(bytes_model() / "sample.bin") + fs::file_size(bytes_model() / "config.json"));
    EXPECT_EQ(j["tokens"], j["bytes"]) << "byte tokenizer: one token per byte";
  }
}

TEST(CliEval, RefusesDirectoriesAndChunksLongerThanTheContext) {
  testing::TempDir tmp;
  expect_one_line_error(run_lmc("eval --model " + bytes_model().string() + " " + tmp.path().string()), "eval",
                        "is a directory, not a file");
  const int64_t context = json::parse(testing::read_file(bytes_model() / "config.json"))["max_position_embeddings"];
  testing::write_file(tmp / "long.bin", std::string(static_cast<size_t>(context) + 1, 'x'));
  expect_one_line_error(run_lmc("eval --chunk-bytes " + std::to_string(context + 1) + " --model " +
                                bytes_model().string() + " " + (tmp / "long.bin").string()),
                        "eval", "a chunk of " + std::to_string(context + 1) + " tokens is longer than the model's context");
}

TEST(CliErrors, MissingConfigField) {
  testing::TempDir tmp;
  auto dir = copy_model(bytes_model(), tmp);
  edit_config(dir, [](json& c) { c.erase("hidden_size"); });
  expect_one_line_error(run_lmc("info " + dir.string()), "info", "field 'hidden_size' missing");
  expect_one_line_error(run_lmc("eval --model " + dir.string() + " " + (dir / "sample.bin").string()), "eval",
                        "hidden_size");
}

TEST(CliErrors, MalformedConfig) {
  testing::TempDir tmp;
  auto dir = copy_model(bytes_model(), tmp);
  testing::write_file(dir / "config.json", "{\"vocab_size\": 258,");
  expect_one_line_error(run_lmc("info " + dir.string()), "info", "not valid JSON");
}

TEST(CliErrors, UnknownDtype) {
  expect_one_line_error(run_lmc("eval --dtype fp8 --model " + bytes_model().string() + " " +
                                (bytes_model() / "sample.bin").string()),
                        "eval", "unknown dtype 'fp8'");
}

TEST(CliErrors, CudaWithoutAGpu) {
  if (std::getenv("LMC_TEST_HAS_CUDA")) GTEST_SKIP() << "a GPU is present";
  expect_one_line_error(run_lmc("eval --device cuda --model " + bytes_model().string() + " " +
                                (bytes_model() / "sample.bin").string()),
                        "eval", "CUDA is not available");
}

TEST(CliErrors, TruncatedSafetensors) {
  const uintmax_t full = fs::file_size(bytes_model() / "model.safetensors");
  for (uintmax_t size : {uintmax_t{3}, uintmax_t{100}, full / 2, full - 1}) {
    SCOPED_TRACE(size);
    testing::TempDir tmp;
    auto dir = copy_model(bytes_model(), tmp);
    fs::resize_file(dir / "model.safetensors", size);
    auto r = run_lmc("eval --model " + dir.string() + " " + (dir / "sample.bin").string());
    expect_one_line_error(r, "eval", "model.safetensors");
    EXPECT_TRUE(r.err.find("truncated") != std::string::npos || r.err.find("too short") != std::string::npos) << r.err;
  }
}

TEST(CliErrors, ShapeMismatchNamesTensorAndShapes) {
  testing::TempDir tmp;
  auto dir = copy_model(bytes_model(), tmp);
  edit_config(dir, [](json& c) { c["intermediate_size"] = 100; });
  auto r = run_lmc("eval --model " + dir.string() + " " + (dir / "sample.bin").string());
  expect_one_line_error(r, "eval", "'model.layers.0.mlp.down_proj.weight' has shape [64, 128], expected [64, 100]");
}

TEST(CliErrors, MissingAndUnexpectedTensors) {
  testing::TempDir tmp;
  auto dir = copy_model(bytes_model(), tmp);
  edit_config(dir, [](json& c) { c["num_hidden_layers"] = 3; });
  expect_one_line_error(run_lmc("eval --model " + dir.string() + " " + (dir / "sample.bin").string()), "eval",
                        "missing tensors (9): model.layers.2.");
  edit_config(dir, [](json& c) { c["num_hidden_layers"] = 1; });
  expect_one_line_error(run_lmc("eval --model " + dir.string() + " " + (dir / "sample.bin").string()), "eval",
                        "unexpected tensors (9): model.layers.1.");
}

TEST(CliErrors, MissingInputFile) {
  expect_one_line_error(run_lmc("eval --model " + bytes_model().string() + " /nonexistent/file.txt"), "eval",
                        "/nonexistent/file.txt");
}

// A command line lmc cannot parse is a usage error: one line and exit status 2, not CLI11's own codes
// and its second line; --help and --version still print and succeed.
TEST(CliErrors, UsageErrorsAreOneLineWithStatusTwo) {
  const auto unknown = run_lmc("eval --frobnicate " + bytes_model().string());
  expect_one_line_error(unknown, "eval", "--frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  const auto missing = run_lmc("compress");
  expect_one_line_error(missing, "compress", "IN is required");
  EXPECT_EQ(missing.exit_code, 2);
  const auto unknown_command = run_lmc("frobnicate");
  EXPECT_EQ(unknown_command.err, "lmc: error: unknown command 'frobnicate' (see lmc --help)\n");
  EXPECT_EQ(unknown_command.exit_code, 2);
  const auto out_of_range = run_lmc("eval --chunk-bytes 0 " + bytes_model().string());
  expect_one_line_error(out_of_range, "eval", "--chunk-bytes: Value 0 not in range 1 to 1073741824");
  const auto none = run_lmc("");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err.rfind("lmc: error: ", 0), 0u) << none.err;
  const auto help = run_lmc("compress --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: lmc compress"), std::string::npos) << help.out;
  const auto version = run_lmc("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "lmc " + testing::setting("LMC_VERSION") + "\n");
}

// --model and --adapter take a directory, or the name of one shipped under $LMC_MODELS_DIR (models/);
// an unknown name is one line that lists what is shipped.
TEST(CliModels, ShippedModelsAndAdaptersByName) {
  testing::TempDir tmp;
  const fs::path shelf = tmp / "models";
  fs::create_directories(shelf / "adapters");
  fs::copy(bytes_model(), shelf / "bytes", fs::copy_options::recursive);
  const std::string sample = (bytes_model() / "sample.bin").string();
  auto lmc_with_shelf = [&](const std::string& args) {
    return testing::run_command("LMC_MODELS_DIR=" + shelf.string() + " " + testing::setting("LMC_BIN") + " " + args);
  };
  auto by_name = lmc_with_shelf("eval --json --model bytes " + sample);
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  auto by_path = run_lmc("eval --json --model " + bytes_model().string() + " " + sample);
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  EXPECT_EQ(json::parse(by_name.out)["bits_per_byte"], json::parse(by_path.out)["bits_per_byte"]);
  expect_one_line_error(lmc_with_shelf("eval --model nonesuch " + sample), "eval",
                        "model 'nonesuch': no such directory, nor a shipped model (bytes)");
  expect_one_line_error(lmc_with_shelf("eval --model bytes --adapter nonesuch " + sample), "eval",
                        "adapter 'nonesuch': no such directory, nor a shipped adapter (none installed)");
}

}  // namespace
}  // namespace lmc
