// A byte range of a file on disk (a whole file, a tar member, one JSONL line) and positional reads from it.
// Documents are referred to by region rather than held in memory, so a corpus is streamed, never loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "data/wav.h"

namespace lmc::data {

struct FileRegion {
  std::filesystem::path path;
  uint64_t offset = 0;
  uint64_t size = 0;
};

// An open file descriptor for one region; reads are relative to the region's start and never leave it.
class RegionReader {
 public:
  explicit RegionReader(FileRegion region);
  ~RegionReader();
  RegionReader(const RegionReader&) = delete;
  RegionReader& operator=(const RegionReader&) = delete;

  uint64_t size() const { return region_.size; }
  // Fills `out` from `offset` (relative); throws lmc::Error on I/O errors or reads past the region.
  void read_at(uint64_t offset, std::span<uint8_t> out) const;
  std::string read_all() const;
  ReadAt as_read_at() const;

 private:
  FileRegion region_;
  int fd_ = -1;
};

// The size of a regular file; throws lmc::Error naming the path if it cannot be read.
uint64_t regular_file_size(const std::filesystem::path& path);

}  // namespace lmc::data
