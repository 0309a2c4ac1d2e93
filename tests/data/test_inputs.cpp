// Input handling: tar members against Python's tarfile, corpus scanning (directories, globs, JSONL,
// modality filtering), split sizes and plans, and the seeded permutations.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "data/corpus.h"
#include "data/shard_reader.h"
#include "data/shuffle.h"
#include "data/splits.h"
#include "data/tar.h"
#include "data_test_util.h"

namespace lmc::data {
namespace {

using lmc::testing::data_inputs;
using lmc::testing::error_of;

namespace fs = std::filesystem;
using lmc::testing::TempDir;
using lmc::testing::write_file;

TEST(DataTar, MembersMatchPythonTarfile) {
  for (const char* format : {"ustar", "pax", "gnu"}) {
    std::ifstream in(data_inputs() / "tar" / (std::string(format) + ".json"));
    auto want = nlohmann::json::parse(in);
    auto members = list_tar_members(data_inputs() / "tar" / (std::string(format) + ".tar"));
    ASSERT_EQ(members.size(), want.size()) << format;
    for (size_t i = 0; i < members.size(); ++i) {
      EXPECT_EQ(members[i].name, want[i]["name"].get<std::string>()) << format;
      EXPECT_EQ(members[i].offset, want[i]["offset"].get<uint64_t>()) << format << " " << members[i].name;
      EXPECT_EQ(members[i].size, want[i]["size"].get<uint64_t>()) << format << " " << members[i].name;
    }
  }
}

TEST(DataTar, CorruptAndTruncatedArchivesFail) {
  TempDir dir;
  std::string tar = lmc::testing::read_file(data_inputs() / "tar/ustar.tar");
  std::string corrupt = tar;
  corrupt[512 + 10] ^= 0x20;  // a name byte of the second header (docs/a.txt): checksum no longer matches
  write_file(dir / "corrupt.tar", corrupt);
  std::string message = error_of([&] { list_tar_members(dir / "corrupt.tar"); });
  EXPECT_NE(message.find("bad header checksum at offset 512"), std::string::npos) << message;
  EXPECT_NE(message.find("corrupt.tar"), std::string::npos) << message;
  write_file(dir / "short.tar", tar.substr(0, 1024 + 100));
  message = error_of([&] { list_tar_members(dir / "short.tar"); });
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

// A ustar header for a regular file, its 12-byte size field given as is.
std::string tar_header(const std::string& name, const std::array<uint8_t, 12>& size_field) {
  std::string header(512, '\0');
  header.replace(0, name.size(), name);
  std::copy(size_field.begin(), size_field.end(), header.begin() + 124);
  header[156] = '0';
  header.replace(257, 6, std::string("ustar\0", 6));
  header.replace(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum);
  header.replace(148, 7, std::string(checksum, 7));
  return header;
}

TEST(DataTar, ASizeThatWrapsPastTheEndIsRefused) {
  TempDir dir;
  std::array<uint8_t, 12> one{};
  std::fill(one.begin(), one.begin() + 11, '0');
  one[10] = '1';
  // GNU base-256: 2^64 - 1536, which the next header's offset (1536) would wrap back to offset 0.
  std::array<uint8_t, 12> forged{0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x00};
  std::string tar = tar_header("a.txt", one) + std::string(512, 'a') + tar_header("b.txt", forged) +
                    std::string(1024, '\0');
  write_file(dir / "forged.tar", tar);
  std::string message = error_of([&] { list_tar_members(dir / "forged.tar"); });
  EXPECT_NE(message.find("member at offset 1024 claims 18446744073709550080 bytes"), std::string::npos) << message;
}

class DataCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "docs/sub");
    write_file(dir_ / "docs/b.txt", "bee\n");
    write_file(dir_ / "docs/a.xml", "<a>x</a>");
    write_file(dir_ / "docs/.hidden.txt", "secret");
    write_file(dir_ / "docs/sub/c.txt", "");
    fs::copy_file(data_inputs() / "wav/pcm16_mono.wav", dir_ / "docs/sound.wav");
    write_file(dir_ / "d.jsonl", "{\"text\": \"caf\\u00e9\", \"id\": 1}\n\n{\"text\": \"two\\nlines\"}\r\n");
  }
  std::vector<std::string> names(const Corpus& corpus) {
    std::vector<std::string> out;
    for (const auto& doc : corpus.docs) out.push_back(document_name(corpus, doc));
    return out;
  }
  TempDir dir_;
};

