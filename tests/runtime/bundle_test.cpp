// Bundle format: XXH64 vectors, quantization rules, writer -> loader round trip, the malformed-bundle
// corpus (each refused with the right status and message), and ECDSA P-256 signatures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "disco/bundle_writer.h"
#include "disco/disco.h"
#include "disco/quant.h"
#include "disco/schemas/bundle_generated.h"
#include "disco/version.h"
#include "disco/xxh64.h"

#ifdef DISCO_WITH_OPENSSL
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#endif

namespace {

disco::BundleSpec small_spec() {
  disco::SyntheticOptions o;
  o.n_items = 40;
  o.emb_dim = 8;
  o.hidden = 12;
  o.seed = 7;
  return disco::make_synthetic_spec(o);
}

struct Loaded {
  disco_status status;
  std::string message;
};
Loaded try_load(const std::vector<uint8_t>& bytes) {
  disco_bundle* b = nullptr;
  disco_status s = disco_bundle_load(bytes.data(), bytes.size(), 0, &b);
  Loaded r{s, s == DISCO_OK ? "" : disco_last_error()};
  if (s == DISCO_OK) {
    EXPECT_NE(b, nullptr);
    disco_bundle_free(b);
  } else {
    EXPECT_EQ(b, nullptr);
    EXPECT_FALSE(r.message.empty()) << "a refusal must carry a message";
  }
  return r;
}

}  // namespace

