// Quantization error bounds, export -> runtime load/verify -> reload, signatures, cold start.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "disco/bundle_writer.h"
#include "disco/data/ingest.h"
#include "disco/disco.h"
#include "disco/model/export.h"
#include "disco/model/recommenders.h"
#include "disco/model/weights.h"
#include "trainer_test_util.h"

using namespace disco::model;

namespace {

ModelWeights random_weights(int n, int d, int h, uint64_t seed, int layers = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> N(0.f, 0.3f);
  auto fill = [&](Matrix& m, int r, int c) {
    m = Matrix(r, c);
    for (float& x : m.data) x = N(rng);
  };
  ModelWeights w;
  w.dims = {n, d, h, layers, 5, 0, 0};
  fill(w.item_emb, n, d);
  fill(w.type_emb, 5, d);
  for (int l = 0; l < layers; ++l) {
    w.w_ih.emplace_back();
    fill(w.w_ih.back(), 4 * h, l == 0 ? d : h);
    w.w_hh.emplace_back();
    fill(w.w_hh.back(), 4 * h, h);
    w.b.emplace_back(size_t(4 * h));
    for (float& x : w.b.back()) x = N(rng);
  }
  fill(w.out_proj, d, h);
  w.out_bias.resize(size_t(d));
  for (float& x : w.out_bias) x = N(rng);
  w.prop_w.resize(size_t(h));
  for (float& x : w.prop_w) x = N(rng);
  w.prop_b = 0.1f;
  return w;
}

disco::data::Dataset tiny_ds(const std::string& name) {
  const std::string dir = trainer_test::temp_dir(name);
  trainer_test::write_store(dir, 40, 120);
  return disco::data::read_canonical(dir);
}

std::string bytes_str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

}  // namespace

TEST(TrainerQuant, DequantizeErrorIsWithinHalfAStepPerRow) {
  const ModelWeights w = random_weights(300, 32, 16, 1);
  for (bool int4 : {false, true}) {
    const ModelWeights q = dequantized_copy(w, int4);
    auto check = [](const Matrix& a, const Matrix& b, float levels, const char* name) {
      double worst = 0;
      for (int r = 0; r < a.rows; ++r) {
        float mx = 0;
        for (int c = 0; c < a.cols; ++c) mx = std::max(mx, std::fabs(a.row(r)[c]));
        const float half_step = mx / levels / 2;
        for (int c = 0; c < a.cols; ++c) {
          const float e = std::fabs(a.row(r)[c] - b.row(r)[c]);
          ASSERT_LE(e, half_step * 1.0001f + 1e-7f) << name << " row " << r << " col " << c;
          worst = std::max(worst, double(e / std::max(mx, 1e-12f)));
        }
      }
      EXPECT_GT(worst, 0.0) << name << ": nothing was quantized";
    };
    check(w.item_emb, q.item_emb, int4 ? 7.f : 127.f, "item_emb");
    check(w.w_ih[0], q.w_ih[0], 127.f, "lstm_w_ih");
    check(w.w_hh[0], q.w_hh[0], 127.f, "lstm_w_hh");
    check(w.out_proj, q.out_proj, 127.f, "out_proj");
    EXPECT_EQ(w.type_emb.data, q.type_emb.data) << "f32 tensors must stay exact";
    EXPECT_EQ(w.b[0], q.b[0]);
  }
}

TEST(TrainerExport, ExportVerifyReloadAndScoreThroughTheRuntime) {
  const auto ds = tiny_ds("export");
  const ModelWeights w = random_weights(int(ds.items.size()), 16, 16, 2);
  const std::string keys = trainer_test::temp_dir("keys");
  const std::string id = keygen(keys);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_THROW(keygen(keys), TrainError) << "keygen must not overwrite a private key";
  ExportOptions eo;
  eo.model_version = "test-1";
  eo.private_key_pem_path = keys + "/private.pem";
  eo.cold_start.assign(ds.items.size(), 0);
  eo.cold_start[3] = 1;
  eo.metrics = {{"lstm/HR@20", 0.5}};
  const auto bytes = export_bundle(w, ds, eo);
  const std::string path = keys + "/bundle.disco";
  write_file(path, bytes);
  const auto again = read_file(path);  // reload from disk
  ASSERT_EQ(again, bytes);
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(again.data(), again.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_bundle_info info{};
  ASSERT_EQ(disco_bundle_get_info(b, &info), DISCO_OK);
  EXPECT_EQ(info.n_items, ds.items.size());
  EXPECT_EQ(info.emb_dim, 16u);
  EXPECT_EQ(info.hidden, 16u);
  EXPECT_EQ(info.signed_, 1u);
  EXPECT_STREQ(info.model_version, "test-1");
  uint32_t idx = 0;
  ASSERT_EQ(disco_bundle_item_index(b, "it7", 3, &idx), DISCO_OK);
  EXPECT_EQ(ds.items[idx].id, "it7");
  const auto spki = read_file(keys + "/public.der");
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size()), DISCO_OK) << disco_last_error();
  disco_bundle_free(b);

  // the runtime's int8 scores track the float model (per-row int8 weights + int8 activations)
  auto wp = std::make_shared<const ModelWeights>(w);
  LstmRecommender fl("f", wp);
  RuntimeRecommender rt("q", bytes);
  const std::vector<uint32_t> items{1, 2, 3, 5, 8, 13};
  const std::vector<uint8_t> types{0, 0, 2, 0, 1, 4};
  std::vector<float> f(ds.items.size()), q(ds.items.size());
  double maxerr = 0, maxabs = 0;
  for (size_t t = 1; t <= items.size(); ++t) {
    fl.score(std::span(items).first(t), std::span(types).first(t), f);
    rt.score(std::span(items).first(t), std::span(types).first(t), q);
    for (size_t j = 0; j < f.size(); ++j) {
      if (eo.cold_start[j]) continue;
      maxerr = std::max(maxerr, double(std::fabs(f[j] - q[j])));
      maxabs = std::max(maxabs, double(std::fabs(f[j])));
    }
  }
  EXPECT_GT(maxabs, 0.1);
  EXPECT_LT(maxerr, 0.05 * maxabs) << "int8 runtime scores drift from the float model: " << maxerr << " of " << maxabs;
  EXPECT_NEAR(fl.propensity(items, types), rt.propensity(items, types), 0.02);
}

