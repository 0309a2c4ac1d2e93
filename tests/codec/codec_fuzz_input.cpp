// The stand-in model, seed archives and the per-input check of the codec fuzzers (see the header).
#include "codec_fuzz_input.h"

#include <algorithm>
#include <sstream>

#include "codec/xz_archive.h"
#include "common/error.h"

namespace lmc::testing {
namespace {

constexpr int kBitPeriod = 2;  // side blobs code one bit per original byte in frames of two

std::vector<uint8_t> low_bits(const std::string& text) {
  std::vector<uint8_t> bits;
  for (unsigned char c : text) bits.push_back(c & 1);
  return bits;
}

}  // namespace

StandInModel::StandInModel() : tables_(256) {
  std::vector<float> logits(256);
  for (int previous = 0; previous < 256; ++previous) {
    for (int next = 0; next < 256; ++next) {
      bool letter = (next >= 'a' && next <= 'z') || next == ' ';
      logits[next] = static_cast<float>((previous * 131 + next * 31) % 97) / 16.0f + (letter ? 4.0f : -3.0f);
    }
    tables_[previous].assign_logits(logits, kTotalBits);
  }
}

std::vector<uint8_t> encode_chunk(const StandInModel& model, const std::string& text) {
  RangeEncoder encoder;
  uint8_t previous = 0;
  for (unsigned char c : text) {
    encode_symbol(encoder, model.table(previous), c);
    previous = c;
  }
  return encoder.finish();
}

std::string decode_chunk(const StandInModel& model, std::span<const uint8_t> coded, uint64_t tokens, bool* clean) {
  RangeDecoder decoder(coded);
  std::string text;
  uint8_t previous = 0;
  for (uint64_t i = 0; i < tokens && !decoder.overrun(); ++i) {
    previous = static_cast<uint8_t>(decode_symbol(decoder, model.table(previous)));
    text.push_back(static_cast<char>(previous));
  }
  if (clean) *clean = text.size() == tokens && decoder.finished_cleanly();
  return text;
}

std::vector<uint8_t> make_seed_archive(const StandInModel& model, const std::vector<std::string>& chunks,
                                       const std::vector<bool>& stored) {
  Archive archive;
  std::string all;
  for (const std::string& chunk : chunks) {
    archive.header.chunk_bytes = std::max<uint64_t>(archive.header.chunk_bytes, chunk.size());
    all += chunk;
  }
  archive.header.original_size = all.size();
  archive.header.model_fingerprint = 0x0123456789abcdefULL;
  archive.header.dtype = ModelDtype::kBFloat16;
  archive.header.batch_size = 2;
  archive.header.total_bits = StandInModel::kTotalBits;
  for (size_t i = 0; i < chunks.size(); i += 2) {
    ChunkGroup group;
    std::string group_text;
    for (size_t j = i; j < std::min(chunks.size(), i + 2); ++j) {
      if (j < stored.size() && stored[j]) {
        group.add_chunk(chunks[j].size(), 0, std::vector<uint8_t>(chunks[j].begin(), chunks[j].end()));
      } else {
        group.add_chunk(chunks[j].size(), chunks[j].size(), encode_chunk(model, chunks[j]));
      }
      group_text += chunks[j];
    }
    group.side.push_back(encode_bits(low_bits(group_text), kBitPeriod));
    archive.groups.push_back(std::move(group));
  }
  archive.checksum = content_checksum(all);
  return serialize_archive(archive);
}

std::vector<uint8_t> make_seed_xz_archive(const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  write_xz_archive(in, out);
  const std::string bytes = std::move(out).str();
  return {bytes.begin(), bytes.end()};
}

bool fuzz_codec_input(const StandInModel& model, std::span<const uint8_t> bytes) {
  try {
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    ArchiveReader reader(in);
    if (reader.header().mode == ArchiveMode::kXz) {
      std::ostringstream out;
      decode_xz_archive(reader, out);
      return true;
    }
    Archive archive = parse_archive(bytes);
    bool clean = true;
    std::string all;
    for (const ChunkGroup& group : archive.groups) {
      std::vector<std::span<const uint8_t>> coded = group.coded_chunks();
      std::string group_text;
      for (size_t i = 0; i < coded.size(); ++i) {
        if (group.chunks[i].stored()) {
          group_text.append(coded[i].begin(), coded[i].end());
          continue;
        }
        bool chunk_clean = false;
        group_text += decode_chunk(model, coded[i], group.chunks[i].tokens, &chunk_clean);
        clean = clean && chunk_clean;
      }
      for (const auto& blob : group.side) {
        clean = clean && decode_bits(blob, group_text.size(), kBitPeriod) == low_bits(group_text);
      }
      all += group_text;
    }
    return clean && content_checksum(all) == archive.checksum;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace lmc::testing
