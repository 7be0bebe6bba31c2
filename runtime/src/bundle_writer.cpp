// Bundle writer: plain structs -> Model FlatBuffer -> outer Bundle (checksum, optional signature).
// Native only (excluded from the WASM build in runtime/CMakeLists.txt).
#include "disco/bundle_writer.h"

#include <cstring>

#include "disco/disco.h"
#include "disco/quant.h"
#include "disco/schemas/bundle_generated.h"
#include "disco/version.h"
#include "disco/xxh64.h"

#ifdef DISCO_WITH_OPENSSL
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#endif

namespace fb = disco::fb;

namespace disco {

TensorSpec TensorSpec::f32(std::string name, std::vector<uint32_t> shape, std::span<const float> values) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = TensorDType::F32;
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

TensorSpec TensorSpec::quantized(std::string name, std::vector<uint32_t> shape, std::span<const float> values,
                                 TensorDType dtype) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = dtype;
  const size_t rows = t.shape.empty() ? 0 : t.shape[0];
  size_t cols = 1;
  for (size_t i = 1; i < t.shape.size(); ++i) cols *= t.shape[i];
  if (rows * cols != values.size()) {  // inconsistent input: keep the floats' count visible to the loader
    t.dtype = TensorDType::F32;
    return f32(t.name, t.shape, values);
  }
  t.scales.resize(rows);
  if (dtype == TensorDType::I4) {
    t.data.resize(rows * quant::i4_row_bytes(cols));
    quant::quantize_rows_i4(values.data(), rows, cols, t.data.data(), t.scales.data());
  } else if (dtype == TensorDType::I8) {
    t.data.resize(rows * cols);
    quant::quantize_rows_i8(values.data(), rows, cols, reinterpret_cast<int8_t*>(t.data.data()),
                            t.scales.data());
  } else {
    return f32(t.name, t.shape, values);
  }
  return t;
}

