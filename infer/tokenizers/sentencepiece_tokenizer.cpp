#include "infer/tokenizers/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "infer/tokenizers/fingerprint.h"
#include "infer/tokenizers/piece_table.h"
#include "infer/tokenizers/sentencepiece_spec.h"

namespace lmc {
namespace {

// Bumped whenever the encoding rule in sentencepiece_tokenizer.h changes.
constexpr uint64_t kRuleVersion = 1;
constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
// Long inputs are encoded in segments of about this size (see sentencepiece_tokenizer.h).
constexpr size_t kSegmentBytes = 16 * 1024;

std::string replace_space_symbols(std::string_view piece) {
  std::string text;
  for (size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kSpaceSymbol.size()) == kSpaceSymbol) {
      text += ' ';
      i += kSpaceSymbol.size();
    } else {
      text += piece[i++];
    }
  }
  return text;
}

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::filesystem::path& path, const std::string& serialized);

  std::vector<TokenId> encode(std::string_view bytes) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;
  std::string piece(TokenId id) const override { return std::string(texts_[id]); }
  int32_t vocab_size() const override { return texts_.size(); }
  std::optional<TokenId> bos_id() const override { return bos_; }
  std::optional<TokenId> eos_id() const override { return eos_; }
  std::string kind() const override { return "sentencepiece"; }
  uint64_t fingerprint() const override { return fingerprint_; }

 private:
  // What `id` decodes to at this point of a sequence; `at_start` is true until the first non-control id.
  std::string_view decode_one(TokenId id, bool& at_start) const {
    std::string_view text = texts_[id];
    if (silent_[id]) return text;
    if (at_start && strips_dummy_prefix_ && !text.empty() && text[0] == ' ' && !byte_piece_[id]) {
      text.remove_prefix(1);
    }
    at_start = false;
    return text;
  }
  // Whether `ids` decode to exactly `bytes`, starting in the given state.
  bool decodes_to(const std::vector<int>& ids, std::string_view bytes, bool at_start) const;
  void encode_segment(std::string_view segment, bool first, bool& at_start, std::vector<TokenId>& out) const;
  void encode_by_spans(std::string_view bytes, bool& at_start, std::vector<TokenId>& out) const;
  // Where the segment starting at `begin` ends: before the first space preceded by a printable ASCII
  // character at least kSegmentBytes in, or at the end.
  size_t segment_end(std::string_view bytes, size_t begin) const;

  std::filesystem::path path_;
  sentencepiece::SentencePieceProcessor processor_;
  PieceTable texts_;                // what each id decodes to (no dummy-prefix stripping)
  std::vector<uint8_t> silent_;     // control or unknown: decodes to "" and does not end the start
  std::vector<uint8_t> byte_piece_;
  std::array<TokenId, 256> byte_ids_{};  // -1: the model has no piece for that byte
  bool strips_dummy_prefix_ = false;
  bool adds_dummy_prefix_ = false;
  bool segmentable_ = false;
  std::optional<TokenId> bos_;
  std::optional<TokenId> eos_;
  uint64_t fingerprint_ = 0;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& path, const std::string& serialized)
    : path_(path) {
  const auto status = processor_.LoadFromSerializedProto(serialized);
  if (!status.ok()) {
    throw Error("neither a tiktoken rank file nor a SentencePiece model (" + status.ToString() + ")");
  }
  const int n = processor_.GetPieceSize();
  byte_ids_.fill(-1);
  for (int id = 0; id < n; ++id) {
    const std::string piece = processor_.IdToPiece(id);
    const bool silent = processor_.IsControl(id) || processor_.IsUnknown(id);
    const bool is_byte = processor_.IsByte(id);
    silent_.push_back(silent);
    byte_piece_.push_back(is_byte);
    if (is_byte) {
      unsigned value = 0;
      if (std::sscanf(piece.c_str(), "<0x%02X>", &value) != 1 || value > 255) {
        throw Error("byte piece " + std::to_string(id) + " '" + piece + "' is not <0xNN>");
      }
      byte_ids_[value] = id;
      texts_.push(std::string(1, static_cast<char>(value)));
    } else {
      texts_.push(silent ? std::string() : replace_space_symbols(piece));
    }
  }

  // Whether the library's decoder drops the leading space of the first piece (its dummy-prefix rule).
  for (int id = 0; id < n; ++id) {
    if (silent_[id] || byte_piece_[id] || processor_.IdToPiece(id).rfind(kSpaceSymbol, 0) != 0) continue;
    std::string decoded;
    if (!processor_.Decode(std::vector<int>{id}, &decoded).ok()) throw Error("the model cannot decode its own pieces");
    strips_dummy_prefix_ = decoded.size() < texts_[id].size();
    break;
  }
  // Segmenting is exact only when SentencePiece maps text to its symbols character by character and no
  // piece can span the cut: BPE, identity normaliser, spaces kept and escaped, no piece with ▁ after
  // another character.
  const SentencePieceSpec spec = read_sentencepiece_spec(serialized);
  adds_dummy_prefix_ = spec.add_dummy_prefix;
  segmentable_ = spec.model_type == 2 && spec.precompiled_charsmap_bytes == 0 && !spec.remove_extra_whitespaces &&
                 spec.escape_whitespaces && !spec.treat_whitespace_as_suffix;
  for (int id = 0; id < n && segmentable_; ++id) {
    const std::string piece = processor_.IdToPiece(id);
    for (size_t at = piece.find(kSpaceSymbol, 1); at != std::string::npos; at = piece.find(kSpaceSymbol, at + 1)) {
      if (at < kSpaceSymbol.size() || piece.compare(at - kSpaceSymbol.size(), kSpaceSymbol.size(), kSpaceSymbol) != 0) {
        segmentable_ = false;
        break;
      }
    }
  }
  if (processor_.bos_id() >= 0) bos_ = processor_.bos_id();
  if (processor_.eos_id() >= 0) eos_ = processor_.eos_id();

  Fingerprinter f;
  f.add("lmc sentencepiece").add(kRuleVersion).add(serialized).add(bos_).add(eos_);
  fingerprint_ = f.digest();
}

