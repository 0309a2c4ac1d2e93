// The context cache: FrequencyTable::reshape against its definition in doubles, the cache's blend
// against a Pitman-Yor hierarchy computed from plain counts, and its learned weight, which must make
// repeated contexts cheap and leave the model alone where contexts say nothing about what follows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "codec/context_cache.h"
#include "cumulative_lookups.h"
#include "peaked_logits.h"

namespace lmc {
namespace {

constexpr int kVocab = 300;

FrequencyTable random_table(int total_bits, uint64_t seed) {
  std::mt19937_64 rng(seed);
  FrequencyTable table;
  table.assign_logits(testing::peaked_logits(kVocab, 0.3, 2.0, rng), total_bits);
  return table;
}

double probability(const FrequencyTable& table, int symbol) {
  return std::ldexp(static_cast<double>(table.freq(symbol)), -table.total_bits());
}

TEST(FrequencyTable, ReshapeMatchesItsDefinition) {
  FrequencyTable table = random_table(20, 3);
  const FrequencyTable before = table;
  std::vector<FrequencyTable::SymbolProbability> given = {{250, 858993459}, {7, 2147483648}, {40, 42949673}};
  const uint64_t scale = 1717986918;  // 0.4
  table.reshape(scale, given);
  std::vector<double> wanted(kVocab);
  double sum = 0;
  for (int s = 0; s < kVocab; ++s) wanted[s] = probability(before, s) * 0.4;
  wanted[250] = 0.2, wanted[7] = 0.5, wanted[40] = 0.01;
  for (double w : wanted) sum += w;
  uint64_t total = 0;
  for (int s = 0; s < kVocab; ++s) {
    EXPECT_GE(table.freq(s), 1u);
    EXPECT_NEAR(probability(table, s), wanted[s] / sum, (kVocab + 1.0) / (1 << 20)) << "symbol " << s;
    total += table.freq(s);
  }
  EXPECT_EQ(total, uint64_t{1} << 20);
  testing::expect_lookups_follow_frequencies(table);
}

TEST(FrequencyTable, ReshapeCapsAGivenProbabilityAtOneAndLeavesAnEmptyBlendAlone) {
  const FrequencyTable before = random_table(20, 5);
  FrequencyTable table = before;
  std::vector<FrequencyTable::SymbolProbability> nothing = {{9, 0}};
  table.reshape(0, nothing);
  EXPECT_EQ(table.frequencies(), before.frequencies()) << "no weight anywhere: the table stays as it was";
  std::vector<FrequencyTable::SymbolProbability> certain = {{9, uint64_t{3} << 32}};
  table.reshape(0, certain);
  EXPECT_EQ(table.freq(9), (1u << 20) - (kVocab - 1)) << "p32 above one counts as one";
  testing::expect_lookups_follow_frequencies(table);
}

// The hierarchy written out in doubles from the counts of every (context, follower) pair seen.
class ReferenceHierarchy {
 public:
  void update(const std::vector<int32_t>& history, size_t at) {
    for (int order : ContextCache::kOrders) {
      if (static_cast<size_t>(order) > at) break;
      counts_[context(history, at, order)][history[at]] += 1;
    }
  }
  double probability(const std::vector<int32_t>& history, size_t at, int token, double model) const {
    double p = model;
    for (int order : ContextCache::kOrders) {
      if (static_cast<size_t>(order) > at) break;
      auto found = counts_.find(context(history, at, order));
      if (found == counts_.end()) continue;
      double seen = 0;
      for (const auto& [follower, count] : found->second) seen += count;
      const auto mine = found->second.find(token);
      const double discounted = mine == found->second.end() ? 0 : mine->second - 0.75;
      p = (discounted + (1 + 0.75 * static_cast<double>(found->second.size())) * p) / (seen + 1);
    }
    return p;
  }

