// Writes one split's shard file (train.h5, val.h5 or test.h5; layout in docs/data-format.md) as documents
// stream in: bytes are cut into chunks of at most `chunk_bytes` that never cross a document boundary, each
// chunk is tokenized on its own, and everything is appended to extendible, deflate-compressed datasets in
// blocks of about a megabyte, so memory stays bounded whatever the corpus size. It does not decide splits,
// order or atomic placement of the file: prepare.cpp does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "data/corpus.h"
#include "data/pcm_format.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc::data {

struct ShardHeader {
  std::string split;  // "train", "val" or "test"
  Modality modality = Modality::Text;
  uint64_t chunk_bytes = 2048;
  std::optional<uint64_t> seed;  // the document-order seed, if the order was shuffled
};

struct ShardStats {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  uint64_t chunks = 0;
  uint64_t tokens = 0;
};

class ShardWriter {
 public:
  // Creates `path` (which must not exist) and writes the header attributes.
  ShardWriter(const std::filesystem::path& path, const ShardHeader& header, const Tokenizer& tokenizer);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // `start` is the offset of this piece within the whole document (non-zero when a document was split
  // across shards); `format` is recorded for audio shards and ignored for text.
  void begin_document(const std::string& name, uint64_t start, const PcmFormat& format = {});
  // Document bytes (audio: the audio-as-string ASCII) and, for audio only, one 0/1 low bit per byte.
  void append(std::span<const uint8_t> bytes, std::span<const uint8_t> lsb_bits = {});
  void end_document();
  // Flushes, writes the count attributes and closes the file.
  ShardStats finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lmc::data
