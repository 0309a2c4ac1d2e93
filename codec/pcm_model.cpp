#include "codec/pcm_model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/exp_nonpositive.h"

namespace lmc {
namespace {

constexpr double kLn2 = 0.69314718055994530942;
// The running mean of |error| for a channel's first sample: about a quiet speech recording's.
constexpr double kInitialMeanError = 300;
// A logistic with scale s has mean |x| = 2 ln2 s, about 1.39 s; 0.7 fitted the residuals a little wider.
constexpr double kScalePerMeanError = 0.7;
constexpr double kMinScale = 0.3;
// Beyond this many scales from the prediction a sample value's mass is below 1e-8: not summed.
constexpr double kWindowScales = 20;
// Above this scale the low byte's symbols are uniform to within 1%: not summed either.
constexpr double kUniformLowByteScale = 128;
constexpr double kMassFloor = 1e-12;  // every symbol and bit stays codable
// Tokens that are no symbol get this log-probability from the predictor.
constexpr double kNoSymbolLogProb = -60;
// Mixed logits are kept inside float's range whatever the weights learned.
constexpr double kMaxMixedLogit = 1e30;
constexpr double kMixerRate = 0.005;
// The second stage's NLMS step size and the regulariser of its normalisation (in squared sample units).
constexpr double kResidualRate = 0.2;
constexpr double kResidualRegulariser = 1000;
// Initial [language model, predictor] weights for the low and the high byte's symbol, from the six
// LibriSpeech utterances the design was measured on; each chunk learns its own from there.
constexpr std::array<std::array<double, 2>, 2> kInitialWeights = {{{0.3, 0.75}, {0.35, 1.0}}};

// ln x for x > 0 from + - * / and the exponent: x = m 2^e, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s)
// with s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^17 (truncation below 1e-15).
double log_positive(double x) {
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752) {
    m *= 2;
    --e;
  }
  const double s = (m - 1) / (m + 1), s2 = s * s;
  double p = 1.0 / 17;
  for (int k = 15; k >= 1; k -= 2) p = p * s2 + 1.0 / k;
  return 2 * s * p + e * kLn2;
}

// e^-|z| / (1 + e^-|z|): the logistic's CDF at z < 0, or its survival function at z >= 0.
double logistic_tail(double z) {
  const double e = exp_nonpositive(static_cast<float>(std::max(-std::abs(z), double{kExpMinArgument})));
  return e / (1 + e);
}

// The logistic's mass on [x - 1/2, x + 1/2], from the tails so that far values keep their precision.
double value_mass(int32_t x, int32_t prediction, double scale) {
  const double lo = (x - 0.5 - prediction) / scale, hi = (x + 0.5 - prediction) / scale;
  if (hi <= 0) return logistic_tail(hi) - logistic_tail(lo);
  if (lo >= 0) return logistic_tail(lo) - logistic_tail(hi);
  return 1 - logistic_tail(lo) - logistic_tail(hi);
}

int32_t as_sample(int high_byte, int low_byte) {
  return static_cast<int16_t>(static_cast<uint16_t>((high_byte << 8) | low_byte));
}

uint32_t p16_of_one(double zero, double one) {
  constexpr double kOne = 1 << kBitProbabilityBits;
  const double p = (one + kMassFloor) / (zero + one + 2 * kMassFloor);
  return static_cast<uint32_t>(std::clamp(std::floor(p * kOne + 0.5), 1.0, kOne - 1));
}

// Shifts a newest-first history by one and puts `value` in front.
template <typename Container, typename Value>
void push_newest(Container& history, Value value) {
  std::rotate(history.rbegin(), history.rbegin() + 1, history.rend());
  history[0] = value;
}

}  // namespace

std::vector<std::vector<int32_t>> fit_lpc(std::span<const uint8_t> pcm, int channels) {
  if (channels < 1) throw Error("PCM needs at least one channel");
  std::vector<std::vector<int32_t>> out(channels, std::vector<int32_t>(kLpcOrder, 0));
  const size_t frames = pcm.size() / (2 * static_cast<size_t>(channels));
  if (frames <= static_cast<size_t>(kLpcOrder)) return out;
  std::vector<double> x(frames);
  for (int c = 0; c < channels; ++c) {
    bool silent = true;
    for (size_t i = 0; i < frames; ++i) {
      const size_t at = 2 * (i * channels + c);
      const int32_t sample = as_sample(pcm[at + 1], pcm[at]);
      silent = silent && sample == 0;
      // A Welch window, so that the chunk's edges do not look like a step to the autocorrelation.
      const double u = (2.0 * static_cast<double>(i) - static_cast<double>(frames - 1)) / static_cast<double>(frames + 1);
      x[i] = sample * (1 - u * u);
    }
    if (silent) continue;
    std::array<double, kLpcOrder + 1> r{};
    for (int lag = 0; lag <= kLpcOrder; ++lag) {
      for (size_t i = lag; i < frames; ++i) r[lag] += x[i] * x[i - lag];
    }
    r[0] = r[0] * 1.0001 + 1e-9;  // a little white noise keeps the recursion stable
    // Levinson-Durbin: a[] is the prediction-error filter 1 + a1 z^-1 + ...; stops if it turns unstable.
    std::array<double, kLpcOrder + 1> a{1.0};
    double error = r[0];
    for (int i = 1; i <= kLpcOrder; ++i) {
      double acc = r[i];
      for (int j = 1; j < i; ++j) acc += a[j] * r[i - j];
      const double k = -acc / error;
      std::array<double, kLpcOrder + 1> next = a;
      for (int j = 1; j < i; ++j) next[j] = a[j] + k * a[i - j];
      next[i] = k;
      const double next_error = error * (1 - k * k);
      if (!(next_error > 0)) break;
      a = next;
      error = next_error;
    }
    for (int j = 0; j < kLpcOrder; ++j) {
      const double q = std::round(-a[j + 1] * (1 << kLpcPrecision));
      out[c][j] = static_cast<int32_t>(std::clamp(q, -32767.0, 32767.0));
    }
  }
  return out;
}

