// Internal: the runtime (bandit + guardrails + pending decisions) and session structures.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "disco/bandit.h"
#include "disco/context.h"
#include "disco/disco.h"
#include "disco/guardrails.h"
#include "disco/value_model.h"
#include "model_internal.h"

namespace disco::detail {

struct DecisionId {
  uint64_t hi = 0, lo = 0;
  bool operator==(const DecisionId& o) const { return hi == o.hi && lo == o.lo; }
  bool empty() const { return hi == 0 && lo == 0; }
  uint64_t hash() const;
};

// A decision awaiting its outcome: what update() needs to train the bandit.
struct PendingDecision {
  DecisionId id;
  int64_t ts_ms = 0;
  float price = 0.0f;
  uint32_t arm = 0;    // arm shown (the one the outcome is about)
  uint8_t shown = 0;   // disco_offer_shown() seen
  uint8_t held = 0;    // an outcome arrived before the decision was shown: applied when it is
  double reward = 0.0; // the held outcome's scaled reward (disco::scaled_reward)
  double spend = 0.0;  // budget reserved by Guardrails::commit (given back by disco_offer_expired)
  float context[kContextDim] = {};
};

// Bounded set of decision ids, each owning one entry slot: a ring of `capacity` slots written in
// order (inserting into an occupied slot evicts the decision issued `capacity` inserts ago) plus an
// open-addressing hash index (linear probing, backward-shift deletion). No allocation after init().
class IdTable {
 public:
  void init(uint32_t capacity);
  int64_t find(const DecisionId& id) const;  // slot of id, or -1
  // Inserts an absent id into the next ring slot; *evicted = the id that slot held (empty if none).
  uint32_t insert(const DecisionId& id, DecisionId* evicted);
  void erase_slot(uint32_t slot);
  // Restores an id at a given slot (state restore with the same capacity); false if taken/out of range.
  bool place(uint32_t slot, const DecisionId& id);
  void set_write_pos(uint32_t pos) { write_ = capacity_ ? pos % capacity_ : 0; }
  uint32_t size() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t write_pos() const { return write_; }
  bool alive(uint32_t slot) const { return alive_[slot] != 0; }
  const DecisionId& id(uint32_t slot) const { return ids_[slot]; }
  // Live slots oldest first (ring order starting at the write position).
  template <class F>
  void for_each_in_order(F&& f) const {
    for (uint32_t k = 0; k < capacity_; ++k) {
      const uint32_t slot = (write_ + k) % capacity_;
      if (alive_[slot]) f(slot, ids_[slot]);
    }
  }
  void clear();
  size_t memory_bytes() const {
    return index_.capacity() * sizeof(uint32_t) + ids_.capacity() * sizeof(DecisionId) + alive_.capacity();
  }

 private:
  uint32_t bucket_of(const DecisionId& id) const { return uint32_t(id.hash()) & mask_; }
  void occupy(uint32_t slot, const DecisionId& id);  // slot must be free
  uint32_t capacity_ = 0, mask_ = 0, count_ = 0, write_ = 0;
  std::vector<uint32_t> index_;  // bucket -> slot + 1 (0 = empty)
  std::vector<DecisionId> ids_;  // slot -> id
  std::vector<uint8_t> alive_;   // slot in use
};

inline constexpr uint32_t kHistory = 32;       // recent events kept per session (hot-swap replay)
inline constexpr uint32_t kRecentItems = 16;   // per-item interaction counts kept per session

struct HistoryEvent {
  int64_t ts_ms = 0;
  uint32_t item = 0;
  uint32_t type = 0;
  float price = 0.0f;
  int32_t quantity = 0;
};

}  // namespace disco::detail

struct disco_runtime {
  const disco_bundle* bundle = nullptr;
  disco_runtime_options options{};
  disco::Bandit bandit;
  disco::Guardrails guards;
  disco::ValueModel value;                              // the bundle's long-term value model (may be inactive)
  double pessimism = 0.0;                               // the bundle's BanditPrior.pessimism (policy_offsets)
  disco::detail::IdTable pending_ids;
  std::vector<disco::detail::PendingDecision> pending;  // by IdTable slot
  disco::detail::IdTable done_ids;                      // recently applied decisions (DUPLICATE)
  disco_session* sessions = nullptr;                    // intrusive list (hot swap remaps them)
  uint64_t generation = 0;                              // bumped by swap_bundle
  uint64_t sessions_created = 0;                        // serial of the next session (decision ids)
  // Scratch of observe/recommend, shared by the runtime's sessions (one thread at a time, disco.h):
  // sized at create / swap, so the hot path never allocates and a session stays small.
  std::vector<float> scratch_f;      // x (d) + z (4h) + u (d) + block scores (kScanBlock)
  std::vector<int8_t> scratch_q;     // xq (d) + uq (d)
  std::vector<int32_t> scratch_acc;  // max(4h, kScanBlock), then disco_rank's bit per item (0 between calls)
  bool ranking = false;              // set during disco_rank: recommend keeps only its candidates' bits
  size_t memory_bytes() const;
};

struct disco_session {
  disco_runtime* runtime = nullptr;
  disco_session* prev = nullptr;
  disco_session* next = nullptr;
  uint64_t user_key = 0;
  uint64_t decision_counter = 0;
  uint64_t serial = 0;           // runtime-wide creation number: separates sessions of one user
  uint32_t h_dim = 0, d_dim = 0, n_items = 0;
  std::vector<float> h, c;       // LSTM state
  std::vector<int8_t> hq;        // quantized h (input to the next step and to out_proj)
  float h_scale = 1.0f;
  float purchase_propensity = 0.0f;
  int64_t last_ts_ms = disco::kNever;
  std::vector<uint64_t> seen;    // bitset over the catalog
  disco::ShopperStats stats;
  disco::detail::HistoryEvent history[disco::detail::kHistory];
  uint32_t history_len = 0;      // total events ever (ring index = len % kHistory)
  uint32_t recent_item[disco::detail::kRecentItems] = {};
  uint8_t recent_count[disco::detail::kRecentItems] = {};
  uint32_t recent_len = 0;
  size_t memory_bytes() const;
};

namespace disco::detail {
// Session helpers shared by session.cpp, runtime.cpp and state.cpp.
void session_reset_state(disco_session* s);
disco_status session_resize(disco_session* s, const disco_bundle* b);
void runtime_resize_scratch(disco_runtime* rt, const disco_bundle* b);
disco_status session_step(disco_session* s, const disco_event& ev);  // the LSTM step + bookkeeping
inline constexpr size_t kScanBlock = 256;
}  // namespace disco::detail
