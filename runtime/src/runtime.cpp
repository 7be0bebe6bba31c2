// The runtime: bandit + guardrails configured from the bundle, offers, deferred activation,
// idempotent outcome updates, hot swap, fleet statistics export/import.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "disco/rng.h"
#include "memory_archive.h"
#include "runtime_internal.h"
#include "status_internal.h"

using disco::detail::fail;
using namespace disco::detail;

namespace disco::detail {

uint64_t DecisionId::hash() const { return mix64(hi ^ mix64(lo)); }

void IdTable::init(uint32_t capacity) {
  capacity_ = capacity;
  uint32_t buckets = 16;
  while (buckets < 2 * capacity) buckets <<= 1;
  mask_ = buckets - 1;
  index_.assign(buckets, 0);
  ids_.assign(capacity, DecisionId{});
  alive_.assign(capacity, 0);
  count_ = write_ = 0;
}

void IdTable::clear() {
  std::fill(index_.begin(), index_.end(), 0u);
  std::fill(alive_.begin(), alive_.end(), uint8_t(0));
  count_ = write_ = 0;
}

int64_t IdTable::find(const DecisionId& id) const {
  if (!capacity_) return -1;
  for (uint32_t i = bucket_of(id);; i = (i + 1) & mask_) {
    const uint32_t v = index_[i];
    if (v == 0) return -1;
    if (ids_[v - 1] == id) return int64_t(v - 1);
  }
}

void IdTable::erase_slot(uint32_t slot) {
  if (!alive_[slot]) return;
  uint32_t i = bucket_of(ids_[slot]);
  while (index_[i] != slot + 1) i = (i + 1) & mask_;
  // Backward-shift deletion keeps every probe chain unbroken.
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (index_[j] == 0) break;
    const uint32_t home = bucket_of(ids_[index_[j] - 1]);
    const bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
  alive_[slot] = 0;
  --count_;
}

bool IdTable::place(uint32_t slot, const DecisionId& id) {
  if (slot >= capacity_ || alive_[slot] || find(id) >= 0) return false;
  occupy(slot, id);
  return true;
}

void IdTable::occupy(uint32_t slot, const DecisionId& id) {
  ids_[slot] = id;
  alive_[slot] = 1;
  ++count_;
  uint32_t i = bucket_of(id);
  while (index_[i] != 0) i = (i + 1) & mask_;
  index_[i] = slot + 1;
}

uint32_t IdTable::insert(const DecisionId& id, DecisionId* evicted) {
  const uint32_t slot = write_;
  write_ = (write_ + 1) % capacity_;
  *evicted = DecisionId{};
  if (alive_[slot]) {
    *evicted = ids_[slot];
    erase_slot(slot);
  }
  occupy(slot, id);
  return slot;
}

namespace {

// The bandit uses the first context_dim features of the runtime's context (0 = all of them), so a
// bundle exported for an older, shorter feature list keeps working.
uint32_t bandit_dim(const disco_bundle* b) { return b->context_dim ? b->context_dim : kContextDim; }

// The bundle's value model (schemas/bundle.fbs ValueModel), or an inactive one when absent.
std::string configure_value_model(disco_runtime* rt, const disco_bundle* b) {
  const fb::ValueModel* vm = b->model->value_model();
  if (!vm || !vm->weights() || vm->weights()->size() == 0) {
    rt->value = disco::ValueModel{};
    return {};
  }
  if (vm->context_version() != kContextVersion)
    return concat("value model was fitted on context features v", vm->context_version(), "; this runtime builds v",
                  kContextVersion, " (runtime/include/disco/context.h): refit it");
  std::vector<uint16_t> pairs;
  if (vm->pairs()) pairs.assign(vm->pairs()->begin(), vm->pairs()->end());
  std::vector<double> w(vm->weights()->begin(), vm->weights()->end());
  disco::ValueModel v;
  std::string err = v.configure(uint32_t(b->arms.size()), vm->context_dim(), kContextDim, std::move(pairs), std::move(w),
                                vm->weight(), vm->max_abs(), vm->gamma_per_day());
  if (!err.empty()) return err;
  rt->value = std::move(v);
  return {};
}

std::string configure_policy(disco_runtime* rt, const disco_bundle* b, bool keep_bandit) {
  const fb::Model* m = b->model;
  const fb::Guardrails* g = m->guardrails();
  GuardrailPolicy policy;
  policy.max_discount = g->max_discount();
  policy.margin_floor = g->margin_floor();
  policy.budget_per_period = g->budget_per_period();
  policy.budget_period_s = g->budget_period_s();
  policy.cooldown_s = g->cooldown_s();
  policy.offer_ttl_s = g->offer_ttl_s();
  policy.budget_mode = static_cast<BudgetMode>(g->budget_mode());
  policy.budget_dual_rate = g->budget_dual_rate();
  // the float default 0.05f stands for the policy's double 0.05 (bundles before the field: same state)
  if (g->pacing_burst() != 0.05f) policy.pacing_burst = g->pacing_burst();
  if (g->eligible_categories()) policy.eligible_categories.assign(g->eligible_categories()->begin(), g->eligible_categories()->end());
  if (g->excluded_items()) policy.excluded_items.assign(g->excluded_items()->begin(), g->excluded_items()->end());
  std::vector<ArmSpec> arms;
  for (const ArmInfo& a : b->arms)
    arms.push_back(ArmSpec{static_cast<ArmKind>(a.kind), double(a.value), double(a.merchant_cost)});
  std::string err = rt->guards.configure(policy, arms);
  if (!err.empty()) return concat("guardrails: ", err);
  err = configure_value_model(rt, b);
  if (!err.empty()) return err;
  const fb::BanditPrior* bp = m->bandit();
  const float k = bp->pessimism();
  if (!std::isfinite(k) || k < 0.0f || k > 100.0f)
    return concat("bandit pessimism must be in [0, 100], got ", double(k));
  rt->pessimism = double(k);
  if (keep_bandit) return {};

  BanditConfig cfg;
  cfg.algorithm = static_cast<BanditAlgorithm>(bp->algorithm());
  cfg.n_arms = uint32_t(b->arms.size());
  cfg.dim = bandit_dim(b);
  cfg.prior_precision = bp->prior_precision();
  cfg.noise_scale = bp->noise_scale();
  cfg.ucb_alpha = bp->ucb_alpha();
  cfg.epsilon = bp->epsilon();
  cfg.exploration_floor = bp->exploration_floor();
  auto to_d = [](const flatbuffers::Vector<float>* v) {
    std::vector<double> r;
    if (v) r.assign(v->begin(), v->end());
    return r;
  };
  const bool has_prior = (bp->prior_a() && bp->prior_a()->size()) || (bp->prior_b() && bp->prior_b()->size());
  if (has_prior && bp->context_version() != kContextVersion)
    return concat("bandit prior was fitted on context features v", bp->context_version(),
                  (bp->context_version() == 0 ? " (not recorded)" : ""), "; this runtime builds v", kContextVersion,
                  " (runtime/include/disco/context.h): re-export the bundle");
  err = rt->bandit.configure(cfg, to_d(bp->prior_a()), to_d(bp->prior_b()), to_d(bp->prior_n()));
  if (!err.empty()) return concat("bandit prior: ", err);
  return {};
}

std::string check_bundle_dims(const disco_bundle* b) {
  if (b->context_dim > kContextDim)
    return concat("bundle bandit context_dim is ", b->context_dim, ", this runtime builds ", kContextDim,
                  " context features (a bundle may use the first N <= ", kContextDim, "; 0 = all)");
  if (b->arms.size() > kMaxArms) return concat("bundle has ", b->arms.size(), " arms; at most ", kMaxArms);
  return {};
}

}  // namespace
}  // namespace disco::detail

