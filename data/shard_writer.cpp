// Streaming shard writer. Every dataset has an in-memory tail that is appended to the file once the tails
// together pass kFlushBytes; offsets are running totals, so a flush needs no look-back.
#include "data/shard_writer.h"

#include <algorithm>
#include <array>
#include <thread>

#include "common/error.h"
#include "data/h5.h"

#ifndef LMC_VERSION
#error "LMC_VERSION must be defined by the build"
#endif

namespace lmc::data {
namespace {

constexpr size_t kFlushBytes = 1 << 20;
constexpr hsize_t kByteChunkRows = 1 << 18;    // HDF5 chunks of 256 KiB
constexpr hsize_t kTokenChunkRows = 1 << 16;   // 256 KiB of int32
constexpr hsize_t kOffsetChunkRows = 1 << 14;  // 128 KiB of int64
constexpr hsize_t kNameChunkRows = 1 << 10;
constexpr int64_t kFormatVersion = 1;

}  // namespace

struct ShardWriter::State {
  std::filesystem::path path;
  ShardHeader header;
  const Tokenizer& tokenizer;
  h5::Id file;
  // More workers than a few datasets' in-flight chunks would only idle.
  ChunkCompressor compressor{std::clamp(std::thread::hardware_concurrency(), 1u, 8u)};
  h5::AppendDataset bytes, tokens, chunk_offsets, token_offsets, doc_offsets, doc_starts, doc_names;
  std::optional<h5::AppendDataset> lsb_bits, audio_params;

  std::vector<uint8_t> bytes_tail, lsb_tail;
  std::vector<int32_t> tokens_tail, audio_params_tail;
  std::vector<int64_t> chunk_offsets_tail, token_offsets_tail, doc_offsets_tail, doc_starts_tail;
  std::vector<std::string> names_tail;
  uint8_t lsb_partial = 0;  // bits of the byte being packed, first bit most significant
  unsigned lsb_partial_bits = 0;

  std::string chunk;  // bytes of the chunk being filled
  bool in_document = false;
  ShardStats stats;
  std::optional<PcmFormat> common_format;
  bool formats_agree = true;

  State(const std::filesystem::path& p, const ShardHeader& h, const Tokenizer& t, h5::Id f)
      : path(p),
        header(h),
        tokenizer(t),
        file(std::move(f)),
        bytes(file.get(), "bytes", h5::Type::U8, kByteChunkRows, 1, &compressor),
        tokens(file.get(), "tokens", h5::Type::I32, kTokenChunkRows, 1, &compressor),
        chunk_offsets(file.get(), "chunk_offsets", h5::Type::I64, kOffsetChunkRows, 1, &compressor),
        token_offsets(file.get(), "token_offsets", h5::Type::I64, kOffsetChunkRows, 1, &compressor),
        doc_offsets(file.get(), "doc_offsets", h5::Type::I64, kOffsetChunkRows, 1, &compressor),
        doc_starts(file.get(), "doc_starts", h5::Type::I64, kOffsetChunkRows, 1, &compressor),
        doc_names(file.get(), "doc_names", h5::Type::String, kNameChunkRows) {
    if (header.modality == Modality::Audio) {
      lsb_bits.emplace(file.get(), "lsb_bits", h5::Type::U8, kByteChunkRows, 1, &compressor);
      audio_params.emplace(file.get(), "audio_params", h5::Type::I32, kOffsetChunkRows, 3, &compressor);
    }
    chunk_offsets_tail.push_back(0);
    token_offsets_tail.push_back(0);
    doc_offsets_tail.push_back(0);
  }

  size_t tail_bytes() const {
    return bytes_tail.size() + lsb_tail.size() + 4 * tokens_tail.size() +
           8 * (chunk_offsets_tail.size() + token_offsets_tail.size() + doc_offsets_tail.size());
  }

  template <typename T>
  static void drain(h5::AppendDataset& dataset, std::vector<T>& tail, hsize_t columns = 1) {
    dataset.append(tail.data(), tail.size() / columns);
    tail.clear();
  }

  void flush() {
    drain(bytes, bytes_tail);
    drain(tokens, tokens_tail);
    drain(chunk_offsets, chunk_offsets_tail);
    drain(token_offsets, token_offsets_tail);
    drain(doc_offsets, doc_offsets_tail);
    drain(doc_starts, doc_starts_tail);
    doc_names.append_strings(names_tail);
    names_tail.clear();
    if (lsb_bits) {
      drain(*lsb_bits, lsb_tail);
      drain(*audio_params, audio_params_tail, 3);
    }
  }

  void emit_chunk() {
    std::vector<TokenId> ids = tokenizer.encode(chunk);
    bytes_tail.insert(bytes_tail.end(), chunk.begin(), chunk.end());
    tokens_tail.insert(tokens_tail.end(), ids.begin(), ids.end());
    stats.bytes += chunk.size();
    stats.tokens += ids.size();
    stats.chunks += 1;
    chunk_offsets_tail.push_back(static_cast<int64_t>(stats.bytes));
    token_offsets_tail.push_back(static_cast<int64_t>(stats.tokens));
    chunk.clear();
    if (tail_bytes() >= kFlushBytes) flush();
  }

  void pack_lsb(std::span<const uint8_t> bits) {
    for (uint8_t bit : bits) {
      lsb_partial = static_cast<uint8_t>((lsb_partial << 1) | (bit & 1u));
      if (++lsb_partial_bits == 8) {
        lsb_tail.push_back(lsb_partial);
        lsb_partial = 0;
        lsb_partial_bits = 0;
      }
    }
  }

