// Session / runtime state save and restore, and the bandit's fleet statistics export / import.
// Format: cereal over a memory buffer (memory_archive.h): little-endian, sizes as uint64, a
// header {magic, kStateVersion, bundle checksum, model_version} first. Restoring refuses another
// format version or another bundle with DISCO_ERR_STATE and a message naming both sides. Session
// states: format 2 (full, exact) from disco_session_save, format 3 (compact, for cookies) from
// disco_session_save_compact; restore reads formats 1 to 3.
// disco_bandit_import also reads the collector's fleet statistics message (disco/fleet_stats.h,
// schemas/bandit_stats.fbs), recognised by its FlatBuffers identifier "DSBS" at bytes 4..7.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "disco/context.h"
#include "disco/fleet_stats.h"
#include "disco/quant.h"
#include "disco/version.h"
#include "memory_archive.h"
#include "runtime_internal.h"
#include "status_internal.h"

using disco::detail::fail;
using namespace disco::detail;

namespace {

constexpr uint32_t kMagicSession = 0x4E535344;  // "DSSN"
constexpr uint32_t kMagicRuntime = 0x54525344;  // "DSRT"
constexpr uint32_t kMagicBandit = 0x53425344;   // "DSBS"

std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = digits[v & 15];
  return s;
}

template <class Ar>
void save_header(Ar& ar, uint32_t magic, const disco_bundle* b, uint32_t version = disco::kStateVersion) {
  const std::string mv = b->model->model_version()->str();
  ar(magic, version, b->checksum, mv);
}

// Reads and checks the header; DISCO_OK when it matches `b`.
disco_status check_header(MemoryInputArchive& ar, uint32_t want_magic, const char* what, const disco_bundle* b,
                          uint32_t* out_version = nullptr, uint32_t oldest = disco::kStateVersion,
                          uint32_t newest = disco::kStateVersion) {
  uint32_t magic = 0, version = 0;
  uint64_t checksum = 0;
  std::string mv;
  ar(magic, version);
  if (ar.failed() || magic != want_magic)
    return fail(DISCO_ERR_STATE, "not a disco ", what, " state (bad magic or truncated header)");
  if (version < oldest || version > newest)
    return fail(DISCO_ERR_STATE, what, " state has format version ", version, "; this runtime reads version",
                (oldest == newest ? " " + std::to_string(newest)
                                  : "s " + std::to_string(oldest) + " to " + std::to_string(newest)));
  if (out_version) *out_version = version;
  ar(checksum, mv);
  if (ar.failed()) return fail(DISCO_ERR_STATE, what, " state is truncated");
  if (checksum != b->checksum)
    return fail(DISCO_ERR_STATE, std::string(what) + " state was saved with bundle '" + mv.substr(0, 100) +
                                     "' (checksum " + hex64(checksum) + "); this runtime runs bundle '" +
                                     b->model->model_version()->str() + "' (checksum " + hex64(b->checksum) + ")");
  return DISCO_OK;
}

template <class Ar>
void session_fields(Ar& ar, disco_session* s, uint32_t version) {
  ar(s->user_key, s->decision_counter, s->serial, s->h_dim, s->d_dim, s->n_items, s->h, s->c, s->hq, s->h_scale,
     s->purchase_propensity, s->last_ts_ms, s->seen, s->stats, s->history_len);
  for (auto& he : s->history) ar(he.ts_ms, he.item, he.type, he.price, he.quantity);
  ar(s->recent_len);
  for (uint32_t i = 0; i < kRecentItems; ++i) ar(s->recent_item[i], s->recent_count[i]);
  if (version >= 2) s->stats.serialize_visits(ar);
}

// ---- compact session state (format 3) -------------------------------------------------------
// After the common header: u64 user_key; varints decision_counter, serial, h_dim, d_dim, n_items;
// hq[h_dim] (int8) + f32 h_scale; c as int8[h_dim] + f32 scale (quant::quantize_vector_i8);
// f32 purchase_propensity; last_ts_ms; the ShopperStats (format 1 + 2 fields); the newest
// kCompactHistory events (oldest first); recent_len + the tracked recent items; at most
// kCompactSeen seen items (sorted, delta-coded). Timestamps are coded relative to last_ts_ms
// (0 = never); unsigned fields are LEB128 varints, signed ones zigzag varints.
constexpr uint32_t kCompactHistory = 16;
constexpr uint32_t kCompactSeen = 64;

