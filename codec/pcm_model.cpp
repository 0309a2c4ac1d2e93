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
// The running mean of |error| for a channel's first sample: about a quiet speech recording's in 16 bits
// (scaled to the sample width, as is the regulariser below).
constexpr double kInitialMeanError = 300;
// A logistic with scale s has mean |x| = 2 ln2 s, about 1.39 s; 0.7 fitted the residuals a little wider.
constexpr double kScalePerMeanError = 0.7;
constexpr double kMinScale = 0.3;
// Beyond this many scales from the prediction a sample value's mass is below 1e-8: not summed.
constexpr double kWindowScales = 20;
// Above 2^7 times a byte's weight in the sample, that byte's symbols are uniform to within 1%: not summed
// either (the top byte's always are).
constexpr int kUniformByteScaleBits = 7;
// A bit below the top byte with more candidate values than this in the window is as good as even: taken
// as even (never so in 16 bits, whose low byte has at most 256).
constexpr int64_t kMaxBitCandidates = 1024;
// The LPC width field's escape: wasted bits follow, then the width (codec/pcm_model.h, format 10 on).
constexpr uint64_t kWastedBitsEscape = 31;
constexpr int kMaxCoefficientBits = 16;
constexpr int kMaxWastedBits = 23;
constexpr double kMassFloor = 1e-12;  // every symbol and bit stays codable
// Tokens that are no symbol get this log-probability from the predictor.
constexpr double kNoSymbolLogProb = -60;
// Mixed logits are kept inside float's range whatever the weights learned.
constexpr double kMaxMixedLogit = 1e30;
constexpr double kMixerRate = 0.005;
// The second stage's NLMS step size and the regulariser of its normalisation (in squared units of a
// 16-bit sample, scaled to the channel's values).
constexpr double kResidualRate = 0.2;
constexpr double kResidualRegulariser = 1000;
// Initial [language model, predictor] weights for a lower byte's symbol and the top byte's, from the six
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

// The sample whose little-endian bytes are `pattern`: offset binary in 8 bits, two's complement wider.
int32_t sample_of_pattern(uint32_t pattern, int sample_bytes) {
  if (sample_bytes == 1) return static_cast<int32_t>(pattern) - 128;
  const int unused = 32 - 8 * sample_bytes;
  return static_cast<int32_t>(pattern << unused) >> unused;
}

// How many of a 16-bit recording's units one unit of this width is: the scale of every level and
// error in the model.
double unit_of(int sample_bytes) { return std::ldexp(1.0, 8 * (sample_bytes - 2)); }

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

bool PcmLayout::valid() const {
  return channels >= 1 && channels <= kMaxPcmChannels && sample_bytes >= 1 && sample_bytes <= 3;
}

void PcmLayout::check() const {
  if (!valid()) {
    throw Error("PCM of " + std::to_string(channels) + " channel(s) of " + std::to_string(sample_bytes) +
                "-byte samples: only 1 to " + std::to_string(kMaxPcmChannels) + " channels of 1, 2 or 3 bytes are "
                "modelled");
  }
}

std::vector<LpcFilter> fit_lpc(std::span<const uint8_t> pcm, const PcmLayout& layout, bool find_wasted_bits) {
  layout.check();
  const int channels = layout.channels, width = layout.sample_bytes;
  std::vector<LpcFilter> out(channels, LpcFilter{0, std::vector<int32_t>(kLpcOrder, 0)});
  const size_t frames = pcm.size() / (static_cast<size_t>(width) * static_cast<size_t>(channels));
  if (frames <= static_cast<size_t>(kLpcOrder)) return out;
  std::vector<int32_t> samples(frames);
  std::vector<double> x(frames);
  for (int c = 0; c < channels; ++c) {
    uint32_t set_bits = 0;
    for (size_t i = 0; i < frames; ++i) {
      const size_t at = static_cast<size_t>(width) * (i * channels + c);
      uint32_t pattern = 0;
      for (int k = 0; k < width; ++k) pattern |= uint32_t{pcm[at + k]} << (8 * k);
      samples[i] = sample_of_pattern(pattern, width);
      set_bits |= static_cast<uint32_t>(samples[i]);
    }
    if (set_bits == 0) continue;  // silent
    const int wasted = find_wasted_bits ? std::min(std::countr_zero(set_bits), 8 * width - 1) : 0;
    out[c].wasted_bits = wasted;
    for (size_t i = 0; i < frames; ++i) {
      // A Welch window, so that the chunk's edges do not look like a step to the autocorrelation.
      const double u = (2.0 * static_cast<double>(i) - static_cast<double>(frames - 1)) / static_cast<double>(frames + 1);
      x[i] = (samples[i] >> wasted) * (1 - u * u);
    }
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
      out[c].coefficients[j] = static_cast<int32_t>(std::clamp(q, -32767.0, 32767.0));
    }
  }
  return out;
}

