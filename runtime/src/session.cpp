// Sessions: the quantized LSTM step (observe), top-k ranking (recommend), purchase propensity.
// Arithmetic follows schemas/MODEL.md exactly: per-vector symmetric int8 activations, int32
// accumulation, result = (acc * row_scale) * vec_scale in float, portable sigmoid/tanh.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "disco/kernels.h"
#include "disco/portable_math.h"
#include "disco/quant.h"
#include "runtime_internal.h"
#include "status_internal.h"

using disco::detail::fail;

namespace disco::detail {
namespace {

inline int exponent_of(double v) {  // floor(log2(v)) for normal v >= 1, exact
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return int((bits >> 52) & 0x7FF) - 1023;
}

// pb(p) = p <= 0 ? 0 : clamp(floor(2*log2(1+p)), 0, nb-1), exact: 2*log2(y) = log2(y*y) and y*y
// is exact in double for a float p.
inline uint32_t price_bucket(float p, uint32_t nb) {
  if (!(p > 0.0f)) return 0;
  if (!(p < 3.0e38f)) return nb - 1;
  const double y = 1.0 + double(p);
  const int k = exponent_of(y * y);
  return uint32_t(std::clamp(k, 0, int(nb) - 1));
}

// gb(g) = clamp(floor(log2(1+g)), 0, ng-1), g in seconds.
inline uint32_t gap_bucket(double g, uint32_t ng) {
  if (!(g > 0.0)) return 0;
  if (!(g < 1e300)) return ng - 1;
  const int k = exponent_of(1.0 + g);
  return uint32_t(std::clamp(k, 0, int(ng) - 1));
}

inline void item_row_f32(const disco_bundle* b, uint32_t item, float* x) {
  const MatrixView& e = b->item_emb;
  const float s = e.scale(item);
  if (e.dtype == fb::DType::I8) {
    const int8_t* row = e.row_i8(item);
    for (uint32_t j = 0; j < e.cols; ++j) x[j] = float(row[j]) * s;
  } else {
    const uint8_t* row = e.row_raw(item);
    for (uint32_t j = 0; j < e.cols; ++j) x[j] = float(quant::i4_get(row, j)) * s;
  }
}

void note_interaction(disco_session* s, uint32_t item, uint32_t type) {
  if (type > DISCO_EVENT_CART) return;  // views, clicks and carts count as interest
  const uint32_t n = std::min(s->recent_len, kRecentItems);
  for (uint32_t i = 0; i < n; ++i)
    if (s->recent_item[i] == item) {
      if (s->recent_count[i] < 255) ++s->recent_count[i];
      return;
    }
  const uint32_t slot = s->recent_len % kRecentItems;  // replace the oldest tracked item
  s->recent_item[slot] = item;
  s->recent_count[slot] = 1;
  ++s->recent_len;
}

}  // namespace

void session_reset_state(disco_session* s) {
  std::fill(s->h.begin(), s->h.end(), 0.0f);
  std::fill(s->c.begin(), s->c.end(), 0.0f);
  std::fill(s->hq.begin(), s->hq.end(), int8_t(0));
  s->h_scale = 1.0f;
  const disco_bundle* b = s->runtime->bundle;
  // Propensity of the empty history: sigmoid(prop_b).
  s->purchase_propensity = pmath::sigmoidf(b->prop_b);
}

disco_status session_resize(disco_session* s, const disco_bundle* b) {
  s->h_dim = b->h;
  s->d_dim = b->d;
  s->n_items = b->n;
  s->h.assign(b->h, 0.0f);
  s->c.assign(b->h, 0.0f);
  s->hq.assign(b->h, 0);
  s->seen.assign((size_t(b->n) + 63) / 64, 0);
  return DISCO_OK;
}

// Where disco_rank's candidate bits start in scratch_acc (in uint32 words, after recommend's part).
static size_t rank_bits_at(const disco_bundle* b) { return std::max<size_t>(4 * size_t(b->h), kScanBlock); }

void runtime_resize_scratch(disco_runtime* rt, const disco_bundle* b) {
  rt->scratch_f.assign(size_t(b->d) * 2 + 4 * size_t(b->h) + kScanBlock, 0.0f);
  rt->scratch_q.assign(size_t(b->d) * 2, 0);
  rt->scratch_acc.assign(rank_bits_at(b) + (size_t(b->n) + 31) / 32, 0);
}

disco_status session_step(disco_session* s, const disco_event& ev) {
  const disco_bundle* b = s->runtime->bundle;
  const kernels::KernelSet& K = kernels::best_kernels();
  const uint32_t d = b->d, h = b->h;
  disco_runtime* rt = s->runtime;
  float* x = rt->scratch_f.data();
  float* z = x + d;
  int8_t* xq = rt->scratch_q.data();
  int32_t* acc = rt->scratch_acc.data();

  // x_t = item_emb[i] + type_emb[y] (+ price_emb[pb(p)]) (+ gap_emb[gb(g)])
  item_row_f32(b, ev.item, x);
  const float* te = b->type_emb.data() + size_t(ev.type) * d;
  for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + te[j];
  const float price = ev.price > 0.0f ? ev.price : b->item_price(ev.item);
  if (b->n_price_buckets) {
    const float* pe = b->price_emb.data() + size_t(price_bucket(price, b->n_price_buckets)) * d;
    for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + pe[j];
  }
  if (b->n_gap_buckets) {
    const double gap = s->last_ts_ms == kNever ? 0.0 : double(ev.ts_ms - s->last_ts_ms) / 1000.0;
    const float* ge = b->gap_emb.data() + size_t(gap_bucket(gap, b->n_gap_buckets)) * d;
    for (uint32_t j = 0; j < d; ++j) x[j] = x[j] + ge[j];
  }

  // z = W_ih x + W_hh h + b  with int8 activations and int32 accumulation.
  const float sx = quant::quantize_vector_i8(x, d, xq);
  K.scan_i8(b->w_ih.row_i8(0), 4 * h, b->w_ih.row_bytes, xq, d, acc);
  for (uint32_t r = 0; r < 4 * h; ++r) z[r] = (float(acc[r]) * b->w_ih.scale(r)) * sx;
  K.scan_i8(b->w_hh.row_i8(0), 4 * h, b->w_hh.row_bytes, s->hq.data(), h, acc);
  const float sh = s->h_scale;
  const float* bias = b->lstm_b.data();
  for (uint32_t r = 0; r < 4 * h; ++r) z[r] = (z[r] + (float(acc[r]) * b->w_hh.scale(r)) * sh) + bias[r];

  // Gates (i, f, g, o), PyTorch order.
  float* hv = s->h.data();
  float* cv = s->c.data();
  for (uint32_t j = 0; j < h; ++j) {
    const float ig = pmath::sigmoidf(z[j]);
    const float fg = pmath::sigmoidf(z[h + j]);
    const float gg = pmath::tanhf(z[2 * h + j]);
    const float og = pmath::sigmoidf(z[3 * h + j]);
    cv[j] = fg * cv[j] + ig * gg;
    hv[j] = og * pmath::tanhf(cv[j]);
  }
  s->h_scale = quant::quantize_vector_i8(hv, h, s->hq.data());
  float p = 0.0f;
  for (uint32_t j = 0; j < h; ++j) p = p + b->prop_w[j] * hv[j];
  s->purchase_propensity = pmath::sigmoidf(p + b->prop_b);
  return DISCO_OK;
}

}  // namespace disco::detail

