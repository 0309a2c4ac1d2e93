// lmc's SafetensorsFile against the reference `safetensors` library: tests/oracles/safetensors_golden.py
// saves every dtype with save_file and records what the library reads back; it also hand-makes edge and
// corrupt files and records whether the library accepts each. lmc must read the same values bit for bit,
// accept exactly the files the library accepts, and refuse the rest with a message naming the file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "checkpoints/safetensors.h"
#include "safetensors_test_util.h"
#include "test_util.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testing;  // lmc::testing: golden_dir, TempDir, error_of, matches_encoded, read_json

// The message lmc gives for every file the reference library refuses (cases.json); a case without an
// entry here fails, so a new corrupt file in the oracle cannot go unchecked.
const std::map<std::string, std::string> kRefusals = {
    {"empty_file", "0 bytes is too short for a safetensors file"},
    {"shorter_than_length", "5 bytes is too short for a safetensors file"},
    {"truncated_in_header", "truncated: header length"},
    {"truncated_at_data_start", "the file is truncated"},
    {"truncated_in_data", "the file is truncated"},
    {"truncated_last_byte", "the file is truncated"},
    {"trailing_bytes", "4 bytes after the last tensor's data"},
    {"header_length_past_eof", "truncated: header length"},
    {"header_length_huge", "header length 200000000 is over the safetensors limit"},
    {"header_length_zero", "header: malformed JSON"},
    {"garbage_header", "header: malformed JSON"},
    {"header_not_object", "header: expected a JSON object, found array"},
    {"header_nul_padding", "header: malformed JSON"},
    {"invalid_utf8", "header: malformed JSON"},
    {"unknown_dtype", "has unknown dtype 'F8_E9'"},
    {"lowercase_dtype", "has unknown dtype 'f32'"},
    {"negative_dim", "has invalid shape [-1]: dimensions must be non-negative integers"},
    {"fractional_dim", "has invalid shape [1.5]"},
    {"shape_overflow", "too large to address"},
    {"size_mismatch", "shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 20] hold 20"},
    {"sub_byte_misfit", "12 bits of F4 do not fill whole bytes"},
    {"offsets_reversed", "data_offsets [4, 0] that end before they begin"},
    {"offsets_past_end", "data_offsets [4, 16] run past the end of the data (12 bytes)"},
    {"missing_data_offsets", "header entry has no 'data_offsets'"},
    {"overlap", "tensors 'a' and 'b' in "},
    {"overlap_partial", "overlap: data_offsets [0, 8] and [4, 12]"},
    {"hole", "data bytes [0, 4) belong to no tensor"},
    {"duplicate_name", "key 'a' appears more than once"},
    {"metadata_not_strings", "__metadata__ value of 'format' is not a string"},
};

// Also checks that names follow the data, the tensors tile the buffer, and each is a view of the mapping.
TEST(SafetensorsReader, EveryDtypeMatchesTheReferenceBitForBitAsZeroCopyViews) {
  const fs::path dir = golden_dir("safetensors");
  const json expected = read_json(dir / "expected.json");
  auto file = SafetensorsFile::open(dir / "dtypes.safetensors");
  ASSERT_EQ(file.names().size(), expected.size());
  uint64_t next = 0;
  for (const auto& name : file.names()) {
    ASSERT_TRUE(expected.contains(name)) << name;
    const TensorInfo& info = file.info(name);
    EXPECT_EQ(info.dtype, expected[name]["dtype"].get<std::string>()) << name;
    EXPECT_EQ(info.shape, expected[name]["shape"].get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(info.begin, next) << name;
    next = info.end;
    const at::Tensor tensor = file.tensor(name);
    EXPECT_TRUE(matches_encoded(tensor, expected[name])) << name;
    EXPECT_EQ(info.byte_size(), info.numel() * static_cast<int64_t>(tensor.element_size())) << name;
    if (tensor.numel() == 0) continue;
    const auto* data = static_cast<const std::byte*>(tensor.data_ptr());
    EXPECT_TRUE(data >= file.mapping_begin() && data + tensor.nbytes() <= file.mapping_end()) << name << " is a copy";
  }
  EXPECT_EQ((fs::file_size(file.path()) - next - 8) % 8, 0u) << "the reference pads its header to 8 bytes";
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "caf\u00e9 \u2603");
}

