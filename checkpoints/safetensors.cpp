#include "checkpoints/safetensors.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "checkpoints/mapped_file.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;
using nlohmann::json;

// Safetensors data is little-endian and tensors are views of it, so the host must be too.
static_assert(std::endian::native == std::endian::little, "lmc's safetensors views assume a little-endian host");

namespace {

// Every dtype the reference library (safetensors 0.8) knows, so that lmc's header validation agrees
// with it; the sub-byte ones have no torch tensor type lmc could hand out.
constexpr SafetensorsDtype kDtypes[] = {
    {"BOOL", 8, c10::ScalarType::Bool},
    {"U8", 8, c10::ScalarType::Byte},
    {"I8", 8, c10::ScalarType::Char},
    {"I16", 16, c10::ScalarType::Short},
    {"U16", 16, c10::ScalarType::UInt16},
    {"F16", 16, c10::ScalarType::Half},
    {"BF16", 16, c10::ScalarType::BFloat16},
    {"I32", 32, c10::ScalarType::Int},
    {"U32", 32, c10::ScalarType::UInt32},
    {"F32", 32, c10::ScalarType::Float},
    {"C64", 64, c10::ScalarType::ComplexFloat},
    {"F64", 64, c10::ScalarType::Double},
    {"I64", 64, c10::ScalarType::Long},
    {"U64", 64, c10::ScalarType::UInt64},
    {"F8_E4M3", 8, c10::ScalarType::Float8_e4m3fn},
    {"F8_E5M2", 8, c10::ScalarType::Float8_e5m2},
    {"F8_E4M3FNUZ", 8, c10::ScalarType::Float8_e4m3fnuz},
    {"F8_E5M2FNUZ", 8, c10::ScalarType::Float8_e5m2fnuz},
    {"F8_E8M0", 8, c10::ScalarType::Float8_e8m0fnu},
    {"F4", 4, std::nullopt},
    {"F6_E2M3", 6, std::nullopt},
    {"F6_E3M2", 6, std::nullopt},
};

// The reference library refuses longer headers; a larger length means a corrupt or foreign file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string in_quotes(const std::string& name) { return "'" + name + "'"; }

std::string range_string(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Parses a JSON object; nlohmann keeps the last of repeated keys silently, but a repeated tensor name
// is a corrupt file, so repeats are reported (`where` names the file).
json parse_object_without_repeats(std::string_view text, const std::string& where) {
  std::vector<std::unordered_set<std::string>> keys_at_depth;
  std::optional<std::string> repeated;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    const auto d = static_cast<size_t>(depth);
    if (event == json::parse_event_t::object_start) {
      if (keys_at_depth.size() < d + 2) keys_at_depth.resize(d + 2);
      keys_at_depth[d + 1].clear();
    } else if (event == json::parse_event_t::key && !repeated) {
      if (!keys_at_depth[d].insert(parsed.get<std::string>()).second) repeated = parsed.get<std::string>();
    }
    return true;
  };
  // nlohmann stops at a NUL as at the end of input, but JSON has no raw NUL anywhere (not even in
  // strings), and the reference refuses a header padded with them.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    throw Error(where + ": malformed JSON: NUL byte at offset " + std::to_string(nul));
  }
  json parsed;
  try {
    parsed = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    throw Error(where + ": malformed JSON: " + e.what());
  }
  if (!parsed.is_object()) throw Error(where + ": expected a JSON object, found " + parsed.type_name());
  if (repeated) throw Error(where + ": key " + in_quotes(*repeated) + " appears more than once");
  return parsed;
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t value = 0;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Validates one header entry (all but the coverage of the buffer, which needs every entry).
TensorInfo parse_entry(const std::string& name, const json& entry, const std::string& file, uint64_t buffer_bytes) {
  const std::string what = "tensor " + in_quotes(name) + " in " + file;
  if (!entry.is_object()) throw Error(what + ": header entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) throw Error(what + ": header entry has no '" + field + "'");
  }
  TensorInfo info;
  if (!entry["dtype"].is_string()) throw Error(what + ": 'dtype' is not a string");
  info.dtype = entry["dtype"].get<std::string>();
  const SafetensorsDtype* dtype = find_safetensors_dtype(info.dtype);
  if (!dtype) throw Error(what + " has unknown dtype " + in_quotes(info.dtype));

  const json& shape = entry["shape"];
  if (!shape.is_array()) throw Error(what + ": 'shape' is not an array");
  uint64_t bits = static_cast<uint64_t>(dtype->bits);
  for (const json& dim : shape) {
    if (!dim.is_number_unsigned()) throw Error(what + " has invalid shape " + shape.dump() + ": dimensions must be non-negative integers");
    const auto size = dim.get<uint64_t>();
    if (size > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bits, size, &bits)) {
      throw Error(what + " has shape " + shape.dump() + ", too large to address");
    }
    info.shape.push_back(static_cast<int64_t>(size));
  }

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
    throw Error(what + " has invalid data_offsets " + offsets.dump() + ": expected [begin, end]");
  }
  info.begin = offsets[0].get<uint64_t>();
  info.end = offsets[1].get<uint64_t>();
  if (info.end < info.begin) throw Error(what + " has data_offsets " + range_string(info.begin, info.end) + " that end before they begin");
  if (bits % 8 != 0) throw Error(what + ": " + std::to_string(bits) + " bits of " + info.dtype + " do not fill whole bytes");
  if (bits / 8 != info.end - info.begin) {
    throw Error(what + ": shape " + shape_string(info.shape) + " of " + info.dtype + " needs " + std::to_string(bits / 8) +
                " bytes, but data_offsets " + range_string(info.begin, info.end) + " hold " +
                std::to_string(info.end - info.begin));
  }
  if (info.end > buffer_bytes) {
    throw Error(what + ": data_offsets " + range_string(info.begin, info.end) + " run past the end of the data (" +
                std::to_string(buffer_bytes) + " bytes): the file is truncated");
  }
  return info;
}

}  // namespace

