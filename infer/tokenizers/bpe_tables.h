// The hash tables byte-level BPE encodes with: bytes -> token id (TokenIndex), adjacent token pair ->
// merge (PairTable), and a bounded cache of pre-token -> ids (PieceCache). Open addressing over flat
// arrays, so lookups on the hot path touch one or two cache lines and never allocate. No deletion:
// the vocabulary is fixed once loaded, and the cache is cleared wholesale when full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "infer/tokenizers/tokenizer.h"

namespace lmc {

uint64_t hash_bytes(std::string_view bytes);

class TokenIndex {
 public:
  // Adds `bytes` -> id and returns -1; when `bytes` is already present, keeps it and returns its id.
  TokenId insert(std::string_view bytes, TokenId id);
  // The id of `bytes` (whose hash_bytes() is `hash`), or -1.
  TokenId find(std::string_view bytes, uint64_t hash) const;

  // BPE vocabularies number tokens in the order training merged them, roughly by falling frequency, so
  // ids below this sit in their own small table (256 KiB) that stays in cache; the rest (4 MiB for Llama
  // 3) is only probed for rarer pieces.
  static constexpr TokenId kHotIds = 8192;

 private:
  // Most tokens are at most 8 bytes: their slot alone decides a match, without a trip to the arena.
  struct Slot {
    uint64_t head = 0;  // the first (up to) 8 bytes, zero-padded
    uint32_t tag = 0;   // high hash bits, with min(length, 255) in the top byte
    TokenId id = -1;    // -1: empty slot
  };
  struct Table {
    std::vector<Slot> slots;
    size_t size = 0;
  };
  TokenId find_in(const Table& table, std::string_view bytes, uint64_t head, uint32_t tag, uint64_t hash) const;
  void place(Table& table, const Slot& slot);

  Table hot_;
  Table cold_;
  std::vector<uint64_t> hashes_;   // id -> hash, for rehashing
  std::vector<uint32_t> offsets_;  // id -> start in arena_ (ids absent from the index: unused)
  std::vector<uint32_t> lengths_;
  std::string arena_;
};

struct Merge {
  uint32_t priority;  // lower merges first
  TokenId result;
};

class PairTable {
 public:
  // Adds (left, right) -> merge unless the pair is already present (the first, highest priority, wins).
  void insert(TokenId left, TokenId right, Merge merge);
  // The merge of the pair, or nullptr.
  const Merge* find(TokenId left, TokenId right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{0, -1};
  };
  static uint64_t pack(TokenId left, TokenId right) {
    return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
  }
  size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Pre-token -> ids of its BPE encoding. Bounded: pieces longer than kMaxPieceBytes are not cached, and
// the whole cache is dropped once it holds kMaxEntries pieces: at most ~11 MiB whatever the input.
class PieceCache {
 public:
  static constexpr size_t kMaxPieceBytes = 128;
  static constexpr size_t kMaxEntries = size_t{1} << 16;

  PieceCache();
  // Appends the cached ids of `piece` to `out` and returns true; false when not cached.
  bool lookup(std::string_view piece, uint64_t hash, std::vector<TokenId>& out) const;
  void insert(std::string_view piece, uint64_t hash, const TokenId* ids, size_t count);

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_offset = 0;
    uint32_t key_length = 0;  // 0: empty slot (pieces are never empty)
    uint32_t ids_offset = 0;
    uint32_t ids_count = 0;
  };
  void clear();

  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<TokenId> ids_;
  size_t size_ = 0;
};

}  // namespace lmc