void put_varint(MemoryOutputArchive& ar, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    uint8_t byte = uint8_t(v & 0x7F);
    v >>= 7;
    if (v) byte |= 0x80;
    b[n++] = byte;
  } while (v);
  ar.saveBinary(b, n);
}
uint64_t get_varint(MemoryInputArchive& ar) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint8_t byte = 0;
    ar.loadBinary(&byte, 1);
    if (ar.failed()) return 0;
    if (shift == 63 && byte > 1) break;  // more than 64 bits
    v |= uint64_t(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return v;
  }
  ar.fail();
  return 0;
}
inline uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t unzigzag(uint64_t u) { return int64_t(u >> 1) ^ -int64_t(u & 1); }
// A timestamp relative to `base` (wrapping, so every value round-trips); 0 codes kNever.
void put_ts(MemoryOutputArchive& ar, int64_t ts, int64_t base) {
  put_varint(ar, ts == disco::kNever ? 0 : zigzag(int64_t(uint64_t(ts) - uint64_t(base))) + 1);
}
int64_t get_ts(MemoryInputArchive& ar, int64_t base) {
  const uint64_t code = get_varint(ar);
  return code == 0 ? disco::kNever : int64_t(uint64_t(base) + uint64_t(unzigzag(code - 1)));
}
void put_u32(MemoryOutputArchive& ar, uint32_t v) { put_varint(ar, v); }
uint32_t get_u32(MemoryInputArchive& ar) {
  const uint64_t v = get_varint(ar);
  if (v > UINT32_MAX) ar.fail();
  return uint32_t(v);
}

void compact_save(MemoryOutputArchive& ar, const disco_session* s) {
  ar(s->user_key);
  put_varint(ar, s->decision_counter);
  put_varint(ar, s->serial);
  put_u32(ar, s->h_dim);
  put_u32(ar, s->d_dim);
  put_u32(ar, s->n_items);
  ar.saveBinary(s->hq.data(), s->hq.size());
  ar(s->h_scale);
  std::vector<int8_t> cq(s->c.size());
  const float c_scale = disco::quant::quantize_vector_i8(s->c.data(), s->c.size(), cq.data());
  ar.saveBinary(cq.data(), cq.size());
  ar(c_scale, s->purchase_propensity);
  const int64_t base = s->last_ts_ms == disco::kNever ? 0 : s->last_ts_ms;
  put_ts(ar, s->last_ts_ms, 0);
  const disco::ShopperStats& st = s->stats;
  put_u32(ar, st.events);
  put_u32(ar, st.purchases);
  ar(st.spend);
  put_ts(ar, st.last_purchase_ms, base);
  put_varint(ar, zigzag(st.cart_units));
  ar(st.exposure);
  put_ts(ar, st.exposure_ms, base);
  put_ts(ar, st.last_discount_offer_ms, base);
  put_u32(ar, st.discount_offers);
  put_ts(ar, st.last_activity_ms, base);
  for (uint32_t v : {st.visit_carts, st.visit_purchases, st.visit_discounted, st.full_price_carts,
                     st.full_price_purchases, st.discounted_carts, st.discounted_purchases})
    put_u32(ar, v);
  // History: the newest kCompactHistory replayable events, oldest first.
  const uint32_t nh = std::min(s->history_len, kHistory);
  std::vector<const HistoryEvent*> keep;
  for (uint32_t k = nh; k-- > 0 && keep.size() < kCompactHistory;) {
    const HistoryEvent& he = s->history[(s->history_len - nh + k) % kHistory];
    if (he.type <= DISCO_EVENT_PURCHASE && he.item < s->n_items) keep.push_back(&he);
  }
  put_u32(ar, uint32_t(keep.size()));
  int64_t prev = base;
  for (size_t k = keep.size(); k-- > 0;) {
    const HistoryEvent& he = *keep[k];
    put_u32(ar, he.item);
    const uint8_t type = uint8_t(he.type);
    ar(type);
    put_ts(ar, he.ts_ms, prev);
    prev = he.ts_ms;
    ar(he.price);
    put_varint(ar, zigzag(he.quantity));
  }
  // Recent interactions: recent_len and the tracked slots as they are.
  put_u32(ar, s->recent_len);
  const uint32_t nr = std::min(s->recent_len, kRecentItems);
  for (uint32_t i = 0; i < nr; ++i) {
    put_u32(ar, s->recent_item[i] < s->n_items ? s->recent_item[i] : 0);
    ar(s->recent_count[i]);
  }
  // Seen: the history's items (newest first), the recent ones, then the rest by index; capped.
  std::vector<uint32_t> seen;
  auto is_seen = [&](uint32_t item) { return item < s->n_items && (s->seen[item >> 6] >> (item & 63) & 1); };
  auto add = [&](uint32_t item) {
    if (seen.size() < kCompactSeen && is_seen(item) && std::find(seen.begin(), seen.end(), item) == seen.end())
      seen.push_back(item);
  };
  for (const HistoryEvent* he : keep) add(he->item);
  for (uint32_t i = 0; i < nr; ++i) add(s->recent_item[i]);
  for (size_t w = 0; w < s->seen.size() && seen.size() < kCompactSeen; ++w)
    for (uint64_t bitsw = s->seen[w]; bitsw && seen.size() < kCompactSeen; bitsw &= bitsw - 1)
      add(uint32_t(w * 64 + size_t(__builtin_ctzll(bitsw))));
  std::make_heap(seen.begin(), seen.end());  // = std::sort (distinct integers), less wasm code
  std::sort_heap(seen.begin(), seen.end());
  put_u32(ar, uint32_t(seen.size()));
  uint32_t last = 0;
  for (uint32_t item : seen) {
    put_u32(ar, item - last);
    last = item;
  }
}

