// lmc's safetensors writers checked by the reference libraries: the golden tensors of every dtype
// (tests/oracles/safetensors_golden.py) are written by lmc, then tests/oracles/safetensors_check.py loads
// the result with safetensors and compares every bit with what the reference itself wrote, checks the
// {"format": "pt"} metadata transformers needs, and checks shards against huggingface_hub's own split.
// Failure paths must leave the destination as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "safetensors_test_util.h"
#include "test_util.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testing;  // lmc::testing: golden_dir, TempDir, error_of, matches_encoded, read_json

// The golden tensors in sorted name order (safetensors_check.py splits shards in that order); the 3-d
// ones are handed over with transposed strides, so the writer must make them contiguous itself.
NamedTensors golden_tensors() {
  auto file = SafetensorsFile::open(golden_dir("safetensors") / "dtypes.safetensors");
  std::vector<std::string> names = file.names();
  std::sort(names.begin(), names.end());
  NamedTensors tensors;
  for (const auto& name : names) {
    at::Tensor t = file.tensor(name);
    if (t.dim() == 3) t = t.transpose(0, 2).contiguous().transpose(0, 2);
    tensors.emplace_back(name, t);
  }
  return tensors;
}

// Runs safetensors_check.py on `targets` (files, or DIR=MAX_SHARD_SIZE) in one Python process, which
// pays the reference libraries' import once; returns its output, "ok" when the reference agrees.
std::string reference_check(const std::vector<std::string>& targets) {
  const std::string python = testing::setting("LMC_PYTHON");
  if (python.empty()) return "no Python: configure with -DLMC_PYTHON=<venv>/bin/python";
  std::string command = python + " " + testing::setting("LMC_SOURCE_DIR") + "/tests/oracles/safetensors_check.py " +
                        (golden_dir("safetensors") / "expected.json").string();
  for (const auto& target : targets) command += " " + target;
  auto result = testing::run_command(command);
  return result.exit_code == 0 ? result.out.substr(0, result.out.find('\n')) : result.out + result.err;
}

// One file; shards (tensors added in reverse order); and a sharded checkpoint re-exported as one file
// into the same directory, whose old shards and index must go. The reference checks all three.
TEST(SafetensorsWriter, ReferenceReadsWhatLmcWritesBitForBit) {
  testing::TempDir tmp;
  const NamedTensors tensors = golden_tensors();
  const json expected = read_json(golden_dir("safetensors") / "expected.json");

  const fs::path file_path = tmp / "out.safetensors";
  write_safetensors(file_path, tensors, {{"note", "written by lmc"}});
  auto file = SafetensorsFile::open(file_path);
  EXPECT_EQ(file.metadata(), (SafetensorsMetadata{{"format", "pt"}, {"note", "written by lmc"}}));
  for (const auto& [name, tensor] : tensors) {
    auto back = file.tensor(name);
    EXPECT_TRUE(matches_encoded(back, expected[name])) << name;
    // Laid out widest element first, every tensor is aligned: views, never copies.
    const auto* data = static_cast<const std::byte*>(back.data_ptr());
    if (back.numel() > 0) {
      EXPECT_TRUE(data >= file.mapping_begin() && data < file.mapping_end()) << name << " is misaligned";
    }
  }

  const fs::path sharded = tmp / "sharded";
  ShardedWriter writer(sharded, specs_of(tensors), 256);
  for (auto it = tensors.rbegin(); it != tensors.rend(); ++it) writer.add(it->first, it->second);
  const auto written = writer.finish();
  EXPECT_GT(written.size(), 3u);
  EXPECT_EQ(written.back(), sharded / "model.safetensors.index.json");
  EXPECT_EQ(listing(sharded).size(), written.size()) << "temporaries left behind";
  auto source = TensorSource::open(sharded);
  EXPECT_EQ(source.file_count() + 1, static_cast<int64_t>(written.size()));
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(matches_encoded(source.tensor(name), expected[name])) << name;

  const fs::path reexported = tmp / "reexported";
  write_safetensors_sharded(reexported, tensors, 256);
  testing::write_file(reexported / "config.json", "{}");
  EXPECT_EQ(write_safetensors_sharded(reexported, tensors, uint64_t{1} << 30), std::vector<fs::path>{reexported / "model.safetensors"});
  EXPECT_EQ(listing(reexported), (std::vector<std::string>{"config.json", "model.safetensors"}));

  EXPECT_EQ(reference_check({file_path.string(), sharded.string() + "=256", reexported.string() + "=1073741824"}), "ok");
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"out.safetensors", "reexported", "sharded"}));
}

