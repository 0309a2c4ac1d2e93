#include "train/train_data.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "common/error.h"
#include "data/prepare.h"
#include "train/distributed.h"

namespace lmc::train {
namespace fs = std::filesystem;

namespace {

// What prepared data depends on; equal specs mean the prepared shards can be reused.
nlohmann::json preparation_spec(const DataRecipe& d, const Tokenizer& tokenizer) {
  return {{"inputs", d.inputs},
          {"modality", d.modality},
          {"train_size", d.train_size},
          {"val_size", d.val_size},
          {"split_seed", d.split_seed ? nlohmann::json(*d.split_seed) : nlohmann::json(nullptr)},
          {"chunk_bytes", d.chunk_bytes},
          {"tokenizer_kind", tokenizer.kind()},
          {"tokenizer_fingerprint", std::to_string(tokenizer.fingerprint())}};
}

std::optional<nlohmann::json> read_spec(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

fs::path recipe_data_dir(const Recipe& recipe) { return fs::path(recipe.output_dir) / "data"; }

data::PrepareResult prepare_recipe_data(const Recipe& recipe, const Tokenizer& tokenizer, const fs::path& out,
                                        const data::PrepareProgressFn& progress) {
  const DataRecipe& d = recipe.data;
  if (d.inputs.empty()) {
    throw Error("the recipe's data names shards (" + d.shards + "), prepared already; give data.inputs to prepare");
  }
  return with_context("preparing data.inputs into " + out.string(), [&] {
    data::PrepareOptions options;
    options.inputs = d.inputs;
    options.modality = data::parse_modality(d.modality);
    options.train_size = data::parse_split_size(d.train_size);
    options.val_size = data::parse_split_size(d.val_size);
    options.chunk_bytes = static_cast<uint64_t>(d.chunk_bytes);
    if (d.split_seed) options.seed = static_cast<uint64_t>(*d.split_seed);
    options.out = out;
    const bool own_dir = fs::weakly_canonical(out) == fs::weakly_canonical(recipe_data_dir(recipe));
    const fs::path spec_file = fs::path(recipe.output_dir) / "data_spec.json";
    if (own_dir) fs::remove(spec_file);
    data::PrepareResult result = data::prepare(options, tokenizer, progress);
    if (own_dir) write_file_atomically(spec_file, preparation_spec(d, tokenizer).dump(2) + "\n");
    return result;
  });
}

fs::path resolve_shards(const Recipe& recipe, const Tokenizer& tokenizer, ProcessGroup& group, bool resuming) {
  if (!recipe.data.shards.empty()) return recipe.data.shards;
  const fs::path out = recipe_data_dir(recipe);
  const nlohmann::json spec = preparation_spec(recipe.data, tokenizer);
  const bool reusable = fs::exists(out / "train.h5") && read_spec(fs::path(recipe.output_dir) / "data_spec.json") == spec;
  if (!reusable && resuming) {
    throw Error("the recipe's data (inputs, sizes, split_seed, chunk_bytes or tokenizer) differs from the data " +
                out.string() + " was prepared from; resuming would train on other chunks");
  }
  if (!reusable && group.is_main()) prepare_recipe_data(recipe, tokenizer, out);
  group.barrier();
  return out;
}

TrainData::TrainData(const fs::path& shard_dir, const Tokenizer& tokenizer, BatchLayout layout)
    : train_(shard_dir / "train.h5"), val_(shard_dir / "val.h5"), layout_(layout) {
  for (const data::ShardReader* reader : {&train_, &val_}) {
    const auto& info = reader->info();
    if (info.tokenizer_fingerprint != tokenizer.fingerprint()) {
      throw Error("the " + info.split + " shard in " + shard_dir.string() + " was tokenized with a '" +
                  info.tokenizer_kind + "' tokenizer that is not the recipe's '" + tokenizer.kind() +
                  "' tokenizer; prepare the data again with the model's tokenizer");
    }
  }
  const int64_t per_step = layout_.batch_size * layout_.accumulation * layout_.world_size;
  steps_per_epoch_ = train_chunks() / layout_.world_size / (layout_.batch_size * layout_.accumulation);
  if (steps_per_epoch_ == 0) {
    throw Error("the training split in " + shard_dir.string() + " has " + std::to_string(train_chunks()) +
                " chunks, fewer than one step takes (batch_size x gradient_accumulation_steps x ranks = " +
                std::to_string(per_step) + "); lower batch_size or give more data");
  }
  if (val_chunks() == 0) {
    throw Error("the validation split in " + shard_dir.string() + " is empty; give data.val_size more room");
  }
}

Chunk TrainData::read(const data::ShardReader& reader, int64_t index) const {
  Chunk chunk;
  chunk.tokens = reader.chunk_tokens(index);
  chunk.bytes = reader.chunk_size(index);
  return chunk;
}

std::vector<Chunk> TrainData::micro_batch(int64_t step, int64_t micro) {
  const int64_t epoch = step / steps_per_epoch_;
  const int64_t in_epoch = step % steps_per_epoch_;
  if (epoch != cached_epoch_) {
    order_ = data::epoch_order(train_chunks(), layout_.shuffle_seed, static_cast<uint64_t>(epoch), layout_.rank,
                               layout_.world_size);
    cached_epoch_ = epoch;
  }
  std::vector<Chunk> chunks;
  const int64_t first = (in_epoch * layout_.accumulation + micro) * layout_.batch_size;
  for (int64_t i = 0; i < layout_.batch_size; ++i) chunks.push_back(read(train_, order_[first + i]));
  return chunks;
}

std::vector<Chunk> TrainData::validation_share(int64_t limit) const {
  const int64_t n = limit > 0 ? std::min(limit, val_chunks()) : val_chunks();
  std::vector<Chunk> chunks;
  for (int64_t i = layout_.rank; i < n; i += layout_.world_size) chunks.push_back(read(val_, i));
  return chunks;
}

}  // namespace lmc::train
