#include "codec/lockstep.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "common/error.h"
#include "infer/scoring.h"

namespace lmc {

LockstepPredictor::LockstepPredictor(LlamaForCausalLM model, TokenId bos)
    : model_(std::move(model)), bos_(bos), vocab_(model_->config().vocab_size) {}

void LockstepPredictor::start(int64_t streams, int64_t max_tokens) {
  if (streams <= 0) throw Error("a group needs at least one chunk");
  // The cache holds every position of the longest chunk: more than the model's context is refused on
  // both sides (decompress() first, as a corrupt chunk table), so the decoder cannot allocate without bound.
  check_fits_context(model_->config(), max_tokens);
  // The cache is reused across groups of the same shape: stale entries are masked by position.
  if (cache_.batch() != streams || cache_.capacity() < max_tokens) {
    c10::InferenceMode guard;
    cache_ = model_->new_cache(streams, std::max<int64_t>(max_tokens, 1));
  }
  streams_ = streams;
  position_ = 0;
}

const float* LockstepPredictor::step(const std::vector<TokenId>& previous) {
  if (static_cast<int64_t>(previous.size()) != streams_) throw Error("step() needs one token per stream");
  if (position_ >= cache_.capacity()) throw Error("group ran past its token budget");
  c10::InferenceMode guard;
  std::vector<int64_t> tokens(streams_, bos_);
  if (position_ > 0) {
    for (int64_t b = 0; b < streams_; ++b) {
      if (previous[b] >= vocab_) throw Error("token id " + std::to_string(previous[b]) + " out of range");
      if (previous[b] >= 0) tokens[b] = previous[b];
    }
  }
  auto input = at::from_blob(tokens.data(), {streams_}, at::kLong).clone();
  auto positions = at::full({streams_}, position_, at::kLong);
  logits_ = model_->step(input, positions, cache_).to(at::kCPU, at::kFloat).contiguous();  // [B, V]
  ++position_;
  return logits_.data_ptr<float>();
}

}  // namespace lmc
