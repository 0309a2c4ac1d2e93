// The tar format is a sequence of 512-byte headers, each followed by its data padded to 512 bytes, ended by
// zero blocks. Sizes are octal text (or base-256 binary for members of 8 GiB and more).
#include "data/tar.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "common/error.h"
#include "data/file_region.h"

namespace lmc::data {
namespace {

constexpr uint64_t kBlock = 512;

std::string field(const uint8_t* header, size_t offset, size_t length) {
  const char* begin = reinterpret_cast<const char*>(header + offset);
  return std::string(begin, strnlen(begin, length));
}

uint64_t parse_number(const uint8_t* p, size_t length) {
  if (p[0] & 0x80) {  // GNU base-256
    uint64_t value = p[0] & 0x7Fu;
    for (size_t i = 1; i < length; ++i) value = (value << 8) | p[i];
    return value;
  }
  uint64_t value = 0;
  size_t i = 0;
  while (i < length && (p[i] == ' ' || p[i] == 0)) ++i;
  for (; i < length && p[i] >= '0' && p[i] <= '7'; ++i) value = value * 8 + (p[i] - '0');
  return value;
}

bool checksum_ok(const uint8_t* header) {
  uint64_t stored = parse_number(header + 148, 8);
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? uint8_t{' '} : header[i];
  return sum == stored;
}

// Pax extended header records: "<length> <key>=<value>\n".
// A pax "size" record overrides the next header's size field; kNoSize means none was given.
constexpr uint64_t kNoSize = UINT64_MAX;

void apply_pax(const std::string& records, std::optional<std::string>& path, uint64_t& size) {
  size_t pos = 0;
  while (pos < records.size()) {
    size_t space = records.find(' ', pos);
    if (space == std::string::npos) break;
    uint64_t length = std::stoull(records.substr(pos, space - pos));
    if (length == 0 || pos + length > records.size()) throw Error("malformed pax header record");
    std::string record = records.substr(space + 1, pos + length - space - 2);  // drop the trailing '\n'
    size_t eq = record.find('=');
    if (eq != std::string::npos) {
      std::string key = record.substr(0, eq);
      if (key == "path") path = record.substr(eq + 1);
      if (key == "size") size = std::stoull(record.substr(eq + 1));
    }
    pos += length;
  }
}

}  // namespace

std::vector<TarMember> list_tar_members(const std::filesystem::path& archive) {
  return with_context("reading tar archive " + archive.string(), [&] {
    uint64_t archive_size = regular_file_size(archive);
    RegionReader reader(FileRegion{archive, 0, archive_size});
    std::vector<TarMember> members;
    std::optional<std::string> next_path;
    uint64_t next_size = kNoSize;
    std::array<uint8_t, kBlock> header;
    uint64_t pos = 0;
    while (pos + kBlock <= archive_size) {
      reader.read_at(pos, header);
      if (std::all_of(header.begin(), header.end(), [](uint8_t b) { return b == 0; })) break;
      if (!checksum_ok(header.data())) {
        throw Error("bad header checksum at offset " + std::to_string(pos) + " (not a tar file, or corrupt)");
      }
      char type = static_cast<char>(header[156]);
      uint64_t header_size = parse_number(header.data() + 124, 12);
      bool is_meta = type == 'x' || type == 'L' || type == 'g';
      uint64_t size = is_meta || next_size == kNoSize ? header_size : next_size;
      uint64_t data = pos + kBlock;
      if (size > archive_size - data) {  // not data + size, which a forged size could wrap past the end
        throw Error("member at offset " + std::to_string(pos) + " claims " + std::to_string(size) +
                    " bytes but the archive ends first (truncated?)");
      }
      if (type == 'x' || type == 'L') {
        std::string payload(size, '\0');
        reader.read_at(data, std::span<uint8_t>(reinterpret_cast<uint8_t*>(payload.data()), size));
        if (type == 'x') {
          apply_pax(payload, next_path, next_size);
        } else {
          next_path = std::string(payload.c_str());
        }
      } else {
        if (type == '0' || type == '\0' || type == '7') {
          std::string name = next_path.value_or("");
          if (!next_path) {
            std::string prefix = field(header.data(), 345, 155);
            name = field(header.data(), 0, 100);
            if (!prefix.empty() && std::memcmp(header.data() + 257, "ustar", 5) == 0) name = prefix + "/" + name;
          }
          members.push_back(TarMember{name, data, size});
        }
        next_path.reset();
        next_size = kNoSize;
      }
      pos = data + (size + kBlock - 1) / kBlock * kBlock;
    }
    return members;
  });
}

}  // namespace lmc::data
