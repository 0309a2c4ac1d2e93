#include "infer/tokenizers/hf_tokenizer_json.h"

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace lmc {
namespace {

using nlohmann::json;

// The code point standing for each byte: printable Latin-1 bytes stand for themselves, the other 68
// bytes (controls, space, 0x7F-0xA0, 0xAD) for U+0100.. in byte order.
const std::array<uint32_t, 256>& byte_code_points() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t shifted = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? b : shifted++;
    }
    return t;
  }();
  return table;
}

// Inverse of byte_code_points: code point (< 324) -> byte, or -1.
int byte_of_code_point(uint32_t code_point) {
  static const std::array<int16_t, 324> table = [] {
    std::array<int16_t, 324> t{};
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_code_points()[b]] = static_cast<int16_t>(b);
    return t;
  }();
  return code_point < table.size() ? table[code_point] : -1;
}

// A vocab string in the bytes-to-unicode alphabet -> the bytes it stands for.
std::string token_bytes(const std::string& text) {
  std::string bytes;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<uint8_t>(text[i]);
    uint32_t code_point = lead;
    size_t length = 1;
    if (lead >= 0xC0 && lead < 0xE0 && i + 1 < text.size()) {
      code_point = ((lead & 0x1Fu) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu);
      length = 2;
    }
    const int byte = lead >= 0x80 && length == 1 ? -1 : byte_of_code_point(code_point);
    if (byte < 0) throw Error("token '" + text + "' is not written in the byte-level (GPT-2) alphabet");
    bytes += static_cast<char>(byte);
    i += length;
  }
  return bytes;
}

bool is_null_or_absent(const json& j, const char* key) { return !j.contains(key) || j[key].is_null(); }

std::string string_or_empty(const json& j, const char* key) {
  if (is_null_or_absent(j, key)) return "";
  if (!j[key].is_string()) throw Error(std::string("'") + key + "' is not a string");
  return j[key].get<std::string>();
}

struct PreTokenizer {
  std::string pattern;
  bool byte_level = false;
};

PreTokenizer read_pre_tokenizer(const json& root) {
  PreTokenizer result;
  bool have_split = false;
  bool byte_level_regex = false;
  std::vector<json> steps;
  if (!is_null_or_absent(root, "pre_tokenizer")) {
    const json& pre = root["pre_tokenizer"];
    if (pre.value("type", "") == "Sequence") {
      for (const json& step : pre.at("pretokenizers")) steps.push_back(step);
    } else {
      steps.push_back(pre);
    }
  }
  for (const json& step : steps) {
    const std::string type = step.value("type", "");
    if (type == "Split") {
      if (have_split) throw Error("more than one Split pre-tokenizer is not supported");
      have_split = true;
      const json& pattern = step.at("pattern");
      if (!pattern.contains("Regex")) throw Error("only Split pre-tokenizers with a Regex pattern are supported");
      result.pattern = pattern["Regex"].get<std::string>();
      if (step.value("behavior", "") != "Isolated" || step.value("invert", false)) {
        throw Error("only Split pre-tokenizers with behavior 'Isolated' and invert=false are supported");
      }
    } else if (type == "ByteLevel") {
      result.byte_level = true;
      if (step.value("add_prefix_space", false)) {
        throw Error("ByteLevel add_prefix_space=true inserts a space and is not lossless");
      }
      byte_level_regex = step.value("use_regex", true);
    } else {
      throw Error("pre-tokenizer '" + type + "' is not supported (Split, ByteLevel)");
    }
  }
  if (byte_level_regex) {
    if (have_split) throw Error("a Split pre-tokenizer followed by ByteLevel(use_regex=true) is not supported");
    result.pattern = std::string(kGpt2Pattern);
  }
  if (!is_null_or_absent(root, "decoder") && root["decoder"].value("type", "") == "ByteLevel") {
    result.byte_level = true;
  }
  return result;
}

// The special-token id tokenizer_config.json names under `key` ("<|begin_of_text|>" or {"content": ...}).
std::optional<TokenId> config_token(const json& config, const char* key, const ByteBpeModel& model) {
  if (is_null_or_absent(config, key)) return std::nullopt;
  const json& value = config[key];
  const std::string name = value.is_object() ? value.value("content", "") : value.get<std::string>();
  for (size_t id = 0; id < model.pieces.size(); ++id) {
    if (model.pieces[id] == name) return static_cast<TokenId>(id);
  }
  throw Error(std::string("tokenizer_config.json: ") + key + " '" + name + "' is not a token");
}

