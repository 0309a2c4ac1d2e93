// Frequency tables from logits: exact totals and floors on every shape of input, the coding loss
// against the ideal -log2 p (softmax in double with std::exp, an independent computation), bit-identical
// results from an unoptimised second build of the same source, and the cumulative lookups.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "codec/coder.h"
#include "common/error.h"
#include "peaked_logits.h"
#include "test_util.h"

namespace lmc {
namespace {

using testing::peaked_logits;
using testing::softmax;

void expect_valid(const FrequencyTable& table, size_t vocab, int total_bits) {
  ASSERT_EQ(table.vocab(), static_cast<int>(vocab));
  uint64_t sum = 0;
  for (uint32_t f : table.frequencies()) {
    ASSERT_GE(f, 1u);
    sum += f;
  }
  EXPECT_EQ(sum, uint64_t{1} << total_bits);
}

// KL(p || q) in bits: the expected extra code length per token over the ideal -log2 p.
double coding_loss(const std::vector<double>& p, const FrequencyTable& table) {
  double total = std::ldexp(1.0, table.total_bits());
  double loss = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) loss += p[i] * std::log2(p[i] * total / table.freq(static_cast<int>(i)));
  }
  return loss;
}

double entropy(const std::vector<double>& p) {
  double h = 0.0;
  for (double v : p) h -= v > 0 ? v * std::log2(v) : 0.0;
  return h;
}

// The least KL any table with a floor of 1 can reach, ignoring integer rounding: q_i = max(1/T, c p_i)
// with c chosen so that q sums to 1 (found by bisection).
double floor_bound(const std::vector<double>& p, int total_bits) {
  double floor = std::ldexp(1.0, -total_bits);
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 100; ++it) {
    double c = (lo + hi) / 2, sum = 0.0;
    for (double v : p) sum += std::max(floor, c * v);
    (sum > 1.0 ? hi : lo) = c;
  }
  double loss = 0.0;
  for (double v : p) loss += v > 0 ? v * std::log2(v / std::max(floor, lo * v)) : 0.0;
  return loss;
}

TEST(Frequencies, SumExactlyToTheTotalWithAFloorOfOne) {
  std::mt19937_64 rng(3);
  FrequencyTable table;
  for (int vocab : {1, 2, 3, 255, 256, 50257, 128256}) {
    for (int total_bits : {17, 24, 28, 30}) {
      for (double p_top : {0.3, 0.9, 0.999999}) {
        std::vector<float> logits = peaked_logits(vocab == 1 ? 2 : vocab, p_top, 3.0, rng);
        logits.resize(vocab);
        table.assign_logits(logits, total_bits);
        expect_valid(table, vocab, total_bits);
      }
    }
  }
  // Exactly one frequency per unit of total: every symbol at the floor.
  std::vector<float> logits = peaked_logits(256, 0.9, 1.0, rng);
  table.assign_logits(logits, 8);
  for (uint32_t f : table.frequencies()) EXPECT_EQ(f, 1u);
}

TEST(Frequencies, OddLogitsGiveValidTables) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  FrequencyTable table;
  table.assign_logits(std::vector<float>{1.0f, nan, 2.0f, -inf, 3e38f, -3e38f}, 24);
  expect_valid(table, 6, 24);
  EXPECT_EQ(table.freq(1), 1u);  // NaN: as unlikely as possible
  EXPECT_EQ(table.freq(3), 1u);
  EXPECT_GT(table.freq(4), (1u << 24) - 8);  // the huge logit takes (nearly) everything
  table.assign_logits(std::vector<float>{inf, 0.0f, inf}, 20);
  expect_valid(table, 3, 20);
  EXPECT_EQ(table.freq(1), 1u);
  EXPECT_LE(std::abs(static_cast<int>(table.freq(0)) - static_cast<int>(table.freq(2))), 1);
  for (float fill : {nan, -inf, 0.0f, 1e30f}) {
    table.assign_logits(std::vector<float>(1000, fill), 24);
    expect_valid(table, 1000, 24);
    EXPECT_EQ(table.freq(999), table.freq(500));  // all equal (symbol 0 takes the remainder)
  }
}

