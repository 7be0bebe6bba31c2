#include "disco/model/export.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "disco/bundle_writer.h"
#include "disco/context.h"
#include "disco/disco.h"

namespace disco::model {

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw TrainError(path + ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!f.flush()) throw TrainError(path + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw TrainError(path + ": cannot rename " + tmp + ": " + ec.message());
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TrainError(path + ": cannot open (no such file or not readable)");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

DemoteStats demote_untrained(ModelWeights& w, const std::vector<uint8_t>& cold) {
  DemoteStats st;
  const int n = w.dims.n_items, d = w.dims.emb_dim, h = w.dims.hidden;
  for (int i = 0; i < n; ++i) st.items += size_t(i) < cold.size() && cold[size_t(i)];
  if (st.items == 0 || st.items == uint64_t(n)) return DemoteStats{};
  // U_r bounds |u_r| = |out_proj[r] . h + out_bias[r]| over every state (|h_k| < 1)
  std::vector<double> U(size_t(d), 0.0);
  double maxU = 0;
  for (int r = 0; r < d; ++r) {
    double s = std::fabs(double(w.out_bias[size_t(r)]));
    for (int k = 0; k < h; ++k) s += std::fabs(double(w.out_proj.row(r)[k]));
    U[size_t(r)] = s;
    maxU = std::max(maxU, s);
  }
  double M = 0;
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int r = 0; r < d; ++r) s += std::fabs(double(w.item_emb.row(i)[r])) * U[size_t(r)];
    M = std::max(M, s);
  }
  const double c = maxU > 0 ? maxU / 200.0 : 1.0;
  const double B = 30.0 * std::max(M, 1e-6) / c + 1.0;
  auto widen = [](Matrix& m, int cols) {
    if (m.rows == 0) return;
    Matrix o(m.rows, cols);
    for (int r = 0; r < m.rows; ++r) std::copy(m.row(r), m.row(r) + m.cols, o.row(r));
    m = std::move(o);
  };
  widen(w.item_emb, d + 1);
  for (int i = 0; i < n; ++i)
    if (size_t(i) < cold.size() && cold[size_t(i)]) {
      // only the bias: the runtime quantizes its input vector x = item_emb[i] + type_emb per
      // vector, so next to -B any other value of the row would round to 0 there anyway
      std::fill(w.item_emb.row(i), w.item_emb.row(i) + d, 0.0f);
      w.item_emb.row(i)[d] = float(-B);
    }
  widen(w.type_emb, d + 1);
  widen(w.price_emb, d + 1);
  widen(w.gap_emb, d + 1);
  if (!w.w_ih.empty()) widen(w.w_ih[0], d + 1);
  Matrix op(d + 1, h);
  for (int r = 0; r < d; ++r) std::copy(w.out_proj.row(r), w.out_proj.row(r) + h, op.row(r));
  w.out_proj = std::move(op);
  w.out_bias.push_back(float(c));
  w.dims.emb_dim = d + 1;
  st.bias = -B;
  st.c = c;
  st.bound = M;
  return st;
}

ColdStartStats apply_cold_start(ModelWeights& w, const data::Dataset& ds, const std::vector<uint8_t>& cold) {
  // Per group (category, brand, everything): the mean embedding of its trained items and their
  // mean norm. A cold item gets the direction of its group means (category and brand averaged
  // when both are known) scaled to the group's typical norm, so it ranks like a typical item of
  // its category instead of being shrunk towards 0 by the averaging.
  const int n = w.dims.n_items, d = w.dims.emb_dim;
  ColdStartStats st;
  size_t n_cat = ds.categories.size(), n_brand = ds.brands.size();
  for (const auto& it : ds.items) {
    n_cat = std::max<size_t>(n_cat, it.category + 1);
    n_brand = std::max<size_t>(n_brand, it.brand + 1);
  }
  struct Group {
    std::vector<double> sum;
    double norm_sum = 0;
    uint64_t n = 0;
  };
  auto make = [&](size_t k) { return std::vector<Group>(k, Group{std::vector<double>(size_t(d), 0.0), 0.0, 0}); };
  std::vector<Group> cats = make(n_cat), brands = make(n_brand), all = make(1);
  auto add = [&](Group& g, const float* e, double norm) {
    for (int k = 0; k < d; ++k) g.sum[size_t(k)] += e[k];
    g.norm_sum += norm;
    ++g.n;
  };
  for (int i = 0; i < n; ++i) {
    if (size_t(i) < cold.size() && cold[size_t(i)]) continue;
    const float* e = w.item_emb.row(i);
    double nn = 0;
    for (int k = 0; k < d; ++k) nn += double(e[k]) * e[k];
    nn = std::sqrt(nn);
    const auto& it = ds.items[size_t(i)];
    add(all[0], e, nn);
    if (it.category) add(cats[it.category], e, nn);
    if (it.brand) add(brands[it.brand], e, nn);
  }
  std::vector<double> v(static_cast<size_t>(d));
  for (int i = 0; i < n; ++i) {
    if (!(size_t(i) < cold.size() && cold[size_t(i)])) continue;
    ++st.items;
    const auto& it = ds.items[size_t(i)];
    std::vector<const Group*> gs;
    if (it.category && cats[it.category].n > 0) gs.push_back(&cats[it.category]);
    if (it.brand && brands[it.brand].n > 0) gs.push_back(&brands[it.brand]);
    if (gs.empty() && all[0].n > 0) gs.push_back(&all[0]);
    float* e = w.item_emb.row(i);
    if (gs.empty()) {
      std::fill(e, e + d, 0.0f);
      continue;
    }
    std::fill(v.begin(), v.end(), 0.0);
    double target = 0;
    for (const Group* g : gs) {
      for (int k = 0; k < d; ++k) v[size_t(k)] += g->sum[size_t(k)] / double(g->n) / double(gs.size());
      target += g->norm_sum / double(g->n) / double(gs.size());
    }
    double vn = 0;
    for (double x : v) vn += x * x;
    vn = std::sqrt(vn);
    const double scale = vn > 0 ? target / vn : 0.0;
    for (int k = 0; k < d; ++k) e[k] = float(v[size_t(k)] * scale);
    if (it.category && cats[it.category].n > 0) ++st.by_category;
    else if (it.brand && brands[it.brand].n > 0) ++st.by_brand;
    else ++st.by_global;
  }
  return st;
}

