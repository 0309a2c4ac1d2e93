// The chunks a run trains and validates on. Training always reads `lmc prepare` shards (train.h5, val.h5):
// a recipe naming raw inputs has them prepared once into OUTPUT_DIR/data by the same library call the CLI
// uses, and reused on resume. Each optimizer step takes batch_size * accumulation * world chunks from the
// epoch's order (shuffled by seed and epoch, the shard reader's epoch_order), every rank its own share, so
// the chunks of a step are the same whatever the split into ranks and micro-batches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/prepare.h"
#include "data/shard_reader.h"
#include "infer/tokenizers/tokenizer.h"
#include "train/recipe.h"

namespace lmc::train {

class ProcessGroup;

struct Chunk {
  std::vector<TokenId> tokens;  // BOS excluded
  int64_t bytes = 0;
};

// OUTPUT_DIR/data: where a run prepares its data.inputs, and finds them when they were prepared before.
std::filesystem::path recipe_data_dir(const Recipe& recipe);

// Prepares data.inputs into `out` with the recipe's modality, split sizes, split_seed and chunk_bytes, by
// the library call `lmc prepare` makes. Into recipe_data_dir() it also records what the shards were made
// from (OUTPUT_DIR/data_spec.json), so a run of the same recipe uses them instead of preparing again.
// Throws lmc::Error if the recipe names data.shards instead of inputs.
data::PrepareResult prepare_recipe_data(const Recipe& recipe, const Tokenizer& tokenizer,
                                        const std::filesystem::path& out, const data::PrepareProgressFn& progress = {});

// The shard directory of a recipe: data.shards, or OUTPUT_DIR/data prepared from data.inputs (by rank 0,
// the others wait). Prepared data is reused only if made from the same inputs, sizes, seed, chunk size
// and tokenizer; when `resuming`, anything else is an error rather than a silent re-preparation.
std::filesystem::path resolve_shards(const Recipe& recipe, const Tokenizer& tokenizer, ProcessGroup& group,
                                     bool resuming);

struct BatchLayout {
  int64_t batch_size = 1;      // chunks per micro-batch
  int64_t accumulation = 1;    // micro-batches per step
  int rank = 0;
  int world_size = 1;
  std::optional<uint64_t> shuffle_seed;  // absent: shard order
};

class TrainData {
 public:
  // Opens DIR/train.h5 and DIR/val.h5; throws lmc::Error if the shards were tokenized with another
  // tokenizer or hold too few chunks for one step.
  TrainData(const std::filesystem::path& shard_dir, const Tokenizer& tokenizer, BatchLayout layout);

  int64_t train_chunks() const { return train_.info().chunks; }
  int64_t val_chunks() const { return val_.info().chunks; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }

  // The chunks of micro-batch `micro` of optimizer step `step` (0-based, counted across epochs).
  std::vector<Chunk> micro_batch(int64_t step, int64_t micro);
  // This rank's share of the first `limit` validation chunks (0: all), in order.
  std::vector<Chunk> validation_share(int64_t limit) const;

 private:
  Chunk read(const data::ShardReader& reader, int64_t index) const;

  data::ShardReader train_;
  data::ShardReader val_;
  BatchLayout layout_;
  int64_t steps_per_epoch_ = 0;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;  // this rank's chunks of cached_epoch_
};

}  // namespace lmc::train
