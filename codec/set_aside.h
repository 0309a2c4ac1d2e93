// Which chunks of a group to store rather than keep the model's code for. A chunk coding does not
// shrink is always stored. The container packs a group's stored chunks into one xz stream when that is
// smaller (container.h), so storing more of them can pay: a binary part of a text file, a table of
// numbers, a group that repeats itself more than the model and its caches see. The choice weighs, for a
// few thresholds on the model's coded size over the original size, the group's size with the chunks
// above it stored and packed, and keeps the smallest.
#pragma once

#include <cstdint>
#include <vector>

namespace lmc {

// `contents`: what each chunk holds when stored (its bytes, or for PCM audio its samples' bytes);
// `coded_bytes`: the model's code for it. True where the chunk is to be stored.
std::vector<bool> chunks_to_store(const std::vector<std::vector<uint8_t>>& contents,
                                  const std::vector<uint64_t>& coded_bytes);

}  // namespace lmc