const SafetensorsDtype* find_safetensors_dtype(std::string_view name) {
  for (const auto& dtype : kDtypes) {
    if (dtype.name == name) return &dtype;
  }
  return nullptr;
}

std::string_view safetensors_dtype_name(c10::ScalarType type) {
  for (const auto& dtype : kDtypes) {
    if (dtype.torch == type) return dtype.name;
  }
  throw Error(std::string("dtype ") + c10::toString(type) + " cannot be stored in safetensors");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
  SafetensorsFile result;
  result.path_ = path;
  result.mapping_ = MappedFile::open(path);
  const std::string file = path.string();
  const uint64_t size = result.mapping_->size();
  if (size < 8) {
    throw Error(file + ": " + std::to_string(size) + " bytes is too short for a safetensors file (8-byte header length, then JSON)");
  }
  const std::byte* bytes = result.mapping_->data();
  const uint64_t header_bytes = read_u64_le(bytes);
  if (header_bytes > kMaxHeaderBytes) {
    throw Error(file + ": header length " + std::to_string(header_bytes) + " is over the safetensors limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes: not a safetensors file, or corrupt");
  }
  if (header_bytes > size - 8) {
    throw Error(file + ": truncated: header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
                std::to_string(size) + " bytes)");
  }
  result.data_start_ = 8 + header_bytes;
  const uint64_t buffer_bytes = size - result.data_start_;
  json header = parse_object_without_repeats(
      std::string_view(reinterpret_cast<const char*>(bytes + 8), header_bytes), file + ": header");

  struct Span {
    uint64_t begin, end;
    const std::string* name;
    bool operator<(const Span& o) const { return std::tie(begin, end, *name) < std::tie(o.begin, o.end, *o.name); }
  };
  std::vector<Span> spans;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(file + ": __metadata__ is not an object");
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw Error(file + ": __metadata__ value of " + in_quotes(key) + " is not a string");
        result.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    auto [it, inserted] = result.infos_.emplace(name, parse_entry(name, entry, file, buffer_bytes));
    spans.push_back({it->second.begin, it->second.end, &it->first});
  }

  // The tensors must tile the data buffer exactly, as the reference library demands: overlaps would
  // alias two tensors, holes and trailing bytes mean the header and the data disagree.
  std::sort(spans.begin(), spans.end());
  uint64_t covered = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (s.begin < covered) {
      const Span& prev = spans[i - 1];
      throw Error("tensors " + in_quotes(*prev.name) + " and " + in_quotes(*s.name) + " in " + file + " overlap: data_offsets " +
                  range_string(prev.begin, prev.end) + " and " + range_string(s.begin, s.end));
    }
    if (s.begin > covered) {
      throw Error(file + ": data bytes [" + std::to_string(covered) + ", " + std::to_string(s.begin) +
                  ") belong to no tensor (the next is " + in_quotes(*s.name) + ")");
    }
    covered = s.end;
    result.names_.push_back(*s.name);
  }
  if (covered != buffer_bytes) {
    throw Error(file + ": " + std::to_string(buffer_bytes - covered) +
                " bytes after the last tensor's data: the header does not describe the whole file");
  }
  return result;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) throw Error("tensor " + in_quotes(name) + " not found in " + path_.string());
  return it->second;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const SafetensorsDtype& dtype = *find_safetensors_dtype(ti.dtype);
  if (!dtype.torch) {
    throw Error("tensor " + in_quotes(name) + " in " + path_.string() + " has dtype " + ti.dtype +
                ", which has no torch tensor type lmc can load");
  }
  const auto options = at::TensorOptions().dtype(*dtype.torch).device(at::kCPU);
  std::byte* data = mapping_->data() + data_start_ + ti.begin;
  if (reinterpret_cast<uintptr_t>(data) % (dtype.bits / 8) != 0) {
    at::Tensor copy = at::empty(ti.shape, options);
    if (ti.byte_size() > 0) std::memcpy(copy.data_ptr(), data, static_cast<size_t>(ti.byte_size()));
    return copy;
  }
  // The deleter owns a reference to the mapping: it is unmapped only after the last view dies.
  return at::from_blob(data, ti.shape, [mapping = mapping_](void*) {}, options);
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorInfo& ti = info(name);
  mapping_->release(data_start_ + ti.begin, static_cast<uint64_t>(ti.byte_size()));
}

