// compress_smallest(): the model's archive, xz's or (for a PCM WAV) flac's, whichever is smallest, deciding
// as early as it can.
#include <chrono>
#include <istream>
#include <optional>
#include <ostream>
#include <sstream>

#include "codec/codec.h"
#include "codec/flac_archive.h"
#include "codec/xz_archive.h"
#include "common/error.h"
#include "data/wav.h"

namespace lmc {
namespace {

// Thrown from the progress callback to stop the model once its archive is already the larger.
struct ModelArchiveLarger {};

uint64_t written(std::ostringstream& out) { return static_cast<uint64_t>(out.tellp()); }

void rewind(std::istream& in, std::istream::pos_type start) {
  in.clear();
  in.seekg(start);
  if (!in) throw Error("rewinding the input failed");
}

struct StreamArchive {
  std::string bytes;
  ArchiveMode mode = ArchiveMode::kXz;
  uint64_t input_bytes = 0;
};

// The smaller of the input's xz archive and, for a PCM WAV flac takes, its flac archive.
StreamArchive smallest_stream_archive(std::istream& in, std::istream::pos_type start) {
  std::ostringstream xz;
  StreamArchive smallest;
  smallest.input_bytes = write_xz_archive(in, xz);
  smallest.bytes = std::move(xz).str();
  rewind(in, start);
  std::string prefix(12, '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<size_t>(in.gcount()));
  rewind(in, start);
  if (!data::looks_like_wav(prefix)) return smallest;
  std::ostringstream whole;
  whole << in.rdbuf();
  rewind(in, start);
  if (auto flac = flac_archive(whole.view()); flac && flac->size() < smallest.bytes.size()) {
    smallest.mode = ArchiveMode::kFlac;
    smallest.bytes = std::move(*flac);
  }
  return smallest;
}

}  // namespace

CodecStats compress_smallest(const CodecModel& codec, std::istream& in, std::optional<uint64_t> size,
                             std::ostream& out, const CompressOptions& options, const CodecProgress& progress) {
  const auto start_time = std::chrono::steady_clock::now();
  const std::istream::pos_type start = in.tellg();
  if (start == std::istream::pos_type(-1)) {
    throw Error("compress_smallest reads its input more than once: it must be seekable");
  }
  const StreamArchive streams = smallest_stream_archive(in, start);
  const uint64_t stream_bytes = streams.bytes.size();

  std::ostringstream model_archive;
  uint64_t model_bytes_in = 0;
  std::optional<CodecStats> model_stats;
  try {
    model_stats = compress(codec, in, size, model_archive, options, [&](uint64_t bytes_done) {
      model_bytes_in = bytes_done;
      if (written(model_archive) > stream_bytes) throw ModelArchiveLarger{};
      if (progress) progress(bytes_done);
    });
  } catch (const ModelArchiveLarger&) {
    // model_stats stays empty: the stream archive is the smaller one.
  }
  const bool model_smaller = model_stats && model_stats->bytes_out <= stream_bytes;
  CodecStats stats = model_smaller ? *model_stats : CodecStats{};
  if (!model_smaller) {
    stats.mode = streams.mode;
    stats.bytes_in = streams.input_bytes;
    stats.bytes_out = stream_bytes;
    stats.model_bytes_in = model_bytes_in;
    stats.model_bytes_out = written(model_archive);
    if (progress) progress(streams.input_bytes);
  }
  out << (model_smaller ? model_archive.view() : std::string_view(streams.bytes));
  if (!out) throw Error("writing the archive failed");
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return stats;
}

}  // namespace lmc
