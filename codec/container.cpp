// Serialising and parsing the archive layout documented in container.h. The reader trusts nothing: every
// count and length is checked against the limits before it is used, payloads are read in bounded steps
// so a corrupt length fails as "truncated" instead of allocating what it claims, and packed stored chunks
// unpack to at most kMaxPackedStoredBytes.
#include "codec/container.h"

#include <xxhash.h>

#include <algorithm>
#include <istream>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>

#include "codec/frequencies.h"
#include "codec/xz_stream.h"
#include "common/error.h"

namespace lmc {
namespace {

constexpr char kMagic[3] = {'L', 'M', 'C'};
constexpr uint8_t kFlagOriginalSize = 1;
constexpr uint8_t kFlagNoMatchModel = 2;
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxBatchSize = 65536;
constexpr uint64_t kMaxThreads = 4096;
constexpr size_t kMaxVarintBytes = 10;
constexpr size_t kReadStep = size_t{1} << 20;  // payloads grow by at most this much per read

std::string str(uint64_t value) { return std::to_string(value); }

std::string group_name(uint64_t group) { return "group " + str(group); }

// The longest code a chunk of `tokens` symbols can have: each symbol costs at most total_bits bits plus
// the coder's rounding (< 2^-15 bits), and finishing adds at most two bytes. From format 8 an audio
// chunk may also hold a bit of at most 16 bits after each symbol and up to 32 channels' LPC filters of
// at most 5 + 5 (wasted bits, format 10 on) + 5 + 10 * 16 bits each (codec/pcm_model.h).
uint64_t max_coded_bytes(const ArchiveHeader& h, uint64_t tokens) {
  const bool pcm = h.mode == ArchiveMode::kAudio && h.format_version >= 8;
  return tokens * static_cast<uint64_t>(h.total_bits + 1 + (pcm ? 17 : 0)) / 8 + 16 + (pcm ? 32 * 22 : 0);
}

std::string stream_archive_name(ArchiveMode mode) {
  return mode == ArchiveMode::kXz ? "an xz archive" : "a flac archive";
}

// What is wrong with `header`, or "" if nothing.
std::string header_problem(const ArchiveHeader& h) {
  if (h.mode > ArchiveMode::kFlac || (is_stream_archive(h.mode) && h.format_version < kStreamArchiveFormatVersion)) {
    return "unknown mode " + str(static_cast<uint8_t>(h.mode));
  }
  if (is_stream_archive(h.mode)) {
    return h.original_size ? "" : stream_archive_name(h.mode) + " without its original size";
  }
  if (h.dtype > ModelDtype::kFloat16) return "unknown model dtype " + str(static_cast<uint8_t>(h.dtype));
  if (h.chunk_bytes < 1 || h.chunk_bytes > kMaxChunkBytes) {
    return "chunk size " + str(h.chunk_bytes) + " is outside 1.." + str(kMaxChunkBytes);
  }
  if (h.batch_size < 1 || h.batch_size > kMaxBatchSize) {
    return "batch size " + str(h.batch_size) + " is outside 1.." + str(kMaxBatchSize);
  }
  if (h.threads < 1 || h.threads > kMaxThreads) {
    return "thread count " + str(h.threads) + " is outside 1.." + str(kMaxThreads);
  }
  if (h.total_bits < kMinTotalBits || h.total_bits > kMaxTotalBits) {
    return "frequency total bits " + std::to_string(h.total_bits) + " is outside " +
           std::to_string(kMinTotalBits) + ".." + std::to_string(kMaxTotalBits);
  }
  return "";
}

std::string chunk_problem(const ArchiveHeader& h, const ChunkEntry& c, uint64_t group, size_t index) {
  std::string where = "chunk " + str(index) + " of " + group_name(group);
  if (c.original_bytes < 1 || c.original_bytes > h.chunk_bytes) {
    return where + " has " + str(c.original_bytes) + " original bytes, outside 1.." + str(h.chunk_bytes);
  }
  if (c.stored()) {
    if (c.coded_bytes != c.original_bytes) {
      return where + " is stored but has " + str(c.coded_bytes) + " bytes for " + str(c.original_bytes);
    }
    return "";
  }
  if (c.tokens > c.original_bytes) {
    return where + " has " + str(c.tokens) + " tokens for " + str(c.original_bytes) + " bytes";
  }
  if (c.coded_bytes > max_coded_bytes(h, c.tokens)) {
    return where + " has " + str(c.coded_bytes) + " coded bytes, more than " + str(c.tokens) +
           " tokens can take";
  }
  return "";
}

std::string group_size_problem(const ArchiveHeader& h, uint64_t n_chunks, uint64_t n_side, uint64_t group) {
  if (n_chunks > h.batch_size) {
    return group_name(group) + " has " + str(n_chunks) + " chunks, more than the batch size " + str(h.batch_size);
  }
  if (n_side > kMaxSideBlobs) {
    return group_name(group) + " has " + str(n_side) + " side blobs, more than " + str(kMaxSideBlobs);
  }
  return "";
}

std::string size_problem(const ArchiveHeader& h, uint64_t chunk_total) {
  if (h.original_size && *h.original_size != chunk_total) {
    return "the chunks hold " + str(chunk_total) + " bytes but the header says " + str(*h.original_size);
  }
  return "";
}

void append_varint(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

void append_u64(std::vector<uint8_t>& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// Reads primitives, naming the section being read in every error.
class Input {
 public:
  explicit Input(std::istream& in) : in_(in) {}

  void read(uint8_t* dest, size_t n, const std::string& where) {
    in_.read(reinterpret_cast<char*>(dest), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in_.gcount()) != n) throw Error("archive truncated in " + where);
  }
  uint8_t u8(const std::string& where) {
    uint8_t byte;
    read(&byte, 1, where);
    return byte;
  }
  uint64_t u64(const std::string& where) {
    uint8_t bytes[8];
    read(bytes, 8, where);
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
    return value;
  }
  uint64_t varint(const std::string& where) {
    uint64_t value = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      uint8_t byte = u8(where);
      if (i == kMaxVarintBytes - 1 && byte > 1) break;  // would overflow 64 bits
      value |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if (!(byte & 0x80)) {
        if (byte == 0 && i > 0) break;  // overlong form
        return value;
      }
    }
    throw Error("archive corrupt: malformed number in " + where);
  }
  // Appends n bytes to `out`, growing it only as data actually arrives.
  void append(std::vector<uint8_t>& out, uint64_t n, const std::string& where) {
    while (n > 0) {
      size_t step = static_cast<size_t>(std::min<uint64_t>(n, kReadStep));
      size_t old = out.size();
      out.resize(old + step);
      read(out.data() + old, step, where);
      n -= step;
    }
  }
  bool at_end() { return in_.peek() == std::char_traits<char>::eof(); }

 private:
  std::istream& in_;
};

[[noreturn]] void corrupt(const std::string& problem) { throw Error("archive corrupt: " + problem); }

// A read-only istream buffer over a span, so in-memory parsing shares the stream reader.
class SpanBuffer : public std::streambuf {
 public:
  explicit SpanBuffer(std::span<const uint8_t> bytes) {
    char* begin = const_cast<char*>(reinterpret_cast<const char*>(bytes.data()));
    setg(begin, begin, begin + bytes.size());
  }
};

// The stored chunks' bytes, in table order.
std::string stored_bytes(const ChunkGroup& group) {
  std::string bytes;
  const auto coded = group.coded_chunks();
  for (size_t i = 0; i < coded.size(); ++i) {
    if (group.chunks[i].stored()) bytes.append(reinterpret_cast<const char*>(coded[i].data()), coded[i].size());
  }
  return bytes;
}

// The group's payload in its unpacked layout: its coded chunks (all group.payload holds when read) with
// the bytes `packed` decodes to put back in the stored chunks' places. The table bounds what it may
// decode to.
std::vector<uint8_t> unpack_stored_chunks(const ChunkGroup& group, std::span<const uint8_t> packed,
                                          uint64_t stored_total, uint64_t group_index) {
  std::string stored;
  with_context("archive corrupt in the stored chunks of " + group_name(group_index), [&] {
    xz_decode(packed, [&](std::string_view bytes) {
      if (bytes.size() > stored_total - stored.size()) {
        throw Error("they unpack to more than the " + str(stored_total) + " bytes the table lists");
      }
      stored += bytes;
    });
    if (stored.size() != stored_total) {
      throw Error("they unpack to " + str(stored.size()) + " bytes, not the " + str(stored_total) + " the table lists");
    }
  });
  std::vector<uint8_t> payload;
  payload.reserve(group.payload.size() + stored.size());
  size_t coded_at = 0, stored_at = 0;
  for (const ChunkEntry& c : group.chunks) {
    if (c.stored()) {
      payload.insert(payload.end(), stored.begin() + stored_at, stored.begin() + stored_at + c.coded_bytes);
      stored_at += c.coded_bytes;
    } else {
      payload.insert(payload.end(), group.payload.begin() + coded_at, group.payload.begin() + coded_at + c.coded_bytes);
      coded_at += c.coded_bytes;
    }
  }
  return payload;
}

}  // namespace

std::vector<uint8_t> pack_stored_bytes(std::string_view stored) {
  if (stored.empty() || stored.size() > kMaxPackedStoredBytes) return {};
  std::vector<uint8_t> packed = xz_encode(stored);
  return packed.size() < stored.size() ? packed : std::vector<uint8_t>();
}

bool is_stream_archive(ArchiveMode mode) { return mode == ArchiveMode::kXz || mode == ArchiveMode::kFlac; }

size_t stream_archive_parts(ArchiveMode mode) {
  switch (mode) {
    case ArchiveMode::kXz: return 1;
    case ArchiveMode::kFlac: return 3;
    default: return 0;
  }
}

void ChunkGroup::add_chunk(uint64_t original_bytes, uint64_t tokens, std::span<const uint8_t> coded) {
  chunks.push_back({original_bytes, tokens, coded.size()});
  payload.insert(payload.end(), coded.begin(), coded.end());
}

std::vector<std::span<const uint8_t>> ChunkGroup::coded_chunks() const {
  std::vector<std::span<const uint8_t>> spans;
  size_t offset = 0;
  for (const ChunkEntry& c : chunks) {
    if (c.coded_bytes > payload.size() - offset) throw Error("chunk table overruns the group payload");
    spans.emplace_back(payload.data() + offset, c.coded_bytes);
    offset += c.coded_bytes;
  }
  return spans;
}

ArchiveWriter::ArchiveWriter(std::ostream& out, const ArchiveHeader& header) : out_(out), header_(header) {
  header_.format_version = kArchiveFormatVersion;
  if (std::string problem = header_problem(header_); !problem.empty()) {
    throw Error("cannot write archive: " + problem);
  }
  const bool streams = is_stream_archive(header.mode);
  std::vector<uint8_t> bytes(kMagic, kMagic + 3);
  bytes.push_back(kArchiveFormatVersion);
  bytes.push_back(static_cast<uint8_t>(header.mode));
  bytes.push_back(static_cast<uint8_t>((header.original_size ? kFlagOriginalSize : 0) |
                                       (header.match_model || streams ? 0 : kFlagNoMatchModel)));
  if (header.original_size) append_varint(bytes, *header.original_size);
  if (streams) {
    put(bytes);
    return;
  }
  append_u64(bytes, header.model_fingerprint);
  bytes.push_back(static_cast<uint8_t>(header.dtype));
  append_varint(bytes, header.chunk_bytes);
  append_varint(bytes, header.batch_size);
  append_varint(bytes, header.threads);
  bytes.push_back(static_cast<uint8_t>(header.total_bits));
  put(bytes);
}

void ArchiveWriter::write_group(const ChunkGroup& group) {
  if (finished_) throw Error("cannot write archive: group after the end marker");
  if (is_stream_archive(header_.mode)) {
    throw Error("cannot write archive: " + stream_archive_name(header_.mode) + " has no groups");
  }
  std::string problem = group.chunks.empty()
                            ? "a group needs at least one chunk"
                            : group_size_problem(header_, group.chunks.size(), group.side.size(), groups_);
  uint64_t coded_total = 0;
  for (size_t i = 0; i < group.chunks.size() && problem.empty(); ++i) {
    problem = chunk_problem(header_, group.chunks[i], groups_, i);
    coded_total += group.chunks[i].coded_bytes;
  }
  if (problem.empty() && coded_total != group.payload.size()) {
    problem = group_name(groups_) + " table lists " + str(coded_total) + " coded bytes but its payload has " +
              str(group.payload.size());
  }
  if (!problem.empty()) throw Error("cannot write archive: " + problem);

  std::vector<uint8_t> table;
  append_varint(table, group.chunks.size());
  for (const ChunkEntry& c : group.chunks) {
    append_varint(table, c.original_bytes);
    append_varint(table, c.tokens);
    append_varint(table, c.coded_bytes);
    original_bytes_ += c.original_bytes;
  }
  append_varint(table, group.side.size());
  for (const auto& blob : group.side) append_varint(table, blob.size());
  const std::string stored = stored_bytes(group);
  const std::vector<uint8_t> packed = pack_stored_bytes(stored);
  if (!stored.empty()) append_varint(table, packed.size());
  put(table);
  if (packed.empty()) {
    put(group.payload);
  } else {
    const auto coded = group.coded_chunks();
    for (size_t i = 0; i < coded.size(); ++i) {
      if (!group.chunks[i].stored()) put(coded[i]);
    }
  }
  for (const auto& blob : group.side) put(blob);
  put(packed);
  ++groups_;
}

void ArchiveWriter::write_parts(const std::vector<std::vector<uint8_t>>& parts) {
  if (!is_stream_archive(header_.mode) || parts_written_ || finished_) {
    throw Error("cannot write archive: parts go once into an xz or flac archive, before its end");
  }
  if (parts.size() != stream_archive_parts(header_.mode)) {
    throw Error("cannot write archive: " + stream_archive_name(header_.mode) + " has " +
                str(stream_archive_parts(header_.mode)) + " parts, not " + str(parts.size()));
  }
  for (const auto& part : parts) {
    std::vector<uint8_t> length;
    append_varint(length, part.size());
    put(length);
    put(part);
  }
  parts_written_ = true;
}

void ArchiveWriter::finish(uint64_t checksum) {
  if (finished_) throw Error("cannot write archive: finished twice");
  const bool streams = is_stream_archive(header_.mode);
  if (streams && !parts_written_) {
    throw Error("cannot write archive: " + stream_archive_name(header_.mode) + " without its parts");
  }
  if (std::string problem = streams ? "" : size_problem(header_, original_bytes_); !problem.empty()) {
    throw Error("cannot write archive: " + problem);
  }
  std::vector<uint8_t> end;
  append_varint(end, 0);
  append_u64(end, checksum);
  put(end);
  out_.flush();
  if (!out_) throw Error("writing archive: output stream failed");
  finished_ = true;
}

void ArchiveWriter::put(std::span<const uint8_t> bytes) {
  out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out_) throw Error("writing archive: output stream failed");
}