// Fills a fresh session (sized for the runtime's bundle) from format 3; "" or what is wrong.
std::string compact_load(MemoryInputArchive& ar, disco_session* s) {
  ar(s->user_key);
  s->decision_counter = get_varint(ar);
  s->serial = get_varint(ar);
  const uint32_t h = get_u32(ar), d = get_u32(ar), n = get_u32(ar);
  if (ar.failed()) return "truncated or corrupted";
  if (h != s->h_dim || d != s->d_dim || n != s->n_items) return "dimensions disagree with the bundle";
  ar.loadBinary(s->hq.data(), s->hq.size());
  ar(s->h_scale);
  std::vector<int8_t> cq(h);
  float c_scale = 0.0f;
  ar.loadBinary(cq.data(), cq.size());
  ar(c_scale, s->purchase_propensity);
  if (ar.failed()) return "truncated or corrupted";
  if (!std::isfinite(s->h_scale) || !(s->h_scale > 0.0f) || !std::isfinite(c_scale) || !(c_scale > 0.0f) ||
      !std::isfinite(s->purchase_propensity))
    return "non-finite LSTM state";
  for (uint32_t j = 0; j < h; ++j) {
    s->h[j] = float(s->hq[j]) * s->h_scale;
    s->c[j] = float(cq[j]) * c_scale;
  }
  s->last_ts_ms = get_ts(ar, 0);
  const int64_t base = s->last_ts_ms == disco::kNever ? 0 : s->last_ts_ms;
  disco::ShopperStats& st = s->stats;
  st.events = get_u32(ar);
  st.purchases = get_u32(ar);
  ar(st.spend);
  st.last_purchase_ms = get_ts(ar, base);
  const int64_t cart = unzigzag(get_varint(ar));
  if (cart < INT32_MIN || cart > INT32_MAX) return "truncated or corrupted";
  st.cart_units = int32_t(cart);
  ar(st.exposure);
  st.exposure_ms = get_ts(ar, base);
  st.last_discount_offer_ms = get_ts(ar, base);
  st.discount_offers = get_u32(ar);
  st.last_activity_ms = get_ts(ar, base);
  for (uint32_t* v : {&st.visit_carts, &st.visit_purchases, &st.visit_discounted, &st.full_price_carts,
                      &st.full_price_purchases, &st.discounted_carts, &st.discounted_purchases})
    *v = get_u32(ar);
  if (ar.failed()) return "truncated or corrupted";
  if (!std::isfinite(st.spend) || !std::isfinite(st.exposure)) return "non-finite shopper statistics";
  const uint32_t nh = get_u32(ar);
  if (ar.failed() || nh > kCompactHistory) return "history longer than the compact format allows";
  int64_t prev = base;
  for (uint32_t k = 0; k < nh; ++k) {
    HistoryEvent& he = s->history[k];
    he.item = get_u32(ar);
    uint8_t type = 0;
    ar(type);
    he.type = type;
    he.ts_ms = get_ts(ar, prev);
    prev = he.ts_ms;
    ar(he.price);
    const int64_t q = unzigzag(get_varint(ar));
    if (ar.failed()) return "truncated or corrupted";
    if (he.item >= n || he.type > DISCO_EVENT_PURCHASE || q < INT32_MIN || q > INT32_MAX || !std::isfinite(he.price))
      return "history event out of range";
    he.quantity = int32_t(q);
  }
  s->history_len = nh;
  s->recent_len = get_u32(ar);
  const uint32_t nr = std::min(s->recent_len, kRecentItems);
  for (uint32_t i = 0; i < nr; ++i) {
    s->recent_item[i] = get_u32(ar);
    ar(s->recent_count[i]);
    if (s->recent_item[i] >= n) return "recent item out of range";
  }
  const uint32_t ns = get_u32(ar);
  if (ar.failed() || ns > kCompactSeen) return "seen set larger than the compact format allows";
  uint64_t item = 0;
  for (uint32_t k = 0; k < ns; ++k) {
    item += get_u32(ar);
    if (ar.failed() || item >= n || (k > 0 && item == 0)) return "seen item out of range";
    s->seen[item >> 6] |= uint64_t(1) << (item & 63);
  }
  if (ar.failed()) return "truncated or corrupted";
  return {};
}