void encode_lpc(RangeEncoder& encoder, const std::vector<LpcFilter>& filters) {
  for (const auto& filter : filters) {
    if (filter.wasted_bits > 0) {
      encoder.encode(kWastedBitsEscape, 1, 5);
      encoder.encode(static_cast<uint64_t>(filter.wasted_bits), 1, 5);
    }
    int width = 0;
    for (int32_t q : filter.coefficients) {
      if (q != 0) width = std::max(width, static_cast<int>(std::bit_width(static_cast<uint32_t>(std::abs(q)))) + 1);
    }
    encoder.encode(static_cast<uint64_t>(width), 1, 5);
    if (width == 0) continue;
    for (int32_t q : filter.coefficients) encoder.encode(static_cast<uint32_t>(q) & ((1u << width) - 1), 1, width);
  }
}

std::vector<LpcFilter> decode_lpc(RangeDecoder& decoder, int channels, bool allow_wasted_bits) {
  std::vector<LpcFilter> out(channels, LpcFilter{0, std::vector<int32_t>(kLpcOrder, 0)});
  auto field = [&] {
    const uint64_t value = decoder.target(5);
    decoder.consume(value, 1);
    return value;
  };
  for (auto& filter : out) {
    uint64_t width = field();
    if (width == kWastedBitsEscape) {
      const uint64_t wasted = field();
      if (!allow_wasted_bits) throw Error("wasted bits in an archive older than format 10: the archive is corrupt");
      if (wasted == 0 || wasted > kMaxWastedBits) {
        throw Error(std::to_string(wasted) + " wasted bits in a channel: the archive is corrupt");
      }
      filter.wasted_bits = static_cast<int>(wasted);
      width = field();
    }
    if (width > kMaxCoefficientBits) {
      throw Error("an LPC coefficient width of " + std::to_string(width) + " bits: the archive is corrupt");
    }
    if (width == 0) continue;
    for (int32_t& q : filter.coefficients) {
      const uint64_t value = decoder.target(static_cast<int>(width));
      decoder.consume(value, 1);
      const uint32_t sign = 1u << (width - 1);
      q = static_cast<int32_t>((static_cast<uint32_t>(value) ^ sign)) - static_cast<int32_t>(sign);
    }
  }
  return out;
}

PcmChunkModel::PcmChunkModel(const PcmSymbolTokens& tokens, std::vector<LpcFilter> filters, int sample_bytes,
                             bool cross_channel)
    : tokens_(tokens),
      cross_channel_(cross_channel),
      sample_bytes_(sample_bytes) {
  PcmLayout{static_cast<int>(filters.size()), sample_bytes}.check();
  max_sample_ = (1 << (8 * sample_bytes - 1)) - 1;
  min_sample_ = -max_sample_ - 1;
  for (auto& f : filters) {
    if (f.coefficients.size() != static_cast<size_t>(kLpcOrder)) {
      throw Error("a channel needs " + std::to_string(kLpcOrder) + " LPC coefficients");
    }
    if (f.wasted_bits < 0 || f.wasted_bits >= 8 * sample_bytes) {
      throw Error(std::to_string(f.wasted_bits) + " wasted bits leave no bit of a " + std::to_string(sample_bytes) +
                  "-byte sample: the archive is corrupt");
    }
    const double initial_error = std::ldexp(kInitialMeanError * unit_of(sample_bytes), -f.wasted_bits);
    channels_.push_back({std::move(f), std::vector<int32_t>(kLpcOrder, 0), std::vector<double>(kResidualTaps, 0),
                         std::vector<double>(kResidualTaps, 0), initial_error});
  }
  for (int k = 0; k < sample_bytes; ++k) weights_.push_back(kInitialWeights[k + 1 == sample_bytes]);
}

