#include "infer/tokenizers/sentencepiece_spec.h"

#include <cstdint>
#include <string>

#include "common/error.h"

namespace lmc {
namespace {

constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool at_end() const { return pos_ >= data_.size(); }

  // The next field's number and wire type.
  std::pair<uint32_t, int> key() {
    const uint64_t key = varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<int>(key & 7)};
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_end()) throw Error("truncated varint");
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t{byte & 0x7Fu} << shift;
      if (!(byte & 0x80)) return value;
    }
    throw Error("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    const uint64_t length = varint();
    if (length > data_.size() - pos_) throw Error("length-delimited field runs past the end");
    const std::string_view value = data_.substr(pos_, length);
    pos_ += length;
    return value;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case kVarint: varint(); return;
      case kLengthDelimited: bytes(); return;
      case kFixed64: advance(8); return;
      case kFixed32: advance(4); return;
      default: throw Error("unsupported wire type " + std::to_string(wire_type));
    }
  }

 private:
  void advance(size_t n) {
    if (n > data_.size() - pos_) throw Error("fixed-width field runs past the end");
    pos_ += n;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

void read_trainer_spec(std::string_view data, SentencePieceSpec& spec) {
  WireReader reader(data);
  while (!reader.at_end()) {
    const auto [field, wire] = reader.key();
    if (field == 3 && wire == kVarint) spec.model_type = static_cast<int>(reader.varint());
    else if (field == 24 && wire == kVarint) spec.treat_whitespace_as_suffix = reader.varint() != 0;
    else reader.skip(wire);
  }
}

void read_normalizer_spec(std::string_view data, SentencePieceSpec& spec) {
  WireReader reader(data);
  while (!reader.at_end()) {
    const auto [field, wire] = reader.key();
    if (field == 2 && wire == kLengthDelimited) spec.precompiled_charsmap_bytes = reader.bytes().size();
    else if (field == 3 && wire == kVarint) spec.add_dummy_prefix = reader.varint() != 0;
    else if (field == 4 && wire == kVarint) spec.remove_extra_whitespaces = reader.varint() != 0;
    else if (field == 5 && wire == kVarint) spec.escape_whitespaces = reader.varint() != 0;
    else reader.skip(wire);
  }
}

}  // namespace

SentencePieceSpec read_sentencepiece_spec(std::string_view serialized) {
  return with_context("reading the model's settings", [&] {
    SentencePieceSpec spec;
    WireReader reader(serialized);
    while (!reader.at_end()) {
      const auto [field, wire] = reader.key();
      if (field == 2 && wire == kLengthDelimited) read_trainer_spec(reader.bytes(), spec);
      else if (field == 3 && wire == kLengthDelimited) read_normalizer_spec(reader.bytes(), spec);
      else reader.skip(wire);
    }
    return spec;
  });
}

}  // namespace lmc