size_t disco_session::memory_bytes() const {
  return sizeof(*this) + (h.capacity() + c.capacity()) * sizeof(float) + hq.capacity() +
         seen.capacity() * sizeof(uint64_t);
}

using namespace disco::detail;

extern "C" {

void disco_filter_default_options(disco_filter* f) DISCO_NOEXCEPT {
  if (!f) return;
  *f = disco_filter{};
  f->size = uint32_t(sizeof(disco_filter));
  f->exclude_seen = 1;
  f->include_out_of_stock = 0;
  f->category = -1;
}

disco_status disco_session_create(disco_runtime* rt, uint64_t user_key, disco_session** out) DISCO_NOEXCEPT {
  return guarded("creating a session", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !out) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_create: NULL argument");
    *out = nullptr;
    struct Owned {  // freed if sizing it throws (natively): not linked to the runtime yet
      disco_session* p;
      ~Owned() { disco_session_free(p); }
    } owned{new (std::nothrow) disco_session()};
    disco_session* s = owned.p;
    if (!s) return fail(DISCO_ERR_OUT_OF_MEMORY, "out of memory creating a session");
    s->user_key = user_key;
    session_resize(s, rt->bundle);
    s->runtime = rt;
    session_reset_state(s);
    owned.p = nullptr;
    s->serial = rt->sessions_created++;
    s->next = rt->sessions;
    if (rt->sessions) rt->sessions->prev = s;
    rt->sessions = s;
    *out = s;
    return DISCO_OK;
  });
}

void disco_session_free(disco_session* s) DISCO_NOEXCEPT {
  guarded_void("freeing a session", [&]() DISCO_GUARD_INLINE {
    if (!s) return;
    if (s->runtime) {
      if (s->prev) s->prev->next = s->next;
      else if (s->runtime->sessions == s) s->runtime->sessions = s->next;
      if (s->next) s->next->prev = s->prev;
    }
    delete s;
  });
}

