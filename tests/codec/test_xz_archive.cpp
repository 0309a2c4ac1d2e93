// The xz stream lmc writes when xz beats the model, checked against the real xz tool in both directions,
// and the xz archive around it: its documented layout, its round trip and every way it can be corrupt.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "codec/container.h"
#include "codec/xz_archive.h"
#include "codec/xz_stream.h"
#include "common/error.h"
#include "test_util.h"

namespace lmc {
namespace {
using namespace std::string_literals;
using testing::read_file;
using testing::random_bytes;
using testing::run_command;
using testing::write_file;

std::string sample_text(size_t n) {
  static const char* words[] = {"the", "patient", "was", "given", "a", "dose", "of", "aspirin", "and", "rested"};
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) s += std::string(words[rng() % 10]) + (rng() % 9 == 0 ? ".\n" : " ");
  s.resize(n);
  return s;
}

std::string as_string(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string decode(const std::string& stream) {
  std::string out;
  xz_decode(as_bytes(stream), [&](std::string_view piece) { out += piece; });
  return out;
}

std::string decode_error(const std::string& stream) {
  try {
    decode(stream);
  } catch (const Error& e) {
    return e.what();
  }
  return "(decoded)";
}

class XzTool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_command("command -v xz").exit_code != 0) GTEST_SKIP() << "'xz' is not installed: nothing to check against";
  }
  std::string run_xz(const std::string& flags, const std::string& in) {
    write_file(tmp_ / "in", in);
    auto r = run_command("xz " + flags + " -c " + (tmp_ / "in").string() + " > " + (tmp_ / "out").string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_file(tmp_ / "out");
  }
  testing::TempDir tmp_;
};

TEST_F(XzTool, EncoderWritesTheToolsBytesAndReadsThem) {
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"empty", ""}, {"text", sample_text(150000)}, {"random", random_bytes(40000, 1)}}) {
    SCOPED_TRACE(name);
    const std::string tool = run_xz("-9e -T1", bytes);
    EXPECT_TRUE(as_string(xz_encode(bytes)) == tool);
    XzEncoder pieces;
    for (size_t at = 0; at < bytes.size(); at += 7777) pieces.update(std::string_view(bytes).substr(at, 7777));
    EXPECT_TRUE(as_string(pieces.finish()) == tool) << "fed in pieces";
    EXPECT_TRUE(decode(tool) == bytes);
    EXPECT_TRUE(run_xz("-d", tool) == bytes);
  }
}

TEST(XzStream, EmptyPiecesChangeNothing) {
  XzEncoder encoder;
  encoder.update("");
  encoder.update("");
  encoder.update("abc");
  encoder.update("");
  EXPECT_TRUE(encoder.finish() == xz_encode("abc"));
}

TEST(XzStream, DecoderRefusesDamage) {
  const std::string good = as_string(xz_encode(sample_text(20000)));
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  EXPECT_EQ(decode_error(flipped), "xz stream: corrupt data");
  EXPECT_EQ(decode_error(good.substr(0, good.size() - 1)), "xz stream: truncated");
  EXPECT_EQ(decode_error(good + "x"), "xz stream: data after its end");
  EXPECT_EQ(decode_error("not xz at all"), "xz stream: not an xz stream");
  EXPECT_EQ(decode_error(""), "xz stream: truncated");
}

std::string xz_archive_of(const std::string& bytes) {
  std::istringstream in(bytes);
  std::ostringstream out;
  EXPECT_EQ(write_xz_archive(in, out), bytes.size());
  return std::move(out).str();
}

// Decodes an xz archive; returns the bytes, or the error.
std::string unpack(const std::string& archive) {
  try {
    std::istringstream in(archive);
    ArchiveReader reader(in);
    if (reader.header().mode != ArchiveMode::kXz) return "(not an xz archive)";
    std::ostringstream out;
    const uint64_t size = decode_xz_archive(reader, out);
    EXPECT_EQ(size, out.str().size());
    return std::move(out).str();
  } catch (const Error& e) {
    return e.what();
  }
}

std::string varint_bytes(uint64_t value) {
  std::string s;
  for (; value >= 0x80; value >>= 7) s.push_back(static_cast<char>(value | 0x80));
  s.push_back(static_cast<char>(value));
  return s;
}

std::string u64_bytes(uint64_t value) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(value >> (8 * i)));
  return s;
}

