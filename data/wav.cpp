// RIFF/WAVE chunk walk: find "fmt " (validate integer PCM) and "data" (where the samples are). Chunks are
// word-aligned (a pad byte follows an odd-sized chunk), which matters when skipping LIST/fact/cue chunks.
#include "data/wav.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "common/error.h"

namespace lmc::data {
namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::string codec_name(uint16_t tag) {
  switch (tag) {
    case 0x0002: return "Microsoft ADPCM";
    case 0x0003: return "IEEE float";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0055: return "MPEG layer 3";
    default: return "format tag 0x" + [tag] {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04x", tag);
      return std::string(buf);
    }();
  }
}

// KSDATAFORMAT_SUBTYPE_xxx GUIDs share this tail after their 2-byte format tag.
constexpr std::array<uint8_t, 14> kGuidTail = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                               0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

PcmFormat parse_fmt(const uint8_t* fmt, uint32_t size) {
  if (size < 16) throw Error("fmt chunk is " + std::to_string(size) + " bytes, expected at least 16");
  uint16_t tag = le16(fmt);
  PcmFormat format;
  format.channels = le16(fmt + 2);
  format.sample_rate = le32(fmt + 4);
  uint16_t block_align = le16(fmt + 12);
  format.bits_per_sample = le16(fmt + 14);
  if (tag == 0xFFFE) {
    if (size < 40) throw Error("WAVE_FORMAT_EXTENSIBLE fmt chunk is " + std::to_string(size) + " bytes, expected 40");
    uint16_t sub_tag = le16(fmt + 24);
    if (!std::equal(kGuidTail.begin(), kGuidTail.end(), fmt + 26)) {
      throw Error("WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID; only integer PCM is supported");
    }
    if (sub_tag != 1) {
      throw Error("WAVE_FORMAT_EXTENSIBLE with sub-format " + codec_name(sub_tag) +
                  "; only integer PCM is supported");
    }
  } else if (tag != 1) {
    throw Error("codec " + codec_name(tag) + " is not integer PCM; only integer PCM is supported");
  }
  if (format.channels == 0) throw Error("fmt chunk declares 0 channels");
  if (format.sample_rate == 0) throw Error("fmt chunk declares a sample rate of 0");
  if (format.bits_per_sample != 8 && format.bits_per_sample != 16 && format.bits_per_sample != 24 &&
      format.bits_per_sample != 32) {
    throw Error(std::to_string(format.bits_per_sample) + "-bit samples are not supported (8, 16, 24 or 32)");
  }
  if (block_align != format.bytes_per_frame()) {
    throw Error("fmt chunk block align " + std::to_string(block_align) + " does not match " +
                std::to_string(format.channels) + " channels of " + std::to_string(format.bits_per_sample) +
                "-bit samples");
  }
  return format;
}

WavLayout parse_chunks(const ReadAt& read_at, uint64_t file_size) {
  if (file_size < 12) throw Error("file of " + std::to_string(file_size) + " bytes is too short for a WAV header");
  std::array<uint8_t, 12> riff;
  read_at(0, riff);
  if (std::memcmp(riff.data(), "RIFF", 4) != 0 || std::memcmp(riff.data() + 8, "WAVE", 4) != 0) {
    if (std::memcmp(riff.data(), "RF64", 4) == 0 || std::memcmp(riff.data(), "RIFX", 4) == 0) {
      throw Error("RF64/RIFX WAV variants are not supported");
    }
    throw Error("not a RIFF/WAVE file");
  }
  std::optional<PcmFormat> format;
  uint64_t pos = 12;
  while (pos + 8 <= file_size) {
    std::array<uint8_t, 8> header;
    read_at(pos, header);
    uint32_t size = le32(header.data() + 4);
    uint64_t body = pos + 8;
    if (std::memcmp(header.data(), "fmt ", 4) == 0) {
      if (body + size > file_size) throw Error("fmt chunk runs past the end of the file");
      std::array<uint8_t, 40> fmt{};
      uint32_t take = std::min<uint32_t>(size, fmt.size());
      read_at(body, std::span<uint8_t>(fmt.data(), take));
      format = parse_fmt(fmt.data(), size);
    } else if (std::memcmp(header.data(), "data", 4) == 0) {
      if (!format) throw Error("data chunk before any fmt chunk");
      if (body + size > file_size) {
        throw Error("data chunk claims " + std::to_string(size) + " bytes but only " +
                    std::to_string(file_size - body) + " remain (truncated file?)");
      }
      if (size % format->bytes_per_frame() != 0) {
        throw Error("data chunk of " + std::to_string(size) + " bytes is not a whole number of " +
                    std::to_string(format->bytes_per_frame()) + "-byte frames");
      }
      return WavLayout{*format, body, size};
    }
    pos = body + size + (size & 1u);
  }
  throw Error(format ? "no data chunk" : "no fmt chunk");
}

}  // namespace

ReadAt memory_read_at(std::span<const uint8_t> bytes) {
  return [bytes](uint64_t offset, std::span<uint8_t> out) {
    if (offset > bytes.size() || out.size() > bytes.size() - offset) throw Error("read past the end of the WAV data");
    std::memcpy(out.data(), bytes.data() + offset, out.size());
  };
}

WavLayout parse_wav(std::span<const uint8_t> file) {
  return with_context("WAV", [&] { return parse_chunks(memory_read_at(file), file.size()); });
}

WavLayout parse_wav(const ReadAt& read_at, uint64_t file_size) {
  return with_context("WAV", [&] { return parse_chunks(read_at, file_size); });
}

bool looks_like_wav(std::string_view prefix) {
  return prefix.size() >= 12 && prefix.substr(0, 4) == "RIFF" && prefix.substr(8, 4) == "WAVE";
}

}  // namespace lmc::data
