#include "codec/baselines.h"

#include <FLAC/metadata.h>
#include <FLAC/stream_encoder.h>
#include <bzlib.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <vector>

#include "codec/xz_stream.h"
#include "common/error.h"
#include "data/wav.h"

namespace lmc {
namespace {

constexpr int kFlacSeekSeconds = 10;  // the flac tool's default -S 10s

uint64_t gzip_size(std::string_view in) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper (no name, mtime 0); memLevel 9 is GNU gzip's hash size.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("gzip: deflateInit2 failed");
  std::vector<unsigned char> out(deflateBound(&z, in.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&z, Z_FINISH);
  const uint64_t size = z.total_out;
  deflateEnd(&z);
  if (status != Z_STREAM_END) throw Error("gzip: deflate failed");
  return size;
}

uint64_t bzip2_size(std::string_view in) {
  // The worst case the bzip2 manual gives: 1% more plus 600 bytes.
  std::vector<char> out(in.size() + in.size() / 100 + 600);
  auto size = static_cast<unsigned int>(out.size());
  const int status = BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(in.data()),
                                              static_cast<unsigned int>(in.size()), 9, 0, 30);
  if (status != BZ_OK) throw Error("bzip2: compression failed (" + std::to_string(status) + ")");
  return size;
}

uint64_t zstd_size(std::string_view in) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!context) throw Error("zstd: out of memory");
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, 1);
  std::vector<char> out(ZSTD_compressBound(in.size()));
  const size_t size = ZSTD_compress2(context.get(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(size)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(size));
  return size;
}

// An in-memory FLAC file: the encoder writes, and seeks back at the end to fill in STREAMINFO and the
// seek table, as it does in a real file.
struct FlacBuffer {
  std::vector<uint8_t> bytes;
  size_t position = 0;

  static FLAC__StreamEncoderWriteStatus write(const FLAC__StreamEncoder*, const FLAC__byte buffer[], size_t n,
                                              uint32_t, uint32_t, void* self) {
    auto& b = *static_cast<FlacBuffer*>(self);
    if (b.position + n > b.bytes.size()) b.bytes.resize(b.position + n);
    std::copy(buffer, buffer + n, b.bytes.begin() + static_cast<std::ptrdiff_t>(b.position));
    b.position += n;
    return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
  }
  static FLAC__StreamEncoderSeekStatus seek(const FLAC__StreamEncoder*, FLAC__uint64 offset, void* self) {
    static_cast<FlacBuffer*>(self)->position = static_cast<size_t>(offset);
    return FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
  }
  static FLAC__StreamEncoderTellStatus tell(const FLAC__StreamEncoder*, FLAC__uint64* offset, void* self) {
    *offset = static_cast<FlacBuffer*>(self)->position;
    return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
  }
};

// Interleaved WAV samples as the signed integers FLAC codes (8-bit WAV is unsigned with a bias of 128).
std::vector<FLAC__int32> flac_samples(std::string_view pcm, uint32_t bytes_per_sample) {
  std::vector<FLAC__int32> samples(pcm.size() / bytes_per_sample);
  const auto* p = reinterpret_cast<const uint8_t*>(pcm.data());
  for (size_t i = 0; i < samples.size(); ++i, p += bytes_per_sample) {
    if (bytes_per_sample == 1) {
      samples[i] = FLAC__int32{p[0]} - 128;
      continue;
    }
    uint32_t value = 0;
    for (uint32_t b = 0; b < bytes_per_sample; ++b) value |= uint32_t{p[b]} << (8 * b);
    const uint32_t shift = 32 - 8 * bytes_per_sample;  // sign-extend from the sample's width
    samples[i] = static_cast<FLAC__int32>(value << shift) >> shift;
  }
  return samples;
}

uint64_t general_size(Baseline baseline, std::string_view bytes) {
  switch (baseline) {
    case Baseline::kGzip: return gzip_size(bytes);
    case Baseline::kBzip2: return bzip2_size(bytes);
    case Baseline::kXz: return xz_encode(bytes).size();
    case Baseline::kZstd: return zstd_size(bytes);
    case Baseline::kFlac: break;
  }
  throw Error("not a general-purpose compressor");
}

}  // namespace