size_t disco_runtime::memory_bytes() const {
  size_t s = sizeof(*this) + pending.capacity() * sizeof(PendingDecision) + pending_ids.memory_bytes() +
             done_ids.memory_bytes() + scratch_f.capacity() * sizeof(float) + scratch_q.capacity() +
             scratch_acc.capacity() * sizeof(int32_t);
  const disco::BanditStats& st = bandit.stats();
  // statistics, prior, delta and the posterior cache: ~4 copies of (dim^2 + dim) doubles per arm.
  s += st.arms.size() * 4 * (size_t(st.dim) * st.dim + st.dim + 2) * sizeof(double);
  return s;
}

// disco_runtime_swap_bundle, disco_runtime_restore and disco_bandit_import build the new state
// aside and move it in: the moves must not allocate (or throw).
static_assert(std::is_nothrow_move_assignable_v<disco::Bandit> && std::is_nothrow_move_assignable_v<disco::Guardrails> &&
                  std::is_nothrow_move_assignable_v<disco::ValueModel>,
              "the commit step of a swap / restore / import must not allocate");

namespace {

// (seed, user_key) -> hi; (session serial, per-session counter, time) -> lo. The serial separates
// the sessions of one shopper in this runtime and the time separates runtimes (page loads) of
// one shopper; the same calls give the same ids.
DecisionId derive_decision_id(uint64_t seed, uint64_t user_key, uint64_t serial, uint64_t counter, int64_t now_ms) {
  DecisionId id;
  id.hi = disco::mix64(disco::mix64(seed) ^ user_key);
  id.lo = disco::mix64(disco::mix64(id.hi ^ serial) ^ disco::mix64(counter + 1) ^ uint64_t(now_ms));
  if (id.empty()) id.lo = 1;
  return id;
}

// Per-arm score offsets of the long-term value model for context x and the item's price; false
// (nothing written) when the bundle has no active value model.
// Plus, with a dual-priced budget (guardrails.h), the budget's price on each arm's spend.
bool policy_offsets(const disco_runtime* rt, const float* x, double price, double* out, const double* base = nullptr) {
  const double mu = rt->guards.price(), k = rt->pessimism;
  if (!rt->value.active() && !(mu > 0.0) && !(k > 0.0)) return false;
  const size_t n = rt->guards.arms().size();
  if (rt->value.active()) rt->value.offsets(x, price, out);
  else std::fill(out, out + n, 0.0);
  if (mu > 0.0) rt->guards.budget_offsets(price, mu, out, base);
  if (k > 0.0 && rt->bandit.configured()) {
    // a lower confidence bound on each discount's gain over arm 0 (schemas/bundle.fbs BanditPrior.pessimism)
    const double s0 = rt->bandit.stddev(0, x), v0 = s0 * s0;
    for (size_t a = 1; a < n; ++a) {
      const double sa = rt->bandit.stddev(uint32_t(a), x);
      out[a] -= k * std::sqrt(sa * sa + v0);
    }
  }
  return true;
}

}  // namespace

