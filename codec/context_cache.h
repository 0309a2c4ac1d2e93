// What followed each short run of tokens earlier in the archive. The language model sees one chunk and
// knows nothing of the file it is in; JSON keys, XML tags, citations and names recur across a file with
// statistics of their own. For the last 1, 2, 3, 4, 5, 6, 8, 10, 12 and 16 tokens of a stream,
// ContextCache keeps the tokens that followed that context before (up to 31 per context, with counts)
// and blends them into the model's table as a Pitman-Yor (interpolated Kneser-Ney) hierarchy whose base
// distribution is the model: from the shortest context to the longest, each order takes its discounted
// counts and passes the rest of the mass, in the shorter orders' proportions, down to the model. Tokens
// no context saw keep the model's proportions. How far the table moves from the model to that blend is
// learned online for each longest order found, how often that context was seen (1, 2, 3 or more times)
// and whether one token has followed it (as far as its counts remember: they halve with age, so old
// followers fade from this too): novels repeat short contexts without repeating what follows them, JSON
// and XML repeat both.
//
// All arithmetic is integer (32-bit fixed-point probabilities), so encoder and decoder agree bit for
// bit. predict() only reads the cache; learn() and update() change it, and the caller makes those calls
// in the same order on both sides (MatchModel::end_step).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/frequencies.h"

namespace lmc {

class ContextCache {
 public:
  static constexpr std::array<int, 10> kOrders = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
  static constexpr int kLongestOrder = kOrders.back();

  ContextCache();

  // What a prediction needs to learn from its outcome; the caller keeps one per stream, reused so that
  // predicting allocates nothing.
  struct Prediction {
    struct Entry {
      int symbol;
      uint64_t cache;  // the blend's probability, 2^32 is 1
      uint64_t model;  // the model's
      uint32_t index_position;  // its cell in `index`, cleared before the next prediction
    };
    std::vector<Entry> entries;  // the tokens the contexts saw
    std::vector<int32_t> index;  // finds a token's entry
    uint64_t others_scale = 0;   // the blend's probability of any other token, over the model's (2^32 is 1)
    int weight = -1;             // the learned weight it used; -1: no context was found
    std::vector<FrequencyTable::SymbolProbability> mixed;
  };

  // `context`: the stream's latest tokens in the chunk, oldest first (the last kLongestOrder of them
  // suffice). Reshapes `table`.
  void predict(std::span<const int32_t> context, FrequencyTable& table, Prediction& prediction) const;
  // `token` was coded after `prediction`: moves the weight it used towards what would have cost less.
  void learn(const Prediction& prediction, int32_t token);
  // `token` followed `context`.
  void update(std::span<const int32_t> context, int32_t token);

 private:
  static constexpr int kFollowers = 31;
  struct Slot {
    uint32_t check = 0;     // the context hash's high bits; 0: empty
    uint32_t total = 0;     // times the context was seen, evicted followers included
    uint32_t distinct = 0;  // distinct followers ever seen, evicted ones included
    int32_t used = 0;
    std::array<int32_t, kFollowers> token{};
    std::array<uint16_t, kFollowers> count{};
  };

  // The first of the two slots that may hold the context of `order` ending `context`, and its check.
  static std::pair<uint64_t, uint32_t> locate(std::span<const int32_t> context, int order);
  const Slot* find(std::span<const int32_t> context, int order) const;
  static uint32_t index_position(const Prediction& prediction, int32_t token);
  Slot& find_or_claim(std::span<const int32_t> context, int order);

  struct FreeSlots {
    void operator()(Slot* slots) const;
  };
  // From calloc: pages are mapped as contexts first land in them, so a small file does not pay for
  // zeroing all 210 MB up front.
  std::unique_ptr<Slot[], FreeSlots> slots_;
  // The blend's share against the model's (2^16 is 1) for each longest order, times seen 1, 2 or 3+
  // times, times one follower or more.
  std::array<int32_t, kOrders.size() * 3 * 2> weight_;
};

}  // namespace lmc
