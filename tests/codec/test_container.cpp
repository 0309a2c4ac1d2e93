// The archive container against its documented byte layout: a second, hand-written encoder of the
// layout (Layout below, built from container.h's comment, sharing no code with container.cpp) must
// produce the very bytes the writer does; round trips in memory and through streams; and every
// validation error the parser and writer can raise, with its message.
#include <gtest/gtest.h>

#include <sstream>

#include "codec/container.h"
#include "codec/xz_stream.h"
#include "common/error.h"

namespace lmc {
namespace {

// Bytes of an archive, appended field by field exactly as container.h documents them.
struct Layout {
  std::vector<uint8_t> bytes;

  Layout& u8(uint8_t v) {
    bytes.push_back(v);
    return *this;
  }
  Layout& varint(uint64_t v) {
    for (; v >= 128; v >>= 7) bytes.push_back(static_cast<uint8_t>(128 + v % 128));
    bytes.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Layout& u64(uint64_t v) {
    for (int i = 0; i < 8; ++i, v >>= 8) bytes.push_back(static_cast<uint8_t>(v & 255));
    return *this;
  }
  Layout& raw(const std::vector<uint8_t>& v) {
    bytes.insert(bytes.end(), v.begin(), v.end());
    return *this;
  }
  Layout& text(const std::string& s) {
    for (char c : s) bytes.push_back(static_cast<uint8_t>(c));
    return *this;
  }
};

// Header fields in layout order; tests change one at a time.
struct HeaderFields {
  uint8_t version = 13, mode = 0, flags = 1;
  uint64_t original_size = 12;
  uint64_t fingerprint = 0x1122334455667788ULL;
  uint8_t dtype = 1;
  uint64_t chunk_bytes = 8, batch = 2, threads = 4;
  uint8_t total_bits = 24;
};

Layout header_bytes(const HeaderFields& h) {
  Layout l;
  l.text("LMC").u8(h.version).u8(h.mode).u8(h.flags);
  if (h.flags & 1) l.varint(h.original_size);
  l.u64(h.fingerprint).u8(h.dtype).varint(h.chunk_bytes).varint(h.batch).varint(h.threads).u8(h.total_bits);
  return l;
}

// The reference archive: two groups (8 + 1 bytes, then 3 bytes), a side blob in the first, no stored
// chunks (so no packed_length, whatever the version).
Layout reference_bytes(const HeaderFields& h = {}) {
  Layout l = header_bytes(h);
  l.varint(2).varint(8).varint(5).varint(3).varint(1).varint(1).varint(2);  // table: (8,5,3) (1,1,2)
  l.varint(1).varint(4);                                                    // one side blob, 4 bytes
  l.raw({0xA1, 0xA2, 0xA3, 0xB1, 0xB2}).raw({0xC1, 0xC2, 0xC3, 0xC4});
  l.varint(1).varint(3).varint(3).varint(0).varint(0);  // (3,3,0), no side blobs
  l.varint(0).u64(0xFEEDFACECAFEBEEFULL);
  return l;
}

Archive reference_archive() {
  Archive a;
  a.header.mode = ArchiveMode::kText;
  a.header.original_size = 12;
  a.header.model_fingerprint = 0x1122334455667788ULL;
  a.header.dtype = ModelDtype::kBFloat16;
  a.header.chunk_bytes = 8;
  a.header.batch_size = 2;
  a.header.threads = 4;
  a.header.total_bits = 24;
  ChunkGroup g0;
  g0.add_chunk(8, 5, std::vector<uint8_t>{0xA1, 0xA2, 0xA3});
  g0.add_chunk(1, 1, std::vector<uint8_t>{0xB1, 0xB2});
  g0.side.push_back({0xC1, 0xC2, 0xC3, 0xC4});
  ChunkGroup g1;
  g1.add_chunk(3, 3, {});
  a.groups = {g0, g1};
  a.checksum = 0xFEEDFACECAFEBEEFULL;
  return a;
}

void expect_equal(const Archive& a, const Archive& b) {
  EXPECT_EQ(a.header.mode, b.header.mode);
  EXPECT_EQ(a.header.original_size, b.header.original_size);
  EXPECT_EQ(a.header.model_fingerprint, b.header.model_fingerprint);
  EXPECT_EQ(a.header.dtype, b.header.dtype);
  EXPECT_EQ(a.header.chunk_bytes, b.header.chunk_bytes);
  EXPECT_EQ(a.header.batch_size, b.header.batch_size);
  EXPECT_EQ(a.header.threads, b.header.threads);
  EXPECT_EQ(a.header.total_bits, b.header.total_bits);
  EXPECT_EQ(a.header.match_model, b.header.match_model);
  EXPECT_EQ(a.header.format_version, b.header.format_version);
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (size_t g = 0; g < a.groups.size(); ++g) {
    ASSERT_EQ(a.groups[g].chunks.size(), b.groups[g].chunks.size());
    for (size_t c = 0; c < a.groups[g].chunks.size(); ++c) {
      EXPECT_EQ(a.groups[g].chunks[c].original_bytes, b.groups[g].chunks[c].original_bytes);
      EXPECT_EQ(a.groups[g].chunks[c].tokens, b.groups[g].chunks[c].tokens);
      EXPECT_EQ(a.groups[g].chunks[c].coded_bytes, b.groups[g].chunks[c].coded_bytes);
    }
    EXPECT_EQ(a.groups[g].payload, b.groups[g].payload);
    EXPECT_EQ(a.groups[g].side, b.groups[g].side);
  }
  EXPECT_EQ(a.checksum, b.checksum);
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_archive(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(Container, WriterProducesTheDocumentedLayout) {
  EXPECT_EQ(serialize_archive(reference_archive()), reference_bytes().bytes);
}

TEST(Container, FlagBitOneMarksAnArchiveCodedWithoutTheMatchModel) {
  Archive a = reference_archive();
  a.header.match_model = false;
  HeaderFields h;
  h.flags = 3;
  EXPECT_EQ(serialize_archive(a), reference_bytes(h).bytes);
  expect_equal(parse_archive(reference_bytes(h).bytes), a);
}

// Version 2 is version 3 before the match model: its archives decode with the match model off, and
// the flag bit it did not have is refused.
TEST(Container, VersionTwoArchivesReadAsCodedWithoutTheMatchModel) {
  HeaderFields h;
  h.version = 2;
  Archive expected = reference_archive();
  expected.header.match_model = false;
  expected.header.format_version = 2;
  expect_equal(parse_archive(reference_bytes(h).bytes), expected);
  h.flags = 3;
  EXPECT_EQ(parse_error(reference_bytes(h).bytes), "archive corrupt: unknown header flags 3");
}

// Version 3 is version 4 with audio's low bits in bit-history contexts, version 4 is version 5 without
// the context cache, version 5 is version 6 with 16-bit audio's low bits in the symbols' contexts,
// version 6 is version 7 with them in one table, and so on to version 11, which never packs stored
// chunks, and 12, whose reader runs every stored chunk through the model: the header says which it was.
TEST(Container, OlderVersionsKeepTheirVersion) {
  for (const uint8_t version : {3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
    HeaderFields h;
    h.version = version;
    Archive expected = reference_archive();
    expected.header.format_version = version;
    expect_equal(parse_archive(reference_bytes(h).bytes), expected);
  }
}

TEST(Container, ParserReadsTheDocumentedLayout) {
  Archive parsed = parse_archive(reference_bytes().bytes);
  expect_equal(parsed, reference_archive());
  std::vector<std::span<const uint8_t>> coded = parsed.groups[0].coded_chunks();
  ASSERT_EQ(coded.size(), 2u);
  EXPECT_EQ(std::vector<uint8_t>(coded[1].begin(), coded[1].end()), (std::vector<uint8_t>{0xB1, 0xB2}));
}

// From format 12, a group's stored chunks go into one xz stream after its side blobs when that is smaller.
Archive archive_with_stored_chunks(const std::string& first, const std::string& second) {
  Archive a = reference_archive();
  a.header.chunk_bytes = 4096;
  a.header.batch_size = 3;
  a.header.original_size = first.size() + 1 + second.size();
  ChunkGroup g;
  g.add_chunk(first.size(), 0, std::vector<uint8_t>(first.begin(), first.end()));
  g.add_chunk(1, 1, std::vector<uint8_t>{0xB1, 0xB2});
  g.add_chunk(second.size(), 0, std::vector<uint8_t>(second.begin(), second.end()));
  g.side.push_back({0xC1});
  a.groups = {g};
  return a;
}

TEST(Container, StoredChunksArePackedIntoOneXzStream) {
  const std::string first(3000, 'a'), second = "abcabcabc" + std::string(1000, 'b');
  const Archive a = archive_with_stored_chunks(first, second);
  const std::vector<uint8_t> packed = xz_encode(first + second);
  Layout l = header_bytes({.original_size = *a.header.original_size, .chunk_bytes = 4096, .batch = 3});
  l.varint(3).varint(first.size()).varint(0).varint(first.size()).varint(1).varint(1).varint(2);
  l.varint(second.size()).varint(0).varint(second.size());
  l.varint(1).varint(1).varint(packed.size());  // one 1-byte side blob, then the packed stream's length
  l.raw({0xB1, 0xB2}).raw({0xC1}).raw(packed);
  l.varint(0).u64(a.checksum);
  EXPECT_EQ(serialize_archive(a), l.bytes);
  EXPECT_LT(packed.size(), 200u);
  expect_equal(parse_archive(l.bytes), a);  // unpacked again, as the chunks were
  EXPECT_EQ(pack_stored_bytes(first + second), packed);
}

TEST(Container, StoredChunksXzCannotShrinkStayAsTheyAre) {
  std::string noise(2000, '\0');
  uint64_t state = 1;
  for (char& c : noise) c = static_cast<char>((state = state * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
  const Archive a = archive_with_stored_chunks(noise.substr(0, 1000), noise.substr(1000));
  Layout l = header_bytes({.original_size = *a.header.original_size, .chunk_bytes = 4096, .batch = 3});
  l.varint(3).varint(1000).varint(0).varint(1000).varint(1).varint(1).varint(2).varint(1000).varint(0).varint(1000);
  l.varint(1).varint(1).varint(0);
  l.text(noise.substr(0, 1000)).raw({0xB1, 0xB2}).text(noise.substr(1000)).raw({0xC1});
  l.varint(0).u64(a.checksum);
  EXPECT_EQ(serialize_archive(a), l.bytes);
  EXPECT_TRUE(pack_stored_bytes(noise).empty());
}

TEST(Container, CorruptPackedChunksAreRefused) {
  const std::string first(3000, 'a'), second(1000, 'b');
  const Archive a = archive_with_stored_chunks(first, second);
  auto with_packed = [&](const std::vector<uint8_t>& packed, uint64_t length) {
    Layout l = header_bytes({.flags = 0, .chunk_bytes = 4096, .batch = 3});
    l.varint(3).varint(3000).varint(0).varint(3000).varint(1).varint(1).varint(2).varint(1000).varint(0).varint(1000);
    l.varint(1).varint(1).varint(length).raw({0xB1, 0xB2}).raw({0xC1}).raw(packed);
    l.varint(0).u64(a.checksum);
    return l.bytes;
  };
  const std::vector<uint8_t> good = xz_encode(first + second);
  EXPECT_EQ(parse_error(with_packed(good, good.size())), "(parsed)");
  const std::string where = "archive corrupt in the stored chunks of group 0: ";
  EXPECT_EQ(parse_error(with_packed(xz_encode(first + second + "c"), xz_encode(first + second + "c").size())),
            where + "they unpack to more than the 4000 bytes the table lists");
  EXPECT_EQ(parse_error(with_packed(xz_encode(first), xz_encode(first).size())),
            where + "they unpack to 3000 bytes, not the 4000 the table lists");
  std::vector<uint8_t> flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_EQ(parse_error(with_packed(flipped, flipped.size())).rfind(where + "xz stream: ", 0), 0u);
  const std::vector<uint8_t> whole = with_packed(good, good.size());
  EXPECT_EQ(parse_error(std::vector<uint8_t>(whole.begin(), whole.end() - 20)),
            "archive truncated in the stored chunks of group 0");
  // More stored bytes than kMaxPackedStoredBytes are never packed: a small stream may not unpack to them.
  Layout big = header_bytes({.flags = 0, .chunk_bytes = uint64_t{1} << 27, .batch = 3});
  big.varint(1).varint(uint64_t{1} << 27).varint(0).varint(uint64_t{1} << 27).varint(0).varint(good.size()).raw(good);
  EXPECT_EQ(parse_error(big.bytes), "archive corrupt: group 0 packs 134217728 stored bytes, more than 67108864");
  // packed_length 0: the stored chunks' 4000 bytes must follow as they are.
  EXPECT_EQ(parse_error(with_packed(good, 0)), "archive truncated in the payload of group 0");
  // Before format 12 a group has no packed_length, so the same bytes are a payload that ends too soon.
  std::vector<uint8_t> older = whole;
  older[3] = 11;
  EXPECT_EQ(parse_error(older), "archive truncated in the payload of group 0");
}

TEST(Container, StreamsGroupByGroup) {
  Archive reference = reference_archive();
  reference.header.original_size.reset();  // a writer that doesn't know the size up front
  std::stringstream stream;
  ArchiveWriter writer(stream, reference.header);
  for (const ChunkGroup& g : reference.groups) writer.write_group(g);
  writer.finish(reference.checksum);

  ArchiveReader reader(stream);
  EXPECT_FALSE(reader.header().original_size.has_value());
  ChunkGroup group;
  int groups = 0;
  while (reader.next_group(group)) {
    EXPECT_EQ(group.payload, reference.groups[groups].payload);
    ++groups;
  }
  EXPECT_EQ(groups, 2);
  EXPECT_EQ(reader.original_size(), 12u);
  EXPECT_EQ(reader.checksum(), reference.checksum);
  EXPECT_THROW(reader.next_group(group), Error);
}

TEST(Container, EmptyInputAndSmallMessagesCostLittle) {
  Archive empty;
  empty.header = reference_archive().header;
  empty.header.original_size = 0;
  empty.checksum = content_checksum("");
  expect_equal(parse_archive(serialize_archive(empty)), empty);
  // A 100-byte message in one chunk: fixed header (magic, fingerprint, settings) + a 6-byte group +
  // a 9-byte end, beyond the coded bytes.
  Archive small = empty;
  small.header.original_size = 100;
  small.header.chunk_bytes = 2048;
  ChunkGroup g;
  g.add_chunk(100, 30, std::vector<uint8_t>(20, 7));
  small.groups.push_back(g);
  size_t overhead = serialize_archive(small).size() - 20;
  std::printf("archive overhead for a 100-byte message: %zu bytes\n", overhead);
  EXPECT_LE(overhead, 40u);
}

TEST(Container, ChecksumIsXxh64) {
  // XXH64 of "abc" with seed 0, as the xxhsum tool prints it.
  EXPECT_EQ(content_checksum("abc"), 0x44bc2cf5ad770999ULL);
  ContentChecksum streamed;
  streamed.update("a");
  streamed.update("bc");
  EXPECT_EQ(streamed.digest(), content_checksum("abc"));
}

TEST(Container, RejectsWhatIsNotAnArchive) {
  EXPECT_EQ(parse_error({}), "not an lmc archive");
  EXPECT_EQ(parse_error({'L', 'M'}), "not an lmc archive");
  EXPECT_EQ(parse_error({'P', 'K', 3, 4, 0, 0}), "not an lmc archive");
  EXPECT_EQ(parse_error({'L', 'M', 'C'}), "archive truncated in the header");
  HeaderFields h;
  h.version = 0;
  EXPECT_EQ(parse_error(reference_bytes(h).bytes), "not an lmc archive (format version 0)");
  h.version = 14;
  EXPECT_EQ(parse_error(reference_bytes(h).bytes),
            "archive format version 14 is newer than this lmc (13): upgrade lmc to read it");
  h.version = 1;
  EXPECT_EQ(parse_error(reference_bytes(h).bytes),
            "archive format version 1 was written by an older lmc whose model arithmetic this one (13) does not "
            "repeat: decompress it with that lmc");
}

TEST(Container, RejectsBadHeaderFields) {
  auto error_with = [](auto change) {
    HeaderFields h;
    change(h);
    return parse_error(reference_bytes(h).bytes);
  };
  EXPECT_EQ(error_with([](HeaderFields& h) { h.mode = 5; }), "archive corrupt: unknown mode 5");
  EXPECT_EQ(error_with([](HeaderFields& h) {
              h.mode = 3;
              h.version = 10;
            }),
            "archive corrupt: unknown mode 3");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.flags = 5; }), "archive corrupt: unknown header flags 5");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.dtype = 9; }), "archive corrupt: unknown model dtype 9");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.chunk_bytes = 0; }),
            "archive corrupt: chunk size 0 is outside 1..1073741824");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.batch = 0; }), "archive corrupt: batch size 0 is outside 1..65536");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.threads = 5000; }),
            "archive corrupt: thread count 5000 is outside 1..4096");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.total_bits = 31; }),
            "archive corrupt: frequency total bits 31 is outside 1..30");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.original_size = 13; }),
            "archive corrupt: the chunks hold 12 bytes but the header says 13");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.batch = 1; }),
            "archive corrupt: group 0 has 2 chunks, more than the batch size 1");
  EXPECT_EQ(error_with([](HeaderFields& h) { h.chunk_bytes = 7; }),
            "archive corrupt: chunk 0 of group 0 has 8 original bytes, outside 1..7");
  // Without the size flag the header has no size and the chunks define it.
  EXPECT_EQ(error_with([](HeaderFields& h) { h.flags = 0; }), "(parsed)");
}