bool SentencePieceTokenizer::decodes_to(const std::vector<int>& ids, std::string_view bytes, bool at_start) const {
  size_t pos = 0;
  for (int id : ids) {
    const std::string_view text = decode_one(id, at_start);
    if (bytes.substr(pos, text.size()) != text) return false;
    pos += text.size();
  }
  return pos == bytes.size();
}

void SentencePieceTokenizer::encode_by_spans(std::string_view bytes, bool& at_start, std::vector<TokenId>& out) const {
  const auto spt = processor_.EncodeAsImmutableProto(bytes);
  const auto spell = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const auto byte = static_cast<uint8_t>(bytes[i]);
      if (byte_ids_[byte] < 0) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02X", byte);
        throw Error("SentencePiece model " + path_.string() + " cannot represent byte " + hex +
                    " of the input and has no byte-fallback pieces <0xNN> to spell it");
      }
      out.push_back(byte_ids_[byte]);
      at_start = false;
    }
  };
  size_t pos = 0;
  for (size_t i = 0; i < spt.pieces_size(); ++i) {
    const auto piece = spt.pieces(static_cast<int>(i));
    const size_t begin = std::min(std::max<size_t>(piece.begin(), pos), bytes.size());
    const size_t end = std::min(std::max<size_t>(piece.end(), begin), bytes.size());
    spell(pos, begin);
    const auto id = static_cast<TokenId>(piece.id());
    bool after = at_start;
    if (decode_one(id, after) == bytes.substr(begin, end - begin)) {
      out.push_back(id);
      at_start = after;
    } else {
      spell(begin, end);
    }
    pos = end;
  }
  spell(pos, bytes.size());
}

void SentencePieceTokenizer::encode_segment(std::string_view segment, bool first, bool& at_start,
                                            std::vector<TokenId>& out) const {
  // A later segment starts with a space; with a dummy prefix, SentencePiece adds exactly that ▁ itself.
  const std::string_view input = !first && adds_dummy_prefix_ ? segment.substr(1) : segment;
  std::vector<int> ids;
  const auto status = processor_.Encode(input, &ids);
  if (!status.ok()) throw Error("SentencePiece encode failed: " + status.ToString());
  if (decodes_to(ids, segment, at_start)) {
    for (int id : ids) {
      decode_one(id, at_start);
      out.push_back(id);
    }
    return;
  }
  encode_by_spans(segment, at_start, out);
}

size_t SentencePieceTokenizer::segment_end(std::string_view bytes, size_t begin) const {
  if (!segmentable_) return bytes.size();
  for (size_t pos = begin + kSegmentBytes; pos < bytes.size(); ++pos) {
    const auto before = static_cast<uint8_t>(bytes[pos - 1]);
    if (bytes[pos] == ' ' && before > 0x20 && before < 0x7F) return pos;
  }
  return bytes.size();
}

std::vector<TokenId> SentencePieceTokenizer::encode(std::string_view bytes) const {
  std::vector<TokenId> out;
  bool at_start = true;
  for (size_t begin = 0; begin < bytes.size();) {
    const size_t end = segment_end(bytes, begin);
    encode_segment(bytes.substr(begin, end - begin), begin == 0, at_start, out);
    begin = end;
  }
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string text;
  bool at_start = true;
  for (TokenId id : ids) text += decode_one(id, at_start);
  return text;
}

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& path) {
  return with_context("reading SentencePiece model " + path.string(), [&]() -> std::unique_ptr<Tokenizer> {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open the file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return std::make_unique<SentencePieceTokenizer>(path, buffer.str());
  });
}

}  // namespace lmc