std::vector<uint8_t> flac_encode(std::string_view pcm, const data::PcmFormat& format, FlacMetadata metadata_wanted) {
  const uint32_t bytes_per_sample = format.bits_per_sample / 8u;
  const std::vector<FLAC__int32> samples = flac_samples(pcm, bytes_per_sample);
  const uint64_t frames = samples.size() / format.channels;
  using Metadata = std::unique_ptr<FLAC__StreamMetadata, void (*)(FLAC__StreamMetadata*)>;
  Metadata comment(nullptr, FLAC__metadata_object_delete);
  Metadata seek_table(nullptr, FLAC__metadata_object_delete);
  std::vector<FLAC__StreamMetadata*> metadata;
  if (metadata_wanted == FlacMetadata::kAsTheTool) {
    comment.reset(FLAC__metadata_object_new(FLAC__METADATA_TYPE_VORBIS_COMMENT));
    seek_table.reset(FLAC__metadata_object_new(FLAC__METADATA_TYPE_SEEKTABLE));
    if (!comment || !seek_table ||
        !FLAC__metadata_object_seektable_template_append_spaced_points_by_samples(
            seek_table.get(), kFlacSeekSeconds * format.sample_rate, frames) ||
        !FLAC__metadata_object_seektable_template_sort(seek_table.get(), /*compact=*/true)) {
      throw Error("flac: cannot build the metadata");
    }
    metadata = {comment.get(), seek_table.get()};
  }
  std::unique_ptr<FLAC__StreamEncoder, void (*)(FLAC__StreamEncoder*)> encoder(FLAC__stream_encoder_new(),
                                                                             FLAC__stream_encoder_delete);
  FlacBuffer buffer;
  const bool configured = encoder && FLAC__stream_encoder_set_channels(encoder.get(), format.channels) &&
                          FLAC__stream_encoder_set_bits_per_sample(encoder.get(), format.bits_per_sample) &&
                          FLAC__stream_encoder_set_sample_rate(encoder.get(), format.sample_rate) &&
                          FLAC__stream_encoder_set_compression_level(encoder.get(), 8) &&
                          FLAC__stream_encoder_set_total_samples_estimate(encoder.get(), frames) &&
                          (metadata.empty() || FLAC__stream_encoder_set_metadata(encoder.get(), metadata.data(),
                                                                                 static_cast<uint32_t>(metadata.size())));
  if (!configured || FLAC__stream_encoder_init_stream(encoder.get(), FlacBuffer::write, FlacBuffer::seek,
                                                      FlacBuffer::tell, nullptr, &buffer) !=
                         FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
    throw Error("flac: the encoder refuses " + std::to_string(format.channels) + " channels of " +
                std::to_string(format.bits_per_sample) + "-bit samples at " + std::to_string(format.sample_rate) +
                " Hz");
  }
  const bool encoded = FLAC__stream_encoder_process_interleaved(encoder.get(), samples.data(),
                                                                static_cast<uint32_t>(frames));
  if (!FLAC__stream_encoder_finish(encoder.get()) || !encoded) throw Error("flac: encoding failed");
  return std::move(buffer.bytes);
}

std::optional<data::WavLayout> flac_input(std::string_view file) {
  try {
    auto layout = data::parse_wav({reinterpret_cast<const uint8_t*>(file.data()), file.size()});
    if (layout.data_size == 0) return std::nullopt;
    return layout;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string baseline_name(Baseline baseline) {
  switch (baseline) {
    case Baseline::kGzip: return "gzip -9";
    case Baseline::kBzip2: return "bzip2 -9";
    case Baseline::kXz: return "xz -9e";
    case Baseline::kZstd: return "zstd -19";
    case Baseline::kFlac: return "flac -8";
  }
  return "unknown";
}

std::optional<uint64_t> compressed_size(Baseline baseline, std::string_view file) {
  if (baseline != Baseline::kFlac) return general_size(baseline, file);
  auto layout = flac_input(file);
  if (!layout) return std::nullopt;
  return flac_encode(file.substr(layout->data_offset, layout->data_size), layout->format).size();
}

std::optional<uint64_t> chunked_size(Baseline baseline, std::string_view file, int64_t chunk_bytes) {
  if (chunk_bytes <= 0) throw Error("chunk size must be positive");
  std::optional<data::WavLayout> layout;
  std::string_view bytes = file;
  size_t step = static_cast<size_t>(chunk_bytes);
  if (baseline == Baseline::kFlac) {
    layout = flac_input(file);
    if (!layout) return std::nullopt;
    bytes = file.substr(layout->data_offset, layout->data_size);
    step = std::max<size_t>(1, step / layout->format.bytes_per_frame()) * layout->format.bytes_per_frame();
  }
  uint64_t total = 0;
  for (size_t begin = 0; begin < bytes.size(); begin += step) {
    std::string_view chunk = bytes.substr(begin, step);
    total += layout ? flac_encode(chunk, layout->format).size() : general_size(baseline, chunk);
  }
  return total;
}

}  // namespace lmc
