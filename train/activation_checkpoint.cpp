#include "train/activation_checkpoint.h"

#include <mutex>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

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

// Sets autocast for one device type for its lifetime, restoring the previous setting after.
class AutocastSetting {
 public:
  AutocastSetting(at::DeviceType type, bool enabled, at::ScalarType dtype)
      : type_(type), was_enabled_(at::autocast::is_autocast_enabled(type)),
        was_dtype_(at::autocast::get_autocast_dtype(type)) {
    at::autocast::set_autocast_enabled(type, enabled);
    at::autocast::set_autocast_dtype(type, dtype);
  }
  ~AutocastSetting() {
    at::autocast::set_autocast_enabled(type_, was_enabled_);
    at::autocast::set_autocast_dtype(type_, was_dtype_);
  }

 private:
  at::DeviceType type_;
  bool was_enabled_;
  at::ScalarType was_dtype_;
};

class CheckpointBackward : public torch::autograd::Node {
 public:
  CheckpointBackward(CheckpointedFn fn, at::Tensor input, at::Tensor rng_state)
      : fn_(std::move(fn)), input_(std::move(input)), rng_state_(std::move(rng_state)),
        device_type_(input_.device().type()), autocast_(at::autocast::is_autocast_enabled(device_type_)),
        autocast_dtype_(at::autocast::get_autocast_dtype(device_type_)) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    const at::Device device = input_.device();
    at::Tensor input = input_.detach().requires_grad_(input_requires_grad_);
    at::Tensor output;
    {
      const at::Tensor outer_state = generator_state(device);
      set_generator_state(device, rng_state_);
      AutocastSetting autocast(device_type_, autocast_, autocast_dtype_);
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
  at::DeviceType device_type_;
  bool autocast_;
  at::ScalarType autocast_dtype_;
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
