// Forward throughput of lmc's LLaMA: loads MODEL_DIR, runs full forwards of [batch, length] random ids
// and prints one JSON line {"tokens_per_second": ...}. bench/forward.py drives it next to transformers
// with the same weights, dtype, threads, batch and length.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkpoints/model_dir.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: bench_forward MODEL_DIR DTYPE THREADS BATCH LENGTH REPEATS\n");
    return 2;
  }
  try {
    at::set_num_threads(std::atoi(argv[3]));
    const int64_t batch = std::atoll(argv[4]), length = std::atoll(argv[5]), repeats = std::atoll(argv[6]);
    lmc::ModelLoadOptions options;
    options.dtype = lmc::parse_dtype(argv[2]);
    auto model = lmc::load_llama(argv[1], options);
    c10::InferenceMode guard;
    auto ids = at::randint(model->config().vocab_size, {batch, length}, at::kLong);
    model->forward(ids);  // warm-up: allocator and kernel selection
    auto start = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < repeats; ++r) model->forward(ids);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"tokens_per_second\": %.3f, \"seconds\": %.6f}\n", batch * length * repeats / seconds, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_forward: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
