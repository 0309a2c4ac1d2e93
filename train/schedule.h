// The learning-rate schedule: linear warmup from zero over `warmup_steps`, then cosine decay to zero at
// `total_steps` (or constant), with the step counting exactly as transformers'
// get_cosine_schedule_with_warmup under LambdaLR does: optimizer step k (1-based) uses factor(k - 1).
#pragma once

#include <cstdint>
#include <string>

namespace lmc::train {

struct LrSchedule {
  std::string name = "cosine";  // "cosine" or "constant"
  double base_lr = 3e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  // The learning rate of optimizer step `step` (1-based).
  double lr_at(int64_t step) const;
};

}  // namespace lmc::train
