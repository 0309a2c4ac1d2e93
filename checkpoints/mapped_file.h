// A whole file mapped into memory, private and copy-on-write: pages are read from disk only when first
// touched, and writing to one makes a private copy of that page without ever changing the file. Owned
// through shared_ptr so that every tensor viewing the mapping keeps it alive.
// Deliberately not a general file API: no growing, no syncing back, no partial mappings. A file that
// another process truncates while mapped makes later reads of the lost pages fault (SIGBUS); nothing
// here can prevent that, which is why writers in lmc replace files by rename instead of rewriting them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace lmc {

class MappedFile {
 public:
  // Maps `path` read/write-private. Throws lmc::Error naming the file when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Writable because the mapping is private: writes land in copied pages, never in the file.
  std::byte* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  // Hands the pages overlapping [offset, offset + bytes) back to the kernel (MADV_DONTNEED), so a pass
  // that reads a large file once (an export) keeps only what it is working on resident. Later reads
  // of those pages fetch the file's bytes again: private writes made to them are lost, so only callers
  // that never write to the mapping may release.
  void release(std::uint64_t offset, std::uint64_t bytes) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, std::byte* data, std::uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::filesystem::path path_;
  std::byte* data_;     // nullptr for an empty file (mmap cannot map zero bytes)
  std::uint64_t size_;
};

}  // namespace lmc
