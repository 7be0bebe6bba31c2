// The only translation unit that includes LibTorch: the network, the training loop, checkpoints,
// the LibTorch reference forward pass and the training-step benchmark.
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "disco/model/progress.h"
#include "disco/model/trainer.h"
#include "distributed.h"

namespace disco::model {
namespace {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

struct NetImpl : torch::nn::Module {
  ModelDims dims;
  double dropout;
  torch::nn::Embedding item_emb{nullptr}, type_emb{nullptr}, price_emb{nullptr}, gap_emb{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear out_proj{nullptr}, prop{nullptr};

  NetImpl(const ModelDims& d, double p) : dims(d), dropout(p) {
    item_emb = register_module("item_emb", torch::nn::Embedding(d.n_items, d.emb_dim));
    type_emb = register_module("type_emb", torch::nn::Embedding(d.num_types, d.emb_dim));
    if (d.price_buckets > 0)
      price_emb = register_module("price_emb", torch::nn::Embedding(d.price_buckets, d.emb_dim));
    if (d.gap_buckets > 0)
      gap_emb = register_module("gap_emb", torch::nn::Embedding(d.gap_buckets, d.emb_dim));
    lstm = register_module(
        "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(d.emb_dim, d.hidden).num_layers(d.layers).batch_first(true)));
    out_proj = register_module("out_proj", torch::nn::Linear(d.hidden, d.emb_dim));
    prop = register_module("prop", torch::nn::Linear(d.hidden, 1));
    torch::NoGradGuard g;
    item_emb->weight.normal_(0.0, 0.1);
    type_emb->weight.normal_(0.0, 0.1);
    if (price_emb) price_emb->weight.normal_(0.0, 0.05);
    if (gap_emb) gap_emb->weight.normal_(0.0, 0.05);
  }

  torch::Tensor hidden(const torch::Tensor& items, const torch::Tensor& types, const torch::Tensor& pb,
                       const torch::Tensor& gb) {
    auto x = item_emb(items) + type_emb(types);
    if (price_emb) x = x + price_emb(pb);
    if (gap_emb) x = x + gap_emb(gb);
    if (dropout > 0 && is_training()) x = F::dropout(x, F::DropoutFuncOptions().p(dropout).training(true));
    auto out = std::get<0>(lstm(x));
    if (dropout > 0 && is_training()) out = F::dropout(out, F::DropoutFuncOptions().p(dropout).training(true));
    return out;
  }
};
TORCH_MODULE(Net);

struct DevBatch {
  torch::Tensor item, type, pb, gb, next_pos, next_target, valid_pos, prop_label;
  int64_t events = 0;
};

torch::Tensor to_dev(const std::vector<int64_t>& v, std::vector<int64_t> shape, const torch::Device& dev) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), shape, torch::kLong).to(dev, false, true);
}

DevBatch to_device(const Batch& b, const torch::Device& dev) {
  DevBatch d;
  d.item = to_dev(b.item, {b.B, b.T}, dev);
  d.type = to_dev(b.type, {b.B, b.T}, dev);
  d.pb = to_dev(b.pbucket, {b.B, b.T}, dev);
  d.gb = to_dev(b.gbucket, {b.B, b.T}, dev);
  d.next_pos = to_dev(b.next_pos, {int64_t(b.next_pos.size())}, dev);
  d.next_target = to_dev(b.next_target, {int64_t(b.next_target.size())}, dev);
  d.valid_pos = to_dev(b.valid_pos, {int64_t(b.valid_pos.size())}, dev);
  d.prop_label = torch::from_blob(const_cast<float*>(b.prop_label.data()), {int64_t(b.prop_label.size())},
                                  torch::kFloat)
                     .to(dev, false, true);
  d.events = b.events;
  return d;
}

struct LossCtx {
  bool sampled = false;
  int num_sampled = 0;
  double prop_weight = 0.2;
  torch::Tensor q, logq;  // sampled softmax proposal and log expected counts
};

struct Losses {
  torch::Tensor total, next, prop;
};

Losses compute_loss(Net& net, const DevBatch& b, const LossCtx& ctx) {
  const int64_t h = net->dims.hidden;
  auto H = net->hidden(b.item, b.type, b.pb, b.gb).reshape({-1, h});
  auto U = net->out_proj(H.index_select(0, b.next_pos));
  torch::Tensor next;
  if (!ctx.sampled) {
    next = F::cross_entropy(torch::matmul(U, net->item_emb->weight.t()), b.next_target);
  } else {
    auto neg = torch::multinomial(ctx.q, ctx.num_sampled, /*replacement=*/true);
    auto cand = std::get<0>(torch::_unique(torch::cat({b.next_target, neg}), /*sorted=*/true));
    auto logits = torch::matmul(U, net->item_emb->weight.index_select(0, cand).t()) - ctx.logq.index_select(0, cand);
    next = F::cross_entropy(logits, torch::searchsorted(cand, b.next_target));
  }
  auto pl = net->prop(H.index_select(0, b.valid_pos)).squeeze(1);
  auto prop = F::binary_cross_entropy_with_logits(pl, b.prop_label);
  return {next + ctx.prop_weight * prop, next, prop};
}

struct ValStats {
  double loss = NAN, next = NAN, prop = NAN, hr20 = NAN, mrr20 = NAN;
};

ValStats validate(Net& net, const Sequences& valid, const LossCtx& ctx, const torch::Device& dev, int bs) {
  ValStats v;
  if (valid.size() == 0) return v;
  torch::NoGradGuard ng;
  net->eval();
  const int64_t n = net->dims.n_items, h = net->dims.hidden;
  const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t(1) << 25) / n);
  double ce = 0, bce = 0, hr = 0, mrr = 0;
  int64_t nt = 0, np = 0;
  for (const auto& ids : ordered_plan(valid, bs)) {
    const Batch b = make_batch(valid, ids);
    const DevBatch d = to_device(b, dev);
    auto H = net->hidden(d.item, d.type, d.pb, d.gb).reshape({-1, h});
    auto U = net->out_proj(H.index_select(0, d.next_pos));
    for (int64_t r = 0; r < U.size(0); r += rows_per_chunk) {
      const int64_t e = std::min<int64_t>(U.size(0), r + rows_per_chunk);
      auto logits = torch::matmul(U.slice(0, r, e), net->item_emb->weight.t());
      auto tgt = d.next_target.slice(0, r, e);
      ce += F::cross_entropy(logits, tgt, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
      auto ts = logits.gather(1, tgt.unsqueeze(1));
      auto rank = (logits > ts).sum(1).to(torch::kDouble) + 1.0;
      auto in20 = rank <= 20.0;
      hr += in20.sum().item<double>();
      mrr += torch::where(in20, 1.0 / rank, torch::zeros_like(rank)).sum().item<double>();
    }
    nt += U.size(0);
    auto pl = net->prop(H.index_select(0, d.valid_pos)).squeeze(1);
    bce += F::binary_cross_entropy_with_logits(pl, d.prop_label,
                                               F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum))
               .item<double>();
    np += pl.size(0);
  }
  net->train();
  v.next = ce / double(std::max<int64_t>(1, nt));
  v.prop = bce / double(std::max<int64_t>(1, np));
  v.loss = v.next + ctx.prop_weight * v.prop;
  v.hr20 = hr / double(std::max<int64_t>(1, nt));
  v.mrr20 = mrr / double(std::max<int64_t>(1, nt));
  return v;
}

