// Bundle loading (zero copy) and the bundle half of the C ABI.
// Order of checks (schemas/bundle.fbs): size -> identifier -> Verifier(Bundle, nested payload not
// yet) -> schema major -> checksum -> Verifier(Model) -> model config / catalog / tensors / arms.
#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "disco/disco.h"
#include "disco/version.h"
#include "disco/xxh64.h"
#include "model_internal.h"
#include "status_internal.h"

#ifdef DISCO_WITH_OPENSSL
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#endif

namespace fb = disco::fb;
using disco::detail::concat;
using disco::detail::fail;
using disco::detail::guarded;
using disco::detail::guarded_void;

namespace disco::detail {
size_t StringViewHash::operator()(std::string_view s) const noexcept { return size_t(xxh64(s.data(), s.size(), 0)); }

void ItemIndex::init(const Ids* ids) {
  ids_ = ids;
  const size_t n = ids ? ids->size() : 0;
  size_t buckets = 16;
  while (buckets < 2 * n) buckets <<= 1;
  mask_ = uint32_t(buckets - 1);
  slots_.assign(buckets, 0u);
  tags_.assign(buckets, 0u);
}

uint32_t ItemIndex::add(uint32_t i) {
  const std::string_view id = ids_->Get(i)->string_view();
  const uint64_t h = xxh64(id.data(), id.size(), 0);
  const uint32_t tag = uint32_t(h >> 32);
  for (uint32_t b = uint32_t(h) & mask_;; b = (b + 1) & mask_) {
    const uint32_t v = slots_[b];
    if (v == 0) {
      slots_[b] = i + 1;
      tags_[b] = tag;
      return i;
    }
    if (tags_[b] == tag && ids_->Get(v - 1)->string_view() == id) return v - 1;
  }
}

int64_t ItemIndex::find(std::string_view id) const {
  if (slots_.empty()) return -1;
  const uint64_t h = xxh64(id.data(), id.size(), 0);
  const uint32_t tag = uint32_t(h >> 32);
  for (uint32_t b = uint32_t(h) & mask_;; b = (b + 1) & mask_) {
    const uint32_t v = slots_[b];
    if (v == 0) return -1;
    if (tags_[b] == tag && ids_->Get(v - 1)->string_view() == id) return int64_t(v - 1);
  }
}
}  // namespace disco::detail

namespace {

std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = digits[v & 15];
  return concat("0x", s);
}

const char* dtype_name(fb::DType t) {
  switch (t) {
    case fb::DType::F32: return "f32";
    case fb::DType::I8: return "i8";
    case fb::DType::I4: return "i4";
  }
  return "unknown";
}

std::string shape_str(const flatbuffers::Vector<uint32_t>* s) {
  std::string r = "[";
  for (uint32_t i = 0; i < s->size(); ++i) r += (i ? ", " : "") + std::to_string(s->Get(i));
  return concat(r, "]");
}

const fb::Tensor* find_tensor(const fb::Model* m, std::string_view name) {
  for (const fb::Tensor* t : *m->tensors())
    if (t->name()->string_view() == name) return t;
  return nullptr;
}