TEST(Container, RejectsMalformedNumbers) {
  Layout overflow = Layout().text("LMC").u8(3).u8(0).u8(1);
  for (int i = 0; i < 9; ++i) overflow.u8(0xFF);
  overflow.u8(0x02);  // a tenth byte above 1: more than 64 bits
  EXPECT_EQ(parse_error(overflow.bytes), "archive corrupt: malformed number in the header");
  Layout overlong = Layout().text("LMC").u8(3).u8(0).u8(1).u8(0x85).u8(0x00);  // 5 in two bytes
  EXPECT_EQ(parse_error(overlong.bytes), "archive corrupt: malformed number in the header");
  Layout max = Layout().text("LMC").u8(3).u8(0).u8(1).varint(UINT64_MAX);
  EXPECT_EQ(parse_error(max.bytes), "archive truncated in the header");  // parsed the maximum, then ran out
}

TEST(Container, RejectsBadChunkTables) {
  auto archive_with_chunk = [](uint64_t original, uint64_t tokens, uint64_t coded, uint64_t n_side = 0,
                               uint8_t mode = 0, uint8_t version = 9) {
    HeaderFields h;
    h.flags = 0;
    h.mode = mode;
    h.version = version;
    Layout l = header_bytes(h);
    l.varint(1).varint(original).varint(tokens).varint(coded).varint(n_side);
    for (uint64_t i = 0; i < n_side; ++i) l.varint(0);
    l.raw(std::vector<uint8_t>(coded, 0x55)).varint(0).u64(0);
    return l.bytes;
  };
  EXPECT_EQ(parse_error(archive_with_chunk(0, 1, 1)),
            "archive corrupt: chunk 0 of group 0 has 0 original bytes, outside 1..8");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 5, 1)), "archive corrupt: chunk 0 of group 0 has 5 tokens for 4 bytes");
  // 0 tokens: a stored chunk, whose coded bytes must be exactly its original bytes.
  EXPECT_EQ(parse_error(archive_with_chunk(4, 0, 1)), "archive corrupt: chunk 0 of group 0 is stored but has 1 bytes for 4");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 0, 5)), "archive corrupt: chunk 0 of group 0 is stored but has 5 bytes for 4");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 0, 4)), "(parsed)");
  // 2 tokens at 2^24: at most 2 * 25 / 8 + 16 = 22 coded bytes.
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 22)), "(parsed)");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 23)),
            "archive corrupt: chunk 0 of group 0 has 23 coded bytes, more than 2 tokens can take");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 1, 17)), "archive corrupt: group 0 has 17 side blobs, more than 16");
  // Format-8 audio adds a bit of up to 16 bits per symbol and 32 channels' LPC filters (wasted bits
  // included): 2 * 42 / 8 + 16 + 32 * 22 = 730, from format 8 on; format-7 audio has the text limit.
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 730, 0, 2)), "(parsed)");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 731, 0, 2)),
            "archive corrupt: chunk 0 of group 0 has 731 coded bytes, more than 2 tokens can take");
  EXPECT_EQ(parse_error(archive_with_chunk(4, 2, 23, 0, 2, 7)),
            "archive corrupt: chunk 0 of group 0 has 23 coded bytes, more than 2 tokens can take");
}

