// Rotary position embeddings as Hugging Face's Llama applies them: the half-split layout
// (rotate_half), inverse frequencies theta^(-2i/d) with optional linear or llama3 scaling, angles
// computed in fp32 for the positions asked, then cast to the activations' dtype.
#pragma once

#include <torch/types.h>

#include "infer/llama_config.h"

namespace lmc {

// inv_freq[i] = theta^(-2i/d) for i < d/2, then scaled per config.rope_scaling. fp32, shape [d/2].
torch::Tensor rope_inverse_frequencies(const LlamaConfig& config);

struct RopeAngles {
  torch::Tensor cos;  // [..., T, D] in the activations' dtype
  torch::Tensor sin;  // [..., T, D]
};

// positions: int64 of any shape P; returns cos/sin of shape [P..., head_dim].
RopeAngles rope_angles(const torch::Tensor& inv_freq, const torch::Tensor& positions, torch::ScalarType dtype);

// x: [B, H, T, D]; cos/sin broadcastable to it ([T, D] or [B, 1, T, D]).
torch::Tensor apply_rope(const torch::Tensor& x, const RopeAngles& angles);

}  // namespace lmc