TEST(Frequencies, FollowTheSoftmax) {
  std::mt19937_64 rng(5);
  std::vector<float> logits = peaked_logits(1000, 0.5, 1.0, rng);
  std::vector<double> p = softmax(logits);
  FrequencyTable table;
  table.assign_logits(logits, 30);
  // At 2^30 no symbol is at the floor, so each frequency is p * 2^30 up to rounding and float exp and
  // products (relative error < 1e-6); symbol 0 also absorbs the remainder, a sum of 1000 roundings.
  for (int i = 0; i < 1000; ++i) {
    double expected = p[i] * std::ldexp(1.0, 30);
    EXPECT_NEAR(table.freq(i), expected, (i == 0 ? 100.0 : 2.0) + 1e-6 * expected) << "symbol " << i;
  }
}

TEST(Frequencies, IdealBitsAreMinusLog2OfTheSoftmax) {
  std::mt19937_64 rng(6);
  std::vector<float> logits = peaked_logits(4096, 0.7, 3.0, rng);
  logits[17] = logits[0] - 60.0f;  // deep in the tail, still above the -80 clamp
  std::vector<double> p = softmax(logits);
  FrequencyTable table;
  table.assign_logits(logits, 28);
  // Against the double-precision reference: logit - max rounds in float (absolute error up to
  // |logit - max| 2^-24 nats, ~1e-7 of the bits) and the polynomial exp adds ~1e-7 relative (~2e-7 bits).
  for (int i = 0; i < 4096; ++i) {
    const double expected = -std::log2(p[i]);
    EXPECT_NEAR(table.ideal_bits(i), expected, 1e-6 + 1e-7 * expected) << "symbol " << i;
  }
  table.assign_frequencies(std::vector<uint32_t>{1, 3}, 2);
  EXPECT_DOUBLE_EQ(table.ideal_bits(0), 2.0);
  EXPECT_DOUBLE_EQ(table.ideal_bits(1), 2.0 - std::log2(3.0));
}

TEST(Frequencies, RejectsUnsupportedTotals) {
  FrequencyTable table;
  std::vector<float> logits(300, 0.0f);
  EXPECT_THROW(table.assign_logits(logits, 8), Error);  // 300 symbols cannot all have 1 of 256
  EXPECT_THROW(table.assign_logits(logits, 31), Error);
  EXPECT_THROW(table.assign_logits({}, 24), Error);
  try {
    table.assign_logits(logits, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "frequency total of 2^0 is outside the supported 2^1..2^30");
  }
  EXPECT_THROW(table.assign_frequencies(std::vector<uint32_t>{1, 2}, 2), Error);     // sums to 3
  EXPECT_THROW(table.assign_frequencies(std::vector<uint32_t>{0, 4}, 2), Error);     // a zero
  EXPECT_NO_THROW(table.assign_frequencies(std::vector<uint32_t>{1, 3}, 2));
}

TEST(Frequencies, LookupsAgreeWithTheFrequencies) {
  std::mt19937_64 rng(9);
  FrequencyTable table;
  for (int vocab : {1, 2, 63, 64, 65, 1000, 128256}) {
    table.assign_logits(peaked_logits(std::max(vocab, 2), 0.6, 4.0, rng), 24);
    if (vocab == 1) table.assign_frequencies(std::vector<uint32_t>{1u << 24}, 24);
    uint64_t cum = 0;
    for (int s = 0; s < table.vocab(); ++s) {
      ASSERT_EQ(table.cum(s), cum);
      FrequencyTable::Slot first = table.find(cum);
      FrequencyTable::Slot last = table.find(cum + table.freq(s) - 1);
      ASSERT_EQ(first.symbol, s);
      ASSERT_EQ(last.symbol, s);
      ASSERT_EQ(first.cum, cum);
      ASSERT_EQ(first.freq, table.freq(s));
      cum += table.freq(s);
    }
  }
}

