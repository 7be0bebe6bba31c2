// Data-parallel process group (see distributed.h). Built with USE_C10D_GLOO (CMake sets it with
// DISCO_HAVE_GLOO when gloo's headers were found: Debian's libgloo-dev); without them every
// multi-process request ends with an error that says what to install.
#include "distributed.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#if defined(DISCO_HAVE_GLOO)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(DISCO_HAVE_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace disco::model::dist {

#if defined(DISCO_HAVE_GLOO)

bool available() { return true; }

struct Group::Impl {
  DistSettings s;
  std::string device;
  std::string backend = "gloo";
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(DISCO_HAVE_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::string where() const { return s.master_addr + ":" + std::to_string(s.master_port); }
};

namespace {

std::string err_text(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string str(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// "a=1;b=2" vs "a=1;b=3" -> "b: 2 here, 3 on rank R"
std::string field_diff(const std::string& mine, const std::string& theirs, int their_rank) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string f;
    while (std::getline(in, f, ';')) out.push_back(f);
    return out;
  };
  const auto a = split(mine), b = split(theirs);
  std::string d;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "", y = i < b.size() ? b[i] : "";
    if (x == y) continue;
    if (!d.empty()) d += ", ";
    d += "'" + x + "' here, '" + y + "' on rank " + std::to_string(their_rank);
  }
  return d;
}

}  // namespace

Group::Group() : impl_(std::make_unique<Impl>()) {}
Group::~Group() = default;

int Group::rank() const { return impl_->s.rank; }
int Group::size() const { return impl_->s.world_size; }
std::string Group::backend() const { return impl_->backend; }

std::unique_ptr<Group> Group::join(const DistSettings& s, const std::string& device) {
  std::unique_ptr<Group> g(new Group());
  Impl& I = *g->impl_;
  I.s = s;
  I.device = device;
  I.timeout = std::chrono::milliseconds(int64_t(s.timeout_s * 1000.0));
  std::string backend = s.backend == "auto" ? "gloo" : s.backend;
#if defined(DISCO_HAVE_NCCL)
  if (s.backend == "auto" && device == "cuda") backend = "nccl";
#endif
  if (backend == "nccl") {
#if !defined(DISCO_HAVE_NCCL)
    throw TrainError("--dist-backend nccl: this disco-train was built without NCCL (configure with -DDISCO_NCCL=ON "
                     "against a CUDA LibTorch that ships ProcessGroupNCCL); --dist-backend gloo works on CPU and GPU");
#else
    if (device != "cuda") throw TrainError("--dist-backend nccl needs --device cuda");
#endif
  }
  I.backend = backend;
  const std::string where = I.where();
  // under torchrun (PyTorch 2.x) the launcher's agent already hosts the store on MASTER_PORT and
  // says so; every rank is then a client, in a namespace per restart
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent && std::string(agent) == "True";
  const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
  c10d::TCPStoreOptions o;
  o.port = uint16_t(s.master_port);
  o.isServer = s.rank == 0 && !agent_store;
  o.waitWorkers = false;  // joined below, with a message that says how many came
  o.timeout = I.timeout;
  c10::intrusive_ptr<c10d::Store> tcp;
  try {
    tcp = c10::make_intrusive<c10d::TCPStore>(s.master_addr, o);
  } catch (const std::exception& e) {
    if (o.isServer)
      throw TrainError("rank 0 cannot listen on " + where + " for the rendezvous (" + err_text(e) +
                       "); pick a free --master-port / MASTER_PORT");
    char b[64];
    std::snprintf(b, sizeof b, "%g", s.timeout_s);
    throw TrainError("rendezvous timed out: rank " + std::to_string(s.rank) + " could not reach rank 0 at " + where +
                     " within " + b + " s (" + err_text(e) +
                     "); start rank 0 with the same --master-addr/--master-port (MASTER_ADDR/MASTER_PORT), "
                     "check the firewall, or raise --dist-timeout");
  }
  I.store = c10::make_intrusive<c10d::PrefixStore>(
      std::string("disco") + (agent_store && restart ? std::string("/") + restart : std::string()), tcp);
  // everyone counts in, then waits for the full count
  const auto deadline = std::chrono::steady_clock::now() + I.timeout;
  int64_t joined = 0;
  try {
    joined = I.store->add("joined", 1);
    while (joined < s.world_size) {
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      joined = I.store->add("joined", 0);
    }
  } catch (const std::exception& e) {
    throw TrainError("rendezvous at " + where + " failed on rank " + std::to_string(s.rank) + ": " + err_text(e));
  }
  if (joined < s.world_size) {
    char b[64];
    std::snprintf(b, sizeof b, "%g", s.timeout_s);
    throw TrainError("rendezvous timed out after " + std::string(b) + " s at " + where + ": " + std::to_string(joined) +
                     " of " + std::to_string(s.world_size) +
                     " ranks joined; start every rank with the same --world-size, --master-addr and --master-port "
                     "(or WORLD_SIZE, MASTER_ADDR, MASTER_PORT), each with its own --rank, or raise --dist-timeout");
  }
  if (joined > s.world_size)
    throw TrainError("rendezvous at " + where + ": " + std::to_string(joined) + " processes joined a group of " +
                     std::to_string(s.world_size) + " (two runs on one --master-port, or a rank started twice)");
  try {
#if defined(DISCO_HAVE_NCCL)
    if (backend == "nccl") {
      auto no = c10d::ProcessGroupNCCL::Options::create();
      no->timeout = I.timeout;
      I.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", I.store),
                                                           s.rank, s.world_size, no);
      return g;
    }
#endif
    auto go = c10d::ProcessGroupGloo::Options::create();
    go->timeout = I.timeout;
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(s.master_addr))
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    I.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", I.store),
                                                         s.rank, s.world_size, go);
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(s.rank) + ": cannot set up the " + backend + " process group via " +
                     where + ": " + err_text(e) + " (set GLOO_SOCKET_IFNAME to the interface the ranks share)");
  }
  return g;
}

