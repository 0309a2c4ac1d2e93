// `lmc eval --model DIR FILE...`: the model's cross-entropy in bits per byte of each file, cut into
// chunks that are each scored from BOS, every byte counted. It measures the ideal code length; the
// real coder's output is what `lmc compress --json` reports. `--baselines` adds gzip, bzip2, xz, zstd
// (and flac for PCM WAV) on the same files, whole and cut into the same chunks (codec/baselines.h).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/file_streams.h"
#include "apps/model_options.h"
#include "codec/baselines.h"
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
  bool baselines = false;
};

// One compressor's sizes summed over the files it applies to.
struct BaselineTotal {
  uint64_t bytes_in = 0;
  uint64_t whole = 0;
  uint64_t chunked = 0;
};

// Adds each baseline's whole-file and chunked size of `bytes` to `totals`; returns them for the file.
nlohmann::json add_baselines(std::string_view bytes, int64_t chunk_bytes, std::map<Baseline, BaselineTotal>& totals) {
  nlohmann::json sizes = nlohmann::json::object();
  for (Baseline baseline : kBaselines) {
    auto whole = compressed_size(baseline, bytes);
    if (!whole) continue;  // flac on anything but PCM WAV
    const uint64_t chunked = *chunked_size(baseline, bytes, chunk_bytes);
    sizes[baseline_name(baseline)] = {{"whole_bytes", *whole}, {"chunked_bytes", chunked}};
    BaselineTotal& total = totals[baseline];
    total.bytes_in += bytes.size();
    total.whole += *whole;
    total.chunked += chunked;
  }
  return sizes;
}

nlohmann::json size_entry(uint64_t compressed, uint64_t bytes_in) {
  return {{"compressed_bytes", compressed},
          {"bits_per_byte", bytes_in ? 8.0 * compressed / double(bytes_in) : 0.0},
          {"ratio", compressed ? double(bytes_in) / double(compressed) : 0.0}};
}

// {"lmc cross-entropy": {...}, "gzip -9": {"bytes_in", "whole", "chunked"}, ...}
nlohmann::json baselines_json(const std::map<Baseline, BaselineTotal>& totals, int64_t bytes, double bits) {
  const double bpb = bytes ? bits / double(bytes) : 0.0;
  nlohmann::json j = {{"lmc cross-entropy",
                       {{"bytes_in", bytes}, {"chunked", {{"bits_per_byte", bpb}, {"ratio", bpb > 0 ? 8.0 / bpb : 0.0}}}}}};
  for (const auto& [baseline, total] : totals) {
    j[baseline_name(baseline)] = {{"bytes_in", total.bytes_in},
                                  {"whole", size_entry(total.whole, total.bytes_in)},
                                  {"chunked", size_entry(total.chunked, total.bytes_in)}};
  }
  return j;
}

void print_baselines(const nlohmann::json& baselines, int64_t chunk_bytes) {
  std::printf("\n%-20s %12s %12s %8s   %-28s\n", "compressor", "bytes in", "whole: bpb", "ratio",
              ("chunked (" + std::to_string(chunk_bytes) + " B): bpb   ratio").c_str());
  std::vector<std::string> names = {"lmc cross-entropy"};
  for (Baseline baseline : kBaselines) {
    if (baselines.contains(baseline_name(baseline))) names.push_back(baseline_name(baseline));
  }
  for (const auto& name : names) {
    const auto& entry = baselines[name];
    const auto& chunked = entry["chunked"];
    if (entry.contains("whole")) {
      std::printf("%-20s %12llu %12.4f %8.3f   %19.4f %8.3f\n", name.c_str(), entry["bytes_in"].get<unsigned long long>(),
                  entry["whole"]["bits_per_byte"].get<double>(), entry["whole"]["ratio"].get<double>(),
                  chunked["bits_per_byte"].get<double>(), chunked["ratio"].get<double>());
    } else {
      std::printf("%-20s %12llu %12s %8s   %19.4f %8.3f\n", name.c_str(), entry["bytes_in"].get<unsigned long long>(), "-",
                  "-", chunked["bits_per_byte"].get<double>(), chunked["ratio"].get<double>());
    }
  }
}

void run_eval(const EvalOptions& options) {
  LoadedModel loaded = load_model(options.model);
  nlohmann::json files = nlohmann::json::array();
  int64_t total_bytes = 0, total_tokens = 0;
  double total_bits = 0;
  std::map<Baseline, BaselineTotal> baseline_totals;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& path : options.files) {
    const std::string bytes = read_whole_input(path);
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
    if (options.baselines) files.back()["baselines"] = add_baselines(bytes, options.chunk_bytes, baseline_totals);
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
    if (options.baselines) j["baselines"] = baselines_json(baseline_totals, total_bytes, total_bits);
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
  if (options.baselines) print_baselines(baselines_json(baseline_totals, total_bytes, total_bits), options.chunk_bytes);
}

}  // namespace

void register_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* command = app.add_subcommand("eval", "Cross-entropy of a model on files, in bits per byte");
  add_model_options(*command, options->model);
  command->add_option("--chunk-bytes", options->chunk_bytes, "bytes per independently scored chunk")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  command->add_option("--batch", options->batch, "chunks per forward pass")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  command->add_flag("--json", options->as_json, "print one JSON object");
  command->add_flag("--baselines", options->baselines,
                    "also gzip -9, bzip2 -9, xz -9e, zstd -19 and flac -8 (PCM WAV) on the same files, whole and chunked");
  command->add_option("FILE", options->files, "files to score")->required();
  command->callback([options] { run_eval(*options); });
}

}  // namespace lmc::apps
