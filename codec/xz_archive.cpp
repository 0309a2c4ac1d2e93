#include "codec/xz_archive.h"

#include <istream>
#include <ostream>
#include <string>

#include "codec/xz_stream.h"
#include "common/error.h"

namespace lmc {

uint64_t write_xz_archive(std::istream& in, std::ostream& out) {
  XzEncoder encoder;
  ContentChecksum checksum;
  uint64_t size = 0;
  std::string block(size_t{1} << 20, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.bad()) throw Error("reading the input failed");
    const std::string_view read(block.data(), static_cast<size_t>(in.gcount()));
    encoder.update(read);
    checksum.update(read);
    size += read.size();
  }
  ArchiveHeader header;
  header.mode = ArchiveMode::kXz;
  header.original_size = size;
  ArchiveWriter writer(out, header);
  writer.write_parts({encoder.finish()});
  writer.finish(checksum.digest());
  return size;
}

uint64_t decode_xz_archive(ArchiveReader& reader, std::ostream& out) {
  const std::vector<uint8_t> stream = reader.read_parts()[0];
  const uint64_t expected = reader.header().original_size.value_or(0);
  ContentChecksum checksum;
  uint64_t size = 0;
  with_context("archive corrupt", [&] {
    xz_decode(stream, [&](std::string_view bytes) {
      if (bytes.size() > expected - size) {
        throw Error("the xz stream holds more than the " + std::to_string(expected) + " bytes the header says");
      }
      checksum.update(bytes);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      size += bytes.size();
    });
  });
  if (!out) throw Error("writing the output failed");
  reader.finish_stream_archive(size, checksum.digest());
  return size;
}

}  // namespace lmc