disco_status disco_observe(disco_session* s, const disco_event* ev) DISCO_NOEXCEPT {
  return guarded("observing an event", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s || !ev) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_observe: NULL argument");
    if (!s->runtime) return fail(DISCO_ERR_STATE, "disco_observe: the session's runtime was freed");
    const disco_bundle* b = s->runtime->bundle;
    if (ev->item >= b->n)
      return fail(DISCO_ERR_UNKNOWN_ITEM, "disco_observe: item index ", ev->item, " is beyond the catalog (", b->n,
                  " items)");
    if (ev->type > DISCO_EVENT_PURCHASE)
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_observe: event type ", ev->type,
                  " is not one of view=0, click=1, cart=2, remove=3, purchase=4");
    if (std::isnan(ev->price) || std::isinf(ev->price))
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_observe: price is not finite");
    session_step(s, *ev);
    const float price = ev->price > 0.0f ? ev->price : b->item_price(ev->item);
    disco::on_event(s->stats, ev->type, double(price), ev->quantity, ev->ts_ms);
    s->seen[ev->item >> 6] |= uint64_t(1) << (ev->item & 63);
    note_interaction(s, ev->item, ev->type);
    HistoryEvent& he = s->history[s->history_len % kHistory];
    he = HistoryEvent{ev->ts_ms, ev->item, ev->type, ev->price, ev->quantity};
    ++s->history_len;
    s->last_ts_ms = ev->ts_ms;
    return DISCO_OK;
  });
}

disco_status disco_purchase_probability(const disco_session* s, float* out) DISCO_NOEXCEPT {
  return guarded("reading the purchase probability", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s || !out) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_purchase_probability: NULL argument");
    *out = s->purchase_propensity;
    return DISCO_OK;
  });
}