void Group::allreduce_sum(torch::Tensor& t) {
  Impl& I = *impl_;
  try {
#if defined(DISCO_HAVE_NCCL)
    if (I.nccl) {
      std::vector<at::Tensor> v{t};
      I.nccl->allreduce(v)->wait();
      return;
    }
#endif
    const bool host = t.device().is_cpu();
    std::vector<at::Tensor> v{host ? t : t.to(torch::kCPU)};
    I.gloo->allreduce(v)->wait();
    if (!host) t.copy_(v[0]);
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(I.s.rank) + ": gradient all-reduce failed (" + err_text(e) +
                     "): another rank stopped or is unreachable; its own log says why");
  }
}

void Group::broadcast(torch::Tensor& t, int root) {
  Impl& I = *impl_;
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  try {
#if defined(DISCO_HAVE_NCCL)
    if (I.nccl) {
      std::vector<at::Tensor> v{t};
      I.nccl->broadcast(v, bo)->wait();
      return;
    }
#endif
    const bool host = t.device().is_cpu();
    std::vector<at::Tensor> v{host ? t : t.to(torch::kCPU)};
    I.gloo->broadcast(v, bo)->wait();
    if (!host) t.copy_(v[0]);
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(I.s.rank) + ": broadcast from rank " + std::to_string(root) +
                     " failed (" + err_text(e) + "): another rank stopped or is unreachable; its own log says why");
  }
}

void Group::check_same(const std::string& what, const std::string& value, const std::string& hint) {
  Impl& I = *impl_;
  std::string first_diff;
  try {
    I.store->set(what + "/" + std::to_string(I.s.rank), bytes(value));
    for (int r = 0; r < I.s.world_size; ++r) {
      if (r == I.s.rank) continue;
      const std::string theirs = str(I.store->get(what + "/" + std::to_string(r)));
      if (theirs != value && first_diff.empty()) first_diff = field_diff(value, theirs, r);
    }
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(I.s.rank) + ": cannot compare " + what + " with the other ranks (" +
                     err_text(e) + ")");
  }
  // rank 0 (the store's server) leaves only after every rank has read what it needs
  arrive("checked/" + what);
  if (!first_diff.empty())
    throw TrainError("ranks disagree on " + what + " (rank " + std::to_string(I.s.rank) + "): " + first_diff + "; " +
                     hint);
}

std::string Group::share(const std::string& key, const std::string& value, int root) {
  Impl& I = *impl_;
  try {
    if (I.s.rank == root) {
      I.store->set(key, bytes(value));
      return value;
    }
    return str(I.store->get(key));
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(I.s.rank) + ": cannot get '" + key + "' from rank " +
                     std::to_string(root) + " (" + err_text(e) + ")");
  }
}

void Group::arrive(const std::string& name) {
  Impl& I = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + I.timeout;
  try {
    int64_t n = I.store->add("arrive/" + name, 1);
    if (I.s.rank != 0) return;
    while (n < I.s.world_size && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      n = I.store->add("arrive/" + name, 0);
    }
  } catch (const std::exception&) {
    // a rank that failed already says why in its own log
  }
}

void Group::barrier(const std::string& name) {
  Impl& I = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + I.timeout;
  try {
    int64_t n = I.store->add("barrier/" + name, 1);
    while (n < I.s.world_size) {
      if (std::chrono::steady_clock::now() > deadline)
        throw TrainError("rank " + std::to_string(I.s.rank) + ": timed out waiting for the other ranks at '" + name +
                         "' (" + std::to_string(n) + " of " + std::to_string(I.s.world_size) + " arrived)");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      n = I.store->add("barrier/" + name, 0);
    }
  } catch (const TrainError&) {
    throw;
  } catch (const std::exception& e) {
    throw TrainError("rank " + std::to_string(I.s.rank) + ": barrier '" + name + "' failed (" + err_text(e) + ")");
  }
}

#else  // no gloo headers at build time

bool available() { return false; }
struct Group::Impl {};
Group::Group() : impl_(std::make_unique<Impl>()) {}
Group::~Group() = default;
std::unique_ptr<Group> Group::join(const DistSettings&, const std::string&) {
  throw TrainError("--world-size > 1: this disco-train was built without LibTorch's distributed layer (the gloo headers "
                   "were missing: apt-get install libgloo-dev, then reconfigure)");
}
int Group::rank() const { return 0; }
int Group::size() const { return 1; }
std::string Group::backend() const { return "none"; }
void Group::allreduce_sum(torch::Tensor&) {}
void Group::broadcast(torch::Tensor&, int) {}
void Group::check_same(const std::string&, const std::string&, const std::string&) {}
std::string Group::share(const std::string&, const std::string& v, int) { return v; }
void Group::barrier(const std::string&) {}
void Group::arrive(const std::string&) {}

#endif

}  // namespace disco::model::dist