// The rule for an outcome and its `shown` (the same in the collector, collector/PROTOCOL.md): a
// decision trains the bandit exactly once, when it is both shown and has its outcome, in whichever
// order the two arrive. An outcome that arrives first is held in the pending entry (bounded by the
// pending table like the decision itself) and applied by disco_offer_shown.
namespace {
void apply_and_retire(disco_runtime* rt, uint32_t slot, double reward) {
  PendingDecision& pd = rt->pending[slot];
  rt->bandit.update(pd.arm, pd.context, reward);
  const DecisionId id = pd.id;
  rt->pending_ids.erase_slot(slot);
  DecisionId evicted;
  rt->done_ids.insert(id, &evicted);
}
}  // namespace

extern "C" {

void disco_runtime_default_options(disco_runtime_options* o) DISCO_NOEXCEPT {
  if (!o) return;
  *o = disco_runtime_options{};
  o->size = uint32_t(sizeof(disco_runtime_options));
  o->mode = DISCO_MODE_ONLINE;
}

disco_status disco_runtime_create(const disco_bundle* bundle, const disco_runtime_options* options,
                                  disco_runtime** out) DISCO_NOEXCEPT {
  return guarded("creating the runtime", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!bundle || !out) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_create: NULL argument");
    *out = nullptr;
    disco_runtime_options opt;
    disco_runtime_default_options(&opt);
    if (options) {
      const disco_status st = read_sized(options, "disco_runtime_options", "disco_runtime_default_options", &opt);
      if (st != DISCO_OK) return st;
      // The mode comes from C or JS as a plain integer: read it as one before trusting the enum.
      int32_t mode_value = 0;
      static_assert(sizeof(disco_mode) == sizeof(int32_t), "C enum is int-sized");
      std::memcpy(&mode_value, &opt.mode, sizeof mode_value);
      if (mode_value < DISCO_MODE_ONLINE || mode_value > DISCO_MODE_LOGGING_ONLY)
        return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_create: mode ", mode_value,
                    " is not online (0), apprentice (1) or logging-only (2)");
    }
    if (opt.max_pending_decisions == 0) opt.max_pending_decisions = 65536;
    if (opt.max_pending_decisions > (1u << 24))
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_create: max_pending_decisions above 16777216");
    std::string err = check_bundle_dims(bundle);
    if (!err.empty()) return fail(DISCO_ERR_SHAPE, err);
    struct Owned {  // freed on every way out but the last (a refusal, or an exception natively)
      disco_runtime* p;
      ~Owned() { disco_runtime_free(p); }
    } owned{new (std::nothrow) disco_runtime()};
    disco_runtime* rt = owned.p;
    if (!rt) return fail(DISCO_ERR_OUT_OF_MEMORY, "out of memory creating the runtime");
    rt->bundle = bundle;
    rt->options = opt;
    err = configure_policy(rt, bundle, false);
    if (!err.empty()) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle policy refused: ", err);
    runtime_resize_scratch(rt, bundle);
    rt->pending_ids.init(opt.max_pending_decisions);
    rt->pending.assign(opt.max_pending_decisions, PendingDecision{});
    rt->done_ids.init(opt.max_pending_decisions);
    owned.p = nullptr;
    *out = rt;
    return DISCO_OK;
  });
}

