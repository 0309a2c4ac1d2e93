// xz -9e in memory, through liblzma: the bytes the xz tool writes with `xz -9e -T1` (preset 9 extreme,
// CRC64, one thread), fed piece by piece, and a decoder back. lmc writes such a stream into an archive
// when it is smaller than the model's (codec.h, compress_smallest), and the baselines measure with it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace lmc {

class XzEncoder {
 public:
  XzEncoder();
  ~XzEncoder();
  XzEncoder(const XzEncoder&) = delete;
  XzEncoder& operator=(const XzEncoder&) = delete;

  void update(std::string_view bytes);
  // The complete .xz stream; the encoder takes no more input afterwards.
  std::vector<uint8_t> finish();

 private:
  struct State;  // liblzma's stream, whose type cannot be declared ahead
  void run(bool finish);

  std::unique_ptr<State> state_;
  std::vector<uint8_t> out_;
  bool finished_ = false;
};

std::vector<uint8_t> xz_encode(std::string_view bytes);

// Decodes one complete .xz stream, handing the output to `sink` in pieces of at most 1 MiB. Throws
// lmc::Error ("xz stream: corrupt data", "xz stream: truncated", ...).
void xz_decode(std::span<const uint8_t> stream, const std::function<void(std::string_view)>& sink);

}  // namespace lmc
