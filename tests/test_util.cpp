#include "test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace lmc::testing {
namespace fs = std::filesystem;

std::string setting(const std::string& name) {
  if (const char* value = std::getenv(name.c_str())) return value;
  if (name == "LMC_GOLDEN_DIR") return LMC_DEFAULT_GOLDEN_DIR;
  if (name == "LMC_SHARED_DATA") return LMC_DEFAULT_SHARED_DATA;
  if (name == "LMC_BIN") return LMC_DEFAULT_BIN;
  if (name == "LMC_PYTHON") return LMC_DEFAULT_PYTHON;
  if (name == "LMC_SOURCE_DIR") return LMC_DEFAULT_SOURCE_DIR;
  if (name == "LMC_VERSION") return LMC_DEFAULT_VERSION;  // the project's, which `lmc --version` prints
  ADD_FAILURE() << "unknown test setting " << name;
  return "";
}

fs::path golden_dir(const std::string& name) {
  std::string root = setting("LMC_GOLDEN_DIR");
  if (root.empty()) {
    ADD_FAILURE() << "LMC_GOLDEN_DIR is not set";
    return {};
  }
  return fs::path(root) / name;
}

std::optional<fs::path> shared_data() {
  std::string root = setting("LMC_SHARED_DATA");
  if (root.empty() || !fs::is_directory(root)) return std::nullopt;
  return fs::path(root);
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = fs::temp_directory_path() / ("lmc-test-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(rd()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

CommandResult run_command(const std::string& command) {
  TempDir scratch;
  fs::path out = scratch / "stdout";
  fs::path err = scratch / "stderr";
  std::string full = "( " + command + " ) >" + out.string() + " 2>" + err.string() + " </dev/null";
  int status = std::system(full.c_str());
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, read_file(out), read_file(err)};
}

CommandResult run_lmc(const std::string& args) {
  return run_command(setting("LMC_BIN") + " " + args);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace lmc::testing