TEST(TrainerExport, ModifiedBundlesAreRejected) {
  const auto ds = tiny_ds("tamper");
  const ModelWeights w = random_weights(int(ds.items.size()), 8, 8, 3);
  const std::string keys = trainer_test::temp_dir("tamper-keys");
  keygen(keys);
  ExportOptions eo;
  eo.private_key_pem_path = keys + "/private.pem";
  eo.created_at_ms = 1;
  const auto good = export_bundle(w, ds, eo);
  const auto spki = read_file(keys + "/public.der");

  // 1. a flipped byte in the middle of the file: the checksum (or the verifier) refuses it
  auto flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  disco_bundle* b = nullptr;
  EXPECT_NE(disco_bundle_load(flipped.data(), flipped.size(), 0, &b), DISCO_OK);
  EXPECT_EQ(b, nullptr);

  // 2. a different model carrying a valid signature of the original payload (checksum
  //    recomputed, so only the signature can catch it)
  ModelWeights w2 = w;
  w2.prop_b += 1.0f;
  const auto payload_good = disco::build_model_payload(make_bundle_spec(w, ds, eo));
  const auto payload_bad = disco::build_model_payload(make_bundle_spec(w2, ds, eo));
  ASSERT_NE(payload_good, payload_bad);
  std::vector<uint8_t> sig;
  std::string err;
  ASSERT_TRUE(disco::sign_payload(payload_good, bytes_str(read_file(keys + "/private.pem")), &sig, &err)) << err;
  disco::WriteOptions wo;
  wo.signature = sig;
  wo.key_id = bytes_str(read_file(keys + "/key_id.txt"));
  for (const bool tampered : {false, true}) {
    const auto bundle = disco::wrap_payload(tampered ? payload_bad : payload_good, wo);
    disco_bundle* fb = nullptr;
    ASSERT_EQ(disco_bundle_load(bundle.data(), bundle.size(), 0, &fb), DISCO_OK) << disco_last_error();
    EXPECT_EQ(disco_bundle_verify_signature(fb, spki.data(), spki.size()), tampered ? DISCO_ERR_SIGNATURE : DISCO_OK)
        << (tampered ? "a modified model passed the signature check" : disco_last_error());
    disco_bundle_free(fb);
  }

  // 3. a good bundle checked against someone else's public key
  const std::string other_keys = trainer_test::temp_dir("tamper-keys2");
  keygen(other_keys);
  const auto spki2 = read_file(other_keys + "/public.der");
  ASSERT_EQ(disco_bundle_load(good.data(), good.size(), 0, &b), DISCO_OK);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size()), DISCO_OK);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki2.data(), spki2.size()), DISCO_ERR_SIGNATURE);
  disco_bundle_free(b);
}

