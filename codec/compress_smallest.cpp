// compress_smallest(): the model's archive or xz's, whichever is smaller, deciding as early as it can.
#include <chrono>
#include <optional>
#include <istream>
#include <ostream>
#include <sstream>

#include "codec/codec.h"
#include "codec/xz_archive.h"
#include "common/error.h"

namespace lmc {
namespace {

// Thrown from the progress callback to stop the model once its archive is already the larger.
struct ModelArchiveLarger {};

uint64_t written(std::ostringstream& out) { return static_cast<uint64_t>(out.tellp()); }

}  // namespace

CodecStats compress_smallest(const CodecModel& codec, std::istream& in, std::optional<uint64_t> size,
                             std::ostream& out, const CompressOptions& options, const CodecProgress& progress) {
  const auto start_time = std::chrono::steady_clock::now();
  const std::istream::pos_type start = in.tellg();
  if (start == std::istream::pos_type(-1)) throw Error("compress_smallest reads its input twice: it must be seekable");
  std::ostringstream xz_archive;
  const uint64_t input_bytes = write_xz_archive(in, xz_archive);
  const uint64_t xz_bytes = written(xz_archive);
  in.clear();
  in.seekg(start);
  if (!in) throw Error("rewinding the input failed");

  std::ostringstream model_archive;
  uint64_t model_bytes_in = 0;
  std::optional<CodecStats> model_stats;
  try {
    model_stats = compress(codec, in, size, model_archive, options, [&](uint64_t bytes_done) {
      model_bytes_in = bytes_done;
      if (written(model_archive) > xz_bytes) throw ModelArchiveLarger{};
      if (progress) progress(bytes_done);
    });
  } catch (const ModelArchiveLarger&) {
    // model_stats stays empty: xz's archive is the smaller one.
  }
  const bool model_smaller = model_stats && model_stats->bytes_out <= xz_bytes;
  CodecStats stats = model_smaller ? *model_stats : CodecStats{};
  if (!model_smaller) {
    stats.mode = ArchiveMode::kXz;
    stats.bytes_in = input_bytes;
    stats.bytes_out = xz_bytes;
    stats.model_bytes_in = model_bytes_in;
    stats.model_bytes_out = written(model_archive);
    if (progress) progress(input_bytes);
  }
  out << (model_smaller ? model_archive : xz_archive).view();
  if (!out) throw Error("writing the archive failed");
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return stats;
}

}  // namespace lmc
