// The match model: FrequencyTable::give_probability's arithmetic, round trips through the range coder
// with encoder and decoder each driving their own MatchModel (on one or two threads, across groups,
// with a window smaller than the archive), what repeats cost, and the rule that keeps the two sides
// in step: a stream may only be predicted from tokens the decoder already has.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codec/coder.h"
#include "codec/container.h"
#include "codec/match_model.h"
#include "cumulative_lookups.h"
#include "peaked_logits.h"

namespace lmc {
namespace {

constexpr int kVocab = 500;
constexpr int kTotalBits = 16;

using Group = std::vector<std::vector<int32_t>>;  // one token sequence per stream

// The "model": peaked logits that depend only on (group, stream, step), so both sides rebuild them,
// with the peak on a token unrelated to the data.
void model_table(FrequencyTable& table, size_t group, size_t stream, size_t step) {
  std::mt19937_64 rng(group * 1000003 + stream * 7919 + step);
  table.assign_logits(testing::peaked_logits(kVocab, 0.3, 1.0, rng), kTotalBits);
}

// Logits from integer hashes alone, with no std:: distribution (their draws differ between standard
// libraries), so that the pinned archives below are the same wherever the tests build.
void hashed_model_table(FrequencyTable& table, size_t group, size_t stream, size_t step) {
  uint64_t state = group * 1000003 + stream * 7919 + step;
  auto next = [&state] {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<float> logits(kVocab);
  for (float& x : logits) x = static_cast<float>(next() >> 40) * 0x1p-22f - 2.0f;  // exact: [-2, 2)
  logits[next() % kVocab] += 6.0f;
  table.assign_logits(logits, kTotalBits);
}

using ModelTable = void (*)(FrequencyTable&, size_t group, size_t stream, size_t step);

// Runs `body(stream)` for every stream of a step, on `threads` threads, as the group coder does.
template <typename Body>
void for_streams(size_t streams, int threads, Body body) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t b = static_cast<size_t>(t); b < streams; b += static_cast<size_t>(threads)) body(b);
    });
  }
  for (auto& th : pool) th.join();
}

std::vector<int64_t> counts_of(const Group& group) {
  std::vector<int64_t> counts;
  for (const auto& s : group) counts.push_back(static_cast<int64_t>(s.size()));
  return counts;
}

size_t longest(const Group& group) {
  size_t n = 0;
  for (const auto& s : group) n = std::max(n, s.size());
  return n;
}

struct Coded {
  std::vector<std::vector<std::vector<uint8_t>>> payloads;  // [group][stream]
  std::vector<size_t> group_bytes;
  size_t bytes = 0;
  double model_bits = 0;
  size_t adjusted = 0;  // tables the match model changed
};

Coded encode(const std::vector<Group>& groups, MatchModel matches, int threads, ModelTable model = model_table) {
  Coded out;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    const auto counts = counts_of(group);
    std::vector<RangeEncoder> encoders(group.size());
    std::vector<FrequencyTable> tables(group.size());
    std::vector<double> bits(group.size(), 0.0);
    std::vector<size_t> adjusted(group.size(), 0);
    matches.start_group(counts);
    for (size_t t = 0; t < longest(group); ++t) {
      for_streams(group.size(), threads, [&](size_t b) {
        if (t >= group[b].size()) return;
        model(tables[b], g, b, t);
        bits[b] += tables[b].ideal_bits(group[b][t]);
        const std::vector<uint32_t> before = tables[b].frequencies();
        matches.adjust(static_cast<int64_t>(b), tables[b]);
        adjusted[b] += tables[b].frequencies() != before;
        encode_symbol(encoders[b], tables[b], group[b][t]);
        matches.record(static_cast<int64_t>(b), group[b][t]);
      });
      matches.end_step();
    }
    out.payloads.emplace_back();
    out.group_bytes.push_back(0);
    for (size_t b = 0; b < group.size(); ++b) {
      out.payloads.back().push_back(encoders[b].finish());
      out.group_bytes.back() += out.payloads.back().back().size();
      out.bytes += out.payloads.back().back().size();
      out.model_bits += bits[b];
      out.adjusted += adjusted[b];
    }
  }
  return out;
}

std::vector<Group> decode(const Coded& coded, const std::vector<Group>& shape, MatchModel matches, int threads,
                          ModelTable model = model_table) {
  std::vector<Group> out;
  for (size_t g = 0; g < shape.size(); ++g) {
    const auto counts = counts_of(shape[g]);
    std::vector<RangeDecoder> decoders;
    for (const auto& p : coded.payloads[g]) decoders.emplace_back(p);
    std::vector<FrequencyTable> tables(counts.size());
    Group tokens(counts.size());
    matches.start_group(counts);
    for (size_t t = 0; t < longest(shape[g]); ++t) {
      for_streams(counts.size(), threads, [&](size_t b) {
        if (static_cast<int64_t>(t) >= counts[b]) return;
        model(tables[b], g, b, t);
        matches.adjust(static_cast<int64_t>(b), tables[b]);
        tokens[b].push_back(decode_symbol(decoders[b], tables[b]));
        matches.record(static_cast<int64_t>(b), tokens[b].back());
      });
      matches.end_step();
    }
    out.push_back(tokens);
  }
  return out;
}