int32_t PcmChunkModel::sample_of(uint32_t pattern) const { return sample_of_pattern(pattern, sample_bytes_); }

double PcmChunkModel::pattern_mass(uint32_t pattern) const {
  const int32_t sample = sample_of(pattern);
  const int wasted = wasted_bits();
  if ((sample & ((int32_t{1} << wasted) - 1)) != 0) return 0;
  const int32_t value = sample >> wasted;
  return value >= lowest_ && value <= highest_ ? value_mass(value, prediction_, scale_) : 0;
}

bool PcmChunkModel::uniform_byte() const {
  return !top_byte() && !wasted_byte() && scale_ > std::ldexp(1.0, 8 * byte_ + kUniformByteScaleBits - wasted_bits());
}

int64_t PcmChunkModel::values_to_visit(int bytes) const {
  return (int64_t{highest_} - lowest_) >> std::max(8 * bytes - wasted_bits(), 0);
}

template <typename Add>
void PcmChunkModel::for_each_value(int bytes, int64_t pattern, bool pattern_order, Add add) const {
  // value v is the sample v * 2^wasted: its lowest bytes are `pattern` if the wasted bits there are zero
  // and v matches the rest.
  const int wasted = wasted_bits(), bits = 8 * bytes;
  int64_t modulus = 1, residue = 0;
  if (wasted >= bits) {
    if (pattern != 0) return;
  } else {
    if ((pattern & ((int64_t{1} << wasted) - 1)) != 0) return;
    modulus = int64_t{1} << (bits - wasted);
    residue = pattern >> wasted;
  }
  auto ascending = [&](int64_t lo, int64_t hi) {
    for (int64_t x = lo + ((residue - lo) % modulus + modulus) % modulus; x <= hi; x += modulus) {
      add(static_cast<int32_t>(x));
    }
  };
  if (pattern_order) {  // only lower bytes are enumerated: never offset binary's single byte
    ascending(std::max(lowest_, 0), highest_);
    ascending(lowest_, std::min(highest_, -1));
  } else {
    ascending(lowest_, highest_);
  }
}

int PcmChunkModel::symbol_of(size_t token) const {
  return token < tokens_.symbol.size() ? tokens_.symbol[token] : -1;
}

void PcmChunkModel::predict_sample() {
  const Channel& channel = channels_[channel_];
  const int wasted = channel.filter.wasted_bits;
  const int32_t min_value = min_sample_ >> wasted, max_value = max_sample_ >> wasted;
  int64_t sum = 0;
  for (int j = 0; j < kLpcOrder; ++j) sum += int64_t{channel.filter.coefficients[j]} * channel.history[j];
  lpc_prediction_ = static_cast<int32_t>(std::clamp<int64_t>(sum >> kLpcPrecision, min_value, max_value));
  double correction = 0;
  for (int j = 0; j < kResidualTaps; ++j) correction += channel.residual_weights[j] * channel.residuals[j];
  if (uses_cross_taps()) {
    for (int j = 0; j < kCrossTaps; ++j) correction += channel.cross_weights[j] * first_channel_residuals_[j];
  }
  refined_prediction_ = lpc_prediction_ + correction;
  prediction_ = static_cast<int32_t>(
      std::clamp(std::floor(refined_prediction_), static_cast<double>(min_value), static_cast<double>(max_value)));
  scale_ = std::max(channel.mean_error * kScalePerMeanError, kMinScale);
  // Beyond the window a value's mass is negligible: not summed.
  const auto window =
      static_cast<int32_t>(std::min(kWindowScales * scale_ + 2, std::ldexp(1.0, 8 * sample_bytes_ - wasted)));
  lowest_ = std::max(min_value, prediction_ - window);
  highest_ = std::min(max_value, prediction_ + window);
}

