#include "train/checkpoint_store.h"

#include <algorithm>
#include <charconv>
#include <fstream>

#include <ATen/ATen.h>

#include "checkpoints/atomic_file.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/safetensors_writer.h"
#include "checkpoints/tensor_restore.h"
#include "common/error.h"

namespace lmc::train {
namespace fs = std::filesystem;

namespace {

// step_N -> N; nullopt for other names.
std::optional<int64_t> step_of(const fs::path& path) {
  const std::string name = path.filename().string();
  if (!name.starts_with("step_") || name.size() == 5) return std::nullopt;
  int64_t n = 0;
  const char* digits = name.data() + 5;
  const char* end = name.data() + name.size();
  const auto [stop, error] = std::from_chars(digits, end, n);
  if (error != std::errc() || stop != end || *digits == '-' || *digits == '+') return std::nullopt;
  return n;
}

}  // namespace

CheckpointStore::CheckpointStore(fs::path output_dir, int64_t keep) : dir_(std::move(output_dir)), keep_(keep) {}

void CheckpointStore::save(const TrainModel& model, const AdamW& optimizer, const TrainerState& state) const {
  const fs::path target = dir_ / ("step_" + std::to_string(state.step));
  with_context("writing checkpoint " + target.string(), [&] {
    write_directory_atomically(target, [&](const fs::path& dir) {
      model.save_weights(dir);
      NamedTensors tensors;
      for (const auto& [name, tensor] : optimizer.state()) {
        tensors.emplace_back("optimizer." + name, tensor.detach().to(at::kCPU).contiguous());
      }
      write_safetensors(dir / "trainer_state.safetensors", tensors);
      nlohmann::json j = {{"step", state.step},
                          {"optimizer_steps", optimizer.steps()},
                          {"tokens", state.tokens},
                          {"bytes", state.bytes},
                          {"best_val_bpb", std::isfinite(state.best_val_bpb) ? nlohmann::json(state.best_val_bpb)
                                                                              : nlohmann::json(nullptr)},
                          {"best_step", state.best_step},
                          {"info", state.info}};
      write_file_atomically(dir / "trainer_state.json", j.dump(2) + "\n");
    });
    if (keep_ <= 0) return;
    std::vector<std::pair<int64_t, fs::path>> steps;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (auto n = step_of(entry.path())) steps.emplace_back(*n, entry.path());
    }
    std::sort(steps.begin(), steps.end());
    for (size_t i = 0; i + static_cast<size_t>(keep_) < steps.size(); ++i) fs::remove_all(steps[i].second);
  });
}

void CheckpointStore::save_best(const TrainModel& model, int64_t step, double val_bpb) const {
  const fs::path target = dir_ / "best";
  with_context("writing " + target.string(), [&] {
    write_directory_atomically(target, [&](const fs::path& dir) {
      model.save_weights(dir);
      write_file_atomically(dir / "best.json", nlohmann::json({{"step", step}, {"val_bpb", val_bpb}}).dump(2) + "\n");
    });
  });
}

std::optional<fs::path> CheckpointStore::latest() const {
  std::optional<std::pair<int64_t, fs::path>> best;
  if (!fs::is_directory(dir_)) return std::nullopt;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    auto n = step_of(entry.path());
    if (!n || !fs::exists(entry.path() / "trainer_state.json")) continue;
    if (!best || *n > best->first) best = std::make_pair(*n, entry.path());
  }
  if (!best) return std::nullopt;
  return best->second;
}

void CheckpointStore::remove_partial() const {
  if (fs::is_directory(dir_)) recover_directory_writes(dir_);
}

TrainerState CheckpointStore::load(const fs::path& dir, TrainModel& model, AdamW& optimizer) const {
  return with_context("resuming from " + dir.string(), [&] {
    std::ifstream in(dir / "trainer_state.json");
    auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Error("trainer_state.json is not a JSON object");
    model.load_weights(dir);
    std::vector<std::pair<std::string, at::Tensor>> moments;
    for (const auto& [name, tensor] : optimizer.state()) moments.emplace_back("optimizer." + name, tensor);
    restore_tensors(moments, TensorSource::open(dir / "trainer_state.safetensors"), /*reject_unexpected=*/true);
    optimizer.set_steps(j.at("optimizer_steps").get<int64_t>());
    TrainerState state;
    state.step = j.at("step").get<int64_t>();
    state.tokens = j.at("tokens").get<int64_t>();
    state.bytes = j.at("bytes").get<int64_t>();
    if (j.at("best_val_bpb").is_number()) state.best_val_bpb = j.at("best_val_bpb").get<double>();
    state.best_step = j.at("best_step").get<int64_t>();
    state.info = j.value("info", nlohmann::json::object());
    return state;
  });
}

}  // namespace lmc::train
