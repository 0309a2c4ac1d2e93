// AdamW exactly as torch.optim.AdamW computes it on CPU (the single-tensor path: decoupled weight decay
// first, lerp for the first moment, addcmul for the second, bias corrections in double), so a loss curve
// matches PyTorch's to rounding and a resumed run continues bit for bit. The state (moments and step) is
// exposed by parameter name so checkpoints store it as plain tensors.
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

  // "<name>.exp_avg" and "<name>.exp_avg_sq" for each parameter (views of the live state).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // Restores moments saved by state() and the step count; throws lmc::Error naming a missing or
  // mis-shaped tensor.
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state, int64_t steps);

 private:
  std::vector<std::pair<std::string, at::Tensor>> parameters_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

}  // namespace lmc::train
