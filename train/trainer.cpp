#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include "checkpoints/atomic_file.h"
#include "checkpoints/model_dir.h"
#include "common/error.h"
#include "data/shuffle.h"
#include "infer/scoring.h"
#include "train/adamw.h"
#include "train/autocast.h"
#include "train/checkpoint_store.h"
#include "train/distributed.h"
#include "train/model_setup.h"
#include "train/objective.h"
#include "train/run_log.h"
#include "train/schedule.h"

namespace lmc::train {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// On a GPU each rank uses the device of its LOCAL_RANK unless the recipe names one.
at::Device training_device(const Recipe& recipe, const DistributedEnv& env) {
  at::Device device = parse_device(recipe.device);
  if (device.is_cuda() && !device.has_index()) device = at::Device(at::kCUDA, static_cast<int8_t>(env.local_rank));
  return device;
}

class Trainer {
 public:
  Trainer(const Recipe& recipe, const TrainOptions& options)
      : recipe_(recipe), options_(options), env_(read_distributed_env()),
        device_(training_device(recipe, env_)), group_(env_, device_),
        store_(recipe.output_dir, recipe.keep_checkpoints) {}

  TrainSummary run();

 private:
  std::optional<fs::path> checkpoint_to_resume();
  void check_resumable(const nlohmann::json& saved) const;
  nlohmann::json layout_info() const;
  ForwardOptions forward_options() const;
  double validate(nlohmann::ordered_json& record);
  // One optimizer step; fills the record's loss, token and gradient figures.
  void train_step(int64_t step, nlohmann::ordered_json& record);

