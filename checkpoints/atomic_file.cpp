#include "checkpoints/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

namespace {

std::string system_error(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

constexpr int kCreateAttempts = 100;

}  // namespace

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  // Not mkstemp: it creates mode 0600, whereas open(0666) lets the umask decide, as for any other file.
  std::random_device random;
  for (int attempt = 0; attempt < kCreateAttempts && fd_ < 0; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, ".tmp-%06x", random() & 0xffffff);
    temp_path_ = path_.string() + suffix;
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) throw Error(system_error("cannot create a temporary file for", path_));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::reserve(uint64_t bytes) {
  if (bytes == 0) return;
  if (::fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) == 0) return;
  if (errno == EOPNOTSUPP || errno == ENOSYS) return;
  throw Error(system_error("cannot reserve " + std::to_string(bytes) + " bytes for", path_));
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(system_error("cannot write", path_));
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw Error(system_error("cannot sync", path_));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temp_path_.c_str());
    throw Error(system_error("cannot close", path_));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const std::string message = system_error("cannot rename " + temp_path_.string() + " to", path_);
    ::unlink(temp_path_.c_str());
    throw Error(message);
  }
  const fs::path dir = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write_at(0, bytes.data(), bytes.size());
  file.commit();
}

}  // namespace lmc
