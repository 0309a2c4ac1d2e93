// `lmc prepare` as a library call: scan the inputs, plan the train/val/test split, stream every document
// (audio through audio-as-string) into the three shard files, and publish them atomically into the output
// directory. The CLI (apps/cmd_prepare.cpp) and the recipe-driven form both fill PrepareOptions.
// Nothing under `out` changes unless the whole run succeeds: the shards are written into a sibling
// OUT.tmp-XXXXXX directory and renamed into place at the end.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/shard_writer.h"
#include "data/splits.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc::data {

struct PrepareOptions {
  std::vector<std::string> inputs;  // files, directories or globs
  Modality modality = Modality::Text;
  std::filesystem::path tokenizer;  // empty: the byte tokenizer
  SplitSize train_size = SplitSize::of_bytes(uint64_t{64} << 20);
  SplitSize val_size = SplitSize::of_bytes(uint64_t{16} << 20);
  uint64_t chunk_bytes = 2048;
  std::optional<uint64_t> seed;     // absent: documents keep input order
  std::string jsonl_field = "text";
  std::filesystem::path out;        // directory receiving train.h5, val.h5, test.h5
};

struct PrepareProgress {
  enum class Stage { Scanning, Writing };
  Stage stage;
  uint64_t done;   // Scanning: documents indexed; Writing: document bytes written
  uint64_t total;  // Scanning: 0 (unknown); Writing: corpus bytes
};
using PrepareProgressFn = std::function<void(const PrepareProgress&)>;

inline constexpr std::array<const char*, 3> kSplitNames = {"train", "val", "test"};

struct PrepareResult {
  std::array<ShardStats, 3> splits;  // train, val, test
  uint64_t corpus_bytes = 0;
  std::vector<std::string> skipped;  // files of the other modality left out
  std::vector<std::filesystem::path> files;  // the shard files now in `out`
};

// Loads options.tokenizer (or the byte tokenizer) and prepares. Throws lmc::Error; `out` is then untouched.
PrepareResult prepare(const PrepareOptions& options, const PrepareProgressFn& progress = {});
// The same with a tokenizer the caller already has (options.tokenizer is ignored).
PrepareResult prepare(const PrepareOptions& options, const Tokenizer& tokenizer,
                      const PrepareProgressFn& progress = {});

}  // namespace lmc::data
