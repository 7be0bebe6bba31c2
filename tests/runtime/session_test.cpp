// Sessions: the int8 LSTM step against (1) an exact mirror of schemas/MODEL.md written here and
// (2) a plain float reference (stated tolerance); recommend() against brute force, with filters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "disco/portable_math.h"
#include "disco/quant.h"
#include "test_util.h"

using namespace rt_test;
namespace q = disco::quant;

namespace {

const disco::TensorSpec& tensor(const disco::BundleSpec& s, const char* name) {
  for (const auto& t : s.tensors)
    if (t.name == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return s.tensors[0];
}
std::vector<float> floats(const disco::TensorSpec& t) {
  if (t.dtype == disco::TensorDType::F32) {
    std::vector<float> v(t.data.size() / 4);
    std::memcpy(v.data(), t.data.data(), t.data.size());
    return v;
  }
  const size_t rows = t.shape[0], cols = t.shape[1];
  std::vector<float> v(rows * cols);
  if (t.dtype == disco::TensorDType::I8)
    q::dequantize_rows_i8(reinterpret_cast<const int8_t*>(t.data.data()), t.scales.data(), rows, cols, v.data());
  else
    q::dequantize_rows_i4(t.data.data(), t.scales.data(), rows, cols, v.data());
  return v;
}
const int8_t* i8(const disco::TensorSpec& t) { return reinterpret_cast<const int8_t*>(t.data.data()); }

// Exact mirror of the runtime's quantized step (model-spec.md), written independently.
struct Mirror {
  const disco::BundleSpec& s;
  uint32_t d, h, nb, ng;
  std::vector<float> hv, cv;
  std::vector<int8_t> hq;
  float hs = 1.0f;
  int64_t last = INT64_MIN;
  explicit Mirror(const disco::BundleSpec& spec)
      : s(spec), d(spec.config.emb_dim), h(spec.config.hidden), nb(spec.config.num_price_buckets),
        ng(spec.config.num_gap_buckets), hv(h), cv(h), hq(h) {}
  static int32_t dot(const int8_t* a, const int8_t* b, size_t n) {
    int32_t r = 0;
    for (size_t i = 0; i < n; ++i) r += int32_t(a[i]) * b[i];
    return r;
  }
  void step(uint32_t item, uint32_t type, float price, int64_t ts) {
    std::vector<float> x = floats(tensor(s, "item_emb"));
    x = std::vector<float>(x.begin() + long(item) * d, x.begin() + long(item + 1) * d);
    const auto te = floats(tensor(s, "type_emb"));
    for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + te[type * d + j];
    if (price <= 0) price = s.catalog.price[item];
    if (nb) {
      int b = price <= 0 ? 0 : int(std::floor(2.0 * std::log2(1.0 + double(price))));
      b = std::clamp(b, 0, int(nb) - 1);
      const auto pe = floats(tensor(s, "price_emb"));
      for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + pe[size_t(b) * d + j];
    }
    if (ng) {
      const double g = last == INT64_MIN ? 0.0 : std::max(0.0, double(ts - last) / 1000.0);
      const int b = std::clamp(int(std::floor(std::log2(1.0 + g))), 0, int(ng) - 1);
      const auto ge = floats(tensor(s, "gap_emb"));
      for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + ge[size_t(b) * d + j];
    }
    last = ts;
    std::vector<int8_t> xq(d);
    const float sx = q::quantize_vector_i8(x.data(), d, xq.data());
    const auto& wih = tensor(s, "lstm_w_ih");
    const auto& whh = tensor(s, "lstm_w_hh");
    const auto b = floats(tensor(s, "lstm_b"));
    std::vector<float> z(4 * h);
    for (uint32_t r = 0; r < 4 * h; ++r) {
      const float a = (float(dot(i8(wih) + size_t(r) * d, xq.data(), d)) * wih.scales[r]) * sx;
      const float c = (float(dot(i8(whh) + size_t(r) * h, hq.data(), h)) * whh.scales[r]) * hs;
      z[r] = (a + c) + b[r];
    }
    for (uint32_t j = 0; j < h; ++j) {
      const float ig = disco::pmath::sigmoidf(z[j]), fg = disco::pmath::sigmoidf(z[h + j]);
      const float gg = disco::pmath::tanhf(z[2 * h + j]), og = disco::pmath::sigmoidf(z[3 * h + j]);
      cv[j] = fg * cv[j] + ig * gg;
      hv[j] = og * disco::pmath::tanhf(cv[j]);
    }
    hs = q::quantize_vector_i8(hv.data(), h, hq.data());
  }
  float propensity() const {
    const auto w = floats(tensor(s, "prop_w"));
    const auto b = floats(tensor(s, "prop_b"));
    float p = 0;
    for (uint32_t j = 0; j < h; ++j) p = p + w[j] * hv[j];
    return disco::pmath::sigmoidf(p + b[0]);
  }
  // int8 scores of every item, as the runtime computes them.
  std::vector<float> scores() const {
    const auto& op = tensor(s, "out_proj");
    const auto ob = floats(tensor(s, "out_bias"));
    std::vector<float> u(d);
    for (uint32_t r = 0; r < d; ++r) u[r] = (float(dot(i8(op) + size_t(r) * h, hq.data(), h)) * op.scales[r]) * hs + ob[r];
    std::vector<int8_t> uq(d);
    const float su = q::quantize_vector_i8(u.data(), d, uq.data());
    const auto& e = tensor(s, "item_emb");
    const size_t n = e.shape[0];
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i) {
      int32_t acc = 0;
      if (e.dtype == disco::TensorDType::I4) {
        const uint8_t* row = e.data.data() + i * q::i4_row_bytes(d);
        for (uint32_t j = 0; j < d; ++j) acc += int32_t(q::i4_get(row, j)) * uq[j];
      } else {
        acc = dot(i8(e) + i * d, uq.data(), d);
      }
      out[i] = (float(acc) * e.scales[i]) * su;
    }
    return out;
  }
};

// Plain float LSTM with dequantized weights, float activations and libm nonlinearities.
struct FloatRef {
  uint32_t d, h;
  std::vector<float> emb, type, wih, whh, b, hv, cv;
  explicit FloatRef(const disco::BundleSpec& s)
      : d(s.config.emb_dim), h(s.config.hidden), emb(floats(tensor(s, "item_emb"))), type(floats(tensor(s, "type_emb"))),
        wih(floats(tensor(s, "lstm_w_ih"))), whh(floats(tensor(s, "lstm_w_hh"))), b(floats(tensor(s, "lstm_b"))),
        hv(h), cv(h) {}
  void step(uint32_t item, uint32_t t) {
    std::vector<double> x(d), z(4 * h);
    for (uint32_t j = 0; j < d; ++j) x[j] = double(emb[item * d + j]) + type[t * d + j];
    for (uint32_t r = 0; r < 4 * h; ++r) {
      double a = b[r];
      for (uint32_t j = 0; j < d; ++j) a += double(wih[r * d + j]) * x[j];
      for (uint32_t j = 0; j < h; ++j) a += double(whh[r * h + j]) * hv[j];
      z[r] = a;
    }
    auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    for (uint32_t j = 0; j < h; ++j) {
      const double c = sig(z[h + j]) * cv[j] + sig(z[j]) * std::tanh(z[2 * h + j]);
      cv[j] = float(c);
      hv[j] = float(sig(z[3 * h + j]) * std::tanh(c));
    }
  }
};

}  // namespace

