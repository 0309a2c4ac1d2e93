#include "infer/generate.h"

#include <algorithm>
#include <numeric>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "common/error.h"

namespace lmc {

TokenSampler::TokenSampler(const SamplingOptions& options) : options_(options), random_(options.seed) {
  if (!(options.temperature >= 0)) throw Error("temperature must be >= 0, got " + std::to_string(options.temperature));
  if (!(options.top_p > 0 && options.top_p <= 1)) throw Error("top-p must be in (0, 1], got " + std::to_string(options.top_p));
}

TokenId TokenSampler::sample(const at::Tensor& logits) {
  const at::Tensor scores = logits.detach().to(at::kCPU, at::kFloat).contiguous();  // [V]
  if (options_.temperature == 0) return static_cast<TokenId>(scores.argmax().item<int64_t>());
  const at::Tensor probs = at::softmax(scores.to(at::kDouble) / options_.temperature, 0).contiguous();
  const double* p = probs.data_ptr<double>();
  std::vector<TokenId> order(static_cast<size_t>(probs.numel()));
  std::iota(order.begin(), order.end(), 0);
  // Most probable first, ties by id, so the nucleus does not depend on the sort's stability.
  std::sort(order.begin(), order.end(), [&](TokenId a, TokenId b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
  double mass = 0;
  size_t kept = 0;
  while (kept < order.size() && (kept == 0 || mass < options_.top_p)) mass += p[order[kept++]];
  // A uniform double in [0, mass) from the top 53 bits of one draw.
  const double u = static_cast<double>(random_() >> 11) * 0x1.0p-53 * mass;
  double cumulative = 0;
  for (size_t i = 0; i < kept; ++i) {
    cumulative += p[order[i]];
    if (u < cumulative) return order[i];
  }
  return order[kept - 1];
}

std::vector<TokenId> generate(LlamaForCausalLM& model, const std::vector<TokenId>& prompt, int64_t max_new_tokens,
                              const SamplingOptions& options, const std::vector<TokenId>& stop,
                              const std::function<void(TokenId)>& on_token) {
  if (prompt.empty()) throw Error("generation needs a prompt of at least the BOS token");
  if (max_new_tokens < 0) throw Error("the number of tokens to generate must be >= 0");
  const int64_t limit = model->config().max_position_embeddings;
  const int64_t length = static_cast<int64_t>(prompt.size()) + max_new_tokens;
  if (length > limit) {
    throw Error("the prompt's " + std::to_string(prompt.size()) + " tokens and " + std::to_string(max_new_tokens) +
                " new ones exceed the model's max_position_embeddings (" + std::to_string(limit) + ")");
  }
  TokenSampler sampler(options);
  c10::InferenceMode inference;
  KVCache cache = model->new_cache(1, length);
  int64_t position = 0;
  at::Tensor logits;
  auto step = [&](TokenId token) {
    logits = model->step(at::full({1}, token, at::kLong), at::full({1}, position, at::kLong), cache)[0];  // [V]
    position += 1;
  };
  for (TokenId token : prompt) step(token);
  std::vector<TokenId> generated;
  while (static_cast<int64_t>(generated.size()) < max_new_tokens) {
    const TokenId next = sampler.sample(logits);
    if (std::find(stop.begin(), stop.end(), next) != stop.end()) break;
    generated.push_back(next);
    on_token(next);
    if (static_cast<int64_t>(generated.size()) < max_new_tokens) step(next);
  }
  return generated;
}

}  // namespace lmc
