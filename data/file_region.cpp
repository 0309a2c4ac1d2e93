// pread-based region reads: no shared file position, so several readers of one file cannot interfere.
#include "data/file_region.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace lmc::data {

RegionReader::RegionReader(FileRegion region) : region_(std::move(region)) {
  fd_ = ::open(region_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot open " + region_.path.string() + ": " + std::strerror(errno));
}

RegionReader::~RegionReader() {
  if (fd_ >= 0) ::close(fd_);
}

void RegionReader::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (offset + out.size() > region_.size) {
    throw Error("reading " + region_.path.string() + ": bytes [" + std::to_string(offset) + ", " +
                std::to_string(offset + out.size()) + ") lie past the end (" + std::to_string(region_.size) +
                " bytes)");
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t got = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(region_.offset + offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error("reading " + region_.path.string() + ": " + std::strerror(errno));
    if (got == 0) throw Error("reading " + region_.path.string() + ": file ended early (was it truncated?)");
    done += static_cast<size_t>(got);
  }
}

std::string RegionReader::read_all() const {
  std::string bytes(region_.size, '\0');
  read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
  return bytes;
}

ReadAt RegionReader::as_read_at() const {
  return [this](uint64_t offset, std::span<uint8_t> out) { read_at(offset, out); };
}

uint64_t regular_file_size(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path.string() + " is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) {
    throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace lmc::data
