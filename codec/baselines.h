// The classical compressors lmc's sizes are compared with, run in memory through the libraries their
// command-line tools are built on, at exactly the tools' settings:
//   gzip -9 -n      deflate level 9, memLevel 9, gzip wrapper without name and with mtime 0 (the same
//                   bytes as GNU gzip -9 -n)
//   bzip2 -9        900k blocks, work factor 30
//   xz -9e          preset 9 | LZMA_PRESET_EXTREME, .xz container with CRC64, one thread
//   zstd -19        level 19 with the frame content size and XXH64 checksum the zstd tool writes
//   flac -8         PCM WAV only: compression level 8 (-l 12 -b 4096 -m -r 6 -A subdivide_tukey(3)), MD5,
//                   a vorbis comment and a seek point every 10 s as the flac tool writes, but no PADDING
//                   block (--no-padding): the tool's default 8 KiB of padding is room for tags, not audio
// Nothing here decompresses (data/flac.h decodes FLAC), and nothing depends on LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/pcm_format.h"
#include "data/wav.h"

namespace lmc {

enum class Baseline { kGzip, kBzip2, kXz, kZstd, kFlac };
inline constexpr std::array<Baseline, 5> kBaselines = {Baseline::kGzip, Baseline::kBzip2, Baseline::kXz,
                                                       Baseline::kZstd, Baseline::kFlac};

// The tool and option it stands for: "gzip -9", "bzip2 -9", "xz -9e", "zstd -19", "flac -8".
std::string baseline_name(Baseline baseline);

// Compressed size of a whole file. flac encodes the samples of a PCM WAV (8/16/24/32-bit) and returns
// nullopt for anything else. Throws lmc::Error if a library fails.
std::optional<uint64_t> compressed_size(Baseline baseline, std::string_view file);

// The WAV's layout, or nullopt if flac cannot take it (not PCM WAV, or no samples).
std::optional<data::WavLayout> flac_input(std::string_view file);

// A FLAC stream of interleaved PCM samples as laid out in a WAV's data chunk (8-bit unsigned, wider
// signed little-endian), at flac -8. kAsTheTool adds the metadata blocks the flac tool writes (a
// vorbis comment and a seek point every 10 s) and is what the sizes above measure; kNone adds none,
// so the stream has STREAMINFO and the comment block libFLAC always writes (its vendor string). Throws
// lmc::Error for a format libFLAC refuses (sample rates outside FLAC's subset, more than 8 channels).
enum class FlacMetadata { kAsTheTool, kNone };
std::vector<uint8_t> flac_encode(std::string_view pcm, const data::PcmFormat& format,
                                 FlacMetadata metadata = FlacMetadata::kAsTheTool);

// The file cut into consecutive chunks of `chunk_bytes` (the last one shorter), each compressed on its own
// and the sizes summed, as lmc codes chunks. For flac the chunks are of the WAV's samples (whole frames,
// at most chunk_bytes of them), each a complete FLAC stream.
std::optional<uint64_t> chunked_size(Baseline baseline, std::string_view file, int64_t chunk_bytes);

}  // namespace lmc
