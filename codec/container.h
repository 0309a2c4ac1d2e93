// The .lmc archive container: header, groups of chunks with their tables and coded payloads, an end
// marker with the checksum of the original bytes. Serialises and parses, validating every field; it
// does not code anything itself, and it stores the model fingerprint and checksum it is given.
//
// Byte layout (varint = unsigned LEB128, at most 10 bytes, no overlong forms; u64 = 8 bytes LE):
//
//   archive := header group* end
//   header  := "LMC" u8 format_version (kArchiveFormatVersion)
//              u8 mode (ArchiveMode)   u8 flags (bit 0: original_size follows; bit 1: coded without
//              the match model; others must be 0)
//              [varint original_size]   u64 model_fingerprint   u8 dtype (ModelDtype)
//              varint chunk_bytes   varint batch_size   varint threads   u8 total_bits
//   group   := varint n_chunks (1..batch_size)
//              n_chunks x (varint original_bytes  varint tokens  varint coded_bytes)
//              (tokens 0: a stored chunk, whose coded bytes are its original bytes)
//              varint n_side (0..kMaxSideBlobs)   n_side x varint side_length
//              [varint packed_length] (from format 12, in a group with a stored chunk)
//              the chunks' coded bytes, concatenated in table order (without the stored chunks' when
//              packed_length is not 0)
//              the side blobs, concatenated in order
//              packed_length bytes: one .xz stream (xz -9e) of the stored chunks' bytes in table order
//   end     := varint 0   u64 checksum (XXH64, seed 0, of all original bytes)
//
// From format 11, a file that xz -9e, or for a PCM WAV flac -8, shrinks more than the model has an xz or
// flac archive instead: no model fields and no groups, only streams the xz and flac tools read:
//
//   stream-archive := "LMC" u8 format_version   u8 mode (3: kXz, 4: kFlac)   u8 flags (1: original_size)
//                     varint original_size   part*   end
//   part           := varint length   length x u8
//
// An xz archive has one part, the .xz stream xz -9e writes (codec/xz_stream.h); a flac archive has
// three, the WAV's bytes before its samples, the FLAC stream of the samples, and the WAV's bytes after
// them (codec/flac_archive.h). The size bounds what a corrupt stream can make a reader write.
//
// A group's stored chunks are the ones the model would not code well: they are packed into one xz
// stream when that is smaller than their bytes, so a binary part of a text file costs about what xz
// makes of it. A reader unpacks them: a ChunkGroup in memory always holds them as they are.
//
// A group is the chunks a batch codes in lockstep; its table comes before its payload, so a reader
// knows every chunk's length before reading it (a coded chunk's offset is the prefix sum of the coded
// chunks' lengths before it, a stored one's that of the stored ones) and decodes the group's chunks
// together; with the match model, a group decodes only after every earlier one. A writer can
// stream: it emits the header, then one group at a time, then the end, and never holds more than one
// group. Side blobs carry mode-specific data (audio: the WAV header and
// the coded least-significant bits) with the group they belong to.
//
// Limits the parser enforces (so corrupt input can't make a reader allocate or loop without bound):
// 1 <= chunk_bytes <= 2^30, 1 <= batch_size <= 65536, 1 <= threads <= 4096, total_bits in
// [kMinTotalBits, kMaxTotalBits]; per chunk 1 <= original_bytes <= chunk_bytes, and either tokens = 0
// and coded_bytes = original_bytes (stored), or 1 <= tokens <= original_bytes (every token covers at
// least one byte) and coded_bytes <= tokens * (total_bits + 1) / 8 + 16 (every symbol has frequency
// >= 1 out of 2^total_bits; format-8 audio adds each symbol's bit and the LPC coefficients); the
// chunk lengths add up to original_size when the header has it; a group packs its stored chunks only
// when they hold at most kMaxPackedStoredBytes, which bounds what their xz stream may unpack to.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

struct XXH64_state_s;