// Checks a 2-D tensor (a 1-D tensor counts as [1, n] only when rows == 1 is expected) and fills view.
disco_status check_matrix(const fb::Tensor* t, std::string_view name, uint32_t rows, uint32_t cols, bool allow_f32,
                          bool allow_i8, bool allow_i4, disco::detail::MatrixView* view) {
  const std::string nm(name);
  const auto* shape = t->shape();
  if (shape->size() != 2 || shape->Get(0) != rows || shape->Get(1) != cols)
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' has shape ", shape_str(shape), ", expected [", rows, ", ", cols,
                "]");
  const fb::DType dt = t->dtype();
  if ((dt == fb::DType::F32 && !allow_f32) || (dt == fb::DType::I8 && !allow_i8) ||
      (dt == fb::DType::I4 && !allow_i4) || (dt != fb::DType::F32 && dt != fb::DType::I8 && dt != fb::DType::I4))
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' has dtype ", dtype_name(dt), " (", int(dt),
                "), which this tensor may not use");
  size_t row_bytes = dt == fb::DType::F32 ? size_t(cols) * 4 : dt == fb::DType::I8 ? size_t(cols) : (size_t(cols) + 1) / 2;
  const size_t need = row_bytes * rows;
  if (t->data()->size() != need)
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' holds ", t->data()->size(), " data bytes, expected ", need, " for ",
                dtype_name(dt), " ", shape_str(shape));
  if (dt != fb::DType::F32) {
    const size_t ns = t->scales() ? t->scales()->size() : 0;
    if (ns != rows)
      return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' has ", ns, " scales, expected one per row (", rows, ")");
    for (uint32_t r = 0; r < rows; ++r) {
      const float s = t->scales()->Get(r);
      if (!std::isfinite(s) || s <= 0.0f)
        return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' row ", r, " has scale ", s, " (must be finite and > 0)");
    }
  }
  if (view) {
    view->dtype = dt;
    view->rows = rows;
    view->cols = cols;
    view->row_bytes = row_bytes;
    view->data = t->data()->data();
    view->scales = t->scales() ? reinterpret_cast<const uint8_t*>(t->scales()->data()) : nullptr;
  }
  return DISCO_OK;
}

// F32 tensor of exactly `count` values with the given shape (1-D [count] or 2-D [rows, cols]); copied.
disco_status copy_f32(const fb::Model* m, std::string_view name, std::initializer_list<uint32_t> shape,
                      std::vector<float>* out) {
  const std::string nm(name);
  const fb::Tensor* t = find_tensor(m, name);
  if (!t) return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' is missing from the bundle");
  size_t count = 1;
  for (uint32_t s : shape) count *= s;
  bool shape_ok = t->shape()->size() == shape.size();
  if (shape_ok) {
    size_t i = 0;
    for (uint32_t s : shape) shape_ok = shape_ok && t->shape()->Get(uint32_t(i++)) == s;
  }
  if (!shape_ok) {
    std::string want = "[";
    size_t i = 0;
    for (uint32_t s : shape) want += (i++ ? ", " : "") + std::to_string(s);
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' has shape ", shape_str(t->shape()), ", expected ", want, "]");
  }
  if (t->dtype() != fb::DType::F32)
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' has dtype ", dtype_name(t->dtype()), ", expected f32");
  if (t->data()->size() != count * 4)
    return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' holds ", t->data()->size(), " data bytes, expected ", count * 4);
  out->resize(count);
  if (count) std::memcpy(out->data(), t->data()->data(), count * 4);
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite((*out)[i])) return fail(DISCO_ERR_SHAPE, "tensor '", nm, "' element ", i, " is not finite");
  return DISCO_OK;
}

#if !DISCO_WASM
// Absent, or strictly ascending with every entry < limit.
bool ascending(const disco::detail::U32List* v, uint32_t limit) {
  const uint32_t n = v ? v->size() : 0, *p = n ? v->data() : nullptr;
  for (uint32_t i = 0; i < n; ++i)
    if (p[i] >= limit || (i && p[i] <= p[i - 1])) return false;
  return true;
}
#endif

template <typename V>
disco_status check_column(const V* v, const char* name, uint32_t n) {
  if (v && v->size() != n)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "catalog column '", name, "' has ", v->size(),
                " entries, expected one per item (", n, ")");
  return DISCO_OK;
}

