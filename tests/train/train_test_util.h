// Helpers for the training tests: synthetic text, a tiny recipe to vary with overrides, reading
// metrics.jsonl and TensorBoard logs, and a free port for torchrun's environment.
#pragma once

#include <filesystem>
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

// A TCP port nothing listens on right now.
int free_port();

}  // namespace lmc::testing
