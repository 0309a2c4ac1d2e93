#include "infer/tokenizers/byte_bpe.h"

#include <array>
#include <cstdio>
#include <mutex>

#include "common/error.h"
#include "infer/tokenizers/bpe_merge.h"
#include "infer/tokenizers/bpe_tables.h"
#include "infer/tokenizers/fingerprint.h"
#include "infer/tokenizers/piece_table.h"
#include "infer/tokenizers/regex_splitter.h"
#include "infer/tokenizers/utf8.h"

namespace lmc {
namespace {

// Bumped whenever the encoding rule in byte_bpe.h changes, so archives made under the old rule are refused.
constexpr uint64_t kRuleVersion = 1;

std::string hex_byte(int byte) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "0x%02X", byte);
  return buffer;
}

class ByteBpeTokenizer final : public Tokenizer {
 public:
  explicit ByteBpeTokenizer(ByteBpeModel model);

  std::vector<TokenId> encode(std::string_view bytes) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;
  std::string piece(TokenId id) const override { return std::string(pieces_[id]); }
  int32_t vocab_size() const override { return pieces_.size(); }
  std::optional<TokenId> bos_id() const override { return bos_; }
  std::optional<TokenId> eos_id() const override { return eos_; }
  std::string kind() const override { return kind_; }
  uint64_t fingerprint() const override { return fingerprint_; }

 private:
  void encode_piece(std::string_view piece, PieceCache* cache, BpeScratch& scratch,
                    std::vector<TokenId>& out) const;

  std::string kind_;
  PieceTable pieces_;  // what each id decodes to
  TokenIndex index_;   // mergeable tokens only: specials are never matched in text
  PairTable pairs_;
  std::array<TokenId, 256> byte_ids_{};
  bool whole_piece_first_;
  RegexSplitter splitter_;
  std::optional<TokenId> bos_;
  std::optional<TokenId> eos_;
  uint64_t fingerprint_ = 0;
  // Shared across calls; a call that finds it taken by another thread encodes without it.
  mutable std::mutex cache_mutex_;
  mutable PieceCache cache_;
};

ByteBpeTokenizer::ByteBpeTokenizer(ByteBpeModel model)
    : kind_(model.kind), whole_piece_first_(model.whole_piece_first), splitter_(model.pattern), bos_(model.bos),
      eos_(model.eos) {
  const size_t n = model.pieces.size();
  if (model.roles.size() != n) throw Error("byte-level BPE: pieces and roles differ in length");
  for (size_t id = 0; id < n; ++id) {
    pieces_.push(model.roles[id] == TokenRole::kSpecial ? std::string_view() : std::string_view(model.pieces[id]));
    if (model.roles[id] != TokenRole::kMergeable) continue;
    const TokenId twin = index_.insert(model.pieces[id], static_cast<TokenId>(id));
    if (twin >= 0) {
      throw Error("tokens " + std::to_string(twin) + " and " + std::to_string(id) + " stand for the same bytes");
    }
  }

  for (int byte = 0; byte < 256; ++byte) {
    const std::string single(1, static_cast<char>(byte));
    byte_ids_[byte] = index_.find(single, hash_bytes(single));
    if (byte_ids_[byte] < 0) throw Error("byte-level BPE vocabulary lacks the single-byte token " + hex_byte(byte));
  }

  const auto id_of = [&](std::string_view bytes) { return index_.find(bytes, hash_bytes(bytes)); };
  if (model.merge_by_rank) {
    for (size_t id = 0; id < n; ++id) {
      const std::string& token = model.pieces[id];
      if (model.roles[id] != TokenRole::kMergeable || token.size() < 2) continue;
      for (size_t cut = 1; cut < token.size(); ++cut) {
        const TokenId left = id_of(std::string_view(token).substr(0, cut));
        const TokenId right = id_of(std::string_view(token).substr(cut));
        if (left >= 0 && right >= 0) pairs_.insert(left, right, {static_cast<uint32_t>(id), static_cast<TokenId>(id)});
      }
    }
  } else {
    for (size_t i = 0; i < model.merges.size(); ++i) {
      const auto [left, right] = model.merges[i];
      const auto mergeable = [&](TokenId id) {
        return id >= 0 && static_cast<size_t>(id) < n && model.roles[id] == TokenRole::kMergeable;
      };
      if (!mergeable(left) || !mergeable(right)) {
        throw Error("merge " + std::to_string(i) + " names a token that is not in the BPE vocabulary");
      }
      const TokenId result = id_of(model.pieces[left] + model.pieces[right]);
      if (result < 0) {
        throw Error("merge " + std::to_string(i) + " makes a token that is not in the vocabulary");
      }
      pairs_.insert(left, right, {static_cast<uint32_t>(i), result});
    }
  }
  for (const auto& id : {bos_, eos_}) {
    if (id && (*id < 0 || static_cast<size_t>(*id) >= n)) {
      throw Error("BOS/EOS id " + std::to_string(*id) + " is outside the vocabulary [0, " + std::to_string(n) + ")");
    }
  }

  Fingerprinter f;
  f.add("lmc byte-level BPE").add(kRuleVersion).add(kind_).add(model.pattern);
  f.add(uint64_t{model.merge_by_rank}).add(uint64_t{whole_piece_first_}).add(bos_).add(eos_);
  for (size_t id = 0; id < n; ++id) f.add(static_cast<uint64_t>(model.roles[id])).add(model.pieces[id]);
  for (const auto& [left, right] : model.merges) f.add(static_cast<uint64_t>(left)).add(static_cast<uint64_t>(right));
  fingerprint_ = f.digest();
}

void ByteBpeTokenizer::encode_piece(std::string_view piece, PieceCache* cache, BpeScratch& scratch,
                                    std::vector<TokenId>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  const uint64_t hash = hash_bytes(piece);
  if (whole_piece_first_) {
    const TokenId whole = index_.find(piece, hash);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  if (cache && cache->lookup(piece, hash, out)) return;
  const size_t start = out.size();
  bpe_merge(piece, byte_ids_, pairs_, scratch, out);
  if (cache) cache->insert(piece, hash, out.data() + start, out.size() - start);
}

std::vector<TokenId> ByteBpeTokenizer::encode(std::string_view bytes) const {
  std::vector<TokenId> out;
  out.reserve(bytes.size() / 3 + 8);
  std::unique_lock lock(cache_mutex_, std::try_to_lock);
  PieceCache* cache = lock.owns_lock() ? &cache_ : nullptr;
  RegexSplitter::Matcher matcher(splitter_);
  BpeScratch scratch;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t run_end = utf8_valid_run_end(bytes, pos);
    if (run_end == pos) {
      out.push_back(byte_ids_[static_cast<uint8_t>(bytes[pos])]);
      ++pos;
      continue;
    }
    const std::string_view run = bytes.substr(pos, run_end - pos);
    splitter_.split(run, matcher, [&](size_t begin, size_t end) {
      encode_piece(run.substr(begin, end - begin), cache, scratch, out);
    });
    pos = run_end;
  }
  return out;
}

std::string ByteBpeTokenizer::decode(const std::vector<TokenId>& ids) const {
  size_t size = 0;
  for (TokenId id : ids) size += pieces_[id].size();
  std::string text;
  text.reserve(size);
  for (TokenId id : ids) text += pieces_[id];
  return text;
}

}  // namespace

std::unique_ptr<Tokenizer> make_byte_bpe_tokenizer(ByteBpeModel model) {
  return std::make_unique<ByteBpeTokenizer>(std::move(model));
}

}  // namespace lmc