template <class Ar>
void pending_entry(Ar& ar, PendingDecision& p, uint32_t version) {
  ar(p.id.hi, p.id.lo, p.ts_ms, p.price, p.arm, p.shown);
  for (float& x : p.context) ar(x);
  if (version >= 2) ar(p.held, p.reward);
  if (version >= 4) ar(p.spend);
}

// Merges or replaces the bandit's statistics, all or nothing: merge() and replace() refuse bad
// statistics before they change anything, but replace's copy may run out of memory half way, so
// where an allocation can throw (natively) they work on a copy that is moved in.
std::string apply_stats(disco::Bandit& bandit, const disco::BanditStats& stats, bool merge) {
#if DISCO_HAS_EXCEPTIONS
  disco::Bandit next = bandit;
  std::string err = merge ? next.merge(stats) : next.replace(stats);
  if (err.empty()) bandit = std::move(next);
  return err;
#else
  return merge ? bandit.merge(stats) : bandit.replace(stats);
#endif
}

disco_status finish_output(const MemoryOutputArchive& ar, size_t cap, size_t* out_len, const char* what) {
  *out_len = ar.size();
  if (!ar.fits()) return fail(DISCO_ERR_BUFFER_TOO_SMALL, what, " needs ", ar.size(), " bytes; the buffer holds ", cap);
  return DISCO_OK;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

extern "C" {

disco_status disco_session_save(const disco_session* cs, uint8_t* buf, size_t cap, size_t* out_len) DISCO_NOEXCEPT {
  return guarded("saving a session", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!cs || !out_len || (!buf && cap)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_save: NULL argument");
    if (!cs->runtime) return fail(DISCO_ERR_STATE, "disco_session_save: the session's runtime was freed");
    auto* s = const_cast<disco_session*>(cs);  // cereal's interface is non-const; nothing is modified
    MemoryOutputArchive ar(buf, cap);
    save_header(ar, kMagicSession, s->runtime->bundle, disco::kSessionStateVersion);
    session_fields(ar, s, disco::kSessionStateVersion);
    return finish_output(ar, cap, out_len, "the session state");
  });
}

disco_status disco_session_save_compact(const disco_session* s, uint8_t* buf, size_t cap, size_t* out_len) DISCO_NOEXCEPT {
  return guarded("saving a compact session", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s || !out_len || (!buf && cap)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_save_compact: NULL argument");
    if (!s->runtime) return fail(DISCO_ERR_STATE, "disco_session_save_compact: the session's runtime was freed");
    MemoryOutputArchive ar(buf, cap);
    save_header(ar, kMagicSession, s->runtime->bundle, disco::kSessionStateVersionCompact);
    compact_save(ar, s);
    return finish_output(ar, cap, out_len, "the compact session state");
  });
}

