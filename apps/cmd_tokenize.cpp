// `lmc tokenize --tokenizer PATH [--ids|--pieces] FILE`: the token ids of FILE's bytes (no BOS/EOS) on one
// line separated by spaces, or its pieces one per line with C-style escapes (\n, \r, \t, \\, and \xNN for
// other control bytes and bytes outside valid UTF-8), to inspect a tokenizer or diff it against another
// tool. FILE "-" reads stdin. Parsing and printing only: the tokenizers live in infer/tokenizers.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "apps/file_streams.h"
#include "common/error.h"
#include "infer/tokenizers/load.h"
#include "infer/tokenizers/utf8.h"

namespace lmc::apps {
namespace {

void append_escaped(std::string_view piece, std::string& out) {
  for (size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    const size_t length = utf8_sequence_length(piece, i);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || length == 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02X", c);
      out += hex;
    } else {
      out.append(piece.substr(i, length));
      i += length;
      continue;
    }
    ++i;
  }
}

void run_tokenize(const std::string& tokenizer_path, const std::string& file, bool pieces) {
  const std::string text = read_whole_input(file);
  const auto tokenizer = load_tokenizer(tokenizer_path);
  const std::vector<TokenId> ids = tokenizer->encode(text);
  std::string out;
  if (pieces) {
    for (TokenId id : ids) {
      append_escaped(tokenizer->piece(id), out);
      out += '\n';
    }
  } else {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
    }
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_tokenize_command(CLI::App& app) {
  auto* command = app.add_subcommand("tokenize", "Print the token ids (or pieces) of a file, without BOS/EOS");
  auto tokenizer = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto pieces = std::make_shared<bool>(false);
  command->add_option("--tokenizer", *tokenizer, "Model directory or tokenizer file")->required();
  auto* ids_flag = command->add_flag_callback(
      "--ids", [pieces] { *pieces = false; }, "Print token ids separated by spaces (the default)");
  command->add_flag("--pieces", *pieces, "Print one escaped piece per line")->excludes(ids_flag);
  command->add_option("FILE", *file, "Input file ('-' for stdin)")->required();
  command->callback([=] { run_tokenize(*tokenizer, *file, *pieces); });
}

}  // namespace lmc::apps