  void write_header_attributes() {
    hid_t root = file.get();
    h5::write_attribute(root, "format", std::string("lmc-shard"));
    h5::write_attribute(root, "format_version", kFormatVersion);
    h5::write_attribute(root, "lmc_version", std::string(LMC_VERSION));
    h5::write_attribute(root, "split", header.split);
    h5::write_attribute(root, "modality", modality_name(header.modality));
    h5::write_attribute(root, "chunk_bytes", static_cast<int64_t>(header.chunk_bytes));
    h5::write_attribute(root, "tokenizer_kind", tokenizer.kind());
    h5::write_attribute(root, "tokenizer_fingerprint", tokenizer.fingerprint());
    h5::write_attribute(root, "tokenizer_vocab_size", static_cast<int64_t>(tokenizer.vocab_size()));
    h5::write_attribute(root, "order", std::string(header.seed ? "shuffled" : "input"));
    if (header.seed) h5::write_attribute(root, "seed", *header.seed);
    if (header.modality == Modality::Audio) h5::write_attribute(root, "lsb_bit_order", std::string("msb-first"));
  }

  void write_count_attributes() {
    hid_t root = file.get();
    h5::write_attribute(root, "n_documents", static_cast<int64_t>(stats.documents));
    h5::write_attribute(root, "n_chunks", static_cast<int64_t>(stats.chunks));
    h5::write_attribute(root, "n_bytes", static_cast<int64_t>(stats.bytes));
    h5::write_attribute(root, "n_tokens", static_cast<int64_t>(stats.tokens));
    if (header.modality == Modality::Audio && common_format && formats_agree) {
      h5::write_attribute(root, "sample_rate", static_cast<int64_t>(common_format->sample_rate));
      h5::write_attribute(root, "channels", static_cast<int64_t>(common_format->channels));
      h5::write_attribute(root, "bits_per_sample", static_cast<int64_t>(common_format->bits_per_sample));
    }
  }
};

ShardWriter::ShardWriter(const std::filesystem::path& path, const ShardHeader& header, const Tokenizer& tokenizer) {
  if (header.chunk_bytes == 0) throw Error("chunk size must be at least 1 byte");
  auto lock = h5::h5_lock();
  with_context("writing " + path.string(), [&] {
    state_ = std::make_unique<State>(path, header, tokenizer, h5::create_file(path));
    state_->write_header_attributes();
  });
}

ShardWriter::~ShardWriter() {
  auto lock = h5::h5_lock();
  state_.reset();
}

void ShardWriter::begin_document(const std::string& name, uint64_t start, const PcmFormat& format) {
  State& s = *state_;
  if (s.in_document) throw Error("internal: begin_document inside a document");
  s.in_document = true;
  s.names_tail.push_back(name);
  s.doc_starts_tail.push_back(static_cast<int64_t>(start));
  if (s.header.modality == Modality::Audio) {
    s.audio_params_tail.insert(s.audio_params_tail.end(),
                               {static_cast<int32_t>(format.sample_rate), int32_t{format.channels},
                                int32_t{format.bits_per_sample}});
    if (!s.common_format) s.common_format = format;
    s.formats_agree = s.formats_agree && *s.common_format == format;
  }
}

void ShardWriter::append(std::span<const uint8_t> bytes, std::span<const uint8_t> lsb_bits) {
  State& s = *state_;
  if (!s.in_document) throw Error("internal: append outside a document");
  if ((s.header.modality == Modality::Audio) != (lsb_bits.size() == bytes.size()) && !bytes.empty()) {
    throw Error("internal: audio shards need one low bit per byte, text shards none");
  }
  auto lock = h5::h5_lock();
  with_context("writing " + s.path.string(), [&] {
    s.pack_lsb(lsb_bits);
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t take = std::min(bytes.size() - pos, static_cast<size_t>(s.header.chunk_bytes) - s.chunk.size());
      s.chunk.append(reinterpret_cast<const char*>(bytes.data() + pos), take);
      pos += take;
      if (s.chunk.size() == s.header.chunk_bytes) s.emit_chunk();  // greedy: only a document's last chunk is short
    }
  });
}

void ShardWriter::end_document() {
  State& s = *state_;
  if (!s.in_document) throw Error("internal: end_document outside a document");
  auto lock = h5::h5_lock();
  with_context("writing " + s.path.string(), [&] {
    if (!s.chunk.empty()) s.emit_chunk();
    s.doc_offsets_tail.push_back(static_cast<int64_t>(s.stats.bytes));
    s.stats.documents += 1;
    s.in_document = false;
  });
}

ShardStats ShardWriter::finish() {
  State& s = *state_;
  if (s.in_document) throw Error("internal: finish inside a document");
  auto lock = h5::h5_lock();
  return with_context("writing " + s.path.string(), [&] {
    if (s.lsb_partial_bits > 0) {
      s.lsb_tail.push_back(static_cast<uint8_t>(s.lsb_partial << (8 - s.lsb_partial_bits)));
      s.lsb_partial_bits = 0;
    }
    s.flush();
    for (h5::AppendDataset* d : {&s.bytes, &s.tokens, &s.chunk_offsets, &s.token_offsets, &s.doc_offsets,
                                 &s.doc_starts}) {
      d->finish();
    }
    if (s.lsb_bits) {
      s.lsb_bits->finish();
      s.audio_params->finish();
    }
    s.write_count_attributes();
    ShardStats stats = s.stats;
    h5::check(H5Fflush(s.file.get(), H5F_SCOPE_LOCAL), "flushing " + s.path.string());
    state_.reset();
    return stats;
  });
}

}  // namespace lmc::data
