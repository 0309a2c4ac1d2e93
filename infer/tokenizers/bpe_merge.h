// The merge loop of byte-level BPE on one pre-token: start from one token per byte and repeatedly merge
// the adjacent pair with the lowest priority, the leftmost one on ties, until no adjacent pair merges.
// With priority = rank of the merged token this is tiktoken's byte_pair_merge; with priority = position
// in a merges list it is Hugging Face's BPE. O(n log n) with a heap and lazy invalidation, so a
// megabyte-long piece (a run of spaces, a base64 blob) does not go quadratic. Caching is the caller's.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "infer/tokenizers/bpe_tables.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

// Buffers reused from piece to piece within one encode call.
struct BpeScratch {
  struct Candidate {
    uint32_t priority;
    int32_t left;  // byte position where the left part starts
    int32_t right;
    TokenId left_token;
    TokenId right_token;
    TokenId result;
  };
  std::vector<TokenId> tokens;  // by start position; -1 once merged into its left neighbour
  std::vector<int32_t> next;
  std::vector<int32_t> prev;
  std::vector<Candidate> heap;
};

// Appends the ids of `piece` (non-empty) to `out`.
void bpe_merge(std::string_view piece, const std::array<TokenId, 256>& byte_ids, const PairTable& pairs,
               BpeScratch& scratch, std::vector<TokenId>& out);

}  // namespace lmc
