// Helpers for the training tests: synthetic text, a tiny recipe to vary with overrides, reading
// metrics.jsonl, and lmc child processes that can be killed or given torchrun's environment.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmc::testing {

// `n` bytes of word-like text, the same for the same seed.
std::string synthetic_text(size_t n, unsigned seed);

// A recipe training a 2-layer byte-level model from scratch with LoRA (rank 4, dropout 0.1) on `text_file`,
// 64-byte chunks, batch 2 x accumulation 2, 12 steps, writing into `output_dir`. `extra` is appended.
std::string tiny_recipe(const std::filesystem::path& text_file, const std::filesystem::path& output_dir,
                        const std::string& extra = "");

// Every record of OUTPUT_DIR/metrics.jsonl, in order.
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& output_dir);
// The "loss_bpb" of each record that has one.
std::vector<double> losses_of(const std::vector<nlohmann::json>& records);

// Every scalar under a TensorBoard log directory as tensorboard's own EventAccumulator (Python, LMC_PYTHON)
// reads it: {"tag": [[step, value], ...]}. Fails the test if the reader cannot run.
nlohmann::json tensorboard_scalars(const std::filesystem::path& log_dir);

// `lmc ARGS...` started in the background with `env` added to this process's environment; output goes
// to files in `log_dir`.
struct Child {
  pid_t pid = -1;
  std::filesystem::path stdout_path, stderr_path;
};
Child spawn_lmc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const std::filesystem::path& log_dir, const std::string& name);
int wait_child(const Child& child);  // exit code, or 128 + signal

// A TCP port nothing listens on right now.
int free_port();

}  // namespace lmc::testing