TEST(RuntimeSession, LstmStepMatchesSpecMirrorBitExactly) {
  // Variants: plain; price + gap buckets; int4 item table with an odd emb_dim.
  for (int variant = 0; variant < 3; ++variant) {
    auto o = small_options(120, variant == 2 ? 15 : 16, 24, 11);
    if (variant == 1) {
      o.num_price_buckets = 12;
      o.num_gap_buckets = 10;
    }
    if (variant == 2) o.item_dtype = disco::TensorDType::I4;
    const disco::BundleSpec spec = disco::make_synthetic_spec(o);
    BundleHolder bh(spec);
    disco_runtime* rt = make_runtime(bh.bundle, 1);
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(rt, 77, &s), DISCO_OK);
    Mirror m(spec);
    float p = 0;
    ASSERT_EQ(disco_purchase_probability(s, &p), DISCO_OK);
    EXPECT_EQ(p, disco::pmath::sigmoidf(floats(tensor(spec, "prop_b"))[0]));
    std::mt19937 rng(5);
    const float prices[] = {0.0f, 1.0f, 3.0f, 7.0f, 0.41f, 15.0f, 99.5f, 1000.0f};
    int64_t ts = 1700000000000;
    for (int t = 0; t < 40; ++t) {
      const uint32_t item = rng() % o.n_items, type = rng() % 5;
      const float price = prices[rng() % 8];
      ts += int64_t(rng() % 5000) * (t % 3 == 0 ? 1000 : 1);  // gaps from ms to ~80 min
      ASSERT_EQ(observe(s, ev(ts, item, type, price)), DISCO_OK) << disco_last_error();
      m.step(item, type, price, ts);
      ASSERT_EQ(disco_purchase_probability(s, &p), DISCO_OK);
      ASSERT_EQ(p, m.propensity()) << "step " << t << " variant " << variant;
    }
    // Ranking equals the mirror's int8 scores, best first, ties by lower index (no filters).
    const std::vector<float> sc = m.scores();
    std::vector<uint32_t> order(sc.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return sc[a] > sc[b]; });
    disco_filter all;
    disco_filter_default_options(&all);
    all.exclude_seen = 0; all.include_out_of_stock = 1; all.exclude = nullptr; all.n_exclude = 0; all.category = -1;
    std::vector<uint32_t> items(o.n_items);
    std::vector<float> scores(o.n_items);
    uint32_t n = 0;
    ASSERT_EQ(disco_recommend(s, o.n_items, &all, items.data(), scores.data(), &n), DISCO_OK);
    ASSERT_EQ(n, o.n_items);
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_EQ(items[i], order[i]) << "rank " << i;
      ASSERT_EQ(scores[i], sc[order[i]]);
    }
    disco_session_free(s);
    disco_runtime_free(rt);
  }
}

