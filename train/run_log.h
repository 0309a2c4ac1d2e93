// What a run reports while it trains: OUTPUT_DIR/metrics.jsonl (one JSON object per logged step, at least
// "step" and "loss_bpb", plus "val_bpb" when evaluated), TensorBoard scalars under OUTPUT_DIR/tensorboard,
// and a one-line progress bar on a terminal (plain lines otherwise). Only rank 0 logs. A resumed run
// first cuts metrics.jsonl back to the checkpoint's step, so the file reads as one uninterrupted run.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "train/tensorboard.h"

namespace lmc::train {

// Peak memory so far in MiB: the CUDA caching allocator's peak on a GPU, the process's peak RSS on CPU.
double peak_memory_mib(const at::Device& device);

class RunLog {
 public:
  // `resume_step` > 0 keeps only metrics.jsonl lines with step <= resume_step. `progress_bar`: redraw one
  // terminal line instead of printing a line per logged step.
  RunLog(const std::filesystem::path& output_dir, int64_t resume_step, int64_t total_steps, bool progress_bar);
  ~RunLog();

  // Appends `record` (which holds "step") to metrics.jsonl, its numbers to TensorBoard, and shows it.
  void record(const nlohmann::ordered_json& record);
  // A message on its own line, below the progress bar.
  void note(const std::string& message);

 private:
  void show(const nlohmann::ordered_json& record);

  std::ofstream metrics_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  int64_t total_steps_;
  bool progress_bar_;
  bool bar_drawn_ = false;
};

}  // namespace lmc::train