ModelWeights extract_weights(Net& net) {
  torch::NoGradGuard ng;
  const ModelDims& D = net->dims;
  auto mat = [](const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    Matrix m(int(c.size(0)), int(c.dim() > 1 ? c.size(1) : 1));
    std::memcpy(m.data.data(), c.data_ptr<float>(), m.data.size() * sizeof(float));
    return m;
  };
  auto vec = [](const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous().reshape({-1});
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  ModelWeights w;
  w.dims = D;
  w.item_emb = mat(net->item_emb->weight);
  w.type_emb = mat(net->type_emb->weight);
  if (net->price_emb) w.price_emb = mat(net->price_emb->weight);
  if (net->gap_emb) w.gap_emb = mat(net->gap_emb->weight);
  auto params = net->lstm->named_parameters();
  for (int l = 0; l < D.layers; ++l) {
    const std::string s = std::to_string(l);
    w.w_ih.push_back(mat(params["weight_ih_l" + s]));
    w.w_hh.push_back(mat(params["weight_hh_l" + s]));
    w.b.push_back(vec(params["bias_ih_l" + s] + params["bias_hh_l" + s]));
  }
  w.out_proj = mat(net->out_proj->weight);
  w.out_bias = vec(net->out_proj->bias);
  w.prop_w = vec(net->prop->weight);
  w.prop_b = vec(net->prop->bias)[0];
  return w;
}

void load_weights(Net& net, const ModelWeights& w) {
  torch::NoGradGuard ng;
  auto set = [](torch::Tensor t, const std::vector<float>& v) {
    auto src = torch::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, torch::kFloat);
    t.copy_(src.reshape(t.sizes()));
  };
  set(net->item_emb->weight, w.item_emb.data);
  set(net->type_emb->weight, w.type_emb.data);
  if (net->price_emb) set(net->price_emb->weight, w.price_emb.data);
  if (net->gap_emb) set(net->gap_emb->weight, w.gap_emb.data);
  auto params = net->lstm->named_parameters();
  for (int l = 0; l < w.dims.layers; ++l) {
    const std::string s = std::to_string(l);
    set(params["weight_ih_l" + s], w.w_ih[size_t(l)].data);
    set(params["weight_hh_l" + s], w.w_hh[size_t(l)].data);
    set(params["bias_ih_l" + s], w.b[size_t(l)]);
    params["bias_hh_l" + s].zero_();
  }
  set(net->out_proj->weight, w.out_proj.data);
  set(net->out_proj->bias, w.out_bias);
  set(net->prop->weight, w.prop_w);
  net->prop->bias.fill_(w.prop_b);
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

uint64_t fnv1a(const void* p, size_t n, uint64_t h = 1469598103934665603ULL) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

std::string data_fingerprint(const TrainInputs& in) {
  uint64_t h = fnv1a(in.train->item.data(), in.train->item.size() * sizeof(int32_t));
  h = fnv1a(in.train->offsets.data(), in.train->offsets.size() * sizeof(int64_t), h);
  if (in.valid) h = fnv1a(in.valid->item.data(), in.valid->item.size() * sizeof(int32_t), h);
  char buf[64];
  std::snprintf(buf, sizeof buf, "n=%d;pos=%" PRId64 ";h=%016" PRIx64, in.dims.n_items, in.train->positions(), h);
  return buf;
}

// Everything besides model/optimizer tensors that a resumed run needs to continue bit-exactly.
struct State {
  int64_t gen = 0;
  int epoch = 0;              // 0-based epoch in progress
  int64_t step_in_epoch = 0;  // batches of that epoch already done
  int64_t global_step = 0;
  double lr_mult = 1.0;
  double best_val = INFINITY;
  int best_epoch = 0;
  int bad_epochs = 0;
  bool done = false, early_stopped = false;
  double acc_loss = 0, acc_next = 0, acc_prop = 0, acc_seconds = 0;
  int64_t acc_steps = 0, acc_events = 0;
  std::string best_file;
  std::vector<EpochStats> history;
};

std::string hexd(double x) {
  char b[64];
  std::snprintf(b, sizeof b, "%a", x);
  return b;
}

std::string state_text(const State& s, const std::string& cfg_fp, const std::string& data_fp) {
  std::ostringstream o;
  o << "format 1\nconfig " << cfg_fp << "\ndata " << data_fp << "\ngen " << s.gen << "\nepoch " << s.epoch
    << "\nstep_in_epoch " << s.step_in_epoch << "\nglobal_step " << s.global_step << "\nlr_mult "
    << hexd(s.lr_mult) << "\nbest_val " << hexd(s.best_val) << "\nbest_epoch " << s.best_epoch
    << "\nbad_epochs " << s.bad_epochs << "\ndone " << s.done << "\nearly_stopped " << s.early_stopped
    << "\nacc " << hexd(s.acc_loss) << " " << hexd(s.acc_next) << " " << hexd(s.acc_prop) << " "
    << hexd(s.acc_seconds) << " " << s.acc_steps << " " << s.acc_events << "\nbest_file " << s.best_file << "\n";
  for (const auto& e : s.history)
    o << "h " << e.epoch << " " << hexd(e.train_loss) << " " << hexd(e.train_next_loss) << " "
      << hexd(e.train_prop_loss) << " " << hexd(e.val_loss) << " " << hexd(e.val_next_loss) << " "
      << hexd(e.val_hr20) << " " << hexd(e.val_mrr20) << " " << hexd(e.lr) << " " << hexd(e.seconds) << " "
      << hexd(e.events_per_s) << " " << e.improved << "\n";
  return o.str();
}

void write_state(const std::string& path, const State& s, const std::string& cfg_fp, const std::string& data_fp) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << state_text(s, cfg_fp, data_fp);
    f.flush();
    if (!f) throw TrainError(path + ": cannot write checkpoint state");
  }
  // make the data durable before the rename publishes it
  if (FILE* fp = std::fopen(tmp.c_str(), "r")) {
    fsync(fileno(fp));
    std::fclose(fp);
  }
  fs::rename(tmp, path);
}