disco_status load_model(disco_bundle* b) {
  const fb::Model* m = b->model;
  const fb::ModelConfig* cfg = m->config();
  if (cfg->emb_dim() == 0 || cfg->hidden() == 0)
    return fail(DISCO_ERR_SHAPE, "model config has emb_dim ", cfg->emb_dim(), " and hidden ", cfg->hidden(),
                "; both must be > 0");
  if (cfg->emb_dim() > 1024 || cfg->hidden() > 1024)
    return fail(DISCO_ERR_SHAPE, "model config emb_dim/hidden above 1024 is not supported");
  if (cfg->layers() != 1)
    return fail(DISCO_ERR_UNSUPPORTED, "model has ", cfg->layers(), " LSTM layers; this runtime executes exactly 1");
  if (cfg->num_event_types() < 5)
    return fail(DISCO_ERR_SHAPE, "model config num_event_types is ", cfg->num_event_types(),
                ", at least 5 (view, click, cart, remove, purchase) are needed");
  if (cfg->propensity_features() != 0)
    return fail(DISCO_ERR_UNSUPPORTED, "model config propensity_features = ", cfg->propensity_features(),
                "; this runtime's propensity head reads h_t only (0 expected)");
  b->d = cfg->emb_dim();
  b->h = cfg->hidden();
  b->n_types = cfg->num_event_types();
  b->n_price_buckets = cfg->num_price_buckets();
  b->n_gap_buckets = cfg->num_gap_buckets();

  const fb::Catalog* cat = m->catalog();
  const uint32_t n = cat->item_ids()->size();
  if (n == 0) return fail(DISCO_ERR_BUNDLE_FORMAT, "catalog has no items");
  b->n = n;
  disco_status s;
  if ((s = check_column(cat->category(), "category", n)) || (s = check_column(cat->brand(), "brand", n)) ||
      (s = check_column(cat->price(), "price", n)) || (s = check_column(cat->cost(), "cost", n)) ||
      (s = check_column(cat->in_stock(), "in_stock", n)) || (s = check_column(cat->cold_start(), "cold_start", n)))
    return s;
  b->category = cat->category();
  b->price = cat->price();
  b->cost = cat->cost();
  b->in_stock = cat->in_stock();
  b->brand = cat->brand();
  for (uint32_t i = 0; i < n; ++i) {
    if (b->price && !(std::isfinite(b->price->Get(i)) && b->price->Get(i) >= 0.0f))
      return fail(DISCO_ERR_BUNDLE_FORMAT, "catalog price of item ", i, " is negative or not finite");
    if (b->cost && !(std::isfinite(b->cost->Get(i)) && b->cost->Get(i) >= 0.0f))
      return fail(DISCO_ERR_BUNDLE_FORMAT, "catalog cost of item ", i, " is negative or not finite");
  }

  const uint32_t d = b->d, h = b->h;
  struct Need { const char* name; uint32_t rows, cols; bool f32, i8, i4; disco::detail::MatrixView* view; };
  const Need mats[] = {{"item_emb", n, d, false, true, true, &b->item_emb},
                       {"lstm_w_ih", 4 * h, d, false, true, false, &b->w_ih},
                       {"lstm_w_hh", 4 * h, h, false, true, false, &b->w_hh},
                       {"out_proj", d, h, true, true, false, &b->out_proj}};
  for (const Need& nd : mats) {
    const fb::Tensor* t = find_tensor(m, nd.name);
    if (!t) return fail(DISCO_ERR_SHAPE, "tensor '", nd.name, "' is missing from the bundle");
    if ((s = check_matrix(t, nd.name, nd.rows, nd.cols, nd.f32, nd.i8, nd.i4, nd.view))) return s;
  }
  if ((s = copy_f32(m, "type_emb", {b->n_types, d}, &b->type_emb)) ||
      (s = copy_f32(m, "lstm_b", {4 * h}, &b->lstm_b)) || (s = copy_f32(m, "out_bias", {d}, &b->out_bias)) ||
      (s = copy_f32(m, "prop_w", {1, h}, &b->prop_w)))
    return s;
  std::vector<float> pb;
  if ((s = copy_f32(m, "prop_b", {1}, &pb))) return s;
  b->prop_b = pb[0];
  if (b->n_price_buckets && (s = copy_f32(m, "price_emb", {b->n_price_buckets, d}, &b->price_emb))) return s;
  if (b->n_gap_buckets && (s = copy_f32(m, "gap_emb", {b->n_gap_buckets, d}, &b->gap_emb))) return s;

  // Arms.
  const auto* arms = m->arms();
  if (arms->size() == 0) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle has no arms (at least the baseline arm 0 is needed)");
  if (arms->size() > 64)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle has ", arms->size(), " arms; at most 64 are supported");
  b->arms.reserve(arms->size());
  for (uint32_t i = 0; i < arms->size(); ++i) {
    const fb::Arm* a = arms->Get(i);
    disco::detail::ArmInfo info{a->name()->string_view(), a->kind(), a->value(), a->merchant_cost()};
    const bool kind_ok = a->kind() == fb::ArmKind::Percent || a->kind() == fb::ArmKind::FixedAmount ||
                         a->kind() == fb::ArmKind::FreeShipping;
    if (!kind_ok) return fail(DISCO_ERR_BUNDLE_FORMAT, "arm ", i, " has an unknown kind ", int(a->kind()));
    if (!std::isfinite(info.value) || info.value < 0.0f || (info.kind == fb::ArmKind::Percent && info.value > 1.0f))
      return fail(DISCO_ERR_BUNDLE_FORMAT, "arm ", i, " ('", info.name, "') has value ", info.value,
                  " (percent arms need 0..1, others >= 0)");
    if (!std::isfinite(info.merchant_cost) || info.merchant_cost < 0.0f)
      return fail(DISCO_ERR_BUNDLE_FORMAT, "arm ", i, " has a negative or non-finite merchant_cost");
    // Offer-policy rules: a window that is not empty, eligibility lists ascending (items within the
    // catalog): what disco-train writes. Native only: the WASM build leaves this writer check out (its
    // size gate); a malformed list there is read as it is (memory-safe: the Verifier bounds it).
    // An unknown scope acts as item scope; min_spend is the store's, not read here.
#if !DISCO_WASM
    const int64_t we = a->window_end_ms();
    if ((we && we <= a->window_start_ms()) || !ascending(a->categories(), ~0u) || !ascending(a->brands(), ~0u) ||
        !ascending(a->items(), n) || !ascending(a->excluded_items(), n))
      return fail(DISCO_ERR_BUNDLE_FORMAT, "arm ", i, ": malformed offer-policy rules (empty window, "
                  "or eligibility lists not ascending or beyond the catalog)");
#endif
    b->arms.push_back(info);
  }
  const fb::BanditPrior* bp = m->bandit();
  if (bp->context_dim() > DISCO_MAX_CONTEXT)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bandit context_dim ", bp->context_dim(), " exceeds DISCO_MAX_CONTEXT (",
                DISCO_MAX_CONTEXT, ")");
  b->context_dim = bp->context_dim();
  const fb::Guardrails* g = m->guardrails();
  b->max_discounted_offers = g->max_discounted_offers();
  if (g->excluded_items())
    for (uint32_t i = 0; i < g->excluded_items()->size(); ++i)
      if (g->excluded_items()->Get(i) >= n)
        return fail(DISCO_ERR_BUNDLE_FORMAT, "guardrails excluded_items lists index ", g->excluded_items()->Get(i),
                    " beyond the catalog (", n, " items)");

  // Item id -> index (the one table allocated at load); duplicates are refused here.
  b->id_index.init(cat->item_ids());
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t prev = b->id_index.add(i);
    if (prev != i)
      return fail(DISCO_ERR_BUNDLE_FORMAT, "catalog item id '" + cat->item_ids()->Get(i)->str() +
                                               "' appears twice (indices " + std::to_string(prev) + " and " +
                                               std::to_string(i) + ")");
  }
  return DISCO_OK;
}

