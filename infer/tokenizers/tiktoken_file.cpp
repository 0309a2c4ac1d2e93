#include "infer/tokenizers/tiktoken_file.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <vector>

#include "common/error.h"

namespace lmc {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_base64_char(char c) { return kBase64Alphabet.find(c) != std::string_view::npos || c == '='; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Strict base64 (padding required, as Python's base64.b64decode without altchars produces it).
std::string decode_base64(std::string_view text) {
  static const std::array<int8_t, 256> kValue = [] {
    std::array<int8_t, 256> value{};
    value.fill(-1);
    for (size_t i = 0; i < kBase64Alphabet.size(); ++i) {
      value[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
    }
    return value;
  }();
  if (text.empty() || text.size() % 4 != 0) throw Error("base64 length is not a positive multiple of 4");
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const int8_t v = kValue[static_cast<uint8_t>(text[i])];
    if (v < 0) throw Error("invalid base64 character '" + std::string(1, text[i]) + "'");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

std::vector<std::string> llama3_special_names() {
  std::vector<std::string> names = {"<|begin_of_text|>", "<|end_of_text|>",
                                    "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                                    "<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
                                    "<|start_header_id|>", "<|end_header_id|>",
                                    "<|reserved_special_token_4|>", "<|eot_id|>"};
  for (int i = 5; names.size() < static_cast<size_t>(kLlama3SpecialTokens); ++i) {
    names.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
  }
  return names;
}

}  // namespace

bool looks_like_tiktoken(std::string_view head) {
  const std::string_view line = head.substr(0, head.find('\n'));
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 >= line.size()) return false;
  for (size_t i = 0; i < space; ++i) {
    if (!is_base64_char(line[i])) return false;
  }
  for (size_t i = space + 1; i < line.size(); ++i) {
    if (!is_digit(line[i]) && !(line[i] == '\r' && i + 1 == line.size())) return false;
  }
  return true;
}

ByteBpeModel read_tiktoken_model(const std::filesystem::path& path) {
  return with_context("reading tiktoken file " + path.string(), [&] {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open the file");
    ByteBpeModel model;
    model.kind = "tiktoken";
    model.merge_by_rank = true;
    model.whole_piece_first = true;
    model.pattern = std::string(kLlama3Pattern);
    std::vector<bool> seen;
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      with_context("line " + std::to_string(number), [&] {
        const size_t space = line.find(' ');
        if (space == std::string::npos || space + 1 == line.size()) throw Error("expected 'base64 rank'");
        const std::string_view rank_text = std::string_view(line).substr(space + 1);
        if (rank_text.size() > 9 || !std::all_of(rank_text.begin(), rank_text.end(), is_digit)) {
          throw Error("rank '" + std::string(rank_text) + "' is not a non-negative integer");
        }
        const size_t rank = std::stoul(std::string(rank_text));
        if (rank >= seen.size()) {
          seen.resize(rank + 1, false);
          model.pieces.resize(rank + 1);
        }
        if (seen[rank]) throw Error("rank " + std::to_string(rank) + " appears twice");
        seen[rank] = true;
        model.pieces[rank] = decode_base64(std::string_view(line).substr(0, space));
      });
    }
    if (model.pieces.empty()) throw Error("no tokens");
    for (size_t rank = 0; rank < seen.size(); ++rank) {
      if (!seen[rank]) throw Error("rank " + std::to_string(rank) + " is missing (ranks must be 0..n-1)");
    }
    const auto base = static_cast<TokenId>(model.pieces.size());
    model.roles.assign(model.pieces.size(), TokenRole::kMergeable);
    for (std::string& name : llama3_special_names()) {
      model.pieces.push_back(std::move(name));
      model.roles.push_back(TokenRole::kSpecial);
    }
    model.bos = base;
    model.eos = base + 1;
    return model;
  });
}

}  // namespace lmc
