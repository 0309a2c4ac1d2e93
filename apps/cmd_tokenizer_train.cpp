// `lmc tokenizer train --input FILE... --vocab-size N --out PATH`: trains a lossless SentencePiece BPE
// model for lmc's own small models (see infer/tokenizers/sentencepiece_train.h for the options it fixes).
// Parsing and printing only.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "infer/tokenizers/sentencepiece_train.h"

namespace lmc::apps {

void register_tokenizer_command(CLI::App& app) {
  auto* tokenizer = app.add_subcommand("tokenizer", "Tokenizer tools");
  tokenizer->require_subcommand(1);
  auto* train = tokenizer->add_subcommand("train", "Train a lossless SentencePiece BPE model on text files");
  auto options = std::make_shared<SentencePieceTrainOptions>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  train->add_option("--input", *inputs, "Training text files (read line by line)")->required();
  train->add_option("--vocab-size", options->vocab_size, "Vocabulary size, byte pieces and specials included")
      ->required()
      ->check(CLI::Range(1, 1 << 24));
  train->add_option("--out", *output, "Model file to write (PATH.model)")->required();
  train->add_option("--max-sentences", options->max_sentences, "Lines sampled for training at most")
      ->capture_default_str();
  train->add_option("--threads", options->threads, "Training threads (0: all cores)")->capture_default_str();
  train->callback([=] {
    options->inputs.assign(inputs->begin(), inputs->end());
    options->output = *output;
    train_sentencepiece(*options);
    std::cout << "wrote " << *output << " (vocabulary " << options->vocab_size << ")\n";
  });
}

}  // namespace lmc::apps