namespace lmc {

// 2: the coder's steps run lmc's own fixed-order kernels (infer/row_linear.h), so version 1's
// frequencies cannot be rebuilt: an older archive is refused by name instead of failing its checksum.
// 3: the match model (codec/match_model.h) reshapes the frequencies where tokens repeat, unless flag
// bit 1 says it was off; a version-2 archive is read as version 3 with that bit set, which is what it is.
// 4: audio's low bits are coded in contexts that include the symbols (codec/adaptive_bits.h); version-3
// audio archives still decode, with the bit-history contexts they were made with.
// 5: with the match model, a ContextCache (codec/context_cache.h) also reshapes the frequencies;
// versions 3 and 4 still decode without it.
// 6: the low bits of 16-bit PCM code each sample's bit 8 in contexts of its neighbouring samples
// (codec/adaptive_bits.h), and their blob records the channel count; text and bytes archives are as in
// version 5, and version-5 audio archives still decode with the symbols' contexts.
// 7: that bit 8 mixes four neighbour predictions (codec/adaptive_bits.h, Pcm16Contexts); all else is as in
// version 6, whose audio archives still decode with its single table.
// 8: 16-bit PCM under a byte-level model is coded with the PCM model (codec/pcm_model.h): each chunk's
// stream starts with its LPC coefficients and codes each symbol's shifted-out bit right after it, and a
// stored audio chunk holds its PCM bytes; the low bits' blob says so in a third byte. Other audio is as
// in version 7, text and bytes archives as in version 5.
// 9: in multichannel PCM, the PCM model's second stage also predicts each channel after the first from
// the first channel's residuals (codec/pcm_model.h, kCrossTaps); all else is as in version 8, whose
// archives still decode without them.
// 10: the PCM model also codes 8- and 24-bit PCM (format 7's bit coder did), and a channel whose samples
// all end in zero bits (16-bit audio stored in 24 bits) is modelled without them, their count coded with
// its LPC filter; all else is as in 9.
// 11: a file xz -9e or flac -8 shrinks more than the model is kept as an xz or flac archive (modes 3 and 4,
// above); all else is as in 10.
// 12: a group's stored chunks may be packed into one xz stream (packed_length, above), and the model
// fingerprint covers LoRA adapters' scales; all else is as in 11.
// 13: a text or bytes chunk that is mostly not text (codec/set_aside.h, bypasses_model) is stored without
// running the model or the match model on it: the group's other chunks are coded in lockstep as if it
// were not there. All else is as in 12, whose archives still decode with every chunk in the model.
inline constexpr uint8_t kArchiveFormatVersion = 13;
inline constexpr uint8_t kModelBypassFormatVersion = 13;
inline constexpr uint8_t kPackedChunksFormatVersion = 12;
// From 12 the model fingerprint covers LoRA adapters' scales (infer/fingerprint.h).
inline constexpr uint8_t kAdapterScaleFingerprintFormatVersion = 12;
inline constexpr uint8_t kPcmWidthsFormatVersion = 10;
inline constexpr uint8_t kStreamArchiveFormatVersion = 11;
inline constexpr uint8_t kOldestReadableFormatVersion = 2;
inline constexpr size_t kMaxSideBlobs = 16;
// A group's stored bytes that may be packed: 512 default groups. More are written as they are, so a
// small forged xz stream cannot make a reader allocate more than this.
inline constexpr uint64_t kMaxPackedStoredBytes = uint64_t{64} << 20;

// kXz, kFlac: the stream archives above, which need no model; the header's model fields are unset.
enum class ArchiveMode : uint8_t { kText = 0, kBytes = 1, kAudio = 2, kXz = 3, kFlac = 4 };
bool is_stream_archive(ArchiveMode mode);
// A stream archive's part count.
size_t stream_archive_parts(ArchiveMode mode);
// The dtype the model ran in: logits, hence frequencies, depend on it.
enum class ModelDtype : uint8_t { kFloat32 = 0, kBFloat16 = 1, kFloat16 = 2 };

struct ArchiveHeader {
  ArchiveMode mode = ArchiveMode::kText;
  std::optional<uint64_t> original_size;  // unset when the writer streams input of unknown length
  uint64_t model_fingerprint = 0;         // config + weights + adapter + tokenizer
  ModelDtype dtype = ModelDtype::kFloat32;
  uint64_t chunk_bytes = 0;
  uint64_t batch_size = 1;  // chunks coded in lockstep (logits depend on the batch)
  uint64_t threads = 1;     // threads the model ran with (logits may depend on them)
  int total_bits = 0;       // frequency total 2^total_bits
  bool match_model = true;  // the model's tables were reshaped by codec/match_model.h
  uint8_t format_version = kArchiveFormatVersion;  // as read; a writer always writes the current one
};

struct ChunkEntry {
  uint64_t original_bytes = 0;
  uint64_t tokens = 0;  // 0: stored, the chunk's bytes as they are (codec/set_aside.h chooses which)
  uint64_t coded_bytes = 0;
  bool stored() const { return tokens == 0; }
};

struct ChunkGroup {
  std::vector<ChunkEntry> chunks;
  std::vector<uint8_t> payload;              // every chunk's coded bytes, in table order
  std::vector<std::vector<uint8_t>> side;    // mode-specific blobs