size_t disco_session_compact_max_bytes(const disco_runtime* rt) DISCO_NOEXCEPT {
  return guarded_value("sizing a compact session", size_t(0), [&]() DISCO_GUARD_INLINE -> size_t {
    if (!rt || !rt->bundle) return 0;
    const size_t mv = rt->bundle->model->model_version()->size();
    const size_t header = 4 + 4 + 8 + 8 + mv;
    const size_t v64 = 10, v32 = 5;
    const size_t fixed = 8 + 2 * v64 + 3 * v32 + 2 * size_t(rt->bundle->h) + 4 + 4 + 4 + v64;
    const size_t stats = v32 + v32 + 8 + v64 + v64 + 8 + v64 + v64 + v32 + v64 + 7 * v32;
    const size_t history = v32 + kCompactHistory * (v32 + 1 + v64 + 4 + v64);
    const size_t recent = v32 + kRecentItems * (v32 + 1);
    const size_t seen = v32 + kCompactSeen * v32;
    return header + fixed + stats + history + recent + seen;
  });
}

disco_status disco_session_restore(disco_runtime* rt, const uint8_t* buf, size_t len, disco_session** out) DISCO_NOEXCEPT {
  return guarded("restoring a session", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !out || (!buf && len)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_restore: NULL argument");
    *out = nullptr;
    MemoryInputArchive ar(buf, len);
    uint32_t version = 0;
    disco_status st = check_header(ar, kMagicSession, "session", rt->bundle, &version,
                                   disco::kSessionStateVersionOldest, disco::kSessionStateVersionCompact);
    if (st != DISCO_OK) return st;
    disco_session* s = nullptr;
    const uint64_t created = rt->sessions_created;  // a restored session is not a new one
    if ((st = disco_session_create(rt, 0, &s)) != DISCO_OK) return st;
    rt->sessions_created = created;
    struct FreeUnlessKept {  // an exception below (out of memory) must not leave the session linked
      disco_session* s;
      ~FreeUnlessKept() { disco_session_free(s); }
    } pending_session{s};
    const disco_bundle* b = rt->bundle;
    std::string why;
    if (version == disco::kSessionStateVersionCompact) {
      why = compact_load(ar, s);
      if (why.empty() && ar.remaining() != 0) why = concat(ar.remaining(), " trailing bytes");
    } else {
      session_fields(ar, s, version);
    }
    if (!why.empty()) {
      // compact_load said what is wrong
    } else if (ar.failed()) {
      why = "truncated or corrupted";
    } else if (ar.remaining() != 0)
      why = concat(ar.remaining(), " trailing bytes");
    else if (s->h_dim != b->h || s->d_dim != b->d || s->n_items != b->n || s->h.size() != b->h ||
             s->c.size() != b->h || s->hq.size() != b->h || s->seen.size() != (size_t(b->n) + 63) / 64)
      why = "dimensions disagree with the bundle";
    else if (!all_finite(s->h) || !all_finite(s->c) || !std::isfinite(s->h_scale) || !(s->h_scale > 0.0f) ||
             !std::isfinite(s->purchase_propensity))
      why = "non-finite LSTM state";
    if (!why.empty()) return fail(DISCO_ERR_STATE, "session state is invalid: ", why);
    pending_session.s = nullptr;
    *out = s;
    return DISCO_OK;
  });
}

disco_status disco_runtime_save(const disco_runtime* crt, uint8_t* buf, size_t cap, size_t* out_len) DISCO_NOEXCEPT {
  return guarded("saving the runtime", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!crt || !out_len || (!buf && cap)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_save: NULL argument");
    auto* rt = const_cast<disco_runtime*>(crt);
    MemoryOutputArchive ar(buf, cap);
    save_header(ar, kMagicRuntime, rt->bundle, disco::kRuntimeStateVersion);
    ar(rt->sessions_created, rt->bandit, rt->guards);
    rt->guards.serialize_dual(ar);
    const uint32_t pcap = rt->pending_ids.capacity(), pwrite = rt->pending_ids.write_pos(), pn = rt->pending_ids.size();
    ar(pcap, pwrite, pn);
    rt->pending_ids.for_each_in_order([&](uint32_t slot, const DecisionId&) {
      ar(slot);
      pending_entry(ar, rt->pending[slot], disco::kRuntimeStateVersion);
    });
    const uint32_t dcap = rt->done_ids.capacity(), dwrite = rt->done_ids.write_pos(), dn = rt->done_ids.size();
    ar(dcap, dwrite, dn);
    rt->done_ids.for_each_in_order([&](uint32_t slot, const DecisionId& id) {
      uint64_t hi = id.hi, lo = id.lo;
      ar(slot, hi, lo);
    });
    return finish_output(ar, cap, out_len, "the runtime state");
  });
}