ArchiveReader::ArchiveReader(std::istream& in) : in_(in) {
  Input input(in_);
  uint8_t start[4];
  in_.read(reinterpret_cast<char*>(start), 4);
  if (in_.gcount() < 3 || !std::equal(kMagic, kMagic + 3, start)) throw Error("not an lmc archive");
  if (in_.gcount() < 4) throw Error("archive truncated in the header");
  uint8_t version = start[3];
  if (version == 0) throw Error("not an lmc archive (format version 0)");
  if (version > kArchiveFormatVersion) {
    throw Error("archive format version " + str(version) + " is newer than this lmc (" +
                str(kArchiveFormatVersion) + "): upgrade lmc to read it");
  }
  if (version < kOldestReadableFormatVersion) {
    throw Error("archive format version " + str(version) + " was written by an older lmc whose model arithmetic this one (" +
                str(kArchiveFormatVersion) + ") does not repeat: decompress it with that lmc");
  }
  const std::string where = "the header";
  header_.mode = static_cast<ArchiveMode>(input.u8(where));
  uint8_t flags = input.u8(where);
  const uint8_t known_flags = version == 2 ? kFlagOriginalSize : kFlagOriginalSize | kFlagNoMatchModel;
  if (flags & ~known_flags) corrupt("unknown header flags " + str(flags));
  header_.match_model = version > 2 && !(flags & kFlagNoMatchModel);
  header_.format_version = version;
  if (flags & kFlagOriginalSize) header_.original_size = input.varint(where);
  if (is_stream_archive(header_.mode)) {
    if (std::string problem = header_problem(header_); !problem.empty()) corrupt(problem);
    if (flags & kFlagNoMatchModel) {
      corrupt("unknown header flags " + str(flags) + " in " + stream_archive_name(header_.mode));
    }
    header_.match_model = false;
    return;
  }
  header_.model_fingerprint = input.u64(where);
  header_.dtype = static_cast<ModelDtype>(input.u8(where));
  header_.chunk_bytes = input.varint(where);
  header_.batch_size = input.varint(where);
  header_.threads = input.varint(where);
  header_.total_bits = input.u8(where);
  if (std::string problem = header_problem(header_); !problem.empty()) corrupt(problem);
}

