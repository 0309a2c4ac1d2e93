// Data-parallel training across processes with c10d, LibTorch's collectives: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT and a process group (Gloo for CPU tensors, NCCL for CUDA ones when lmc is
// built with it), configured from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), so `torchrun --nproc-per-node N lmc train ...` or any launcher setting those works.
// There is no C++ DistributedDataParallel: the trainer all-reduces gradients itself through this.
// A world of one needs no environment and no group: every collective is then the identity.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lmc::train {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// The environment torchrun sets; a world of one when WORLD_SIZE is unset. Throws lmc::Error naming the
// variable when a value is malformed or inconsistent (RANK >= WORLD_SIZE, missing MASTER_ADDR, ...).
DistributedEnv read_distributed_env();

class ProcessGroup {
 public:
  // Joins the group (blocks until every rank has arrived). `device` picks the backend.
  ProcessGroup(const DistributedEnv& env, const at::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }

  // Sums each tensor across ranks, in place. Tensors are packed into buckets of one dtype so each
  // collective moves a large buffer.
  void all_reduce_sum(const std::vector<at::Tensor>& tensors);
  double all_reduce_sum(double value);
  void barrier();

 private:
  struct Group;
  DistributedEnv env_;
  std::unique_ptr<Group> group_;
};

}  // namespace lmc::train
