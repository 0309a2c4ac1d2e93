#include "infer/tokenizers/bpe_merge.h"

#include <algorithm>

namespace lmc {
namespace {

// std::*_heap build a max-heap: "greater" puts the lowest (priority, position) on top.
bool later(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
  return a.priority != b.priority ? a.priority > b.priority : a.left > b.left;
}

}  // namespace

void bpe_merge(std::string_view piece, const std::array<TokenId, 256>& byte_ids, const PairTable& pairs,
               BpeScratch& scratch, std::vector<TokenId>& out) {
  const int32_t n = static_cast<int32_t>(piece.size());
  auto& tokens = scratch.tokens;
  auto& next = scratch.next;
  auto& prev = scratch.prev;
  auto& heap = scratch.heap;
  tokens.resize(n);
  next.resize(n);
  prev.resize(n);
  heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    tokens[i] = byte_ids[static_cast<uint8_t>(piece[i])];
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const auto candidate = [&](int32_t left) {
    const int32_t right = next[left];
    if (right >= n) return;
    if (const Merge* merge = pairs.find(tokens[left], tokens[right])) {
      heap.push_back({merge->priority, left, right, tokens[left], tokens[right], merge->result});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) candidate(i);
  std::make_heap(heap.begin(), heap.end(), later);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const BpeScratch::Candidate c = heap.back();
    heap.pop_back();
    // Stale entries: a side was merged away or changed since this pair was queued.
    if (tokens[c.left] != c.left_token || next[c.left] != c.right || tokens[c.right] != c.right_token) continue;
    tokens[c.left] = c.result;
    tokens[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.left] < n) prev[next[c.left]] = c.left;
    const size_t before = heap.size();
    if (prev[c.left] >= 0) candidate(prev[c.left]);
    candidate(c.left);
    for (size_t i = before; i < heap.size(); ++i) std::push_heap(heap.begin(), heap.begin() + i + 1, later);
  }
  for (int32_t i = 0; i < n; i = next[i]) out.push_back(tokens[i]);
}

}  // namespace lmc
