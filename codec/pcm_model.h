// The model of integer PCM (8-, 16- or 24-bit; 16-bit from format 8, the others from format 10) inside
// an audio chunk's own token stream. Audio-as-string turns each byte of a sample into a 7-bit symbol
// (byte >> 1) and a shifted-out bit, least significant byte first; here each bit is coded right after
// its symbol, so every earlier sample of the chunk is known exactly while the next one is coded. That
// lets a linear predictor take part:
//   - the encoder fits order-kLpcOrder LPC coefficients to each channel of the chunk and codes them at
//     the start of the chunk's stream (forward-adaptive, as flac does: a chunk needs no warm-up);
//   - a second, backward-adaptive stage (NLMS over the last kResidualTaps LPC residuals and, for every
//     channel after the first, kCrossTaps of the first channel's) predicts what the LPC prediction will
//     miss, following the signal within the chunk as fixed coefficients cannot;
//   - each sample's prediction error gets a logistic distribution whose scale follows a running mean
//     of the channel's recent errors; from it, given the sample's bytes already known, come a
//     distribution over each symbol and each bit (a byte below the top one whose values are uniform to
//     within 1% at that scale is taken as uniform, so 24-bit noise costs no search over its values);
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

// How samples are laid out as bytes: 1, 2 or 3 bytes each, little-endian, channels interleaved in whole
// frames; 8-bit samples are offset binary (the byte is the sample + 128, as WAV stores them), wider
// ones two's complement.
struct PcmLayout {
  int channels = 1;
  int sample_bytes = 2;
  // 1 <= channels <= kMaxPcmChannels and 1 <= sample_bytes <= 3; check() throws lmc::Error unless.
  bool valid() const;
  void check() const;
};
inline constexpr int kMaxPcmChannels = 32;

// A channel's predictor for one chunk: its wasted bits (low bits zero in every sample, as when 16-bit
// audio is stored in 24 bits; flac's name) and kLpcOrder quantised coefficients for its samples with
// those bits shifted out.
struct LpcFilter {
  int wasted_bits = 0;
  std::vector<int32_t> coefficients;
  bool operator==(const LpcFilter&) const = default;
};

// One filter per channel for the chunk's samples (`pcm`: whole frames of `layout`); coefficients all
// zero for a channel that is silent or shorter than the order; wasted bits only if `find_wasted_bits`
// (format 10 on). The filters travel in the archive, but this is bit-reproducible too (+ - * / only):
// with the match model on, a decoder refits a stored chunk's, whose tables the match model learned from.
std::vector<LpcFilter> fit_lpc(std::span<const uint8_t> pcm, const PcmLayout& layout, bool find_wasted_bits);

// The filters at the start of a chunk's stream: per channel a 5-bit width, then each coefficient in that
// many bits (two's complement). A channel with wasted bits (format 10 on) starts with the width 31 and
// their 5-bit count instead. decode_lpc throws lmc::Error on a width above 16, and on wasted bits that
// are not `allow_wasted_bits`, 0 or over 23.
void encode_lpc(RangeEncoder& encoder, const std::vector<LpcFilter>& filters);
std::vector<LpcFilter> decode_lpc(RangeDecoder& decoder, int channels, bool allow_wasted_bits);

// One chunk's state, the same on both sides. Per symbol: mix(), then the coder codes the token under the
// mixed logits, then observe_symbol(); then the bit under bit_p16(), then observe_bit().
class PcmChunkModel {
 public:
  // One filter per channel of `sample_bytes`-byte samples; cross_channel: the second stage's kCrossTaps
  // (format 9 on). Throws lmc::Error if a filter's wasted bits leave no bit of the sample.
  PcmChunkModel(const PcmSymbolTokens& tokens, std::vector<LpcFilter> filters, int sample_bytes, bool cross_channel);

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
  // A channel's levels, errors and predictions are in units of its samples with the wasted bits shifted
  // out ("values"); the bytes coded are those of the samples.
  struct Channel {
    LpcFilter filter;
    std::vector<int32_t> history;  // newest first, kLpcOrder values (zeros before the chunk starts)
    std::vector<double> residuals;         // newest first, the last kResidualTaps LPC residuals
    std::vector<double> residual_weights;  // the second stage's NLMS filter over them
    double mean_error = 0;
    std::array<double, kCrossTaps> cross_weights{};  // over the first channel's residuals (other channels)
  };
  void predict_sample();   // the next sample's prediction, scale and window
  void symbol_log_probs();  // log_probs_ for the next symbol
  int symbol_of(size_t token) const;  // -1 for a token that is no symbol
  bool uses_cross_taps() const { return cross_channel_ && channel_ > 0; }
  bool top_byte() const { return byte_ + 1 == sample_bytes_; }
  int wasted_bits() const { return channels_[channel_].filter.wasted_bits; }
  // The next byte's bits are all wasted: it is known to be zero.
  bool wasted_byte() const { return 8 * (byte_ + 1) <= wasted_bits(); }
  // The next byte's values (those whose wasted bits are zero) are as good as uniform at this scale
  // (never the top byte's).
  bool uniform_byte() const;
  // Calls add(v) for each value v in [lowest_, highest_] whose sample's lowest `bytes` bytes, as an
  // unsigned number, are `pattern`: by ascending v, or by ascending byte pattern (for two's complement
  // the non-negative values first).
  template <typename Add>
  void for_each_value(int bytes, int64_t pattern, bool pattern_order, Add add) const;
  // About how many values for_each_value(bytes, ...) visits (one more at most).
  int64_t values_to_visit(int bytes) const;
  int32_t sample_of(uint32_t pattern) const;  // the sample whose bytes are `pattern`
  // The mass of the sample with bytes `pattern` (0 unless its wasted bits are zero and it is in the window).
  double pattern_mass(uint32_t pattern) const;

  const PcmSymbolTokens& tokens_;
  std::vector<Channel> channels_;
  bool cross_channel_;
  std::array<double, kCrossTaps> first_channel_residuals_{};  // this frame's, then the previous frame's
  int sample_bytes_;
  int32_t min_sample_, max_sample_;  // of sample_bytes_ bytes
  size_t channel_ = 0;       // of the sample being coded
  int byte_ = 0;             // of the sample, the next symbol's (0: the least significant)
  uint32_t known_bytes_ = 0;  // the sample's bytes below byte_, as a number
  int symbol_ = 0;           // the last observed symbol
  int32_t lpc_prediction_ = 0;
  double refined_prediction_ = 0;  // plus the second stage's, before rounding
  int32_t prediction_ = 0;
  double scale_ = 1;
  int32_t lowest_ = 0, highest_ = 0;  // the values that get any mass, from prediction_ and scale_
  std::array<double, 128> log_probs_{};
  std::vector<std::array<double, 2>> weights_;  // [byte][language model, predictor]
  double expected_logit_ = 0, expected_log_prob_ = 0, log_sum_exp_ = 0;
  std::vector<float> logits_;  // the last mix()'s, for learning once the token is known
  double model_bits_ = 0;
  uint32_t bit_p16_ = 32768;
  std::vector<uint8_t> pcm_;
};

}  // namespace lmc
