// `lmc generate --model DIR [--adapter DIR] --prompt TEXT -n N`: text from the model, printed as it is
// generated (the prompt first), or with --json one object with the token ids at the end. Defaults
// follow llama2.c's run: 256 tokens, temperature 1.0, top-p 0.9. Parsing and printing only: the loop
// and the sampler are infer/generate.h.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_options.h"
#include "infer/generate.h"
#include "infer/scoring.h"

namespace lmc::apps {
namespace {

struct GenerateOptions {
  ModelOptions model;
  std::string prompt;
  int64_t tokens = 256;
  double temperature = 1.0;
  double top_p = 0.9;
  uint64_t seed = 0;
  bool seed_given = false;
  bool as_json = false;
};

void run_generate(const GenerateOptions& options) {
  LoadedModel loaded = load_model(options.model);
  const Tokenizer& tokenizer = *loaded.tokenizer;
  std::vector<TokenId> prompt_ids = {start_token(loaded.model->config(), tokenizer)};
  const std::vector<TokenId> prompt = tokenizer.encode(options.prompt);
  prompt_ids.insert(prompt_ids.end(), prompt.begin(), prompt.end());

  std::vector<TokenId> stop;
  if (auto eos = tokenizer.eos_id()) stop.push_back(*eos);
  for (int64_t eos : loaded.model->config().eos_token_ids) stop.push_back(static_cast<TokenId>(eos));
  SamplingOptions sampling{options.temperature, options.top_p, options.seed_given ? options.seed : std::random_device{}()};

  // Decoding the whole sequence each time keeps tokenizer context rules (a stripped leading space,
  // bytes of a character split over tokens) right; the new text is what follows what was printed.
  std::vector<TokenId> ids = prompt_ids;
  size_t printed = tokenizer.decode(ids).size();
  if (!options.as_json) {
    std::fwrite(options.prompt.data(), 1, options.prompt.size(), stdout);
    std::fflush(stdout);
  }
  auto on_token = [&](TokenId id) {
    ids.push_back(id);
    if (options.as_json) return;
    const std::string text = tokenizer.decode(ids);
    std::fwrite(text.data() + printed, 1, text.size() - printed, stdout);
    std::fflush(stdout);
    printed = text.size();
  };
  const std::vector<TokenId> generated = generate(loaded.model, prompt_ids, options.tokens, sampling, stop, on_token);
  if (!options.as_json) {
    std::printf("\n");
    return;
  }
  nlohmann::json j = {{"prompt_tokens", prompt_ids},
                      {"tokens", generated},
                      {"text", tokenizer.decode(ids).substr(tokenizer.decode(prompt_ids).size())},
                      {"seed", sampling.seed},
                      {"temperature", sampling.temperature},
                      {"top_p", sampling.top_p}};
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void register_generate_command(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  auto* command = app.add_subcommand("generate", "Sample text from a model, printed as it is generated");
  add_model_options(*command, options->model);
  command->add_option("--prompt", options->prompt, "text the generation continues (default: none, from BOS)");
  command->add_option("-n,--tokens", options->tokens, "tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--temperature", options->temperature, "softmax temperature; 0 takes the most probable token")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p, "nucleus sampling: keep the most probable tokens up to this mass")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  auto* seed = command->add_option("--seed", options->seed, "random seed (default: a fresh one each run)");
  command->add_flag("--json", options->as_json, "print one JSON object (token ids, text, seed) at the end");
  command->callback([options, seed] {
    options->seed_given = seed->count() > 0;
    run_generate(*options);
  });
}

}  // namespace lmc::apps
