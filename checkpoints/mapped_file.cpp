#include "checkpoints/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace lmc {

namespace {

// Closes the descriptor on every path out of open(); the mapping does not need it once made.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("cannot stat " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path.string() + " is not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(path, nullptr, 0));
  // No madvise: default readahead suits both a load (one pass over each tensor) and inference (weights
  // stay cached). MADV_SEQUENTIAL would drop pages behind the first pass; MADV_WILLNEED would read the
  // whole file now, and opening must cost only the header.
  // MAP_PRIVATE needs only read access to the file, yet allows PROT_WRITE: tensors viewing the mapping
  // can be updated in place (a LoRA merge, say) while the checkpoint on disk stays untouched.
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) throw Error("cannot map " + path.string() + ": " + std::strerror(errno));
  return std::shared_ptr<const MappedFile>(new MappedFile(path, static_cast<std::byte*>(data), size));
}

void MappedFile::release(std::uint64_t offset, std::uint64_t bytes) const {
  if (!data_ || offset >= size_ || bytes == 0) return;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t begin = offset / page * page;
  const std::uint64_t end = std::min(size_, offset + bytes);
  // Advice only: a failure leaves the pages resident, which costs memory but never correctness.
  ::madvise(data_ + begin, end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

}  // namespace lmc