disco_status load(const uint8_t* bytes, size_t len, uint32_t flags, disco_bundle* b) {
  if (len == 0) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle is empty (0 bytes)");
  if (len > disco::kMaxBundleBytes)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle is ", len, " bytes; the limit is ", disco::kMaxBundleBytes,
                " (256 MiB)");
  if (len < 8) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle is truncated: ", len, " bytes");
  if (!fb::BundleBufferHasIdentifier(bytes)) {
    std::string got;
    for (int i = 4; i < 8; ++i) got += (bytes[i] >= 32 && bytes[i] < 127) ? char(bytes[i]) : '?';
    return fail(DISCO_ERR_BUNDLE_FORMAT, "not a disco bundle: file identifier is '", got, "', expected 'DSCB'");
  }
  flatbuffers::Verifier::Options opts;
  opts.check_nested_flatbuffers = false;  // the payload is verified after the version and checksum checks
  flatbuffers::Verifier outer_v(bytes, len, opts);
  if (!fb::VerifyBundleBuffer(outer_v))
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle structure is invalid (FlatBuffers verifier failed on the outer "
                                         "Bundle table: truncated or corrupted file)");
  const fb::Bundle* outer = fb::GetBundle(bytes);
  if (outer->schema_major() > disco::kSchemaMajor + disco::kSchemaMajorMaxAhead)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle header is corrupt (schema ", outer->schema_major(),
                "): fetch or copy the bundle again");
  if (outer->schema_major() > disco::kSchemaMajor)
    return fail(DISCO_ERR_VERSION, "bundle schema ", outer->schema_major(), ".", outer->schema_minor(),
                " is newer than this runtime (", disco::kSchemaMajor, ".x); upgrade the runtime");
  if (outer->schema_major() < disco::kSchemaMajor)
    return fail(DISCO_ERR_VERSION, "bundle schema ", outer->schema_major(), ".", outer->schema_minor(),
                " is older than this runtime reads (", disco::kSchemaMajor, ".x); re-export the bundle");
  const auto* payload = outer->payload();
  if (outer->checksum_algo() != fb::ChecksumAlgo::XXH64)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "unknown checksum algorithm ", int(outer->checksum_algo()));
  if (!(flags & DISCO_LOAD_SKIP_CHECKSUM)) {
    const uint64_t got = disco::xxh64(payload->data(), payload->size(), 0);
    if (got != outer->checksum())
      return fail(DISCO_ERR_CHECKSUM, "checksum mismatch, expected ", hex64(outer->checksum()), ", got ", hex64(got),
                  " (XXH64 of the ", payload->size(), "-byte payload): the bundle is corrupted");
  }
  if (outer->signature_algo() != fb::SignatureAlgo::None &&
      outer->signature_algo() != fb::SignatureAlgo::EcdsaP256Sha256)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "unknown signature algorithm ", int(outer->signature_algo()));
  if (payload->size() < 8)
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle payload is ", payload->size(), " bytes; too small for a model");
  flatbuffers::Verifier inner_v(payload->data(), payload->size());
  if (!inner_v.VerifyBuffer<fb::Model>(nullptr))
    return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle payload is not a valid Model (FlatBuffers verifier failed)");
  b->bytes = bytes;
  b->len = len;
  b->outer = outer;
  b->payload = payload->data();
  b->payload_len = payload->size();
  b->checksum = outer->checksum();
  b->model = flatbuffers::GetRoot<fb::Model>(payload->data());
  return load_model(b);
}

}  // namespace