double rd(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

bool parse_state(std::istream& f, const std::string& path, State& s, const std::string& cfg_fp,
                 const std::string& data_fp) {
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string k;
    in >> k;
    std::string rest;
    std::getline(in, rest);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
    std::istringstream r(rest);
    if (k == "config" && rest != cfg_fp)
      throw TrainError(path + ": this checkpoint was made with different training settings (" + rest +
                       ", now " + cfg_fp + "); pass --fresh to start over or use another --out");
    if (k == "data" && rest != data_fp)
      throw TrainError(path + ": this checkpoint was made on different training data; pass --fresh to start over");
    if (k == "gen") r >> s.gen;
    else if (k == "epoch") r >> s.epoch;
    else if (k == "step_in_epoch") r >> s.step_in_epoch;
    else if (k == "global_step") r >> s.global_step;
    else if (k == "lr_mult") s.lr_mult = rd(rest);
    else if (k == "best_val") s.best_val = rd(rest);
    else if (k == "best_epoch") r >> s.best_epoch;
    else if (k == "bad_epochs") r >> s.bad_epochs;
    else if (k == "done") r >> s.done;
    else if (k == "early_stopped") r >> s.early_stopped;
    else if (k == "best_file") s.best_file = rest;
    else if (k == "acc") {
      std::string a, b, c, d;
      r >> a >> b >> c >> d >> s.acc_steps >> s.acc_events;
      s.acc_loss = rd(a), s.acc_next = rd(b), s.acc_prop = rd(c), s.acc_seconds = rd(d);
    } else if (k == "h") {
      EpochStats e;
      std::string v[10];
      r >> e.epoch;
      for (auto& x : v) r >> x;
      r >> e.improved;
      e.train_loss = rd(v[0]), e.train_next_loss = rd(v[1]), e.train_prop_loss = rd(v[2]);
      e.val_loss = rd(v[3]), e.val_next_loss = rd(v[4]), e.val_hr20 = rd(v[5]), e.val_mrr20 = rd(v[6]);
      e.lr = rd(v[7]), e.seconds = rd(v[8]), e.events_per_s = rd(v[9]);
      s.history.push_back(e);
    }
  }
  return true;
}

