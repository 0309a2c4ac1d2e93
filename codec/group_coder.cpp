#include "codec/group_coder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "codec/coder.h"
#include "common/error.h"

namespace lmc {
namespace {

int64_t longest(const std::vector<int64_t>& counts) {
  return counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
}

// A chunk's PCM model, from its first step on, and the buffer its mixed logits go to.
struct ChunkPcm {
  std::optional<PcmChunkModel> model;
  std::vector<float> mixed;

  void start(const PcmStreams& pcm, std::vector<LpcFilter> filters, int64_t vocab) {
    model.emplace(*pcm.tokens, std::move(filters), pcm.layout.sample_bytes, pcm.cross_channel);
    mixed.resize(static_cast<size_t>(vocab));
  }
  // The step's table: the model's logits mixed with the predictor's.
  void assign(FrequencyTable& table, const float* logits, int64_t vocab, int total_bits) {
    model->mix({logits, static_cast<size_t>(vocab)}, mixed);
    table.assign_logits(mixed, total_bits);
  }
};

void check_pcm(const PcmStreams& pcm, size_t streams) {
  if (!pcm.tokens || pcm.pcm.size() != streams) throw Error("PCM streams need symbols and one entry per chunk");
  pcm.layout.check();
}

}  // namespace

std::vector<EncodedChunk> encode_group(LockstepPredictor& predictor, const std::vector<std::vector<TokenId>>& chunks,
                                       int total_bits, MatchModel* matches, PcmStreams* pcm) {
  const int64_t streams = static_cast<int64_t>(chunks.size());
  const int64_t vocab = predictor.vocab_size();
  std::vector<int64_t> counts;
  for (const auto& c : chunks) counts.push_back(static_cast<int64_t>(c.size()));
  if (pcm) {
    check_pcm(*pcm, chunks.size());
    for (size_t b = 0; b < chunks.size(); ++b) {
      if (pcm->pcm[b].size() != chunks[b].size()) throw Error("an audio chunk needs one PCM byte per symbol");
    }
  }
  std::vector<ChunkPcm> pcm_streams(pcm ? streams : 0);
  const int64_t steps = longest(counts);
  std::vector<EncodedChunk> out(streams);
  if (steps == 0) return out;
  std::vector<RangeEncoder> encoders(streams);
  std::vector<FrequencyTable> tables(streams);
  std::vector<TokenId> previous(streams, -1);
  predictor.start(streams, steps);
  if (matches) matches->start_group(counts);
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < streams; ++b) previous[b] = (t > 0 && t < counts[b]) ? chunks[b][t - 1] : -1;
    const float* logits = predictor.step(previous);  // [B, V]
    // Streams are independent, so quantising them on several threads keeps every integer identical.
    at::parallel_for(0, streams, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        if (t >= counts[b]) continue;
        const float* row = logits + b * vocab;
        const TokenId token = chunks[b][t];
        if (token < 0 || token >= vocab) throw Error("token id " + std::to_string(token) + " is outside the model's vocabulary");
        if (pcm) {
          const uint8_t byte = pcm->pcm[b][t];
          if (token != pcm->tokens->token[byte >> 1]) throw Error("an audio chunk's tokens are not its symbols'");
          if (t == 0) {
            auto filters = fit_lpc(pcm->pcm[b], pcm->layout, pcm->wasted_bits);
            encode_lpc(encoders[b], filters);
            pcm_streams[b].start(*pcm, std::move(filters), vocab);
          }
          pcm_streams[b].assign(tables[b], row, vocab, total_bits);
        } else {
          tables[b].assign_logits({row, static_cast<size_t>(vocab)}, total_bits);
          out[b].model_bits += tables[b].ideal_bits(token);
        }
        if (matches) matches->adjust(b, tables[b]);
        encode_symbol(encoders[b], tables[b], token);
        if (pcm) {
          PcmChunkModel& model = *pcm_streams[b].model;
          const int bit = pcm->pcm[b][t] & 1;
          model.observe_symbol(token);
          // The bit's ideal cost counts as the low bits' coded size counts when they are coded apart.
          const double p = bit ? model.bit_p16() : (1u << kBitProbabilityBits) - model.bit_p16();
          out[b].model_bits += model.model_bits() + kBitProbabilityBits - std::log2(p);
          encode_bit(encoders[b], model.bit_p16(), bit);
          model.observe_bit(bit);
        }
        if (matches) matches->record(b, token);
      }
    });
    if (matches) matches->end_step();
  }
  for (int64_t b = 0; b < streams; ++b) out[b].payload = encoders[b].finish();
  return out;
}

