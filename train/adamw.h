// AdamW as torch.optim.AdamW(fused=True) computes it: PyTorch's own fused kernel, which reads each
// parameter, its gradient and both moments once per step and allocates nothing (the default per-op path
// makes eight passes and temporaries per tensor). Decoupled weight decay, bias corrections from the step
// count held as a float32, as PyTorch keeps it. The state (moments and step) is exposed by parameter name
// so checkpoints store it as plain tensors and a resumed run continues bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lmc::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> parameters, AdamWOptions options);

  // One update of every parameter that has a gradient, at learning rate `lr`.
  void step(double lr);
  void zero_grad();  // drops the gradients (set to undefined, as set_to_none=True)

  int64_t steps() const { return steps_; }
  const std::vector<std::pair<std::string, at::Tensor>>& parameters() const { return parameters_; }

  // "<name>.exp_avg" and "<name>.exp_avg_sq" for each parameter: the live state itself, so a checkpoint
  // saves these tensors and a resume copies into them (then restores the count with set_steps).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> parameters_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  at::Tensor step_count_;  // float32 scalar on the parameters' device: the fused kernel reads the step from it
  AdamWOptions options_;
  int64_t steps_ = 0;
};

}  // namespace lmc::train
