// `lmc train RECIPE [key=value ...] [--resume] [--dry-run]`: fine-tunes (LoRA) or trains a model as the
// YAML recipe says, with command-line overrides of any recipe key. --dry-run prints parameter counts
// and a memory estimate without loading weights or data. train/ does the training; this file also joins
// it to the codec (train/ does not depend on codec/): at every validation, data.codec_chunks validation
// chunks go through the real coder.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "codec/chunk_tokens.h"
#include "codec/codec.h"
#include "codec/group_coder.h"
#include "common/error.h"
#include "infer/scoring.h"
#include "train/dry_run.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace lmc::apps {
namespace {

struct TrainCommandOptions {
  std::string recipe;
  std::vector<std::string> overrides;
  bool resume = false;
  bool dry_run = false;
  double device_gib = 80.0;
};

// The first `limit` validation chunks coded exactly as `lmc compress` codes a group (the chunk's bytes
// tokenized by the codec, B chunks in lockstep through the KV-cache step, each token range-coded under
// the quantised softmax), then decoded back and compared with the bytes, so the size counted is one that
// decodes. val_coded_bpb counts the coded payloads; an archive adds only its header and a few varints per
// chunk. val_coded_gap is that minus the same chunks' cross-entropy under the same logits: the coder's
// own cost (frequency quantisation, the stream's last bytes) less what the match model saved on repeats.
train::ValidationHook coded_validation(int64_t limit) {
  return [limit](LlamaForCausalLM& model, const Tokenizer& tokenizer, const std::vector<train::Chunk>& chunks) {
    const size_t n = std::min(chunks.size(), static_cast<size_t>(limit));
    const CompressOptions defaults;
    const auto batch = static_cast<size_t>(auto_batch(model->config(), model->dtype(), kDefaultChunkBytes));
    const ChunkTokenizer chunk_tokenizer(tokenizer, ArchiveMode::kText);
    LockstepPredictor predictor(model, start_token(model->config(), tokenizer));
    MatchModel encoder_matches, decoder_matches;  // each side's own, as in an archive
    double coded_bits = 0, model_bits = 0, bytes = 0;
    for (size_t begin = 0; begin < n; begin += batch) {
      const size_t end = std::min(n, begin + batch);
      std::vector<std::string> originals;
      std::vector<std::vector<TokenId>> ids;
      std::vector<int64_t> counts;
      for (size_t i = begin; i < end; ++i) {
        originals.push_back(tokenizer.decode(chunks[i].tokens));
        if (static_cast<int64_t>(originals.back().size()) != chunks[i].bytes) {
          throw Error("coded validation: chunk " + std::to_string(i) + " does not decode to its " +
                      std::to_string(chunks[i].bytes) + " bytes");
        }
        ids.push_back(chunk_tokenizer.encode(originals.back()));
        counts.push_back(static_cast<int64_t>(ids.back().size()));
      }
      const std::vector<EncodedChunk> coded = encode_group(predictor, ids, defaults.total_bits, &encoder_matches);
      std::vector<std::span<const uint8_t>> payloads;
      for (const auto& c : coded) payloads.emplace_back(c.payload);
      const auto decoded = decode_group(predictor, payloads, counts, defaults.total_bits, &decoder_matches);
      for (size_t i = 0; i < coded.size(); ++i) {
        if (chunk_tokenizer.decode(decoded[i], originals[i].size()) != originals[i]) {
          throw Error("coded validation: chunk " + std::to_string(begin + i) + " did not decode to its bytes");
        }
        coded_bits += 8.0 * static_cast<double>(coded[i].payload.size());
        model_bits += coded[i].model_bits;
        bytes += static_cast<double>(originals[i].size());
      }
    }
    if (bytes == 0) return std::vector<std::pair<std::string, double>>{};
    return std::vector<std::pair<std::string, double>>{{"val_coded_bpb", coded_bits / bytes},
                                                        {"val_coded_gap", (coded_bits - model_bits) / bytes}};
  };
}

void run_train(const TrainCommandOptions& options) {
  train::Recipe recipe = train::load_recipe(options.recipe, options.overrides);
  if (options.dry_run) {
    std::cout << train::describe_plan(recipe, train::plan_training(recipe), options.device_gib);
    return;
  }
  train::TrainOptions train_options;
  train_options.resume = options.resume;
  if (recipe.data.codec_chunks > 0) train_options.validation_hook = coded_validation(recipe.data.codec_chunks);
  train::run_training(recipe, train_options);
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = app.add_subcommand("train", "Train or LoRA-fine-tune a model from a YAML recipe");
  command->footer(
      "Overrides: any recipe key as key=value, e.g. max_steps=20 optimizer.lr=1e-3 lora.rank=16.\n"
      "Several processes: torchrun --nproc-per-node N --no-python lmc train RECIPE (see docs/training.md).");
  command->add_option("RECIPE", options->recipe, "YAML recipe (see recipes/)")->required();
  command->add_option("OVERRIDES", options->overrides, "key=value overrides of recipe keys");
  command->add_flag("--resume", options->resume, "continue from the latest checkpoint in output_dir");
  command->add_flag("--dry-run", options->dry_run, "print parameter counts and a memory estimate, train nothing");
  command->add_option("--device-gib", options->device_gib, "device memory the --dry-run verdict compares with")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->callback([options] { run_train(*options); });
}

}  // namespace lmc::apps