TEST(RuntimeSession, LstmWithinToleranceOfFloatReference) {
  // Tolerance: int8 weights are already in the reference (dequantized), so the difference is the
  // per-step int8 activation quantization (x_t, h_{t-1}: half a step of max|v|/127 each) and the
  // portable nonlinearities; over 30 steps |h_int8 - h_float| stays below 0.03 on every unit.
  const auto o = small_options(200, 32, 64, 21);
  const disco::BundleSpec spec = disco::make_synthetic_spec(o);
  BundleHolder bh(spec);
  disco_runtime* rt = make_runtime(bh.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  FloatRef f(spec);
  Mirror m(spec);
  std::mt19937 rng(9);
  float worst = 0;
  for (int t = 0; t < 30; ++t) {
    const uint32_t item = rng() % o.n_items, type = rng() % 5;
    ASSERT_EQ(observe(s, ev(1000 * t, item, type)), DISCO_OK);
    f.step(item, type);
    m.step(item, type, 0, 1000 * t);
    for (uint32_t j = 0; j < o.hidden; ++j) worst = std::max(worst, std::fabs(m.hv[j] - f.hv[j]));
  }
  std::printf("max |h_int8 - h_float| over 30 steps, h=64: %.5f\n", worst);
  EXPECT_LT(worst, 0.03f);
  EXPECT_GT(worst, 0.0f);  // the quantized path really is quantized
  disco_session_free(s);
  disco_runtime_free(rt);
}

namespace {
// Items whose float scores against a known u are geometrically separated (10% apart).
disco::BundleSpec separated_spec(uint32_t n, std::vector<float>* emb_out, std::vector<float>* u_out) {
  auto o = small_options(n, 16, 8, 4);
  disco::BundleSpec s = disco::make_synthetic_spec(o);
  const uint32_t d = o.emb_dim, h = o.hidden;
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> U(-1, 1);
  std::vector<float> u(d);
  for (float& x : u) x = U(rng);
  std::vector<float> emb(size_t(n) * d);
  // Scramble which index gets which magnitude so the ranking is not the index order.
  std::vector<uint32_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0u);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (uint32_t i = 0; i < n; ++i) {
    const float c = std::pow(1.1f, float(perm[i])) * 0.05f;
    for (uint32_t j = 0; j < d; ++j) emb[size_t(i) * d + j] = c * u[j] * (1.0f + 0.01f * U(rng));
  }
  for (auto& t : s.tensors) {
    if (t.name == "item_emb") t = disco::TensorSpec::quantized("item_emb", {n, d}, emb, disco::TensorDType::I8);
    if (t.name == "out_proj") t = disco::TensorSpec::quantized("out_proj", {d, h}, std::vector<float>(size_t(d) * h, 0.0f), disco::TensorDType::I8);
    if (t.name == "out_bias") t = disco::TensorSpec::f32("out_bias", {d}, u);
  }
  *emb_out = emb;
  *u_out = u;
  return s;
}
}  // namespace

