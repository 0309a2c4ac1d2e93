// libFuzzer entry point: archive parsing plus decoding of whatever parses (codec_fuzz_input.h).
// Build with clang (tests/codec/CMakeLists.txt), then e.g. `fuzz_codec -max_total_time=60 corpus/`.
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const lmc::testing::StandInModel model;
  lmc::testing::fuzz_codec_input(model, {data, size});
  return 0;
}
