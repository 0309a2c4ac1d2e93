// TensorBoard scalars written natively, without TensorFlow or protobuf: an events file is a sequence of
// records (u64 length, masked CRC32C of the length, data, masked CRC32C of the data), each holding an
// Event message encoded by hand (wall_time, step, file_version or a Summary of tag/simple_value pairs).
// tensorboard's EventAccumulator reads the result. Scalars only: no histograms, images or graphs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmc::train {

// CRC-32C (Castagnoli), and TensorFlow's rotate-and-add mask over it.
uint32_t crc32c(std::string_view bytes);
uint32_t masked_crc32c(std::string_view bytes);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new events.out.tfevents.<unix time>.<host> file in it, starting with the
  // file_version event. Throws lmc::Error if the file cannot be created.
  explicit TensorBoardWriter(const std::filesystem::path& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event at `step` holding every (tag, value); flushed so a killed run keeps what it logged.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace lmc::train