TEST_F(DataCorpus, DirectoriesGlobsAndJsonl) {
  std::string docs = (dir_ / "docs").string();
  std::string jsonl = (dir_ / "d.jsonl").string();
  Corpus corpus = scan_corpus({docs, jsonl, (dir_ / "docs/*.txt").string()}, ScanOptions{});
  EXPECT_EQ(names(corpus), (std::vector<std::string>{docs + "/a.xml", docs + "/b.txt", docs + "/sub/c.txt",
                                                     jsonl + ":1", jsonl + ":3", docs + "/b.txt"}));
  EXPECT_EQ(corpus.skipped, std::vector<std::string>{docs + "/sound.wav"});
  // "café" is 5 UTF-8 bytes, "two\nlines" 9.
  EXPECT_EQ(corpus.total_bytes, 8u + 4u + 0u + 5u + 9u + 4u);
}

TEST_F(DataCorpus, AudioModalityTakesOnlyAudio) {
  Corpus corpus = scan_corpus({(dir_ / "docs").string()}, ScanOptions{Modality::Audio, "text"});
  ASSERT_EQ(corpus.docs.size(), 1u);
  EXPECT_EQ(corpus.docs[0].kind, DocKind::Wav);
  EXPECT_EQ(corpus.docs[0].size, 2002u);  // 1001 16-bit samples
  EXPECT_EQ(corpus.docs[0].format, (PcmFormat{16000, 1, 16}));
  EXPECT_EQ(corpus.skipped.size(), 3u);
}

TEST_F(DataCorpus, ClearErrors) {
  auto scan = [&](const std::vector<std::string>& in, ScanOptions options = {}) {
    return error_of([&] { scan_corpus(in, options); });
  };
  EXPECT_NE(scan({(dir_ / "missing.txt").string()}).find("cannot read " + (dir_ / "missing.txt").string()),
            std::string::npos);
  EXPECT_NE(scan({(dir_ / "nothing*.txt").string()}).find("no files match"), std::string::npos);
  EXPECT_NE(scan({(dir_ / "docs/sound.wav").string()}).find("is audio: use --modality audio"), std::string::npos);
  EXPECT_NE(scan({(dir_ / "docs/b.txt").string()}, ScanOptions{Modality::Audio, "text"}).find("not a .wav or .flac"),
            std::string::npos);
  std::string field = scan({(dir_ / "d.jsonl").string()}, ScanOptions{Modality::Text, "body"});
  EXPECT_NE(field.find("d.jsonl: line 1: no string field \"body\""), std::string::npos) << field;
  write_file(dir_ / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": oops}\n");
  std::string bad = scan({(dir_ / "bad.jsonl").string()});
  EXPECT_NE(bad.find("bad.jsonl: line 2: not valid JSON"), std::string::npos) << bad;
  fs::copy_file(data_inputs() / "wav/float32.wav", dir_ / "float.wav");
  std::string wav = scan({(dir_ / "float.wav").string()}, ScanOptions{Modality::Audio, "text"});
  EXPECT_NE(wav.find("float.wav: WAV: codec IEEE float is not integer PCM"), std::string::npos) << wav;
}

TEST_F(DataCorpus, TarMembersAreDocuments) {
  fs::path tar = data_inputs() / "tar/pax.tar";
  Corpus corpus = scan_corpus({tar.string()}, ScanOptions{});
  ASSERT_EQ(corpus.docs.size(), 4u);
  EXPECT_EQ(document_name(corpus, corpus.docs[0]), tar.string() + ":docs/a.txt");
  EXPECT_EQ(corpus.total_bytes, 600u + 0u + 512u + 9u);
}

