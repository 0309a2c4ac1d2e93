#include "checkpoints/safetensors_writer.h"


#include <algorithm>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "checkpoints/safetensors.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kHeaderAlignment = 8;  // what the reference writer pads to
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string shard_file_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

// model.safetensors, its index, or model-NNNNN-of-NNNNN.safetensors: the files a checkpoint consists of.
bool is_checkpoint_file_name(const std::string& name) {
  if (name == kSingleFile || name == kIndexFile) return true;
  const std::string digits = "model-00000-of-00000.safetensors";
  if (name.size() != digits.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const bool ok = digits[i] == '0' ? (name[i] >= '0' && name[i] <= '9') : name[i] == digits[i];
    if (!ok) return false;
  }
  return true;
}

// Checks a tensor handed to add() against its spec; returns it contiguous on the CPU.
at::Tensor check_against_spec(const at::Tensor& tensor, const TensorSpec& spec, const fs::path& path) {
  const std::string what = "writing " + path.string() + ": tensor '" + spec.name + "'";
  if (tensor.scalar_type() != spec.dtype) {
    throw Error(what + " has dtype " + c10::toString(tensor.scalar_type()) + ", expected " + c10::toString(spec.dtype));
  }
  if (tensor.sizes() != at::IntArrayRef(spec.shape)) {
    throw Error(what + " has shape " + shape_string(tensor.sizes()) + ", expected " + shape_string(spec.shape));
  }
  return tensor.to(at::kCPU).contiguous();
}

// Refuses to finish a file (or a set of shards) that would lack tensors.
void throw_if_missing(const fs::path& path, const std::vector<std::string>& missing) {
  if (missing.empty()) return;
  std::string list;
  for (size_t i = 0; i < missing.size() && i < 8; ++i) list += (i ? ", '" : "'") + missing[i] + "'";
  if (missing.size() > 8) list += ", ...";
  throw Error("writing " + path.string() + ": " + std::to_string(missing.size()) + " tensors never added: " + list);
}

}  // namespace

int64_t TensorSpec::byte_size() const {
  int64_t n = static_cast<int64_t>(c10::elementSize(dtype));
  for (auto d : shape) n *= d;
  return n;
}

std::vector<TensorSpec> specs_of(const NamedTensors& tensors) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) specs.push_back({name, tensor.scalar_type(), tensor.sizes().vec()});
  return specs;
}

SafetensorsWriter::SafetensorsWriter(fs::path path, const std::vector<TensorSpec>& specs, const SafetensorsMetadata& metadata)
    : path_(std::move(path)) {
  const std::string where = "writing " + path_.string();
  nlohmann::ordered_json header;
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  if (meta.contains("format") && meta["format"] != "pt") {
    throw Error(where + ": metadata 'format' must be 'pt' (transformers refuses other values for torch files), got '" +
                metadata.at("format") + "'");
  }
  meta["format"] = "pt";
  header["__metadata__"] = meta;

  // Widest elements first (stable), so every tensor starts at a multiple of its element size.
  std::vector<const TensorSpec*> layout;
  for (const auto& spec : specs) layout.push_back(&spec);
  std::stable_sort(layout.begin(), layout.end(), [](const TensorSpec* a, const TensorSpec* b) {
    return c10::elementSize(a->dtype) > c10::elementSize(b->dtype);
  });
  uint64_t data_bytes = 0;
  std::unordered_map<std::string, uint64_t> relative_offset;
  for (const TensorSpec* spec : layout) {
    const std::string what = where + ": tensor '" + spec->name + "'";
    if (spec->name == "__metadata__") throw Error(what + ": the name is reserved by the format");
    if (relative_offset.count(spec->name)) throw Error(what + " is given more than once");
    for (auto d : spec->shape) {
      if (d < 0) throw Error(what + " has negative shape " + shape_string(spec->shape));
    }
    const std::string dtype(with_context(what, [&] { return safetensors_dtype_name(spec->dtype); }));
    const auto bytes = static_cast<uint64_t>(spec->byte_size());
    header[spec->name] = {{"dtype", dtype}, {"shape", spec->shape}, {"data_offsets", {data_bytes, data_bytes + bytes}}};
    relative_offset[spec->name] = data_bytes;
    data_bytes += bytes;
  }
  std::string text = with_context(where, [&] { return header.dump(); });
  text.append((kHeaderAlignment - text.size() % kHeaderAlignment) % kHeaderAlignment, ' ');
  const uint64_t data_start = 8 + text.size();
  file_size_ = data_start + data_bytes;

  for (const auto& spec : specs) {
    order_.push_back(spec.name);
    slots_.emplace(spec.name, Slot{spec, data_start + relative_offset.at(spec.name)});
  }
  file_ = std::make_unique<AtomicFile>(path_);
  file_->reserve(file_size_);
  const uint64_t length = text.size();  // little-endian on the hosts lmc supports (see safetensors.cpp)
  file_->write_at(0, &length, sizeof length);
  file_->write_at(8, text.data(), text.size());
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::add(const std::string& name, const at::Tensor& tensor) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw Error("writing " + path_.string() + ": tensor '" + name + "' is not in the planned tensors");
  Slot& slot = it->second;
  if (slot.written) throw Error("writing " + path_.string() + ": tensor '" + name + "' added twice");
  const at::Tensor data = check_against_spec(tensor, slot.spec, path_);
  file_->write_at(slot.offset, data.data_ptr(), data.nbytes());
  slot.written = true;
}

