// Long-range repeats for the coder. The language model sees one chunk at a time, but markup, legal
// boilerplate and logs repeat across chunks far more than within one, which is where xz wins on whole
// files. MatchModel remembers every token coded so far in an archive (up to a window) and, for each
// stream, finds the last place its latest tokens occurred: in any chunk of an earlier group, or in the
// part of this group's chunks already coded at this step. Encoder and decoder know exactly those tokens,
// so the prediction is the same on both sides. The token that followed there is the prediction; a small
// integer mixer, learning online from the match length, the model's own probability of that token and
// how often such matches held, sets the probability it gets. The others share the rest in the model's
// proportions. Before that, a ContextCache (codec/context_cache.h) blends in what followed the stream's
// last few tokens elsewhere in the archive, so the match's mixer sees the model and the cache together.
//
// Every step of a group runs, for each stream b (in any order, on any thread):
//   adjust(b, table)   the model's table for b's next token, reshaped by b's prediction, if any;
//   record(b, token)   the token b coded (or decoded, or was fed);
// then once, on one thread: end_step(). All arithmetic is integer, so both sides agree bit for bit.
// Tokens are the tables' symbols (0 <= token < vocabulary); nothing here runs a model.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/context_cache.h"
#include "codec/frequencies.h"

namespace lmc {

class MatchModel {
 public:
  // Tokens remembered: the ring holds this many (rounded up to a power of two; more when a group needs
  // over half of it), the current group's included; earlier tokens are forgotten.
  static constexpr uint64_t kDefaultWindow = uint64_t{1} << 24;

  // `context_cache`: blend in a ContextCache (archives from format version 5 on).
  explicit MatchModel(uint64_t window = kDefaultWindow, bool context_cache = true);

  // A new group of chunks with these token counts, in the archive's chunk order.
  void start_group(std::span<const int64_t> token_counts);
  void adjust(int64_t stream, FrequencyTable& table);
  void record(int64_t stream, int32_t token);
  void end_step();

 private:
  static constexpr std::array<int, 2> kOrders = {4, 2};  // context lengths looked up, longest first
  static constexpr int kMinLength = kOrders.back();      // the shortest match: the shortest order
  static constexpr int kBuckets = 16;                    // mixer contexts: the match length, 2..17
  static constexpr int kMaxLength = kMinLength + kBuckets - 1;  // longer matches share the last bucket
  static constexpr int kInputs = 3;  // stretch(model's p), stretch(bucket's hit rate), bias

  struct Stream {
    uint64_t begin = 0;      // history position of the chunk's first token
    int64_t count = 0;       // its tokens
    uint64_t source = 0;     // the match: history position of the predicted token
    int length = 0;          // tokens matched before `source` (at most kMaxLength); 0: no match
    bool predicted = false;  // this step: a prediction shaped the table
    int32_t prediction = -1;
    int bucket = 0;
    std::array<int, kInputs> inputs{};
    int mixed = 0;           // the 12-bit probability the prediction got
    bool hit = false;
    ContextCache::Prediction cache_prediction;
  };

  int32_t at(uint64_t position) const { return history_[position & (history_.size() - 1)]; }
  bool known(uint64_t position) const;
  void find_match(Stream& s) const;
  void grow();  // makes the ring hold this group (group_begin_ .. group_end_) and what fits before it
  uint64_t context_hash(const Stream& s, int order, int64_t end) const;
  // The stream's tokens before this step, at most the cache's longest order, oldest first.
  std::span<const int32_t> cache_context(const Stream& s, std::array<int32_t, ContextCache::kLongestOrder>& out) const;

  uint64_t window_;
  std::vector<int32_t> history_;                      // ring, a power of two long
  uint64_t oldest_ = 0;                               // positions below this were never kept
  uint64_t group_begin_ = 0;                          // history position of this group's first token
  uint64_t group_end_ = 0;
  int64_t step_ = 0;
  std::vector<Stream> streams_;
  std::unique_ptr<ContextCache> cache_;  // null: off
  std::array<std::vector<uint64_t>, kOrders.size()> last_seen_;  // context hash -> position + 1 of what followed
  std::array<std::array<int32_t, kInputs>, kBuckets> weights_;   // 16.16 fixed point
  std::array<int32_t, kBuckets> hit_rate_;                       // 16-bit probability that a match holds
  std::array<int32_t, kBuckets> hit_count_{};
};

}  // namespace lmc
