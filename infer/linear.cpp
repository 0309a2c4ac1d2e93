#include "infer/linear.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>

#include "common/error.h"
#include "infer/row_linear.h"

namespace lmc {

double LoraSpec::scale() const { return use_rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank); }

namespace {
// A parameter holder named "weight", so the adapter's names read "q_proj.lora_A.weight" as in PEFT.
class LoraFactorImpl : public torch::nn::Module {
 public:
  explicit LoraFactorImpl(torch::Tensor w) { weight = register_parameter("weight", std::move(w)); }
  torch::Tensor weight;
};
TORCH_MODULE(LoraFactor);
}  // namespace

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias,
                       const torch::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}, options));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = dense(x, weight, bias);
  if (!lora_ || merged_) return y;
  auto h = lora_->dropout > 0 ? at::dropout(x, lora_->dropout, is_training()) : x;
  return y + dense(dense(h, lora_A), lora_B) * lora_->scale();
}

void LinearImpl::add_lora(const LoraSpec& spec) {
  if (lora_) throw Error("a LoRA adapter is already attached");
  if (spec.rank <= 0) throw Error("LoRA rank must be positive, got " + std::to_string(spec.rank));
  // Plain tensors here: register_parameter makes them trainable (factory functions refuse requires_grad).
  auto options = weight.options();
  auto a = at::empty({spec.rank, in_features()}, options);
  torch::nn::init::kaiming_uniform_(a, std::sqrt(5.0));
  auto b = at::zeros({out_features(), spec.rank}, options);
  lora_A = register_module("lora_A", LoraFactor(a))->weight;
  lora_B = register_module("lora_B", LoraFactor(b))->weight;
  weight.set_requires_grad(false);
  if (bias.defined()) bias.set_requires_grad(false);
  lora_ = spec;
}

torch::Tensor LinearImpl::lora_delta() const {
  return at::matmul(lora_B.to(at::kFloat), lora_A.to(at::kFloat)) * lora_->scale();
}

void LinearImpl::merge_lora() {
  if (!lora_) throw Error("no LoRA adapter to merge");
  if (merged_) return;
  at::NoGradGuard no_grad;
  weight.copy_((weight.to(at::kFloat) + lora_delta()).to(weight.scalar_type()));
  merged_ = true;
}

void LinearImpl::unmerge_lora() {
  if (!lora_) throw Error("no LoRA adapter to unmerge");
  if (!merged_) return;
  at::NoGradGuard no_grad;
  weight.copy_((weight.to(at::kFloat) - lora_delta()).to(weight.scalar_type()));
  merged_ = false;
}

}  // namespace lmc
