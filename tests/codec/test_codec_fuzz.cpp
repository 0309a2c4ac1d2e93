// Corrupted archives must be rejected with lmc::Error or decode to something, never crash, hang or throw
// anything else: 100k random mutations of a valid archive (20k of one with packed stored chunks, 20k of
// an xz archive) (bytes flipped, replaced, inserted, deleted, truncated), each parsed and, when it
// parses, decoded with the stand-in model.
#include <gtest/gtest.h>

#include <random>

#include "codec_fuzz_input.h"

namespace lmc::testing {
namespace {

const std::vector<std::string> kChunks = {"the quick brown fox jumps", "over the lazy dog and", "then naps"};

std::vector<uint8_t> mutate(std::vector<uint8_t> bytes, std::mt19937_64& rng) {
  int edits = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
    auto value = static_cast<uint8_t>(rng());
    switch (rng() % 5) {
      case 0: bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      case 1: bytes[at] = value; break;
      case 2: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), value); break;
      case 3: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
      default: bytes.resize(at); break;
    }
  }
  return bytes;
}

TEST(CodecFuzz, SeedArchiveRoundTrips) {
  StandInModel model;
  std::vector<uint8_t> seed = make_seed_archive(model, kChunks);
  EXPECT_TRUE(fuzz_codec_input(model, seed));
  Archive archive = parse_archive(seed);
  ASSERT_EQ(archive.groups.size(), 2u);
  EXPECT_EQ(decode_chunk(model, archive.groups[1].coded_chunks()[0], kChunks[2].size()), kChunks[2]);
}

// How many of `runs` mutations of `seed` still decode cleanly; any exception but lmc::Error fails the test.
int decoded_mutations(const StandInModel& model, const std::vector<uint8_t>& seed, uint64_t rng_seed, int runs) {
  std::mt19937_64 rng(rng_seed);
  int accepted = 0;
  for (int run = 0; run < runs; ++run) {
    try {
      accepted += fuzz_codec_input(model, mutate(seed, rng));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "run " << run << ": " << e.what() << " escaped instead of lmc::Error";
      break;
    }
  }
  return accepted;
}

TEST(CodecFuzz, MutatedArchivesFailCleanly) {
  StandInModel model;
  const int kRuns = 100000;
  const int accepted = decoded_mutations(model, make_seed_archive(model, kChunks), 20240601, kRuns);
  // Only edits to bytes nothing checks (the model fingerprint, say) leave an archive that still decodes
  // to its checksum; most corruptions must be caught.
  EXPECT_LT(accepted, kRuns / 10) << accepted << " of " << kRuns << " mutated archives decoded cleanly";
  std::cout << accepted << " of " << kRuns << " mutated archives still decoded cleanly\n";
}

// The same mutations of an archive whose stored chunks are packed into an xz stream (container.h): the
// parser unpacks them through liblzma, bounded by the table's stored bytes.
TEST(CodecFuzz, MutatedPackedChunksFailCleanly) {
  StandInModel model;
  std::string repeated;
  for (int i = 0; i < 30; ++i) repeated += kChunks[i % kChunks.size()] + " ";
  const std::vector<std::string> chunks = {kChunks[0], repeated, repeated.substr(7, 200), kChunks[1]};
  const std::vector<uint8_t> seed = make_seed_archive(model, chunks, {false, true, true, false});
  ASSERT_TRUE(fuzz_codec_input(model, seed));
  ASSERT_LT(seed.size(), make_seed_archive(model, chunks, {}).size()) << "the stored chunks are not packed";
  const int kRuns = 20000;
  const int accepted = decoded_mutations(model, seed, 20261126, kRuns);
  EXPECT_LT(accepted, kRuns / 10) << accepted << " of " << kRuns << " mutated archives decoded cleanly";
  std::cout << accepted << " of " << kRuns << " mutated archives with packed chunks still decoded cleanly\n";
}

// The same mutations of an xz archive: its stream goes through liblzma's decoder, which must fail as
// cleanly, and the decoded bytes are checked against the length and checksum the archive records.
TEST(CodecFuzz, MutatedXzArchivesFailCleanly) {
  StandInModel model;
  std::string text;
  for (int i = 0; i < 40; ++i) text += kChunks[i % kChunks.size()] + " " + std::to_string(i * i) + "\n";
  const std::vector<uint8_t> seed = make_seed_xz_archive(text);
  ASSERT_TRUE(fuzz_codec_input(model, seed));
  const int kRuns = 20000;
  const int accepted = decoded_mutations(model, seed, 20261125, kRuns);
  // xz's own check (CRC64) and lmc's checksum leave almost nothing that decodes: edits to the
  // stream's padding or unchecked header bits at most.
  EXPECT_LT(accepted, kRuns / 100) << accepted << " of " << kRuns << " mutated xz archives decoded cleanly";
}

}  // namespace
}  // namespace lmc::testing