TEST(RuntimeRecommend, MatchesBruteForceFloatTopKWithFilters) {
  const uint32_t n = 60, d = 16;
  std::vector<float> emb, u;
  disco::BundleSpec spec = separated_spec(n, &emb, &u);
  BundleHolder bh(spec);
  disco_runtime* rt = make_runtime(bh.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  std::vector<float> fs(n);
  for (uint32_t i = 0; i < n; ++i) {
    double a = 0;
    for (uint32_t j = 0; j < d; ++j) a += double(emb[i * d + j]) * u[j];
    fs[i] = float(a);
  }
  std::vector<uint32_t> by_score(n);
  std::iota(by_score.begin(), by_score.end(), 0u);
  std::sort(by_score.begin(), by_score.end(), [&](uint32_t a, uint32_t b) { return fs[a] > fs[b]; });
  // Observe the 3 best items: exclude_seen must drop them.
  for (int k = 0; k < 3; ++k) ASSERT_EQ(observe(s, ev(k, by_score[size_t(k)], 0)), DISCO_OK);
  const uint32_t extra_excl[] = {by_score[5]};
  disco_filter f;
  disco_filter_default_options(&f);
  f.exclude_seen = 1; f.include_out_of_stock = 0; f.exclude = extra_excl; f.n_exclude = 1; f.category = -1;
  std::vector<uint32_t> want;
  for (uint32_t i : by_score) {
    const bool seen = i == by_score[0] || i == by_score[1] || i == by_score[2];
    const bool oos = spec.catalog.in_stock[i] == 0;
    if (seen || oos || i == by_score[5]) continue;
    want.push_back(i);
    if (want.size() == 10) break;
  }
  uint32_t items[10];
  float scores[10];
  uint32_t got = 0;
  ASSERT_EQ(disco_recommend(s, 10, &f, items, scores, &got), DISCO_OK);
  ASSERT_EQ(got, 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(items[i], want[i]) << "rank " << i;
    EXPECT_NEAR(scores[i], fs[items[i]], 0.02f * std::fabs(fs[items[i]]) + 1e-3f);
    if (i) EXPECT_GE(scores[i - 1], scores[i]);
  }
  // Out-of-stock items come back when asked for; seen items when exclude_seen = 0.
  disco_filter loose;
  disco_filter_default_options(&loose);
  loose.exclude_seen = 0; loose.include_out_of_stock = 1; loose.exclude = nullptr; loose.n_exclude = 0; loose.category = -1;
  ASSERT_EQ(disco_recommend(s, 10, &loose, items, scores, &got), DISCO_OK);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(items[i], by_score[i]);
  // Category filter: every result in the category, and k larger than what is left.
  disco_filter cat;
  disco_filter_default_options(&cat);
  cat.exclude_seen = 1; cat.include_out_of_stock = 0; cat.exclude = nullptr; cat.n_exclude = 0; cat.category = 3;
  uint32_t big_items[100];
  float big_scores[100];
  ASSERT_EQ(disco_recommend(s, 100, &cat, big_items, big_scores, &got), DISCO_OK);
  uint32_t expect_n = 0;
  for (uint32_t i = 0; i < n; ++i)
    if (spec.catalog.category[i] == 3 && spec.catalog.in_stock[i] && i != by_score[0] && i != by_score[1] && i != by_score[2])
      ++expect_n;
  EXPECT_EQ(got, expect_n);
  for (uint32_t i = 0; i < got; ++i) EXPECT_EQ(spec.catalog.category[big_items[i]], 3u);
  // Errors.
  EXPECT_EQ(disco_recommend(s, 0, &f, items, scores, &got), DISCO_ERR_INVALID_ARGUMENT);
  disco_filter bad;
  disco_filter_default_options(&bad);
  bad.exclude_seen = 1; bad.include_out_of_stock = 0; bad.exclude = nullptr; bad.n_exclude = 2; bad.category = -1;
  EXPECT_EQ(disco_recommend(s, 5, &bad, items, scores, &got), DISCO_ERR_INVALID_ARGUMENT);
  disco_session_free(s);
  disco_runtime_free(rt);
}

// disco_rank: the order of disco_recommend over the whole catalog, restricted to the candidates,
// with the same scores (bit for bit) and the same filters; duplicates once; unknown indices left out.
TEST(RuntimeRank, OrdersCandidatesAsRecommendWithTheSameFilters) {
  const uint32_t n = 700;  // > one scan block of candidates
  BundleHolder bh(disco::make_synthetic_spec(small_options(n, 32, 24)));
  disco_runtime* rt = make_runtime(bh.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 9, &s), DISCO_OK);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(observe(s, ev(i, uint32_t(i * 97 % n), uint32_t(i % 3))), DISCO_OK);
  std::mt19937 rng(5);
  const uint32_t excl[] = {3, 10, 400};
  for (int variant = 0; variant < 4; ++variant) {
    disco_filter f;
    disco_filter_default_options(&f);
    if (variant == 1) f.exclude_seen = 0, f.include_out_of_stock = 1;
    if (variant == 2) f.category = 2;
    if (variant == 3) f.exclude = excl, f.n_exclude = 3;
    std::vector<uint32_t> all(n), all_n(1);
    std::vector<float> all_s(n);
    ASSERT_EQ(disco_recommend(s, n, &f, all.data(), all_s.data(), all_n.data()), DISCO_OK);
    all.resize(all_n[0]);
    for (uint32_t m : {1u, 50u, 500u, 650u}) {
      std::vector<uint32_t> cand(m);
      for (auto& c : cand) c = uint32_t(rng() % n);
      cand.push_back(cand[0]);  // a duplicate comes back once
      std::vector<uint32_t> want;
      std::vector<float> want_s;
      for (size_t i = 0; i < all.size(); ++i)
        if (std::find(cand.begin(), cand.end(), all[i]) != cand.end()) want.push_back(all[i]), want_s.push_back(all_s[i]);
      std::vector<uint32_t> got(cand.size());
      std::vector<float> got_s(cand.size());
      uint32_t got_n = 12345;

      ASSERT_EQ(disco_rank(s, cand.data(), uint32_t(cand.size()), &f, got.data(), got_s.data(), &got_n), DISCO_OK);
      ASSERT_EQ(got_n, want.size()) << "variant " << variant << " m " << m;
      for (uint32_t i = 0; i < got_n; ++i) {
        EXPECT_EQ(got[i], want[i]) << "variant " << variant << " m " << m << " position " << i;
        EXPECT_EQ(std::memcmp(&got_s[i], &want_s[i], 4), 0) << "score of " << got[i];
      }
    }
  }
  // The default filter (NULL) drops seen items, as recommend's does.
  const uint32_t seen_and_not[] = {0, 1};  // item 0 was observed (i = 0)
  uint32_t out[4];
  float out_s[4];
  uint32_t out_n = 0;
  ASSERT_EQ(disco_rank(s, seen_and_not, 2, nullptr, out, out_s, &out_n), DISCO_OK);
  EXPECT_EQ(out_n, 1u);
  EXPECT_EQ(out[0], 1u);
  // n = 0: nothing to rank, the pointers may be NULL.
  out_n = 7;
  EXPECT_EQ(disco_rank(s, nullptr, 0, nullptr, nullptr, nullptr, &out_n), DISCO_OK);
  EXPECT_EQ(out_n, 0u);
  // An index beyond the catalog is left out, as a filtered one; the candidates' bits are cleared
  // after each call (the next rank does not see them).
  const uint32_t unknown[] = {n + 5, 1, n, 0xffffffffu};
  out_n = 7;
  ASSERT_EQ(disco_rank(s, unknown, 4, nullptr, out, out_s, &out_n), DISCO_OK);
  EXPECT_EQ(out_n, 1u);
  EXPECT_EQ(out[0], 1u);
  const uint32_t two[] = {2};
  ASSERT_EQ(disco_rank(s, two, 1, nullptr, out, out_s, &out_n), DISCO_OK);
  EXPECT_EQ(out_n, 1u);
  EXPECT_EQ(out[0], 2u);
  EXPECT_EQ(disco_rank(nullptr, unknown, 1, nullptr, out, out_s, &out_n), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_rank(s, unknown, 1, nullptr, nullptr, out_s, &out_n), DISCO_ERR_INVALID_ARGUMENT);
  disco_filter bad;
  disco_filter_default_options(&bad);
  bad.n_exclude = 2;
  EXPECT_EQ(disco_rank(s, unknown, 1, &bad, out, out_s, &out_n), DISCO_ERR_INVALID_ARGUMENT);
  disco_session_free(s);
  disco_runtime_free(rt);
}

TEST(RuntimeSession, ObserveRejectsBadEvents) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(50, 8, 8)));
  disco_runtime* rt = make_runtime(bh.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  EXPECT_EQ(observe(s, ev(0, 50, 0)), DISCO_ERR_UNKNOWN_ITEM);
  EXPECT_NE(std::string(disco_last_error()).find("item index 50"), std::string::npos);
  EXPECT_EQ(observe(s, ev(0, 1, 5)), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(observe(s, ev(0, 1, 0, NAN)), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_observe(s, nullptr), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(observe(s, ev(0, 1, 0)), DISCO_OK);
  EXPECT_GT(disco_session_memory_bytes(s), 0u);
  disco_session_free(s);
  disco_runtime_free(rt);
}