std::vector<std::vector<TokenId>> decode_group(LockstepPredictor& predictor,
                                               const std::vector<std::span<const uint8_t>>& payloads,
                                               const std::vector<int64_t>& token_counts, int total_bits,
                                               MatchModel* matches,
                                               const std::vector<std::vector<TokenId>>& known, PcmStreams* pcm) {
  const int64_t streams = static_cast<int64_t>(payloads.size());
  if (static_cast<int64_t>(token_counts.size()) != streams) throw Error("one token count per chunk is needed");
  if (!known.empty() && static_cast<int64_t>(known.size()) != streams) throw Error("known tokens must cover every chunk");
  auto is_known = [&](int64_t b) { return !known.empty() && !known[b].empty(); };
  const int64_t vocab = predictor.vocab_size();
  const int64_t steps = longest(token_counts);
  std::vector<std::vector<TokenId>> tokens(streams);
  for (int64_t b = 0; b < streams; ++b) {
    if (is_known(b) && static_cast<int64_t>(known[b].size()) != token_counts[b]) {
      throw Error("chunk " + std::to_string(b) + " has " + std::to_string(known[b].size()) + " known tokens, not " +
                  std::to_string(token_counts[b]));
    }
    if (is_known(b)) tokens[b] = known[b];
  }
  if (pcm) {
    check_pcm(*pcm, payloads.size());
    for (int64_t b = 0; b < streams; ++b) {
      if (is_known(b) && static_cast<int64_t>(pcm->pcm[b].size()) != token_counts[b]) {
        throw Error("a stored audio chunk needs one PCM byte per symbol");
      }
    }
  }
  std::vector<ChunkPcm> pcm_streams(pcm ? streams : 0);
  if (steps == 0) return tokens;
  std::vector<RangeDecoder> decoders;
  for (const auto& p : payloads) decoders.emplace_back(p);
  std::vector<FrequencyTable> tables(streams);
  std::vector<TokenId> previous(streams, -1);
  predictor.start(streams, steps);
  if (matches) matches->start_group(token_counts);
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < streams; ++b) previous[b] = (t > 0 && t < token_counts[b]) ? tokens[b][t - 1] : -1;
    const float* logits = predictor.step(previous);
    at::parallel_for(0, streams, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        if (t >= token_counts[b] || (is_known(b) && !matches)) continue;
        // A fed stream's table still goes through the match model, whose mixer learns from every stream.
        const float* row = logits + b * vocab;
        if (pcm) {
          if (t == 0) {
            // A stored chunk's filters were never written: fitted again, as the encoder fitted them.
            auto filters = is_known(b) ? fit_lpc(pcm->pcm[b], pcm->layout, pcm->wasted_bits)
                                       : decode_lpc(decoders[b], pcm->layout.channels, pcm->wasted_bits);
            pcm_streams[b].start(*pcm, std::move(filters), vocab);
          }
          pcm_streams[b].assign(tables[b], row, vocab, total_bits);
        } else {
          tables[b].assign_logits({row, static_cast<size_t>(vocab)}, total_bits);
        }
        if (matches) matches->adjust(b, tables[b]);
        auto check_overrun = [&] {
          // Reading past its payload, a stream is corrupt whatever follows: stop now, not after all its tokens.
          if (decoders[b].overrun()) {
            throw Error("chunk " + std::to_string(b) + " of the group ran past its coded bytes: the archive is corrupt");
          }
        };
        if (!is_known(b)) {
          tokens[b].push_back(decode_symbol(decoders[b], tables[b]));
          check_overrun();
        }
        if (pcm) {
          PcmChunkModel& model = *pcm_streams[b].model;
          model.observe_symbol(tokens[b][t]);
          int bit = 0;
          if (is_known(b)) {
            bit = pcm->pcm[b][t] & 1;
          } else {
            bit = decode_bit(decoders[b], model.bit_p16());
            check_overrun();
          }
          model.observe_bit(bit);
        }
        if (matches) matches->record(b, tokens[b][t]);
      }
    });
    if (matches) matches->end_step();
  }
  for (int64_t b = 0; b < streams; ++b) {
    if (!is_known(b) && !decoders[b].finished_cleanly()) {
      throw Error("chunk " + std::to_string(b) + " of the group did not decode cleanly: the archive is corrupt or was "
                  "made with another model");
    }
    if (pcm && !is_known(b) && pcm_streams[b].model) pcm->pcm[b] = pcm_streams[b].model->pcm();
  }
  return tokens;
}

}  // namespace lmc