std::vector<uint8_t> build_model_payload(const BundleSpec& spec) {
  flatbuffers::FlatBufferBuilder b(1024 + spec.catalog.item_ids.size() * 32);
  // Tensors first: their data vectors get forced 16-byte alignment.
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const TensorSpec& t : spec.tensors) {
    b.ForceVectorAlignment(t.data.size(), 1, 16);
    auto data = b.CreateVector(t.data.data(), t.data.size());
    auto scales = t.scales.empty() ? 0 : b.CreateVector(t.scales);
    auto shape = b.CreateVector(t.shape);
    auto name = b.CreateString(t.name);
    tensors.push_back(fb::CreateTensor(b, name, shape, static_cast<fb::DType>(t.dtype), scales, data));
  }
  auto tensors_v = b.CreateVector(tensors);

  const CatalogSpec& c = spec.catalog;
  auto ids = b.CreateVectorOfStrings(c.item_ids);
  auto opt_u32 = [&](const std::vector<uint32_t>& v) { return v.empty() ? 0 : b.CreateVector(v); };
  auto opt_f32 = [&](const std::vector<float>& v) { return v.empty() ? 0 : b.CreateVector(v); };
  auto opt_u8 = [&](const std::vector<uint8_t>& v) { return v.empty() ? 0 : b.CreateVector(v); };
  auto category = opt_u32(c.category);
  auto brand = opt_u32(c.brand);
  auto price = opt_f32(c.price);
  auto cost = opt_f32(c.cost);
  auto in_stock = opt_u8(c.in_stock);
  auto cold = opt_u8(c.cold_start);
  auto catalog = fb::CreateCatalog(b, ids, category, brand, price, cost, in_stock, cold);

  const ModelConfigSpec& mc = spec.config;
  auto config = fb::CreateModelConfig(b, mc.emb_dim, mc.hidden, mc.layers, mc.num_event_types,
                                      mc.num_price_buckets, mc.num_gap_buckets, mc.propensity_features);

  std::vector<flatbuffers::Offset<fb::Arm>> arms;
  for (const BundleArm& a : spec.arms) {
    auto name = b.CreateString(a.name);
    auto cats = opt_u32(a.categories), brands = opt_u32(a.brands), items = opt_u32(a.items);
    auto excl = opt_u32(a.excluded_items);
    arms.push_back(fb::CreateArm(b, name, static_cast<fb::ArmKind>(a.kind), a.value, a.merchant_cost,
                                 static_cast<fb::ArmScope>(a.scope), a.lifetime_s, a.window_start_ms,
                                 a.window_end_ms, cats, brands, items, excl, a.min_spend));
  }
  auto arms_v = b.CreateVector(arms);

  const BanditPriorSpec& bp = spec.bandit;
  auto bandit = fb::CreateBanditPrior(b, static_cast<fb::BanditAlgorithm>(bp.algorithm), bp.context_dim,
                                      bp.prior_precision, bp.noise_scale, bp.ucb_alpha, bp.epsilon,
                                      bp.exploration_floor, opt_f32(bp.prior_a),
                                      opt_f32(bp.prior_b), opt_f32(bp.prior_n), bp.context_version, bp.pessimism);
  const GuardrailsSpec& g = spec.guardrails;
  auto guards = fb::CreateGuardrails(b, g.max_discount, g.margin_floor, g.budget_per_period, g.budget_period_s,
                                     g.cooldown_s, g.offer_ttl_s, opt_u32(g.eligible_categories),
                                     opt_u32(g.excluded_items), static_cast<fb::BudgetMode>(g.budget_mode),
                                     g.budget_dual_rate, g.pacing_burst, g.max_discounted_offers);
  flatbuffers::Offset<fb::DataSummary> training = 0;
  if (spec.has_training) {
    const DataSummarySpec& d = spec.training;
    training = fb::CreateDataSummary(b, b.CreateString(d.source), d.events, d.users, d.sessions, d.items,
                                     d.first_ts_ms, d.last_ts_ms);
  }
  std::vector<flatbuffers::Offset<fb::Metric>> metrics;
  for (const auto& [name, value] : spec.metrics) metrics.push_back(fb::CreateMetric(b, b.CreateString(name), value));
  auto metrics_v = metrics.empty() ? 0 : b.CreateVector(metrics);
  flatbuffers::Offset<fb::ValueModel> value_model = 0;
  if (!spec.value_model.weights.empty()) {
    const ValueModelSpec& v = spec.value_model;
    value_model = fb::CreateValueModel(b, v.context_dim, v.context_version,
                                       v.pairs.empty() ? 0 : b.CreateVector(v.pairs), b.CreateVector(v.weights),
                                       v.gamma_per_day, v.weight, v.max_abs,
                                       v.fitted.empty() ? 0 : b.CreateString(v.fitted));
  }
  auto policy = spec.offer_policy.empty() ? 0 : b.CreateString(spec.offer_policy);
  auto version = b.CreateString(spec.model_version);
  auto model = fb::CreateModel(b, version, spec.created_at_ms, config, catalog, tensors_v, arms_v, bandit, guards,
                               training, metrics_v, value_model, policy);
  b.Finish(model);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::vector<uint8_t> wrap_payload(std::span<const uint8_t> payload, const WriteOptions& options) {
  flatbuffers::FlatBufferBuilder b(payload.size() + 256);
  b.ForceVectorAlignment(payload.size(), 1, 16);
  auto pv = b.CreateVector(payload.data(), payload.size());
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> sig = 0;
  flatbuffers::Offset<flatbuffers::String> key = 0;
  if (!options.signature.empty()) sig = b.CreateVector(options.signature);
  if (!options.key_id.empty()) key = b.CreateString(options.key_id);
  const uint64_t checksum = xxh64(payload.data(), payload.size(), 0);
  auto root = fb::CreateBundle(b, options.schema_major, options.schema_minor, pv, fb::ChecksumAlgo::XXH64, checksum,
                               options.signature.empty() ? fb::SignatureAlgo::None
                                                         : fb::SignatureAlgo::EcdsaP256Sha256,
                               sig, key);
  fb::FinishBundleBuffer(b, root);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

namespace {
BuildResult validated(std::vector<uint8_t> bytes, bool validate) {
  BuildResult r;
  r.bytes = std::move(bytes);
  if (!validate) return r;
  disco_bundle* bundle = nullptr;
  const disco_status s = disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &bundle);
  if (s != DISCO_OK) {
    r.error = std::string("the runtime would refuse this bundle (") + disco_status_string(s) + "): " +
              disco_last_error();
    r.bytes.clear();
    return r;
  }
  disco_bundle_free(bundle);
  return r;
}
}  // namespace

