// Format 8's model of 16-bit PCM inside an audio chunk's own token stream. Audio-as-string turns each
// sample into two 7-bit symbols (low byte >> 1, high byte >> 1) and two shifted-out bits; here each bit
// is coded right after its symbol, so every earlier sample of the chunk is known exactly while the
// next one is coded. That lets a linear predictor take part:
//   - the encoder fits order-kLpcOrder LPC coefficients to each channel of the chunk and codes them at
//     the start of the chunk's stream (forward-adaptive, as flac does: a chunk needs no warm-up);
//   - a second, backward-adaptive stage (NLMS over the last kResidualTaps LPC residuals and, for every
//     channel after the first, kCrossTaps of the first channel's) predicts what the LPC prediction will
//     miss, following the signal within the chunk as fixed coefficients cannot;
//   - each sample's prediction error gets a logistic distribution whose scale follows a running mean
//     of the channel's recent errors; from it come a distribution over each symbol and each bit;
//   - the language model's logits and that symbol distribution are mixed geometrically (a weighted sum
//     of log-probabilities), with the two weights learned online per chunk, so neither side can make
//     the coding much worse than the better of the two.
// Everything the decoder recomputes uses integer prediction and floating-point code built only from
// + - * / and exp_nonpositive in a fixed order (pcm_model.cpp is compiled with -ffp-contract=off), so
// both sides get the same values bit for bit. No LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/range_coder.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

inline constexpr int kLpcOrder = 10;
inline constexpr int kLpcPrecision = 11;  // coefficients are integers in units of 2^-11
inline constexpr int kResidualTaps = 32;
// From format 9 the second stage of every channel after the first also sees the first channel's LPC
// residuals of this frame and the previous one: what stereo channels share, as flac's mid/side codes.
inline constexpr int kCrossTaps = 2;

// The token that codes each audio-as-string symbol (0..127), and back (-1: a token that is no symbol).
struct PcmSymbolTokens {
  std::array<TokenId, 128> token{};
  std::vector<int16_t> symbol;  // indexed by token id; ids past its end are no symbol either
};

// kLpcOrder quantised coefficients per channel for the chunk's 16-bit little-endian samples (channels
// interleaved, whole frames); all zero for a channel that is silent or shorter than the order. The
// coefficients travel in the archive, but this is bit-reproducible too (+ - * / only): with the match
// model on, a decoder refits a stored chunk's, whose tables the match model learned from.
std::vector<std::vector<int32_t>> fit_lpc(std::span<const uint8_t> pcm, int channels);

// The coefficients at the start of a chunk's stream: per channel a 5-bit width, then each coefficient
// in that many bits (two's complement). decode_lpc throws lmc::Error on a width above 16.
void encode_lpc(RangeEncoder& encoder, const std::vector<std::vector<int32_t>>& coefficients);
std::vector<std::vector<int32_t>> decode_lpc(RangeDecoder& decoder, int channels);

// One chunk's state, the same on both sides. Per symbol: mix(), then the coder codes the token under the
// mixed logits, then observe_symbol(); then the bit under bit_p16(), then observe_bit().
class PcmChunkModel {
 public:
  // cross_channel: the second stage's kCrossTaps (format 9 on).
  PcmChunkModel(const PcmSymbolTokens& tokens, std::vector<std::vector<int32_t>> coefficients, bool cross_channel);

  // The language model's logits for the next token (vocab of them) -> the mixed logits (same size).
  void mix(std::span<const float> logits, std::span<float> mixed);
  // The token just coded; throws lmc::Error if it stands for no symbol (a corrupt stream).
  void observe_symbol(TokenId token);
  // P(next shifted-out bit = 1) in 16-bit fixed point, in [1, 65535].
  uint32_t bit_p16() const { return bit_p16_; }
  void observe_bit(int bit);

  // -log2 of the language model's own probability for the last observed token (before mixing).
  double model_bits() const { return model_bits_; }
  // The chunk's PCM bytes so far.
  const std::vector<uint8_t>& pcm() const { return pcm_; }

 private:
  struct Channel {
    std::vector<int32_t> coefficients;
    std::vector<int32_t> history;  // newest first, kLpcOrder samples (zeros before the chunk starts)
    std::vector<double> residuals;         // newest first, the last kResidualTaps LPC residuals
    std::vector<double> residual_weights;  // the second stage's NLMS filter over them
    double mean_error = 0;
    std::array<double, kCrossTaps> cross_weights{};  // over the first channel's residuals (other channels)
  };
  void symbol_log_probs();  // log_probs_ for the next symbol
  int symbol_of(size_t token) const;  // -1 for a token that is no symbol
  bool uses_cross_taps() const { return cross_channel_ && channel_ > 0; }

  const PcmSymbolTokens& tokens_;
  std::vector<Channel> channels_;
  bool cross_channel_;
  std::array<double, kCrossTaps> first_channel_residuals_{};  // this frame's, then the previous frame's
  size_t channel_ = 0;     // of the sample being coded
  bool high_byte_ = false;  // the next symbol is the high byte's
  int low_byte_ = 0;        // the sample's low byte, once known
  int symbol_ = 0;          // the last observed symbol
  int32_t lpc_prediction_ = 0;
  double refined_prediction_ = 0;  // plus the second stage's, before rounding
  int32_t prediction_ = 0;
  double scale_ = 1;
  int32_t window_ = 0;  // how far from the prediction sample values get any mass, from scale_
  std::array<double, 128> log_probs_{};
  std::array<std::array<double, 2>, 2> weights_{};  // [high byte][language model, predictor]
  double expected_logit_ = 0, expected_log_prob_ = 0, log_sum_exp_ = 0;
  std::vector<float> logits_;  // the last mix()'s, for learning once the token is known
  double model_bits_ = 0;
  uint32_t bit_p16_ = 32768;
  std::vector<uint8_t> pcm_;
};

}  // namespace lmc
