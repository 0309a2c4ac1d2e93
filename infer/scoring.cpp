#include "infer/scoring.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "common/error.h"

namespace lmc {

TokenId start_token(const LlamaConfig& config, const Tokenizer& tokenizer) {
  if (auto bos = tokenizer.bos_id()) return *bos;
  if (config.bos_token_id) return static_cast<TokenId>(*config.bos_token_id);
  throw Error("neither the tokenizer nor config.json names a BOS token; every chunk must start from one");
}

std::vector<std::string_view> split_chunks(std::string_view bytes, int64_t chunk_bytes) {
  if (chunk_bytes <= 0) throw Error("chunk size must be positive, got " + std::to_string(chunk_bytes));
  std::vector<std::string_view> chunks;
  for (size_t start = 0; start < bytes.size(); start += static_cast<size_t>(chunk_bytes)) {
    chunks.push_back(bytes.substr(start, static_cast<size_t>(chunk_bytes)));
  }
  return chunks;
}

void check_fits_context(const LlamaConfig& config, int64_t tokens, bool hint) {
  const int64_t context = config.max_position_embeddings;
  if (tokens > context) {
    throw Error("a chunk of " + std::to_string(tokens) + " tokens is longer than the model's context of " +
                std::to_string(context) + " positions" + (hint ? " (a smaller --chunk-bytes fits)" : ""));
  }
}

std::vector<ChunkScore> score_chunks(LlamaForCausalLM& model, const Tokenizer& tokenizer,
                                     const std::vector<std::string_view>& chunks, int64_t batch_size) {
  c10::InferenceMode inference;
  const TokenId bos = start_token(model->config(), tokenizer);
  std::vector<ChunkScore> scores(chunks.size());
  std::vector<std::vector<TokenId>> ids(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    ids[i] = tokenizer.encode(chunks[i]);
    scores[i].bytes = static_cast<int64_t>(chunks[i].size());
    scores[i].tokens = static_cast<int64_t>(ids[i].size());
  }
  for (size_t begin = 0; begin < chunks.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(chunks.size(), begin + static_cast<size_t>(batch_size));
    int64_t longest = 0;
    for (size_t i = begin; i < end; ++i) longest = std::max<int64_t>(longest, ids[i].size());
    check_fits_context(model->config(), longest);
    if (longest == 0) continue;
    const int64_t rows = static_cast<int64_t>(end - begin);
    const int64_t width = longest + 1;
    std::vector<int64_t> input(rows * width, bos);  // [B, T+1]: BOS, tokens, padding (repeated BOS)
    std::vector<uint8_t> valid(rows * longest, 0);  // [B, T]
    for (int64_t r = 0; r < rows; ++r) {
      const auto& row = ids[begin + r];
      std::copy(row.begin(), row.end(), input.begin() + r * width + 1);
      std::fill_n(valid.begin() + r * longest, row.size(), 1);
    }
    auto input_ids = at::from_blob(input.data(), {rows, width}, at::kLong).to(model->device());
    auto mask = at::from_blob(valid.data(), {rows, longest}, at::kByte).to(model->device(), at::kDouble);
    auto logits = model->forward(input_ids.narrow(1, 0, longest));  // [B, T, V]
    auto log_probs = at::log_softmax(logits.to(at::kFloat), -1);
    auto target = input_ids.narrow(1, 1, longest).unsqueeze(-1);      // [B, T, 1]
    auto picked = log_probs.gather(-1, target).squeeze(-1);           // [B, T]
    auto nats = (picked.to(at::kDouble) * mask).sum(1).neg().to(at::kCPU);  // [B]
    for (int64_t r = 0; r < rows; ++r) scores[begin + r].bits = nats[r].item<double>() / std::log(2.0);
  }
  return scores;
}

}  // namespace lmc
