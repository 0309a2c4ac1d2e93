#include "checkpoints/llama2c.h"

#include <cstring>
#include <limits>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "checkpoints/atomic_file.h"
#include "checkpoints/llama2c_tokenizer.h"
#include "checkpoints/mapped_file.h"
#include "checkpoints/safetensors_writer.h"
#include "common/error.h"

namespace lmc {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "ak42"
constexpr uint64_t kVersion1HeaderBytes = 256;

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

// Reads the header; `data_offset` and `shared_classifier` are set from it.
Llama2cImport read_header(const MappedFile& file, uint64_t& data_offset, bool& shared_classifier) {
  Header h{};
  Llama2cImport result;
  auto bytes = [&](uint64_t n) {
    if (file.size() < n) throw Error("too short for a llama2.c header (" + std::to_string(file.size()) + " bytes)");
  };
  bytes(4);
  uint32_t magic = 0;
  std::memcpy(&magic, file.data(), 4);
  if (magic == kMagic) {
    bytes(kVersion1HeaderBytes);
    std::memcpy(&result.version, file.data() + 4, 4);
    if (result.version != 1) {
      throw Error("llama2.c format version " + std::to_string(result.version) +
                  " is not supported (version 0, the legacy format, and 1, fp32, are)");
    }
    std::memcpy(&h, file.data() + 8, sizeof h);
    shared_classifier = static_cast<uint8_t>(file.data()[8 + sizeof h]) != 0;
    data_offset = kVersion1HeaderBytes;
  } else {
    bytes(sizeof h);
    std::memcpy(&h, file.data(), sizeof h);
    shared_classifier = h.vocab_size > 0;
    // The sign says whether the classifier is shared; INT32_MIN has no positive counterpart.
    if (h.vocab_size == std::numeric_limits<int32_t>::min()) throw Error("header field vocab_size is out of range");
    h.vocab_size = h.vocab_size < 0 ? -h.vocab_size : h.vocab_size;
    data_offset = sizeof h;
  }
  const std::pair<const char*, int32_t> fields[] = {{"dim", h.dim},         {"hidden_dim", h.hidden_dim},
                                                    {"n_layers", h.n_layers}, {"n_heads", h.n_heads},
                                                    {"n_kv_heads", h.n_kv_heads}, {"vocab_size", h.vocab_size},
                                                    {"seq_len", h.seq_len}};
  for (const auto& [name, value] : fields) {
    if (value <= 0) throw Error(std::string("header field ") + name + " is " + std::to_string(value));
  }
  if (h.dim % h.n_heads != 0 || (h.dim / h.n_heads) % 2 != 0) {
    throw Error("dim " + std::to_string(h.dim) + " is not n_heads " + std::to_string(h.n_heads) + " times an even head size");
  }
  if (h.n_heads % h.n_kv_heads != 0) {
    throw Error("n_heads " + std::to_string(h.n_heads) + " is not a multiple of n_kv_heads " + std::to_string(h.n_kv_heads));
  }
  LlamaConfig& c = result.config;
  c.vocab_size = h.vocab_size;
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_hidden_layers = h.n_layers;
  c.num_attention_heads = h.n_heads;
  c.num_key_value_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.max_position_embeddings = h.seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = shared_classifier;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  c.torch_dtype = "float32";
  return result;
}

// The checkpoint's tensors in file order, each [count, shape...] fp32 (count: one per layer or 1),
// with the HF name of each of its `count` slices ("%" stands for the layer index).
struct Block {
  const char* name;
  int64_t count;
  std::vector<int64_t> shape;
};

std::vector<Block> file_layout(const LlamaConfig& c, int version) {
  const int64_t L = c.num_hidden_layers, C = c.hidden_size, H = c.intermediate_size, V = c.vocab_size;
  const int64_t kv = c.num_key_value_heads * c.head_dim;
  const Block embed{"model.embed_tokens.weight", 1, {V, C}};
  const Block attention_norm{"model.layers.%.input_layernorm.weight", L, {C}};
  const Block ffn_norm{"model.layers.%.post_attention_layernorm.weight", L, {C}};
  const Block final_norm{"model.norm.weight", 1, {C}};
  const std::vector<Block> matrices = {
      {"model.layers.%.self_attn.q_proj.weight", L, {C, C}}, {"model.layers.%.self_attn.k_proj.weight", L, {kv, C}},
      {"model.layers.%.self_attn.v_proj.weight", L, {kv, C}}, {"model.layers.%.self_attn.o_proj.weight", L, {C, C}}};
  const Block w1{"model.layers.%.mlp.gate_proj.weight", L, {H, C}};
  const Block w2{"model.layers.%.mlp.down_proj.weight", L, {C, H}};
  const Block w3{"model.layers.%.mlp.up_proj.weight", L, {H, C}};
  std::vector<Block> layout;
  if (version == 0) {
    layout = {embed, attention_norm};
    layout.insert(layout.end(), matrices.begin(), matrices.end());
    layout.insert(layout.end(), {ffn_norm, w1, w2, w3, final_norm});
    // run.c's precomputed RoPE tables (cos and sin), recomputed by every reader: skipped.
    layout.push_back({nullptr, 2, {c.max_position_embeddings, c.head_dim / 2}});
  } else {
    layout = {attention_norm, ffn_norm, final_norm, embed};
    layout.insert(layout.end(), matrices.begin(), matrices.end());
    layout.insert(layout.end(), {w1, w2, w3});
  }
  if (!c.tie_word_embeddings) layout.push_back({"lm_head.weight", 1, {V, C}});
  return layout;
}

std::string layer_name(const char* pattern, int64_t layer) {
  std::string name = pattern;
  if (auto at = name.find('%'); at != std::string::npos) name.replace(at, 1, std::to_string(layer));
  return name;
}

// llama2.c's interleaved rotary rows (pairs 2i, 2i+1 of each head) into HF's half-split order
// (i and i + head_dim/2): rows [heads * head_dim, in].
at::Tensor to_half_split(const at::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0), in = w.size(1), head_dim = rows / heads;
  return w.view({heads, head_dim / 2, 2, in}).transpose(1, 2).reshape({rows, in}).contiguous();
}

}  // namespace

