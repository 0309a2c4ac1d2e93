// Activation checkpointing for LibTorch, which has no torch.utils.checkpoint: checkpoint(fn, x) runs fn
// without keeping the activations inside it and, in backward, reruns fn on the saved input and
// back-propagates through the rerun (PyTorch's "reentrant" variant). The rerun sees the same random
// state (dropout masks match) and the same autocast setting, so gradients equal those of a plain
// forward. fn's parameters receive their gradients during that nested backward.
#pragma once

#include <functional>

#include <ATen/core/Tensor.h>

namespace lmc::train {

using CheckpointedFn = std::function<at::Tensor(const at::Tensor&)>;

// fn(x), keeping only x for backward. Without grad mode it is just fn(x).
at::Tensor checkpoint(CheckpointedFn fn, const at::Tensor& x);

}  // namespace lmc::train
