// The mixer works in the logistic domain (codec/logistic.h), so every value is an integer and both
// sides of the coder compute the same ones.
#include "codec/match_model.h"

#include <algorithm>

#include "codec/logistic.h"

namespace lmc {
namespace {

constexpr int kHashBits = 20;            // entries per context table: 2^20
constexpr int64_t kLearningRate = 16;    // weight step per unit of input x error, in 2^-14 of 16.16
constexpr int32_t kHitCountLimit = 60;   // the hit rate adapts as a running mean, then at 1/62 per match
constexpr int32_t kHitRateLimit = 32;    // keeps the 16-bit hit rate inside (0, 1)

constexpr uint64_t next_power_of_two(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

}  // namespace

MatchModel::MatchModel(uint64_t window, bool context_cache)
    : window_(next_power_of_two(std::max<uint64_t>(window, 1024))),
      cache_(context_cache ? std::make_unique<ContextCache>() : nullptr) {
  for (auto& table : last_seen_) table.assign(size_t{1} << kHashBits, 0);
  // Start by trusting the model, and the match's record a little: the mixer learns the rest.
  for (auto& w : weights_) w = {65536, 19661, 0};
  hit_rate_.fill(32768);
}

void MatchModel::start_group(std::span<const int64_t> token_counts) {
  group_begin_ = group_end_;
  step_ = 0;
  streams_.assign(token_counts.size(), Stream{});
  uint64_t position = group_begin_;
  for (size_t b = 0; b < token_counts.size(); ++b) {
    streams_[b].begin = position;
    streams_[b].count = token_counts[b];
    position += static_cast<uint64_t>(std::max<int64_t>(token_counts[b], 0));
  }
  group_end_ = position;
  grow();
}

// The ring holds at least the whole group and everything before it that fits in the window. Growing
// keeps what it can of the old ring; positions older than that count as unknown.
void MatchModel::grow() {
  const uint64_t wanted = std::max(std::min(window_, group_end_), 2 * (group_end_ - group_begin_));
  const uint64_t size = next_power_of_two(std::max<uint64_t>(wanted, 1024));
  if (size <= history_.size()) return;
  std::vector<int32_t> bigger(size);
  const uint64_t keep = std::min<uint64_t>(group_begin_, history_.size());
  for (uint64_t p = group_begin_ - keep; p < group_begin_; ++p) bigger[p & (size - 1)] = at(p);
  history_.swap(bigger);
  oldest_ = std::max(oldest_, group_begin_ - keep);
}

bool MatchModel::known(uint64_t position) const {
  if (position < oldest_ || position + history_.size() < group_end_ || position >= group_end_) return false;
  if (position < group_begin_) return true;
  auto after = std::upper_bound(streams_.begin(), streams_.end(), position,
                                [](uint64_t p, const Stream& s) { return p < s.begin; });
  return static_cast<int64_t>(position - std::prev(after)->begin) < step_;
}

uint64_t MatchModel::context_hash(const Stream& s, int order, int64_t end) const {
  uint64_t h = static_cast<uint64_t>(order);
  for (int64_t j = end - order; j < end; ++j) {
    h = (h + static_cast<uint64_t>(at(s.begin + static_cast<uint64_t>(j))) + 1) * 0x9E3779B97F4A7C15ull;
  }
  return h >> (64 - kHashBits);
}

std::span<const int32_t> MatchModel::cache_context(const Stream& s,
                                                  std::array<int32_t, ContextCache::kLongestOrder>& out) const {
  const int64_t n = std::min<int64_t>(step_, ContextCache::kLongestOrder);
  for (int64_t j = 0; j < n; ++j) out[j] = at(s.begin + static_cast<uint64_t>(step_ - n + j));
  return {out.data(), static_cast<size_t>(n)};
}

void MatchModel::find_match(Stream& s) const {
  const uint64_t end = s.begin + static_cast<uint64_t>(step_);
  for (size_t i = 0; i < kOrders.size(); ++i) {
    const int order = kOrders[i];
    if (step_ < order) continue;
    const uint64_t entry = last_seen_[i][context_hash(s, order, step_)];
    if (entry == 0) continue;
    const uint64_t source = entry - 1;
    int length = 0;
    while (length < kMaxLength && length < step_ && source > static_cast<uint64_t>(length) &&
           known(source - 1 - length) && at(source - 1 - length) == at(end - 1 - length)) {
      ++length;
    }
    if (length >= order) {  // not a hash collision (order >= kMinLength)
      s.source = source;
      s.length = length;
      return;
    }
  }
}

void MatchModel::adjust(int64_t stream, FrequencyTable& table) {
  Stream& s = streams_[stream];
  if (cache_) {
    std::array<int32_t, ContextCache::kLongestOrder> context;
    cache_->predict(cache_context(s, context), table, s.cache_prediction);
  }
  if (s.length == 0) find_match(s);
  if (s.length == 0 || !known(s.source)) return;
  const int32_t prediction = at(s.source);
  if (prediction < 0 || prediction >= table.vocab()) return;
  const int bits = table.total_bits();
  const uint64_t freq = table.freq(prediction);
  const int model_p12 = static_cast<int>(bits >= 12 ? freq >> (bits - 12) : freq << (12 - bits));
  s.bucket = s.length - kMinLength;
  s.inputs = {logistic::stretch(model_p12), logistic::stretch(hit_rate_[s.bucket] >> 4), logistic::kBiasInput};
  s.mixed = logistic::mix(weights_[s.bucket], s.inputs);
  s.prediction = prediction;
  s.predicted = true;
  table.give_probability(prediction, static_cast<uint32_t>(s.mixed));
}

void MatchModel::record(int64_t stream, int32_t token) {
  Stream& s = streams_[stream];
  history_[(s.begin + static_cast<uint64_t>(step_)) & (history_.size() - 1)] = token;
  s.hit = s.predicted && token == s.prediction;
  if (s.hit) {
    // The history is in file order (from format 13 without the chunks that bypass the model), so a match
    // may run on into the next chunk: the same text continues.
    ++s.source;
    s.length = std::min(s.length + 1, kMaxLength);
  } else {
    s.length = 0;
  }
}

void MatchModel::end_step() {
  // One thread, stream order: the mixer learns the same way on both sides whatever ran the step.
  for (Stream& s : streams_) {
    if (!s.predicted) continue;
    s.predicted = false;
    logistic::learn(weights_[s.bucket], s.inputs, s.mixed, s.hit, kLearningRate);
    int32_t& rate = hit_rate_[s.bucket];
    int32_t& count = hit_count_[s.bucket];
    rate = std::clamp(rate + ((s.hit ? 65536 : 0) - rate) / (count + 2), kHitRateLimit, 65536 - kHitRateLimit);
    count = std::min(count + 1, kHitCountLimit);
  }
  for (const Stream& s : streams_) {
    if (step_ >= s.count) continue;
    if (cache_) {
      const int32_t token = at(s.begin + static_cast<uint64_t>(step_));
      cache_->learn(s.cache_prediction, token);
      std::array<int32_t, ContextCache::kLongestOrder> context;
      cache_->update(cache_context(s, context), token);
    }
    for (size_t i = 0; i < kOrders.size(); ++i) {
      if (step_ >= kOrders[i]) {
        last_seen_[i][context_hash(s, kOrders[i], step_)] = s.begin + static_cast<uint64_t>(step_) + 1;
      }
    }
  }
  ++step_;
}

}  // namespace lmc
