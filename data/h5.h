// The slice of the HDF5 C API the shards need, wrapped so nothing leaks and every failure becomes an
// lmc::Error carrying HDF5's own message: owned ids, extendible compressed 1-D/2-D datasets appended to in
// blocks, variable-length UTF-8 strings, scalar attributes, and ranged reads. The Debian HDF5 build is not
// thread-safe, so every call from lmc goes through h5_lock(). Not a general HDF5 binding.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "data/chunk_compressor.h"

namespace lmc::data::h5 {

std::unique_lock<std::recursive_mutex> h5_lock();

// An HDF5 id closed with the matching H5?close when it dies.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() { reset(); }
  Id(Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  void reset();

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// Throws lmc::Error("<what>: <HDF5's message>") when `status` is negative; returns it otherwise.
int64_t check(int64_t status, const std::string& what);

enum class Type { U8, I32, I64, String };

Id create_file(const std::filesystem::path& path);
Id open_file(const std::filesystem::path& path);

// A dataset of `columns` values per row that grows along its first axis. Numeric datasets are deflated
// (with HDF5's shuffle filter for multi-byte values): given a compressor, rows are gathered into whole HDF5
// chunks that its threads compress and H5Dwrite_chunk stores; without one, HDF5 compresses as it writes.
class AppendDataset {
 public:
  AppendDataset(hid_t file, const std::string& name, Type type, hsize_t chunk_rows, hsize_t columns = 1,
                ChunkCompressor* compressor = nullptr);
  void append(const void* rows_data, hsize_t rows);  // numeric types
  void append_strings(const std::vector<std::string>& values);
  // Stores the rows still buffered or being compressed; call before the file is closed.
  void finish();
  hsize_t rows() const { return rows_; }

 private:
  void extend_and_write(const void* data, hsize_t rows);
  void submit_pending();
  void write_oldest();
  Id dataset_;
  Type type_;
  hsize_t columns_;
  hsize_t chunk_rows_;
  hsize_t rows_ = 0;
  std::string name_;
  ChunkCompressor* compressor_;
  size_t row_bytes_ = 0;
  std::vector<uint8_t> pending_;  // rows of the chunk being filled
  hsize_t next_chunk_ = 0;
  hsize_t extent_ = 0;
  std::deque<std::pair<hsize_t, std::future<std::vector<uint8_t>>>> in_flight_;  // chunk index, bytes
};

void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, int64_t value);
void write_attribute(hid_t object, const std::string& name, uint64_t value);

bool has_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
int64_t read_int_attribute(hid_t object, const std::string& name);
uint64_t read_uint_attribute(hid_t object, const std::string& name);

Id open_dataset(hid_t file, const std::string& name);
bool has_dataset(hid_t file, const std::string& name);
hsize_t dataset_rows(hid_t dataset);
// Rows [begin, begin + count) of a numeric dataset into `out` (count * columns values of `type`).
void read_rows(hid_t dataset, Type type, hsize_t begin, hsize_t count, void* out);
std::string read_string(hid_t dataset, hsize_t index);

}  // namespace lmc::data::h5
