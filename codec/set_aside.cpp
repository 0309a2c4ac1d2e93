#include "codec/set_aside.h"

#include <algorithm>
#include <array>
#include <string>

#include "codec/container.h"
#include "common/error.h"

namespace lmc {
namespace {

// Coded size over original size above which a chunk is set aside, from the most selective (chunks the
// model barely shrinks: its English text codes near 0.2, where xz -9e takes 0.3 or more) to every chunk.
constexpr std::array<double, 4> kSetAsideRatios = {0.6, 0.45, 0.3, 0.0};

// A chunk bypasses the model when more than 1/kForeignShare of its bytes are foreign.
constexpr size_t kForeignShare = 8;

bool continuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// Continuation bytes after a UTF-8 lead byte; -1 for a byte no valid sequence starts with.
int continuations(uint8_t lead) {
  if (lead < 0x80) return 0;
  if (lead >= 0xC2 && lead <= 0xDF) return 1;
  if (lead >= 0xE0 && lead <= 0xEF) return 2;
  if (lead >= 0xF0 && lead <= 0xF4) return 3;
  return -1;
}

// NULs in runs at least this long are padding (tar and other containers of text pad with them, and the
// model and the match model code them cheaply); shorter runs are binary: tables of small integers, UTF-16.
constexpr size_t kPaddingRun = 16;

// Control characters text does not use (NUL is judged by its run).
bool foreign_control(uint8_t byte) {
  switch (byte) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case 0x1B: return false;
    default: return byte < 0x20 || byte == 0x7F;
  }
}

}  // namespace

bool bypasses_model(std::span<const uint8_t> chunk) {
  size_t foreign = 0, i = 0;
  // A character cut by the chunk's start or end is text: chunks split files at fixed byte offsets.
  while (i < chunk.size() && i < 3 && continuation(chunk[i])) ++i;
  while (i < chunk.size()) {
    const uint8_t byte = chunk[i];
    if (byte == 0) {
      const size_t run_end = std::find_if(chunk.begin() + i, chunk.end(), [](uint8_t b) { return b != 0; }) - chunk.begin();
      if (run_end - i < kPaddingRun) foreign += run_end - i;
      i = run_end;
      continue;
    }
    const int tail = continuations(byte);
    if (tail <= 0) {
      foreign += tail < 0 || foreign_control(byte) ? 1 : 0;
      ++i;
      continue;
    }
    const size_t full = i + 1 + static_cast<size_t>(tail);
    size_t end = i + 1;
    while (end < std::min(full, chunk.size()) && continuation(chunk[end])) ++end;
    if (end == full || end == chunk.size()) {
      i = end;
    } else {
      ++foreign;
      ++i;
    }
  }
  return foreign * kForeignShare > chunk.size();
}

std::vector<bool> chunks_to_store(const std::vector<std::vector<uint8_t>>& contents,
                                  const std::vector<uint64_t>& coded_bytes) {
  const size_t n = contents.size();
  if (coded_bytes.size() != n) throw Error("chunks_to_store needs one coded size per chunk");
  auto group_bytes = [&](const std::vector<bool>& stored) {
    std::string stored_bytes;
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      if (stored[i]) {
        stored_bytes.append(contents[i].begin(), contents[i].end());
      } else {
        total += coded_bytes[i];
      }
    }
    const std::vector<uint8_t> packed = pack_stored_bytes(stored_bytes);
    return total + (packed.empty() ? stored_bytes.size() : packed.size());
  };
  std::vector<bool> best(n);
  for (size_t i = 0; i < n; ++i) best[i] = coded_bytes[i] >= contents[i].size();
  uint64_t best_bytes = group_bytes(best);
  std::vector<bool> previous = best;
  for (double ratio : kSetAsideRatios) {
    std::vector<bool> stored = best;
    for (size_t i = 0; i < n; ++i) {
      stored[i] = stored[i] || static_cast<double>(coded_bytes[i]) > ratio * static_cast<double>(contents[i].size());
    }
    if (stored == previous) continue;
    previous = stored;
    if (const uint64_t bytes = group_bytes(stored); bytes < best_bytes) {
      best_bytes = bytes;
      best = stored;
    }
  }
  return best;
}

}  // namespace lmc
