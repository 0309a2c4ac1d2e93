// chunks_to_store: which chunks of a group are stored (and packed with xz by the container) instead of
// keeping the model's code, judged by the sizes the container would really write; bypasses_model: which
// are stored without the model ever seeing them.
#include <gtest/gtest.h>

#include <string>

#include "codec/container.h"
#include "codec/set_aside.h"
#include "common/error.h"
#include "test_util.h"

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

// Prose with `count` copies of `foreign` spread through it, replacing its bytes.
std::vector<uint8_t> prose_with(const std::string& foreign, size_t count, size_t size = 2048) {
  std::vector<uint8_t> chunk = prose(size, 3);
  const size_t stride = size / count;
  for (size_t k = 0; k < count; ++k) std::copy(foreign.begin(), foreign.end(), chunk.begin() + k * stride);
  return chunk;
}

TEST(BypassesModel, TextInAnyScriptGoesToTheModel) {
  EXPECT_FALSE(bypasses_model(prose(2048, 1)));
  std::string utf8;
  while (utf8.size() < 2100) utf8 += "Καλημέρα κόσμε, 你好世界, привет мир, 🙂 naïve café. ";
  EXPECT_FALSE(bypasses_model(bytes_of(utf8.substr(0, 2048))));
  // Chunks split files at fixed offsets: a character cut at either end of the chunk is still text.
  for (size_t cut = 1; cut < 8; ++cut) EXPECT_FALSE(bypasses_model(bytes_of(utf8.substr(cut, 2047)))) << cut;
  EXPECT_FALSE(bypasses_model(bytes_of(std::string(2046, 'a') + "\xe4\xbd")));
  // In chunks this short one foreign byte is over the line, so the cut characters must count as text.
  EXPECT_FALSE(bypasses_model(bytes_of("\x80\x80\x80" "a")));
  EXPECT_TRUE(bypasses_model(bytes_of("\x80\x80\x80\x80"))) << "no character has four continuation bytes";
  EXPECT_FALSE(bypasses_model(bytes_of("\xe4\xbd")));
  EXPECT_FALSE(bypasses_model(bytes_of("a\xf0\x9f")));
  EXPECT_TRUE(bypasses_model(bytes_of("\xe4" "a")));
  // Latin-1 French: each accented letter is a byte no UTF-8 sequence starts with, one in thirty or so.
  EXPECT_FALSE(bypasses_model(prose_with("\xe9", 70)));
  // Terminal colours, form feeds, tabs and CR LF are text; so are the NUL runs tar pads text with.
  EXPECT_FALSE(bypasses_model(prose_with("\x1b[31m\t\f\r\n\v", 100)));
  std::vector<uint8_t> tar_like = prose(2048, 4);
  std::fill(tar_like.begin() + 700, tar_like.begin() + 1500, uint8_t{0});
  EXPECT_FALSE(bypasses_model(tar_like));
}

TEST(BypassesModel, BinaryDataBypassesIt) {
  EXPECT_TRUE(bypasses_model(bytes_of(testing::random_bytes(2048, 1))));
  EXPECT_TRUE(bypasses_model(counters(2048, 1000)));
  // Tables of small integers and UTF-16 text: NULs that are not padding.
  EXPECT_TRUE(bypasses_model(counters(2048, 0)));
  std::vector<uint8_t> utf16;
  for (uint8_t c : prose(1024, 5)) utf16.insert(utf16.end(), {c, uint8_t{0}});
  EXPECT_TRUE(bypasses_model(utf16));
  EXPECT_TRUE(bypasses_model(bytes_of("\x01")));
  EXPECT_FALSE(bypasses_model(bytes_of("a")));
}

// Over an eighth of the chunk foreign, and not at an eighth: control bytes, lone NULs, bytes no UTF-8
// sequence starts with, and lead bytes whose continuation is missing each count once; a run of 15 NULs
// counts 15, one of 16 is padding.
TEST(BypassesModel, TheLineIsAnEighthOfTheBytes) {
  for (const std::string& foreign : std::vector<std::string>{"\x01", "\x7f", "\xff", "\xc0", "\xe2" "a", std::string(1, '\0')}) {
    SCOPED_TRACE(static_cast<int>(static_cast<uint8_t>(foreign[0])));
    EXPECT_FALSE(bypasses_model(prose_with(foreign, 256)));
    EXPECT_TRUE(bypasses_model(prose_with(foreign, 257)));
  }
  EXPECT_FALSE(bypasses_model(prose_with("\xe2\x82\xac", 400))) << "400 euro signs are text";
  EXPECT_TRUE(bypasses_model(prose_with(std::string(15, '\0'), 18)));
  EXPECT_FALSE(bypasses_model(prose_with(std::string(16, '\0'), 18)));
}

}  // namespace
}  // namespace lmc