void encode_lpc(RangeEncoder& encoder, const std::vector<std::vector<int32_t>>& coefficients) {
  for (const auto& channel : coefficients) {
    int width = 0;
    for (int32_t q : channel) {
      if (q != 0) width = std::max(width, static_cast<int>(std::bit_width(static_cast<uint32_t>(std::abs(q)))) + 1);
    }
    encoder.encode(static_cast<uint64_t>(width), 1, 5);
    if (width == 0) continue;
    for (int32_t q : channel) encoder.encode(static_cast<uint32_t>(q) & ((1u << width) - 1), 1, width);
  }
}

std::vector<std::vector<int32_t>> decode_lpc(RangeDecoder& decoder, int channels) {
  std::vector<std::vector<int32_t>> out(channels, std::vector<int32_t>(kLpcOrder, 0));
  for (auto& channel : out) {
    const uint64_t width = decoder.target(5);
    decoder.consume(width, 1);
    if (width > 16) throw Error("an LPC coefficient width of " + std::to_string(width) + " bits: the archive is corrupt");
    if (width == 0) continue;
    for (int32_t& q : channel) {
      const uint64_t value = decoder.target(static_cast<int>(width));
      decoder.consume(value, 1);
      const uint32_t sign = 1u << (width - 1);
      q = static_cast<int32_t>((static_cast<uint32_t>(value) ^ sign)) - static_cast<int32_t>(sign);
    }
  }
  return out;
}

PcmChunkModel::PcmChunkModel(const PcmSymbolTokens& tokens, std::vector<std::vector<int32_t>> coefficients,
                             bool cross_channel)
    : tokens_(tokens), cross_channel_(cross_channel), weights_(kInitialWeights) {
  if (coefficients.empty()) throw Error("PCM needs at least one channel");
  for (auto& c : coefficients) {
    if (c.size() != static_cast<size_t>(kLpcOrder)) {
      throw Error("a channel needs " + std::to_string(kLpcOrder) + " LPC coefficients");
    }
    channels_.push_back({std::move(c), std::vector<int32_t>(kLpcOrder, 0), std::vector<double>(kResidualTaps, 0),
                         std::vector<double>(kResidualTaps, 0), kInitialMeanError});
  }
}

int PcmChunkModel::symbol_of(size_t token) const {
  return token < tokens_.symbol.size() ? tokens_.symbol[token] : -1;
}

void PcmChunkModel::symbol_log_probs() {
  const Channel& channel = channels_[channel_];
  if (!high_byte_) {
    int64_t sum = 0;
    for (int j = 0; j < kLpcOrder; ++j) sum += int64_t{channel.coefficients[j]} * channel.history[j];
    lpc_prediction_ = static_cast<int32_t>(std::clamp<int64_t>(sum >> kLpcPrecision, -32768, 32767));
    double correction = 0;
    for (int j = 0; j < kResidualTaps; ++j) correction += channel.residual_weights[j] * channel.residuals[j];
    if (uses_cross_taps()) {
      for (int j = 0; j < kCrossTaps; ++j) correction += channel.cross_weights[j] * first_channel_residuals_[j];
    }
    refined_prediction_ = lpc_prediction_ + correction;
    prediction_ = static_cast<int32_t>(std::clamp(std::floor(refined_prediction_), -32768.0, 32767.0));
    scale_ = std::max(channel.mean_error * kScalePerMeanError, kMinScale);
    window_ = static_cast<int32_t>(std::min(kWindowScales * scale_ + 2, 65536.0));
  }
  const int32_t lowest = std::max(-32768, prediction_ - window_), highest = std::min(32767, prediction_ + window_);
  std::array<double, 128> mass{};
  if (!high_byte_ && scale_ > kUniformLowByteScale) {
    log_probs_.fill(-7 * kLn2);
    return;
  }
  if (!high_byte_) {
    for (int32_t x = lowest; x <= highest; ++x) {
      mass[(static_cast<uint32_t>(x) & 0xff) >> 1] += value_mass(x, prediction_, scale_);
    }
  } else {
    for (int high = 0; high < 256; ++high) {
      const int32_t x = as_sample(high, low_byte_);
      if (x >= lowest && x <= highest) mass[high >> 1] += value_mass(x, prediction_, scale_);
    }
  }
  double total = 0;
  for (double& m : mass) total += (m += kMassFloor);
  for (int s = 0; s < 128; ++s) log_probs_[s] = log_positive(mass[s] / total);
}

