// Replays a canonical log (events + logged decisions + outcomes) through the disco runtime so that
// every logged decision gets the context the runtime had when it was made: the shopper's events
// are observed in time order by one session per shopper (the bundle's LSTM, the visit counters),
// each decision is rebuilt with disco_offer_make in logging-only mode and the logged arm is then
// recorded with disco_session_note_offer, so the features that depend on the discounts a shopper
// received (exposure, offer recency, discounted visits) are the runtime's own. A decision that
// already carries its logged context (the collector's export, CONTRACTS: `context` column) keeps
// it. The result is the input of every policy fit (fit.h) and of off-policy evaluation.
#pragma once
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "disco/context.h"
#include "disco/data/dataset.h"
#include "disco/disco.h"

namespace disco::policy {

class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One logged decision with what the runtime knew when it was made.
struct Step {
  uint64_t id_hi = 0, id_lo = 0;  // the logged decision id
  uint32_t user = 0;          // Dataset dense user index
  int64_t ts_ms = 0;
  uint32_t arm = 0;           // the logged (shown) arm
  double propensity = 1.0;    // the logged probability of `arm`
  double price = 0.0;         // the item's price and cost as the runtime read them (bundle catalog)
  double cost = 0.0;
  bool has_outcome = false;
  bool converted = false;
  double margin = 0.0;        // outcome margin (0 when not converted or no outcome)
  double revenue = 0.0;
  uint32_t eligible = 1;      // arms the price-dependent guardrails allow (bit a = arm a)
  std::array<float, kContextDim> x{};
  int64_t next = -1;          // index of the same shopper's next decision in Replay::steps, -1 = none
};

struct ReplayStats {
  uint64_t decisions_read = 0;
  uint64_t replayed = 0;            // steps produced
  uint64_t with_logged_context = 0; // kept the decision's own context
  uint64_t no_outcome = 0;          // no outcome row: taken as not converted, margin 0 (the collector's default reward)
  uint64_t unknown_item = 0;        // the decision's item is not in the bundle's catalog: skipped
  uint64_t excluded_user = 0;       // skipped by ReplayOptions::exclude_users
  uint64_t events_replayed = 0;
  uint64_t events_unknown_item = 0; // events on items the bundle does not know: skipped
  uint64_t users = 0;
  std::string to_text() const;
};

struct ReplayOptions {
  std::unordered_set<std::string> exclude_users;  // external user ids whose rows are not used
  bool use_logged_context = true;
  uint64_t seed = 1;
};

struct Replay {
  std::vector<Step> steps;          // in time order (ts, then the log's order)
  ReplayStats stats;
  uint32_t n_arms = 0;
  uint32_t context_dim = 0;         // features the bundle's bandit reads
  int64_t first_ts_ms = 0, last_ts_ms = 0;
};

// Throws PolicyError naming the problem: no decisions, an arm beyond the bundle's arms, a
// propensity outside (0, 1]. `bundle` stays owned by the caller.
Replay replay_log(const data::Dataset& ds, const disco_bundle* bundle, const ReplayOptions& opt = {});

// Writes the replayed decisions as a canonical log folder (trainer/data/README.md): decisions.csv
// with their `context` (the runtime's), `price` and `cost`, and outcomes.csv, for off-policy
// evaluation of a bundle (disco-eval ope / gate) on a log that did not record contexts (a pilot
// from disco-sim, an older export). `ds` is the log the replay was made from (ids). Throws
// PolicyError when the folder cannot be written.
void write_replayed_log(const Replay& r, const data::Dataset& ds, const std::string& dir);

// Reads a user-id list file (one id per line, '#' comments) for ReplayOptions::exclude_users.
std::unordered_set<std::string> read_id_list(const std::string& path);

}  // namespace disco::policy
