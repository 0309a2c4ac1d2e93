#include "codec/xz_stream.h"

#include <lzma.h>

#include <string>

#include "common/error.h"

namespace lmc {
namespace {

constexpr size_t kOutputStep = size_t{1} << 20;

std::string lzma_problem(lzma_ret status) {
  switch (status) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "needs more memory than allowed";
    case LZMA_FORMAT_ERROR: return "not an xz stream";
    case LZMA_OPTIONS_ERROR: return "unsupported options";
    case LZMA_DATA_ERROR: return "corrupt data";
    case LZMA_BUF_ERROR: return "truncated";
    default: return "liblzma error " + std::to_string(static_cast<int>(status));
  }
}

}  // namespace

struct XzEncoder::State {
  lzma_stream stream = LZMA_STREAM_INIT;
};

XzEncoder::XzEncoder() : state_(std::make_unique<State>()) {
  // The streaming encoder, as the xz tool uses: the one-call buffer encoder would also record the block's
  // sizes in its header, 4 bytes the tool's output does not have.
  const lzma_ret status = lzma_easy_encoder(&state_->stream, 9 | LZMA_PRESET_EXTREME, LZMA_CHECK_CRC64);
  if (status != LZMA_OK) throw Error("xz: encoder setup failed: " + lzma_problem(status));
}

XzEncoder::~XzEncoder() { lzma_end(&state_->stream); }

void XzEncoder::run(bool finish) {
  const lzma_action action = finish ? LZMA_FINISH : LZMA_RUN;
  for (;;) {
    const size_t used = out_.size();
    out_.resize(used + kOutputStep);
    state_->stream.next_out = out_.data() + used;
    state_->stream.avail_out = kOutputStep;
    const lzma_ret status = lzma_code(&state_->stream, action);
    out_.resize(out_.size() - state_->stream.avail_out);
    if (status == LZMA_STREAM_END) return;
    if (status != LZMA_OK) throw Error("xz: compression failed: " + lzma_problem(status));
    if (!finish && state_->stream.avail_in == 0) return;
  }
}

void XzEncoder::update(std::string_view bytes) {
  if (finished_) throw Error("xz: input after the end of the stream");
  if (bytes.empty()) return;  // liblzma reports a call without progress as an error
  state_->stream.next_in = reinterpret_cast<const uint8_t*>(bytes.data());
  state_->stream.avail_in = bytes.size();
  run(false);
}

std::vector<uint8_t> XzEncoder::finish() {
  if (finished_) throw Error("xz: stream finished twice");
  state_->stream.next_in = nullptr;
  state_->stream.avail_in = 0;
  run(true);
  finished_ = true;
  return std::move(out_);
}

std::vector<uint8_t> xz_encode(std::string_view bytes) {
  XzEncoder encoder;
  encoder.update(bytes);
  return encoder.finish();
}

void xz_decode(std::span<const uint8_t> stream, const std::function<void(std::string_view)>& sink) {
  lzma_stream z = LZMA_STREAM_INIT;
  // What xz -9e's streams need (65 MiB): a corrupt header cannot make the decoder ask for more.
  const uint64_t memory_limit = lzma_easy_decoder_memusage(9 | LZMA_PRESET_EXTREME);
  if (lzma_stream_decoder(&z, memory_limit, 0) != LZMA_OK) throw Error("xz: decoder setup failed");
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&z, lzma_end);
  std::vector<uint8_t> out(kOutputStep);
  z.next_in = stream.data();
  z.avail_in = stream.size();
  for (;;) {
    z.next_out = out.data();
    z.avail_out = out.size();
    // LZMA_FINISH: all the input is there, so a stream that stops short is an error, not a wait for more.
    const lzma_ret status = lzma_code(&z, LZMA_FINISH);
    const size_t produced = out.size() - z.avail_out;
    if (produced > 0) sink(std::string_view(reinterpret_cast<const char*>(out.data()), produced));
    if (status == LZMA_STREAM_END) break;
    if (status != LZMA_OK) throw Error("xz stream: " + lzma_problem(status));
  }
  if (z.avail_in != 0) throw Error("xz stream: data after its end");
}

}  // namespace lmc