// mt19937_64's output is fixed by the standard, so these tokens are the same with every standard library.
std::vector<int32_t> random_tokens(size_t n, std::mt19937_64& rng) {
  std::vector<int32_t> out(n);
  for (auto& t : out) t = static_cast<int32_t>(rng() % kVocab);
  return out;
}

// Groups cut from a few "documents" that reuse each other's passages, plus noise, in uneven lengths.
std::vector<Group> repetitive_groups(std::mt19937_64& rng, size_t groups, size_t streams) {
  std::vector<std::vector<int32_t>> passages;
  for (int i = 0; i < 6; ++i) passages.push_back(random_tokens(40 + 10 * i, rng));
  std::vector<Group> out(groups);
  for (auto& group : out) {
    for (size_t b = 0; b < streams; ++b) {
      std::vector<int32_t> s;
      const size_t parts = 1 + rng() % 4;
      for (size_t p = 0; p < parts; ++p) {
        const auto& passage = passages[rng() % passages.size()];
        const size_t from = rng() % (passage.size() / 2);
        s.insert(s.end(), passage.begin() + static_cast<long>(from), passage.end());
        const auto noise = random_tokens(rng() % 8, rng);
        s.insert(s.end(), noise.begin(), noise.end());
      }
      group.push_back(s);
    }
  }
  return out;
}

TEST(GiveProbability, KeepsTheTotalTheFloorAndTheOthersProportions) {
  std::mt19937_64 rng(3);
  // (total bits, vocabulary): a vocabulary of 2^total_bits has every symbol at the floor.
  for (auto [total_bits, vocab] : {std::pair{1, 2}, {10, 1000}, {10, 1024}, {16, 1000}, {24, 1000}, {30, 1000}}) {
    for (uint32_t p12 : {1u, 100u, 2048u, 4000u, 4095u}) {
      FrequencyTable table;
      table.assign_logits(testing::peaked_logits(vocab, 0.2, 2.0, rng), total_bits);
      const std::vector<uint32_t> before = table.frequencies();
      const double ideal = table.ideal_bits(1);
      const int symbol = static_cast<int>(rng() % static_cast<uint64_t>(vocab));
      table.give_probability(symbol, p12);
      const uint64_t total = uint64_t{1} << total_bits;
      const uint64_t floor = before.size() - 1;
      uint64_t target = total_bits >= 12 ? uint64_t{p12} << (total_bits - 12) : uint64_t{p12} >> (12 - total_bits);
      target = std::clamp<uint64_t>(target, 1, total - floor);
      uint64_t sum = 0;
      for (uint32_t f : table.frequencies()) {
        ASSERT_GE(f, 1u);
        sum += f;
      }
      EXPECT_EQ(sum, total);
      EXPECT_GE(table.freq(symbol), target);
      EXPECT_LE(table.freq(symbol), target + before.size()) << "only rounding goes to the symbol";
      const double spare_before = static_cast<double>(total - before[symbol] - floor);
      const double spare_after = static_cast<double>(total - target - floor);
      for (size_t s = 0; s < before.size(); ++s) {
        if (static_cast<int>(s) == symbol) continue;
        const double exact = spare_before == 0 ? 1.0 : 1.0 + (before[s] - 1.0) * spare_after / spare_before;
        // Rounding down, plus the 30-bit fixed-point factor's own rounding (relative, well under 1e-5 here).
        EXPECT_NEAR(table.freq(static_cast<int>(s)), exact, 1.0 + exact * 1e-5) << "symbol " << s;
      }
      EXPECT_EQ(table.ideal_bits(1), ideal) << "ideal_bits reports the model's probabilities";
      testing::expect_lookups_follow_frequencies(table);
    }
  }
}

TEST(MatchModel, RoundTripsAcrossGroupsAndThreadsBitForBit) {
  std::mt19937_64 rng(11);
  const auto groups = repetitive_groups(rng, 5, 7);
  for (uint64_t window : {uint64_t{1024}, MatchModel::kDefaultWindow}) {
    const Coded one = encode(groups, MatchModel(window), 1);
    const Coded two = encode(groups, MatchModel(window), 2);
    EXPECT_EQ(one.payloads, two.payloads) << "the thread count must not change a bit";
    EXPECT_GT(one.adjusted, 0u);
    EXPECT_EQ(decode(one, groups, MatchModel(window), 2), groups) << "window " << window;
  }
}