BundleSpec make_bundle_spec(const ModelWeights& w, const data::Dataset& ds, const ExportOptions& opt) {
  w.validate();
  const ModelDims& D = w.dims;
  if (D.layers != 1)
    throw TrainError("export: the bundle format and runtime support 1 LSTM layer; this model has " +
                     std::to_string(D.layers) + " (train with --layers 1 to export)");
  if (size_t(D.n_items) != ds.items.size())
    throw TrainError("export: the model has " + std::to_string(D.n_items) + " items but the catalog has " +
                     std::to_string(ds.items.size()) + " (trained on other data?)");
  if (D.price_buckets > 255 || D.gap_buckets > 255 || D.emb_dim > 65535 || D.hidden > 65535)
    throw TrainError("export: model dimensions exceed the bundle format's fields");
  BundleSpec spec;
  spec.model_version = opt.model_version;
  spec.created_at_ms = opt.created_at_ms
                           ? opt.created_at_ms
                           : std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  spec.config.emb_dim = uint16_t(D.emb_dim);
  spec.config.hidden = uint16_t(D.hidden);
  spec.config.layers = 1;
  spec.config.num_event_types = uint8_t(D.num_types);
  spec.config.num_price_buckets = uint8_t(D.price_buckets);
  spec.config.num_gap_buckets = uint8_t(D.gap_buckets);
  // catalog, dense index order = the dataset's
  auto& cat = spec.catalog;
  for (size_t i = 0; i < ds.items.size(); ++i) {
    const auto& it = ds.items[i];
    cat.item_ids.push_back(it.id);
    cat.category.push_back(it.category);
    cat.brand.push_back(it.brand);
    cat.price.push_back(it.price);
    cat.cost.push_back(it.cost);
    cat.in_stock.push_back(it.in_stock ? 1 : 0);
    cat.cold_start.push_back(i < opt.cold_start.size() ? opt.cold_start[i] : 0);
  }
  // Columns that carry no information are left out (the schema reads absent as: no brand, all in
  // stock, nothing cold), which keeps the bundle small.
  auto all_eq = [](const auto& v, auto x) { return std::all_of(v.begin(), v.end(), [&](auto y) { return y == x; }); };
  if (all_eq(cat.brand, 0u)) cat.brand.clear();
  if (all_eq(cat.in_stock, uint8_t(1))) cat.in_stock.clear();
  if (all_eq(cat.cold_start, uint8_t(0))) cat.cold_start.clear();
  const uint32_t n = uint32_t(D.n_items), d = uint32_t(D.emb_dim), h = uint32_t(D.hidden);
  auto& T = spec.tensors;
  T.push_back(TensorSpec::quantized("item_emb", {n, d}, w.item_emb.data, opt.item_int4 ? TensorDType::I4 : TensorDType::I8));
  T.push_back(TensorSpec::f32("type_emb", {uint32_t(D.num_types), d}, w.type_emb.data));
  if (D.price_buckets > 0) T.push_back(TensorSpec::f32("price_emb", {uint32_t(D.price_buckets), d}, w.price_emb.data));
  if (D.gap_buckets > 0) T.push_back(TensorSpec::f32("gap_emb", {uint32_t(D.gap_buckets), d}, w.gap_emb.data));
  T.push_back(TensorSpec::quantized("lstm_w_ih", {4 * h, d}, w.w_ih[0].data, TensorDType::I8));
  T.push_back(TensorSpec::quantized("lstm_w_hh", {4 * h, h}, w.w_hh[0].data, TensorDType::I8));
  T.push_back(TensorSpec::f32("lstm_b", {4 * h}, w.b[0]));
  T.push_back(TensorSpec::quantized("out_proj", {d, h}, w.out_proj.data, TensorDType::I8));
  T.push_back(TensorSpec::f32("out_bias", {d}, w.out_bias));
  T.push_back(TensorSpec::f32("prop_w", {1, h}, w.prop_w));
  const float pb[1] = {w.prop_b};
  T.push_back(TensorSpec::f32("prop_b", {1}, pb));
  // arms and guardrails: the store's offer-policy file (--policy), else the agreed discount arms
  // (trainer/sim/include/disco/sim/arms.h) and today's guardrails, on every data source
  const OfferPolicy& policy = opt.offer_policy.arms.empty() ? default_offer_policy() : opt.offer_policy;
  apply_offer_policy(policy, ds, spec);
  if (!policy.has_budget) {
    spec.guardrails.budget_per_period = opt.budget_per_period;  // per day (budget_period_s default)
    spec.guardrails.budget_mode = opt.budget_mode;
    spec.guardrails.budget_dual_rate = opt.budget_dual_rate;
  } else if (opt.budget_per_period != 0) {
    throw TrainError("export: --budget and " + policy.source +
                     " ($.guardrails.budget) both set the discount budget; keep one");
  }
  spec.bandit.algorithm = BanditAlgorithmSpec::LinTS;
  spec.bandit.context_dim = uint16_t(kContextDim);
  if (opt.noise_scale != 0) {
    if (!(opt.noise_scale > 0) || !std::isfinite(float(opt.noise_scale)))
      throw TrainError("export: noise scale must be a finite number > 0, got " + std::to_string(opt.noise_scale));
    spec.bandit.noise_scale = float(opt.noise_scale);
  }
  if (!(opt.choice_pessimism >= 0.0 && opt.choice_pessimism <= 100.0))
    throw TrainError("export: choice pessimism must be in [0, 100], got " + std::to_string(opt.choice_pessimism));
  spec.bandit.pessimism = float(opt.choice_pessimism);
  if (!opt.bandit_prior.arms.empty()) {
    const BanditPrior& p = opt.bandit_prior;
    if (p.arms.size() != spec.arms.size() || p.dim != kContextDim)
      throw TrainError("export: the bandit prior has " + std::to_string(p.arms.size()) + " arms x " + std::to_string(p.dim) +
                       " features; the bundle has " + std::to_string(spec.arms.size()) + " x " + std::to_string(kContextDim));
    for (const BanditPriorArm& a : p.arms) {
      spec.bandit.prior_a.insert(spec.bandit.prior_a.end(), a.A.begin(), a.A.end());
      spec.bandit.prior_b.insert(spec.bandit.prior_b.end(), a.b.begin(), a.b.end());
      spec.bandit.prior_n.push_back(float(a.n));
    }
    spec.bandit.context_version = uint16_t(kContextVersion);
  }
  if (!opt.value_model.weights.empty()) spec.value_model = opt.value_model;
  spec.has_training = true;
  spec.training.source = opt.source.empty() ? ds.name : opt.source;
  spec.training.events = ds.events.size();
  spec.training.users = ds.user_ids.size();
  spec.training.sessions = ds.sessions.size();
  spec.training.items = ds.items.size();
  if (!ds.events.empty()) {
    int64_t lo = ds.events[0].ts_ms, hi = lo;
    for (const auto& e : ds.events) lo = std::min(lo, e.ts_ms), hi = std::max(hi, e.ts_ms);
    spec.training.first_ts_ms = lo;
    spec.training.last_ts_ms = hi;
  }
  spec.metrics = opt.metrics;
  return spec;
}