TEST(RuntimeXxh64, ReferenceVectors) {
  // Values from the reference implementation (libxxhash 0.8.1), seed 0.
  EXPECT_EQ(disco::xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(disco::xxh64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(disco::xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(disco::xxh64("xxhash", 6), 0x32DD38952C4BC720ULL);
  const char* s = "Nobody inspects the spammish repetition";
  EXPECT_EQ(disco::xxh64(s, std::strlen(s)), 0xFBCEA83C8A378BF1ULL);
  const char* t = "0123456789abcdef0123456789abcdef0123456789";  // > 32 bytes: the 4-lane path
  EXPECT_EQ(disco::xxh64(t, std::strlen(t)), 0xA76190C3ACF08A1CULL);
  uint8_t buf[300];
  for (int i = 0; i < 300; ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  EXPECT_EQ(disco::xxh64(buf, 300, 0), 0xC68E7EF39B5CA10EULL);
  EXPECT_EQ(disco::xxh64(buf, 300, 0x9E3779B1ULL), 0x6CA8E717AB083D31ULL);
}

TEST(RuntimeQuant, Int8RowRules) {
  namespace q = disco::quant;
  EXPECT_EQ(q::round_half_away(0.5f), 1.0f);
  EXPECT_EQ(q::round_half_away(-0.5f), -1.0f);
  EXPECT_EQ(q::round_half_away(1.5f), 2.0f);
  EXPECT_EQ(q::round_half_away(2.5f), 3.0f);  // not banker's rounding
  EXPECT_EQ(q::round_half_away(0.49999997f), 0.0f);
  EXPECT_EQ(q::round_half_away(-2.4f), -2.0f);
  const float rows[2][4] = {{1.27f, -0.635f, 0.0f, 0.01f}, {0, 0, 0, 0}};
  int8_t out[8];
  float scales[2];
  q::quantize_rows_i8(&rows[0][0], 2, 4, out, scales);
  EXPECT_FLOAT_EQ(scales[0], 1.27f / 127.0f);
  EXPECT_EQ(out[0], 127);
  EXPECT_EQ(out[1], -64);  // -63.5 rounds away from zero
  EXPECT_EQ(out[2], 0);
  EXPECT_EQ(out[3], 1);
  EXPECT_EQ(scales[1], 1.0f);  // zero row
  for (int j = 4; j < 8; ++j) EXPECT_EQ(out[j], 0);
  float back[8];
  q::dequantize_rows_i8(out, scales, 2, 4, back);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(back[j], rows[0][j], scales[0] / 2 + 1e-7f);
}

TEST(RuntimeQuant, Int4PackedLowNibbleFirst) {
  namespace q = disco::quant;
  const float row[5] = {0.7f, -0.7f, 0.1f, -0.35f, 0.3f};  // odd length: last high nibble is 0
  uint8_t packed[3];
  float scale;
  q::quantize_rows_i4(row, 1, 5, packed, &scale);
  EXPECT_FLOAT_EQ(scale, 0.1f);
  EXPECT_EQ(q::i4_get(packed, 0), 7);
  EXPECT_EQ(q::i4_get(packed, 1), -7);
  EXPECT_EQ(q::i4_get(packed, 2), 1);
  EXPECT_EQ(q::i4_get(packed, 3), -4);  // -3.5 away from zero
  EXPECT_EQ(q::i4_get(packed, 4), 3);
  EXPECT_EQ(packed[0], 0x97);           // low nibble 7, high nibble -7 = 0x9
  EXPECT_EQ(packed[2] >> 4, 0);
  float back[5];
  q::dequantize_rows_i4(packed, &scale, 1, 5, back);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(back[j], row[j], scale / 2 + 1e-6f);
}

TEST(RuntimeQuant, VectorQuantizationClampsAndHandlesZero) {
  float zero[3] = {0, 0, 0};
  int8_t q[3];
  EXPECT_EQ(disco::quant::quantize_vector_i8(zero, 3, q), 1.0f);
  EXPECT_EQ(q[0] | q[1] | q[2], 0);
  float v[3] = {-2.0f, 1.0f, 0.0f};
  const float s = disco::quant::quantize_vector_i8(v, 3, q);
  EXPECT_FLOAT_EQ(s, 2.0f / 127.0f);
  EXPECT_EQ(q[0], -127);
  EXPECT_EQ(q[1], 64);  // 63.5 -> 64
}

TEST(RuntimeBundle, RoundTripThroughWriterAndInfo) {
  disco::BundleSpec spec = small_spec();
  spec.metrics = {{"hr@20", 0.61}, {"mrr@20", 0.27}};
  auto r = disco::build_bundle(spec);
  ASSERT_TRUE(r.ok()) << r.error;
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_bundle_info info{};
  ASSERT_EQ(disco_bundle_get_info(b, &info), DISCO_OK);
  EXPECT_EQ(info.schema_major, 1);
  EXPECT_EQ(info.schema_minor, 0);
  EXPECT_EQ(info.n_items, 40u);
  EXPECT_EQ(info.emb_dim, 8u);
  EXPECT_EQ(info.hidden, 12u);
  EXPECT_EQ(info.n_arms, 5u);
  EXPECT_EQ(info.signed_, 0u);
  EXPECT_EQ(info.created_at_ms, spec.created_at_ms);
  EXPECT_STREQ(info.model_version, "synthetic-7");
  uint32_t idx = 0;
  ASSERT_EQ(disco_bundle_item_index(b, "item-17", 7, &idx), DISCO_OK);
  EXPECT_EQ(idx, 17u);
  const char* id = nullptr;
  ASSERT_EQ(disco_bundle_item_id(b, 39, &id), DISCO_OK);
  EXPECT_STREQ(id, "item-39");
  EXPECT_EQ(disco_bundle_item_index(b, "nope", 4, &idx), DISCO_ERR_UNKNOWN_ITEM);
  EXPECT_NE(std::string(disco_last_error()).find("'nope'"), std::string::npos);
  EXPECT_EQ(disco_bundle_item_id(b, 40, &id), DISCO_ERR_UNKNOWN_ITEM);

  // Zero copy: tensor data sits 16-byte aligned in the caller's buffer.
  const auto* outer = disco::fb::GetBundle(r.bytes.data());
  const auto* model = outer->payload_nested_root();
  for (const auto* t : *model->tensors()) {
    EXPECT_EQ((t->data()->data() - r.bytes.data()) % 16, 0) << t->name()->str();
  }
  // The stored int8 rows equal quantize_rows_i8 of the spec's floats (writer uses quant.h).
  const auto* emb = model->tensors()->Get(0);
  EXPECT_EQ(emb->name()->str(), "item_emb");
  EXPECT_EQ(std::memcmp(emb->data()->data(), spec.tensors[0].data.data(), spec.tensors[0].data.size()), 0);
  EXPECT_EQ(model->metrics()->size(), 2u);
  disco_bundle_free(b);
}

TEST(RuntimeBundle, Int4ItemTableLoads) {
  disco::SyntheticOptions o;
  o.n_items = 33;
  o.emb_dim = 6;
  o.hidden = 8;
  o.item_dtype = disco::TensorDType::I4;
  auto r = disco::build_bundle(disco::make_synthetic_spec(o));
  ASSERT_TRUE(r.ok()) << r.error;
}

TEST(RuntimeBundleCorpus, EmptyAndNull) {
  std::vector<uint8_t> empty;
  auto l = try_load(empty);
  EXPECT_EQ(l.status, DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(l.message.find("empty"), std::string::npos) << l.message;
  EXPECT_EQ(disco_bundle_load(nullptr, 10, 0, nullptr), DISCO_ERR_INVALID_ARGUMENT);
}

TEST(RuntimeBundleCorpus, TruncatedAtManyPoints) {
  auto r = disco::build_bundle(small_spec());
  ASSERT_TRUE(r.ok()) << r.error;
  const size_t n = r.bytes.size();
  int refused = 0;
  for (size_t cut = 1; cut < n; cut += (cut < 64 ? 1 : 37)) {
    std::vector<uint8_t> t(r.bytes.begin(), r.bytes.begin() + static_cast<long>(cut));
    auto l = try_load(t);
    EXPECT_NE(l.status, DISCO_OK) << "truncated at " << cut << " of " << n << " was accepted";
    EXPECT_TRUE(l.status == DISCO_ERR_BUNDLE_FORMAT) << cut << ": " << l.message;
    ++refused;
  }
  EXPECT_GT(refused, 60);
}

TEST(RuntimeBundleCorpus, WrongIdentifier) {
  auto r = disco::build_bundle(small_spec());
  ASSERT_TRUE(r.ok());
  std::memcpy(r.bytes.data() + 4, "NOPE", 4);
  auto l = try_load(r.bytes);
  EXPECT_EQ(l.status, DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(l.message.find("'NOPE'"), std::string::npos) << l.message;
  EXPECT_NE(l.message.find("DSCB"), std::string::npos) << l.message;
}

TEST(RuntimeBundleCorpus, NewerSchemaRefusedByName) {
  disco::WriteOptions w;
  w.schema_major = 2;
  w.validate = false;
  auto r = disco::build_bundle(small_spec(), w);
  auto l = try_load(r.bytes);
  EXPECT_EQ(l.status, DISCO_ERR_VERSION);
  EXPECT_EQ(l.message, "bundle schema 2.0 is newer than this runtime (1.x); upgrade the runtime");
  // A newer major is refused before its payload is looked at (the payload may be anything).
  std::vector<uint8_t> junk(64, 0xAB);
  auto r2 = disco::wrap_payload(junk, w);
  auto l2 = try_load(r2);
  EXPECT_EQ(l2.status, DISCO_ERR_VERSION) << l2.message;
  // The furthest plausible next major is still "newer"; one beyond is a damaged header.
  w.schema_major = disco::kSchemaMajor + disco::kSchemaMajorMaxAhead;
  EXPECT_EQ(try_load(disco::build_bundle(small_spec(), w).bytes).status, DISCO_ERR_VERSION);
  for (uint16_t major : {uint16_t(disco::kSchemaMajor + disco::kSchemaMajorMaxAhead + 1), uint16_t(28672)}) {
    w.schema_major = major;
    auto c = try_load(disco::build_bundle(small_spec(), w).bytes);
    EXPECT_EQ(c.status, DISCO_ERR_BUNDLE_FORMAT) << c.message;
    EXPECT_EQ(c.message, "bundle header is corrupt (schema " + std::to_string(major) + "): fetch or copy the bundle again");
  }
  // A newer minor of our major is read.
  disco::WriteOptions minor;
  minor.schema_minor = 7;
  EXPECT_TRUE(disco::build_bundle(small_spec(), minor).ok());
}

TEST(RuntimeBundleCorpus, ChecksumMismatchNamesBothValues) {
  auto r = disco::build_bundle(small_spec());
  ASSERT_TRUE(r.ok());
  const auto* outer = disco::fb::GetBundle(r.bytes.data());
  // Flip one byte inside tensor data (still a structurally valid payload).
  const auto* t = outer->payload_nested_root()->tensors()->Get(0);
  const size_t off = static_cast<size_t>(t->data()->data() - r.bytes.data()) + 3;
  r.bytes[off] ^= 0x40;
  auto l = try_load(r.bytes);
  EXPECT_EQ(l.status, DISCO_ERR_CHECKSUM);
  char want[64];
  std::snprintf(want, sizeof want, "expected 0x%016llx", static_cast<unsigned long long>(outer->checksum()));
  EXPECT_NE(l.message.find("checksum mismatch, " + std::string(want) + ", got 0x"), std::string::npos) << l.message;
  // The benchmark-only flag skips the checksum (the payload is still verified and accepted).
  disco_bundle* b = nullptr;
  EXPECT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), DISCO_LOAD_SKIP_CHECKSUM, &b), DISCO_OK);
  disco_bundle_free(b);
}

TEST(RuntimeBundleCorpus, EveryByteFlippedInASample) {
  auto r = disco::build_bundle(small_spec());
  ASSERT_TRUE(r.ok());
  std::mt19937 rng(1234);
  int accepted = 0, total = 0;
  const size_t n = r.bytes.size();
  // Every byte of the first 512 (header, vtables, offsets) and a random sample of the rest.
  std::vector<size_t> positions;
  for (size_t i = 0; i < std::min<size_t>(n, 512); ++i) positions.push_back(i);
  for (int i = 0; i < 1500; ++i) positions.push_back(rng() % n);
  for (size_t pos : positions) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      std::vector<uint8_t> m = r.bytes;
      m[pos] ^= mask;
      auto l = try_load(m);
      ++total;
      if (l.status == DISCO_OK) ++accepted;
      else EXPECT_TRUE(l.status == DISCO_ERR_BUNDLE_FORMAT || l.status == DISCO_ERR_CHECKSUM ||
                       l.status == DISCO_ERR_VERSION || l.status == DISCO_ERR_SHAPE)
          << "byte " << pos << ": " << disco_status_string(l.status) << " " << l.message;
    }
  }
  // Flips the checksum does not cover (outer padding, the signature-less outer fields' unused bytes,
  // schema_minor) may load; anything touching the payload must not.
  EXPECT_LT(accepted, total / 20) << accepted << " of " << total << " mutated bundles loaded";
}

TEST(RuntimeBundleCorpus, WrongShapesAndDtypes) {
  struct Case {
    const char* what;
    std::function<void(disco::BundleSpec&)> mutate;
    disco_status want;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"item_emb rows", [](disco::BundleSpec& s) { s.tensors[0].shape[0] = 39; }, DISCO_ERR_SHAPE,
       "tensor 'item_emb' has shape [39, 8], expected [40, 8]"},
      {"item_emb data", [](disco::BundleSpec& s) { s.tensors[0].data.pop_back(); }, DISCO_ERR_SHAPE,
       "tensor 'item_emb' holds 319 data bytes, expected 320"},
      {"scales", [](disco::BundleSpec& s) { s.tensors[0].scales.pop_back(); }, DISCO_ERR_SHAPE,
       "tensor 'item_emb' has 39 scales, expected one per row (40)"},
      {"zero scale", [](disco::BundleSpec& s) { s.tensors[0].scales[5] = 0.0f; }, DISCO_ERR_SHAPE, "row 5 has scale"},
      {"w_hh dtype", [](disco::BundleSpec& s) { for (auto& t : s.tensors) if (t.name == "lstm_w_hh") t.dtype = disco::TensorDType::I4; },
       DISCO_ERR_SHAPE, "tensor 'lstm_w_hh' has dtype i4"},
      {"missing", [](disco::BundleSpec& s) { std::erase_if(s.tensors, [](auto& t) { return t.name == "lstm_b"; }); },
       DISCO_ERR_SHAPE, "tensor 'lstm_b' is missing"},
      {"bias length", [](disco::BundleSpec& s) { for (auto& t : s.tensors) if (t.name == "out_bias") t.shape = {9}; },
       DISCO_ERR_SHAPE, "tensor 'out_bias' has shape [9], expected [8]"},
      {"catalog column", [](disco::BundleSpec& s) { s.catalog.price.pop_back(); }, DISCO_ERR_BUNDLE_FORMAT,
       "catalog column 'price' has 39 entries, expected one per item (40)"},
      {"duplicate id", [](disco::BundleSpec& s) { s.catalog.item_ids[3] = "item-2"; }, DISCO_ERR_BUNDLE_FORMAT,
       "catalog item id 'item-2' appears twice"},
      {"no arms", [](disco::BundleSpec& s) { s.arms.clear(); }, DISCO_ERR_BUNDLE_FORMAT, "no arms"},
      {"arm value", [](disco::BundleSpec& s) { s.arms[1].value = 1.5f; }, DISCO_ERR_BUNDLE_FORMAT, "arm 1 ('5%')"},
      {"zero dims", [](disco::BundleSpec& s) { s.config.hidden = 0; }, DISCO_ERR_SHAPE, "both must be > 0"},
      {"nan bias", [](disco::BundleSpec& s) { for (auto& t : s.tensors) if (t.name == "lstm_b") { float nan = NAN; std::memcpy(t.data.data(), &nan, 4); } },
       DISCO_ERR_SHAPE, "tensor 'lstm_b' element 0 is not finite"},
      {"excluded item", [](disco::BundleSpec& s) { s.guardrails.excluded_items = {40}; }, DISCO_ERR_BUNDLE_FORMAT,
       "excluded_items lists index 40"},
  };
  for (const Case& c : cases) {
    disco::BundleSpec s = small_spec();
    c.mutate(s);
    disco::WriteOptions w;
    w.validate = false;
    auto r = disco::build_bundle(s, w);
    auto l = try_load(r.bytes);
    EXPECT_EQ(l.status, c.want) << c.what << ": " << l.message;
    EXPECT_NE(l.message.find(c.fragment), std::string::npos) << c.what << ": " << l.message;
    // The writer's validation refuses the same spec with the loader's message.
    auto v = disco::build_bundle(s);
    EXPECT_FALSE(v.ok()) << c.what;
    EXPECT_NE(v.error.find(c.fragment), std::string::npos) << v.error;
  }
}

