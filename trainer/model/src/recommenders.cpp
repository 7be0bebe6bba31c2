#include "disco/model/recommenders.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "disco/disco.h"
#include "disco/quant.h"

namespace disco::model {

LstmRecommender::LstmRecommender(std::string name, std::shared_ptr<const ModelWeights> w,
                                 std::vector<float> catalog_price)
    : name_(std::move(name)), w_(std::move(w)), price_(std::move(catalog_price)) {}

void LstmRecommender::step(FloatSession& s, uint32_t item, uint8_t type) const {
  const int pb = w_->dims.price_buckets > 0 && item < price_.size() ? price_bucket(price_[item], w_->dims.price_buckets) : 0;
  s.observe(int(item), type < w_->dims.num_types ? type : 0, pb, 0);
}

void LstmRecommender::score(std::span<const uint32_t> items, std::span<const uint8_t> types,
                            std::span<float> out) const {
  FloatSession s(*w_);
  for (size_t t = 0; t < items.size(); ++t) step(s, items[t], types[t]);
  s.score_all(out.data());
}

void LstmRecommender::score_prefixes(std::span<const uint32_t> items, std::span<const uint8_t> types, size_t first,
                                     std::span<float> scratch, const PrefixCallback& on_prefix) const {
  FloatSession s(*w_);
  for (size_t t = 0; t < items.size(); ++t) {
    if (t >= first && t > 0) {
      s.score_all(scratch.data());
      on_prefix(t, scratch);
    }
    step(s, items[t], types[t]);
  }
}

float LstmRecommender::propensity(std::span<const uint32_t> items, std::span<const uint8_t> types) const {
  FloatSession s(*w_);
  for (size_t t = 0; t < items.size(); ++t) step(s, items[t], types[t]);
  return s.propensity();
}

// ---- runtime (int8) --------------------------------------------------------------------------

namespace {
std::string rt_error(const char* what, disco_status st) {
  return std::string(what) + ": " + disco_status_string(st) + ": " + disco_last_error();
}
}  // namespace

struct RuntimeRecommender::Run {
  disco_runtime* rt = nullptr;
  disco_session* s = nullptr;
  std::vector<uint32_t> top;
  std::vector<float> sc;
  int64_t ts = 1'700'000'000'000;
  Run(const disco_bundle* b, uint32_t k) : top(k), sc(k) {
    disco_runtime_options o;
    disco_runtime_default_options(&o);
    o.seed = 1;
    o.mode = DISCO_MODE_LOGGING_ONLY;
    o.max_pending_decisions = 16;  // no offers are made here
    disco_status st = disco_runtime_create(b, &o, &rt);
    if (st != DISCO_OK) throw TrainError(rt_error("disco_runtime_create", st));
    st = disco_session_create(rt, 1, &s);
    if (st != DISCO_OK) throw TrainError(rt_error("disco_session_create", st));
  }
  ~Run() {
    if (s) disco_session_free(s);
    if (rt) disco_runtime_free(rt);
  }
  void observe(uint32_t item, uint8_t type) {
    disco_event e{};
    e.ts_ms = ts;
    ts += 1000;
    e.item = item;
    e.type = type;
    e.price = 0.0f;  // catalog price
    e.quantity = 1;
    const disco_status st = disco_observe(s, &e);
    if (st != DISCO_OK) throw TrainError(rt_error("disco_observe", st));
  }
  void scores(std::span<float> out) {
    disco_filter f;
    disco_filter_default_options(&f);
    f.exclude_seen = 0;
    f.include_out_of_stock = 1;
    f.category = -1;
    uint32_t n = 0;
    const disco_status st = disco_recommend(s, uint32_t(top.size()), &f, top.data(), sc.data(), &n);
    if (st != DISCO_OK) throw TrainError(rt_error("disco_recommend", st));
    std::fill(out.begin(), out.end(), -std::numeric_limits<float>::infinity());
    for (uint32_t i = 0; i < n; ++i)
      if (top[i] < out.size()) out[top[i]] = sc[i];
  }
};

RuntimeRecommender::RuntimeRecommender(std::string name, std::vector<uint8_t> bytes, uint32_t top_k)
    : name_(std::move(name)), bytes_(std::move(bytes)), top_k_(top_k) {
  disco_status st = disco_bundle_load(bytes_.data(), bytes_.size(), 0, &bundle_);
  if (st != DISCO_OK) throw TrainError(rt_error("the runtime refused the exported bundle", st));
  disco_bundle_info info{};
  st = disco_bundle_get_info(bundle_, &info);
  if (st != DISCO_OK) throw TrainError(rt_error("disco_bundle_get_info", st));
  n_items_ = info.n_items;
  if (top_k_ == 0 || top_k_ > n_items_) top_k_ = n_items_;
}

RuntimeRecommender::~RuntimeRecommender() {
  if (bundle_) disco_bundle_free(bundle_);
}

void RuntimeRecommender::score(std::span<const uint32_t> items, std::span<const uint8_t> types,
                               std::span<float> out) const {
  Run r(bundle_, top_k_);
  for (size_t t = 0; t < items.size(); ++t) r.observe(items[t], types[t]);
  r.scores(out);
}

void RuntimeRecommender::score_prefixes(std::span<const uint32_t> items, std::span<const uint8_t> types, size_t first,
                                        std::span<float> scratch, const PrefixCallback& on_prefix) const {
  Run r(bundle_, top_k_);
  for (size_t t = 0; t < items.size(); ++t) {
    if (t >= first && t > 0) {
      r.scores(scratch);
      on_prefix(t, scratch);
    }
    r.observe(items[t], types[t]);
  }
}

float RuntimeRecommender::propensity(std::span<const uint32_t> items, std::span<const uint8_t> types) const {
  Run r(bundle_, top_k_);
  for (size_t t = 0; t < items.size(); ++t) r.observe(items[t], types[t]);
  float p = 0.f;
  const disco_status st = disco_purchase_probability(r.s, &p);
  if (st != DISCO_OK) throw TrainError(rt_error("disco_purchase_probability", st));
  return p;
}

// ---- quantize -> dequantize ------------------------------------------------------------------

namespace {
void roundtrip_i8(Matrix& m) {
  std::vector<int8_t> q(m.data.size());
  std::vector<float> s(size_t(m.rows));
  quant::quantize_rows_i8(m.data.data(), size_t(m.rows), size_t(m.cols), q.data(), s.data());
  quant::dequantize_rows_i8(q.data(), s.data(), size_t(m.rows), size_t(m.cols), m.data.data());
}
void roundtrip_i4(Matrix& m) {
  std::vector<uint8_t> q(size_t(m.rows) * quant::i4_row_bytes(size_t(m.cols)));
  std::vector<float> s(size_t(m.rows));
  quant::quantize_rows_i4(m.data.data(), size_t(m.rows), size_t(m.cols), q.data(), s.data());
  quant::dequantize_rows_i4(q.data(), s.data(), size_t(m.rows), size_t(m.cols), m.data.data());
}
}  // namespace

ModelWeights dequantized_copy(const ModelWeights& w, bool item_int4) {
  ModelWeights q = w;
  if (item_int4) roundtrip_i4(q.item_emb);
  else roundtrip_i8(q.item_emb);
  for (auto& m : q.w_ih) roundtrip_i8(m);
  for (auto& m : q.w_hh) roundtrip_i8(m);
  roundtrip_i8(q.out_proj);
  return q;
}

}  // namespace disco::model
