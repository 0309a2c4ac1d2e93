// Reads one shard file written by `lmc prepare` (layout in docs/data-format.md) for training and evaluation:
// random access to chunks (bytes + token ids) and to fixed-length windows of the split's token stream
// (all chunks' tokens back to back), plus the order a rank visits items in an epoch. The chunk/token/document
// offsets are held in memory; bytes and tokens are read from the file on demand (HDF5 caches chunks).
// Calls are serialized on a process-wide lock (the system HDF5 is not thread-safe).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "infer/tokenizers/tokenizer.h"

namespace lmc::data {

struct ShardInfo {
  std::string split;     // "train", "val", "test"
  std::string modality;  // "text", "audio"
  std::string tokenizer_kind;
  uint64_t tokenizer_fingerprint = 0;
  int64_t chunk_bytes = 0;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t bytes = 0;
  int64_t tokens = 0;
};

class ShardReader {
 public:
  // Throws lmc::Error if the file is missing or is not an lmc shard.
  explicit ShardReader(const std::filesystem::path& path);
  ~ShardReader();
  ShardReader(ShardReader&&) noexcept;
  ShardReader& operator=(ShardReader&&) noexcept;

  const ShardInfo& info() const;

  std::string chunk_bytes(int64_t chunk) const;
  int64_t chunk_size(int64_t chunk) const;  // chunk_bytes(chunk).size(), from the offsets alone
  std::vector<TokenId> chunk_tokens(int64_t chunk) const;
  // Audio shards: the chunk's low bits, one 0/1 value per byte of chunk_bytes(chunk).
  std::vector<uint8_t> chunk_lsb_bits(int64_t chunk) const;
  // The document a chunk belongs to, and that document's name.
  int64_t chunk_document(int64_t chunk) const;
  std::string document_name(int64_t document) const;

  // Tokens [begin, begin + count) of the split's token stream.
  std::vector<TokenId> tokens(int64_t begin, int64_t count) const;
  // Windows of `length` tokens, non-overlapping: window w is tokens(w * length, length).
  int64_t num_windows(int64_t length) const;
  std::vector<TokenId> window(int64_t index, int64_t length) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The items (chunk or window indices) one rank visits in one epoch: 0..n-1, shuffled by mix(seed, epoch)
// or kept in order without a seed; then every world_size-th item starting at `rank`, all ranks cut to the
// same count (floor(n / world_size)) so they take the same number of steps. Ranks' shares are disjoint.
std::vector<int64_t> epoch_order(int64_t n, std::optional<uint64_t> seed, uint64_t epoch, int rank,
                                 int world_size);

}  // namespace lmc::data