TEST(XzArchive, HasTheDocumentedLayoutAndRoundTrips) {
  const std::string text = sample_text(300);
  const std::string stream = as_string(xz_encode(text));
  const std::string expected = "LMC\x0d\x03\x01"s + varint_bytes(text.size()) + varint_bytes(stream.size()) + stream +
                               '\0' + u64_bytes(content_checksum(text));
  const std::string archive = xz_archive_of(text);
  EXPECT_TRUE(archive == expected);
  EXPECT_TRUE(unpack(archive) == text);
  for (const std::string& bytes : {std::string(), random_bytes(5000, 2), sample_text(3'000'000)}) {
    EXPECT_TRUE(unpack(xz_archive_of(bytes)) == bytes) << bytes.size() << " bytes";
  }
  Archive parsed = parse_archive(as_bytes(archive));
  EXPECT_EQ(parsed.header.mode, ArchiveMode::kXz);
  EXPECT_EQ(parsed.header.original_size, text.size());
  ASSERT_EQ(parsed.parts.size(), 1u);
  EXPECT_TRUE(as_string(parsed.parts[0]) == stream);
  EXPECT_TRUE(parsed.groups.empty());
  EXPECT_TRUE(as_string(serialize_archive(parsed)) == archive);
}

TEST(XzArchive, RefusesEveryCorruption) {
  const std::string text = sample_text(300);
  const std::string archive = xz_archive_of(text);
  const size_t stream_at = 6 + varint_bytes(text.size()).size() + varint_bytes(xz_encode(text).size()).size();
  const size_t stream_end = archive.size() - 9;
  auto changed = [&](size_t at, char value) {
    std::string bad = archive;
    bad[at] = value;
    return unpack(bad);
  };
  EXPECT_EQ(changed(3, 10), "archive corrupt: unknown mode 3") << "no xz archives before format 11";
  EXPECT_EQ(changed(4, 5), "archive corrupt: unknown mode 5");
  EXPECT_EQ(changed(5, 3), "archive corrupt: unknown header flags 3 in an xz archive");
  EXPECT_EQ(changed(5, 0), "archive corrupt: an xz archive without its original size");
  EXPECT_EQ(changed(6, static_cast<char>(0xad)),
            "archive corrupt: the streams decode to 300 bytes but the header says 301");
  EXPECT_EQ(changed(6, static_cast<char>(0xab)),
            "archive corrupt: the xz stream holds more than the 299 bytes the header says");
  EXPECT_EQ(changed(stream_at + 20, static_cast<char>(archive[stream_at + 20] ^ 1)),
            "archive corrupt: xz stream: corrupt data");
  EXPECT_EQ(changed(archive.size() - 1, static_cast<char>(archive.back() ^ 1)),
            "checksum mismatch: the archive is corrupt");
  EXPECT_EQ(changed(stream_end, 1), "archive corrupt: unexpected data after the last part of an xz archive");
  EXPECT_EQ(unpack(archive + "x"), "archive corrupt: unexpected data after the end marker");
  for (size_t keep = 4; keep < archive.size(); ++keep) {
    const std::string error = unpack(archive.substr(0, keep));
    EXPECT_TRUE(error.starts_with("archive truncated in ")) << keep << " bytes: " << error;
  }
}

TEST(XzArchive, WriterAndReaderKeepTheirOrder) {
  ArchiveHeader header;
  header.mode = ArchiveMode::kXz;
  std::ostringstream out;
  EXPECT_THROW(ArchiveWriter(out, header), Error) << "an xz archive records its size";
  header.original_size = 1;
  ArchiveWriter writer(out, header);
  ChunkGroup group;
  group.add_chunk(1, 0, std::vector<uint8_t>{'x'});
  EXPECT_THROW(writer.write_group(group), Error);
  EXPECT_THROW(writer.finish(0), Error) << "an xz archive needs its stream";
  EXPECT_THROW(writer.write_parts({xz_encode("x"), {}}), Error) << "an xz archive has one part";
  writer.write_parts({xz_encode("x")});
  EXPECT_THROW(writer.write_parts({xz_encode("x")}), Error);
  writer.finish(content_checksum("x"));

  std::istringstream in(out.str());
  ArchiveReader reader(in);
  ChunkGroup none;
  EXPECT_THROW(reader.next_group(none), Error) << "the stream comes first";
  EXPECT_EQ(decode(as_string(reader.read_parts()[0])), "x");
  EXPECT_FALSE(reader.next_group(none));

  ArchiveHeader text_header;
  text_header.chunk_bytes = 8;
  text_header.total_bits = 24;
  std::ostringstream text_out;
  ArchiveWriter text_writer(text_out, text_header);
  EXPECT_THROW(text_writer.write_parts({xz_encode("x")}), Error) << "only an xz or flac archive has parts";
}

}  // namespace
}  // namespace lmc