void PcmChunkModel::symbol_log_probs() {
  if (byte_ == 0) predict_sample();
  std::array<double, 128> mass{};
  const int shift = 8 * byte_;
  if (uniform_byte()) {
    const int wasted_here = wasted_bits() - shift;  // of this byte's bits, from its lowest
    if (wasted_here <= 0) {
      log_probs_.fill(-7 * kLn2);
      return;
    }
    // Uniform over the bytes whose wasted bits are zero.
    for (int s = 0; s < 128; ++s) mass[s] = s % (1 << (wasted_here - 1)) == 0 ? 1 : 0;
  } else if (wasted_byte()) {
    mass[0] = 1;
  } else if (!top_byte()) {
    const int64_t weight = int64_t{1} << wasted_bits();
    for_each_value(byte_, known_bytes_, false, [&](int32_t v) {
      const auto sample = static_cast<uint32_t>(v * weight);
      mass[((sample >> shift) & 0xff) >> 1] += value_mass(v, prediction_, scale_);
    });
  } else {
    for (uint32_t v = 0; v < 256; ++v) mass[v >> 1] += pattern_mass((v << shift) | known_bytes_);
  }
  double total = 0;
  for (double& m : mass) total += (m += kMassFloor);
  for (int s = 0; s < 128; ++s) log_probs_[s] = log_positive(mass[s] / total);
}

void PcmChunkModel::mix(std::span<const float> logits, std::span<float> mixed) {
  symbol_log_probs();
  logits_.assign(logits.begin(), logits.end());
  const auto& w = weights_[byte_];
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
    auto& w = weights_[byte_];
    w[0] += kMixerRate * (logit - expected_logit_);
    w[1] += kMixerRate * (log_probs_[s] - expected_log_prob_);
    model_bits_ = (log_sum_exp_ - logit) / kLn2;
  } else {
    model_bits_ = 0;
  }
  symbol_ = s;
  // The bit's two candidates, given all that is known of the sample so far.
  double zero = 0, one = 0;
  const int shift = 8 * byte_;
  const int64_t with_zero = known_bytes_ | (static_cast<uint32_t>(2 * s) << shift);
  const int64_t with_one = with_zero | (int64_t{1} << shift);
  if (wasted_bits() > shift) {  // the bit is wasted: zero
    zero = 1;
  } else if (!top_byte()) {
    if (values_to_visit(byte_ + 1) > kMaxBitCandidates) {
      bit_p16_ = 1u << (kBitProbabilityBits - 1);
      return;
    }
    for_each_value(byte_ + 1, with_zero, true, [&](int32_t v) { zero += value_mass(v, prediction_, scale_); });
    for_each_value(byte_ + 1, with_one, true, [&](int32_t v) { one += value_mass(v, prediction_, scale_); });
  } else {
    zero = pattern_mass(static_cast<uint32_t>(with_zero));
    one = pattern_mass(static_cast<uint32_t>(with_one));
  }
  bit_p16_ = p16_of_one(zero, one);
}

void PcmChunkModel::observe_bit(int bit) {
  const int byte = 2 * symbol_ + (bit & 1);
  pcm_.push_back(static_cast<uint8_t>(byte));
  known_bytes_ |= static_cast<uint32_t>(byte) << (8 * byte_);
  if (!top_byte()) {
    ++byte_;
    return;
  }
  Channel& channel = channels_[channel_];
  const int32_t value = sample_of(known_bytes_) >> channel.filter.wasted_bits;
  byte_ = 0;
  known_bytes_ = 0;
  channel.mean_error += (std::abs(value - prediction_) - channel.mean_error) / 8;
  const double unit = std::ldexp(unit_of(sample_bytes_), -channel.filter.wasted_bits);
  double energy = kResidualRegulariser * unit * unit;
  for (double r : channel.residuals) energy += r * r;
  if (uses_cross_taps()) {
    for (double r : first_channel_residuals_) energy += r * r;
  }
  const double step = kResidualRate * (value - refined_prediction_) / energy;
  for (int j = 0; j < kResidualTaps; ++j) channel.residual_weights[j] += step * channel.residuals[j];
  if (uses_cross_taps()) {
    for (int j = 0; j < kCrossTaps; ++j) channel.cross_weights[j] += step * first_channel_residuals_[j];
  }
  const double residual = value - lpc_prediction_;
  if (channel_ == 0) push_newest(first_channel_residuals_, residual);
  push_newest(channel.residuals, residual);
  push_newest(channel.history, value);
  channel_ = (channel_ + 1) % channels_.size();
}

}  // namespace lmc
