#include "checkpoints/tensor_restore.h"

#include <set>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "common/error.h"

namespace lmc {
namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

constexpr size_t kProblemsShown = 10;

}  // namespace

void restore_tensors(const std::vector<std::pair<std::string, at::Tensor>>& targets, const TensorSource& source,
                     bool reject_unexpected) {
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& [name, target] : targets) {
    expected.insert(name);
    if (!source.contains(name)) {
      problems.push_back("missing tensor '" + name + "'");
      continue;
    }
    const auto& stored_shape = source.info(name).shape;
    if (at::IntArrayRef(stored_shape) != target.sizes()) {
      problems.push_back("tensor '" + name + "' has shape " + shape_text(stored_shape) + ", expected " +
                         shape_text(target.sizes()));
    }
  }
  if (reject_unexpected) {
    for (const auto& name : source.names()) {
      if (!expected.count(name)) problems.push_back("unexpected tensor '" + name + "'");
    }
  }
  if (!problems.empty()) {
    std::string text;
    for (size_t i = 0; i < problems.size() && i < kProblemsShown; ++i) text += (i ? "; " : "") + problems[i];
    if (problems.size() > kProblemsShown) text += "; ... (" + std::to_string(problems.size()) + " problems)";
    throw Error(text);
  }
  at::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    at::Tensor live = target;
    live.copy_(source.tensor(name));
  }
}

}  // namespace lmc
