// Linear: y = x W^T (+ b), named like torch.nn.Linear ("weight", "bias") so HF state-dict names map
// one to one, optionally carrying a LoRA adapter ("lora_A.weight" [r, in], "lora_B.weight" [out, r])
// as PEFT names it: y = x W^T + scale * B(A(dropout(x))). The adapter can be merged into W (computed
// in fp32, then cast) and unmerged. Weights start uninitialized: a loader or init_weights fills them.
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace lmc {

struct LoraSpec {
  int64_t rank = 8;
  double alpha = 32.0;
  double dropout = 0.0;
  bool use_rslora = false;
  // alpha / r, or alpha / sqrt(r) with rank-stabilised LoRA, as PEFT scales.
  double scale() const;
};

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool with_bias, const torch::TensorOptions& options);

  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]

  // Adds lora_A (kaiming-uniform, a = sqrt 5, as PEFT) and lora_B (zeros); the base weight is frozen.
  void add_lora(const LoraSpec& spec);
  bool has_lora() const { return lora_.has_value(); }
  const LoraSpec& lora_spec() const { return *lora_; }
  // W += scale * B A (merge) or W -= scale * B A (unmerge), in fp32. Forward skips the adapter while merged.
  void merge_lora();
  void unmerge_lora();
  bool lora_merged() const { return merged_; }

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
  torch::Tensor lora_A;  // [r, in] or undefined
  torch::Tensor lora_B;  // [out, r] or undefined

 private:
  torch::Tensor lora_delta() const;  // scale * B A in fp32, [out, in]

  std::optional<LoraSpec> lora_;
  bool merged_ = false;
};
TORCH_MODULE(Linear);

}  // namespace lmc