Llama2cImport convert_llama2c(const fs::path& model_bin, const fs::path& tokenizer_bin, const fs::path& out,
                              bool overwrite) {
  if (fs::exists(out) && !overwrite) throw Error("'" + out.string() + "' already exists (use -f to replace it)");
  const auto file = MappedFile::open(model_bin);
  uint64_t offset = 0;
  bool shared = false;
  Llama2cImport result =
      with_context("reading llama2.c checkpoint " + model_bin.string(), [&] { return read_header(*file, offset, shared); });
  const LlamaConfig& config = result.config;
  const std::vector<Block> layout = file_layout(config, result.version);
  // Header fields up to 2^31 each can make the sizes pass 2^64: such a file cannot match them.
  uint64_t expected = offset;
  bool overflow = false;
  for (const auto& block : layout) {
    uint64_t n = static_cast<uint64_t>(block.count);
    for (auto d : block.shape) overflow |= __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n);
    overflow |= __builtin_mul_overflow(n, uint64_t{sizeof(float)}, &n);
    overflow |= __builtin_add_overflow(expected, n, &expected);
  }
  if (overflow || file->size() != expected) {
    throw Error("reading llama2.c checkpoint " + model_bin.string() + ": the file has " + std::to_string(file->size()) +
                " bytes, but a version-" + std::to_string(result.version) + " checkpoint of dim " +
                std::to_string(config.hidden_size) + ", hidden_dim " + std::to_string(config.intermediate_size) + ", " +
                std::to_string(config.num_hidden_layers) + " layers, vocab " + std::to_string(config.vocab_size) + " (" +
                (shared ? "shared" : "separate") + " classifier) holds " +
                (overflow ? "more than 2^64" : std::to_string(expected)));
  }
  const Llama2cVocabulary vocabulary = read_llama2c_tokenizer(tokenizer_bin, static_cast<int>(config.vocab_size));
  const std::string tokenizer_model = with_context("converting tokenizer " + tokenizer_bin.string(),
                                                   [&] { return sentencepiece_model_from_llama2c(vocabulary); });

  // Every tensor as a view of the mapped file, in file order.
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& block : layout) {
    std::vector<int64_t> shape = {block.count};
    shape.insert(shape.end(), block.shape.begin(), block.shape.end());
    at::Tensor all = at::from_blob(file->data() + offset, shape, at::kFloat);
    offset += static_cast<uint64_t>(all.numel()) * sizeof(float);
    if (!block.name) continue;
    for (int64_t i = 0; i < block.count; ++i) tensors.emplace_back(layer_name(block.name, i), all[i]);
  }
  std::vector<TensorSpec> specs;
  for (const auto& [name, tensor] : tensors) specs.push_back({name, at::kFloat, tensor.sizes().vec()});

  write_directory_atomically(out, [&](const fs::path& dir) {
    SafetensorsWriter writer(dir / "model.safetensors", specs);
    for (const auto& [name, tensor] : tensors) {
      if (name.ends_with("q_proj.weight")) {
        writer.add(name, to_half_split(tensor, config.num_attention_heads));
      } else if (name.ends_with("k_proj.weight")) {
        writer.add(name, to_half_split(tensor, config.num_key_value_heads));
      } else {
        writer.add(name, tensor);
      }
    }
    writer.finish();
    write_file_atomically(dir / "config.json", config.to_json().dump(2) + "\n");
    const nlohmann::json generation = {{"bos_token_id", 1}, {"eos_token_id", 2}};
    write_file_atomically(dir / "generation_config.json", generation.dump(2) + "\n");
    write_file_atomically(dir / "tokenizer.model", tokenizer_model);
    const nlohmann::json tokenizer_config = {{"tokenizer_class", "LlamaTokenizer"}, {"bos_token", "<s>"},
                                             {"eos_token", "</s>"},                {"unk_token", "<unk>"},
                                             {"add_bos_token", true},               {"add_eos_token", false}};
    write_file_atomically(dir / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
  });
  return result;
}

}  // namespace lmc
