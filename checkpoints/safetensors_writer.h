// Writing safetensors files as transformers expects them: header metadata {"format": "pt"} always, the
// header padded with spaces to a multiple of 8, tensors little-endian and row-major with no gaps. Output
// appears atomically (temporary file, fsync, rename), so a crash never leaves a half-written checkpoint.
// Writers are told every tensor's name, dtype and shape up front (TensorSpec), which fixes the header and
// each tensor's place before any data exists: tensors are then written straight to their final offsets
// as they arrive, in any order, so exporting a model needs memory for one tensor, not for a shard.
// Within a file, data is laid out by element size, widest first, keeping the spec order otherwise: every
// tensor is then aligned to its element size (readers may view it in place) without padding, which the
// format forbids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace lmc {

class AtomicFile;

struct TensorSpec {
  std::string name;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
  int64_t byte_size() const;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using SafetensorsMetadata = std::map<std::string, std::string>;

// The spec of each tensor, in order.
std::vector<TensorSpec> specs_of(const NamedTensors& tensors);

// One safetensors file, written tensor by tensor.
class SafetensorsWriter {
 public:
  // Validates the specs (unique names, storable dtypes), creates the temporary next to `path`, reserves
  // its size on disk and writes the header. `metadata` may not set "format" to anything but "pt".
  SafetensorsWriter(std::filesystem::path path, const std::vector<TensorSpec>& specs, const SafetensorsMetadata& metadata = {});
  ~SafetensorsWriter();  // without finish(): the temporary is removed, `path` is left as it was
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Writes `tensor` (any device, any strides) at its place; its dtype and shape must match the spec.
  void add(const std::string& name, const at::Tensor& tensor);
  // Writes rows [first_row, first_row + rows.size(0)) of `name` (its first dimension), so a tensor larger
  // than memory can be written in pieces. Pieces come in order, each starting where the last ended.
  void add_rows(const std::string& name, int64_t first_row, const at::Tensor& rows);
  // Checks every tensor was added, then makes the file appear at `path`.
  void finish();
  // Planned tensors not added yet, in spec order.
  std::vector<std::string> missing() const;

  const std::filesystem::path& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }

 private:
  struct Slot {
    TensorSpec spec;
    uint64_t offset;  // absolute, in the file
    int64_t rows_written = 0;  // add_rows() so far
    bool written = false;
  };
  std::filesystem::path path_;
  std::unique_ptr<AtomicFile> file_;
  std::unordered_map<std::string, Slot> slots_;
  std::vector<std::string> order_;  // spec order, for messages
  uint64_t file_size_ = 0;
};

// All of `tensors` into one file.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const SafetensorsMetadata& metadata = {});

// A Hugging Face sharded checkpoint in a directory: tensors are split into shards of at most
// `max_shard_bytes` exactly as huggingface_hub's split_torch_state_dict_into_shards does (in spec order;
// a tensor larger than the limit gets a shard of its own), written as model-0000i-of-0000N.safetensors
// with model.safetensors.index.json ({"metadata": {"total_parameters", "total_size"}, "weight_map"}). Like huggingface_hub,
// a checkpoint that fits in one shard is written as model.safetensors with no index.
class ShardedWriter {
 public:
  // Creates `dir` if needed and every shard's temporary (with its header).
  ShardedWriter(std::filesystem::path dir, const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes,
                const SafetensorsMetadata& metadata = {});
  ~ShardedWriter();  // without finish(): temporaries removed, `dir` as it was
  ShardedWriter(const ShardedWriter&) = delete;
  ShardedWriter& operator=(const ShardedWriter&) = delete;

  void add(const std::string& name, const at::Tensor& tensor);
  void add_rows(const std::string& name, int64_t first_row, const at::Tensor& rows);
  // Checks every tensor was added, renames the shards into place, writes the index, and removes
  // model*.safetensors files and an index left in `dir` by an earlier checkpoint (transformers would
  // otherwise pick a stale model.safetensors over the new index). Returns the files written.
  std::vector<std::filesystem::path> finish();

 private:
  SafetensorsWriter& shard_of(const std::string& name);

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsWriter>> shards_;
  std::unordered_map<std::string, size_t> shard_of_;
  uint64_t total_size_ = 0;        // bytes of tensor data, as huggingface_hub counts it
  uint64_t total_parameters_ = 0;  // elements, which transformers also records
};

std::vector<std::filesystem::path> write_safetensors_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                                             uint64_t max_shard_bytes, const SafetensorsMetadata& metadata = {});

}  // namespace lmc