bool ArchiveReader::next_group(ChunkGroup& group) {
  if (ended_) throw Error("archive already read to its end marker");
  Input input(in_);
  const bool streams = is_stream_archive(header_.mode);
  if (streams && !parts_read_) throw Error("a stream archive's parts come before its end marker: read them first");
  const std::string table_where = streams ? "the end marker" : "the chunk table of " + group_name(groups_);
  uint64_t n_chunks = input.varint(table_where);
  if (n_chunks == 0) {
    checksum_ = input.u64("the end marker");
    if (!input.at_end()) corrupt("unexpected data after the end marker");
    if (std::string problem = streams ? "" : size_problem(header_, original_bytes_); !problem.empty()) corrupt(problem);
    ended_ = true;
    return false;
  }
  if (streams) corrupt("unexpected data after the last part of " + stream_archive_name(header_.mode));
  if (std::string problem = group_size_problem(header_, n_chunks, 0, groups_); !problem.empty()) corrupt(problem);

  group.chunks.resize(n_chunks);
  uint64_t coded_total = 0;
  for (size_t i = 0; i < n_chunks; ++i) {
    ChunkEntry& c = group.chunks[i];
    c.original_bytes = input.varint(table_where);
    c.tokens = input.varint(table_where);
    c.coded_bytes = input.varint(table_where);
    if (std::string problem = chunk_problem(header_, c, groups_, i); !problem.empty()) corrupt(problem);
    coded_total += c.coded_bytes;
    original_bytes_ += c.original_bytes;
  }
  uint64_t n_side = input.varint(table_where);
  if (std::string problem = group_size_problem(header_, n_chunks, n_side, groups_); !problem.empty()) {
    corrupt(problem);
  }
  std::vector<uint64_t> side_lengths(n_side);
  for (uint64_t& length : side_lengths) length = input.varint(table_where);
  uint64_t stored_total = 0;
  for (const ChunkEntry& c : group.chunks) stored_total += c.stored() ? c.coded_bytes : 0;
  const uint64_t packed_length =
      header_.format_version >= kPackedChunksFormatVersion && stored_total > 0 ? input.varint(table_where) : 0;
  if (packed_length > 0 && stored_total > kMaxPackedStoredBytes) {
    corrupt(group_name(groups_) + " packs " + str(stored_total) + " stored bytes, more than " +
            str(kMaxPackedStoredBytes));
  }

  group.payload.clear();
  input.append(group.payload, coded_total - (packed_length > 0 ? stored_total : 0),
               "the payload of " + group_name(groups_));
  group.side.assign(n_side, {});
  for (size_t i = 0; i < n_side; ++i) {
    input.append(group.side[i], side_lengths[i], "side blob " + str(i) + " of " + group_name(groups_));
  }
  if (packed_length > 0) {
    std::vector<uint8_t> packed;
    input.append(packed, packed_length, "the stored chunks of " + group_name(groups_));
    group.payload = unpack_stored_chunks(group, packed, stored_total, groups_);
  }
  ++groups_;
  return true;
}

