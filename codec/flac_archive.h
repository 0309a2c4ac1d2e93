// The flac archive (container.h, mode kFlac): a PCM WAV as flac -8's stream of its samples, between the
// WAV's own bytes before and after them. lmc keeps a WAV this way when flac shrinks it more than the
// model and xz do (codec.h, compress_smallest); it decodes without any model.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "codec/container.h"

namespace lmc {

// The flac archive of `wav`, or nullopt when flac cannot code it (not 8-, 16- or 24-bit PCM, no
// samples, more channels than FLAC has, or a sample rate outside FLAC's subset).
std::optional<std::string> flac_archive(std::string_view wav);

// The rest of a flac archive whose header `reader` has read: writes the WAV to `out` and checks the
// length and checksum the archive records. Returns the bytes written. Throws lmc::Error on a corrupt
// archive.
uint64_t decode_flac_archive(ArchiveReader& reader, std::ostream& out);

}  // namespace lmc
