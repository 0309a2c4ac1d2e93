#include "train/distributed.h"

#include <cstdlib>
#include <string_view>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LMC_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"

namespace lmc::train {
namespace {

constexpr int64_t kBucketBytes = int64_t{64} << 20;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int env_int(const char* name, int fallback, int low, int high) {
  auto text = env(name);
  if (!text) return fallback;
  char* end = nullptr;
  long value = std::strtol(text->c_str(), &end, 10);
  if (*end != '\0' || value < low || value > high) {
    throw Error(std::string("environment variable ") + name + "='" + *text + "' is not an integer in [" +
                std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return static_cast<int>(value);
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.starts_with("127."); }

}  // namespace

DistributedEnv read_distributed_env() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  if (e.world_size == 1) return e;
  if (!env("RANK")) throw Error("WORLD_SIZE is " + std::to_string(e.world_size) + " but RANK is not set");
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, e.world_size - 1);
  auto addr = env("MASTER_ADDR");
  if (!addr) throw Error("WORLD_SIZE is " + std::to_string(e.world_size) + " but MASTER_ADDR is not set");
  e.master_addr = *addr;
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return e;
}

struct ProcessGroup::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  at::Device device = at::kCPU;  // where the backend expects its tensors
};

ProcessGroup::ProcessGroup(const DistributedEnv& env_in, const at::Device& device) : env_(env_in) {
  if (env_.world_size == 1) return;
  group_ = std::make_unique<Group>();
  group_->device = device.is_cuda() ? device : at::Device(at::kCPU);
  with_context("joining the process group at " + env_.master_addr + ":" + std::to_string(env_.master_port) +
                   " as rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size),
               [&] {
                 c10d::TCPStoreOptions options;
                 options.port = static_cast<uint16_t>(env_.master_port);
                 options.isServer = env_.rank == 0;
                 options.numWorkers = env_.world_size;
                 group_->store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, options);
                 if (device.is_cuda()) {
#ifdef LMC_WITH_NCCL
                   auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
                   group_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, env_.rank,
                                                                                 env_.world_size, nccl_options);
                   return;
#else
                   throw Error("this lmc was built without NCCL; multi-GPU training needs it (see docs/training.md)");
#endif
                 }
                 auto gloo_options = c10d::ProcessGroupGloo::Options::create();
                 if (auto interface = env("GLOO_SOCKET_IFNAME")) {
                   gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*interface));
                 } else if (is_loopback(env_.master_addr)) {
                   gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
                 } else {
                   gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
                 }
                 group_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, env_.rank,
                                                                               env_.world_size, gloo_options);
               });
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(const std::vector<at::Tensor>& tensors) {
  if (!group_) return;
  at::NoGradGuard no_grad;
  size_t begin = 0;
  while (begin < tensors.size()) {
    // A bucket: consecutive tensors of one dtype, up to kBucketBytes (at least one tensor).
    size_t end = begin;
    int64_t bytes = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == tensors[begin].scalar_type() &&
           (end == begin || bytes + tensors[end].nbytes() <= kBucketBytes)) {
      bytes += static_cast<int64_t>(tensors[end].nbytes());
      ++end;
    }
    std::vector<at::Tensor> flat;
    for (size_t i = begin; i < end; ++i) flat.push_back(tensors[i].reshape({-1}));
    std::vector<at::Tensor> buffer = {at::cat(flat)};
    group_->backend->allreduce(buffer)->wait();
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = tensors[i].numel();
      tensors[i].copy_(buffer[0].narrow(0, offset, n).view_as(tensors[i]));
      offset += n;
    }
    begin = end;
  }
}

double ProcessGroup::all_reduce_sum(double value) {
  if (!group_) return value;
  at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kDouble).device(group_->device));
  all_reduce_sum(std::vector<at::Tensor>{t});
  return t.to(at::kCPU).item<double>();
}

void ProcessGroup::barrier() {
  if (!group_) return;
  group_->backend->barrier()->wait();
}

}  // namespace lmc::train