std::vector<std::vector<uint8_t>> ArchiveReader::read_parts() {
  if (!is_stream_archive(header_.mode) || parts_read_) {
    throw Error("parts are read once from an xz or flac archive, before its end marker");
  }
  Input input(in_);
  std::vector<std::vector<uint8_t>> parts(stream_archive_parts(header_.mode));
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string where = "part " + str(i) + " of " + stream_archive_name(header_.mode);
    input.append(parts[i], input.varint(where), where);
  }
  parts_read_ = true;
  return parts;
}

void ArchiveReader::finish_stream_archive(uint64_t bytes, uint64_t checksum) {
  ChunkGroup none;
  next_group(none);  // reads the end marker: a stream archive has no groups, so anything else is refused
  if (bytes != header_.original_size) {
    corrupt("the streams decode to " + str(bytes) + " bytes but the header says " + str(*header_.original_size));
  }
  if (checksum != checksum_) throw Error("checksum mismatch: the archive is corrupt");
}

std::vector<uint8_t> serialize_archive(const Archive& archive) {
  std::ostringstream out;
  ArchiveWriter writer(out, archive.header);
  if (is_stream_archive(archive.header.mode)) writer.write_parts(archive.parts);
  for (const ChunkGroup& group : archive.groups) writer.write_group(group);
  writer.finish(archive.checksum);
  std::string bytes = std::move(out).str();
  return {bytes.begin(), bytes.end()};
}

Archive parse_archive(std::span<const uint8_t> bytes) {
  SpanBuffer buffer(bytes);
  std::istream in(&buffer);
  ArchiveReader reader(in);
  Archive archive;
  archive.header = reader.header();
  if (is_stream_archive(archive.header.mode)) archive.parts = reader.read_parts();
  ChunkGroup group;
  while (reader.next_group(group)) archive.groups.push_back(std::move(group));
  archive.checksum = reader.checksum();
  return archive;
}

uint64_t content_checksum(std::string_view bytes) { return XXH64(bytes.data(), bytes.size(), 0); }

void ContentChecksum::StateDeleter::operator()(XXH64_state_s* state) const { XXH64_freeState(state); }

ContentChecksum::ContentChecksum() : state_(XXH64_createState()) {
  if (!state_) throw Error("out of memory creating a checksum state");
  XXH64_reset(state_.get(), 0);
}

void ContentChecksum::update(std::string_view bytes) { XXH64_update(state_.get(), bytes.data(), bytes.size()); }

uint64_t ContentChecksum::digest() const { return XXH64_digest(state_.get()); }

}  // namespace lmc