TEST(RuntimeBundleCorpus, OversizedRefusedBeforeReading) {
  // The size check happens before any byte is read, so a small allocation stands in for 256 MiB + 1.
  std::vector<uint8_t> small(16, 0);
  disco_bundle* b = nullptr;
  const size_t huge = (256u << 20) + 1;
  // Pass a length larger than the buffer: the loader must refuse on the length alone.
  EXPECT_EQ(disco_bundle_load(small.data(), huge, 0, &b), DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(std::string(disco_last_error()).find("256 MiB"), std::string::npos) << disco_last_error();
  EXPECT_EQ(b, nullptr);
}

#ifdef DISCO_WITH_OPENSSL
namespace {
std::string make_p256_pem() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  EXPECT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}
}  // namespace

TEST(RuntimeSignature, AcceptsOwnKeyRejectsOthersAndTampering) {
  const std::string pem = make_p256_pem(), other = make_p256_pem();
  auto r = disco::build_signed_bundle(small_spec(), pem);
  ASSERT_TRUE(r.ok()) << r.error;
  std::vector<uint8_t> spki, spki_other;
  std::string err;
  ASSERT_TRUE(disco::public_key_spki_der(pem, &spki, &err)) << err;
  ASSERT_TRUE(disco::public_key_spki_der(other, &spki_other, &err)) << err;

  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b), DISCO_OK);
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  EXPECT_EQ(info.signed_, 1u);
  const auto* outer = disco::fb::GetBundle(r.bytes.data());
  EXPECT_EQ(outer->signature()->size(), 64u);
  EXPECT_EQ(outer->key_id()->str(), disco::key_id_for_spki(spki));
  EXPECT_EQ(outer->key_id()->size(), 16u);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size()), DISCO_OK) << disco_last_error();
  EXPECT_EQ(disco_bundle_verify_signature(b, spki_other.data(), spki_other.size()), DISCO_ERR_SIGNATURE);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size() - 3), DISCO_ERR_INVALID_ARGUMENT);
  disco_bundle_free(b);

  // Tamper with the signature bytes (not covered by the checksum): loads, but does not verify.
  std::vector<uint8_t> bad = r.bytes;
  const size_t sig_off = static_cast<size_t>(outer->signature()->data() - r.bytes.data());
  bad[sig_off + 10] ^= 1;
  ASSERT_EQ(disco_bundle_load(bad.data(), bad.size(), 0, &b), DISCO_OK);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size()), DISCO_ERR_SIGNATURE);
  disco_bundle_free(b);

  // A payload re-signed... by nobody: unsigned bundle is reported as such.
  auto u = disco::build_bundle(small_spec());
  ASSERT_EQ(disco_bundle_load(u.bytes.data(), u.bytes.size(), 0, &b), DISCO_OK);
  EXPECT_EQ(disco_bundle_verify_signature(b, spki.data(), spki.size()), DISCO_ERR_SIGNATURE);
  EXPECT_NE(std::string(disco_last_error()).find("not signed"), std::string::npos);
  disco_bundle_free(b);
}

