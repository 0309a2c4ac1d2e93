// Throughput (MB/s of document bytes) and peak RSS of `lmc prepare` on this machine, for text and audio:
//   bench_prepare --json bench/results/prepare.json [--shared DIR] [--tokenizer PATH] [--synthetic-mb N]
// Cases: the shared text corpus (Gutenberg, legal XML, MedQuAD tars) with the byte tokenizer, the same with
// --tokenizer if given, the LibriSpeech FLACs (decode + audio-as-string), and a synthetic text corpus of N MB
// (default 0 = skipped) to show memory stays bounded. Each case runs in a forked child so its peak RSS is
// its own (wait4's ru_maxrss).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "data/prepare.h"

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string name;
  lmc::data::PrepareOptions options;
};

// Runs prepare in a child; returns {"seconds", "mb", "mb_per_s", "tokens", "peak_rss_mb", "cpu_seconds"}
// or {"error"}.
nlohmann::json run_case(const Case& c) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {{"error", "pipe failed"}};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    nlohmann::json out;
    try {
      auto start = std::chrono::steady_clock::now();
      auto result = lmc::data::prepare(c.options);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double mb = static_cast<double>(result.corpus_bytes) / 1e6;
      uint64_t tokens = 0;
      for (const auto& s : result.splits) tokens += s.tokens;
      out = {{"seconds", seconds}, {"mb", mb}, {"mb_per_s", mb / seconds}, {"tokens", tokens}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    std::string text = out.dump();
    ssize_t ignored = ::write(pipe_fds[1], text.data(), text.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  nlohmann::json out = text.empty() ? nlohmann::json{{"error", "child died"}} : nlohmann::json::parse(text);
  out["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  // CPU seconds (all threads) next to wall time: the machine may be shared, which stretches wall time only.
  out["cpu_seconds"] = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return out;
}

// N MB of text in 16 MB files: words drawn from a small vocabulary by a fixed LCG.
void write_synthetic(const fs::path& dir, uint64_t mb) {
  static const char* kWords[] = {"language ", "model ", "compression ", "arithmetic ", "coding ", "of ", "the ",
                                 "bits\n", "per ", "byte, ", "lossless ", "text. "};
  fs::create_directories(dir);
  uint32_t state = 1;
  const uint64_t file_bytes = uint64_t{16} << 20;
  for (uint64_t written = 0, index = 0; written < mb << 20; written += file_bytes, ++index) {
    std::string text;
    text.reserve(file_bytes + 16);
    while (text.size() < file_bytes) {
      state = state * 1664525u + 1013904223u;
      text += kWords[(state >> 16) % 12];
    }
    text.resize(file_bytes);
    std::ofstream(dir / ("part" + std::to_string(index) + ".txt"), std::ios::binary) << text;
  }
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, tokenizer;
  fs::path shared = fs::path(LMC_SOURCE_DIR) / "../shared/data";
  uint64_t synthetic_mb = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--json") json_path = argv[i + 1];
    else if (flag == "--shared") shared = argv[i + 1];
    else if (flag == "--tokenizer") tokenizer = argv[i + 1];
    else if (flag == "--synthetic-mb") synthetic_mb = std::stoull(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_prepare --json OUT [--shared DIR] [--tokenizer PATH] [--synthetic-mb N]\n");
      return 2;
    }
  }
  if (json_path.empty()) {
    std::fprintf(stderr, "bench_prepare: --json OUT is required\n");
    return 2;
  }
  fs::path scratch = fs::temp_directory_path() / ("lmc-bench-prepare-" + std::to_string(::getpid()));
  fs::create_directories(scratch);

  auto options = [&](std::vector<std::string> inputs, lmc::data::Modality modality, const std::string& out) {
    lmc::data::PrepareOptions o;
    o.inputs = std::move(inputs);
    o.modality = modality;
    o.train_size = lmc::data::SplitSize::of_fraction(0.8);
    o.val_size = lmc::data::SplitSize::of_fraction(0.1);
    o.seed = 1;
    o.out = scratch / out;
    return o;
  };
  std::vector<Case> cases;
  if (fs::is_directory(shared / "text")) {
    cases.push_back({"text_bytes", options({(shared / "text").string()}, lmc::data::Modality::Text, "text")});
    if (!tokenizer.empty()) {
      auto o = options({(shared / "text/general").string()}, lmc::data::Modality::Text, "text_tok");
      o.tokenizer = tokenizer;
      cases.push_back({"text_tokenizer_gutenberg", o});
    }
  }
  if (fs::is_directory(shared / "audio")) {
    cases.push_back({"audio_flac_bytes", options({(shared / "audio").string()}, lmc::data::Modality::Audio, "audio")});
  }
  if (synthetic_mb > 0) {
    write_synthetic(scratch / "synthetic", synthetic_mb);
    cases.push_back({"synthetic_text_" + std::to_string(synthetic_mb) + "mb_bytes",
                     options({(scratch / "synthetic").string()}, lmc::data::Modality::Text, "synthetic_out")});
  }

  nlohmann::json report = {{"cpu", cpu_model()}, {"threads", std::thread::hardware_concurrency()},
                           {"chunk_bytes", 2048}, {"cases", nlohmann::json::array()}};
  for (const auto& c : cases) {
    nlohmann::json result = run_case(c);
    result["name"] = c.name;
    result["tokenizer"] = c.options.tokenizer.empty() ? "bytes" : c.options.tokenizer.string();
    std::printf("%s\n", result.dump().c_str());
    std::fflush(stdout);
    report["cases"].push_back(result);
    fs::remove_all(c.options.out);
  }
  fs::remove_all(scratch);
  fs::create_directories(fs::path(json_path).parent_path());
  std::ofstream(json_path) << report.dump(2) << "\n";
  return 0;
}