TEST(Container, EveryTruncationIsReported) {
  const std::vector<uint8_t> bytes = reference_bytes().bytes;
  for (size_t keep = 3; keep < bytes.size(); ++keep) {
    std::string error = parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)));
    EXPECT_EQ(error.rfind("archive truncated in ", 0), 0u) << keep << ": " << error;
  }
  EXPECT_EQ(parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 30)), "archive truncated in the payload of group 0");
  EXPECT_EQ(parse_error(std::vector<uint8_t>(bytes.begin(), bytes.end() - 3)), "archive truncated in the end marker");
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(parse_error(longer), "archive corrupt: unexpected data after the end marker");
}

TEST(Container, WriterRejectsInvalidInput) {
  std::stringstream out;
  ArchiveHeader bad = reference_archive().header;
  bad.batch_size = 0;
  try {
    ArchiveWriter writer(out, bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot write archive: batch size 0 is outside 1..65536");
  }
  Archive a = reference_archive();
  ArchiveWriter writer(out, a.header);
  EXPECT_THROW(writer.write_group(ChunkGroup{}), Error);  // no chunks
  ChunkGroup mismatched = a.groups[0];
  mismatched.payload.pop_back();
  try {
    writer.write_group(mismatched);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot write archive: group 0 table lists 5 coded bytes but its payload has 4");
  }
  writer.write_group(a.groups[0]);
  try {
    writer.finish(0);  // 9 of the 12 bytes the header announced
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot write archive: the chunks hold 9 bytes but the header says 12");
  }
}

}  // namespace
}  // namespace lmc