// Archives before format version 5 were coded without the context cache: they must still decode, and
// the cache must matter, or the version would not need to say so.
TEST(MatchModel, CodesWithOrWithoutTheContextCache) {
  std::mt19937_64 rng(12);
  const auto groups = repetitive_groups(rng, 4, 5);
  const Coded with = encode(groups, MatchModel(), 2);
  const Coded without = encode(groups, MatchModel(MatchModel::kDefaultWindow, false), 2);
  EXPECT_EQ(decode(without, groups, MatchModel(MatchModel::kDefaultWindow, false), 1), groups);
  EXPECT_EQ(decode(with, groups, MatchModel(), 1), groups);
  EXPECT_NE(with.payloads, without.payloads);
  EXPECT_LT(with.bytes, without.bytes) << "passages recur: what followed a context is worth knowing";
}

TEST(MatchModel, GrowsItsWindowForAGroupLargerThanIt) {
  std::mt19937_64 rng(5);
  std::vector<Group> groups = repetitive_groups(rng, 2, 3);
  groups.push_back({random_tokens(900, rng), random_tokens(900, rng)});  // 1800 tokens > 1024 / 2
  groups.push_back(groups[0]);
  const Coded coded = encode(groups, MatchModel(1024), 2);
  EXPECT_EQ(decode(coded, groups, MatchModel(1024), 1), groups);
  // Growing kept what the smaller ring held: the repeat of the first group is still found.
  EXPECT_LT(coded.group_bytes.back() * 3, coded.group_bytes.front());
}

TEST(MatchModel, RepeatsCostLittleAndNoveltyCostsWhatTheModelSays) {
  std::mt19937_64 rng(7);
  const std::vector<int32_t> text = random_tokens(600, rng);
  const Coded first = encode({{text}}, MatchModel(), 1);
  const Coded twice = encode({{text}, {text}}, MatchModel(), 1);
  const size_t second_group = twice.bytes - first.bytes;
  EXPECT_LT(second_group * 10, first.bytes) << "a repeat of an earlier group costs under a tenth";
  // Random tokens rarely repeat a context: the mixer must learn to leave the model's tables nearly alone.
  EXPECT_LT(static_cast<double>(first.bytes) * 8, first.model_bits * 1.02 + 64);
}

// The archives' own checksum over every payload, each preceded by its size so that where one ends counts.
uint64_t payload_checksum(const Coded& coded) {
  ContentChecksum checksum;
  for (const auto& group : coded.payloads) {
    for (const auto& payload : group) {
      const std::string size = std::to_string(payload.size()) + ":";
      checksum.update(size);
      checksum.update({reinterpret_cast<const char*>(payload.data()), payload.size()});
    }
  }
  return checksum.digest();
}

// Archives in users' hands must decode with every later build, so the integers a format produces are
// frozen: these are the payloads as format 5 (with the context cache) and formats 3 and 4 (without it)
// were released. A failure here means a change altered an existing format's coding; give the new coding
// a new format version instead, and keep the old one for the old archives.
TEST(MatchModel, CodesAsTheReleasedFormatsDid) {
  std::mt19937_64 rng(21);
  const auto groups = repetitive_groups(rng, 3, 4);
  const Coded five = encode(groups, MatchModel(), 2, hashed_model_table);
  const Coded four = encode(groups, MatchModel(MatchModel::kDefaultWindow, false), 2, hashed_model_table);
  EXPECT_EQ(five.bytes, 756u);
  EXPECT_EQ(payload_checksum(five), 44775444927916778ull);
  EXPECT_EQ(four.bytes, 851u);
  EXPECT_EQ(payload_checksum(four), 743632429271543578ull);
  EXPECT_EQ(decode(five, groups, MatchModel(), 1, hashed_model_table), groups);
}

TEST(MatchModel, PredictsOnlyFromTokensTheDecoderAlreadyHas) {
  // No context repeats inside a stream, so any prediction would have to come from the other stream.
  std::vector<int32_t> distinct(200);
  for (int32_t i = 0; i < 200; ++i) distinct[i] = i;
  // Identical streams in one group reach each context at the same step, before either knows what
  // follows it: nothing may be predicted.
  EXPECT_EQ(encode({{distinct, distinct}}, MatchModel(), 1).adjusted, 0u);
  // Delayed by five tokens, the second stream can follow the first, which is five steps ahead.
  std::vector<int32_t> delayed = {400, 401, 402, 403, 404};
  delayed.insert(delayed.end(), distinct.begin(), distinct.end() - 5);
  const Coded coded = encode({{distinct, delayed}}, MatchModel(), 2);
  EXPECT_GT(coded.adjusted, 150u);
  EXPECT_EQ(decode(coded, {{distinct, delayed}}, MatchModel(), 2), (std::vector<Group>{{distinct, delayed}}));
}

}  // namespace
}  // namespace lmc
