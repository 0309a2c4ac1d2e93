// chunks_to_store: which chunks of a group are stored (and packed with xz by the container) instead of
// keeping the model's code, judged by the sizes the container would really write.
#include <gtest/gtest.h>

#include <string>

#include "codec/container.h"
#include "codec/set_aside.h"
#include "common/error.h"

namespace lmc {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// Words drawn at random from a small list: prose-like text that xz shrinks only so far.
std::vector<uint8_t> prose(size_t size, uint64_t seed) {
  static const char* kWords[] = {"the", "river", "ran", "past", "an", "old", "mill", "where", "children",
                                 "played", "until", "dusk", "and", "lanterns", "glowed", "softly", "over",
                                 "quiet", "water", "while", "dogs", "barked", "far", "away", "in", "town"};
  std::string text;
  while (text.size() < size) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    text += kWords[(seed >> 33) % std::size(kWords)];
    text += (seed >> 20) % 9 == 0 ? ". " : " ";
  }
  return bytes_of(text.substr(0, size));
}

// Little-endian counters: a table of numbers, which xz packs to almost nothing.
std::vector<uint8_t> counters(size_t size, uint32_t first) {
  std::vector<uint8_t> out;
  for (uint32_t v = first; out.size() < size; ++v) {
    for (int b = 0; b < 4 && out.size() < size; ++b) out.push_back(static_cast<uint8_t>(v >> (8 * b)));
  }
  return out;
}

std::vector<uint64_t> coded_at(const std::vector<std::vector<uint8_t>>& contents, double ratio) {
  std::vector<uint64_t> sizes;
  for (const auto& c : contents) sizes.push_back(static_cast<uint64_t>(ratio * static_cast<double>(c.size())));
  return sizes;
}

TEST(SetAside, ProseTheModelCodesWellKeepsTheModelsCode) {
  std::vector<std::vector<uint8_t>> contents;
  for (uint64_t i = 0; i < 8; ++i) contents.push_back(prose(2048, i));
  const auto stored = chunks_to_store(contents, coded_at(contents, 0.12));
  EXPECT_EQ(stored, std::vector<bool>(8, false));
}

TEST(SetAside, ChunksTheModelCodesBadlyAreStoredWhenXzPacksThemSmaller) {
  std::vector<std::vector<uint8_t>> contents;
  for (uint64_t i = 0; i < 4; ++i) {
    contents.push_back(prose(2048, i));
    contents.push_back(counters(2048, static_cast<uint32_t>(512 * i)));
  }
  std::vector<uint64_t> coded;
  for (size_t i = 0; i < contents.size(); ++i) coded.push_back(i % 2 == 0 ? 250 : 1000);  // prose 0.12, numbers 0.49
  const auto stored = chunks_to_store(contents, coded);
  EXPECT_EQ(stored, (std::vector<bool>{false, true, false, true, false, true, false, true}));
  std::string numbers;
  for (size_t i = 1; i < contents.size(); i += 2) numbers.append(contents[i].begin(), contents[i].end());
  EXPECT_LT(pack_stored_bytes(numbers).size(), 4 * 1000u) << "storing them must have paid";
}

TEST(SetAside, AGroupThatRepeatsItselfIsStoredWhole) {
  // The same 2 KB eight times: each chunk alone looks like prose to the model, xz sees the repeats.
  const std::vector<std::vector<uint8_t>> contents(8, prose(2048, 7));
  const auto stored = chunks_to_store(contents, coded_at(contents, 0.2));
  EXPECT_EQ(stored, std::vector<bool>(8, true));
}

TEST(SetAside, ChunksCodingDoesNotShrinkAreStoredWhateverXzDoes) {
  std::vector<std::vector<uint8_t>> contents = {prose(2048, 1), prose(100, 2)};
  std::vector<uint64_t> coded = {200, 100};  // the second coded to its own size
  EXPECT_EQ(chunks_to_store(contents, coded), (std::vector<bool>{false, true}));
  EXPECT_THROW(chunks_to_store(contents, {200}), Error);
}

}  // namespace
}  // namespace lmc
