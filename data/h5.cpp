// HDF5 plumbing for the shard writer and reader; see h5.h. HDF5's automatic error printing is switched off
// once so that failures surface only as lmc::Error messages.
#include "data/h5.h"

#include <memory>

#include "common/error.h"

namespace lmc::data::h5 {
namespace {

// deflate level 1: most of level 9's gain on text and token ids, at a small fraction of the time.
constexpr unsigned kDeflateLevel = 1;

herr_t collect_message(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (err->desc && *err->desc) *out = err->desc;  // keep the innermost (walked last) description
  return 0;
}

std::string hdf5_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_message, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "HDF5 call failed" : message;
}

hid_t memory_type(Type type) {
  switch (type) {
    case Type::U8: return H5T_NATIVE_UINT8;
    case Type::I32: return H5T_NATIVE_INT32;
    case Type::I64: return H5T_NATIVE_INT64;
    case Type::String: break;
  }
  throw Error("internal: no numeric memory type for strings");
}

hid_t file_type(Type type) {
  switch (type) {
    case Type::U8: return H5T_STD_U8LE;
    case Type::I32: return H5T_STD_I32LE;
    case Type::I64: return H5T_STD_I64LE;
    case Type::String: break;
  }
  throw Error("internal: no numeric file type for strings");
}

Id string_type() {
  Id type(check(H5Tcopy(H5T_C_S1), "creating a string type"), H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), "creating a string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "creating a string type");
  return type;
}

Id scalar_space() { return Id(check(H5Screate(H5S_SCALAR), "creating a dataspace"), H5Sclose); }

Id open_attribute(hid_t object, const std::string& name) {
  return Id(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "opening attribute " + name), H5Aclose);
}

// File and memory dataspaces selecting rows [begin, begin + count) of a dataset.
std::pair<Id, Id> row_selection(hid_t dataset, hsize_t begin, hsize_t count, const std::string& what) {
  Id file_space(check(H5Dget_space(dataset), what), H5Sclose);
  int rank = static_cast<int>(check(H5Sget_simple_extent_ndims(file_space.get()), what));
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(file_space.get(), dims, nullptr);
  if (begin + count > dims[0]) {
    throw Error(what + ": rows [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") out of range (" + std::to_string(dims[0]) + " rows)");
  }
  hsize_t start[2] = {begin, 0};
  hsize_t extent[2] = {count, rank == 2 ? dims[1] : 1};
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr), what);
  Id memory_space(check(H5Screate_simple(rank, extent, nullptr), what), H5Sclose);
  return {std::move(file_space), std::move(memory_space)};
}

}  // namespace

std::unique_lock<std::recursive_mutex> h5_lock() {
  static std::recursive_mutex mutex;
  static std::once_flag quiet;
  std::call_once(quiet, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
  return std::unique_lock<std::recursive_mutex>(mutex);
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
  }
  return *this;
}

void Id::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

int64_t check(int64_t status, const std::string& what) {
  if (status < 0) throw Error(what + ": " + hdf5_message());
  return status;
}

Id create_file(const std::filesystem::path& path) {
  return Id(check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), "creating " + path.string()),
            H5Fclose);
}

Id open_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error("cannot open " + path.string() + ": no such file");
  return Id(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "opening " + path.string()), H5Fclose);
}