void PcmChunkModel::mix(std::span<const float> logits, std::span<float> mixed) {
  symbol_log_probs();
  logits_.assign(logits.begin(), logits.end());
  const auto& w = weights_[high_byte_];
  double max_mixed = -INFINITY, max_logit = -INFINITY;
  for (size_t v = 0; v < logits.size(); ++v) {
    const double logit = logits[v];
    if (!std::isfinite(logit)) {
      mixed[v] = logits[v];  // left to FrequencyTable, as without the predictor
      continue;
    }
    const int s = symbol_of(v);
    const double m = w[0] * logit + w[1] * (s >= 0 ? log_probs_[s] : kNoSymbolLogProb);
    mixed[v] = static_cast<float>(std::clamp(m, -kMaxMixedLogit, kMaxMixedLogit));
    max_mixed = std::max(max_mixed, static_cast<double>(mixed[v]));
    max_logit = std::max(max_logit, logit);
  }
  // The mixture's expectations of both inputs (for learning) and the model's own normaliser.
  double z = 0, z_model = 0, e_logit = 0, e_log_prob = 0;
  for (size_t v = 0; v < logits.size(); ++v) {
    const double logit = logits[v];
    if (!std::isfinite(logit)) continue;
    const int s = symbol_of(v);
    const double p = exp_nonpositive(std::max(static_cast<float>(mixed[v] - max_mixed), kExpMinArgument));
    z += p;
    e_logit += p * logit;
    e_log_prob += p * (s >= 0 ? log_probs_[s] : kNoSymbolLogProb);
    z_model += exp_nonpositive(std::max(static_cast<float>(logit - max_logit), kExpMinArgument));
  }
  expected_logit_ = z > 0 ? e_logit / z : 0;
  expected_log_prob_ = z > 0 ? e_log_prob / z : 0;
  log_sum_exp_ = z_model > 0 ? max_logit + log_positive(z_model) : 0;
}

void PcmChunkModel::observe_symbol(TokenId token) {
  const int s = token >= 0 ? symbol_of(static_cast<size_t>(token)) : -1;
  if (s < 0) throw Error("token " + std::to_string(token) + " is no audio symbol: the archive is corrupt");
  const double logit = logits_[token];
  if (std::isfinite(logit)) {
    auto& w = weights_[high_byte_];
    w[0] += kMixerRate * (logit - expected_logit_);
    w[1] += kMixerRate * (log_probs_[s] - expected_log_prob_);
    model_bits_ = (log_sum_exp_ - logit) / kLn2;
  } else {
    model_bits_ = 0;
  }
  symbol_ = s;
  // The bit's two candidates, given all that is known of the sample so far.
  double zero = 0, one = 0;
  auto add = [&](int32_t x, double& to) {
    if (std::abs(x - prediction_) <= window_) to += value_mass(x, prediction_, scale_);
  };
  if (!high_byte_) {
    for (int high = 0; high < 256; ++high) {
      add(as_sample(high, 2 * s), zero);
      add(as_sample(high, 2 * s + 1), one);
    }
  } else {
    add(as_sample(2 * s, low_byte_), zero);
    add(as_sample(2 * s + 1, low_byte_), one);
  }
  bit_p16_ = p16_of_one(zero, one);
}

void PcmChunkModel::observe_bit(int bit) {
  const int byte = 2 * symbol_ + (bit & 1);
  pcm_.push_back(static_cast<uint8_t>(byte));
  if (!high_byte_) {
    low_byte_ = byte;
    high_byte_ = true;
    return;
  }
  Channel& channel = channels_[channel_];
  const int32_t sample = as_sample(byte, low_byte_);
  channel.mean_error += (std::abs(sample - prediction_) - channel.mean_error) / 8;
  double energy = kResidualRegulariser;
  for (double r : channel.residuals) energy += r * r;
  if (uses_cross_taps()) {
    for (double r : first_channel_residuals_) energy += r * r;
  }
  const double step = kResidualRate * (sample - refined_prediction_) / energy;
  for (int j = 0; j < kResidualTaps; ++j) channel.residual_weights[j] += step * channel.residuals[j];
  if (uses_cross_taps()) {
    for (int j = 0; j < kCrossTaps; ++j) channel.cross_weights[j] += step * first_channel_residuals_[j];
  }
  const double residual = sample - lpc_prediction_;
  if (channel_ == 0) push_newest(first_channel_residuals_, residual);
  push_newest(channel.residuals, residual);
  push_newest(channel.history, sample);
  high_byte_ = false;
  channel_ = (channel_ + 1) % channels_.size();
}

}  // namespace lmc