  // Appends a chunk's entry and its coded bytes.
  void add_chunk(uint64_t original_bytes, uint64_t tokens, std::span<const uint8_t> coded);
  // Each chunk's coded bytes, sliced from payload at offsets derived from the table.
  std::vector<std::span<const uint8_t>> coded_chunks() const;
};

// Writes an archive to a stream one group at a time. Throws lmc::Error on an invalid header or group
// (same rules as the parser) or a failing stream.
class ArchiveWriter {
 public:
  ArchiveWriter(std::ostream& out, const ArchiveHeader& header);
  void write_group(const ChunkGroup& group);
  // A stream archive's parts, all at once, in place of groups.
  void write_parts(const std::vector<std::vector<uint8_t>>& parts);
  // Writes the end marker; the chunk lengths must add up to the header's original_size, if set (a
  // stream archive's reader checks that against what its parts decode to).
  void finish(uint64_t checksum);

 private:
  void put(std::span<const uint8_t> bytes);

  std::ostream& out_;
  ArchiveHeader header_;
  uint64_t groups_ = 0;
  uint64_t original_bytes_ = 0;
  bool parts_written_ = false;
  bool finished_ = false;
};

// Reads an archive from a stream one group at a time, validating as it goes; throws lmc::Error with
// what is wrong and where ("archive truncated in the chunk table of group 2").
class ArchiveReader {
 public:
  explicit ArchiveReader(std::istream& in);  // reads and checks the header
  const ArchiveHeader& header() const { return header_; }
  // Reads the next group into `group` and returns true, or reads the end marker and returns false. An
  // stream archive has no groups: after its parts, this reads its end marker.
  bool next_group(ChunkGroup& group);
  // A stream archive's parts, read in bounded steps; once, before next_group().
  std::vector<std::vector<uint8_t>> read_parts();
  // After a stream archive's parts have decoded to `bytes` bytes with XXH64 `checksum`: reads the end
  // marker and checks both against what the archive records.
  void finish_stream_archive(uint64_t bytes, uint64_t checksum);
  // After next_group() returned false: the stored checksum and the total of the chunk lengths.
  uint64_t checksum() const { return checksum_; }
  uint64_t original_size() const { return original_bytes_; }

 private:
  std::istream& in_;
  ArchiveHeader header_;
  uint64_t groups_ = 0;
  uint64_t original_bytes_ = 0;
  uint64_t checksum_ = 0;
  bool parts_read_ = false;
  bool ended_ = false;
};

// A whole archive in memory, for small inputs and tests.
struct Archive {
  ArchiveHeader header;
  std::vector<ChunkGroup> groups;
  std::vector<std::vector<uint8_t>> parts;  // a stream archive's, which has no groups
  uint64_t checksum = 0;
};
std::vector<uint8_t> serialize_archive(const Archive& archive);

// What a group's stored chunks with these bytes (in table order) become in its archive: one xz -9e stream
// when that is smaller (and they hold at most kMaxPackedStoredBytes), or empty when they stay as they
// are. A writer picking which chunks to store can weigh them with it.
std::vector<uint8_t> pack_stored_bytes(std::string_view stored);
Archive parse_archive(std::span<const uint8_t> bytes);

// XXH64 (seed 0) of the original bytes, whole or streamed.
uint64_t content_checksum(std::string_view bytes);
class ContentChecksum {
 public:
  ContentChecksum();
  void update(std::string_view bytes);
  uint64_t digest() const;

 private:
  struct StateDeleter {
    void operator()(XXH64_state_s* state) const;
  };
  std::unique_ptr<XXH64_state_s, StateDeleter> state_;
};

}  // namespace lmc
