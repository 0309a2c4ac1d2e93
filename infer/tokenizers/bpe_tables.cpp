#include "infer/tokenizers/bpe_tables.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace lmc {

uint64_t hash_bytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

namespace {

uint64_t head_of(std::string_view bytes) {
  uint64_t head = 0;
  std::memcpy(&head, bytes.data(), std::min<size_t>(bytes.size(), 8));
  return head;
}

uint32_t tag_of(std::string_view bytes, uint64_t hash) {
  const auto length = static_cast<uint32_t>(std::min<size_t>(bytes.size(), 255));
  return static_cast<uint32_t>(hash >> 40) | (length << 24);
}

}  // namespace

TokenId TokenIndex::insert(std::string_view bytes, TokenId id) {
  const uint64_t hash = hash_bytes(bytes);
  const TokenId existing = find(bytes, hash);
  if (existing >= 0) return existing;
  if (static_cast<size_t>(id) >= offsets_.size()) {
    offsets_.resize(id + 1, 0);
    lengths_.resize(id + 1, 0);
    hashes_.resize(id + 1, 0);
  }
  offsets_[id] = static_cast<uint32_t>(arena_.size());
  lengths_[id] = static_cast<uint32_t>(bytes.size());
  hashes_[id] = hash;
  arena_.append(bytes);
  place(id < kHotIds ? hot_ : cold_, {head_of(bytes), tag_of(bytes, hash), id});
  return -1;
}

TokenId TokenIndex::find(std::string_view bytes, uint64_t hash) const {
  const uint64_t head = head_of(bytes);
  const uint32_t tag = tag_of(bytes, hash);
  const TokenId hot = find_in(hot_, bytes, head, tag, hash);
  return hot >= 0 ? hot : find_in(cold_, bytes, head, tag, hash);
}

TokenId TokenIndex::find_in(const Table& table, std::string_view bytes, uint64_t head, uint32_t tag,
                            uint64_t hash) const {
  if (table.slots.empty()) return -1;
  const size_t mask = table.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = table.slots[i];
    if (slot.id < 0) return -1;
    if (slot.tag != tag || slot.head != head) continue;
    if (bytes.size() <= 8) return slot.id;
    if (lengths_[slot.id] == bytes.size() &&
        std::memcmp(arena_.data() + offsets_[slot.id], bytes.data(), bytes.size()) == 0) {
      return slot.id;
    }
  }
}

void TokenIndex::place(Table& table, const Slot& slot) {
  if ((table.size + 1) * 2 > table.slots.size()) {
    std::vector<Slot> old = std::move(table.slots);
    table.slots.assign(std::max<size_t>(16, old.size() * 2), Slot{});
    table.size = 0;
    for (const Slot& moved : old) {
      if (moved.id >= 0) place(table, moved);
    }
  }
  const size_t mask = table.slots.size() - 1;
  size_t i = hashes_[slot.id] & mask;
  while (table.slots[i].id >= 0) i = (i + 1) & mask;
  table.slots[i] = slot;
  ++table.size;
}

void PairTable::insert(TokenId left, TokenId right, Merge merge) {
  if (find(left, right)) return;
  // Up to 60% full: Llama 3's 280k pairs fit 2^19 slots (8 MiB), the table is read on every merge step.
  if ((size_ + 1) * 5 > slots_.size() * 3) grow();
  const uint64_t key = pack(left, right);
  size_t i = slot_of(key);
  while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
  slots_[i] = {key, merge};
  ++size_;
}

void PairTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t capacity = std::max<size_t>(16, old.size() * 2);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  shift_ = 64 - __builtin_ctzll(capacity);
  for (const Slot& slot : old) {
    if (slot.key == kEmpty) continue;
    size_t i = slot_of(slot.key);
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

PieceCache::PieceCache() : slots_(kMaxEntries * 2) {}

bool PieceCache::lookup(std::string_view piece, uint64_t hash, std::vector<TokenId>& out) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.key_length == 0) return false;
    if (slot.hash == hash && slot.key_length == piece.size() &&
        std::memcmp(keys_.data() + slot.key_offset, piece.data(), piece.size()) == 0) {
      out.insert(out.end(), ids_.begin() + slot.ids_offset, ids_.begin() + slot.ids_offset + slot.ids_count);
      return true;
    }
  }
}

void PieceCache::insert(std::string_view piece, uint64_t hash, const TokenId* ids, size_t count) {
  if (piece.empty() || piece.size() > kMaxPieceBytes) return;
  if (size_ >= kMaxEntries) clear();
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].key_length != 0) i = (i + 1) & mask;
  slots_[i] = {hash, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(piece.size()),
               static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(count)};
  keys_.append(piece);
  ids_.insert(ids_.end(), ids, ids + count);
  ++size_;
}

void PieceCache::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  keys_.clear();
  ids_.clear();
  size_ = 0;
}

}  // namespace lmc