namespace {
// x is in v, or v is absent / empty and `absent` is returned.
bool listed(const disco::detail::U32List* v, uint32_t x, bool absent) {
  uint32_t lo = 0, hi = v ? v->size() : 0;
  if (!hi) return absent;
  const uint32_t* p = v->data();
  while (lo < hi) {  // binary search (the lists are ascending, checked at load)
    const uint32_t mid = (lo + hi) / 2;
    if (p[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < v->size() && p[lo] == x;
}
}  // namespace

uint32_t disco_bundle::rule_mask(uint32_t item, int64_t now_ms, bool cart) const {
  const auto* v = model->arms();
  uint32_t mask = 1u;
  for (uint32_t i = 1; i < v->size(); ++i) {
    const fb::Arm* a = v->Get(i);
    const int64_t end = a->window_end_ms();
    if ((a->scope() == fb::ArmScope::Cart) == cart && now_ms >= a->window_start_ms() && (!end || now_ms < end) &&
        listed(a->items(), item, true) && listed(a->categories(), item_category(item), true) &&
        listed(a->brands(), brand ? brand->Get(item) : 0u, true) && !listed(a->excluded_items(), item, false))
      mask |= 1u << i;
  }
  return mask;
}

int64_t disco_bundle::expiry(uint32_t arm, int64_t now_ms, uint32_t ttl_s) const {
  const fb::Arm* a = model->arms()->Get(arm);
  const uint32_t life = a->lifetime_s() ? a->lifetime_s() : ttl_s;
  const int64_t t = now_ms + int64_t(life) * 1000, end = a->window_end_ms();
  return end && end < t ? end : t;
}

size_t disco_bundle::memory_bytes() const {
  size_t s = sizeof(*this);
  s += (type_emb.capacity() + price_emb.capacity() + gap_emb.capacity() + lstm_b.capacity() + out_bias.capacity() +
        prop_w.capacity()) * sizeof(float);
  s += arms.capacity() * sizeof(disco::detail::ArmInfo);
  s += id_index.memory_bytes();
  return s;
}

extern "C" {

disco_status disco_bundle_load(const uint8_t* bytes, size_t len, uint32_t flags, disco_bundle** out) DISCO_NOEXCEPT {
  return guarded("loading the bundle", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!out) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_load: out is NULL");
    *out = nullptr;
    if (!bytes && len) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_load: bytes is NULL");
    if (!bytes) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle is empty (0 bytes)");
    struct Owned {  // freed on a refusal, or an exception natively
      disco_bundle* p;
      ~Owned() { disco_bundle_free(p); }
    } owned{new (std::nothrow) disco_bundle()};
    if (!owned.p) return fail(DISCO_ERR_OUT_OF_MEMORY, "out of memory while loading the bundle");
    const disco_status s = load(bytes, len, flags, owned.p);
    if (s != DISCO_OK) return s;
    *out = owned.p;
    owned.p = nullptr;
    disco::detail::clear_error();
    return DISCO_OK;
  });
}

void disco_bundle_free(disco_bundle* bundle) DISCO_NOEXCEPT {
  guarded_void("freeing a bundle", [&]() DISCO_GUARD_INLINE {
    delete bundle;
  });
}

disco_status disco_bundle_get_info(const disco_bundle* b, disco_bundle_info* out) DISCO_NOEXCEPT {
  return guarded("reading the bundle info", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!b || !out) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_get_info: NULL argument");
    out->schema_major = b->outer->schema_major();
    out->schema_minor = b->outer->schema_minor();
    out->n_items = b->n;
    out->emb_dim = b->d;
    out->hidden = b->h;
    out->n_arms = uint32_t(b->arms.size());
    out->context_dim = b->context_dim;
    out->signed_ = (b->outer->signature() && b->outer->signature()->size() > 0) ? 1u : 0u;
    out->created_at_ms = b->model->created_at_ms();
    out->model_version = b->model->model_version()->c_str();
    return DISCO_OK;
  });
}

