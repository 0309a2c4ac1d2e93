// Builds Tokenizer::fingerprint() values: XXH3-64 over a tagged, length-prefixed stream of everything that
// decides the id mapping, so fields cannot run into each other ("ab"+"c" hashes unlike "a"+"bc").
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "infer/tokenizers/tokenizer.h"

namespace lmc {

class Fingerprinter {
 public:
  Fingerprinter() : state_(XXH3_createState()) { XXH3_64bits_reset(state_); }
  ~Fingerprinter() { XXH3_freeState(state_); }
  Fingerprinter(const Fingerprinter&) = delete;
  Fingerprinter& operator=(const Fingerprinter&) = delete;

  Fingerprinter& add(std::string_view bytes) {
    add(static_cast<uint64_t>(bytes.size()));
    XXH3_64bits_update(state_, bytes.data(), bytes.size());
    return *this;
  }
  Fingerprinter& add(uint64_t value) {
    XXH3_64bits_update(state_, &value, sizeof(value));
    return *this;
  }
  Fingerprinter& add(std::optional<TokenId> id) { return add(id ? static_cast<uint64_t>(*id) : ~uint64_t{0}); }
  uint64_t digest() const { return XXH3_64bits_digest(state_); }

 private:
  XXH3_state_t* state_;
};

}  // namespace lmc
