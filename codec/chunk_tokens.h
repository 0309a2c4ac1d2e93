// How a chunk's bytes become the token ids the model codes, per archive mode: text and audio use the
// model's tokenizer; bytes mode codes one token per byte, using the model's own single-byte tokens (every
// lossless tokenizer lmc loads has one for each byte value), so no byte ever merges with its neighbours.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/container.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

class ChunkTokenizer {
 public:
  ChunkTokenizer(const Tokenizer& tokenizer, ArchiveMode mode);
  ArchiveMode mode() const { return mode_; }

  std::vector<TokenId> encode(std::string_view bytes) const;
  // Throws lmc::Error unless the ids decode to exactly `expected_bytes` bytes.
  std::string decode(const std::vector<TokenId>& ids, uint64_t expected_bytes) const;

 private:
  const Tokenizer& tokenizer_;
  ArchiveMode mode_;
  std::array<TokenId, 256> byte_ids_{};                // bytes mode: byte -> its single token
  std::unordered_map<TokenId, unsigned char> id_bytes_;  // bytes mode: inverse
};

}  // namespace lmc