disco_status disco_bundle_item_info(const disco_bundle* b, uint32_t index, float* out_price, float* out_cost,
                                    uint32_t* out_category, uint32_t* out_in_stock) DISCO_NOEXCEPT {
  return guarded("reading an item's catalog columns", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!b) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_item_info: NULL bundle");
    if (index >= b->n)
      return fail(DISCO_ERR_UNKNOWN_ITEM, "disco_bundle_item_info: index ", index, " is beyond the catalog (", b->n,
                  " items)");
    if (out_price) *out_price = b->item_price(index);
    if (out_cost) *out_cost = b->item_cost(index);
    if (out_category) *out_category = b->item_category(index);
    if (out_in_stock) *out_in_stock = b->item_in_stock(index) ? 1u : 0u;
    return DISCO_OK;
  });
}

disco_status disco_bundle_item_index(const disco_bundle* b, const char* item_id, size_t len, uint32_t* out_index) DISCO_NOEXCEPT {
  return guarded("looking up an item id", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!b || !out_index || (!item_id && len)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_item_index: NULL argument");
    const int64_t found = b->id_index.find(std::string_view(item_id ? item_id : "", len));
    if (found < 0)
      return fail(DISCO_ERR_UNKNOWN_ITEM, "item id '", std::string_view(item_id ? item_id : "", len > 200 ? 200 : len),
                  "' is not in the bundle's catalog");
    *out_index = uint32_t(found);
    return DISCO_OK;
  });
}

