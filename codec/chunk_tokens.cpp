#include "codec/chunk_tokens.h"

#include "common/error.h"

namespace lmc {

ChunkTokenizer::ChunkTokenizer(const Tokenizer& tokenizer, ArchiveMode mode) : tokenizer_(tokenizer), mode_(mode) {
  if (mode_ != ArchiveMode::kBytes) return;
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    auto ids = tokenizer_.encode(byte);
    if (ids.size() != 1 || tokenizer_.decode(ids) != byte) {
      throw Error("bytes mode needs a single token for every byte value, and this " + tokenizer_.kind() +
                  " tokenizer has none for byte " + std::to_string(b) + " (use --mode text)");
    }
    byte_ids_[b] = ids.front();
    id_bytes_[ids.front()] = static_cast<unsigned char>(b);
  }
}

std::vector<TokenId> ChunkTokenizer::encode(std::string_view bytes) const {
  if (mode_ != ArchiveMode::kBytes) return tokenizer_.encode(bytes);
  std::vector<TokenId> ids;
  ids.reserve(bytes.size());
  for (unsigned char c : bytes) ids.push_back(byte_ids_[c]);
  return ids;
}

std::string ChunkTokenizer::decode(const std::vector<TokenId>& ids, uint64_t expected_bytes) const {
  std::string bytes;
  if (mode_ == ArchiveMode::kBytes) {
    bytes.reserve(ids.size());
    for (TokenId id : ids) {
      auto it = id_bytes_.find(id);
      if (it == id_bytes_.end()) throw Error("decoded token " + std::to_string(id) + " is not a byte token: corrupt archive");
      bytes.push_back(static_cast<char>(it->second));
    }
  } else {
    bytes = tokenizer_.decode(ids);
  }
  if (bytes.size() != expected_bytes) {
    throw Error("a chunk decoded to " + std::to_string(bytes.size()) + " bytes, the archive says " +
                std::to_string(expected_bytes) + ": corrupt archive or a different tokenizer");
  }
  return bytes;
}

}  // namespace lmc
