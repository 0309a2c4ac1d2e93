// `lmc eval --model DIR FILE...`: the model's cross-entropy in bits per byte of each file, cut into
// chunks that are each scored from BOS, every byte counted. It measures the ideal code length; the
// real coder's output is what `lmc compress --json` reports.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_options.h"
#include "common/error.h"
#include "infer/scoring.h"

namespace lmc::apps {
namespace {

struct EvalOptions {
  ModelOptions model;
  std::vector<std::string> files;
  int64_t chunk_bytes = 2048;
  int64_t batch = 8;
  bool as_json = false;
};

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error("cannot read '" + path + "'");
  return buffer.str();
}

void run_eval(const EvalOptions& options) {
  LoadedModel loaded = load_model(options.model);
  nlohmann::json files = nlohmann::json::array();
  int64_t total_bytes = 0, total_tokens = 0;
  double total_bits = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& path : options.files) {
    const std::string bytes = read_whole_file(path);
    auto scores = with_context(path, [&] {
      return score_chunks(loaded.model, *loaded.tokenizer, split_chunks(bytes, options.chunk_bytes), options.batch);
    });
    int64_t tokens = 0;
    double bits = 0;
    for (const auto& s : scores) {
      tokens += s.tokens;
      bits += s.bits;
    }
    const double bpb = bytes.empty() ? 0.0 : bits / static_cast<double>(bytes.size());
    files.push_back({{"file", path}, {"bytes", bytes.size()}, {"tokens", tokens}, {"chunks", scores.size()},
                     {"bits", bits}, {"bits_per_byte", bpb}});
    total_bytes += static_cast<int64_t>(bytes.size());
    total_tokens += tokens;
    total_bits += bits;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double bpb = total_bytes == 0 ? 0.0 : total_bits / static_cast<double>(total_bytes);
  if (options.as_json) {
    nlohmann::json j = {{"bytes", total_bytes}, {"tokens", total_tokens},   {"bits", total_bits},
                        {"bits_per_byte", bpb}, {"chunk_bytes", options.chunk_bytes}, {"seconds", seconds},
                        {"files", files}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%-40s %12s %10s %10s\n", "file", "bytes", "tokens", "bits/byte");
  for (const auto& f : files) {
    std::printf("%-40s %12lld %10lld %10.4f\n", f["file"].get<std::string>().c_str(),
                static_cast<long long>(f["bytes"].get<int64_t>()), static_cast<long long>(f["tokens"].get<int64_t>()),
                f["bits_per_byte"].get<double>());
  }
  std::printf("%-40s %12lld %10lld %10.4f  (%.1f KB/s)\n", "total", static_cast<long long>(total_bytes),
              static_cast<long long>(total_tokens), bpb, seconds > 0 ? total_bytes / 1000.0 / seconds : 0.0);
}

}  // namespace

void register_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* command = app.add_subcommand("eval", "Cross-entropy of a model on files, in bits per byte");
  add_model_options(*command, options->model, /*model_required=*/true);
  command->add_option("--chunk-bytes", options->chunk_bytes, "bytes per independently scored chunk")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--batch", options->batch, "chunks per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_flag("--json", options->as_json, "print one JSON object");
  command->add_option("FILE", options->files, "files to score")->required();
  command->callback([options] { run_eval(*options); });
}

}  // namespace lmc::apps