disco_status disco_bundle_item_id(const disco_bundle* b, uint32_t index, const char** out_id) DISCO_NOEXCEPT {
  return guarded("reading an item id", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!b || !out_id) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_item_id: NULL argument");
    if (index >= b->n)
      return fail(DISCO_ERR_UNKNOWN_ITEM, "item index ", index, " is beyond the catalog (", b->n, " items)");
    *out_id = b->model->catalog()->item_ids()->Get(index)->c_str();
    return DISCO_OK;
  });
}

disco_status disco_bundle_verify_signature(const disco_bundle* b, const uint8_t* spki_der, size_t len) DISCO_NOEXCEPT {
  return guarded("verifying the bundle signature", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!b || (!spki_der && len)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bundle_verify_signature: NULL argument");
  #ifndef DISCO_WITH_OPENSSL
    (void)len;
    return fail(DISCO_ERR_UNSUPPORTED, "signature verification is not built into this runtime (no OpenSSL); "
                                       "verify with WebCrypto in the SDK");
  #else
    const auto* sig = b->outer->signature();
    if (b->outer->signature_algo() != fb::SignatureAlgo::EcdsaP256Sha256 || !sig || sig->size() == 0)
      return fail(DISCO_ERR_SIGNATURE, "bundle is not signed (no ECDSA P-256 signature present)");
    if (sig->size() != 64)
      return fail(DISCO_ERR_SIGNATURE, "bundle signature is ", sig->size(), " bytes; ECDSA P-256 raw r||s is 64");
    const unsigned char* p = spki_der;
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, long(len));
    if (!key) {
      ERR_clear_error();
      return fail(DISCO_ERR_INVALID_ARGUMENT, "public key is not a valid DER SubjectPublicKeyInfo");
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
      EVP_PKEY_free(key);
      return fail(DISCO_ERR_INVALID_ARGUMENT, "public key is not an EC P-256 key");
    }
    disco_status status = DISCO_ERR_SIGNATURE;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(sig->data(), 32, nullptr);
    BIGNUM* s = BN_bin2bn(sig->data() + 32, 32, nullptr);
    unsigned char* der = nullptr;
    int der_len = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
      r = s = nullptr;  // owned by es
      der_len = i2d_ECDSA_SIG(es, &der);
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (der_len > 0 && ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1)
      rc = EVP_DigestVerify(ctx, der, size_t(der_len), b->payload, b->payload_len);
    if (rc == 1) status = DISCO_OK;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (status != DISCO_OK)
      return fail(DISCO_ERR_SIGNATURE, "bundle signature does not verify with this public key (tampered payload or wrong key)");
    return DISCO_OK;
  #endif
  });
}

}  // extern "C"