AppendDataset::AppendDataset(hid_t file, const std::string& name, Type type, hsize_t chunk_rows, hsize_t columns,
                             ChunkCompressor* compressor)
    : type_(type), columns_(columns), chunk_rows_(chunk_rows), name_(name),
      compressor_(type == Type::String ? nullptr : compressor) {
  std::string what = "creating dataset " + name;
  int rank = columns == 1 ? 1 : 2;
  hsize_t dims[2] = {0, columns};
  hsize_t max_dims[2] = {H5S_UNLIMITED, columns};
  hsize_t chunk[2] = {chunk_rows, columns};
  Id space(check(H5Screate_simple(rank, dims, max_dims), what), H5Sclose);
  Id properties(check(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
  check(H5Pset_chunk(properties.get(), rank, chunk), what);
  Id strings;
  hid_t stored_type;
  if (type == Type::String) {
    strings = string_type();
    stored_type = strings.get();
  } else {
    stored_type = file_type(type);
    if (H5Tget_size(stored_type) > 1) check(H5Pset_shuffle(properties.get()), what);
    check(H5Pset_deflate(properties.get(), kDeflateLevel), what);
  }
  dataset_ = Id(check(H5Dcreate2(file, name.c_str(), stored_type, space.get(), H5P_DEFAULT, properties.get(),
                                 H5P_DEFAULT),
                      what),
                H5Dclose);
  if (type != Type::String) row_bytes_ = H5Tget_size(stored_type) * columns;
}

void AppendDataset::submit_pending() {
  pending_.resize(chunk_rows_ * row_bytes_, 0);  // HDF5 stores edge chunks whole; the extent hides the padding
  size_t element = row_bytes_ / columns_;
  in_flight_.emplace_back(next_chunk_++, compressor_->submit(std::move(pending_), element, kDeflateLevel));
  pending_ = {};
}

void AppendDataset::write_oldest() {
  std::string what = "writing a chunk of dataset " + name_;
  auto [index, future] = std::move(in_flight_.front());
  in_flight_.pop_front();
  std::vector<uint8_t> compressed = with_context(what, [&] { return future.get(); });
  hsize_t end = std::min((index + 1) * chunk_rows_, rows_);
  if (end > extent_) {
    hsize_t dims[2] = {end, columns_};
    check(H5Dset_extent(dataset_.get(), dims), what);
    extent_ = end;
  }
  hsize_t offset[2] = {index * chunk_rows_, 0};
  check(H5Dwrite_chunk(dataset_.get(), H5P_DEFAULT, 0, offset, compressed.size(), compressed.data()), what);
}

void AppendDataset::finish() {
  if (!compressor_) return;
  if (!pending_.empty()) submit_pending();
  while (!in_flight_.empty()) write_oldest();
}

void AppendDataset::extend_and_write(const void* data, hsize_t rows) {
  std::string what = "appending to dataset " + name_;
  hsize_t new_dims[2] = {rows_ + rows, columns_};
  check(H5Dset_extent(dataset_.get(), new_dims), what);
  auto [file_space, memory_space] = row_selection(dataset_.get(), rows_, rows, what);
  Id strings;
  hid_t type = type_ == Type::String ? (strings = string_type()).get() : memory_type(type_);
  check(H5Dwrite(dataset_.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data), what);
  rows_ += rows;
}

void AppendDataset::append(const void* rows_data, hsize_t rows) {
  if (rows == 0) return;
  if (!compressor_) {
    extend_and_write(rows_data, rows);
    return;
  }
  // Enough chunks in flight to keep every worker busy, few enough to bound memory.
  const size_t max_in_flight = 8;
  const auto* bytes = static_cast<const uint8_t*>(rows_data);
  size_t remaining = rows * row_bytes_;
  const size_t chunk_bytes = chunk_rows_ * row_bytes_;
  rows_ += rows;
  while (remaining > 0) {
    size_t take = std::min(remaining, chunk_bytes - pending_.size());
    pending_.insert(pending_.end(), bytes, bytes + take);
    bytes += take;
    remaining -= take;
    if (pending_.size() == chunk_bytes) submit_pending();
    while (in_flight_.size() > max_in_flight) write_oldest();
  }
}

void AppendDataset::append_strings(const std::vector<std::string>& values) {
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!values.empty()) extend_and_write(pointers.data(), values.size());
}

namespace {

// A scalar attribute stored as `file_type`, written from `value` of `memory_type`.
void write_scalar_attribute(hid_t object, const std::string& name, hid_t file_type, hid_t memory_type,
                            const void* value) {
  std::string what = "writing attribute " + name;
  Id space = scalar_space();
  Id attribute(check(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
               H5Aclose);
  check(H5Awrite(attribute.get(), memory_type, value), what);
}

}  // namespace

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  Id type = string_type();
  const char* text = value.c_str();
  write_scalar_attribute(object, name, type.get(), type.get(), &text);
}

void write_attribute(hid_t object, const std::string& name, int64_t value) {
  write_scalar_attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t object, const std::string& name, uint64_t value) {
  write_scalar_attribute(object, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

bool has_attribute(hid_t object, const std::string& name) {
  return check(H5Aexists(object, name.c_str()), "looking up attribute " + name) > 0;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  std::string what = "reading attribute " + name;
  Id attribute = open_attribute(object, name);
  Id stored(check(H5Aget_type(attribute.get()), what), H5Tclose);
  if (H5Tget_class(stored.get()) != H5T_STRING) throw Error(what + ": not a string");
  if (H5Tis_variable_str(stored.get()) > 0) {
    Id type = string_type();
    char* text = nullptr;
    check(H5Aread(attribute.get(), type.get(), &text), what);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(stored.get()), '\0');
  check(H5Aread(attribute.get(), stored.get(), value.data()), what);
  return value.substr(0, value.find('\0'));
}

int64_t read_int_attribute(hid_t object, const std::string& name) {
  int64_t value = 0;
  Id attribute = open_attribute(object, name);
  check(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "reading attribute " + name);
  return value;
}

uint64_t read_uint_attribute(hid_t object, const std::string& name) {
  uint64_t value = 0;
  Id attribute = open_attribute(object, name);
  check(H5Aread(attribute.get(), H5T_NATIVE_UINT64, &value), "reading attribute " + name);
  return value;
}

Id open_dataset(hid_t file, const std::string& name) {
  return Id(check(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "opening dataset " + name), H5Dclose);
}

bool has_dataset(hid_t file, const std::string& name) {
  return check(H5Lexists(file, name.c_str(), H5P_DEFAULT), "looking up " + name) > 0;
}

hsize_t dataset_rows(hid_t dataset) {
  Id space(check(H5Dget_space(dataset), "reading a dataset's shape"), H5Sclose);
  hsize_t dims[2] = {0, 0};
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "reading a dataset's shape");
  return dims[0];
}

void read_rows(hid_t dataset, Type type, hsize_t begin, hsize_t count, void* out) {
  if (count == 0) return;
  auto [file_space, memory_space] = row_selection(dataset, begin, count, "reading a dataset");
  check(H5Dread(dataset, memory_type(type), memory_space.get(), file_space.get(), H5P_DEFAULT, out),
        "reading a dataset");
}

std::string read_string(hid_t dataset, hsize_t index) {
  auto [file_space, memory_space] = row_selection(dataset, index, 1, "reading a string");
  Id type = string_type();
  char* text = nullptr;
  check(H5Dread(dataset, type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, &text), "reading a string");
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

}  // namespace lmc::data::h5
