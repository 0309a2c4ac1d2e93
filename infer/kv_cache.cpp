// The cache's step attention. The CPU fp32 kernel below exists because a step attends one query per
// stream: scaled_dot_product_attention then runs thousands of 1-row matrix products per layer, each
// paying BLAS's packing and call overhead, and reads the grouped keys once per query head. Here each
// (stream, kv head) task reads its keys and values once for all query heads that share them.
#include "infer/kv_cache.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/exp_nonpositive.h"
#include "common/vec8.h"

namespace lmc {
namespace {
using at::indexing::Slice;

constexpr int64_t kMaxChunks = 32;  // head_dim up to 256, in chunks of kLanes

// Lane-wise partial sums of query . row over `chunks` chunks, in chunk order.
LMC_INLINE void dot_lanes(const Vec8* query, const float* row, int64_t chunks, Vec8& acc) {
  Vec8 x;
  load(x, row);
  acc = query[0] * x;
  for (int64_t c = 1; c < chunks; ++c) {
    load(x, row + c * kLanes);
    acc += query[c] * x;
  }
}

// Replaces s[0..n) by exp(s - max s) and returns their sum (lanes in a fixed order).
LMC_INLINE float softmax_weights(float* s, int64_t n) {
  Vec8 max_lanes = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  int64_t t = 0;
  Vec8 v;
  for (; t + kLanes <= n; t += kLanes) {
    load(v, s + t);
    max_lanes = v > max_lanes ? v : max_lanes;
  }
  float max = -INFINITY;
  for (int64_t j = 0; j < kLanes; ++j) max = max_lanes[j] > max ? max_lanes[j] : max;
  for (; t < n; ++t) max = s[t] > max ? s[t] : max;
  for (t = 0; t < n; ++t) {
    float d = s[t] - max;
    s[t] = exp_nonpositive(d > kExpMinArgument ? d : kExpMinArgument);  // NaN too
  }
  Vec8 sum_lanes = {};
  for (t = 0; t + kLanes <= n; t += kLanes) {
    load(v, s + t);
    sum_lanes += v;
  }
  float sum = lane_sum(sum_lanes);
  for (; t < n; ++t) sum += s[t];
  return sum;
}

// One stream's kv head: each of the `groups` query heads q [G, D] that share it attends over keys and
// values [n, D]; D = chunks * 8, a compile-time constant for the common head sizes (kChunks > 0), so
// that the query and the output accumulators stay in registers. scores: scratch [n]; out: [G, D].
template <int64_t kChunks>
LMC_INLINE void attend_heads(const float* __restrict q, const float* __restrict keys, const float* __restrict values,
                             int64_t n, int64_t groups, int64_t runtime_chunks, float scale,
                             float* __restrict scores, float* __restrict out) {
  const int64_t chunks = kChunks > 0 ? kChunks : runtime_chunks;
  const int64_t dim = chunks * kLanes;
  Vec8 query[kChunks > 0 ? kChunks : kMaxChunks];
  Vec8 acc[kChunks > 0 ? kChunks : kMaxChunks];
  for (int64_t g = 0; g < groups; ++g, q += dim, out += dim) {
    for (int64_t c = 0; c < chunks; ++c) load(query[c], q + c * kLanes);
    int64_t t = 0;
    for (; t + kLanes <= n; t += kLanes) {
      Vec8 dots[kLanes], sums;
      for (int64_t j = 0; j < kLanes; ++j) dot_lanes(query, keys + (t + j) * dim, chunks, dots[j]);
      lane_sums(dots, sums);
      store(scores + t, sums * scale);
    }
    for (; t < n; ++t) {
      Vec8 dot;
      dot_lanes(query, keys + t * dim, chunks, dot);
      scores[t] = lane_sum(dot) * scale;
    }
    const float inverse = 1.0f / softmax_weights(scores, n);
    for (int64_t c = 0; c < chunks; ++c) acc[c] = Vec8{};
    for (t = 0; t < n; ++t) {
      const Vec8 weight = Vec8{} + scores[t];
      Vec8 value;
      for (int64_t c = 0; c < chunks; ++c) {
        load(value, values + t * dim + c * kLanes);
        acc[c] += weight * value;
      }
    }
    for (int64_t c = 0; c < chunks; ++c) store(out + c * kLanes, acc[c] * inverse);
  }
}

LMC_VECTOR_CLONES void attend_kv_head(const float* q, const float* keys, const float* values, int64_t n,
                                       int64_t groups, int64_t dim, float scale, float* scores, float* out) {
  switch (dim / kLanes) {
    case 2: return attend_heads<2>(q, keys, values, n, groups, 2, scale, scores, out);
    case 4: return attend_heads<4>(q, keys, values, n, groups, 4, scale, scores, out);
    case 8: return attend_heads<8>(q, keys, values, n, groups, 8, scale, scores, out);
    case 16: return attend_heads<16>(q, keys, values, n, groups, 16, scale, scores, out);
    default: return attend_heads<0>(q, keys, values, n, groups, dim / kLanes, scale, scores, out);
  }
}

torch::Tensor attend_cpu_fp32(KVCache& cache, int64_t layer, const CacheStep& step, const torch::Tensor& q,
                              const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t batch = q.size(0), heads = q.size(1), dim = q.size(3);
  const int64_t kv_heads = k.size(1), capacity = cache.capacity(), groups = heads / kv_heads;
  auto q_rows = q.contiguous();  // [B, H, 1, D]: one row of D per (stream, head)
  auto k_rows = k.contiguous();  // [B, KV, 1, D]
  auto v_rows = v.contiguous();
  auto out = at::empty_like(q_rows);
  float* key_cache = cache.keys[layer].data_ptr<float>();      // [B, KV, capacity, D]
  float* value_cache = cache.values[layer].data_ptr<float>();  // [B, KV, capacity, D]
  const float* q_data = q_rows.data_ptr<float>();
  const float* k_data = k_rows.data_ptr<float>();
  const float* v_data = v_rows.data_ptr<float>();
  float* out_data = out.data_ptr<float>();
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
  const int64_t row_bytes = dim * static_cast<int64_t>(sizeof(float));
  at::parallel_for(0, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / kv_heads, h = task % kv_heads;
      const int64_t position = step.host_positions[b];
      const int64_t slot = task * capacity * dim;  // this stream's kv head in the cache
      std::memcpy(key_cache + slot + position * dim, k_data + task * dim, row_bytes);
      std::memcpy(value_cache + slot + position * dim, v_data + task * dim, row_bytes);
      scores.resize(static_cast<size_t>(position + 1));
      const int64_t first_head = b * heads + h * groups;
      attend_kv_head(q_data + first_head * dim, key_cache + slot, value_cache + slot, position + 1, groups, dim,
                     scale, scores.data(), out_data + first_head * dim);
    }
  });
  return out;
}

}  // namespace