void disco_runtime_free(disco_runtime* rt) DISCO_NOEXCEPT {
  guarded_void("freeing the runtime", [&]() DISCO_GUARD_INLINE {
    if (!rt) return;
    // Sessions outlive nothing: detach them so a late disco_session_free is safe.
    for (disco_session* s = rt->sessions; s;) {
      disco_session* next = s->next;
      s->runtime = nullptr;
      s->prev = s->next = nullptr;
      s = next;
    }
    delete rt;
  });
}

disco_status disco_runtime_swap_bundle(disco_runtime* rt, const disco_bundle* nb) DISCO_NOEXCEPT {
  return guarded("swapping the bundle", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !nb) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_runtime_swap_bundle: NULL argument");
    std::string err = check_bundle_dims(nb);
    if (!err.empty()) return fail(DISCO_ERR_SHAPE, err);
    const disco_bundle* ob = rt->bundle;
    const bool same_arms = ob->arms.size() == nb->arms.size();
    const bool same_dims = ob->d == nb->d && ob->h == nb->h;
    disco_runtime tmp_guard_check;  // validate the new policy before touching anything
    tmp_guard_check.bundle = nb;
    err = configure_policy(&tmp_guard_check, nb, false);
    if (!err.empty()) return fail(DISCO_ERR_BUNDLE_FORMAT, "bundle policy refused: ", err);
    // The guardrails (and their budget spend this period) carry over when the policy and arms are
    // unchanged; a changed policy starts a fresh budget period.
    const disco::GuardrailPolicy& op = rt->guards.policy();
    const disco::GuardrailPolicy& np = tmp_guard_check.guards.policy();
    bool same_policy = op.max_discount == np.max_discount && op.margin_floor == np.margin_floor &&
                       op.budget_per_period == np.budget_per_period && op.budget_period_s == np.budget_period_s &&
                       op.cooldown_s == np.cooldown_s && op.offer_ttl_s == np.offer_ttl_s &&
                       op.pacing_burst == np.pacing_burst && op.budget_mode == np.budget_mode &&
                       op.budget_dual_rate == np.budget_dual_rate && op.eligible_categories == np.eligible_categories &&
                       op.excluded_items == np.excluded_items && same_arms;
    for (size_t a = 0; same_policy && a < ob->arms.size(); ++a) {
      const disco::ArmSpec &x = rt->guards.arms()[a], &y = tmp_guard_check.guards.arms()[a];
      same_policy = x.kind == y.kind && x.value == y.value && x.merchant_cost == y.merchant_cost;
    }
    // Same arms and context length: the new bundle's bandit config and prior (a refitted warm
    // start, a new noise scale) take over and the observed statistics carry on. Otherwise restart
    // from the new prior; pending decisions refer to the old arms / features.
    const bool same_bandit_shape = same_arms && rt->bandit.config().dim == tmp_guard_check.bandit.config().dim;
    // Everything that allocates happens before the runtime changes, so an exception (out of memory)
    // leaves it as it was: the adopted bandit, the scratch, each session's remapped seen set, and
    // room for the LSTM vectors of the new dimensions.
    disco::Bandit adopted;
    if (same_bandit_shape) {
      adopted = rt->bandit;
      err = adopted.adopt_policy(tmp_guard_check.bandit);
      if (!err.empty()) return fail(DISCO_ERR_STATE, err);
    }
    runtime_resize_scratch(&tmp_guard_check, nb);
    const auto* old_ids = ob->model->catalog()->item_ids();
    auto remap = [&](uint32_t old_index, uint32_t* out) {
      if (old_index >= old_ids->size()) return false;
      const int64_t found = nb->id_index.find(old_ids->Get(old_index)->string_view());
      if (found < 0) return false;
      *out = uint32_t(found);
      return true;
    };
    // The sessions' remapped seen sets, one after the other (words each).
    const size_t words = (size_t(nb->n) + 63) / 64;
    size_t n_sessions = 0;
    for (disco_session* s = rt->sessions; s; s = s->next) ++n_sessions;
    std::vector<uint64_t> new_seen(n_sessions * words, 0);
    size_t si = 0;
    for (disco_session* s = rt->sessions; s; s = s->next, ++si) {
      uint64_t* seen = new_seen.data() + si * words;
      for (uint32_t i = 0; i < ob->n; ++i) {
        uint32_t ni;
        if ((s->seen[i >> 6] >> (i & 63) & 1) && remap(i, &ni)) seen[ni >> 6] |= uint64_t(1) << (ni & 63);
      }
#if DISCO_HAS_EXCEPTIONS  // (without exceptions an allocation failure aborts: nothing to prepare for)
      s->seen.reserve(words);
      if (!same_dims) {
        s->h.reserve(nb->h);
        s->c.reserve(nb->h);
        s->hq.reserve(nb->h);
      }
#endif
    }

    // Commit: moves and writes within reserved capacity only.
#if DISCO_HAS_EXCEPTIONS
    if (!same_policy) rt->guards = std::move(tmp_guard_check.guards);
#else
    if (!same_policy) rt->guards = tmp_guard_check.guards;  // nothing throws here; the copy is 47 B less wasm
#endif
    rt->value = std::move(tmp_guard_check.value);  // the new bundle's long-term value model, always
    if (same_bandit_shape) {
      rt->bandit = std::move(adopted);
    } else {
      rt->bandit = std::move(tmp_guard_check.bandit);
      rt->pending_ids.clear();
      rt->done_ids.clear();
    }
    rt->bundle = nb;
    rt->scratch_f.swap(tmp_guard_check.scratch_f);
    rt->scratch_q.swap(tmp_guard_check.scratch_q);
    rt->scratch_acc.swap(tmp_guard_check.scratch_acc);
    ++rt->generation;
    // Remap every session's item indices through the external ids; replay its recent history when
    // the model dimensions changed (the old LSTM state has the wrong shape).
    si = 0;
    for (disco_session* s = rt->sessions; s; s = s->next, ++si) {
      s->seen.assign(words, 0);  // within the capacity reserved above
      std::memcpy(s->seen.data(), new_seen.data() + si * words, words * sizeof(uint64_t));
      s->n_items = nb->n;
      s->h_dim = nb->h;
      s->d_dim = nb->d;
      const uint32_t nr = std::min(s->recent_len, kRecentItems);
      for (uint32_t i = 0; i < nr; ++i)
        if (!remap(s->recent_item[i], &s->recent_item[i])) s->recent_count[i] = 0;
      const uint32_t nh = std::min(s->history_len, kHistory);
      const uint32_t first = s->history_len - nh;
      for (uint32_t k = 0; k < nh; ++k) {
        HistoryEvent& he = s->history[(first + k) % kHistory];
        if (!remap(he.item, &he.item)) he.type = 0xFFFFFFFFu;  // item gone: skipped on replay
      }
      if (!same_dims) {
        s->h.assign(nb->h, 0.0f);  // within the capacity reserved above
        s->c.assign(nb->h, 0.0f);
        s->hq.assign(nb->h, 0);
        session_reset_state(s);
        const int64_t saved_last = s->last_ts_ms;
        s->last_ts_ms = disco::kNever;
        for (uint32_t k = 0; k < nh; ++k) {
          const HistoryEvent& he = s->history[(first + k) % kHistory];
          if (he.type > DISCO_EVENT_PURCHASE) continue;
          disco_event ev{he.ts_ms, he.item, he.type, he.price, he.quantity};
          session_step(s, ev);
          s->last_ts_ms = he.ts_ms;
        }
        s->last_ts_ms = saved_last;
      }
    }
    return DISCO_OK;
  });
}

