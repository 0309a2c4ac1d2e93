// KVCache: keys and values of B independent streams, one slot per stream, for the incremental step the
// coder drives. Each stream sits at its own position; a slot is reused for a new sequence by resetting
// its position to 0 (stale entries past a stream's position are masked, never read).
#pragma once

#include <vector>

#include <torch/types.h>

namespace lmc {

struct KVCache {
  std::vector<torch::Tensor> keys;    // per layer [B, n_kv_heads, capacity, head_dim]
  std::vector<torch::Tensor> values;  // per layer [B, n_kv_heads, capacity, head_dim]

  int64_t batch() const { return keys.empty() ? 0 : keys.front().size(0); }
  int64_t capacity() const { return keys.empty() ? 0 : keys.front().size(2); }
};

}  // namespace lmc
