#include "train/activation_checkpoint.h"

#include <optional>

#include <mutex>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include "train/autocast.h"

namespace lmc::train {
namespace {

// The default generator of `device`, whose state dropout draws from.
at::Generator generator_of(const at::Device& device) {
  return device.is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(device);
}

at::Tensor generator_state(const at::Device& device) {
  at::Generator gen = generator_of(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_generator_state(const at::Device& device, const at::Tensor& state) {
  at::Generator gen = generator_of(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

class CheckpointBackward : public torch::autograd::Node {
 public:
  CheckpointBackward(CheckpointedFn fn, at::Tensor input, at::Tensor rng_state)
      : fn_(std::move(fn)), input_(std::move(input)), rng_state_(std::move(rng_state)),
        autocast_(AutocastGuard::current(input_.device().type())) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    const at::Device device = input_.device();
    at::Tensor input = input_.detach().requires_grad_(input_requires_grad_);
    at::Tensor output;
    {
      const at::Tensor outer_state = generator_state(device);
      set_generator_state(device, rng_state_);
      AutocastGuard autocast(device.type(), autocast_);
      at::AutoGradMode grad_mode(true);
      output = fn_(input);
      set_generator_state(device, outer_state);
    }
    torch::autograd::backward({output}, {grads[0]});
    at::Tensor input_grad = input_requires_grad_ ? input.grad() : at::Tensor();
    release_variables();
    return {input_grad};
  }

  void release_variables() override {
    input_.reset();
    rng_state_.reset();
  }

  bool input_requires_grad_ = false;

 private:
  CheckpointedFn fn_;
  at::Tensor input_;
  at::Tensor rng_state_;
  std::optional<at::ScalarType> autocast_;  // the forward's setting, which the rerun repeats
};

}  // namespace

at::Tensor checkpoint(CheckpointedFn fn, const at::Tensor& x) {
  if (!at::GradMode::is_enabled()) return fn(x);
  at::Tensor rng_state = generator_state(x.device());
  at::Tensor output;
  {
    at::NoGradGuard no_grad;
    output = fn(x);
  }
  auto node = c10::make_intrusive<CheckpointBackward>(std::move(fn), x.detach(), std::move(rng_state));
  node->input_requires_grad_ = x.requires_grad();
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::set_history(output, node);
  return output;
}

}  // namespace lmc::train
