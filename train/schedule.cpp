#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lmc::train {

double LrSchedule::lr_at(int64_t step) const {
  const int64_t current = step - 1;
  double factor;
  if (current < warmup_steps) {
    factor = static_cast<double>(current) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  } else if (name == "constant") {
    factor = 1.0;
  } else {
    const double progress = static_cast<double>(current - warmup_steps) /
                            static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
    factor = std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * progress)));
  }
  return base_lr * factor;
}

}  // namespace lmc::train
