// The tokenizer contract every part of lmc codes against. A tokenizer here must be lossless on any byte
// string (decode(encode(x)) == x, including invalid UTF-8): the codec depends on it. No LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmc {

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `bytes`, with no BOS/EOS added.
  virtual std::vector<TokenId> encode(std::string_view bytes) const = 0;
  // Exact inverse of encode for any id sequence encode can produce; special ids decode to "".
  virtual std::string decode(const std::vector<TokenId>& ids) const = 0;
  // The bytes one id stands for (for --pieces output and bits-per-byte accounting).
  virtual std::string piece(TokenId id) const = 0;

  // Size of the id space, specials included (ids are in [0, vocab_size())).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<TokenId> bos_id() const = 0;
  virtual std::optional<TokenId> eos_id() const = 0;

  // A short stable string naming the kind ("llama3-bpe", "sentencepiece", "bytes", ...).
  virtual std::string kind() const = 0;
  // 64-bit hash of everything that determines the id mapping (vocab, merges, specials, options):
  // two tokenizers with equal fingerprints encode every input identically. Recorded in archives.
  virtual uint64_t fingerprint() const = 0;
};

}  // namespace lmc
