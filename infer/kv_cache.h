// KVCache: keys and values of B independent streams, one slot per stream, for the incremental step the
// coder drives, and the attention of each stream's one new token over its own cached prefix. Each stream
// sits at its own position; a slot is reused for a new sequence by restarting it at position 0 (entries
// past a stream's position are stale and never read).
//
// The cache is allocated once at its full capacity and written in place: a step costs the same at
// every position, with no growth or copy of what is cached. On a CPU in fp32 (the codec's usual case,
// head_dim a multiple of 8 up to 256) attention runs in a direct kernel that reads each stream's keys and
// values once, in a fixed order per (stream, kv head), so its result does not depend on the thread
// count; other devices, dtypes and head sizes use scaled_dot_product_attention with a mask.
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

// Where one step writes in the cache, prepared once for all layers.
struct CacheStep {
  torch::Tensor positions;              // [B] int64 on the cache's device
  std::vector<int64_t> host_positions;  // the same, on the host
  torch::Tensor mask;                   // [B, 1, 1, max position + 1] bool, true = may attend; fallback path only
};

// Checks `positions` ([B], one per stream) against the cache; throws lmc::Error naming the bad one.
CacheStep prepare_cache_step(const KVCache& cache, const torch::Tensor& positions);

// Stores each stream's new key and value at its position in `layer`, then attends its query heads over
// that stream's keys 0..position (grouped-query: query head h reads kv head h / (H / KV)), scaled by
// 1/sqrt(D). q: [B, H, 1, D]; k, v: [B, KV, 1, D] -> [B, H, 1, D].
torch::Tensor attend_cached(KVCache& cache, int64_t layer, const CacheStep& step, const torch::Tensor& q,
                            const torch::Tensor& k, const torch::Tensor& v);

}  // namespace lmc
