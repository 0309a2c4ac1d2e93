// Lists the regular-file members of a tar archive (POSIX ustar, with pax 'x' path/size records and GNU 'L'
// long names, as `tar` and `git archive` write them), so each member can be read in place as a FileRegion.
// Directories, links, devices and pax global headers are skipped. Compressed archives (.tar.gz) are not read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lmc::data {

struct TarMember {
  std::string name;     // path inside the archive
  uint64_t offset = 0;  // first data byte within the archive file
  uint64_t size = 0;
};

// Throws lmc::Error naming the archive and the header offset on a bad checksum or a truncated member.
std::vector<TarMember> list_tar_members(const std::filesystem::path& archive);

}  // namespace lmc::data
