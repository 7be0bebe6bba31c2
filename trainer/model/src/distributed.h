// Data-parallel training support (internal to disco_model_torch): one process group per
// training run, built on LibTorch's own distributed layer (c10d): a TCPStore for the rendezvous
// and small messages, ProcessGroupGloo for the collectives (CUDA tensors are staged through host
// memory), ProcessGroupNCCL when the build has it (DISCO_HAVE_NCCL) and --dist-backend nccl.
// Every call is collective: all ranks call the same functions in the same order.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "disco/model/config.h"

namespace disco::model::dist {

// Whether this build can train on several processes (the gloo headers were found at build time).
bool available();

class Group {
 public:
  // Rendezvous: rank 0 listens on master_addr:master_port (TCPStore server), the others connect;
  // returns when all world_size ranks have joined. Throws TrainError naming the master, the
  // timeout and how many ranks joined when it takes longer than timeout_s. `device` is the
  // training device ("cpu" / "cuda").
  static std::unique_ptr<Group> join(const DistSettings& s, const std::string& device);
  ~Group();

  int rank() const;
  int size() const;
  std::string backend() const;  // "gloo" or "nccl"

  void allreduce_sum(torch::Tensor& t);        // in place, on any device
  void broadcast(torch::Tensor& t, int root);  // in place

  // Every rank passes the same kind of value (e.g. its options' fingerprint, "a=1;b=2"); throws
  // TrainError on every rank when one rank's differs, naming the rank and the differing fields.
  void check_same(const std::string& what, const std::string& value, const std::string& hint);
  // Small blobs through the store: rank `root` publishes, the others read (waits up to the timeout).
  std::string share(const std::string& key, const std::string& value, int root);
  // Waits until every rank got here (through the store, not the process group).
  void barrier(const std::string& name);
  // The end of a run: the other ranks check in and go on; rank 0 (whose process hosts the store)
  // waits for them, so none of them loses the store while still reading from it.
  void arrive(const std::string& name);

 private:
  Group();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace disco::model::dist
