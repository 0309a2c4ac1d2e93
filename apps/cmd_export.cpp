// `lmc export --model BASE [--adapter DIR] --out DIR`: the base with the adapter merged in, as a Hugging
// Face checkpoint (checkpoints/merged_export.h does the work, streaming tensor by tensor).
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>

#include "apps/commands.h"
#include "apps/model_options.h"
#include "checkpoints/merged_export.h"
#include "checkpoints/model_dir.h"
#include "common/error.h"

namespace lmc::apps {
namespace {

struct ExportCommandOptions {
  std::string model;
  std::string adapter;
  std::string out;
  std::string dtype;
  std::string max_shard_size = "5GB";
  bool force = false;
};

// A size as transformers' max_shard_size spells it: an integer with an optional unit, decimal (KB, MB,
// GB: powers of 1000) or binary (KiB, MiB, GiB: powers of 1024), so "5GB" splits where
// save_pretrained(max_shard_size="5GB") would.
uint64_t parse_shard_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::pair<const char*, uint64_t> units[] = {{"", 1},           {"B", 1},
                                                    {"KB", 1000},      {"MB", 1000'000},
                                                    {"GB", 1000'000'000}, {"KIB", uint64_t{1} << 10},
                                                    {"MIB", uint64_t{1} << 20}, {"GIB", uint64_t{1} << 30}};
  if (digits > 0 && digits <= 12) {
    for (const auto& [name, factor] : units) {
      if (unit == name) {
        const uint64_t size = std::stoull(text.substr(0, digits)) * factor;
        if (size > 0) return size;
      }
    }
  }
  throw Error("--max-shard-size '" + text + "' is not a size (e.g. 5GB, 500MB, 2GiB, 1000000)");
}

void run_export(const ExportCommandOptions& options) {
  ExportOptions request;
  request.base = resolve_model_path(options.model);
  if (!options.adapter.empty()) request.adapter = resolve_adapter_path(options.adapter);
  request.out = options.out;
  if (!options.dtype.empty()) request.dtype = parse_dtype(options.dtype);
  request.max_shard_bytes = parse_shard_size(options.max_shard_size);
  request.overwrite = options.force;
  const ExportResult result = export_merged(request);
  std::printf("wrote %s: %lld tensors (%lld with the adapter merged), %.1f MB of %s weights in %zu files\n",
              options.out.c_str(), static_cast<long long>(result.tensors), static_cast<long long>(result.merged),
              result.bytes / 1e6, hf_dtype_name(result.dtype), result.files.size());
}

}  // namespace

void register_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportCommandOptions>();
  auto* command = app.add_subcommand("export", "Merge a LoRA adapter into its base and write a Hugging Face checkpoint");
  command->add_option("--model", options->model, "base Hugging Face model directory (default: the default model)");
  command->add_option("--adapter", options->adapter, "PEFT LoRA adapter directory (or installed adapter name) to merge in");
  command->add_option("--out", options->out, "output directory (appears complete or not at all)")->required();
  command->add_option("--dtype", options->dtype, "bf16, fp16 or fp32 (default: the base's torch_dtype)");
  command->add_option("--max-shard-size", options->max_shard_size, "largest safetensors shard, as transformers spells it")
      ->capture_default_str();
  command->add_flag("-f,--force", options->force, "replace an existing --out directory");
  command->callback([options] { run_export(*options); });
}

}  // namespace lmc::apps
