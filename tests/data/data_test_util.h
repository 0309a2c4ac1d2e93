// Helpers shared by the data tests: byte views of strings, the Python shard checker, and a small text corpus.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "test_util.h"

namespace lmc::testing {

// What the data_inputs fixture (tests/oracles/data_inputs.py) wrote: WAVs, FLACs, tars.
inline std::filesystem::path data_inputs() { return golden_dir("data_inputs"); }

// The message of the lmc::Error `body` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::string s = read_file(path);
  return {s.begin(), s.end()};
}

// Runs tests/oracles/data_check_shards.py with the venv python (LMC_PYTHON); `args` pasted verbatim.
inline CommandResult check_shards_with_python(const std::string& args) {
  std::string python = setting("LMC_PYTHON");
  std::string source = setting("LMC_SOURCE_DIR");
  if (python.empty() || source.empty()) {
    ADD_FAILURE() << "LMC_PYTHON / LMC_SOURCE_DIR are not set (configure through scripts/build.sh)";
    return {127, "", ""};
  }
  return run_command(python + " " + source + "/tests/oracles/data_check_shards.py " + args);
}

// Lowercase words, punctuation and a few multi-byte UTF-8 characters; deterministic in `seed`.
inline std::string make_text(size_t bytes, uint32_t seed) {
  static const char* kWords[] = {"the", "model", "compresses", "text", "losslessly", "with", "arithmetic",
                                 "coding,", "and", "bits", "per", "byte.", "caf\xc3\xa9", "\xe2\x82\xac" "5",
                                 "Line\r\n", "\n", "tab\there", "Z"};
  std::string out;
  uint32_t state = seed * 2654435761u + 1;
  while (out.size() < bytes) {
    state = state * 1664525u + 1013904223u;
    out += kWords[(state >> 16) % (sizeof kWords / sizeof *kWords)];
    out += ' ';
  }
  out.resize(bytes);
  return out;
}

}  // namespace lmc::testing
