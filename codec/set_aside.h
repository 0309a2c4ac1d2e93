// Which chunks of a group to store rather than keep the model's code for. A chunk coding does not
// shrink is always stored. The container packs a group's stored chunks into one xz stream when that is
// smaller (container.h), so storing more of them can pay: a binary part of a text file, a table of
// numbers, a group that repeats itself more than the model and its caches see. The choice weighs, for a
// few thresholds on the model's coded size over the original size, the group's size with the chunks
// above it stored and packed, and keeps the smallest.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lmc {

// A chunk of text or bytes that is stored without running the model on it at all: over an eighth of its
// bytes are foreign to text, that is control characters other than tab, line breaks, form feed and
// escape, NULs outside runs of padding, and bytes that fit no UTF-8 pattern (a lead byte and its
// continuation bytes; overlong forms and surrogates pass): machine code, compressed or encrypted data,
// images, UTF-16. No chunk of lmc's text corpora has such a share, and the model, which spends its full
// time on them (about one token per byte), codes them worse than xz packs them: lmc compressed a binary at
// a few KB/s only to keep xz's archive in the end. A reader applies the same test to a stored chunk (from
// format 13), so the archive needs no flag for it. Not for audio, whose symbols are 7-bit samples, not text.
bool bypasses_model(std::span<const uint8_t> chunk);

// `contents`: what each chunk holds when stored (its bytes, or for PCM audio its samples' bytes);
// `coded_bytes`: the model's code for it (UINT64_MAX: none, it is stored). True where the chunk is to be
// stored.
std::vector<bool> chunks_to_store(const std::vector<std::vector<uint8_t>>& contents,
                                  const std::vector<uint64_t>& coded_bytes);

}  // namespace lmc