 private:
  static std::vector<int32_t> context(const std::vector<int32_t>& history, size_t at, int order) {
    return {history.begin() + static_cast<long>(at) - order, history.begin() + static_cast<long>(at)};
  }
  std::map<std::vector<int32_t>, std::map<int32_t, int>> counts_;
};

std::span<const int32_t> context_before(const std::vector<int32_t>& history, size_t at) {
  const size_t n = std::min<size_t>(at, ContextCache::kLongestOrder);
  return {history.data() + at - n, n};
}

TEST(ContextCache, BlendsThePitmanYorHierarchyIntoTheModel) {
  // A few phrases over a small alphabet: contexts of every order recur with several followers, none
  // with more than the cache keeps.
  std::mt19937_64 rng(9);
  std::vector<std::vector<int32_t>> phrases(4);
  for (auto& phrase : phrases) {
    for (int i = 0; i < 14; ++i) phrase.push_back(static_cast<int32_t>(rng() % 12));
  }
  std::vector<int32_t> history;
  for (int i = 0; i < 12; ++i) {
    const auto& phrase = phrases[rng() % phrases.size()];
    history.insert(history.end(), phrase.begin(), phrase.end());
  }
  ContextCache cache;
  ReferenceHierarchy reference;
  const std::vector<int32_t> query = {100, 101, 102};  // tokens never seen: the table stays
  for (size_t at = 0; at < history.size(); ++at) {
    cache.update(context_before(history, at), history[at]);
    reference.update(history, at);
  }
  ContextCache::Prediction prediction;
  size_t checked = 0;
  for (size_t at = ContextCache::kLongestOrder; at <= history.size(); at += 17) {
    FrequencyTable table = random_table(24, at);
    const FrequencyTable model = table;
    cache.predict(context_before(history, at), table, prediction);
    double moved = 0;
    for (int s = 0; s < kVocab; ++s) {
      // Untrained, the cache moves the table half way from the model to the hierarchy.
      const double base = probability(model, s);
      const double wanted = 0.5 * base + 0.5 * reference.probability(history, at, s, base);
      EXPECT_NEAR(probability(table, s), wanted, 4e-5) << "position " << at << ", symbol " << s;
      moved = std::max(moved, std::abs(wanted - probability(model, s)));
    }
    EXPECT_GT(moved, 0.05) << "the contexts at " << at << " were seen: the blend must differ from the model";
    ++checked;
  }
  EXPECT_GT(checked, 5u);
  FrequencyTable table = random_table(24, 1);
  const FrequencyTable model = table;
  cache.predict(query, table, prediction);
  EXPECT_EQ(table.frequencies(), model.frequencies());
}

// Bits of coding `tokens` with the model's table reshaped by the cache, from `from` on.
double coded_bits(const std::vector<int32_t>& tokens, const FrequencyTable& model, size_t from) {
  ContextCache cache;
  ContextCache::Prediction prediction;
  double bits = 0;
  for (size_t at = 0; at < tokens.size(); ++at) {
    FrequencyTable table = model;
    const auto context = context_before(tokens, at);
    cache.predict(context, table, prediction);
    if (at >= from) bits -= std::log2(probability(table, tokens[at]));
    cache.learn(prediction, tokens[at]);
    cache.update(context, tokens[at]);
  }
  return bits;
}

FrequencyTable uniform_over(int symbols) {
  std::vector<uint32_t> freqs(kVocab, 1);
  const uint32_t total = 1 << 20;
  for (int s = 0; s < symbols; ++s) freqs[s] = (total - (kVocab - symbols)) / symbols;
  freqs[0] += total - (kVocab - symbols) - freqs[0] * symbols;
  FrequencyTable table;
  table.assign_frequencies(freqs, 20);
  return table;
}

// The cache's table for what follows `context`, from a uniform model, untrained.
FrequencyTable predicted_after(const ContextCache& cache, const std::vector<int32_t>& context) {
  FrequencyTable table = uniform_over(kVocab);
  ContextCache::Prediction prediction;
  cache.predict(context, table, prediction);
  return table;
}

TEST(ContextCache, AFullContextKeepsItsFrequentFollowerAndTheLatest) {
  ContextCache cache;
  const std::vector<int32_t> context = {7};
  for (int i = 0; i < 3; ++i) cache.update(context, 250);
  for (int32_t token = 100; token < 140; ++token) cache.update(context, token);  // 40 distinct: some must go
  const FrequencyTable model = uniform_over(kVocab);
  const FrequencyTable table = predicted_after(cache, context);
  auto gain = [&](int s) { return probability(table, s) / probability(model, s); };
  const double unseen = gain(200);
  EXPECT_GT(gain(250), 4 * unseen) << "seen three times, it outlives followers seen once";
  EXPECT_GT(gain(139), 1.5 * unseen) << "the latest follower is kept";
  int kept = 0;
  for (int32_t token = 100; token < 140; ++token) kept += gain(token) > 1.5 * unseen;
  EXPECT_EQ(kept, 30) << "31 followers fit, one of them the frequent one";
}

TEST(ContextCache, OldCountsFadeSoAContextFollowsItsRecentFollowers) {
  ContextCache cache;
  const std::vector<int32_t> context = {7};
  for (int i = 0; i < 70000; ++i) cache.update(context, 250);  // past the 16-bit counts: halved on the way
  EXPECT_GT(probability(predicted_after(cache, context), 250), 0.45);
  for (int i = 0; i < 40000; ++i) cache.update(context, 120);
  const FrequencyTable table = predicted_after(cache, context);
  EXPECT_GT(probability(table, 120), probability(table, 250)) << "without halving 250 would still lead";
  EXPECT_GT(probability(table, 250), 0.1) << "halving keeps the older follower's share, smaller";
}

TEST(ContextCache, LearnsToTrustContextsThatRepeatWhatFollows) {
  std::mt19937_64 rng(4);
  std::vector<int32_t> cycle(60), tokens;
  for (auto& t : cycle) t = static_cast<int32_t>(rng() % kVocab);
  for (int i = 0; i < 10; ++i) tokens.insert(tokens.end(), cycle.begin(), cycle.end());
  const FrequencyTable model = uniform_over(kVocab);
  const double per_token = coded_bits(tokens, model, 3 * cycle.size()) / static_cast<double>(tokens.size() - 180);
  EXPECT_LT(per_token, 0.3) << "the model alone pays " << std::log2(kVocab) << " bits";
}

TEST(ContextCache, LearnsToLeaveTheModelAloneWhereContextsSayNothing) {
  // Independent draws from the model's own distribution: every context recurs, none predicts.
  constexpr int kSymbols = 24;
  std::mt19937_64 rng(8);
  std::vector<int32_t> tokens(6000);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % kSymbols);
  const FrequencyTable model = uniform_over(kSymbols);
  const double model_bits = -std::log2(probability(model, 1));
  const double early = coded_bits({tokens.begin(), tokens.begin() + 400}, model, 0) / 400;
  const double late = coded_bits(tokens, model, 4000) / 2000;
  EXPECT_LT(late, model_bits * 1.02);
  EXPECT_LT(late, early);
}

}  // namespace
}  // namespace lmc
