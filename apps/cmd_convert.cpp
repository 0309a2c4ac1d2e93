// `lmc convert llama2c MODEL.bin TOKENIZER.bin --out DIR`: models from elsewhere into a Hugging Face
// directory lmc loads (checkpoints/llama2c.h does the work).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "apps/commands.h"
#include "checkpoints/llama2c.h"

namespace lmc::apps {
namespace {

struct ConvertLlama2cOptions {
  std::string model;
  std::string tokenizer;
  std::string out;
  bool force = false;
};

void run_convert_llama2c(const ConvertLlama2cOptions& options) {
  const Llama2cImport imported = convert_llama2c(options.model, options.tokenizer, options.out, options.force);
  const LlamaConfig& c = imported.config;
  std::printf("wrote %s: llama2.c version %d, dim %lld, %lld layers, %lld heads (%lld kv), vocab %lld, %s classifier\n",
              options.out.c_str(), imported.version, static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.num_attention_heads),
              static_cast<long long>(c.num_key_value_heads), static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? "shared" : "separate");
}

}  // namespace

void register_convert_command(CLI::App& app) {
  auto* convert = app.add_subcommand("convert", "Import a model from another format into a Hugging Face directory");
  convert->require_subcommand(1);
  auto options = std::make_shared<ConvertLlama2cOptions>();
  auto* llama2c = convert->add_subcommand("llama2c", "a karpathy/llama2.c checkpoint (.bin, version 0 or 1) and its tokenizer.bin");
  llama2c->add_option("MODEL", options->model, "llama2.c checkpoint, e.g. stories15M.bin")->required();
  llama2c->add_option("TOKENIZER", options->tokenizer, "llama2.c tokenizer, e.g. tokenizer.bin or tok512.bin")->required();
  llama2c->add_option("--out", options->out, "output directory (appears complete or not at all)")->required();
  llama2c->add_flag("-f,--force", options->force, "replace an existing --out directory");
  llama2c->callback([options] { run_convert_llama2c(*options); });
}

}  // namespace lmc::apps
