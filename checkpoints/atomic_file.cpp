#include "checkpoints/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

namespace {

std::string system_error(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

constexpr int kCreateAttempts = 100;

std::string random_suffix(std::random_device& random) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".tmp-%06x", random() & 0xffffff);
  return suffix;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

fs::path parent_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// A new, empty, hidden directory beside `path`.
fs::path create_sibling_directory(const fs::path& path, const char* tag) {
  std::random_device random;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    std::string name = path.filename().string();
    name.insert(name.begin(), '.');
    const fs::path candidate = parent_of(path) / (name + tag + random_suffix(random));
    if (::mkdir(candidate.c_str(), 0777) == 0) return candidate;
    if (errno != EEXIST) break;
  }
  throw Error(system_error("cannot create a temporary directory for", path));
}

}  // namespace

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  // Not mkstemp: it creates mode 0600, whereas open(0666) lets the umask decide, as for any other file.
  std::random_device random;
  for (int attempt = 0; attempt < kCreateAttempts && fd_ < 0; ++attempt) {
    temp_path_ = path_.string() + random_suffix(random);
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
  sync_directory(parent_of(path_));
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write_at(0, bytes.data(), bytes.size());
  file.commit();
}

// The hidden names write_directory_atomically() gives a directory's replacement and its moved-aside
// original: ".NAME.tmp-XXXXXX" and ".NAME.old.tmp-XXXXXX/NAME".
constexpr const char* kAsideTag = ".old";

void write_directory_atomically(const fs::path& path, const std::function<void(const fs::path&)>& fill) {
  const fs::path target = path.has_filename() ? path : path.parent_path();  // "out/" names "out"
  const fs::path temp = create_sibling_directory(target, "");
  fs::path old;
  try {
    fill(temp);
    sync_directory(temp);
    // rename() cannot replace a non-empty directory: the old one steps aside until the new one is in.
    if (fs::exists(target)) {
      old = create_sibling_directory(target, kAsideTag);
      fs::rename(target, old / target.filename());
    }
    fs::rename(temp, target);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
    if (!old.empty()) {
      // The original is deleted only once it is back in place; otherwise it stays where it was moved.
      const fs::path aside = old / target.filename();
      if (!fs::exists(aside, ignored)) {
        fs::remove_all(old, ignored);
      } else if (!fs::exists(target, ignored)) {
        fs::rename(aside, target, ignored);
        if (!ignored) fs::remove(old, ignored);
      }
    }
    throw;
  }
  sync_directory(parent_of(target));
  if (!old.empty()) fs::remove_all(old);
}

void recover_directory_writes(const fs::path& dir) {
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.find(".tmp-") != std::string::npos) leftovers.push_back(entry.path());
  }
  for (const auto& leftover : leftovers) {
    const std::string name = leftover.filename().string();
    const size_t aside = name.rfind(std::string(kAsideTag) + ".tmp-");
    if (aside != std::string::npos) {
      // A crash between moving the original aside and renaming its replacement in: put it back.
      const std::string original = name.substr(1, aside - 1);
      if (!original.empty() && fs::exists(leftover / original) && !fs::exists(dir / original)) {
        fs::rename(leftover / original, dir / original);
      }
    }
    fs::remove_all(leftover);
  }
  sync_directory(dir);
}

}  // namespace lmc