// Bundle-signing key rotation (collector/PROTOCOL.md, "Bundle-signing keys"): a reader that knows
// the old and the new key picks the one whose key id is the bundle's key_id; both bundles verify,
// each with its own key only (the CLI: RuntimeCli.InspectVerifiesWithTheKeyNamedByTheBundlesKeyId).
TEST(RuntimeSignature, ReaderKnowingBothKeyIdsVerifiesOldAndNewBundles) {
  const std::string old_pem = make_p256_pem(), new_pem = make_p256_pem();
  std::vector<uint8_t> old_spki, new_spki;
  std::string err;
  ASSERT_TRUE(disco::public_key_spki_der(old_pem, &old_spki, &err)) << err;
  ASSERT_TRUE(disco::public_key_spki_der(new_pem, &new_spki, &err)) << err;
  const std::vector<std::vector<uint8_t>> known = {old_spki, new_spki};
  for (const std::string* pem : {&old_pem, &new_pem}) {
    auto r = disco::build_signed_bundle(small_spec(), *pem);
    ASSERT_TRUE(r.ok()) << r.error;
    const std::string kid = disco::fb::GetBundle(r.bytes.data())->key_id()->str();
    disco_bundle* b = nullptr;
    ASSERT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b), DISCO_OK);
    int verified = 0, by_id = 0;
    for (const auto& k : known) {
      const bool same_id = disco::key_id_for_spki(k) == kid;
      by_id += same_id;
      const disco_status st = disco_bundle_verify_signature(b, k.data(), k.size());
      EXPECT_EQ(st == DISCO_OK, same_id);  // the key named by the id verifies, the other does not
      verified += st == DISCO_OK;
    }
    EXPECT_EQ(by_id, 1);
    EXPECT_EQ(verified, 1);
    disco_bundle_free(b);
  }
}

TEST(RuntimeSignature, VerifiesWithOpenSslDirectly) {
  // Cross-check the raw r||s encoding: rebuild DER and verify with OpenSSL's own API.
  const std::string pem = make_p256_pem();
  std::vector<uint8_t> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> sig, spki;
  std::string err;
  ASSERT_TRUE(disco::sign_payload(payload, pem, &sig, &err)) << err;
  ASSERT_EQ(sig.size(), 64u);
  ASSERT_TRUE(disco::public_key_spki_der(pem, &spki, &err));
  const unsigned char* p = spki.data();
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  ASSERT_NE(pub, nullptr);
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(sig.data(), 32, nullptr), BN_bin2bn(sig.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(es, &der);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, der, static_cast<size_t>(der_len), payload.data(), payload.size()), 1);
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  EVP_PKEY_free(pub);
}
#else
// Registered without OpenSSL too, so its absence shows as a skip with the reason.
TEST(RuntimeSignature, NotBuilt) {
  GTEST_SKIP() << "bundle signatures are not checked natively in this configuration (DISCO_WITH_OPENSSL=ON and libssl-dev)";
}
#endif
