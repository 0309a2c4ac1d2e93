// TensorSource over checkpoints huggingface_hub's save_torch_state_dict wrote (tests/oracles/
// safetensors_golden.py): sharded with an index, and a single model.safetensors. Values must match what
// the reference library reads; broken indexes and shards must fail at open() naming the file and tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <utility>

#include <nlohmann/json.hpp>

#include "checkpoints/safetensors.h"
#include "safetensors_test_util.h"
#include "test_util.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testing;  // lmc::testing: golden_dir, TempDir, error_of, matches_encoded, read_json

constexpr const char* kIndex = "model.safetensors.index.json";

// The checkpoint's .safetensors files, sorted.
std::vector<fs::path> shard_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void edit_index(const fs::path& dir, const std::function<void(json&)>& edit) {
  json index = read_json(dir / kIndex);
  edit(index);
  testing::write_file(dir / kIndex, index.dump(2));
}

class TensorSourceGolden : public ::testing::TestWithParam<const char*> {};

// Also checks which file each tensor comes from and that names go shard by shard, in data order.
TEST_P(TensorSourceGolden, ReadsEveryTensorAsTheReferenceDoes) {
  const fs::path dir = golden_dir("safetensors") / GetParam();
  const json expected = read_json(golden_dir("safetensors") / "expected.json");
  auto source = TensorSource::open(dir);
  EXPECT_EQ(source.names().size(), expected.size());
  for (const auto& [name, encoded] : expected.items()) {
    ASSERT_TRUE(source.contains(name)) << name;
    EXPECT_EQ(source.info(name).dtype, encoded["dtype"].get<std::string>()) << name;
    EXPECT_TRUE(matches_encoded(source.tensor(name), encoded)) << name;
  }
  std::vector<std::string> file_order;
  const std::vector<fs::path> files = shard_files(dir);
  for (const auto& file : files) {
    const auto shard = SafetensorsFile::open(file);
    file_order.insert(file_order.end(), shard.names().begin(), shard.names().end());
  }
  EXPECT_EQ(source.names(), file_order);
  EXPECT_EQ(source.file_count(), static_cast<int64_t>(files.size()));
  if (!fs::exists(dir / kIndex)) return;
  EXPECT_GT(source.file_count(), 1);
  const json index = read_json(dir / kIndex);
  for (const auto& [name, file] : index["weight_map"].items()) {
    EXPECT_EQ(source.file_of(name).path(), dir / file.get<std::string>()) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, TensorSourceGolden, ::testing::Values("sharded", "single"));

TEST(TensorSource, OpensAFileOrAnIndexAndNamesWhatIsMissing) {
  const fs::path golden = golden_dir("safetensors");
  EXPECT_EQ(TensorSource::open(golden / "sharded" / kIndex).names(), TensorSource::open(golden / "sharded").names());
  auto single = TensorSource::open(golden / "small.safetensors");
  EXPECT_EQ(single.names().size(), 2u);
  EXPECT_EQ(error_of([&] { single.tensor("lm_head.weight"); }),
            "tensor 'lm_head.weight' not found in " + (golden / "small.safetensors").string());
  auto sharded = TensorSource::open(golden / "sharded");
  EXPECT_EQ(error_of([&] { sharded.info("model.norm.weight"); }),
            "tensor 'model.norm.weight' not found in " + (golden / "sharded").string() + " (" +
                std::to_string(sharded.file_count()) + " shards)");
  testing::TempDir tmp;
  EXPECT_EQ(error_of([&] { TensorSource::open(tmp.path()); }),
            tmp.path().string() + ": no model.safetensors or model.safetensors.index.json");
}

// Each break is made in a fresh copy of the golden sharded checkpoint and must fail at open().
TEST(TensorSource, BrokenShardsAndIndexesFailAtOpenNamingFileAndTensor) {
  auto broken = [](const std::function<std::string(const fs::path& dir)>& do_break) {
    testing::TempDir tmp;
    fs::copy(golden_dir("safetensors") / "sharded", tmp / "ckpt");
    const std::string expected = do_break(tmp / "ckpt");
    const std::string message = error_of([&] { TensorSource::open(tmp / "ckpt"); });
    return std::make_pair(message, expected);
  };
  auto expect_message = [&](const std::string& what, const std::function<std::string(const fs::path&)>& do_break) {
    auto [message, expected] = broken(do_break);
    EXPECT_EQ(message, expected) << what;
  };

  expect_message("missing shard", [](const fs::path& dir) {
    const fs::path shard = shard_files(dir).at(1);
    fs::remove(shard);
    return "shard of " + (dir / kIndex).string() + ": cannot open " + shard.string() + ": No such file or directory";
  });
  expect_message("tensor not in its shard", [](const fs::path& dir) {
    const std::string first = shard_files(dir).at(0).filename().string();
    edit_index(dir, [&](json& index) { index["weight_map"]["model.norm.weight"] = first; });
    return "tensor 'model.norm.weight' is mapped to " + first + " by " + (dir / kIndex).string() +
           ", but that shard does not contain it";
  });
  expect_message("path outside the directory", [](const fs::path& dir) {
    edit_index(dir, [](json& index) { index["weight_map"]["x"] = "../elsewhere.safetensors"; });
    return (dir / kIndex).string() + ": tensor 'x' is mapped to '../elsewhere.safetensors', which is not a file name";
  });
  expect_message("no weight_map", [](const fs::path& dir) {
    testing::write_file(dir / kIndex, R"({"metadata": {}})");
    return (dir / kIndex).string() + ": no 'weight_map' object";
  });
  expect_message("repeated tensor", [](const fs::path& dir) {
    testing::write_file(dir / kIndex, R"({"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}})");
    return (dir / kIndex).string() + ": key 'a' appears more than once";
  });
  expect_message("non-string file", [](const fs::path& dir) {
    testing::write_file(dir / kIndex, R"({"weight_map": {"a": 3}})");
    return (dir / kIndex).string() + ": weight_map entry of tensor 'a' is not a file name";
  });
  auto [message, index] = broken([](const fs::path& dir) {
    testing::write_file(dir / kIndex, "{\"weight_map\": {\"a\": ");
    return (dir / kIndex).string();
  });
  EXPECT_EQ(message.rfind(index + ": malformed JSON: [json.exception.parse_error", 0), 0u) << message;
  auto [truncated, shard] = broken([](const fs::path& dir) {
    const fs::path shard = shard_files(dir).at(2);
    fs::resize_file(shard, fs::file_size(shard) - 1);
    return shard.string();
  });
  EXPECT_EQ(truncated.rfind("shard of ", 0), 0u) << truncated;
  EXPECT_NE(truncated.find(" in " + shard + ": data_offsets "), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("the file is truncated"), std::string::npos) << truncated;
}

}  // namespace
}  // namespace lmc
