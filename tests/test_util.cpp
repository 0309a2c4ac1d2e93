#include "test_util.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

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

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string random_letters(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

Child spawn_lmc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const fs::path& log_dir, const std::string& name, const std::vector<int>& ignored) {
  const std::string bin = setting("LMC_BIN");
  Child child;
  child.stdout_path = log_dir / (name + ".out");
  child.stderr_path = log_dir / (name + ".err");
  std::vector<std::string> argv_strings = {bin};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, child.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, child.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Whatever this process does with the signals (a shell's background job ignores SIGINT), the child
  // starts with the defaults; an ignored signal stays ignored across exec, so `ignored` ones are
  // ignored here for the moment of the spawn.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    if (std::find(ignored.begin(), ignored.end(), signal) == ignored.end()) sigaddset(&defaults, signal);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  std::vector<struct sigaction> previous(ignored.size());
  for (size_t i = 0; i < ignored.size(); ++i) sigaction(ignored[i], &ignore, &previous[i]);
  const int rc = posix_spawn(&child.pid, bin.c_str(), &actions, &attributes, argv.data(), envp.data());
  for (size_t i = 0; i < ignored.size(); ++i) sigaction(ignored[i], &previous[i], nullptr);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + bin);
  return child;
}

int wait_child(const Child& child) {
  int status = 0;
  if (waitpid(child.pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace lmc::testing