bool read_state(const std::string& path, State& s, const std::string& cfg_fp, const std::string& data_fp) {
  std::ifstream f(path);
  if (!f) return false;
  return parse_state(f, path, s, cfg_fp, data_fp);
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TrainError(path + ": cannot read");
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Data-parallel helpers (world size > 1).
// Every parameter of the net in one flat tensor (and back).
torch::Tensor flat_params(Net& net) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : net->parameters()) parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts);
}

void unflat_params(Net& net, const torch::Tensor& flat) {
  torch::NoGradGuard ng;
  int64_t off = 0;
  for (auto& p : net->parameters()) {
    const int64_t n = p.numel();
    p.copy_(flat.slice(0, off, off + n).view_as(p));
    off += n;
  }
}

struct StepSums {
  double batches = 0, loss = 0, next = 0, prop = 0, events = 0;
};

// Averages the gradients over the ranks that had a batch this step, in one all-reduce of one
// flat tensor (every parameter's gradient + this rank's batch count, loss sums and events), and
// returns the global sums. A rank without a batch (the last step of an uneven epoch) sends zeros.
StepSums allreduce_grads(Net& net, dist::Group& g, const StepSums& mine) {
  auto params = net->parameters();
  std::vector<torch::Tensor> parts;
  int64_t total = 0;
  for (const auto& p : params) {
    total += p.numel();
    parts.push_back(mine.batches > 0 && p.grad().defined() ? p.grad().reshape({-1})
                                                          : torch::zeros({p.numel()}, p.options()));
  }
  const auto opts = params.front().options();
  parts.push_back(torch::tensor({float(mine.batches), float(mine.loss), float(mine.next), float(mine.prop),
                                 float(mine.events)}, torch::TensorOptions().dtype(torch::kFloat)).to(opts.device()));
  auto flat = torch::cat(parts);
  g.allreduce_sum(flat);
  auto ex = flat.slice(0, total).to(torch::kCPU, torch::kDouble).contiguous();
  const double* e = ex.data_ptr<double>();
  StepSums sum{e[0], e[1], e[2], e[3], e[4]};
  auto grads = flat.slice(0, 0, total) / float(std::max(1.0, sum.batches));
  torch::NoGradGuard ng;
  int64_t off = 0;
  for (auto& p : params) {
    const int64_t n = p.numel();
    auto gslice = grads.slice(0, off, off + n).view_as(p);
    if (p.grad().defined()) p.mutable_grad().copy_(gslice);
    else p.mutable_grad() = gslice.clone();
    off += n;
  }
  return sum;
}

uint64_t weights_hash(const ModelWeights& w) {
  uint64_t h = 1469598103934665603ULL;
  auto m = [&](const Matrix& x) { h = fnv1a(x.data.data(), x.data.size() * sizeof(float), h); };
  auto v = [&](const std::vector<float>& x) { h = fnv1a(x.data(), x.size() * sizeof(float), h); };
  m(w.item_emb), m(w.type_emb), m(w.price_emb), m(w.gap_emb);
  for (const auto& x : w.w_ih) m(x);
  for (const auto& x : w.w_hh) m(x);
  for (const auto& x : w.b) v(x);
  m(w.out_proj), v(w.out_bias), v(w.prop_w);
  h = fnv1a(&w.prop_b, sizeof w.prop_b, h);
  return h;
}

LossCtx make_loss_ctx(const TrainInputs& in, const TrainConfig& cfg, const torch::Device& dev) {
  LossCtx ctx;
  ctx.prop_weight = cfg.prop_weight;
  ctx.sampled = cfg.softmax == "sampled" || (cfg.softmax == "auto" && in.dims.n_items > 50000);
  ctx.num_sampled = cfg.num_sampled;
  if (ctx.sampled) {
    auto counts = item_counts(*in.train, in.dims.n_items);
    std::vector<float> q(counts.size());
    double sum = 0;
    for (size_t i = 0; i < q.size(); ++i) sum += (q[i] = float(std::pow(counts[i] + 1.0, 0.75)));
    for (float& x : q) x = float(x / sum);
    ctx.q = torch::from_blob(q.data(), {int64_t(q.size())}, torch::kFloat).to(dev, false, true);
    ctx.logq = torch::log(ctx.q * float(ctx.num_sampled));
  }
  return ctx;
}

}  // namespace

std::string resolve_device(const std::string& requested) {
  if (requested == "cpu") return "cpu";
  const bool cuda = torch::cuda::is_available();
  if (requested == "cuda" && !cuda)
    throw TrainError("--device cuda: no CUDA device is available to this LibTorch build");
  return cuda ? "cuda" : "cpu";
}

