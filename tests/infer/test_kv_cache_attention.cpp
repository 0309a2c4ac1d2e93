// The cache's CPU fp32 attention kernel follows one documented order of float operations, whatever the
// grouping of query heads, the head size or the thread count: archives written by any earlier lmc must
// keep decoding, so its bits may not drift. Checked against a scalar rendering of that order, and for
// closeness against softmax attention in double precision.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <vector>

#include "common/exp_nonpositive.h"
#include "documented_order.h"
#include "infer/kv_cache.h"

namespace lmc {
namespace {

using testing::lane_tree;

// The documented order in scalar code for one query head q [D] over keys and values [n, D]:
//  - score t: the lane-wise dot product of q and K[t] (documented_order.h), times the scale;
//  - weights: exp_nonpositive(max(score - max score, kExpMinArgument)); their sum: 8 lanes over whole
//    blocks of 8 scores (lane t mod 8), the lane tree, then the leftover scores in order;
//  - out[d]: the sum over ascending t of weight[t] * V[t][d], started from zero, times 1 / sum.
std::vector<float> reference_head(const float* q, const float* keys, const float* values, int64_t n, int64_t dim,
                                  float scale) {
  std::vector<float> weights(n);
  for (int64_t t = 0; t < n; ++t) weights[t] = testing::documented_dot(q, keys + t * dim, dim) * scale;
  float max = -INFINITY;
  for (float s : weights) max = s > max ? s : max;
  for (float& s : weights) {
    const float d = s - max;
    s = exp_nonpositive(d > kExpMinArgument ? d : kExpMinArgument);
  }
  float lanes[8] = {};
  const int64_t whole = n / 8 * 8;
  for (int64_t t = 0; t < whole; ++t) lanes[t % 8] = lanes[t % 8] + weights[t];
  float sum = lane_tree(lanes);
  for (int64_t t = whole; t < n; ++t) sum = sum + weights[t];
  const float inverse = 1.0f / sum;
  std::vector<float> out(dim);
  for (int64_t d = 0; d < dim; ++d) {
    float acc = 0.0f;
    for (int64_t t = 0; t < n; ++t) {
      const float product = weights[t] * values[t * dim + d];
      acc = acc + product;
    }
    out[d] = acc * inverse;
  }
  return out;
}

struct Heads {
  int64_t heads, kv_heads, head_dim;
};

void PrintTo(const Heads& shape, std::ostream* os) {
  *os << shape.heads << " heads over " << shape.kv_heads << " kv heads of " << shape.head_dim;
}

class CachedAttention : public ::testing::TestWithParam<Heads> {};

TEST_P(CachedAttention, FollowsTheDocumentedOrderBitForBitOnAnyThreadCount) {
  c10::InferenceMode guard;
  const auto [heads, kv_heads, dim] = GetParam();
  at::manual_seed(heads * 100 + kv_heads * 10 + dim);
  // Positions 0, 9 and 37: a lone key, one block of 8 plus a leftover, several blocks plus leftovers.
  const std::vector<int64_t> positions = {9, 0, 37};
  const int64_t batch = static_cast<int64_t>(positions.size()), capacity = 40, groups = heads / kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
  KVCache cache{{at::randn({batch, kv_heads, capacity, dim})}, {at::randn({batch, kv_heads, capacity, dim})}};
  auto q = at::randn({batch, heads, 1, dim}) * 2;
  auto k = at::randn({batch, kv_heads, 1, dim});
  auto v = at::randn({batch, kv_heads, 1, dim});
  // Entries past a stream's position are stale (a reused slot holds its last sequence's): never read.
  for (int64_t b = 0; b < batch; ++b) {
    cache.keys[0][b].narrow(1, positions[b] + 1, capacity - positions[b] - 1).fill_(NAN);
    cache.values[0][b].narrow(1, positions[b] + 1, capacity - positions[b] - 1).fill_(NAN);
  }
  auto step = prepare_cache_step(cache, at::tensor(positions));
  ASSERT_FALSE(step.mask.defined()) << "this shape should take the CPU kernel";

  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one_thread = attend_cached(cache, 0, step, q, k, v);
  at::set_num_threads(2);
  auto two_threads = attend_cached(cache, 0, step, q, k, v);
  at::set_num_threads(threads);
  ASSERT_EQ(one_thread.sizes(), q.sizes());
  EXPECT_EQ(std::memcmp(one_thread.data_ptr<float>(), two_threads.data_ptr<float>(), one_thread.numel() * sizeof(float)), 0);

  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = positions[b] + 1;
    for (int64_t h = 0; h < heads; ++h) {
      auto keys = cache.keys[0][b][h / groups].narrow(0, 0, n).contiguous();
      auto values = cache.values[0][b][h / groups].narrow(0, 0, n).contiguous();
      EXPECT_TRUE(at::equal(keys[n - 1], k[b][h / groups][0])) << "the new key is stored at the stream's position";
      auto expected = reference_head(q[b][h][0].data_ptr<float>(), keys.data_ptr<float>(), values.data_ptr<float>(), n,
                                     dim, scale);
      const float* got = one_thread[b][h][0].data_ptr<float>();
      EXPECT_EQ(std::memcmp(expected.data(), got, dim * sizeof(float)), 0) << "stream " << b << " head " << h;

      auto attention = at::softmax(at::matmul(keys.to(at::kDouble), q[b][h][0].to(at::kDouble)) * (1.0 / std::sqrt(dim)), 0);
      auto exact = at::matmul(attention, values.to(at::kDouble));
      EXPECT_TRUE(at::allclose(one_thread[b][h][0].to(at::kDouble), exact, 1e-5, 1e-5)) << "stream " << b << " head " << h;
    }
  }
}

// GQA groups of 1 to 4 query heads per kv head; head sizes 16, 32 and 64 take the kernel's compile-time
// paths, 8 and 24 its run-time one.
INSTANTIATE_TEST_SUITE_P(Shapes, CachedAttention,
                         ::testing::Values(Heads{4, 2, 16}, Heads{6, 2, 16}, Heads{8, 4, 32}, Heads{3, 1, 32},
                                           Heads{4, 4, 24}, Heads{8, 2, 64}, Heads{2, 2, 8}));

}  // namespace
}  // namespace lmc