CacheStep prepare_cache_step(const KVCache& cache, const torch::Tensor& positions) {
  if (positions.dim() != 1 || positions.size(0) != cache.batch()) {
    throw Error("KV cache holds " + std::to_string(cache.batch()) + " streams, the step got " +
                std::to_string(positions.dim() == 1 ? positions.size(0) : positions.numel()) + " positions");
  }
  CacheStep step;
  auto host = positions.to(at::kCPU, at::kLong).contiguous();
  step.host_positions.assign(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
  int64_t longest = 0;
  for (int64_t p : step.host_positions) {
    if (p < 0 || p >= cache.capacity()) {
      throw Error("position " + std::to_string(p) + " is outside the KV cache (capacity " +
                  std::to_string(cache.capacity()) + ")");
    }
    longest = std::max(longest, p + 1);
  }
  const auto& keys = cache.keys.front();  // [B, KV, capacity, D]
  step.positions = host.to(keys.device());
  const int64_t head_dim = keys.size(3);
  const bool kernel = keys.device().is_cpu() && keys.scalar_type() == at::kFloat && head_dim % kLanes == 0 &&
                      head_dim <= kMaxChunks * kLanes;
  if (kernel) return step;
  auto key_index = at::arange(longest, step.positions.options());
  step.mask = (key_index.unsqueeze(0) <= step.positions.unsqueeze(1)).view({cache.batch(), 1, 1, longest});
  return step;
}

torch::Tensor attend_cached(KVCache& cache, int64_t layer, const CacheStep& step, const torch::Tensor& q,
                            const torch::Tensor& k, const torch::Tensor& v) {
  if (!step.mask.defined()) return attend_cpu_fp32(cache, layer, step, q, k, v);
  auto& key_cache = cache.keys[layer];      // [B, KV, capacity, D]
  auto& value_cache = cache.values[layer];  // [B, KV, capacity, D]
  auto streams = at::arange(q.size(0), step.positions.options());
  key_cache.index_put_({streams, Slice(), step.positions}, k.select(2, 0));
  value_cache.index_put_({streams, Slice(), step.positions}, v.select(2, 0));
  const int64_t keys_used = step.mask.size(3);
  auto keys = key_cache.narrow(2, 0, keys_used);      // [B, KV, T, D]
  auto values = value_cache.narrow(2, 0, keys_used);  // [B, KV, T, D]
  return at::scaled_dot_product_attention(q, keys, values, step.mask, 0.0, false, std::nullopt,
                                          /*enable_gqa=*/k.size(1) != q.size(1));
}

}  // namespace lmc