TrainResult train(const TrainInputs& in, const TrainConfig& cfg) {
  if (!in.train || in.train->size() == 0)
    throw TrainError("no training sequences: the training split has no session with at least 2 events");
  if (in.dims.n_items < 2)
    throw TrainError("the catalog has " + std::to_string(in.dims.n_items) +
                     " item(s): next-item ranking needs at least 2 items");
  if (in.dims.layers != cfg.layers || in.dims.emb_dim != cfg.emb_dim || in.dims.hidden != cfg.hidden)
    throw TrainError("internal: model dims disagree with the config");
  const Sequences empty;
  const Sequences& valid = in.valid ? *in.valid : empty;

  const int threads = cfg.threads > 0 ? cfg.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  const std::string devname = resolve_device(cfg.device);
  const torch::Device dev(devname == "cuda" ? torch::kCUDA : torch::kCPU);

  // data parallel (world size > 1): rendezvous, then every rank must have the same options and data
  const DistSettings dset = resolve_dist(cfg);
  std::unique_ptr<dist::Group> group;
  const int64_t W = dset.world_size, R = dset.rank;
  Progress progress(cfg.progress);
  // a checkpoint of a W-process run continues only with W processes (the step sequence differs)
  const std::string cfg_fp = cfg.fingerprint() + (W > 1 ? ";ws=" + std::to_string(W) : ""),
                    data_fp = data_fingerprint(in);
  if (W > 1) {
    char head[256];
    std::snprintf(head, sizeof head, "distributed: rank %" PRId64 " of %" PRId64 ", rendezvous at %s:%d (timeout %g s)",
                  R, W, dset.master_addr.c_str(), dset.master_port, dset.timeout_s);
    progress.line(head);
    group = dist::Group::join(dset, devname);
    group->check_same("training options and data",
                      cfg_fp + ";epochs=" + std::to_string(cfg.epochs) + ";max_steps=" + std::to_string(cfg.max_steps) +
                          ";fresh=" + std::to_string(cfg.fresh) + ";device=" + devname + ";backend=" + group->backend() +
                          ";" + data_fp,
                      "start every rank with the same options and the same --data");
    progress.line("distributed: " + std::to_string(W) + " ranks joined (" + group->backend() + "); global batch " +
                  std::to_string(W) + " x " + std::to_string(cfg.batch_size));
  }

  torch::manual_seed(cfg.seed);
  Net net(in.dims, cfg.dropout);
  net->to(dev);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  const LossCtx ctx = make_loss_ctx(in, cfg, dev);

  TrainResult res;
  res.device = devname;
  res.sampled_softmax = ctx.sampled;
  State st;
  // with several ranks only rank 0 reads and writes checkpoints; it sends a resumed state to the others
  const bool ckpt = !in.checkpoint_dir.empty() && R == 0;
  const std::string state_path = ckpt ? (fs::path(in.checkpoint_dir) / "state.txt").string() : "";
  ModelWeights best;
  bool have_best = false;
  if (ckpt) {
    std::error_code ec;
    fs::create_directories(in.checkpoint_dir, ec);
    if (ec) throw TrainError(in.checkpoint_dir + ": cannot create checkpoint folder: " + ec.message());
    if (cfg.fresh) {
      for (const auto& e : fs::directory_iterator(in.checkpoint_dir)) fs::remove(e.path(), ec);
    } else if (read_state(state_path, st, cfg_fp, data_fp)) {
      const fs::path dir(in.checkpoint_dir);
      const std::string g = std::to_string(st.gen);
      try {
        torch::load(net, (dir / ("model-" + g + ".pt")).string(), dev);
        torch::load(opt, (dir / ("optim-" + g + ".pt")).string(), dev);
      } catch (const c10::Error& e) {
        throw TrainError(in.checkpoint_dir + ": checkpoint generation " + g +
                         " cannot be read (" + std::string(e.what_without_backtrace()) +
                         "); pass --fresh to start over");
      }
      if (!st.best_file.empty()) {
        best = ModelWeights::load((dir / st.best_file).string());
        have_best = true;
      }
      res.resumed = true;
    }
  }
  if (group) {
    const std::string stxt = group->share("resume/state", R == 0 && res.resumed ? state_text(st, cfg_fp, data_fp) : "", 0);
    if (!stxt.empty()) {
      std::string ob, bb;
      if (R == 0) {
        std::ostringstream os;
        torch::save(opt, os);
        ob = os.str();
        if (!st.best_file.empty()) bb = read_bytes((fs::path(in.checkpoint_dir) / st.best_file).string());
      }
      ob = group->share("resume/optim", ob, 0);
      bb = group->share("resume/best", bb, 0);
      if (R != 0) {
        std::istringstream ss(stxt);
        parse_state(ss, "rank 0's checkpoint", st, cfg_fp, data_fp);
        std::istringstream is(ob);
        torch::load(opt, is, dev);
        if (!bb.empty()) {
          const std::string tmp = (fs::temp_directory_path() / ("disco-best-" + std::to_string(::getpid()) + ".bin")).string();
          {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            f << bb;
          }
          best = ModelWeights::load(tmp);
          std::error_code ec;
          fs::remove(tmp, ec);
          have_best = true;
        }
        res.resumed = true;
      }
    }
    // identical initial (or resumed) weights: rank 0's
    torch::Tensor flat = flat_params(net).clone();
    group->broadcast(flat, 0);
    unflat_params(net, flat);
  }

  const int64_t batches_per_pass = int64_t((in.train->size() + size_t(cfg.batch_size) - 1) / size_t(cfg.batch_size));
  // optimiser steps per pass: with W ranks each step takes W batches (rank r the (k W + r)-th)
  const int64_t per_pass = (batches_per_pass + W - 1) / W;
  // a small log is passed over several times per epoch (TrainConfig::min_epoch_steps)
  const int64_t passes = cfg.min_epoch_steps > 0 && per_pass > 0 ? std::max<int64_t>(1, (cfg.min_epoch_steps + per_pass - 1) / per_pass) : 1;
  const int64_t per_epoch = per_pass * passes;
  res.passes_per_epoch = int(passes);
  const int64_t total_steps = per_epoch * cfg.epochs;
  if (res.resumed)
    progress.line("resuming from checkpoint " + in.checkpoint_dir + ": epoch " + std::to_string(st.epoch + 1) +
                  ", step " + std::to_string(st.step_in_epoch) + " of " + std::to_string(per_epoch));

  auto save_checkpoint = [&](bool new_best) {
    if (!ckpt) return;
    const fs::path dir(in.checkpoint_dir);
    const int64_t old = st.gen;
    const std::string old_best = st.best_file;
    st.gen = old + 1;
    const std::string g = std::to_string(st.gen);
    torch::save(net, (dir / ("model-" + g + ".pt")).string());
    torch::save(opt, (dir / ("optim-" + g + ".pt")).string());
    if (new_best) {
      st.best_file = "best-" + g + ".bin";
      best.save((dir / st.best_file).string());
    }
    write_state(state_path, st, cfg_fp, data_fp);
    std::error_code ec;
    fs::remove(dir / ("model-" + std::to_string(old) + ".pt"), ec);
    fs::remove(dir / ("optim-" + std::to_string(old) + ".pt"), ec);
    if (new_best && !old_best.empty()) fs::remove(dir / old_best, ec);
  };

  const auto t_start = std::chrono::steady_clock::now();
  int64_t run_events = 0;
  double run_seconds = 0;
  const bool finished_before = st.done && (st.early_stopped || st.epoch >= cfg.epochs);
  net->train();
  while (!finished_before && st.epoch < cfg.epochs && !(cfg.max_steps >= 0 && st.global_step >= cfg.max_steps)) {
    const double lr = cfg.lr * std::pow(cfg.lr_decay, st.epoch) * st.lr_mult;
    set_lr(opt, lr);
    std::vector<std::vector<int64_t>> plan;
    if (passes == 1) {
      plan = epoch_plan(*in.train, cfg.batch_size, cfg.seed, st.epoch);
    } else {
      for (int64_t r = 0; r < passes; ++r) {
        auto pp = epoch_plan(*in.train, cfg.batch_size, cfg.seed, int(int64_t(st.epoch) * passes + r));
        for (auto& x : pp) plan.push_back(std::move(x));
        // W ranks: each pass is per_pass steps of W batches (an empty one = no batch for that rank)
        while (W > 1 && plan.size() % size_t(W) != 0) plan.emplace_back();
      }
    }
    while (W > 1 && plan.size() % size_t(W) != 0) plan.emplace_back();
    const int64_t n_steps = (int64_t(plan.size()) + W - 1) / W;
    auto check_finite = [&](double loss) {
      if (std::isfinite(loss)) return;
      char msg[256];
      std::snprintf(msg, sizeof msg,
                    "training diverged: the loss is %s at epoch %d, step %" PRId64
                    " (lr %.3g). Lower --lr or set --clip-grad; no model or bundle was written",
                    std::isnan(loss) ? "NaN" : "infinite", st.epoch + 1, st.step_in_epoch + 1, lr);
      progress.finish();
      throw TrainError(msg);
    };
    // a step's figures into the epoch's and the run's sums, progress, the test hooks, checkpoints
    auto end_step = [&](std::chrono::steady_clock::time_point t0, int64_t b, double loss, double next, double prop,
                        int64_t events) {
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      st.acc_loss += loss;
      st.acc_next += next;
      st.acc_prop += prop;
      st.acc_steps += 1;
      st.acc_events += events;
      st.acc_seconds += dt;
      run_events += events;
      run_seconds += dt;
      st.step_in_epoch = b + 1;
      st.global_step += 1;
      progress.update(st.epoch + 1, cfg.epochs, st.epoch * per_epoch + st.step_in_epoch, total_steps,
                      st.acc_loss / double(st.acc_steps), double(st.acc_events) / std::max(1e-9, st.acc_seconds));
      if (cfg.crash_after_steps >= 0 && st.global_step == cfg.crash_after_steps) {
        progress.line("crash-after-steps: killing this process with SIGKILL (testing resume)");
        std::raise(SIGKILL);
      }
      if (cfg.checkpoint_every_steps > 0 && st.step_in_epoch < n_steps && st.global_step % cfg.checkpoint_every_steps == 0)
        save_checkpoint(false);
    };
    for (int64_t b = st.step_in_epoch; b < n_steps; ++b) {
      if (cfg.max_steps >= 0 && st.global_step >= cfg.max_steps) break;
      const auto t0 = std::chrono::steady_clock::now();
      if (group) {
        // rank r takes batch b W + r of the plan every rank builds alike; the gradients are averaged
        const int64_t idx = b * W + R;
        const bool have = idx < int64_t(plan.size()) && !plan[size_t(idx)].empty();
        torch::manual_seed(cfg.seed * 1000003ULL + uint64_t(st.global_step) + uint64_t(R) * 0x9E3779B97F4A7C15ULL);
        if (cfg.inject_nan_at_step >= 0 && st.global_step == cfg.inject_nan_at_step) {
          torch::NoGradGuard ng;
          net->out_proj->weight.fill_(std::numeric_limits<float>::quiet_NaN());
        }
        opt.zero_grad();
        StepSums mine;
        if (have) {
          const Batch batch = make_batch(*in.train, plan[size_t(idx)]);
          const DevBatch d = to_device(batch, dev);
          Losses L = compute_loss(net, d, ctx);
          L.total.backward();
          mine = {1.0, L.total.item<double>(), L.next.item<double>(), L.prop.item<double>(), double(batch.events)};
        }
        const StepSums sum = allreduce_grads(net, *group, mine);
        const double loss = sum.loss / std::max(1.0, sum.batches);
        check_finite(loss);  // the same decision on every rank: the loss is the global mean
        if (cfg.clip_grad > 0) torch::nn::utils::clip_grad_norm_(net->parameters(), cfg.clip_grad);
        opt.step();
        end_step(t0, b, loss, sum.next / std::max(1.0, sum.batches), sum.prop / std::max(1.0, sum.batches),
                 int64_t(sum.events));  // all ranks' events: events/s is the group's throughput
        continue;
      }
      torch::manual_seed(cfg.seed * 1000003ULL + uint64_t(st.global_step));  // dropout / sampling
      const Batch batch = make_batch(*in.train, plan[size_t(b)]);
      const DevBatch d = to_device(batch, dev);
      if (cfg.inject_nan_at_step >= 0 && st.global_step == cfg.inject_nan_at_step) {
        torch::NoGradGuard ng;
        net->out_proj->weight.fill_(std::numeric_limits<float>::quiet_NaN());
      }
      opt.zero_grad();
      Losses L = compute_loss(net, d, ctx);
      const double loss = L.total.item<double>();
      check_finite(loss);
      L.total.backward();
      if (cfg.clip_grad > 0) torch::nn::utils::clip_grad_norm_(net->parameters(), cfg.clip_grad);
      opt.step();
      end_step(t0, b, loss, L.next.item<double>(), L.prop.item<double>(), batch.events);
    }
    if (st.step_in_epoch < n_steps) break;  // max_steps reached mid-epoch
    // end of epoch: validate, schedule, early stopping, checkpoint (with several ranks rank 0
    // validates and sends its figures, so every rank takes the same decisions)
    ValStats v;
    if (!group || R == 0) v = validate(net, valid, ctx, dev, std::max(cfg.batch_size, 256));
    if (group) {
      auto t = torch::tensor({v.loss, v.next, v.prop, v.hr20, v.mrr20}, torch::TensorOptions().dtype(torch::kDouble));
      group->broadcast(t, 0);
      const double* x = t.data_ptr<double>();
      v.loss = x[0], v.next = x[1], v.prop = x[2], v.hr20 = x[3], v.mrr20 = x[4];
    }
    EpochStats e;
    e.epoch = st.epoch + 1;
    e.train_loss = st.acc_loss / double(std::max<int64_t>(1, st.acc_steps));
    e.train_next_loss = st.acc_next / double(std::max<int64_t>(1, st.acc_steps));
    e.train_prop_loss = st.acc_prop / double(std::max<int64_t>(1, st.acc_steps));
    e.val_loss = v.loss, e.val_next_loss = v.next, e.val_hr20 = v.hr20, e.val_mrr20 = v.mrr20;
    e.lr = lr;
    e.seconds = st.acc_seconds;
    e.events_per_s = double(st.acc_events) / std::max(1e-9, st.acc_seconds);
    if (!std::isfinite(e.train_loss) || (valid.size() > 0 && !std::isfinite(v.loss)))
      throw TrainError("training diverged: validation loss is not finite after epoch " + std::to_string(e.epoch) +
                       "; no model or bundle was written");
    // validation gain (TrainConfig::select_by); best_val is "lower is better": the loss, or minus
    // MRR@20 / HR@20
    const double crit = cfg.select_by == "loss" ? v.loss : cfg.select_by == "hr" ? -v.hr20 : -v.mrr20;
    e.improved = valid.size() == 0 || crit < st.best_val;
    if (e.improved) {
      st.best_val = valid.size() == 0 ? st.best_val : crit;
      st.best_epoch = e.epoch;
      st.bad_epochs = 0;
      best = extract_weights(net);
      have_best = true;
    } else {
      st.bad_epochs += 1;
      st.lr_mult *= cfg.plateau_factor;
    }
    st.history.push_back(e);
    char line[320];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d: train loss %.4f (next %.4f, prop %.4f)  valid loss %.4f  HR@20 %.4f  MRR@20 %.4f"
                  "  lr %.2e  %.0f events/s  %s%s",
                  e.epoch, cfg.epochs, e.train_loss, e.train_next_loss, e.train_prop_loss, e.val_loss, e.val_hr20,
                  e.val_mrr20, e.lr, e.events_per_s, format_duration(e.seconds).c_str(), e.improved ? "  *best" : "");
    progress.line(line);
    st.epoch += 1;
    st.step_in_epoch = 0;
    st.acc_loss = st.acc_next = st.acc_prop = st.acc_seconds = 0;
    st.acc_steps = st.acc_events = 0;
    if (cfg.patience > 0 && st.bad_epochs >= cfg.patience && st.epoch < cfg.epochs) {
      st.early_stopped = true;
      progress.line("early stopping: no validation gain for " + std::to_string(st.bad_epochs) +
                    " epochs; keeping epoch " + std::to_string(st.best_epoch));
    }
    st.done = st.early_stopped || st.epoch >= cfg.epochs;
    save_checkpoint(e.improved);
    if (st.early_stopped) break;
  }
  progress.finish();
  if (!have_best) best = extract_weights(net);  // max_steps ended before the first epoch finished
  best.validate();
  if (group) {
    // the ranks must end with the same weights (same averaged gradients, same Adam state)
    char hx[32];
    std::snprintf(hx, sizeof hx, "%016" PRIx64, weights_hash(best));
    group->check_same("trained weights", hx, "the ranks diverged (a bug: please report it with the options used)");
    progress.line("distributed: rank " + std::to_string(R) + " of " + std::to_string(W) + ": weights fnv1a " + hx +
                  " (equal on every rank)" + (R == 0 ? "" : "; rank 0 writes the model, report and bundle"));
    group->arrive("done");
  }
  res.weights = std::move(best);
  res.history = st.history;
  res.best_epoch = st.best_epoch;
  res.early_stopped = st.early_stopped;
  res.steps = st.global_step;
  res.train_seconds = run_seconds;
  res.events_per_s = run_seconds > 0 ? double(run_events) / run_seconds : 0.0;
  (void)t_start;
  return res;
}

