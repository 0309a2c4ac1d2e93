// Helpers shared by every test binary: where golden files and real data live, temporary directories,
// running the lmc binary, and reading/writing whole files.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lmc::testing {

// A test setting: the environment variable `name` (LMC_GOLDEN_DIR, LMC_SHARED_DATA, LMC_BIN,
// LMC_PYTHON, LMC_SOURCE_DIR, LMC_VERSION) if set, else the value CMake compiled in.
std::string setting(const std::string& name);

// Directory the oracle fixtures write into (LMC_GOLDEN_DIR/<name>); fails the test if unset.
std::filesystem::path golden_dir(const std::string& name);

// ../shared/data if present; std::nullopt otherwise (callers GTEST_SKIP with a message).
std::optional<std::filesystem::path> shared_data();

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the built `lmc` binary (LMC_BIN) with `args` through the shell; `args` is pasted verbatim.
CommandResult run_lmc(const std::string& args);

// Runs any shell command, capturing stdout and stderr.
CommandResult run_command(const std::string& command);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

// `lmc ARGS...` started in the background with `env` added to this process's environment, output to
// files in `log_dir`, and SIGINT, SIGTERM and SIGHUP at their defaults, except those in `ignored`, which
// it starts ignoring (as under nohup).
struct Child {
  pid_t pid = -1;
  std::filesystem::path stdout_path, stderr_path;
};
Child spawn_lmc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const std::filesystem::path& log_dir, const std::string& name, const std::vector<int>& ignored = {});
int wait_child(const Child& child);  // exit code, or 128 + signal

// The names in `dir`, sorted: what a test expects a directory to hold, temporaries and leftovers included.
std::vector<std::string> listing(const std::filesystem::path& dir);

// `n` bytes of a fixed pseudo-random sequence (std::mt19937 from `seed`): any byte value, or only 'a'..'z'.
std::string random_bytes(size_t n, uint32_t seed);
std::string random_letters(size_t n, uint32_t seed);

}  // namespace lmc::testing
