// A tiny lossless tokenizer for the data tests: two lowercase ASCII letters become one id
// (256 + 26 * a + b), any other byte is its own id. Ids differ from bytes and their count from the byte
// count, so the tests see whether shards really hold the tokenizer's ids. tests/oracles/data_check_shards.py
// (--tokenizer pairs) re-implements it in Python.
#pragma once

#include "infer/tokenizers/tokenizer.h"

namespace lmc::testing {

class PairTokenizer : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view bytes) const override {
    std::vector<TokenId> ids;
    for (size_t i = 0; i < bytes.size();) {
      auto a = static_cast<unsigned char>(bytes[i]);
      if (i + 1 < bytes.size() && is_lower(a) && is_lower(static_cast<unsigned char>(bytes[i + 1]))) {
        ids.push_back(256 + 26 * (a - 'a') + (static_cast<unsigned char>(bytes[i + 1]) - 'a'));
        i += 2;
      } else {
        ids.push_back(a);
        i += 1;
      }
    }
    return ids;
  }
  std::string decode(const std::vector<TokenId>& ids) const override {
    std::string out;
    for (TokenId id : ids) out += piece(id);
    return out;
  }
  std::string piece(TokenId id) const override {
    if (id < 256) return std::string(1, static_cast<char>(id));
    int pair = id - 256;
    return {static_cast<char>('a' + pair / 26), static_cast<char>('a' + pair % 26)};
  }
  int32_t vocab_size() const override { return 256 + 26 * 26; }
  std::optional<TokenId> bos_id() const override { return std::nullopt; }
  std::optional<TokenId> eos_id() const override { return std::nullopt; }
  std::string kind() const override { return "test-pairs"; }
  uint64_t fingerprint() const override { return 0x5041495253ull; }

 private:
  static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
};

}  // namespace lmc::testing
