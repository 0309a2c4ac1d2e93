#include "codec/flac_archive.h"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "codec/baselines.h"
#include "common/error.h"
#include "data/flac.h"
#include "data/wav.h"

namespace lmc {
namespace {

enum Part : size_t { kWavHead = 0, kFlacStream = 1, kWavTail = 2 };

std::vector<uint8_t> as_bytes(std::string_view bytes) { return {bytes.begin(), bytes.end()}; }

void write_checked(std::ostream& out, ContentChecksum& checksum, std::span<const uint8_t> bytes) {
  const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  checksum.update(view);
  out.write(view.data(), static_cast<std::streamsize>(view.size()));
}

}  // namespace

std::optional<std::string> flac_archive(std::string_view wav) {
  const std::optional<data::WavLayout> layout = flac_input(wav);
  const uint16_t bits = layout ? layout->format.bits_per_sample : 0;
  if (bits != 8 && bits != 16 && bits != 24) return std::nullopt;  // xz and the model still weigh it
  const std::string_view pcm = wav.substr(layout->data_offset, layout->data_size);
  std::vector<uint8_t> stream;
  try {
    stream = flac_encode(pcm, layout->format, FlacMetadata::kNone);
  } catch (const Error&) {
    return std::nullopt;  // a format parse_wav reads and libFLAC refuses: a sample rate outside FLAC's subset
  }
  ArchiveHeader header;
  header.mode = ArchiveMode::kFlac;
  header.original_size = wav.size();
  std::ostringstream out;
  ArchiveWriter writer(out, header);
  writer.write_parts({as_bytes(wav.substr(0, layout->data_offset)), std::move(stream),
                      as_bytes(wav.substr(layout->data_offset + layout->data_size))});
  writer.finish(content_checksum(wav));
  return std::move(out).str();
}

uint64_t decode_flac_archive(ArchiveReader& reader, std::ostream& out) {
  const std::vector<std::vector<uint8_t>> parts = reader.read_parts();
  const uint64_t expected = reader.header().original_size.value_or(0);
  const auto& head = parts[kWavHead];
  const auto& stream = parts[kFlacStream];
  const auto& tail = parts[kWavTail];
  if (head.size() + tail.size() > expected) {
    throw Error("archive corrupt: the WAV's header and tail are longer than the " + std::to_string(expected) +
                " bytes the archive's header says");
  }
  const uint64_t pcm_expected = expected - head.size() - tail.size();
  ContentChecksum checksum;
  write_checked(out, checksum, head);
  uint64_t pcm_bytes = 0;
  with_context("archive corrupt", [&] {
    const data::ReadAt read_at = [&](uint64_t offset, std::span<uint8_t> into) {
      if (offset > stream.size() || into.size() > stream.size() - offset) throw Error("FLAC stream truncated");
      std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset), into.size(), into.begin());
    };
    data::decode_flac(read_at, stream.size(), [&](std::span<const uint8_t> pcm) {
      if (pcm.size() > pcm_expected - pcm_bytes) {
        throw Error("more samples than the archive's header leaves room for (" + std::to_string(pcm_expected) +
                    " bytes)");
      }
      write_checked(out, checksum, pcm);
      pcm_bytes += pcm.size();
    });
  });
  write_checked(out, checksum, tail);
  if (!out) throw Error("writing the output failed");
  const uint64_t bytes = head.size() + pcm_bytes + tail.size();
  reader.finish_stream_archive(bytes, checksum.digest());
  return bytes;
}

}  // namespace lmc
