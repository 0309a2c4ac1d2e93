#include "infer/tokenizers/byte_tokenizer.h"

#include "common/error.h"
#include "infer/tokenizers/fingerprint.h"

namespace lmc {
namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view bytes) const override {
    std::vector<TokenId> ids(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) ids[i] = static_cast<uint8_t>(bytes[i]);
    return ids;
  }
  std::string decode(const std::vector<TokenId>& ids) const override {
    std::string text;
    text.reserve(ids.size());
    for (TokenId id : ids) {
      check(id);
      if (id < 256) text += static_cast<char>(id);
    }
    return text;
  }
  std::string piece(TokenId id) const override {
    check(id);
    return id < 256 ? std::string(1, static_cast<char>(id)) : std::string();
  }
  int32_t vocab_size() const override { return kByteVocabSize; }
  std::optional<TokenId> bos_id() const override { return kByteBos; }
  std::optional<TokenId> eos_id() const override { return kByteEos; }
  std::string kind() const override { return "bytes"; }
  uint64_t fingerprint() const override {
    Fingerprinter f;
    return f.add("lmc bytes").add(uint64_t{1}).digest();
  }

 private:
  static void check(TokenId id) {
    if (id < 0 || id >= kByteVocabSize) {
      throw Error("token id " + std::to_string(id) + " is outside the byte vocabulary [0, 258)");
    }
  }
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

}  // namespace lmc