const std::byte* SafetensorsFile::mapping_begin() const { return mapping_->data(); }
const std::byte* SafetensorsFile::mapping_end() const { return mapping_->data() + mapping_->size(); }

// ---------------------------------------------------------------------------------------------------

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

TensorSource TensorSource::open(const fs::path& path) {
  TensorSource source;
  source.path_ = path;
  fs::path index_path;
  fs::path single_path = path;
  if (fs::is_directory(path)) {
    single_path = path / kSingleFile;
    if (!fs::exists(single_path)) {
      index_path = path / kIndexFile;
      if (!fs::exists(index_path)) throw Error(path.string() + ": no " + kSingleFile + " or " + kIndexFile);
    }
  } else if (path.filename().string().ends_with(".index.json")) {
    index_path = path;
  }

  if (index_path.empty()) {
    source.files_.push_back(SafetensorsFile::open(single_path));
    source.names_ = source.files_[0].names();
    for (const auto& name : source.names_) source.owner_[name] = 0;
    return source;
  }

  const std::string index = index_path.string();
  json parsed = parse_object_without_repeats(read_text(index_path), index);
  if (!parsed.contains("weight_map") || !parsed["weight_map"].is_object()) throw Error(index + ": no 'weight_map' object");
  std::map<std::string, std::vector<std::string>> shard_tensors;  // file name -> tensors; sorted by file
  for (auto& [name, shard] : parsed["weight_map"].items()) {
    if (!shard.is_string()) throw Error(index + ": weight_map entry of tensor " + in_quotes(name) + " is not a file name");
    const std::string file = shard.get<std::string>();
    // Only plain names next to the index: an index must not reach outside its directory.
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos) {
      throw Error(index + ": tensor " + in_quotes(name) + " is mapped to " + in_quotes(file) + ", which is not a file name");
    }
    shard_tensors[file].push_back(name);
  }
  const fs::path dir = index_path.parent_path();
  source.path_ = dir;
  source.sharded_ = true;
  for (const auto& [file, tensors] : shard_tensors) {
    SafetensorsFile shard = with_context("shard of " + index, [&] { return SafetensorsFile::open(dir / file); });
    const std::set<std::string> mapped(tensors.begin(), tensors.end());
    for (const auto& name : tensors) {
      if (!shard.contains(name)) {
        throw Error("tensor " + in_quotes(name) + " is mapped to " + file + " by " + index + ", but that shard does not contain it");
      }
    }
    // Tensors a shard holds but the index does not map are not part of the checkpoint (as in transformers).
    for (const auto& name : shard.names()) {
      if (!mapped.count(name)) continue;
      source.names_.push_back(name);
      source.owner_[name] = source.files_.size();
    }
    source.files_.push_back(std::move(shard));
  }
  return source;
}

std::string TensorSource::describe() const {
  if (!sharded_) return files_[0].path().string();
  return path_.string() + " (" + std::to_string(files_.size()) + (files_.size() == 1 ? " shard)" : " shards)");
}

size_t TensorSource::owner(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) throw Error("tensor '" + name + "' not found in " + describe());
  return it->second;
}

const TensorInfo& TensorSource::info(const std::string& name) const { return files_[owner(name)].info(name); }
at::Tensor TensorSource::tensor(const std::string& name) const { return files_[owner(name)].tensor(name); }
void TensorSource::release(const std::string& name) const { files_[owner(name)].release(name); }
const SafetensorsFile& TensorSource::file_of(const std::string& name) const { return files_[owner(name)]; }

}  // namespace lmc
