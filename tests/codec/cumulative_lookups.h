// The range coder's lookups must follow a table's frequencies after every in-place change (assign,
// give_probability, reshape): cum(s) is the sum below s, find() maps both ends of s's range back to s,
// and the ranges end at the total.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "codec/frequencies.h"

namespace lmc::testing {

inline void expect_lookups_follow_frequencies(const FrequencyTable& table) {
  uint64_t below = 0;
  for (int s = 0; s < table.vocab(); ++s) {
    ASSERT_EQ(table.cum(s), below) << "symbol " << s;
    ASSERT_EQ(table.find(below).symbol, s) << "symbol " << s;
    below += table.freq(s);
    ASSERT_EQ(table.find(below - 1).symbol, s) << "symbol " << s;
  }
  EXPECT_EQ(below, uint64_t{1} << table.total_bits());
}

}  // namespace lmc::testing