namespace {
// The one decision path of disco_offer_make (n = 1, cart = false: the item's price and cost) and
// disco_offer_cart (the cart's value and cost; each cart-scope arm's eligible value as its base).
disco_status make_offer(disco_session* s, const uint32_t* items, const uint32_t* qty, uint32_t n, bool cart,
                        int64_t now_ms, uint64_t decision_hi, uint64_t decision_lo, disco_offer* out,
                        disco_cart_terms* terms) {
  const char* fn = cart ? "disco_offer_cart" : "disco_offer_make";
  if (!s || !out || (!items && n)) return fail(DISCO_ERR_INVALID_ARGUMENT, fn, ": NULL argument");
  disco_runtime* rt = s->runtime;
  if (!rt) return fail(DISCO_ERR_STATE, fn, ": the session's runtime was freed");
  const disco_bundle* b = rt->bundle;
  if (!n) return fail(DISCO_ERR_INVALID_ARGUMENT, fn, ": the cart is empty");
  // The cart's value and cost at catalog prices; each cart arm's eligible value (base): the lines
  // that pass the guardrails' item lists and the arm's window and eligibility.
  double value = 0.0, cost = 0.0, base[disco::kMaxArms] = {};
  int64_t units = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t item = items[i], q = qty ? qty[i] : 1;
    if (item >= b->n)
      return fail(DISCO_ERR_UNKNOWN_ITEM, fn, ": item index ", item, " is beyond the catalog (", b->n, " items)");
    if (!q) return fail(DISCO_ERR_INVALID_ARGUMENT, fn, ": quantity 0 in line ", i);
    const double line = double(b->item_price(item)) * q;
    value += line;
    cost += double(b->item_cost(item)) * q;
    units += q;
    if (!cart || !rt->guards.item_listed(item, b->item_category(item))) continue;
    for (uint32_t m = b->rule_mask(item, now_ms, true) & ~1u; m; m &= m - 1) base[__builtin_ctz(m)] += line;
  }
  uint32_t rules = 1u;
  if (cart) {
    for (uint32_t a = 1; a < b->arms.size(); ++a)
      if (base[a] > 0.0 && base[a] >= b->model->arms()->Get(a)->min_spend()) rules |= 1u << a;
    base[0] = value;
  } else {
    rules = b->rule_mask(items[0], now_ms);
  }
  DecisionId id{decision_hi, decision_lo};
  if (id.empty()) {
    // A derived id already issued: the same saved state restored twice and offered in the same
    // millisecond (one shopper's cookie in two concurrent requests at an edge). The next counter
    // values give the next ids, deterministically; the tables are finite, so this ends.
    for (;;) {
      id = derive_decision_id(rt->options.seed, s->user_key, s->serial, s->decision_counter, now_ms);
      if (rt->pending_ids.find(id) < 0 && rt->done_ids.find(id) < 0) break;
      ++s->decision_counter;
    }
  } else if (rt->pending_ids.find(id) >= 0 || rt->done_ids.find(id) >= 0) {
    return fail(DISCO_ERR_DUPLICATE, fn, ": decision id was already issued by this runtime");
  }
  ++s->decision_counter;

