// Restoring live tensors (parameters, optimizer moments) from a safetensors checkpoint by name: every
// target must be stored with its exact shape and, when asked, every stored tensor must have a target.
// All mismatches are reported in one lmc::Error and nothing is written unless everything matches, so a
// wrong checkpoint never leaves a half-loaded model.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "checkpoints/safetensors.h"

namespace lmc {

// (stored name, live tensor) pairs; values are converted to each live tensor's dtype and device.
void restore_tensors(const std::vector<std::pair<std::string, at::Tensor>>& targets, const TensorSource& source,
                     bool reject_unexpected);

}  // namespace lmc