// The reverse of the re-export above: a stale model.safetensors would shadow the new index.
TEST(ShardedWriter, ShardsReplaceAnEarlierSingleFile) {
  testing::TempDir tmp;
  const NamedTensors tensors = golden_tensors();
  write_safetensors_sharded(tmp.path(), tensors, uint64_t{1} << 30);
  ASSERT_TRUE(fs::exists(tmp / "model.safetensors"));
  write_safetensors_sharded(tmp.path(), tensors, 256);
  EXPECT_FALSE(fs::exists(tmp / "model.safetensors"));
  EXPECT_EQ(TensorSource::open(tmp.path()).names().size(), tensors.size());
}

TEST(SafetensorsWriter, AbandonedOrIncompleteWritesLeaveTheOldFile) {
  testing::TempDir tmp;
  const fs::path path = tmp / "out.safetensors";
  testing::write_file(path, "previous contents");
  const std::vector<TensorSpec> specs = {{"a", at::kFloat, {2}}, {"b", at::kLong, {}}, {"c", at::kHalf, {3, 1}}};
  {
    SafetensorsWriter writer(path, specs);
    writer.add("a", at::ones({2}));
    EXPECT_EQ(error_of([&] { writer.finish(); }), "writing " + path.string() + ": 2 tensors never added: 'b', 'c'");
  }
  EXPECT_EQ(testing::read_file(path), "previous contents");
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"out.safetensors"});

  const fs::path dir = tmp / "model";
  fs::create_directory(dir);
  testing::write_file(dir / "model.safetensors", "previous contents");
  {
    ShardedWriter writer(dir, specs, 8);  // a: 8 bytes, b: 8, c: 6 -> three shards
    writer.add("a", at::ones({2}));
    writer.add("c", at::ones({3, 1}, at::kHalf));
    EXPECT_EQ(error_of([&] { writer.finish(); }), "writing " + dir.string() + ": 1 tensors never added: 'b'");
  }
  EXPECT_EQ(listing(dir), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(testing::read_file(dir / "model.safetensors"), "previous contents");
}

TEST(SafetensorsWriter, RefusesTensorsThatDoNotMatchThePlan) {
  testing::TempDir tmp;
  const fs::path path = tmp / "out.safetensors";
  SafetensorsWriter writer(path, {{"w", at::kBFloat16, {2, 3}}});
  const std::string prefix = "writing " + path.string() + ": tensor 'w'";
  EXPECT_EQ(error_of([&] { writer.add("w", at::zeros({2, 3})); }), prefix + " has dtype Float, expected BFloat16");
  EXPECT_EQ(error_of([&] { writer.add("w", at::zeros({3, 2}, at::kBFloat16)); }), prefix + " has shape [3, 2], expected [2, 3]");
  EXPECT_EQ(error_of([&] { writer.add("v", at::zeros({1})); }), "writing " + path.string() + ": tensor 'v' is not in the planned tensors");
  writer.add("w", at::zeros({2, 3}, at::kBFloat16));
  EXPECT_EQ(error_of([&] { writer.add("w", at::zeros({2, 3}, at::kBFloat16)); }), prefix + " added twice");
}

TEST(SafetensorsWriter, RefusesPlansTheFormatCannotHold) {
  testing::TempDir tmp;
  const fs::path path = tmp / "out.safetensors";
  const std::string prefix = "writing " + path.string();
  EXPECT_EQ(error_of([&] { SafetensorsWriter(path, {{"a", at::kFloat, {1}}, {"a", at::kFloat, {2}}}); }),
            prefix + ": tensor 'a' is given more than once");
  EXPECT_EQ(error_of([&] { SafetensorsWriter(path, {{"__metadata__", at::kFloat, {1}}}); }),
            prefix + ": tensor '__metadata__': the name is reserved by the format");
  EXPECT_EQ(error_of([&] { SafetensorsWriter(path, {{"a", at::kFloat, {-1}}}); }), prefix + ": tensor 'a' has negative shape [-1]");
  EXPECT_EQ(error_of([&] { SafetensorsWriter(path, {{"z", at::kComplexDouble, {1}}}); }),
            prefix + ": tensor 'z': dtype ComplexDouble cannot be stored in safetensors");
  EXPECT_EQ(error_of([&] { SafetensorsWriter(path, {}, {{"format", "tf"}}); }),
            prefix + ": metadata 'format' must be 'pt' (transformers refuses other values for torch files), got 'tf'");
  EXPECT_EQ(error_of([&] { SafetensorsWriter(tmp / "no" / "such" / "dir.safetensors", {}); }).rfind(
                "cannot create a temporary file for " + (tmp / "no" / "such" / "dir.safetensors").string() + ": No such file", 0),
            0u);
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{});
}

}  // namespace
}  // namespace lmc
