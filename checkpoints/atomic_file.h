// A file that appears complete or not at all: data goes to `<path>.tmp-XXXXXX` in the same directory,
// and commit() syncs it to disk and renames it over `path`. Destroyed without commit() (an error, an
// exception unwinding), it removes the temporary, leaving whatever was at `path` before untouched.
// Deliberately minimal: positional writes only, no reading back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

namespace lmc {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Claims `bytes` of disk space now, so a full disk fails before hours of work rather than after.
  // A filesystem that cannot preallocate is not an error: the space is then claimed by the writes.
  void reserve(uint64_t bytes);
  void write_at(uint64_t offset, const void* data, size_t bytes);
  // fsync, close, rename over the final path, fsync the directory so the rename itself is durable.
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
};

// The whole of `bytes` as `path`, atomically.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// A directory that appears complete or not at all: `fill` writes into a hidden temporary sibling
// (".NAME.tmp-XXXXXX"), which is synced and renamed to `path`. An existing `path` is moved aside first
// (into ".NAME.old.tmp-XXXXXX") and deleted only once the new directory is in place; if anything fails,
// the temporary is removed and the original is put back, or, if that fails too, left where it was moved.
void write_directory_atomically(const std::filesystem::path& path,
                                const std::function<void(const std::filesystem::path&)>& fill);

// After a process died inside write_directory_atomically() on entries of `dir`: puts back any original
// that was moved aside while its replacement never landed, and removes the hidden leftovers.
void recover_directory_writes(const std::filesystem::path& dir);

}  // namespace lmc
