// quantize_reference TOTAL_BITS LOGITS_FILE FREQS_FILE: float32 logits in, uint32 frequencies out, using
// frequencies.cpp compiled without optimisation (see CMakeLists.txt). Exits 1 with a message on error.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/frequencies.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: quantize_reference TOTAL_BITS LOGITS_FILE FREQS_FILE\n");
    return 1;
  }
  try {
    std::ifstream in(argv[2], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> logits(bytes.size() / sizeof(float));
    std::copy(bytes.begin(), bytes.begin() + logits.size() * sizeof(float), reinterpret_cast<char*>(logits.data()));
    lmc::FrequencyTable table;
    table.assign_logits(logits, std::stoi(argv[1]));
    std::ofstream out(argv[3], std::ios::binary);
    out.write(reinterpret_cast<const char*>(table.frequencies().data()),
              static_cast<std::streamsize>(table.frequencies().size() * sizeof(uint32_t)));
    return out ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quantize_reference: %s\n", e.what());
    return 1;
  }
}