std::vector<uint8_t> export_bundle(const ModelWeights& w, const data::Dataset& ds, const ExportOptions& opt) {
  const BundleSpec spec = make_bundle_spec(w, ds, opt);
  BuildResult r;
  if (opt.private_key_pem_path.empty()) {
    r = build_bundle(spec);
  } else {
    const auto pem = read_file(opt.private_key_pem_path);
    r = build_signed_bundle(spec, std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  }
  if (!r.ok()) throw TrainError("export: " + r.error);
  if (!spec.bandit.prior_a.empty() || !spec.value_model.weights.empty()) {
    // The loader does not look inside the bandit prior or the value model; the runtime does (positive definite A,
    // sizes, context version) when it is created, so refuse here what every edge would refuse.
    disco_bundle* b = nullptr;
    disco_status st = disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b);
    if (st != DISCO_OK) throw TrainError(std::string("export: the runtime refused the bundle: ") + disco_last_error());
    disco_runtime_options ro;
    disco_runtime_default_options(&ro);
    disco_runtime* rt = nullptr;
    st = disco_runtime_create(b, &ro, &rt);
    const std::string err = st == DISCO_OK ? std::string() : disco_last_error();
    disco_runtime_free(rt);
    disco_bundle_free(b);
    if (st != DISCO_OK) throw TrainError("export: the runtime refused the bandit policy: " + err);
  }
  return r.bytes;
}

}  // namespace disco::model