  disco::ContextInputs ci;
  ci.stats = &s->stats;
  ci.purchase_propensity = s->purchase_propensity;
  ci.price = value;
  ci.cost = cost;
  ci.now_ms = now_ms;
  if (cart) ci.cart_units = units > INT32_MAX ? INT32_MAX : int32_t(units);
  float x[disco::kContextDim];
  disco::build_context(ci, x);

  disco::OfferRequest req;
  req.item = cart ? DISCO_CART_ITEM : items[0];
  req.category = cart ? 0 : b->item_category(items[0]);
  req.price = value;
  req.cost = cost;
  req.now_ms = now_ms;
  req.last_discount_offer_ms = s->stats.last_discount_offer_ms;
  if (cart) req.base = base;

  *out = disco_offer{};
  out->decision_hi = id.hi;
  out->decision_lo = id.lo;
  out->item = req.item;
  out->purchase_propensity = s->purchase_propensity;
  out->context_dim = rt->bandit.config().dim;  // the features the bandit uses (the bundle's context_dim)
  std::copy(x, x + disco::kContextDim, out->context);

  uint32_t arm = 0, flags = 0;
  if (rt->options.mode == DISCO_MODE_LOGGING_ONLY) {
    out->bandit_arm = 0;
    out->propensity = 1.0f;
  } else {
    rt->guards.pace(now_ms);
    uint32_t mask = rt->guards.eligible_arms(req, &flags);
    // The offer policy's per-arm rules (window, eligibility, scope, min spend) and the per-shopper cap.
    if (b->max_discounted_offers && s->stats.discount_offers >= b->max_discounted_offers) {
      if (mask & ~1u) flags |= DISCO_GUARD_COOLDOWN;
      rules = 1;
    } else if (mask & ~rules) {
      flags |= DISCO_GUARD_INELIGIBLE;
    }
    mask &= rules;
    disco::Rng rng(rt->options.seed, id.hi, id.lo, disco::kStreamBandit);
    double offsets[disco::kMaxArms];
    const bool use_offsets = policy_offsets(rt, x, value, offsets, req.base);
    const disco::Choice choice = rt->bandit.choose(x, mask, rng, false, use_offsets ? offsets : nullptr);
    out->bandit_arm = choice.arm;
    if (rt->options.mode == DISCO_MODE_APPRENTICE) {
      // The site's baseline (arm 0) is shown; `propensity` carries the probability of what disco
      // would have offered (bandit_arm) under its policy, for off-policy evaluation.
      arm = 0;
      flags |= DISCO_GUARD_APPRENTICE;
      out->propensity = float(choice.propensity);
    } else {
      arm = choice.arm;
      uint32_t why = 0;
      if (arm != 0 && !rt->guards.check(req, arm, &why)) {
        // Defence in depth: never reached when eligible_arms() and check() agree. The shown arm is
        // then the deterministic fallback 0.
        flags |= why;
        arm = 0;
        out->propensity = 1.0f;
      } else {
        out->propensity = float(choice.propensity);
      }
    }
  }
  const disco::ArmCost c = disco::arm_cost(rt->guards.arms()[arm], req.base_of(arm));
  const double amount = c.discount_fraction > 0.0 ? c.spend : 0.0;  // off the price (not free shipping's cost)
  out->arm = arm;
  // an item's discount is the fraction off its price; a cart's, the amount off over the cart's value
  out->discount = !(value > 0.0) ? 0.0f : float(cart ? amount / value : c.discount_fraction);
  out->expires_at_ms = b->expiry(arm, now_ms, rt->guards.policy().offer_ttl_s);
  out->guardrails = flags;
  if (terms) {
    terms->value = value;
    terms->cost = cost;
    terms->eligible = base[arm];
    terms->amount = amount;
    terms->min_spend = arm ? b->model->arms()->Get(arm)->min_spend() : 0.0;
  }
  const double spend = arm != 0 ? rt->guards.commit(req, arm) : 0.0;  // what disco_offer_expired gives back
  disco::on_offer(s->stats, arm != 0, now_ms);

