#include "train/run_log.h"

#include <sys/resource.h>

#include <cstdio>
#include <sstream>
#include <vector>

#include <ATen/DeviceAccelerator.h>

#include "common/error.h"

namespace lmc::train {
namespace fs = std::filesystem;

double peak_memory_mib(const at::Device& device) {
  if (device.is_cuda()) {
    auto stats = at::accelerator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 20);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

namespace {

// Keeps the lines of an existing metrics.jsonl up to `last_step`; a torn last line (the run was killed
// while writing it) is dropped.
void truncate_metrics(const fs::path& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    if (j["step"].get<int64_t>() <= last_step) kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << kept;
}

std::string format_seconds(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return text;
}

}  // namespace

RunLog::RunLog(const fs::path& output_dir, int64_t resume_step, int64_t total_steps, bool progress_bar)
    : total_steps_(total_steps), progress_bar_(progress_bar) {
  const fs::path metrics = output_dir / "metrics.jsonl";
  if (resume_step > 0) {
    truncate_metrics(metrics, resume_step);
  }
  metrics_.open(metrics, resume_step > 0 ? std::ios::app : std::ios::trunc);
  if (!metrics_) throw Error("cannot write " + metrics.string());
  tensorboard_ = std::make_unique<TensorBoardWriter>(output_dir / "tensorboard");
}

RunLog::~RunLog() {
  if (bar_drawn_) std::fprintf(stderr, "\n");
}

void RunLog::record(const nlohmann::ordered_json& record) {
  metrics_ << record.dump() << "\n";
  metrics_.flush();
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [key, value] : record.items()) {
    if (key != "step" && value.is_number()) scalars.emplace_back(key, value.get<double>());
  }
  tensorboard_->add_scalars(record["step"].get<int64_t>(), scalars);
  show(record);
}

void RunLog::note(const std::string& message) {
  if (bar_drawn_) std::fprintf(stderr, "\n");  // the bar stays on screen as it last was
  std::fprintf(stderr, "%s\n", message.c_str());
  bar_drawn_ = false;
}

void RunLog::show(const nlohmann::ordered_json& r) {
  const int64_t step = r["step"].get<int64_t>();
  std::ostringstream line;
  line << "step " << step << "/" << total_steps_;
  char buffer[64];
  auto add = [&](const char* key, const char* label, const char* format) {
    if (!r.contains(key) || !r[key].is_number()) return;
    std::snprintf(buffer, sizeof(buffer), format, r[key].get<double>());
    line << "  " << label << " " << buffer;
  };
  add("loss_bpb", "loss", "%.4f bpb");
  add("val_bpb", "val", "%.4f bpb");
  add("val_coded_bpb", "coded", "%.4f bpb");
  add("val_coded_gap", "(vs model", "%+.4f)");
  add("lr", "lr", "%.2e");
  add("tokens_per_second", "speed", "%.0f tok/s");
  if (r.contains("eta_seconds")) line << "  ETA " << format_seconds(r["eta_seconds"].get<double>());
  add("peak_memory_mib", "mem", "%.0f MiB");
  if (!progress_bar_) {
    std::fprintf(stderr, "%s\n", line.str().c_str());
    return;
  }
  constexpr int kWidth = 24;
  const int filled = total_steps_ > 0 ? static_cast<int>(kWidth * std::min<int64_t>(step, total_steps_) / total_steps_) : 0;
  const std::string done(static_cast<size_t>(filled), '#'), left(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r\033[K[%s%s] %s", done.c_str(), left.c_str(), line.str().c_str());
  std::fflush(stderr);
  bar_drawn_ = true;
}

}  // namespace lmc::train