  const Recipe& recipe_;
  const TrainOptions& options_;
  DistributedEnv env_;
  at::Device device_;
  ProcessGroup group_;
  CheckpointStore store_;
  TrainModel model_;
  std::unique_ptr<TrainData> data_;
  std::unique_ptr<AdamW> optimizer_;
  LrSchedule schedule_;
  TrainerState state_;
  TokenId bos_ = 0;
  int64_t total_steps_ = 0;
};

std::optional<fs::path> Trainer::checkpoint_to_resume() {
  auto latest = store_.latest();
  if (!options_.resume && latest) {
    throw Error("output_dir " + recipe_.output_dir + " already holds checkpoints (" + latest->filename().string() +
                "); pass --resume to continue that run, or choose another output_dir");
  }
  return options_.resume ? latest : std::nullopt;
}

nlohmann::json Trainer::layout_info() const {
  return {{"chunks_per_step", recipe_.batch_size * recipe_.gradient_accumulation_steps * env_.world_size},
          {"batch_size", recipe_.batch_size},
          {"gradient_accumulation_steps", recipe_.gradient_accumulation_steps},
          {"world_size", env_.world_size},
          {"seed", recipe_.seed},
          {"shuffle", recipe_.data.shuffle},
          {"total_steps", total_steps_},
          {"steps_per_epoch", data_->steps_per_epoch()}};
}

void Trainer::check_resumable(const nlohmann::json& saved) const {
  const nlohmann::json now = layout_info();
  for (const char* key : {"chunks_per_step", "seed", "shuffle", "steps_per_epoch"}) {
    if (saved.value(key, nlohmann::json()) != now[key]) {
      throw Error(std::string("cannot resume: '") + key + "' was " + saved.value(key, nlohmann::json()).dump() +
                  " and is now " + now[key].dump() + "; the run would continue on other data");
    }
  }
}

ForwardOptions Trainer::forward_options() const {
  ForwardOptions forward;
  forward.checkpoint_layers = recipe_.activation_checkpointing;
  if (recipe_.dtype == "bf16") forward.autocast = at::kBFloat16;
  return forward;
}

double Trainer::validate(nlohmann::ordered_json& record) {
  std::vector<Chunk> chunks = data_->validation_share(recipe_.data.eval_chunks);
  model_.model->eval();
  double bits = 0, bytes = 0;
  {
    at::NoGradGuard no_grad;
    for (size_t begin = 0; begin < chunks.size(); begin += static_cast<size_t>(recipe_.batch_size)) {
      const size_t end = std::min(chunks.size(), begin + static_cast<size_t>(recipe_.batch_size));
      std::vector<std::vector<TokenId>> rows;
      std::vector<int64_t> row_bytes;
      for (size_t i = begin; i < end; ++i) {
        rows.push_back(chunks[i].tokens);
        row_bytes.push_back(chunks[i].bytes);
      }
      TokenBatch batch = make_token_batch(rows, row_bytes, bos_, device_);
      bits += batch_bits(model_.model, batch, forward_options()).item<double>();
      bytes += static_cast<double>(batch.bytes);
    }
  }
  bits = group_.all_reduce_sum(bits);
  bytes = group_.all_reduce_sum(bytes);
  const double val_bpb = bits / bytes;
  record["val_bpb"] = val_bpb;
  if (options_.validation_hook && group_.is_main()) {
    at::NoGradGuard no_grad;
    // As the saved weights would run: a full fine-tune (saved in fp32) in fp32; adapters over a bf16 base,
    // which only runs under autocast, with the run's autocast.
    const bool bf16_base = recipe_.lora && recipe_.dtype == "bf16";
    AutocastGuard autocast(device_.type(), bf16_base ? forward_options().autocast : std::nullopt);
    for (const auto& [key, value] : options_.validation_hook(model_.model, *model_.tokenizer, chunks)) {
      record[key] = value;
    }
  }
  model_.model->train();
  return val_bpb;
}

void Trainer::train_step(int64_t step, nlohmann::ordered_json& record) {
  // The generator is a function of (seed, step, rank): dropout masks survive a resume unchanged.
  at::manual_seed(data::mix_seed(data::mix_seed(static_cast<uint64_t>(recipe_.seed), static_cast<uint64_t>(step)),
                                 static_cast<uint64_t>(env_.rank)));
  std::vector<TokenBatch> batches;
  double local_bytes = 0, local_tokens = 0;
  for (int64_t micro = 0; micro < recipe_.gradient_accumulation_steps; ++micro) {
    std::vector<std::vector<TokenId>> rows;
    std::vector<int64_t> bytes;
    for (auto& chunk : data_->micro_batch(step - 1, micro)) {
      rows.push_back(std::move(chunk.tokens));
      bytes.push_back(chunk.bytes);
    }
    batches.push_back(make_token_batch(rows, bytes, bos_, device_));
    local_bytes += static_cast<double>(batches.back().bytes);
    local_tokens += static_cast<double>(batches.back().tokens);
  }
  // The loss is bits per byte of the whole step (all micro-batches, all ranks), so every micro-batch's
  // bits are divided by the step's total bytes and the ranks' gradients simply add up.
  const double step_bytes = group_.all_reduce_sum(local_bytes);
  std::vector<at::Tensor> micro_bits;  // read back once, after the optimizer step
  for (const auto& batch : batches) {
    at::Tensor bits = batch_bits(model_.model, batch, forward_options());
    (bits / step_bytes).backward();
    micro_bits.push_back(bits.detach());
  }
  std::vector<at::Tensor> grads;
  for (const auto& [name, p] : optimizer_->parameters()) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  group_.all_reduce_sum(grads);
  // One reduction and one read-back for all gradients: on a GPU every item() waits for the device.
  const double grad_norm = at::stack(at::_foreach_norm(grads, 2)).norm().item<double>();
  const double lr = schedule_.lr_at(step);
  optimizer_->step(lr);
  optimizer_->zero_grad();

  const double step_bits = group_.all_reduce_sum(at::stack(micro_bits).to(at::kDouble).sum().item<double>());
  const double step_tokens = group_.all_reduce_sum(local_tokens);
  state_.step = step;
  state_.tokens += static_cast<int64_t>(step_tokens);
  state_.bytes += static_cast<int64_t>(step_bytes);
  record["loss_bpb"] = step_bits / step_bytes;
  record["lr"] = lr;
  record["grad_norm"] = grad_norm;
  record["tokens"] = state_.tokens;
  record["step_tokens"] = static_cast<int64_t>(step_tokens);
}

TrainSummary Trainer::run() {
  const auto start = Clock::now();
  if (recipe_.threads > 0) at::set_num_threads(static_cast<int>(recipe_.threads));
  if (group_.is_main()) fs::create_directories(recipe_.output_dir);
  group_.barrier();
  const auto resume_from = checkpoint_to_resume();
  if (group_.is_main()) store_.remove_partial();

  model_ = build_train_model(recipe_, device_);
  bos_ = start_token(model_.model->config(), *model_.tokenizer);
  const fs::path shards = resolve_shards(recipe_, *model_.tokenizer, group_, resume_from.has_value());
  BatchLayout layout{recipe_.batch_size, recipe_.gradient_accumulation_steps, env_.rank, env_.world_size,
                     recipe_.data.shuffle ? std::optional<uint64_t>(recipe_.seed) : std::nullopt};
  data_ = std::make_unique<TrainData>(shards, *model_.tokenizer, layout);
  total_steps_ = recipe_.max_steps > 0 ? recipe_.max_steps : recipe_.epochs * data_->steps_per_epoch();
  const auto& o = recipe_.optimizer;
  optimizer_ = std::make_unique<AdamW>(trainable_parameters(model_.model),
                                       AdamWOptions{o.beta1, o.beta2, o.eps, o.weight_decay});
  schedule_ = LrSchedule{recipe_.scheduler.name, o.lr, recipe_.scheduler.warmup_steps, total_steps_};
  if (resume_from) {
    state_ = store_.load(*resume_from, model_, *optimizer_);
    check_resumable(state_.info);
  }
  state_.info = layout_info();

  TrainSummary summary;
  summary.first_step = state_.step + 1;
  summary.initial_val_bpb = std::nan("");
  std::unique_ptr<RunLog> log;
  if (group_.is_main()) {
    write_file_atomically(fs::path(recipe_.output_dir) / "recipe.json", recipe_.to_json().dump(2) + "\n");
    log = std::make_unique<RunLog>(recipe_.output_dir, state_.step, total_steps_,
                                   options_.progress_bar.value_or(::isatty(STDERR_FILENO) != 0));
    if (resume_from) log->note("resuming from " + resume_from->string() + " at step " + std::to_string(state_.step));
  }
  if (state_.step == 0) {
    nlohmann::ordered_json record = {{"step", 0}};
    summary.initial_val_bpb = validate(record);
    if (log) log->record(record);
  }

  double smoothed_seconds = 0;
  double val_bpb = std::nan("");
  for (int64_t step = state_.step + 1; step <= total_steps_; ++step) {
    const auto step_start = Clock::now();
    nlohmann::ordered_json record = {{"step", step}};
    train_step(step, record);
    const bool last = step == total_steps_;
    const bool evaluate = last || (recipe_.eval_every > 0 && step % recipe_.eval_every == 0);
    if (evaluate) {
      val_bpb = validate(record);
      if (val_bpb < state_.best_val_bpb) {
        state_.best_val_bpb = val_bpb;
        state_.best_step = step;
        if (group_.is_main()) store_.save_best(model_, step, val_bpb);
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    smoothed_seconds = smoothed_seconds == 0 ? seconds : 0.9 * smoothed_seconds + 0.1 * seconds;
    record["tokens_per_second"] = record["step_tokens"].get<double>() / seconds;
    record["eta_seconds"] = smoothed_seconds * static_cast<double>(total_steps_ - step);
    record["peak_memory_mib"] = peak_memory_mib(device_);
    if (log && (last || evaluate || step % recipe_.log_every == 0)) log->record(record);
    if (group_.is_main() && (last || (recipe_.checkpoint_every > 0 && step % recipe_.checkpoint_every == 0))) {
      const int64_t per_epoch = data_->steps_per_epoch();
      state_.info["data_position"] = {{"epoch", step / per_epoch},
                                      {"chunks_done_in_epoch", step % per_epoch * state_.info["chunks_per_step"].get<int64_t>()}};
      store_.save(model_, *optimizer_, state_);
    }
  }
  group_.barrier();
  summary.steps = state_.step;
  summary.final_val_bpb = val_bpb;
  summary.best_val_bpb = state_.best_val_bpb;
  summary.best_step = state_.best_step;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (log) {
    char line[256];
    std::snprintf(line, sizeof(line), "done: %lld steps in %.1f s; best val %.4f bpb at step %lld; checkpoints in %s",
                  static_cast<long long>(summary.steps), summary.seconds, summary.best_val_bpb,
                  static_cast<long long>(summary.best_step), recipe_.output_dir.c_str());
    log->note(line);
  }
  return summary;
}

}  // namespace

TrainSummary run_training(const Recipe& recipe, const TrainOptions& options) {
  try {
    Trainer trainer(recipe, options);
    return trainer.run();
  } catch (const c10::Error& e) {
    // LibTorch's own errors carry a C++ backtrace: keep the one line a user can act on.
    throw Error(e.what_without_backtrace());
  }
}

}  // namespace lmc::train