BuildResult build_bundle(const BundleSpec& spec, const WriteOptions& options) {
  const std::vector<uint8_t> payload = build_model_payload(spec);
  return validated(wrap_payload(payload, options), options.validate);
}

BundleSpec make_synthetic_spec(const SyntheticOptions& o) {
  uint64_t state = o.seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  auto next = [&state]() {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  auto uniform = [&](float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0));
  };
  auto fill = [&](size_t count, float amp) {
    std::vector<float> v(count);
    for (float& x : v) x = uniform(-amp, amp);
    return v;
  };
  const uint32_t n = o.n_items, d = o.emb_dim, h = o.hidden;
  BundleSpec s;
  s.model_version = "synthetic-" + std::to_string(o.seed);
  s.created_at_ms = 1767225600000;  // 2026-01-01
  s.config.emb_dim = o.emb_dim;
  s.config.hidden = o.hidden;
  s.config.num_price_buckets = o.num_price_buckets;
  s.config.num_gap_buckets = o.num_gap_buckets;
  s.catalog.item_ids.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    s.catalog.item_ids.push_back("item-" + std::to_string(i));
    s.catalog.category.push_back(i % 10);
    s.catalog.brand.push_back(i % 37);
    const float price = 5.0f + static_cast<float>((i * 7919u) % 9500u) / 100.0f;
    s.catalog.price.push_back(price);
    s.catalog.cost.push_back(price * 0.6f);
    s.catalog.in_stock.push_back(i % 17 == 16 ? 0 : 1);
  }
  const float wi = 1.0f / static_cast<float>(d), wh = 1.0f / static_cast<float>(h);
  s.tensors.push_back(TensorSpec::quantized("item_emb", {n, d}, fill(size_t(n) * d, 1.0f), o.item_dtype));
  s.tensors.push_back(TensorSpec::f32("type_emb", {5, d}, fill(5u * d, 0.5f)));
  if (o.num_price_buckets)
    s.tensors.push_back(TensorSpec::f32("price_emb", {o.num_price_buckets, d}, fill(size_t(o.num_price_buckets) * d, 0.3f)));
  if (o.num_gap_buckets)
    s.tensors.push_back(TensorSpec::f32("gap_emb", {o.num_gap_buckets, d}, fill(size_t(o.num_gap_buckets) * d, 0.3f)));
  s.tensors.push_back(TensorSpec::quantized("lstm_w_ih", {4u * h, d}, fill(size_t(4) * h * d, 3.0f * wi * 4), TensorDType::I8));
  s.tensors.push_back(TensorSpec::quantized("lstm_w_hh", {4u * h, h}, fill(size_t(4) * h * h, 3.0f * wh * 4), TensorDType::I8));
  s.tensors.push_back(TensorSpec::f32("lstm_b", {4u * h}, fill(size_t(4) * h, 0.1f)));
  s.tensors.push_back(TensorSpec::quantized("out_proj", {d, h}, fill(size_t(d) * h, 2.0f * wh * 4), TensorDType::I8));
  s.tensors.push_back(TensorSpec::f32("out_bias", {d}, fill(d, 0.05f)));
  s.tensors.push_back(TensorSpec::f32("prop_w", {1, h}, fill(h, 1.0f)));
  s.tensors.push_back(TensorSpec::f32("prop_b", {1}, fill(1, 0.5f)));
  s.arms = {{"0%", ArmKindSpec::Percent, 0.0f, 0.0f},
            {"5%", ArmKindSpec::Percent, 0.05f, 0.0f},
            {"10%", ArmKindSpec::Percent, 0.10f, 0.0f},
            {"15%", ArmKindSpec::Percent, 0.15f, 0.0f},
            {"free-shipping", ArmKindSpec::FreeShipping, 0.0f, 4.5f}};
  s.has_training = true;
  s.training.source = "synthetic";
  s.metrics = {{"synthetic", 1.0}};
  return s;
}

