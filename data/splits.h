// Train/validation/test split sizes as in LMCompress (first 64 MiB train, next 16 MiB validation, the rest
// test), given as byte counts ("64MB", "16MiB", "1048576") or fractions of the corpus ("0.8"), and the
// document order they are cut from: shuffled by a seed, or input order without one. The cut itself is by
// bytes: a document that does not fit in the room a split has left is split at the boundary, so each split
// gets exactly its size. This file only plans; prepare.cpp writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/corpus.h"

namespace lmc::data {

struct SplitSize {
  bool is_fraction = false;
  uint64_t bytes = 0;
  double fraction = 0;

  static SplitSize of_bytes(uint64_t n) { return SplitSize{false, n, 0}; }
  static SplitSize of_fraction(double f) { return SplitSize{true, 0, f}; }
};

// Sizes: an integer with an optional unit B, K/KB/KiB (2^10), M/MB/MiB (2^20), G/GB/GiB (2^30), case-blind.
uint64_t parse_byte_size(std::string_view text);
// A byte size as above, or a fraction in [0, 1] written with a decimal point ("0.8", ".1", "1.0").
SplitSize parse_split_size(std::string_view text);
// "64 MiB (67108864 bytes)"-style text for messages.
std::string describe_bytes(uint64_t bytes);

struct SplitPlan {
  uint64_t train_bytes = 0;
  uint64_t val_bytes = 0;
  uint64_t test_bytes = 0;       // the rest
  std::vector<uint32_t> order;   // indices into Corpus::docs, in the order the splits are filled
};

// Throws lmc::Error if the corpus is empty or train + val exceed it (saying how to fix it).
SplitPlan plan_splits(const Corpus& corpus, SplitSize train, SplitSize val, std::optional<uint64_t> seed);

}  // namespace lmc::data
