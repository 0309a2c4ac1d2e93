#include "infer/tokenizers/load.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "infer/tokenizers/fingerprint.h"
#include "infer/tokenizers/hf_tokenizer_json.h"
#include "infer/tokenizers/sentencepiece_tokenizer.h"
#include "infer/tokenizers/tiktoken_file.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A tokenizer whose BOS/EOS a model's config.json overrides; everything else is the wrapped one's.
class WithSpecialIds final : public Tokenizer {
 public:
  WithSpecialIds(std::unique_ptr<Tokenizer> inner, std::optional<TokenId> bos, std::optional<TokenId> eos)
      : inner_(std::move(inner)), bos_(bos), eos_(eos) {
    Fingerprinter f;
    fingerprint_ = f.add("lmc special ids").add(inner_->fingerprint()).add(bos_).add(eos_).digest();
  }
  std::vector<TokenId> encode(std::string_view bytes) const override { return inner_->encode(bytes); }
  std::string decode(const std::vector<TokenId>& ids) const override { return inner_->decode(ids); }
  std::string piece(TokenId id) const override { return inner_->piece(id); }
  int32_t vocab_size() const override { return inner_->vocab_size(); }
  std::optional<TokenId> bos_id() const override { return bos_; }
  std::optional<TokenId> eos_id() const override { return eos_; }
  std::string kind() const override { return inner_->kind(); }
  uint64_t fingerprint() const override { return fingerprint_; }

 private:
  std::unique_ptr<Tokenizer> inner_;
  std::optional<TokenId> bos_;
  std::optional<TokenId> eos_;
  uint64_t fingerprint_;
};

std::string file_head(const fs::path& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string());
  std::string head(bytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(bytes));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

std::unique_ptr<Tokenizer> load_file(const fs::path& path) {
  const std::string head = file_head(path, 1024);
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (path.extension() == ".json" || (first != std::string::npos && head[first] == '{')) {
    return make_byte_bpe_tokenizer(read_hf_tokenizer_json(path));
  }
  if (looks_like_tiktoken(head)) return make_byte_bpe_tokenizer(read_tiktoken_model(path));
  return load_sentencepiece_tokenizer(path);
}

// config.json's `key`: absent or null -> nullopt; an int, or a list's first element.
std::optional<TokenId> config_id(const json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& value = config[key].is_array() && !config[key].empty() ? config[key][0] : config[key];
  if (!value.is_number_integer()) {
    throw Error(std::string("config.json: ") + key + " is not an integer or a list of integers");
  }
  return value.get<TokenId>();
}

std::unique_ptr<Tokenizer> load_directory(const fs::path& dir) {
  json config = json::object();
  const fs::path config_path = dir / "config.json";
  if (fs::exists(config_path)) {
    std::ifstream in(config_path, std::ios::binary);
    try {
      config = json::parse(in);
    } catch (const json::exception& e) {
      throw Error("config.json is malformed: " + std::string(e.what()));
    }
  }
  std::unique_ptr<Tokenizer> tokenizer;
  if (fs::exists(dir / "tokenizer.json")) {
    tokenizer = load_file(dir / "tokenizer.json");
  } else if (fs::exists(dir / "tokenizer.model")) {
    tokenizer = load_file(dir / "tokenizer.model");
  } else if (config.is_object() && config.contains("lmc_tokenizer")) {
    const json& kind = config["lmc_tokenizer"];
    if (kind != "bytes") throw Error("config.json: lmc_tokenizer " + kind.dump() + " is unknown (expected \"bytes\")");
    tokenizer = make_byte_tokenizer();
  } else {
    throw Error("no tokenizer found: looked for tokenizer.json, tokenizer.model, and "
                "\"lmc_tokenizer\": \"bytes\" in config.json");
  }

  std::optional<TokenId> bos = tokenizer->bos_id();
  std::optional<TokenId> eos = tokenizer->eos_id();
  if (config.is_object()) {
    if (auto id = config_id(config, "bos_token_id")) bos = id;
    if (auto id = config_id(config, "eos_token_id")) eos = id;
  }
  if (bos == tokenizer->bos_id() && eos == tokenizer->eos_id()) return tokenizer;
  for (const auto& id : {bos, eos}) {
    if (id && (*id < 0 || *id >= tokenizer->vocab_size())) {
      throw Error("config.json: BOS/EOS id " + std::to_string(*id) + " is outside the tokenizer's vocabulary [0, " +
                  std::to_string(tokenizer->vocab_size()) + ")");
    }
  }
  return std::make_unique<WithSpecialIds>(std::move(tokenizer), bos, eos);
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  return with_context("loading tokenizer from " + path.string(), [&] {
    if (fs::is_directory(path)) return load_directory(path);
    if (!fs::exists(path)) throw Error("no such file or directory");
    return load_file(path);
  });
}

}  // namespace lmc