disco_status disco_recommend(disco_session* s, uint32_t k, const disco_filter* filter, uint32_t* out_items,
                             float* out_scores, uint32_t* out_n) DISCO_NOEXCEPT {
  return guarded("recommending items", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s || !out_items || !out_scores || !out_n)
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_recommend: NULL argument");
    *out_n = 0;
    if (k == 0) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_recommend: k must be >= 1");
    if (!s->runtime) return fail(DISCO_ERR_STATE, "disco_recommend: the session's runtime was freed");
    disco_filter f;
    disco_filter_default_options(&f);
    if (filter) {
      const disco_status st = read_sized(filter, "disco_filter", "disco_filter_default_options", &f);
      if (st != DISCO_OK) return st;
    }
    if (f.n_exclude && !f.exclude)
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_recommend: filter->exclude is NULL with n_exclude > 0");
    const disco_bundle* b = s->runtime->bundle;
    const disco::kernels::KernelSet& K = disco::kernels::best_kernels();
    const uint32_t d = b->d, h = b->h, n = b->n;
    float* u = s->runtime->scratch_f.data() + d + 4 * size_t(h);
    int8_t* uq = s->runtime->scratch_q.data() + d;
    int32_t* acc = s->runtime->scratch_acc.data();

    // u = out_proj h + out_bias
    if (b->out_proj.dtype == disco::fb::DType::I8) {
      K.scan_i8(b->out_proj.row_i8(0), d, b->out_proj.row_bytes, s->hq.data(), h, acc);
      for (uint32_t r = 0; r < d; ++r) u[r] = (float(acc[r]) * b->out_proj.scale(r)) * s->h_scale + b->out_bias[r];
    } else {
      for (uint32_t r = 0; r < d; ++r) {
        const uint8_t* row = b->out_proj.row_raw(r);
        float sum = 0.0f;
        for (uint32_t j = 0; j < h; ++j) sum = sum + load_f32(row + 4 * size_t(j)) * s->h[j];
        u[r] = sum + b->out_bias[r];
      }
    }
    const float su = disco::quant::quantize_vector_i8(u, d, uq);

    const bool ranking = s->runtime->ranking;  // disco_rank: only its candidates (their bits in scratch_acc)
    const uint32_t* rank_bits = reinterpret_cast<const uint32_t*>(acc) + rank_bits_at(b);
    const bool excl_seen = f.exclude_seen != 0;
    const bool incl_oos = f.include_out_of_stock != 0;
    const int32_t category = f.category;
    const uint32_t* excl = f.exclude;
    const uint32_t n_excl = f.n_exclude;
    const uint32_t kk = std::min(k, n);

    // Min-heap of the best kk (score, index) in the caller's arrays; "worse" = lower score, then
    // higher index (ties rank the lower index first).
    uint32_t size = 0;
    auto worse = [&](uint32_t a, uint32_t c) {  // heap positions
      return out_scores[a] < out_scores[c] || (out_scores[a] == out_scores[c] && out_items[a] > out_items[c]);
    };
    auto swap_pos = [&](uint32_t a, uint32_t c) {
      std::swap(out_scores[a], out_scores[c]);
      std::swap(out_items[a], out_items[c]);
    };
    auto sift_down = [&](uint32_t i, uint32_t len) {
      for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < len && worse(l, m)) m = l;
        if (l + 1 < len && worse(l + 1, m)) m = l + 1;
        if (m == i) return;
        swap_pos(i, m);
        i = m;
      }
    };
    const disco::detail::MatrixView& e = b->item_emb;
    // Row scales: read in place when 4-byte aligned (the usual case), else through a copy per block.
    const bool scales_aligned = reinterpret_cast<uintptr_t>(e.scales) % alignof(float) == 0;
    float* block_scores = s->runtime->scratch_f.data() + 2 * size_t(d) + 4 * size_t(h);  // kScanBlock floats
    float block_scales[kScanBlock];
    float threshold = -std::numeric_limits<float>::infinity();  // heap minimum once full
    for (uint32_t base = 0; base < n; base += uint32_t(kScanBlock)) {
      const uint32_t cnt = std::min<uint32_t>(uint32_t(kScanBlock), n - base);
      const float* sc;
      if (scales_aligned) {
        sc = reinterpret_cast<const float*>(e.scales) + base;
      } else {
        std::memcpy(block_scales, e.scales + 4 * size_t(base), 4 * size_t(cnt));
        sc = block_scales;
      }
      if (e.dtype == disco::fb::DType::I8) {
        K.score_i8(e.row_i8(base), cnt, e.row_bytes, uq, d, sc, su, block_scores);
      } else {
        K.scan_i4(e.row_raw(base), cnt, e.row_bytes, uq, d, acc);
        for (uint32_t r = 0; r < cnt; ++r) block_scores[r] = (float(acc[r]) * sc[r]) * su;
      }
      if (ranking)  // disco_rank: the others can never enter (the threshold starts at -inf)
        for (uint32_t r = 0; r < cnt; ++r)
          if (!(rank_bits[(base + r) >> 5] >> ((base + r) & 31) & 1))
            block_scores[r] = -std::numeric_limits<float>::infinity();
      // Only scores above the current k-th best can enter: jump between them with the SIMD search.
      for (uint32_t r = uint32_t(K.first_above(block_scores, 0, cnt, threshold)); r < cnt;
           r = uint32_t(K.first_above(block_scores, r + 1, cnt, threshold))) {
        const float score = block_scores[r];
        const uint32_t item = base + r;
        if (excl_seen && (s->seen[item >> 6] >> (item & 63) & 1)) continue;
        if (!incl_oos && !b->item_in_stock(item)) continue;
        if (category >= 0 && b->item_category(item) != uint32_t(category)) continue;
        bool excluded = false;
        for (uint32_t x = 0; x < n_excl && !excluded; ++x) excluded = excl[x] == item;
        if (excluded) continue;
        if (size < kk) {
          uint32_t i = size++;
          out_scores[i] = score;
          out_items[i] = item;
          while (i > 0) {  // sift up
            const uint32_t p = (i - 1) / 2;
            if (!worse(i, p)) break;
            swap_pos(i, p);
            i = p;
          }
        } else {
          out_scores[0] = score;
          out_items[0] = item;
          sift_down(0, size);
        }
        if (size == kk) threshold = out_scores[0];
      }
    }
    // Heap sort: repeatedly move the worst to the end -> best first.
    for (uint32_t len = size; len > 1; --len) {
      swap_pos(0, len - 1);
      sift_down(0, len - 1);
    }
    *out_n = size;
    return DISCO_OK;
  });
}

// disco_recommend's scan, scores, filters and order, restricted to the candidates: their bits in
// runtime->scratch_acc (all 0 between calls) while runtime->ranking is set.
disco_status disco_rank(disco_session* s, const uint32_t* items, uint32_t n, const disco_filter* filter,
                        uint32_t* out_items, float* out_scores, uint32_t* out_n) DISCO_NOEXCEPT {
  return guarded("ranking items", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s || !out_n || (n && (!items || !out_items || !out_scores)))
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_rank: NULL argument");
    *out_n = 0;
    if (!n) return DISCO_OK;
    disco_runtime* rt = s->runtime;
    if (!rt) return disco_recommend(s, n, filter, out_items, out_scores, out_n);  // its STATE error
    uint32_t* bits = reinterpret_cast<uint32_t*>(rt->scratch_acc.data()) + rank_bits_at(rt->bundle);
    disco_status st = DISCO_OK;
    for (int set = 1; set >= 0; --set) {  // set the candidates' bits, rank, clear them
      for (uint32_t i = 0; i < n; ++i)
        if (items[i] < rt->bundle->n) bits[items[i] >> 5] = set ? bits[items[i] >> 5] | 1u << (items[i] & 31) : 0;
      rt->ranking = set;
      if (set) st = disco_recommend(s, n, filter, out_items, out_scores, out_n);
    }
    return st;
  });
}

}  // extern "C"
