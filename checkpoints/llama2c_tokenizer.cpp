#include "checkpoints/llama2c_tokenizer.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "common/error.h"

namespace lmc {
namespace {

// Field numbers and enum values of sentencepiece_model.proto.
enum PieceType : uint64_t { kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6 };
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPieceText = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerVocabSize = 4, kTrainerByteFallback = 35;
constexpr uint32_t kTrainerUnkId = 40, kTrainerBosId = 41, kTrainerEosId = 42;
constexpr uint32_t kNormalizerName = 1, kNormalizerDummyPrefix = 3, kNormalizerRemoveExtraWhitespaces = 4,
                   kNormalizerEscapeWhitespaces = 5;
constexpr uint64_t kBpe = 2;

constexpr const char* kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// Protocol buffer wire format, writing only: varints, fixed32 floats, length-delimited bytes.
class WireWriter {
 public:
  void varint(uint32_t field, uint64_t value) {
    key(field, 0);
    raw_varint(value);
  }
  void int32(uint32_t field, int32_t value) { varint(field, static_cast<uint64_t>(static_cast<int64_t>(value))); }
  void float32(uint32_t field, float value) {
    key(field, 5);
    char bytes[4];
    std::memcpy(bytes, &value, 4);  // little-endian hosts only, as everywhere in lmc
    out_.append(bytes, 4);
  }
  void bytes(uint32_t field, const std::string& value) {
    key(field, 2);
    raw_varint(value.size());
    out_ += value;
  }
  const std::string& str() const { return out_; }

 private:
  void key(uint32_t field, int wire_type) { raw_varint((uint64_t{field} << 3) | static_cast<uint64_t>(wire_type)); }
  void raw_varint(uint64_t value) {
    do {
      const auto low = static_cast<char>(value & 0x7F);
      value >>= 7;
      out_ += static_cast<char>(low | (value ? 0x80 : 0));
    } while (value);
  }
  std::string out_;
};

bool is_byte_piece(const std::string& piece) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return piece.size() == 6 && piece.starts_with("<0x") && hex(piece[3]) && hex(piece[4]) && piece[5] == '>';
}

std::string with_space_symbols(const std::string& text) {
  std::string piece;
  for (char c : text) piece += c == ' ' ? std::string(kSpaceSymbol) : std::string(1, c);
  return piece;
}

}  // namespace

Llama2cVocabulary read_llama2c_tokenizer(const std::filesystem::path& path, int vocab_size) {
  return with_context("reading llama2.c tokenizer " + path.string(), [&] {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open the file");
    const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    size_t pos = 0;
    auto read = [&](void* to, size_t n, const std::string& what) {
      if (data.size() - pos < n) {
        throw Error("the file ends inside " + what + " (" + std::to_string(data.size()) + " bytes; the model's vocab_size is " +
                    std::to_string(vocab_size) + ")");
      }
      std::memcpy(to, data.data() + pos, n);
      pos += n;
    };
    int32_t max_token_length = 0;
    read(&max_token_length, 4, "the header");
    if (max_token_length <= 0) throw Error("max_token_length is " + std::to_string(max_token_length));
    Llama2cVocabulary vocabulary;
    for (int id = 0; id < vocab_size; ++id) {
      const std::string what = "token " + std::to_string(id);
      float score = 0;
      int32_t length = 0;
      read(&score, 4, what);
      read(&length, 4, what);
      if (length <= 0 || length > max_token_length) {
        throw Error(what + " has length " + std::to_string(length) + " (max_token_length " +
                    std::to_string(max_token_length) + ")");
      }
      std::string piece(static_cast<size_t>(length), '\0');
      read(piece.data(), piece.size(), what);
      vocabulary.pieces.push_back(std::move(piece));
      vocabulary.scores.push_back(score);
    }
    if (pos != data.size()) {
      throw Error(std::to_string(data.size() - pos) + " bytes follow the " + std::to_string(vocab_size) +
                  " tokens of the model's vocab_size: the tokenizer belongs to another model");
    }
    return vocabulary;
  });
}

std::string sentencepiece_model_from_llama2c(const Llama2cVocabulary& vocabulary) {
  WireWriter model;
  int32_t unk = -1, bos = -1, eos = -1;
  std::set<std::string> seen;
  for (size_t id = 0; id < vocabulary.pieces.size(); ++id) {
    const std::string& stored = vocabulary.pieces[id];
    std::string piece;
    uint64_t type = kNormal;
    if (stored == "<unk>" && unk < 0) {
      piece = stored, type = kUnknown, unk = static_cast<int32_t>(id);
    } else if (stored == "\n<s>\n" && bos < 0) {
      piece = "<s>", type = kControl, bos = static_cast<int32_t>(id);
    } else if (stored == "\n</s>\n" && eos < 0) {
      piece = "</s>", type = kControl, eos = static_cast<int32_t>(id);
    } else if (is_byte_piece(stored)) {
      piece = stored, type = kByte;
    } else {
      piece = with_space_symbols(stored);
    }
    if (!seen.insert(piece).second) throw Error("token " + std::to_string(id) + " repeats the piece '" + piece + "'");
    WireWriter entry;
    entry.bytes(kPieceText, piece);
    entry.float32(kPieceScore, vocabulary.scores[id]);
    entry.varint(kPieceType, type);
    model.bytes(kModelPieces, entry.str());
  }
  if (unk < 0) throw Error("the vocabulary has no <unk> piece, which SentencePiece requires");

  WireWriter trainer;
  trainer.varint(kTrainerModelType, kBpe);
  trainer.int32(kTrainerVocabSize, static_cast<int32_t>(vocabulary.pieces.size()));
  trainer.varint(kTrainerByteFallback, 1);
  trainer.int32(kTrainerUnkId, unk);
  trainer.int32(kTrainerBosId, bos);
  trainer.int32(kTrainerEosId, eos);
  model.bytes(kModelTrainerSpec, trainer.str());

  WireWriter normalizer;
  normalizer.bytes(kNormalizerName, "identity");
  normalizer.varint(kNormalizerDummyPrefix, 1);
  normalizer.varint(kNormalizerRemoveExtraWhitespaces, 0);
  normalizer.varint(kNormalizerEscapeWhitespaces, 1);
  model.bytes(kModelNormalizerSpec, normalizer.str());
  return model.str();
}

}  // namespace lmc
