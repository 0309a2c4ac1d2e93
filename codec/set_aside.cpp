#include "codec/set_aside.h"

#include <array>
#include <string>

#include "codec/container.h"
#include "common/error.h"

namespace lmc {
namespace {

// Coded size over original size above which a chunk is set aside, from the most selective (chunks the
// model barely shrinks: its English text codes near 0.2, where xz -9e takes 0.3 or more) to every chunk.
constexpr std::array<double, 4> kSetAsideRatios = {0.6, 0.45, 0.3, 0.0};

}  // namespace

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
