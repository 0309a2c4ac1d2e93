// A fixed pool of workers draining a FIFO of compression jobs. HDF5's shuffle filter stores byte j of every
// element together: out[j * n + i] = in[i * size + j]; its deflate filter is zlib's compress2.
#include "data/chunk_compressor.h"

#include <zlib.h>

#include "common/error.h"

namespace lmc::data {

std::vector<uint8_t> shuffle_and_deflate(const std::vector<uint8_t>& chunk, size_t element_size, int level) {
  const std::vector<uint8_t>* source = &chunk;
  std::vector<uint8_t> shuffled;
  if (element_size > 1) {
    size_t n = chunk.size() / element_size;
    shuffled.resize(chunk.size());
    for (size_t j = 0; j < element_size; ++j) {
      for (size_t i = 0; i < n; ++i) shuffled[j * n + i] = chunk[i * element_size + j];
    }
    std::copy(chunk.begin() + static_cast<std::ptrdiff_t>(n * element_size), chunk.end(),
              shuffled.begin() + static_cast<std::ptrdiff_t>(n * element_size));
    source = &shuffled;
  }
  uLongf size = compressBound(static_cast<uLong>(source->size()));
  std::vector<uint8_t> out(size);
  int rc = compress2(out.data(), &size, source->data(), static_cast<uLong>(source->size()), level);
  if (rc != Z_OK) throw Error("zlib compress2 failed with code " + std::to_string(rc));
  out.resize(size);
  return out;
}

ChunkCompressor::ChunkCompressor(unsigned threads) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i) workers_.emplace_back([this] { work(); });
}

ChunkCompressor::~ChunkCompressor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

std::future<std::vector<uint8_t>> ChunkCompressor::submit(std::vector<uint8_t> chunk, size_t element_size,
                                                          int level) {
  std::packaged_task<std::vector<uint8_t>()> task(
      [chunk = std::move(chunk), element_size, level] { return shuffle_and_deflate(chunk, element_size, level); });
  auto result = task.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return result;
}

void ChunkCompressor::work() {
  for (;;) {
    std::packaged_task<std::vector<uint8_t>()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace lmc::data
