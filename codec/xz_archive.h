// The xz archive (container.h, mode kXz): the whole input as the stream xz -9e writes. lmc keeps a file
// this way when xz shrinks it more than the model does (codec.h, compress_smallest); it decodes without
// any model.
#pragma once

#include <iosfwd>

#include "codec/container.h"

namespace lmc {

// Reads `in` to its end and writes its xz archive to `out`; returns the bytes read.
uint64_t write_xz_archive(std::istream& in, std::ostream& out);

// The rest of an xz archive whose header `reader` has read: decodes its stream into `out`, then checks
// the length and checksum the archive records. Returns the bytes written. Throws lmc::Error on a corrupt
// archive.
uint64_t decode_xz_archive(ArchiveReader& reader, std::ostream& out);

}  // namespace lmc
