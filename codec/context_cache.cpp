#include "codec/context_cache.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/error.h"

namespace lmc {
namespace {

constexpr int kSlotBits = 20;  // 2^20 contexts in pairs of slots, about 210 MB
// Kneser-Ney's usual discount, 0.75, and a concentration of 1, both in quarters so counts stay integers:
// an order passes (1 + 0.75 * distinct followers) / (seen + 1) of its mass down to the shorter orders.
constexpr uint64_t kConcentration4 = 4;
constexpr uint64_t kDiscount4 = 3;
// Counts halve at this total: keeps every product below 2^51 and lets old statistics fade.
constexpr uint32_t kHalveAt = 65535;
constexpr uint64_t kOne = uint64_t{1} << 32;
// The prediction's symbol index: at most kOrders.size() * kFollowers = 310 entries, under a third full.
constexpr int kIndexBits = 10;
constexpr uint32_t kIndexSize = 1u << kIndexBits;
constexpr int64_t kWeightOne = 1 << 16;
constexpr int64_t kLearningRate = 131;  // 0.002 of the weight's range per unit of gradient

}  // namespace

// Untrained, the table moves half way to the blend: trusting the cache fully from the start costs more on
// text whose short contexts mislead than it gains where they repeat (measured on the held-out samples).
// An all-zero Slot is an empty one (check 0), and Slot is an aggregate, so calloc's zeroed bytes are slots.
ContextCache::ContextCache()
    : slots_(static_cast<Slot*>(std::calloc(size_t{1} << kSlotBits, sizeof(Slot)))) {
  if (!slots_) throw Error("the context cache's " + std::to_string((sizeof(Slot) << kSlotBits) >> 20) +
                           " MiB could not be allocated");
  static_assert(kOrders.size() * kFollowers <= kIndexSize / 2, "the prediction's index must stay at most half full");
  weight_.fill(kWeightOne / 2);
}

void ContextCache::FreeSlots::operator()(Slot* slots) const { std::free(slots); }

std::pair<uint64_t, uint32_t> ContextCache::locate(std::span<const int32_t> context, int order) {
  uint64_t h = static_cast<uint64_t>(order);
  for (size_t j = context.size() - static_cast<size_t>(order); j < context.size(); ++j) {
    h = (h + static_cast<uint64_t>(static_cast<uint32_t>(context[j])) + 1) * 0x9E3779B97F4A7C15ull;
  }
  return {(h >> (64 - kSlotBits)) & ~uint64_t{1}, static_cast<uint32_t>(h >> 20) | 1};
}

const ContextCache::Slot* ContextCache::find(std::span<const int32_t> context, int order) const {
  const auto [index, check] = locate(context, order);
  for (uint64_t i = index; i < index + 2; ++i) {
    if (slots_[i].check == check) return &slots_[i];
  }
  return nullptr;
}

// A context new to the cache takes the emptier of its two slots: the one seen less often.
ContextCache::Slot& ContextCache::find_or_claim(std::span<const int32_t> context, int order) {
  const auto [index, check] = locate(context, order);
  for (uint64_t i = index; i < index + 2; ++i) {
    if (slots_[i].check == check) return slots_[i];
  }
  Slot& claimed = slots_[index].total <= slots_[index + 1].total ? slots_[index] : slots_[index + 1];
  claimed = Slot{.check = check};
  return claimed;
}

// Where `token` is in the prediction's index: its entry's position there, or the free one it would take.
uint32_t ContextCache::index_position(const Prediction& prediction, int32_t token) {
  uint32_t position = (static_cast<uint32_t>(token) * 0x9E3779B1u) >> (32 - kIndexBits);
  while (prediction.index[position] >= 0 && prediction.entries[prediction.index[position]].symbol != token) {
    position = (position + 1) % kIndexSize;
  }
  return position;
}

void ContextCache::predict(std::span<const int32_t> context, FrequencyTable& table, Prediction& prediction) const {
  auto& entries = prediction.entries;
  auto& index = prediction.index;  // open addressing, symbol -> position in entries; -1: free
  if (index.empty()) index.assign(kIndexSize, -1);
  for (const auto& e : entries) index[e.index_position] = -1;
  entries.clear();
  prediction.weight = -1;
  uint64_t others_scale = kOne;  // the mass every order so far passed down, as a fraction of the model's
  const int shift = 32 - table.total_bits();
  for (size_t k = 0; k < kOrders.size(); ++k) {
    if (kOrders[k] > static_cast<int>(context.size())) break;
    const Slot* found = find(context, kOrders[k]);
    if (found == nullptr || found->total == 0) continue;
    const Slot& slot = *found;
    const uint64_t passed = kConcentration4 + kDiscount4 * slot.distinct;
    const uint64_t seen = 4 * uint64_t{slot.total} + kConcentration4;
    for (auto& known : entries) known.cache = passed * known.cache / seen;
    for (int i = 0; i < slot.used; ++i) {
      const int32_t token = slot.token[i];
      if (token < 0 || token >= table.vocab()) continue;
      const uint64_t discounted = (4 * uint64_t{slot.count[i]} - kDiscount4) << 32;
      const uint32_t position = index_position(prediction, token);
      if (index[position] >= 0) {
        entries[index[position]].cache += discounted / seen;
        continue;
      }
      const uint64_t model = uint64_t{table.freq(token)} << shift;
      index[position] = static_cast<int32_t>(entries.size());
      entries.push_back({token, (discounted + passed * ((others_scale * model) >> 32)) / seen, model, position});
    }
    others_scale = others_scale * passed / seen;
    prediction.weight = static_cast<int>((k * 3 + std::min<uint32_t>(slot.total, 3) - 1) * 2 + (slot.distinct == 1));
  }
  prediction.others_scale = others_scale;
  if (prediction.weight < 0) return;
  const uint64_t weight = static_cast<uint64_t>(weight_[prediction.weight]);
  const uint64_t rest = static_cast<uint64_t>(kWeightOne) - weight;
  auto mix = [&](uint64_t model, uint64_t cache) { return (rest * model + weight * cache) >> 16; };
  prediction.mixed.clear();
  for (const auto& e : entries) prediction.mixed.push_back({e.symbol, mix(e.model, std::min(e.cache, kOne))});
  table.reshape(mix(kOne, others_scale), prediction.mixed);
}

void ContextCache::learn(const Prediction& prediction, int32_t token) {
  if (prediction.weight < 0) return;
  // Gradient ascent on log p(token) over the weight: d/dw log((1 - w) model + w cache) is
  // (cache - model) / mixed; for a token no context saw, cache = others_scale * model.
  int64_t cache = static_cast<int64_t>(std::min(prediction.others_scale, kOne)), model = int64_t{kOne};
  if (const int32_t entry = prediction.index[index_position(prediction, token)]; entry >= 0) {
    cache = static_cast<int64_t>(std::min(prediction.entries[entry].cache, kOne));
    model = static_cast<int64_t>(prediction.entries[entry].model);
  }
  int32_t& weight = weight_[prediction.weight];
  const int64_t mixed = (((kWeightOne - weight) * model + weight * cache) >> 16) + 1;
  const int64_t step = std::clamp<int64_t>(kLearningRate * (cache - model) / mixed, -kWeightOne, kWeightOne);
  weight = static_cast<int32_t>(std::clamp<int64_t>(weight + step, 0, kWeightOne));
}

void ContextCache::update(std::span<const int32_t> context, int32_t token) {
  for (const int order : kOrders) {
    if (order > static_cast<int>(context.size())) break;
    Slot& slot = find_or_claim(context, order);
    const auto stored = slot.token.begin() + slot.used;
    auto follower = std::find(slot.token.begin(), stored, token);
    if (follower == stored) {
      ++slot.distinct;
      if (slot.used < kFollowers) {
        ++slot.used;
      } else {  // full: the least seen makes room
        follower = slot.token.begin() + (std::min_element(slot.count.begin(), slot.count.end()) - slot.count.begin());
      }
      *follower = token;
      slot.count[follower - slot.token.begin()] = 0;
    }
    const size_t i = static_cast<size_t>(follower - slot.token.begin());
    ++slot.count[i];
    ++slot.total;
    if (slot.total >= kHalveAt || slot.count[i] == UINT16_MAX) {
      slot.total = (slot.total + 1) / 2;
      slot.distinct = (slot.distinct + 1) / 2;
      for (int j = 0; j < slot.used; ++j) slot.count[j] = static_cast<uint16_t>((slot.count[j] + 1) / 2);
    }
  }
}

}  // namespace lmc