// The loss LMCompress-style coding pays for integer frequencies, on peaked softmaxes over a Llama 3
// sized vocabulary. Relative to the cross-entropy it must stay under 0.1% wherever the floor of 1 per
// symbol allows: at 2^24 for moderately spread logits, at 2^28 for all spreads with p_top <= 0.9
// (deeper tails put more of the 128k symbols under the floor; see the printed table).
TEST(Frequencies, CodingLossIsNegligibleOnPeakedDistributions) {
  std::mt19937_64 rng(17);
  FrequencyTable table;
  std::printf("sigma p_top H(bits) | KL/H at 2^24, 2^28, 2^30 | floor bound at 2^24\n");
  for (double sigma : {1.0, 2.0, 3.0, 4.0, 6.0}) {
    for (double p_top : {0.5, 0.7, 0.9, 0.99}) {
      std::vector<float> logits = peaked_logits(128256, p_top, sigma, rng);
      std::vector<double> p = softmax(logits);
      double h = entropy(p);
      double rel[3];
      int i = 0;
      for (int total_bits : {24, 28, 30}) {
        table.assign_logits(logits, total_bits);
        double loss = coding_loss(p, table);
        EXPECT_GE(loss, 0.0);
        rel[i++] = loss / h;
        if (total_bits == 24) {
          // Integer rounding costs little beyond what the floor itself forces.
          EXPECT_LE(loss, 1.1 * floor_bound(p, 24) + 2e-4) << "sigma " << sigma << " p_top " << p_top;
        }
      }
      std::printf("%5.1f %5.2f %8.3f | %.4f%% %.4f%% %.4f%% | %.4f%%\n", sigma, p_top, h, 100 * rel[0],
                  100 * rel[1], 100 * rel[2], 100 * floor_bound(p, 24) / h);
      if (p_top <= 0.9) {
        if (sigma <= 2.0) {
          EXPECT_LT(rel[0], 1e-3) << "2^24, sigma " << sigma << " p_top " << p_top;
        }
        EXPECT_LT(rel[1], 1e-3) << "2^28, sigma " << sigma << " p_top " << p_top;
      }
      EXPECT_LT(rel[2], 2e-3) << "2^30, sigma " << sigma << " p_top " << p_top;
    }
  }
}

// Reads logits, writes frequencies, as the unoptimised build in quantize_reference does.
TEST(Frequencies, UnoptimisedBuildGivesIdenticalTables) {
  testing::TempDir dir;
  std::mt19937_64 rng(23);
  FrequencyTable table;
  for (int total_bits : {24, 28, 30}) {
    std::vector<float> logits = peaked_logits(128256, 0.8, 3.0, rng);
    logits[17] = std::numeric_limits<float>::quiet_NaN();
    logits[99] = -std::numeric_limits<float>::infinity();
    std::string in(reinterpret_cast<const char*>(logits.data()), logits.size() * sizeof(float));
    testing::write_file(dir / "logits.f32", in);
    auto result = testing::run_command(std::string(LMC_QUANTIZE_REFERENCE) + " " + std::to_string(total_bits) + " " +
                                       (dir / "logits.f32").string() + " " + (dir / "freqs.u32").string());
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::string reference = testing::read_file(dir / "freqs.u32");
    table.assign_logits(logits, total_bits);
    ASSERT_EQ(reference.size(), table.frequencies().size() * sizeof(uint32_t));
    EXPECT_EQ(std::memcmp(reference.data(), table.frequencies().data(), reference.size()), 0)
        << "total bits " << total_bits;
  }
}

TEST(Frequencies, ReusedTableEqualsFreshTable) {
  std::mt19937_64 rng(29);
  FrequencyTable reused;
  for (int vocab : {128256, 300, 5000, 128256}) {
    std::vector<float> logits = peaked_logits(vocab, 0.7, 2.0, rng);
    reused.assign_logits(logits, 28);
    FrequencyTable fresh;
    fresh.assign_logits(logits, 28);
    EXPECT_EQ(reused.frequencies(), fresh.frequencies());
  }
}

// Archives depend on these exact integers: changing the quantisation in any way breaks every archive
// already written, so it must come with a new archive format version. This pins the table of a fixed
// input (logits from an integer generator, no library randomness) to its hash.
TEST(Frequencies, QuantisationIsPinned) {
  std::vector<float> logits(128256);
  uint32_t state = 12345;
  for (float& x : logits) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(static_cast<int32_t>(state >> 8) % 20000) / 1000.0f - 10.0f;
  }
  logits[4242] = 25.0f;
  FrequencyTable table;
  table.assign_logits(logits, 28);
  uint64_t hash = XXH64(table.frequencies().data(), table.frequencies().size() * sizeof(uint32_t), 0);
  EXPECT_EQ(hash, 0xf4e18784c4d9f142ULL) << std::hex << hash;
}

}  // namespace
}  // namespace lmc
