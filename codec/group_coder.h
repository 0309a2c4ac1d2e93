// Codes one group: B chunks' token sequences, run through the model in lockstep (LockstepPredictor),
// each chunk into its own range-coder stream, so a group's chunks decode side by side. Step t feeds
// each stream its token t-1 (BOS at t = 0) and codes token t under the quantised softmax of the logits,
// reshaped by the archive's MatchModel (if any; null: the model's tables alone) where the stream's
// recent tokens repeat earlier ones. An archive's groups go through one MatchModel in order, on both sides.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codec/lockstep.h"
#include "codec/match_model.h"
#include "codec/pcm_model.h"

namespace lmc {

// PCM audio under a byte-level model (16-bit from format 8, 8- and 24-bit too from format 10): the chunks'
// tokens are audio-as-string symbols, each followed in the stream by its shifted-out bit, and a
// PcmChunkModel per chunk mixes its predictions into the model's.
struct PcmStreams {
  const PcmSymbolTokens* tokens = nullptr;
  PcmLayout layout;
  bool cross_channel = true;  // PcmChunkModel's; false for format-8 archives
  bool wasted_bits = true;    // fit_lpc's find_wasted_bits; false before format 10
  // encode_group: each chunk's PCM bytes (one per symbol). decode_group: the stored chunks' (empty for
  // a coded one), and on return every chunk's.
  std::vector<std::vector<uint8_t>> pcm;
};

struct EncodedChunk {
  std::vector<uint8_t> payload;
  // -sum log2 softmax(logits)[token]: the language model's ideal code length (FrequencyTable::ideal_bits),
  // before the match model; the payload is shorter than this where repeats were predicted. With
  // PcmStreams, the language model's own, plus the ideal cost of the bits the PCM model codes.
  double model_bits = 0;
};

std::vector<EncodedChunk> encode_group(LockstepPredictor& predictor, const std::vector<std::vector<TokenId>>& chunks,
                                       int total_bits, MatchModel* matches, PcmStreams* pcm = nullptr);

// Inverse of encode_group given each chunk's payload and token count. Throws lmc::Error when a
// stream does not decode consistently (corrupt or truncated payload, or a different model).
// `known` (empty, or one entry per chunk) holds the tokens of streams that are fed rather than decoded
// (a stored chunk, re-tokenized): they still run in the group, so that the batch is the encoder's.
std::vector<std::vector<TokenId>> decode_group(LockstepPredictor& predictor,
                                               const std::vector<std::span<const uint8_t>>& payloads,
                                               const std::vector<int64_t>& token_counts, int total_bits,
                                               MatchModel* matches,
                                               const std::vector<std::vector<TokenId>>& known = {},
                                               PcmStreams* pcm = nullptr);

}  // namespace lmc