void SafetensorsWriter::add_rows(const std::string& name, int64_t first_row, const at::Tensor& rows) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw Error("writing " + path_.string() + ": tensor '" + name + "' is not in the planned tensors");
  Slot& slot = it->second;
  const std::string what = "writing " + path_.string() + ": tensor '" + name + "'";
  if (slot.written) throw Error(what + " added twice");
  if (slot.spec.shape.empty() || rows.dim() == 0) throw Error(what + " has no rows to write in pieces");
  if (first_row != slot.rows_written) {
    throw Error(what + ": rows must come in order, expected row " + std::to_string(slot.rows_written) + ", got " +
                std::to_string(first_row));
  }
  TensorSpec piece = slot.spec;
  piece.shape[0] = rows.size(0);
  if (first_row + rows.size(0) > slot.spec.shape[0]) throw Error(what + ": rows past its " + std::to_string(slot.spec.shape[0]));
  const at::Tensor data = check_against_spec(rows, piece, path_);
  const auto row_bytes = static_cast<uint64_t>(piece.byte_size() / std::max<int64_t>(rows.size(0), 1));
  file_->write_at(slot.offset + static_cast<uint64_t>(first_row) * row_bytes, data.data_ptr(), data.nbytes());
  slot.rows_written += rows.size(0);
  slot.written = slot.rows_written == slot.spec.shape[0];
}

std::vector<std::string> SafetensorsWriter::missing() const {
  std::vector<std::string> names;
  for (const auto& name : order_) {
    if (!slots_.at(name).written) names.push_back(name);
  }
  return names;
}

void SafetensorsWriter::finish() {
  if (!file_) throw Error("writing " + path_.string() + ": finish() called twice");
  throw_if_missing(path_, missing());
  file_->commit();
  file_.reset();
}

void write_safetensors(const fs::path& path, const NamedTensors& tensors, const SafetensorsMetadata& metadata) {
  SafetensorsWriter writer(path, specs_of(tensors), metadata);
  for (const auto& [name, tensor] : tensors) writer.add(name, tensor);
  writer.finish();
}

// ---------------------------------------------------------------------------------------------------

ShardedWriter::ShardedWriter(fs::path dir, const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes,
                             const SafetensorsMetadata& metadata)
    : dir_(std::move(dir)) {
  if (max_shard_bytes == 0) throw Error("writing " + dir_.string() + ": the maximum shard size must be positive");
  // huggingface_hub's split: fill shards in order; a tensor over the limit is a shard by itself, placed
  // before the shard being filled.
  std::vector<std::vector<TensorSpec>> shards;
  std::vector<TensorSpec> current;
  uint64_t current_bytes = 0;
  std::set<std::string> names;  // each shard's writer checks its own names; this checks across shards
  for (const auto& spec : specs) {
    if (!names.insert(spec.name).second) throw Error("writing " + dir_.string() + ": tensor '" + spec.name + "' is given more than once");
    const auto bytes = static_cast<uint64_t>(spec.byte_size());
    total_size_ += bytes;
    total_parameters_ += static_cast<uint64_t>(spec.byte_size() / static_cast<int64_t>(c10::elementSize(spec.dtype)));
    if (bytes > max_shard_bytes) {
      shards.push_back({spec});
      continue;
    }
    if (current_bytes + bytes > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(spec);
    current_bytes += bytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw Error("cannot create directory " + dir_.string() + ": " + error.message());
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shards.size() == 1 ? kSingleFile : shard_file_name(i, shards.size());
    shards_.push_back(std::make_unique<SafetensorsWriter>(dir_ / file, shards[i], metadata));
    for (const auto& spec : shards[i]) shard_of_[spec.name] = i;
  }
}

ShardedWriter::~ShardedWriter() = default;

SafetensorsWriter& ShardedWriter::shard_of(const std::string& name) {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw Error("writing " + dir_.string() + ": tensor '" + name + "' is not in the planned tensors");
  return *shards_[it->second];
}

void ShardedWriter::add(const std::string& name, const at::Tensor& tensor) { shard_of(name).add(name, tensor); }

void ShardedWriter::add_rows(const std::string& name, int64_t first_row, const at::Tensor& rows) {
  shard_of(name).add_rows(name, first_row, rows);
}

std::vector<fs::path> ShardedWriter::finish() {
  if (shards_.empty()) throw Error("writing " + dir_.string() + ": finish() called twice");
  // Every shard complete before the first is renamed: an incomplete export must not replace anything.
  std::vector<std::string> missing;
  for (const auto& shard : shards_) {
    auto more = shard->missing();
    missing.insert(missing.end(), more.begin(), more.end());
  }
  throw_if_missing(dir_, missing);

  std::vector<fs::path> written;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const auto& [name, shard] : shard_of_) weight_map[name] = shards_[shard]->path().filename().string();
  for (auto& shard : shards_) {
    shard->finish();
    written.push_back(shard->path());
  }
  if (shards_.size() > 1) {
    // The layout of huggingface_hub's save: sorted keys, two-space indent, trailing newline.
    const nlohmann::json index = {{"metadata", {{"total_parameters", total_parameters_}, {"total_size", total_size_}}},
                                  {"weight_map", weight_map}};
    write_file_atomically(dir_ / kIndexFile, index.dump(2) + "\n");
    written.push_back(dir_ / kIndexFile);
  }
  shards_.clear();

  std::set<fs::path> keep(written.begin(), written.end());
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (is_checkpoint_file_name(entry.path().filename().string()) && !keep.count(entry.path())) {
      std::error_code error;
      fs::remove(entry.path(), error);
      if (error) throw Error("wrote " + dir_.string() + ", but cannot remove the stale " + entry.path().string() + ": " + error.message());
    }
  }
  return written;
}

std::vector<fs::path> write_safetensors_sharded(const fs::path& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                                                const SafetensorsMetadata& metadata) {
  ShardedWriter writer(dir, specs_of(tensors), max_shard_bytes, metadata);
  for (const auto& [name, tensor] : tensors) writer.add(name, tensor);
  return writer.finish();
}

}  // namespace lmc