  DecisionId evicted;
  const uint32_t slot = rt->pending_ids.insert(id, &evicted);
  PendingDecision& pd = rt->pending[slot];
  pd.id = id;
  pd.ts_ms = now_ms;
  pd.price = float(value);
  pd.arm = arm;
  pd.shown = 0;
  pd.held = 0;
  pd.reward = 0.0;
  pd.spend = spend;
  std::copy(x, x + disco::kContextDim, pd.context);
  return DISCO_OK;
}
}  // namespace

disco_status disco_offer_make(disco_session* s, uint32_t item, int64_t now_ms, uint64_t decision_hi,
                              uint64_t decision_lo, disco_offer* out) DISCO_NOEXCEPT {
  return guarded("making an offer", [&]() DISCO_GUARD_INLINE -> disco_status {
    return make_offer(s, &item, nullptr, 1, false, now_ms, decision_hi, decision_lo, out, nullptr);
  });
}

disco_status disco_offer_cart(disco_session* s, const uint32_t* items, const uint32_t* quantities, uint32_t n,
                              int64_t now_ms, uint64_t decision_hi, uint64_t decision_lo, disco_offer* out,
                              disco_cart_terms* terms) DISCO_NOEXCEPT {
  return guarded("making a cart offer", [&]() DISCO_GUARD_INLINE -> disco_status {
    return make_offer(s, items, quantities, n, true, now_ms, decision_hi, decision_lo, out, terms);
  });
}

disco_status disco_policy_probabilities(disco_runtime* rt, const float* context, uint32_t dim,
                                        uint32_t eligible_mask, double price, double cost, double* out_probs) DISCO_NOEXCEPT {
  return guarded("computing policy probabilities", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !context || !out_probs) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_policy_probabilities: NULL argument");
    const uint32_t n_arms = uint32_t(rt->guards.arms().size());
    const uint32_t need = rt->bandit.config().dim;
    if (dim < need || dim > DISCO_MAX_CONTEXT)
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_policy_probabilities: context has ", dim,
                  " features; the bundle's policy reads ", need, " (at most ", DISCO_MAX_CONTEXT, ")");
    if (!std::isfinite(price) || !(price > 0.0) || !std::isfinite(cost))
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_policy_probabilities: price must be a finite number > 0 and cost finite");
    float x[disco::kContextDim] = {};
    for (uint32_t i = 0; i < dim && i < disco::kContextDim; ++i) x[i] = context[i];
    for (uint32_t a = 0; a < n_arms; ++a) out_probs[a] = 0.0;
    // The arms the price-dependent guardrails allow (max discount, margin floor); the caller's mask
    // (0 = every arm) stands for the rest (item eligibility, cooldown, budget at decision time).
    disco::OfferRequest req;
    req.price = price;
    req.cost = cost;
    req.item = UINT32_MAX;
    uint32_t mask = rt->guards.price_eligible_arms(req);
    if (eligible_mask) mask &= eligible_mask | 1u;
    double offsets[disco::kMaxArms];
    const bool use_offsets = policy_offsets(rt, x, price, offsets);
    double p[disco::kMaxArms];
    rt->bandit.probabilities(x, mask, p, use_offsets ? offsets : nullptr);
    for (uint32_t a = 0; a < n_arms; ++a) out_probs[a] = p[a];
    return DISCO_OK;
  });
}

