#include "infer/rope.h"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>

namespace lmc {

torch::Tensor rope_inverse_frequencies(const LlamaConfig& config) {
  // HF computes theta ** (arange(0, d, 2, int64).float() / d) in fp32; so do we, then invert.
  auto exponents = at::arange(0, config.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<float>(config.head_dim);
  auto inv_freq = 1.0 / at::pow(at::scalar_tensor(config.rope_theta, at::kFloat), exponents);
  const RopeScaling& s = config.rope_scaling;
  if (s.rope_type == "linear") return inv_freq / s.factor;
  if (s.rope_type != "llama3") return inv_freq;

  // llama3: long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
  const double low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  auto wavelen = 2 * M_PI / inv_freq;
  auto scaled = at::where(wavelen > low_wavelen, inv_freq / s.factor, inv_freq);
  auto smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                (s.high_freq_factor - s.low_freq_factor);
  auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  auto is_medium = at::logical_not(wavelen < high_wavelen) & at::logical_not(wavelen > low_wavelen);
  return at::where(is_medium, smoothed, scaled);
}

RopeAngles rope_angles(const torch::Tensor& inv_freq, const torch::Tensor& positions, torch::ScalarType dtype) {
  auto freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq.to(positions.device());  // [P..., D/2]
  auto emb = at::cat({freqs, freqs}, -1);                                                // [P..., D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}
}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const RopeAngles& angles) {
  return x * angles.cos + rotate_half(x) * angles.sin;
}

}  // namespace lmc