ByteBpeModel read_model(const json& root) {
  if (!root.contains("model") || !root["model"].is_object()) throw Error("no 'model' object");
  const json& model_json = root["model"];
  const std::string type = model_json.value("type", "BPE");
  if (type != "BPE") throw Error("model type '" + type + "' is not supported (byte-level BPE only)");
  if (!is_null_or_absent(root, "normalizer")) throw Error("normalizers are not supported (not lossless)");
  if (!is_null_or_absent(model_json, "dropout") && model_json["dropout"].get<double>() != 0.0) {
    throw Error("BPE dropout is not supported (not deterministic)");
  }
  if (!string_or_empty(model_json, "continuing_subword_prefix").empty() ||
      !string_or_empty(model_json, "end_of_word_suffix").empty()) {
    throw Error("continuing_subword_prefix/end_of_word_suffix are not supported by byte-level BPE");
  }
  const PreTokenizer pre = read_pre_tokenizer(root);
  if (!pre.byte_level) {
    throw Error("not a byte-level BPE (no ByteLevel pre-tokenizer or decoder); SentencePiece-style "
                "tokenizers load from their tokenizer.model");
  }

  ByteBpeModel model;
  model.kind = "hf-bpe";
  model.merge_by_rank = false;
  model.whole_piece_first = model_json.value("ignore_merges", false);
  model.pattern = pre.pattern;

  std::vector<bool> seen;
  const auto place = [&](int64_t id, std::string bytes, TokenRole role) {
    if (id < 0 || id > (int64_t{1} << 30)) throw Error("token id " + std::to_string(id) + " is out of range");
    if (static_cast<size_t>(id) >= seen.size()) {
      seen.resize(id + 1, false);
      model.pieces.resize(id + 1);
      model.roles.resize(id + 1, TokenRole::kMergeable);
    }
    if (seen[id]) return false;
    seen[id] = true;
    model.pieces[id] = std::move(bytes);
    model.roles[id] = role;
    return true;
  };
  if (!model_json.contains("vocab") || !model_json["vocab"].is_object()) throw Error("no model.vocab object");
  for (const auto& [text, id] : model_json["vocab"].items()) {
    if (!place(id.get<int64_t>(), token_bytes(text), TokenRole::kMergeable)) {
      throw Error("vocab id " + std::to_string(id.get<int64_t>()) + " is used twice");
    }
  }
  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const json& added : root["added_tokens"]) {
      // An added token that is also a vocab entry keeps its vocab bytes.
      place(added.at("id").get<int64_t>(), added.at("content").get<std::string>(),
            added.value("special", false) ? TokenRole::kSpecial : TokenRole::kAdded);
    }
  }
  for (size_t id = 0; id < seen.size(); ++id) {
    if (!seen[id]) throw Error("token id " + std::to_string(id) + " is missing (ids must be dense)");
  }

  std::unordered_map<std::string, TokenId> id_of_text;
  for (const auto& [text, id] : model_json["vocab"].items()) id_of_text.emplace(text, id.get<TokenId>());
  const auto vocab_id = [&](const std::string& text) {
    auto it = id_of_text.find(text);
    if (it == id_of_text.end()) throw Error("merge names '" + text + "', which is not in the vocab");
    return it->second;
  };
  if (model_json.contains("merges")) {
    for (const json& merge : model_json["merges"]) {
      std::string left, right;
      if (merge.is_string()) {
        const std::string text = merge.get<std::string>();
        const size_t space = text.find(' ');
        if (space == std::string::npos) throw Error("merge '" + text + "' is not 'left right'");
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        throw Error("merge " + merge.dump() + " is neither 'left right' nor [left, right]");
      }
      const TokenId left_id = vocab_id(left);
      model.merges.emplace_back(left_id, vocab_id(right));
    }
  }
  return model;
}

}  // namespace

ByteBpeModel read_hf_tokenizer_json(const std::filesystem::path& path) {
  return with_context("reading " + path.string(), [&] {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open the file");
    json root;
    try {
      root = json::parse(in);
      ByteBpeModel model = read_model(root);
      const std::filesystem::path config_path = path.parent_path() / "tokenizer_config.json";
      if (std::filesystem::exists(config_path)) {
        std::ifstream config_in(config_path, std::ios::binary);
        const json config = json::parse(config_in);
        model.bos = config_token(config, "bos_token", model);
        model.eos = config_token(config, "eos_token", model);
      }
      return model;
    } catch (const json::exception& e) {
      throw Error(std::string("malformed JSON: ") + e.what());
    }
  });
}

}  // namespace lmc