disco_status disco_runtime_restore(disco_runtime* rt, const uint8_t* buf, size_t len) DISCO_NOEXCEPT {
  return guarded("restoring the runtime", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || (!buf && len)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_restore: NULL argument");
    MemoryInputArchive ar(buf, len);
    uint32_t version = 0;
    disco_status st = check_header(ar, kMagicRuntime, "runtime", rt->bundle, &version,
                                   disco::kRuntimeStateVersionOldest, disco::kRuntimeStateVersion);
    if (st != DISCO_OK) return st;
    // Load into fresh objects; the runtime changes only when everything checked out.
    disco::Bandit bandit;
    disco::Guardrails guards;
    uint64_t sessions_created = 0;
    ar(sessions_created, bandit, guards);
    if (version >= 3) guards.serialize_dual(ar);
    else guards.restore_dual(rt->guards.policy().budget_mode, rt->guards.policy().budget_dual_rate);
    if (ar.failed()) return fail(DISCO_ERR_STATE, "runtime state is truncated or corrupted (bandit/guardrails)");
    std::string why = bandit.validate();
    if (why.empty()) why = guards.validate();
    if (why.empty() && (bandit.config().n_arms != rt->bundle->arms.size() || bandit.config().dim != rt->bandit.config().dim))
      why = concat("bandit has ", bandit.config().n_arms, " arms x ", bandit.config().dim,
                   " features; the bundle needs ", rt->bundle->arms.size(), " x ", rt->bandit.config().dim);
    if (why.empty() && guards.arms().size() != rt->bundle->arms.size()) why = "guardrail arms disagree with the bundle";
    if (!why.empty()) return fail(DISCO_ERR_STATE, "runtime state is invalid: ", why);

    IdTable pending_ids, done_ids;
    std::vector<PendingDecision> pending;
    const uint32_t cap = rt->pending_ids.capacity();
    pending_ids.init(cap);
    pending.assign(cap, PendingDecision{});
    done_ids.init(rt->done_ids.capacity());
    for (int table = 0; table < 2 && !ar.failed(); ++table) {
      uint32_t scap = 0, swrite = 0, sn = 0;
      ar(scap, swrite, sn);
      IdTable& ids = table == 0 ? pending_ids : done_ids;
      const bool same_layout = scap == ids.capacity();
      if (sn > ar.remaining()) ar.fail();
      for (uint32_t k = 0; k < sn && !ar.failed(); ++k) {
        uint32_t slot = 0;
        PendingDecision p;
        ar(slot);
        if (table == 0) pending_entry(ar, p, version);
        else ar(p.id.hi, p.id.lo);
        if (ar.failed()) break;
        if (p.arm >= rt->bundle->arms.size() || p.id.empty() || p.shown > 1 || p.held > 1 || (p.shown && p.held) ||
            !std::isfinite(p.reward) || !(p.spend >= 0.0)) {  // (an infinite spend is never released)
          ar.fail();
          break;
        }
        // before format 4 every decision was an item's: its spend is its arm's cost at its price
        if (version < 4) p.spend = disco::arm_cost(guards.arms()[p.arm], p.price).spend;
        uint32_t at = slot;
        if (same_layout) {
          if (!ids.place(slot, p.id)) { ar.fail(); break; }
        } else {
          if (ids.find(p.id) >= 0) { ar.fail(); break; }
          DecisionId evicted;
          at = ids.insert(p.id, &evicted);  // oldest first: a smaller table keeps the newest
        }
        if (table == 0) pending[at] = p;
      }
      if (same_layout) ids.set_write_pos(swrite);
    }
    if (ar.failed()) return fail(DISCO_ERR_STATE, "runtime state is truncated or corrupted (decision tables)");
    if (ar.remaining() != 0) return fail(DISCO_ERR_STATE, "runtime state has ", ar.remaining(), " trailing bytes");
    rt->sessions_created = sessions_created;
    rt->bandit = std::move(bandit);
    rt->guards = std::move(guards);
    rt->pending_ids = std::move(pending_ids);
    rt->pending = std::move(pending);
    rt->done_ids = std::move(done_ids);
    return DISCO_OK;
  });
}

