// Compresses HDF5 chunks exactly as HDF5's shuffle + deflate filters would, on background threads. zlib is
// most of `lmc prepare`'s time, and the system HDF5 (serial, not thread-safe) compresses on the calling
// thread only; compressing here and writing the finished chunks with H5Dwrite_chunk spreads that work over
// every core while the writer's thread keeps reading and tokenizing. It knows nothing of HDF5 itself.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace lmc::data {

class ChunkCompressor {
 public:
  // `threads` workers (at least one).
  explicit ChunkCompressor(unsigned threads);
  ~ChunkCompressor();
  ChunkCompressor(const ChunkCompressor&) = delete;
  ChunkCompressor& operator=(const ChunkCompressor&) = delete;

  // The chunk's bytes byte-shuffled for `element_size` > 1 (HDF5's shuffle filter), then zlib-compressed at
  // `level` (HDF5's deflate filter). Errors surface from the future's get().
  std::future<std::vector<uint8_t>> submit(std::vector<uint8_t> chunk, size_t element_size, int level);

 private:
  void work();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<std::vector<uint8_t>()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// The shuffle + deflate of one chunk, on the calling thread (what the workers run).
std::vector<uint8_t> shuffle_and_deflate(const std::vector<uint8_t>& chunk, size_t element_size, int level);

}  // namespace lmc::data
