// Shared by the adapter, export and llama2.c tests: the golden files of tests/oracles/peft_adapters.py,
// loading lmc models for comparison, one-line CLI errors, and running Python reference snippets.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <ATen/ATen.h>

#include "checkpoints/model_dir.h"
#include "checkpoints/peft_adapter.h"
#include "checkpoints/safetensors.h"
#include "test_util.h"

namespace lmc::testing {

inline std::filesystem::path adapters_golden() { return golden_dir("peft_adapters"); }
inline std::filesystem::path adapter_base() { return adapters_golden() / "base"; }

inline at::Tensor golden_tensor(const std::filesystem::path& file, const std::string& name) {
  return SafetensorsFile::open(file).tensor(name).clone();
}

// fp32 logits [B, T, V] of the model in `model_dir`, with the adapter in `adapter_dir` applied unmerged
// unless it is empty.
inline at::Tensor lmc_logits(const std::filesystem::path& model_dir, const std::filesystem::path& adapter_dir,
                             const at::Tensor& input_ids) {
  LlamaForCausalLM model = load_llama(model_dir);
  if (!adapter_dir.empty()) apply_peft_adapter(model, adapter_dir);
  at::NoGradGuard no_grad;
  return model->forward(input_ids).to(at::kFloat);
}

// The command failed with exactly one line on stderr, "lmc COMMAND: error: ...", containing `needle`.
inline void expect_one_line_error(const CommandResult& r, const std::string& command, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("lmc " + command + ": error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
}

// Runs `script` (Python source) with the oracle venv's interpreter and `args`; fails the test on error.
inline CommandResult run_python(const TempDir& dir, const std::string& script, const std::string& args) {
  write_file(dir / "check.py", script);
  CommandResult r = run_command(setting("LMC_PYTHON") + " " + (dir / "check.py").string() + " " + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r;
}

}  // namespace lmc::testing
