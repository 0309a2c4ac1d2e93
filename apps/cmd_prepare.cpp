// `lmc prepare`: corpora (text, or audio as audio-as-string) into train/val/test HDF5 shards, from
// flags or from a training recipe's `data:` section (into the run's own data directory, where `lmc train`
// then finds it, or --out). Parsing, a progress bar (stderr, only on a terminal) and the summary; the
// work is lmc::data::prepare().
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "apps/commands.h"
#include "common/error.h"
#include "data/prepare.h"
#include "train/model_setup.h"
#include "train/recipe.h"
#include "train/train_data.h"

namespace lmc::apps {
namespace {

struct PrepareArgs {
  std::vector<std::string> inputs;
  std::string modality = "text";
  std::string tokenizer;
  std::string train_bytes = "64MB";
  std::string val_bytes = "16MB";
  std::string chunk_bytes = "2048";
  std::optional<uint64_t> seed;
  std::string jsonl_field = "text";
  std::string out;
  std::string recipe;
  std::vector<std::string> overrides;
};

// Redraws one stderr line at most ten times a second.
class ProgressBar {
 public:
  void operator()(const data::PrepareProgress& p) {
    auto now = std::chrono::steady_clock::now();
    bool done = p.stage == data::PrepareProgress::Stage::Writing && p.done == p.total;
    if (!done && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    if (p.stage == data::PrepareProgress::Stage::Scanning) {
      std::fprintf(stderr, "\rprepare: scanning inputs, %llu documents", static_cast<unsigned long long>(p.done));
      return;
    }
    if (!writing_) {
      writing_ = true;
      start_ = now;
      std::fputc('\n', stderr);
    }
    double seconds = std::chrono::duration<double>(now - start_).count();
    double mb = static_cast<double>(p.done) / 1e6;
    double fraction = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '-');
    std::fprintf(stderr, "\rprepare: [%s] %5.1f%% %.1f/%.1f MB %.1f MB/s", bar.c_str(), 100 * fraction, mb,
                 static_cast<double>(p.total) / 1e6, seconds > 0 ? mb / seconds : 0.0);
    if (done) std::fputc('\n', stderr);
  }

 private:
  bool writing_ = false;
  std::chrono::steady_clock::time_point start_{}, last_{};
};

void print_summary(const data::PrepareResult& result, const std::string& modality, const std::string& out,
                   std::optional<uint64_t> seed) {
  std::cout << "prepared " << result.corpus_bytes << " bytes (" << modality << ") into " << out << ", "
            << (seed ? "documents shuffled with seed " + std::to_string(*seed) : "documents in input order") << "\n";
  std::printf("%-6s %10s %14s %10s %12s\n", "split", "documents", "bytes", "chunks", "tokens");
  for (size_t i = 0; i < result.splits.size(); ++i) {
    const auto& s = result.splits[i];
    std::printf("%-6s %10llu %14llu %10llu %12llu\n", data::kSplitNames[i],
                static_cast<unsigned long long>(s.documents), static_cast<unsigned long long>(s.bytes),
                static_cast<unsigned long long>(s.chunks), static_cast<unsigned long long>(s.tokens));
  }
  std::fflush(stdout);
  if (!result.skipped.empty()) {
    std::cout << "skipped " << result.skipped.size() << " file(s) of the other modality, e.g. "
              << result.skipped.front() << "\n";
  }
}

data::PrepareProgressFn progress_bar() {
  if (::isatty(STDERR_FILENO)) return ProgressBar();
  return {};
}

// The recipe's data section, with the recipe's tokenizer, as `lmc train` would prepare it.
void run_recipe_prepare(const PrepareArgs& args) {
  const train::Recipe recipe = train::load_recipe(args.recipe, args.overrides);
  const std::filesystem::path out = args.out.empty() ? train::recipe_data_dir(recipe) : std::filesystem::path(args.out);
  const auto tokenizer = train::recipe_tokenizer(recipe);
  const data::PrepareResult result = train::prepare_recipe_data(recipe, *tokenizer, out, progress_bar());
  std::optional<uint64_t> seed;
  if (recipe.data.split_seed) seed = static_cast<uint64_t>(*recipe.data.split_seed);
  print_summary(result, recipe.data.modality, out.string(), seed);
}

void run_prepare(const PrepareArgs& args) {
  if (!args.recipe.empty()) {
    run_recipe_prepare(args);
    return;
  }
  if (!args.overrides.empty()) throw Error("key=value overrides need --recipe");
  if (args.inputs.empty() || args.out.empty()) throw Error("give --inputs and --out, or --recipe");
  data::PrepareOptions options;
  options.inputs = args.inputs;
  options.modality = data::parse_modality(args.modality);
  options.tokenizer = args.tokenizer;
  options.train_size = data::parse_split_size(args.train_bytes);
  options.val_size = data::parse_split_size(args.val_bytes);
  options.chunk_bytes = data::parse_byte_size(args.chunk_bytes);
  options.seed = args.seed;
  options.jsonl_field = args.jsonl_field;
  options.out = args.out;
  print_summary(data::prepare(options, progress_bar()), args.modality, args.out, args.seed);
}

}  // namespace

void register_prepare_command(CLI::App& app) {
  auto* command = app.add_subcommand("prepare", "Turn text or audio corpora into train/val/test HDF5 shards");
  auto args = std::make_shared<PrepareArgs>();
  auto* inputs = command->add_option("--inputs", args->inputs,
                                     "files, directories or globs (.txt .jsonl .xml .tar .wav .flac ...)");
  auto* modality = command->add_option("--modality", args->modality, "text or audio (audio-as-string)")
                       ->check(CLI::IsMember({"text", "audio"}));
  auto* tokenizer = command->add_option("--tokenizer", args->tokenizer, "tokenizer file or directory (default: bytes)");
  auto* train = command->add_option("--train-bytes", args->train_bytes, "train split: bytes (64MB) or a fraction (0.8)")
                    ->capture_default_str();
  auto* val = command->add_option("--val-bytes", args->val_bytes, "validation split: bytes (16MB) or a fraction (0.1)")
                  ->capture_default_str();
  auto* chunk = command->add_option("--chunk-bytes", args->chunk_bytes, "chunk size in bytes")->capture_default_str();
  auto* seed = command->add_option("--seed", args->seed, "shuffle documents with this seed (default: keep input order)");
  auto* field = command->add_option("--jsonl-field", args->jsonl_field, "the JSONL field holding each document's text")
                    ->capture_default_str();
  command->add_option("--out", args->out,
                      "output directory (train.h5, val.h5, test.h5); with --recipe, default OUTPUT_DIR/data");
  auto* recipe = command->add_option("--recipe", args->recipe,
                                     "prepare a training recipe's data section (inputs, modality, sizes, split_seed, "
                                     "chunk_bytes) with its tokenizer, as `lmc train` would");
  command->add_option("OVERRIDES", args->overrides, "with --recipe: key=value overrides of recipe keys");
  for (auto* option : {inputs, modality, tokenizer, train, val, chunk, seed, field}) recipe->excludes(option);
  command->callback([args] { run_prepare(*args); });
}

}  // namespace lmc::apps
