#include "infer/tokenizers/sentencepiece_train.h"

#include <sentencepiece_trainer.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/error.h"

namespace lmc {

void train_sentencepiece(const SentencePieceTrainOptions& options) {
  with_context("training a SentencePiece model into " + options.output.string(), [&] {
    if (options.inputs.empty()) throw Error("no input files");
    if (options.vocab_size <= 0) throw Error("vocab size must be positive");
    std::string inputs;
    for (const auto& input : options.inputs) {
      if (!std::filesystem::is_regular_file(input)) throw Error("input " + input.string() + " is not a readable file");
      // SentencePiece takes its inputs as one comma-separated list.
      if (input.string().find(',') != std::string::npos) {
        throw Error("input path " + input.string() + " contains a comma");
      }
      if (!inputs.empty()) inputs += ',';
      inputs += input.string();
    }
    const int threads =
        options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::unordered_map<std::string, std::string> args = {
        {"input", inputs},
        {"model_type", "bpe"},
        {"vocab_size", std::to_string(options.vocab_size)},
        {"normalization_rule_name", "identity"},
        {"add_dummy_prefix", "false"},
        {"remove_extra_whitespaces", "false"},
        {"allow_whitespace_only_pieces", "true"},
        {"split_digits", "true"},
        {"byte_fallback", "true"},
        {"max_sentence_length", "65536"},
        {"input_sentence_size", std::to_string(options.max_sentences)},
        {"shuffle_input_sentence", "true"},
        {"num_threads", std::to_string(threads)},
        {"minloglevel", "2"},
    };
    std::string serialized;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, nullptr, &serialized);
    if (!status.ok()) throw Error(status.ToString());
    if (serialized.empty()) throw Error("SentencePiece produced an empty model");

    const std::filesystem::path temporary = options.output.string() + ".tmp";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out.write(serialized.data(), static_cast<std::streamsize>(serialized.size()));
      if (!out.flush()) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw Error("cannot write " + temporary.string());
      }
    }
    std::filesystem::rename(temporary, options.output);
  });
}

}  // namespace lmc