TEST(DataSplits, SizesAndFractions) {
  EXPECT_EQ(parse_byte_size("64MB"), uint64_t{64} << 20);
  EXPECT_EQ(parse_byte_size("16mib"), uint64_t{16} << 20);
  EXPECT_EQ(parse_byte_size("512K"), 512u * 1024u);
  EXPECT_EQ(parse_byte_size("1GB"), uint64_t{1} << 30);
  EXPECT_EQ(parse_byte_size("1234"), 1234u);
  EXPECT_EQ(parse_byte_size("7B"), 7u);
  SplitSize f = parse_split_size("0.8");
  EXPECT_TRUE(f.is_fraction);
  EXPECT_DOUBLE_EQ(f.fraction, 0.8);
  EXPECT_FALSE(parse_split_size("2048").is_fraction);
  EXPECT_NE(error_of([] { parse_split_size("1.5"); }).find("a fraction must be a number in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_byte_size("64XB"); }).find("unknown unit"), std::string::npos);
  EXPECT_NE(error_of([] { parse_byte_size("lots"); }).find("bad size 'lots'"), std::string::npos);
}

Corpus sized_corpus(std::vector<uint64_t> sizes) {
  Corpus corpus;
  for (uint64_t s : sizes) {
    DocRef doc;
    doc.size = s;
    corpus.docs.push_back(doc);
    corpus.total_bytes += s;
  }
  return corpus;
}

TEST(DataSplits, PlanChecksFitAndOrders) {
  Corpus corpus = sized_corpus({100, 200, 300, 400});
  SplitPlan plan = plan_splits(corpus, SplitSize::of_fraction(0.55), SplitSize::of_bytes(100), std::nullopt);
  EXPECT_EQ(plan.train_bytes, 550u);
  EXPECT_EQ(plan.val_bytes, 100u);
  EXPECT_EQ(plan.test_bytes, 350u);
  EXPECT_EQ(plan.order, (std::vector<uint32_t>{0, 1, 2, 3}));

  std::string message = error_of(
      [&] { plan_splits(corpus, SplitSize::of_bytes(900), SplitSize::of_bytes(200), std::nullopt); });
  EXPECT_NE(message.find("split sizes do not fit: train 900 bytes + validation 200 bytes exceed the corpus, "
                         "which has 1000 bytes"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--train-bytes"), std::string::npos);
  EXPECT_NE(error_of([] { plan_splits(Corpus{}, SplitSize::of_bytes(1), SplitSize::of_bytes(1), 1); })
                .find("empty corpus"),
            std::string::npos);

  auto a = plan_splits(sized_corpus(std::vector<uint64_t>(50, 1)), SplitSize::of_bytes(10), SplitSize::of_bytes(10), 7);
  auto b = plan_splits(sized_corpus(std::vector<uint64_t>(50, 1)), SplitSize::of_bytes(10), SplitSize::of_bytes(10), 7);
  auto c = plan_splits(sized_corpus(std::vector<uint64_t>(50, 1)), SplitSize::of_bytes(10), SplitSize::of_bytes(10), 8);
  EXPECT_EQ(a.order, b.order);
  EXPECT_NE(a.order, c.order);
  EXPECT_EQ(std::set<uint32_t>(a.order.begin(), a.order.end()).size(), 50u);
}

TEST(DataShuffle, SplitMix64MatchesReferenceVectors) {
  // The first outputs of Vigna's splitmix64.c for seed 1234567.
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng.next(), 6457827717110365317ull);
  EXPECT_EQ(rng.next(), 3203168211198807973ull);
  EXPECT_EQ(rng.next(), 9817491932198370423ull);
}

TEST(DataShuffle, EpochOrderGivesDisjointEqualShares) {
  const int64_t n = 103;
  std::set<int64_t> seen;
  for (int rank = 0; rank < 4; ++rank) {
    auto mine = epoch_order(n, 11, 0, rank, 4);
    EXPECT_EQ(mine.size(), 25u);
    for (int64_t i : mine) {
      EXPECT_TRUE(i >= 0 && i < n);
      EXPECT_TRUE(seen.insert(i).second) << "item " << i << " given to two ranks";
    }
  }
  EXPECT_EQ(epoch_order(n, 11, 0, 1, 4), epoch_order(n, 11, 0, 1, 4));
  EXPECT_NE(epoch_order(n, 11, 0, 1, 4), epoch_order(n, 11, 1, 1, 4));
  auto in_order = epoch_order(10, std::nullopt, 3, 1, 2);
  EXPECT_EQ(in_order, (std::vector<int64_t>{1, 3, 5, 7, 9}));
  EXPECT_THROW(epoch_order(10, 1, 0, 2, 2), Error);
}

}  // namespace
}  // namespace lmc::data
