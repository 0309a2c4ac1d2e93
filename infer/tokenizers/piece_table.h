// What each token id decodes to, all in one arena: the lookup every decode() and piece() makes, with
// the range check that turns a bad id into an lmc::Error instead of a wild read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

class PieceTable {
 public:
  // Appends the bytes of the next id.
  void push(std::string_view bytes) {
    offsets_.push_back(static_cast<uint32_t>(arena_.size()));
    arena_.append(bytes);
  }
  int32_t size() const { return static_cast<int32_t>(offsets_.size()); }
  std::string_view operator[](TokenId id) const {
    if (id < 0 || id >= size()) {
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(size()) + ")");
    }
    const uint32_t end = id + 1 < size() ? offsets_[id + 1] : static_cast<uint32_t>(arena_.size());
    return std::string_view(arena_).substr(offsets_[id], end - offsets_[id]);
  }

 private:
  std::string arena_;
  std::vector<uint32_t> offsets_;  // id -> start in arena_
};

}  // namespace lmc
