// Reading safetensors checkpoints: one file (SafetensorsFile) or a Hugging Face model directory with
// model.safetensors or model.safetensors.index.json plus shards (TensorSource). Files are memory-mapped
// and only the header is parsed when opening, so opening a 16 GB checkpoint reads a few kilobytes;
// tensor() returns a zero-copy view of the mapping that keeps it alive.
// The header is validated as strictly as the reference `safetensors` library does (no holes, overlaps
// or trailing bytes, sizes matching shapes), so lmc accepts exactly the files transformers accepts.
// Writing lives in safetensors_writer.h. Not handled: big-endian hosts, sub-byte dtypes as tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace lmc {

class MappedFile;

// A dtype of the safetensors format: its header spelling, size, and the torch type it loads as.
struct SafetensorsDtype {
  std::string_view name;                // "BF16"
  int bits;                             // per element; F4 and F6_* are sub-byte
  std::optional<c10::ScalarType> torch; // nullopt: known to the format, but no torch tensor type
};

// The entry for a header spelling, or nullptr when the format has no such dtype.
const SafetensorsDtype* find_safetensors_dtype(std::string_view name);
// The header spelling for a torch dtype; throws lmc::Error for types safetensors cannot store.
std::string_view safetensors_dtype_name(c10::ScalarType dtype);

// One header entry. Offsets are relative to the data buffer that follows the header, end exclusive.
struct TensorInfo {
  std::string dtype;           // safetensors spelling, e.g. "BF16"
  std::vector<int64_t> shape;  // [] for a scalar
  uint64_t begin = 0;
  uint64_t end = 0;
  int64_t byte_size() const { return static_cast<int64_t>(end - begin); }
  int64_t numel() const;
};

// Immutable once opened: tensor() and the accessors may be called from several threads at once.
class SafetensorsFile {
 public:
  // Maps the file and validates its whole header; throws lmc::Error naming the file (and the tensor).
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Tensor names in the order their data lies in the file, so reading them in turn reads forward.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  // `__metadata__` (absent: empty).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A CPU tensor viewing the mapped bytes: no copy, and writes to it stay private to this process.
  // The one exception is data not aligned to its element size (possible only in files from other
  // writers), which is copied so that vectorised kernels may assume alignment.
  at::Tensor tensor(const std::string& name) const;
  // Drops the resident pages of `name` (MappedFile::release): for single passes over files larger than
  // memory. Tensors viewing them stay valid and read the file's bytes again; writes made through them
  // are lost.
  void release(const std::string& name) const;

  // The mapping's address range, for callers (and tests) that need to know whether a tensor is a view.
  const std::byte* mapping_begin() const;
  const std::byte* mapping_end() const;

 private:
  SafetensorsFile() = default;

  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> mapping_;
  uint64_t data_start_ = 0;  // 8 + header length
  std::vector<std::string> names_;
  std::unordered_map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// The tensors of a checkpoint, whether in one file or sharded. Every shard is opened (mapped, header
// validated) up front and the index is checked against the shards' headers, so a broken checkpoint
// fails at open() rather than halfway through a load.
class TensorSource {
 public:
  // `path` is a .safetensors file, a .index.json, or a directory holding model.safetensors or
  // model.safetensors.index.json (model.safetensors wins when both exist, as in transformers).
  static TensorSource open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Shard by shard (in file-name order), each in data order.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return owner_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  at::Tensor tensor(const std::string& name) const;
  void release(const std::string& name) const;
  // The file holding `name`.
  const SafetensorsFile& file_of(const std::string& name) const;
  int64_t file_count() const { return static_cast<int64_t>(files_.size()); }

 private:
  TensorSource() = default;
  size_t owner(const std::string& name) const;
  std::string describe() const;  // "DIR (3 shards)" or the single file, for messages

  std::filesystem::path path_;  // the directory of a sharded checkpoint, else as given to open()
  bool sharded_ = false;
  std::vector<SafetensorsFile> files_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> owner_;  // name -> index into files_
};

}  // namespace lmc