#ifdef DISCO_WITH_OPENSSL
namespace {
std::string openssl_error(const char* what) {
  std::string msg = what;
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

EVP_PKEY* read_private_key(std::string_view pem, std::string* error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) {
    *error = openssl_error("BIO_new_mem_buf failed");
    return nullptr;
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) {
    *error = openssl_error("cannot read the PEM private key");
    return nullptr;
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
    *error = "the private key is not an EC P-256 key";
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}
}  // namespace

bool sign_payload(std::span<const uint8_t> payload, std::string_view pem_private_key,
                  std::vector<uint8_t>* signature, std::string* error) {
  std::string err;
  EVP_PKEY* key = read_private_key(pem_private_key, &err);
  if (!key) {
    if (error) *error = err;
    return false;
  }
  bool ok = false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::vector<uint8_t> der;
  size_t der_len = 0;
  if (ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &der_len, payload.data(), payload.size()) == 1) {
    der.resize(der_len);
    if (EVP_DigestSign(ctx, der.data(), &der_len, payload.data(), payload.size()) == 1) {
      const unsigned char* p = der.data();
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
      if (sig) {
        const BIGNUM *r = nullptr, *s = nullptr;
        ECDSA_SIG_get0(sig, &r, &s);
        signature->assign(64, 0);
        ok = BN_bn2binpad(r, signature->data(), 32) == 32 && BN_bn2binpad(s, signature->data() + 32, 32) == 32;
        ECDSA_SIG_free(sig);
      }
    }
  }
  if (!ok && error) *error = openssl_error("ECDSA signing failed");
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

bool public_key_spki_der(std::string_view pem_private_key, std::vector<uint8_t>* spki_der, std::string* error) {
  std::string err;
  EVP_PKEY* key = read_private_key(pem_private_key, &err);
  if (!key) {
    if (error) *error = err;
    return false;
  }
  const int n = i2d_PUBKEY(key, nullptr);
  bool ok = n > 0;
  if (ok) {
    spki_der->resize(static_cast<size_t>(n));
    unsigned char* p = spki_der->data();
    ok = i2d_PUBKEY(key, &p) == n;
  }
  if (!ok && error) *error = openssl_error("cannot encode the public key");
  EVP_PKEY_free(key);
  return ok;
}

std::string key_id_for_spki(std::span<const uint8_t> spki_der) {
  unsigned char md[32];
  unsigned int md_len = 0;
  if (EVP_Digest(spki_der.data(), spki_der.size(), md, &md_len, EVP_sha256(), nullptr) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    id += hex[md[i] >> 4];
    id += hex[md[i] & 15];
  }
  return id;
}

BuildResult build_signed_bundle(const BundleSpec& spec, std::string_view pem_private_key, WriteOptions options) {
  BuildResult r;
  const std::vector<uint8_t> payload = build_model_payload(spec);
  std::vector<uint8_t> spki;
  if (!sign_payload(payload, pem_private_key, &options.signature, &r.error) ||
      !public_key_spki_der(pem_private_key, &spki, &r.error))
    return r;
  if (options.key_id.empty()) options.key_id = key_id_for_spki(spki);
  return validated(wrap_payload(payload, options), options.validate);
}
#else
bool sign_payload(std::span<const uint8_t>, std::string_view, std::vector<uint8_t>*, std::string* error) {
  if (error) *error = "bundle signing needs OpenSSL (configure with DISCO_WITH_OPENSSL=ON)";
  return false;
}
bool public_key_spki_der(std::string_view, std::vector<uint8_t>*, std::string* error) {
  if (error) *error = "bundle signing needs OpenSSL (configure with DISCO_WITH_OPENSSL=ON)";
  return false;
}
std::string key_id_for_spki(std::span<const uint8_t>) { return {}; }
BuildResult build_signed_bundle(const BundleSpec&, std::string_view, WriteOptions) {
  BuildResult r;
  r.error = "bundle signing needs OpenSSL (configure with DISCO_WITH_OPENSSL=ON)";
  return r;
}
#endif

}  // namespace disco