TEST(TrainerExport, RefusesMultiLayerAndNonFiniteModels) {
  const auto ds = tiny_ds("refuse");
  ModelWeights w = random_weights(int(ds.items.size()), 8, 8, 4, 2);
  EXPECT_THROW(export_bundle(w, ds, {}), TrainError);
  ModelWeights w1 = random_weights(int(ds.items.size()), 8, 8, 4);
  w1.w_hh[0].data[5] = NAN;
  try {
    export_bundle(w1, ds, {});
    FAIL();
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}

TEST(TrainerExport, ColdStartItemsGetTheirCategoryDirection) {
  const auto ds = tiny_ds("cold");
  ModelWeights w = random_weights(int(ds.items.size()), 8, 8, 5);
  std::vector<uint8_t> cold(ds.items.size(), 0);
  cold[0] = 1;  // category of it0
  const ColdStartStats st = apply_cold_start(w, ds, cold);
  EXPECT_EQ(st.items, 1u);
  // expected: mean of trained items of it0's category and brand, rescaled
  const uint32_t c = ds.items[0].category, br = ds.items[0].brand;
  std::vector<double> mc(8, 0), mb(8, 0);
  int nc = 0, nb = 0;
  for (size_t i = 1; i < ds.items.size(); ++i) {
    if (ds.items[i].category == c) {
      ++nc;
      for (int k = 0; k < 8; ++k) mc[size_t(k)] += w.item_emb.row(int(i))[k];
    }
    if (ds.items[i].brand == br) {
      ++nb;
      for (int k = 0; k < 8; ++k) mb[size_t(k)] += w.item_emb.row(int(i))[k];
    }
  }
  ASSERT_GT(nc, 0);
  ASSERT_GT(nb, 0);
  double dot = 0, n1 = 0, n2 = 0;
  for (int k = 0; k < 8; ++k) {
    const double m = (mc[size_t(k)] / nc + mb[size_t(k)] / nb) / 2;
    dot += m * w.item_emb.row(0)[k];
    n1 += m * m;
    n2 += double(w.item_emb.row(0)[k]) * w.item_emb.row(0)[k];
  }
  EXPECT_NEAR(dot / std::sqrt(n1 * n2), 1.0, 1e-5);
  EXPECT_GT(std::sqrt(n2), std::sqrt(n1));  // rescaled to a typical item norm, not shrunk
}

// Untrained items never outrank trained ones (issue 16): in the float model, for random states
// and random weights, and after int8 export through the runtime.
TEST(TrainerExport, UntrainedItemsNeverOutrankTrainedOnes) {
  const int n = 200;
  ModelWeights w = random_weights(n, 16, 16, 11);
  std::vector<uint8_t> cold(size_t(n), 0);
  for (int i = 0; i < n; i += 7) cold[size_t(i)] = 1;
  // untrained items whose content would otherwise score high: the mean direction, large norm
  for (int i = 0; i < n; ++i)
    if (cold[size_t(i)])
      for (int k = 0; k < 16; ++k) w.item_emb.row(i)[k] *= 5.0f;
  const ModelWeights before = w;
  const DemoteStats st = demote_untrained(w, cold);
  EXPECT_EQ(st.items, uint64_t((n + 6) / 7));
  ASSERT_EQ(w.dims.emb_dim, 17);
  w.validate();
  std::mt19937_64 rng(5);
  std::vector<float> s0(static_cast<size_t>(n)), s1(static_cast<size_t>(n));
  FloatSession a(before), b(w);
  int cold_on_top_before = 0;
  for (int t = 0; t < 300; ++t) {
    int item = int(rng() % uint64_t(n));
    if (cold[size_t(item)]) item = (item + 1) % n;  // trained inputs: same LSTM state in both
    const int type = int(rng() % 5);
    a.observe(item, type, 0, 0);
    b.observe(item, type, 0, 0);
    a.score_all(s0.data());
    b.score_all(s1.data());
    float max_cold = -INFINITY, min_trained = INFINITY, max_cold0 = -INFINITY, max_trained0 = -INFINITY;
    for (int j = 0; j < n; ++j) {
      if (cold[size_t(j)]) {
        max_cold = std::max(max_cold, s1[size_t(j)]);
        max_cold0 = std::max(max_cold0, s0[size_t(j)]);
      } else {
        min_trained = std::min(min_trained, s1[size_t(j)]);
        max_trained0 = std::max(max_trained0, s0[size_t(j)]);
        EXPECT_NEAR(s1[size_t(j)] - s0[size_t(j)], 0.0f, 1e-3f) << "trained scores changed";
      }
    }
    cold_on_top_before += max_cold0 > max_trained0;
    ASSERT_LT(max_cold, min_trained) << "step " << t;
  }
  EXPECT_GT(cold_on_top_before, 0) << "the test would not catch anything: no untrained item ever ranked first before";
  // the exported int8 bundle through the runtime: every top-k of a trained-only history is trained
  const auto ds = tiny_ds("demote");
  ModelWeights w2 = random_weights(int(ds.items.size()), 16, 16, 12);
  std::vector<uint8_t> cold2(ds.items.size(), 0);
  cold2[1] = cold2[4] = 1;
  for (int k = 0; k < 16; ++k) w2.item_emb.row(1)[k] = 3.0f * w2.out_bias[size_t(k)];  // aligned with u: on top
  demote_untrained(w2, cold2);
  ExportOptions eo;
  eo.cold_start = cold2;
  const auto bytes = export_bundle(w2, ds, eo);
  const RuntimeRecommender rt("rt", bytes, 0);
  std::vector<float> sc(ds.items.size());
  std::vector<uint32_t> items = {0, 2, 3, 0, 2};
  std::vector<uint8_t> types = {0, 0, 1, 0, 0};
  rt.score_prefixes(items, types, 1, sc, [&](size_t, std::span<const float> s) {
    float min_trained = INFINITY;
    for (size_t j = 0; j < s.size(); ++j)
      if (!cold2[j] && std::isfinite(s[j])) min_trained = std::min(min_trained, s[j]);
    ASSERT_TRUE(std::isfinite(min_trained));
    EXPECT_LT(s[1], min_trained);
    EXPECT_LT(s[4], min_trained);
  });
}