TEST(SafetensorsReader, AcceptsAndRefusesExactlyWhatTheReferenceDoes) {
  const fs::path dir = golden_dir("safetensors");
  const json cases = read_json(dir / "cases.json");
  for (const auto& [name, result] : cases.items()) {
    const fs::path path = dir / "cases" / (name + ".safetensors");
    SCOPED_TRACE(name);
    if (!result["accepted"].get<bool>()) {
      auto it = kRefusals.find(name);
      ASSERT_NE(it, kRefusals.end()) << "no expected message for refused case " << name << " (reference says: "
                                     << result["reference_error"].get<std::string>() << ")";
      const std::string message = error_of([&] { SafetensorsFile::open(path); });
      EXPECT_NE(message.find(it->second), std::string::npos) << message;
      EXPECT_NE(message.find(path.string()), std::string::npos) << "message must name the file: " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      continue;
    }
    auto file = SafetensorsFile::open(path);
    EXPECT_EQ(file.names().size(), result["tensors"].size() + result["sub_byte"].size());
    for (const auto& [tensor, encoded] : result["tensors"].items()) EXPECT_TRUE(matches_encoded(file.tensor(tensor), encoded)) << tensor;
    for (const auto& tensor : result["sub_byte"]) {
      const std::string message = error_of([&] { file.tensor(tensor.get<std::string>()); });
      EXPECT_NE(message.find("has dtype F4, which has no torch tensor type"), std::string::npos) << message;
    }
  }
}

TEST(SafetensorsReader, UnalignedDataIsCopiedWithTheRightValues) {
  const fs::path path = golden_dir("safetensors") / "cases" / "unaligned_f32.safetensors";
  auto file = SafetensorsFile::open(path);
  auto f = file.tensor("f");  // F32 at data offset 1
  const auto* data = static_cast<const std::byte*>(f.data_ptr());
  EXPECT_TRUE(data < file.mapping_begin() || data >= file.mapping_end()) << "misaligned F32 should be copied";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 4, 0u);
  EXPECT_EQ(f[0].item<float>(), 1.5f);
  EXPECT_EQ(f[1].item<float>(), -2.0f);
}

TEST(SafetensorsReader, WritesToAViewStayPrivateAndTheMappingOutlivesTheFile) {
  testing::TempDir tmp;
  const fs::path path = tmp / "small.safetensors";
  fs::copy_file(golden_dir("safetensors") / "small.safetensors", path);
  const std::string before = testing::read_file(path);
  at::Tensor w;
  {
    auto file = SafetensorsFile::open(path);
    w = file.tensor("w");  // arange(6) as [2, 3] F32
  }
  w.add_(100);  // the SafetensorsFile is gone; the view must still be mapped, and writable
  EXPECT_EQ(w[1][2].item<float>(), 105.0f);
  EXPECT_EQ(testing::read_file(path), before) << "a write to a view reached the file";
  EXPECT_EQ(SafetensorsFile::open(path).tensor("w")[1][2].item<float>(), 5.0f);
}

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(SafetensorsReader, OpeningAHugeFileReadsOnlyItsHeader) {
  testing::TempDir tmp;
  const fs::path path = tmp / "huge.safetensors";
  const uint64_t bytes = uint64_t{1} << 30;
  std::string header = R"({"big":{"dtype":"U8","shape":[)" + std::to_string(bytes) + R"(],"data_offsets":[0,)" +
                       std::to_string(bytes) + "]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t length = header.size();
  testing::write_file(path, std::string(reinterpret_cast<const char*>(&length), 8) + header);
  fs::resize_file(path, 8 + header.size() + bytes);  // sparse: the data is never written, nor read
  const long before = resident_bytes();
  auto file = SafetensorsFile::open(path);
  auto big = file.tensor("big");
  const long grown = resident_bytes() - before;
  EXPECT_EQ(big.numel(), static_cast<int64_t>(bytes));
  EXPECT_LT(grown, 16l << 20) << "opening and viewing a 1 GiB tensor made " << grown << " bytes resident";
}

TEST(SafetensorsReader, MissingFilesTensorsAndDtypesAreNamed) {
  testing::TempDir tmp;
  std::string message = error_of([&] { SafetensorsFile::open(tmp / "absent.safetensors"); });
  EXPECT_EQ(message, "cannot open " + (tmp / "absent.safetensors").string() + ": No such file or directory");
  message = error_of([&] { SafetensorsFile::open(tmp.path()); });
  EXPECT_EQ(message, tmp.path().string() + " is not a regular file");

  const fs::path path = golden_dir("safetensors") / "small.safetensors";
  auto file = SafetensorsFile::open(path);
  message = error_of([&] { file.tensor("model.norm.weight"); });
  EXPECT_EQ(message, "tensor 'model.norm.weight' not found in " + path.string());

  for (auto type : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kShort, at::kChar,
                    at::kByte, at::kBool, at::kUInt16, at::kUInt32, at::kUInt64}) {
    const auto* dtype = find_safetensors_dtype(safetensors_dtype_name(type));
    ASSERT_NE(dtype, nullptr);
    EXPECT_EQ(dtype->torch, type);
    EXPECT_EQ(dtype->bits, 8 * static_cast<int>(c10::elementSize(type)));
  }
  EXPECT_EQ(find_safetensors_dtype("F8_E9"), nullptr);
  EXPECT_NE(error_of([] { safetensors_dtype_name(at::kQInt8); }).find("cannot be stored in safetensors"), std::string::npos);
}

}  // namespace
}  // namespace lmc
