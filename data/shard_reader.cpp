// Shard reading over the h5 helpers; offsets are loaded once at open, so a chunk or window read is one or
// two hyperslab reads.
#include "data/shard_reader.h"

#include <algorithm>

#include "common/error.h"
#include "data/audio_string.h"
#include "data/h5.h"
#include "data/shuffle.h"

namespace lmc::data {

struct ShardReader::State {
  std::filesystem::path path;
  ShardInfo info;
  h5::Id file, bytes, tokens, doc_names, lsb_bits;
  std::vector<int64_t> chunk_offsets, token_offsets, doc_offsets;

  std::vector<int64_t> read_offsets(const std::string& name, int64_t expected_rows) {
    h5::Id dataset = h5::open_dataset(file.get(), name);
    auto rows = static_cast<int64_t>(h5::dataset_rows(dataset.get()));
    if (rows != expected_rows) {
      throw Error("/" + name + " has " + std::to_string(rows) + " rows, expected " + std::to_string(expected_rows));
    }
    std::vector<int64_t> values(static_cast<size_t>(rows));
    h5::read_rows(dataset.get(), h5::Type::I64, 0, static_cast<hsize_t>(rows), values.data());
    return values;
  }

  void check_chunk(int64_t chunk) const {
    if (chunk < 0 || chunk >= info.chunks) {
      throw Error(path.string() + ": chunk " + std::to_string(chunk) + " out of range (" +
                  std::to_string(info.chunks) + " chunks)");
    }
  }
};

ShardReader::ShardReader(const std::filesystem::path& path) : state_(std::make_unique<State>()) {
  auto lock = h5::h5_lock();
  State& s = *state_;
  s.path = path;
  with_context("reading shard " + path.string(), [&] {
    s.file = h5::open_file(path);
    hid_t root = s.file.get();
    if (!h5::has_attribute(root, "format") || h5::read_string_attribute(root, "format") != "lmc-shard") {
      throw Error("not an lmc shard (no format=\"lmc-shard\" attribute); create shards with `lmc prepare`");
    }
    s.info.split = h5::read_string_attribute(root, "split");
    s.info.modality = h5::read_string_attribute(root, "modality");
    s.info.tokenizer_kind = h5::read_string_attribute(root, "tokenizer_kind");
    s.info.tokenizer_fingerprint = h5::read_uint_attribute(root, "tokenizer_fingerprint");
    s.info.chunk_bytes = h5::read_int_attribute(root, "chunk_bytes");
    s.info.documents = h5::read_int_attribute(root, "n_documents");
    s.info.chunks = h5::read_int_attribute(root, "n_chunks");
    s.info.bytes = h5::read_int_attribute(root, "n_bytes");
    s.info.tokens = h5::read_int_attribute(root, "n_tokens");
    s.bytes = h5::open_dataset(root, "bytes");
    s.tokens = h5::open_dataset(root, "tokens");
    s.doc_names = h5::open_dataset(root, "doc_names");
    if (s.info.modality == "audio") s.lsb_bits = h5::open_dataset(root, "lsb_bits");
    s.chunk_offsets = s.read_offsets("chunk_offsets", s.info.chunks + 1);
    s.token_offsets = s.read_offsets("token_offsets", s.info.chunks + 1);
    s.doc_offsets = s.read_offsets("doc_offsets", s.info.documents + 1);
    if (s.chunk_offsets.back() != s.info.bytes || s.token_offsets.back() != s.info.tokens) {
      throw Error("offsets disagree with the n_bytes/n_tokens attributes (damaged file?)");
    }
  });
}

ShardReader::~ShardReader() {
  auto lock = h5::h5_lock();
  state_.reset();
}

ShardReader::ShardReader(ShardReader&&) noexcept = default;
ShardReader& ShardReader::operator=(ShardReader&&) noexcept = default;

const ShardInfo& ShardReader::info() const { return state_->info; }

int64_t ShardReader::chunk_size(int64_t chunk) const {
  const State& s = *state_;
  s.check_chunk(chunk);
  return s.chunk_offsets[static_cast<size_t>(chunk) + 1] - s.chunk_offsets[static_cast<size_t>(chunk)];
}

std::string ShardReader::chunk_bytes(int64_t chunk) const {
  const State& s = *state_;
  s.check_chunk(chunk);
  auto begin = s.chunk_offsets[static_cast<size_t>(chunk)];
  auto end = s.chunk_offsets[static_cast<size_t>(chunk) + 1];
  std::string out(static_cast<size_t>(end - begin), '\0');
  auto lock = h5::h5_lock();
  h5::read_rows(s.bytes.get(), h5::Type::U8, static_cast<hsize_t>(begin), out.size(), out.data());
  return out;
}

std::vector<TokenId> ShardReader::chunk_tokens(int64_t chunk) const {
  const State& s = *state_;
  s.check_chunk(chunk);
  auto begin = s.token_offsets[static_cast<size_t>(chunk)];
  return tokens(begin, s.token_offsets[static_cast<size_t>(chunk) + 1] - begin);
}

std::vector<uint8_t> ShardReader::chunk_lsb_bits(int64_t chunk) const {
  const State& s = *state_;
  s.check_chunk(chunk);
  if (s.info.modality != "audio") throw Error(s.path.string() + ": low bits exist only in audio shards");
  auto begin = static_cast<uint64_t>(s.chunk_offsets[static_cast<size_t>(chunk)]);
  auto end = static_cast<uint64_t>(s.chunk_offsets[static_cast<size_t>(chunk) + 1]);
  uint64_t first_byte = begin / 8;
  uint64_t last_byte = (end + 7) / 8;
  std::vector<uint8_t> packed(last_byte - first_byte);
  auto lock = h5::h5_lock();
  h5::read_rows(s.lsb_bits.get(), h5::Type::U8, first_byte, packed.size(), packed.data());
  std::vector<uint8_t> bits = unpack_bits(packed, packed.size() * 8);
  auto skip = static_cast<std::ptrdiff_t>(begin - first_byte * 8);
  return std::vector<uint8_t>(bits.begin() + skip, bits.begin() + skip + static_cast<std::ptrdiff_t>(end - begin));
}

int64_t ShardReader::chunk_document(int64_t chunk) const {
  const State& s = *state_;
  s.check_chunk(chunk);
  int64_t byte = s.chunk_offsets[static_cast<size_t>(chunk)];
  // The last document starting at or before the chunk's first byte: empty documents before it share its
  // start offset, and upper_bound steps past all of them.
  auto it = std::upper_bound(s.doc_offsets.begin(), s.doc_offsets.end(), byte);
  return static_cast<int64_t>(it - s.doc_offsets.begin()) - 1;
}

std::string ShardReader::document_name(int64_t document) const {
  const State& s = *state_;
  if (document < 0 || document >= s.info.documents) {
    throw Error(s.path.string() + ": document " + std::to_string(document) + " out of range (" +
                std::to_string(s.info.documents) + " documents)");
  }
  auto lock = h5::h5_lock();
  return h5::read_string(s.doc_names.get(), static_cast<hsize_t>(document));
}

std::vector<TokenId> ShardReader::tokens(int64_t begin, int64_t count) const {
  const State& s = *state_;
  if (begin < 0 || count < 0 || begin + count > s.info.tokens) {
    throw Error(s.path.string() + ": tokens [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") out of range (" + std::to_string(s.info.tokens) + " tokens)");
  }
  std::vector<TokenId> out(static_cast<size_t>(count));
  auto lock = h5::h5_lock();
  h5::read_rows(s.tokens.get(), h5::Type::I32, static_cast<hsize_t>(begin), out.size(), out.data());
  return out;
}

int64_t ShardReader::num_windows(int64_t length) const {
  if (length <= 0) throw Error("window length must be positive, got " + std::to_string(length));
  return state_->info.tokens / length;
}

std::vector<TokenId> ShardReader::window(int64_t index, int64_t length) const {
  if (index < 0 || index >= num_windows(length)) {
    throw Error(state_->path.string() + ": window " + std::to_string(index) + " of length " +
                std::to_string(length) + " out of range (" + std::to_string(num_windows(length)) + " windows)");
  }
  return tokens(index * length, length);
}

std::vector<int64_t> epoch_order(int64_t n, std::optional<uint64_t> seed, uint64_t epoch, int rank,
                                 int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw Error("bad rank " + std::to_string(rank) + " of world size " + std::to_string(world_size));
  }
  std::vector<int64_t> all;
  if (seed) {
    all = shuffled_indices(n, mix_seed(*seed, epoch));
  } else {
    all.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  }
  int64_t per_rank = n / world_size;
  std::vector<int64_t> mine(static_cast<size_t>(per_rank));
  for (int64_t i = 0; i < per_rank; ++i) {
    mine[static_cast<size_t>(i)] = all[static_cast<size_t>(i * world_size + rank)];
  }
  return mine;
}

}  // namespace lmc::data
