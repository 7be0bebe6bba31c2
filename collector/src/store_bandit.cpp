// The fleet bandit statistics of the SQLite store: the bandit rule (which decision trains which
// arm, with the runtime's reward and accumulation), their rows, and the snapshots served to edges.
#include <algorithm>
#include <cstring>

#include "disco/bandit.h"  // the runtime's reward (scaled_reward) and accumulation (add_observation)
#include "disco/collector/metrics.h"
#include "store_internal.h"

namespace disco::collector {

// The bandit rule (collector/PROTOCOL.md, "Bandit statistics"): a decision trains its arm's
// statistics exactly once, when it is both shown (decision.shown or an activation) and closed (its
// reward is known: joined, or the window passed), in whichever order the two arrive, and only in
// online mode. `margin` is the joined reward (margin, or 0 by default); the statistics take the
// runtime's scaled reward and accumulation (disco::scaled_reward, disco::add_observation), so they
// merge with the edges'. Contexts longer than the bandit's maximum, empty, or with values the
// runtime would refuse do not enter the statistics (counted in disco_collector_bandit_skipped_total).
void SqliteStore::finalize_bandit(DecisionRow& d, double margin) {
  if (d.in_bandit || !d.closed || !d.shown || d.mode != static_cast<int>(Mode::Online)) return;
  const double reward = disco::scaled_reward(margin, d.price);
  const int dim = static_cast<int>(d.context.size());
  if (dim == 0 || dim > static_cast<int>(disco::kMaxBanditDim)) {
    if (metrics_) metrics_->add("disco_collector_bandit_skipped_total", dim == 0 ? "reason=\"no_context\"" : "reason=\"context_too_long\"");
    return;
  }
  BanditKey key{d.site, opt_.context_version, dim, d.arm};
  auto it = bandit_.find(key);
  if (it == bandit_.end()) {
    BanditEntry e;
    e.site = d.site;
    e.context_version = opt_.context_version;
    e.dim = dim;
    e.arm = d.arm;
    it = bandit_.emplace(key, std::move(e)).first;
  }
  if (!disco::add_observation(it->second.stats, static_cast<uint32_t>(dim), d.context.data(), reward)) {
    if (metrics_) metrics_->add("disco_collector_bandit_skipped_total", "reason=\"refused_values\"");
    if (it->second.stats.n == 0) bandit_.erase(it);
    return;
  }
  dirty_.push_back(key);
  d.in_bandit = true;  // persisted by the caller's UPDATE of the decision row
}

void SqliteStore::load_bandit() {
  bandit_.clear();
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT site, context_version, dim, arm, n, reward_sum, A, b FROM bandit_stats", -1, &s,
                     nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    BanditEntry a;
    a.site = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    a.context_version = sqlite3_column_int(s, 1);
    a.dim = sqlite3_column_int(s, 2);
    a.arm = sqlite3_column_int(s, 3);
    a.stats.n = sqlite3_column_double(s, 4);
    a.stats.reward_sum = sqlite3_column_double(s, 5);
    a.stats.A.assign(static_cast<size_t>(a.dim) * a.dim, 0.0);
    a.stats.b.assign(a.dim, 0.0);
    if (static_cast<size_t>(sqlite3_column_bytes(s, 6)) == a.stats.A.size() * 8)
      std::memcpy(a.stats.A.data(), sqlite3_column_blob(s, 6), a.stats.A.size() * 8);
    if (static_cast<size_t>(sqlite3_column_bytes(s, 7)) == a.stats.b.size() * 8)
      std::memcpy(a.stats.b.data(), sqlite3_column_blob(s, 7), a.stats.b.size() * 8);
    BanditKey k{a.site, a.context_version, a.dim, a.arm};
    bandit_[k] = std::move(a);
  }
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key='bandit_version'", -1, &s, nullptr);
  bandit_version_ = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_finalize(s);
  dirty_.clear();
  next_version_ = -1;
  auto snap = std::make_shared<BanditSnapshot>();
  snap->version = bandit_version_;
  snap->stream_seq = pos_.seq;
  for (auto& [k, a] : bandit_) snap->arms[k] = std::make_shared<const BanditEntry>(a);
  std::lock_guard<std::mutex> lk(snap_mu_);
  snapshot_ = std::move(snap);
}

void SqliteStore::flush_bandit() {
  if (dirty_.empty()) return;
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  for (const auto& k : dirty_) {
    const BanditEntry& a = bandit_[k];
    Stmt q(st_["bandit_put"], db_);
    q.t(1, a.site).i(2, a.context_version).i(3, a.dim).i(4, a.arm).d(5, a.stats.n).d(6, a.stats.reward_sum)
        .b(7, a.stats.A.data(), a.stats.A.size() * 8).b(8, a.stats.b.data(), a.stats.b.size() * 8).step();
  }
  Stmt v(st_["version_put"], db_);
  v.i(1, next_version_ >= 0 ? next_version_ : bandit_version_ + 1).step();
}

void SqliteStore::publish_snapshot() {
  // Stream mode publishes every commit (the snapshot carries the stream position); the version
  // moves only with the statistics.
  if (dirty_.empty() && !opt_.stream_fed) return;
  if (!dirty_.empty()) bandit_version_ = next_version_ >= 0 ? next_version_ : bandit_version_ + 1;
  next_version_ = -1;
  std::shared_ptr<const BanditSnapshot> old;
  {
    std::lock_guard<std::mutex> lk(snap_mu_);
    old = snapshot_;
  }
  auto snap = std::make_shared<BanditSnapshot>(*old);  // shares the unchanged arms
  snap->version = bandit_version_;
  snap->stream_seq = pos_.seq;
  for (const auto& k : dirty_) snap->arms[k] = std::make_shared<const BanditEntry>(bandit_[k]);
  dirty_.clear();
  std::lock_guard<std::mutex> lk(snap_mu_);
  snapshot_ = std::move(snap);
}

std::shared_ptr<const BanditSnapshot> SqliteStore::bandit() const {
  std::lock_guard<std::mutex> lk(snap_mu_);
  return snapshot_;
}

disco::FleetStats fleet_stats_of(const BanditSnapshot& snap, const std::string& site, int context_version, int dim) {
  disco::FleetStats m;
  m.version = static_cast<uint64_t>(snap.version);
  m.site = site;
  m.context_version = static_cast<uint16_t>(context_version);
  m.dim = static_cast<uint16_t>(dim);
  for (auto it = snap.arms.lower_bound(BanditKey{site, context_version, dim, 0});
       it != snap.arms.end() && std::get<0>(it->first) == site && std::get<1>(it->first) == context_version &&
       std::get<2>(it->first) == dim;
       ++it) {
    const BanditEntry& e = *it->second;
    if (e.arm < 0 || e.arm > 65535) continue;
    m.arms.push_back(disco::FleetArmStats{static_cast<uint16_t>(e.arm), e.stats});
  }
  return m;
}

int most_observed_dim(const BanditSnapshot& snap, const std::string& site, int context_version) {
  std::map<int, double> n_by_dim;
  for (auto it = snap.arms.lower_bound(BanditKey{site, context_version, 0, 0});
       it != snap.arms.end() && std::get<0>(it->first) == site && std::get<1>(it->first) == context_version; ++it)
    n_by_dim[std::get<2>(it->first)] += it->second->stats.n;
  int best = 0;
  double best_n = -1;
  for (const auto& [d, n] : n_by_dim)
    if (n >= best_n) best = d, best_n = n;  // ties: the longer context
  return best;
}

}  // namespace disco::collector