disco_status disco_bandit_export(disco_runtime* rt, uint32_t delta_only, uint8_t* buf, size_t cap, size_t* out_len) DISCO_NOEXCEPT {
  return guarded("exporting bandit statistics", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !out_len || (!buf && cap)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bandit_export: NULL argument");
    // Size first without consuming the delta, so a too-small buffer loses nothing.
    disco::Bandit probe = rt->bandit;
    disco::BanditStats stats = probe.export_stats(delta_only != 0);
    const uint32_t magic = kMagicBandit, version = disco::kStateVersion;
    const uint32_t n_arms = rt->bandit.config().n_arms, dim = rt->bandit.config().dim;
    MemoryOutputArchive ar(buf, cap);
    ar(magic, version, n_arms, dim, stats);
    disco_status st = finish_output(ar, cap, out_len, "the bandit statistics");
    if (st != DISCO_OK) return st;
    if (delta_only) rt->bandit.export_stats(true);  // now reset the delta for real (copies, then resets)
    return DISCO_OK;
  });
}

disco_status disco_bandit_import(disco_runtime* rt, const uint8_t* buf, size_t len, uint32_t merge) DISCO_NOEXCEPT {
  return guarded("importing bandit statistics", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || (!buf && len)) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_bandit_import: NULL argument");
    if (disco::is_fleet_stats_message(buf, len)) {
      // The collector's fleet statistics (schemas/bandit_stats.fbs), e.g. a GET /v1/bandit-state body.
      disco::FleetStats msg;
      std::string err = disco::read_fleet_stats(buf, len, &msg);
      disco::BanditStats stats;
      if (err.empty())
        err = disco::fleet_stats_to_bandit(msg, rt->bandit.config().n_arms, rt->bandit.config().dim,
                                           disco::kContextVersion, &stats);
      if (err.empty()) err = apply_stats(rt->bandit, stats, merge != 0);
      if (!err.empty()) return fail(DISCO_ERR_STATE, "bandit statistics refused: ", err);
      return DISCO_OK;
    }
    MemoryInputArchive ar(buf, len);
    uint32_t magic = 0, version = 0, n_arms = 0, dim = 0;
    ar(magic, version);
    if (ar.failed() || magic != kMagicBandit)
      return fail(DISCO_ERR_STATE, "not disco bandit statistics (bad magic or truncated)");
    if (version != disco::kStateVersion)
      return fail(DISCO_ERR_STATE, "bandit statistics have format version ", version, "; this runtime reads version ",
                  disco::kStateVersion);
    disco::BanditStats stats;
    ar(n_arms, dim, stats);
    if (ar.failed()) return fail(DISCO_ERR_STATE, "bandit statistics are truncated or corrupted");
    if (ar.remaining() != 0) return fail(DISCO_ERR_STATE, "bandit statistics have trailing bytes");
    if (n_arms != rt->bandit.config().n_arms || dim != rt->bandit.config().dim)
      return fail(DISCO_ERR_STATE, "bandit statistics are for ", n_arms, " arms x ", dim,
                  " features; this runtime has ", rt->bandit.config().n_arms, " x ", rt->bandit.config().dim);
    const std::string err = apply_stats(rt->bandit, stats, merge != 0);
    if (!err.empty()) return fail(DISCO_ERR_STATE, "bandit statistics refused: ", err);
    return DISCO_OK;
  });
}

size_t disco_session_memory_bytes(const disco_session* s) DISCO_NOEXCEPT {
  return guarded_value("measuring a session's memory", size_t(0), [&]() DISCO_GUARD_INLINE -> size_t {
    return s ? s->memory_bytes() : 0;
  });
}
size_t disco_runtime_memory_bytes(const disco_runtime* rt) DISCO_NOEXCEPT {
  return guarded_value("measuring the runtime's memory", size_t(0), [&]() DISCO_GUARD_INLINE -> size_t {
    return rt ? rt->memory_bytes() + rt->bundle->memory_bytes() : 0;
  });
}

}  // extern "C"