disco_status disco_session_note_offer(disco_session* s, uint32_t arm, int64_t ts_ms) DISCO_NOEXCEPT {
  return guarded("noting an offer", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!s) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_note_offer: NULL session");
    disco_runtime* rt = s->runtime;
    if (!rt) return fail(DISCO_ERR_STATE, "disco_session_note_offer: the session's runtime was freed");
    const size_t n_arms = rt->guards.arms().size();
    if (arm >= n_arms)
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_session_note_offer: arm ", arm,
                  " is out of range (the bundle has ", n_arms, " arms)");
    disco::on_offer(s->stats, arm != 0, ts_ms);
    return DISCO_OK;
  });
}


disco_status disco_offer_shown(disco_runtime* rt, uint64_t hi, uint64_t lo) DISCO_NOEXCEPT {
  return guarded("marking an offer shown", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_offer_shown: NULL runtime");
    const int64_t slot = rt->pending_ids.find(DecisionId{hi, lo});
    if (slot < 0) {
      if (rt->done_ids.find(DecisionId{hi, lo}) >= 0)
        return fail(DISCO_ERR_DUPLICATE, "disco_offer_shown: the decision's outcome was already applied");
      return fail(DISCO_ERR_NOT_FOUND, "disco_offer_shown: unknown decision id (never issued here, or evicted "
                                       "from the pending table)");
    }
    PendingDecision& pd = rt->pending[size_t(slot)];
    pd.shown = 1;
    if (pd.held) apply_and_retire(rt, uint32_t(slot), pd.reward);  // its outcome came first
    return DISCO_OK;
  });
}

disco_status disco_update(disco_runtime* rt, const disco_outcome* o) DISCO_NOEXCEPT {
  return guarded("applying an outcome", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt || !o) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_update: NULL argument");
    if (!std::isfinite(o->reward) || !std::isfinite(o->revenue))
      return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_update: reward and revenue must be finite");
    const DecisionId id{o->decision_hi, o->decision_lo};
    const int64_t slot = rt->pending_ids.find(id);
    if (slot < 0) {
      if (rt->done_ids.find(id) >= 0)
        return fail(DISCO_ERR_DUPLICATE, "disco_update: outcome for this decision was already applied");
      return fail(DISCO_ERR_NOT_FOUND, "disco_update: unknown decision id (never issued here, or evicted from "
                                       "the pending table)");
    }
    PendingDecision& pd = rt->pending[size_t(slot)];
    // The reward is the reported margin, converted or not (0 for a plain non-purchase): a caller may
    // charge a cost to an offer that did not convert, and the collector's fleet statistics take the
    // joined margin the same way, so local and fleet statistics agree.
    const double reward = disco::scaled_reward(o->reward, pd.price);
    if (!pd.shown) {
      if (pd.held)
        return fail(DISCO_ERR_DUPLICATE, "disco_update: an outcome for this decision is already held until it is shown");
      pd.held = 1;
      pd.reward = reward;
      return fail(DISCO_ERR_NOT_FOUND, "disco_update: decision not shown yet: its outcome is held for disco_offer_shown");
    }
    apply_and_retire(rt, uint32_t(slot), reward);
    return DISCO_OK;
  });
}

disco_status disco_offer_expired(disco_runtime* rt, uint64_t hi, uint64_t lo) DISCO_NOEXCEPT {
  return guarded("expiring an offer", [&]() DISCO_GUARD_INLINE -> disco_status {
    if (!rt) return fail(DISCO_ERR_INVALID_ARGUMENT, "disco_offer_expired: NULL runtime");
    const int64_t slot = rt->pending_ids.find(DecisionId{hi, lo});
    const bool open = slot >= 0 && !rt->pending[size_t(slot)].held;  // no outcome recorded yet
    if (open) {
      // What disco_offer_make's Guardrails::commit reserved for this arm at this price (0 for arm 0).
      const PendingDecision& pd = rt->pending[size_t(slot)];
      rt->guards.release(pd.ts_ms, pd.spend);
    }
    // The outcome "not converted, reward 0", exactly as disco_update records it; its refusals
    // (DUPLICATE: the decision has its outcome; NOT_FOUND: unknown) stand, and an outcome held
    // until the decision is shown is this call's success.
    disco_outcome none{};
    none.decision_hi = hi;
    none.decision_lo = lo;
    const disco_status st = disco_update(rt, &none);
    return open && st == DISCO_ERR_NOT_FOUND ? DISCO_OK : st;
  });
}

}  // extern "C"