void torch_reference_scores(const ModelWeights& w, const Sequences& seqs, size_t max_seqs,
                            std::vector<float>& scores, std::vector<float>& propensity) {
  torch::NoGradGuard ng;
  Net net(w.dims, 0.0);
  load_weights(net, w);
  net->eval();
  scores.clear();
  propensity.clear();
  for (size_t s = 0; s < std::min(max_seqs, seqs.size()); ++s) {
    const Batch b = make_batch(seqs, {int64_t(s)});
    const DevBatch d = to_device(b, torch::kCPU);
    auto H = net->hidden(d.item, d.type, d.pb, d.gb).reshape({-1, int64_t(w.dims.hidden)});
    auto S = torch::matmul(net->out_proj(H), net->item_emb->weight.t()).contiguous();
    auto P = torch::sigmoid(net->prop(H)).reshape({-1}).contiguous();
    scores.insert(scores.end(), S.data_ptr<float>(), S.data_ptr<float>() + S.numel());
    propensity.insert(propensity.end(), P.data_ptr<float>(), P.data_ptr<float>() + P.numel());
  }
}

double bench_train_steps(const ModelDims& dims, const TrainConfig& cfg, const std::vector<Batch>& batches,
                         int steps, int warmup) {
  if (batches.empty()) throw TrainError("bench: no batches");
  const int threads = cfg.threads > 0 ? cfg.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  const torch::Device dev(resolve_device(cfg.device) == "cuda" ? torch::kCUDA : torch::kCPU);
  torch::manual_seed(cfg.seed);
  Net net(dims, 0.0);
  net->to(dev);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(cfg.lr));
  LossCtx ctx;
  ctx.prop_weight = cfg.prop_weight;
  std::vector<DevBatch> dbs;
  for (const auto& b : batches) dbs.push_back(to_device(b, dev));
  int64_t events = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < warmup + steps; ++s) {
    if (s == warmup) {
      if (dev.is_cuda()) torch::cuda::synchronize();
      t0 = std::chrono::steady_clock::now();
    }
    const DevBatch& d = dbs[size_t(s) % dbs.size()];
    opt.zero_grad();
    Losses L = compute_loss(net, d, ctx);
    L.total.backward();
    if (cfg.clip_grad > 0) torch::nn::utils::clip_grad_norm_(net->parameters(), cfg.clip_grad);
    opt.step();
    (void)L.total.item<double>();
    if (s >= warmup) events += d.events;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(events) / secs;
}

}  // namespace disco::model
