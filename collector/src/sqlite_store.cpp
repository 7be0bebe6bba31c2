#include "disco/collector/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "disco/bandit.h"  // the runtime's reward (scaled_reward) and accumulation (add_observation)
#include "disco/collector/metrics.h"

namespace disco::collector {
namespace {

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches(
  hash TEXT PRIMARY KEY, site TEXT NOT NULL, sender_id TEXT NOT NULL, seq INTEGER NOT NULL,
  sent_at_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, rows INTEGER NOT NULL,
  dropped_events INTEGER NOT NULL, dropped_decisions INTEGER NOT NULL, dropped_outcomes INTEGER NOT NULL,
  pass_probability REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY, batch TEXT NOT NULL, site TEXT NOT NULL, user_key INTEGER NOT NULL,
  session_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, type INTEGER NOT NULL, item_id TEXT NOT NULL,
  price REAL NOT NULL, quantity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions(
  seq INTEGER PRIMARY KEY, decision_id BLOB NOT NULL UNIQUE, site TEXT NOT NULL, ts_ms INTEGER NOT NULL, user_key INTEGER NOT NULL,
  item_id TEXT NOT NULL, arm INTEGER NOT NULL, discount REAL NOT NULL, propensity REAL NOT NULL,
  model_version TEXT NOT NULL, policy_version TEXT NOT NULL, mode INTEGER NOT NULL,
  shown INTEGER NOT NULL, shown_ts_ms INTEGER, price REAL NOT NULL, cost REAL NOT NULL,
  context BLOB, received_ms INTEGER NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 0, reward REAL,
  outcome_ts_ms INTEGER, converted INTEGER, revenue REAL, margin REAL, late INTEGER NOT NULL DEFAULT 0,
  in_bandit INTEGER NOT NULL DEFAULT 0, closed_ms INTEGER, holdout INTEGER NOT NULL DEFAULT 0, user_id TEXT);
CREATE INDEX IF NOT EXISTS decisions_open ON decisions(closed, ts_ms);
CREATE TABLE IF NOT EXISTS outcomes(
  seq INTEGER PRIMARY KEY, decision_id BLOB NOT NULL UNIQUE, site TEXT NOT NULL, ts_ms INTEGER NOT NULL,
  converted INTEGER NOT NULL, revenue REAL NOT NULL, margin REAL NOT NULL, received_ms INTEGER NOT NULL,
  status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outcomes_status ON outcomes(status, ts_ms);
CREATE TABLE IF NOT EXISTS activations(
  decision_id BLOB PRIMARY KEY, ts_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bandit_stats(
  site TEXT NOT NULL, context_version INTEGER NOT NULL, dim INTEGER NOT NULL, arm INTEGER NOT NULL,
  n REAL NOT NULL, reward_sum REAL NOT NULL, A BLOB NOT NULL, b BLOB NOT NULL,
  PRIMARY KEY(site, context_version, dim, arm)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES('bandit_version', 0);
)SQL";

// The store's layout version (meta.schema_version). Columns and tables added since version 1 are
// added at open (add_missing_columns, migrate_bandit_table); a new version is for a change an older
// collector must not open. A store of a newer version is refused at open, before anything is written.
constexpr int64_t kStoreSchemaVersion = 1;

// outcome row status
constexpr int kOrphan = 0, kOutJoined = 1, kOutLate = 2, kOrphanExpired = 3;

void id_bytes(const DecisionId& id, unsigned char out[16]) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(id.hi >> (56 - 8 * i));
    out[8 + i] = static_cast<unsigned char>(id.lo >> (56 - 8 * i));
  }
}

struct Stmt {
  sqlite3_stmt* s;
  sqlite3* db;
  explicit Stmt(sqlite3_stmt* st, sqlite3* d) : s(st), db(d) { sqlite3_reset(s); sqlite3_clear_bindings(s); }
  ~Stmt() { sqlite3_reset(s); }
  Stmt& i(int k, int64_t v) { sqlite3_bind_int64(s, k, v); return *this; }
  Stmt& d(int k, double v) { sqlite3_bind_double(s, k, v); return *this; }
  Stmt& t(int k, const std::string& v) { sqlite3_bind_text(s, k, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); return *this; }
  Stmt& b(int k, const void* p, size_t n) { sqlite3_bind_blob(s, k, p, static_cast<int>(n), SQLITE_TRANSIENT); return *this; }
  Stmt& id(int k, const DecisionId& x) { unsigned char buf[16]; id_bytes(x, buf); return b(k, buf, 16); }
  Stmt& null(int k) { sqlite3_bind_null(s, k); return *this; }
  bool step() {  // true: a row
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
  }
  int changes() { return sqlite3_changes(db); }
};

// DISCO_COLLECTOR_DEBUG=1: one stderr line per transaction and checkpoint (timings).
bool debug_log() {
  static const bool on = std::getenv("DISCO_COLLECTOR_DEBUG") != nullptr;
  return on;
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* join_status_name(int s) {
  switch (s) {
    case 0: return "pending";
    case 1: return "joined";
    case 2: return "default";
    case 3: return "late";
  }
  return "unknown";
}

struct SqliteStore::DecisionRow {
  DecisionId id;
  std::string site;
  int64_t ts_ms = 0;
  int arm = 0;
  int mode = 0;
  bool shown = false, closed = false, in_bandit = false;
  int status = 0;
  double reward = 0;
  double price = 0;
  std::vector<float> context;
};

SqliteStore::SqliteStore(StoreOptions opt, Metrics* metrics) : opt_(std::move(opt)), metrics_(metrics) {
  if (!opt_.clock) opt_.clock = system_now_ms;
  open();
}

SqliteStore::~SqliteStore() {
  stop();
  for (auto& [k, s] : st_) sqlite3_finalize(s);
  if (db_) sqlite3_close(db_);
  if (ro_) sqlite3_close(ro_);
}

int64_t SqliteStore::now() const { return opt_.clock(); }

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(opt_.path + ": sqlite: " + m);
  }
}

void SqliteStore::open() {
  std::filesystem::path p(opt_.path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  if (sqlite3_open_v2(opt_.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error(opt_.path + ": cannot open the SQLite store: " + sqlite3_errmsg(db_));
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=OFF");
  exec("PRAGMA cache_size=-65536");
  // Checkpoints run on their own connection and thread (start()), so a commit never waits for
  // the database file to be written and fsync'ed; without the thread (tests, export), SQLite's
  // automatic checkpoint stays on.
  exec("PRAGMA wal_autocheckpoint=4000");
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA mmap_size=268435456");
  check_schema_version();
  exec(kSchema);
  exec(("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', " + std::to_string(kStoreSchemaVersion) + ")").c_str());
  add_missing_columns();
  migrate_bandit_table();
  prepare();
  load_bandit();
  if (sqlite3_open_v2(opt_.path.c_str(), &ro_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
    throw std::runtime_error(opt_.path + ": cannot open a reader connection");
  sqlite3_busy_timeout(ro_, 5000);
}

void SqliteStore::prepare() {
  const std::pair<const char*, const char*> sqls[] = {
      {"begin", "BEGIN IMMEDIATE"},
      {"commit", "COMMIT"},
      {"rollback", "ROLLBACK"},
      {"batch_ins",
       "INSERT INTO batches(hash, site, sender_id, seq, sent_at_ms, received_ms, rows, dropped_events, "
       "dropped_decisions, dropped_outcomes, pass_probability) VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"},
      {"event_ins",
       "INSERT INTO events(batch, site, user_key, session_id, ts_ms, type, item_id, price, quantity) "
       "VALUES(?,?,?,?,?,?,?,?,?)"},
      {"dec_ins",
       "INSERT INTO decisions(decision_id, site, ts_ms, user_key, item_id, arm, discount, propensity, model_version, "
       "policy_version, mode, shown, shown_ts_ms, price, cost, context, received_ms, holdout, user_id) "
       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(decision_id) DO NOTHING"},
      {"dec_get",
       "SELECT site, ts_ms, arm, mode, shown, closed, in_bandit, status, reward, context, price FROM decisions "
       "WHERE decision_id=?"},
      {"dec_join",
       "UPDATE decisions SET status=?, closed=1, reward=?, outcome_ts_ms=?, converted=?, revenue=?, margin=?, late=?, "
       "closed_ms=coalesce(closed_ms, ?), in_bandit=? WHERE decision_id=?"},
      {"dec_shown", "UPDATE decisions SET shown=1, shown_ts_ms=?, in_bandit=? WHERE decision_id=?"},
      {"dec_due",
       "SELECT decision_id FROM decisions WHERE closed=0 AND ts_ms < ? ORDER BY ts_ms LIMIT ?"},
      {"dec_default",
       "UPDATE decisions SET status=2, closed=1, reward=0, converted=0, revenue=0, margin=0, closed_ms=?, in_bandit=? "
       "WHERE decision_id=?"},
      {"out_ins",
       "INSERT INTO outcomes(decision_id, site, ts_ms, converted, revenue, margin, received_ms, status) "
       "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(decision_id) DO NOTHING"},
      {"out_get_orphan",
       "SELECT ts_ms, converted, revenue, margin, status FROM outcomes WHERE decision_id=? AND status IN (0,3)"},
      {"out_status", "UPDATE outcomes SET status=? WHERE decision_id=?"},
      {"out_expire", "UPDATE outcomes SET status=3 WHERE status=0 AND ts_ms < ?"},
      {"orphans_waiting", "SELECT count(*) FROM outcomes WHERE status=0"},
      {"act_ins", "INSERT INTO activations(decision_id, ts_ms, received_ms) VALUES(?,?,?) ON CONFLICT DO NOTHING"},
      {"act_get", "SELECT ts_ms FROM activations WHERE decision_id=?"},
      {"bandit_put",
       "INSERT INTO bandit_stats(site, context_version, dim, arm, n, reward_sum, A, b) VALUES(?,?,?,?,?,?,?,?) "
       "ON CONFLICT(site, context_version, dim, arm) DO "
       "UPDATE SET n=excluded.n, reward_sum=excluded.reward_sum, A=excluded.A, b=excluded.b"},
      {"version_put", "UPDATE meta SET value=? WHERE key='bandit_version'"},
  };
  for (const auto& [name, sql] : sqls) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare ") + name + ": " + sqlite3_errmsg(db_));
    st_[name] = s;
  }
}

// Stores written before the statistics carried a context version kept them in table `bandit`
// keyed (site, arm, dim): they move to bandit_stats under this collector's context_version.
// Columns added to a table after stores were written: ALTER TABLE when missing.
void SqliteStore::check_schema_version() {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", -1, &s, nullptr) !=
      SQLITE_OK)
    throw std::runtime_error(opt_.path + ": not a readable SQLite database: " + sqlite3_errmsg(db_));
  const bool has_meta = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
  sqlite3_finalize(s);
  if (!has_meta) return;  // a new store (or one from before meta existed): written as version 1
  sqlite3_prepare_v2(db_, "SELECT typeof(value), value FROM meta WHERE key='schema_version'", -1, &s, nullptr);
  const bool present = sqlite3_step(s) == SQLITE_ROW;
  const std::string type = present ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
  const int64_t v = present ? sqlite3_column_int64(s, 1) : kStoreSchemaVersion;
  sqlite3_finalize(s);
  const std::string reads = "this disco-collector reads store schema version " + std::to_string(kStoreSchemaVersion);
  if (present && type != "integer")
    throw std::runtime_error(opt_.path + ": the store's schema_version (table meta) is not an integer; " + reads);
  if (v > kStoreSchemaVersion)
    throw std::runtime_error(opt_.path + ": the store has schema version " + std::to_string(v) + " (written by a newer " +
                             "disco-collector); " + reads + ": run the newer collector on it, or point --data elsewhere");
  if (v < 1) throw std::runtime_error(opt_.path + ": the store has schema version " + std::to_string(v) + ", unknown; " + reads);
}

void SqliteStore::add_missing_columns() {
  const std::pair<const char*, const char*> cols[] = {
      {"holdout", "ALTER TABLE decisions ADD COLUMN holdout INTEGER NOT NULL DEFAULT 0"},
      {"user_id", "ALTER TABLE decisions ADD COLUMN user_id TEXT"},
  };
  for (const auto& [name, sql] : cols) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, "SELECT count(*) FROM pragma_table_info('decisions') WHERE name=?", -1, &s, nullptr);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    const bool present = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
    sqlite3_finalize(s);
    if (!present) exec(sql);
  }
}

void SqliteStore::migrate_bandit_table() {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='bandit'", -1, &s, nullptr);
  const bool old_table = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
  sqlite3_finalize(s);
  if (!old_table) return;
  exec("BEGIN IMMEDIATE");
  const std::string sql = "INSERT OR IGNORE INTO bandit_stats(site, context_version, dim, arm, n, reward_sum, A, b) "
                          "SELECT site, " + std::to_string(opt_.context_version) +
                          ", dim, arm, n, reward_sum, A, b FROM bandit; DROP TABLE bandit; COMMIT";
  exec(sql.c_str());
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
  auto snap = std::make_shared<BanditSnapshot>();
  snap->version = bandit_version_;
  for (auto& [k, a] : bandit_) snap->arms[k] = std::make_shared<const BanditEntry>(a);
  std::lock_guard<std::mutex> lk(snap_mu_);
  snapshot_ = std::move(snap);
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

bool SqliteStore::load_decision(const DecisionId& id, DecisionRow& row) {
  Stmt q(st_["dec_get"], db_);
  q.id(1, id);
  if (!q.step()) return false;
  row.id = id;
  row.site = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
  row.ts_ms = sqlite3_column_int64(q.s, 1);
  row.arm = sqlite3_column_int(q.s, 2);
  row.mode = sqlite3_column_int(q.s, 3);
  row.shown = sqlite3_column_int(q.s, 4) != 0;
  row.closed = sqlite3_column_int(q.s, 5) != 0;
  row.in_bandit = sqlite3_column_int(q.s, 6) != 0;
  row.status = sqlite3_column_int(q.s, 7);
  row.reward = sqlite3_column_double(q.s, 8);
  int nb = sqlite3_column_bytes(q.s, 9);
  row.context.resize(static_cast<size_t>(nb) / sizeof(float));
  if (nb > 0) std::memcpy(row.context.data(), sqlite3_column_blob(q.s, 9), row.context.size() * sizeof(float));
  row.price = sqlite3_column_double(q.s, 10);
  return true;
}

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

bool SqliteStore::is_late(const DecisionRow& d, int64_t o_ts, bool expired_orphan) const {
  return expired_orphan || d.closed || (o_ts - d.ts_ms > opt_.reward_window_ms);
}

void SqliteStore::join(DecisionRow& d, int64_t o_ts, bool converted, double revenue, double margin,
                       bool expired_orphan, bool update_outcome_row, ApplyResult* r) {
  const int64_t t = now();
  const bool late = is_late(d, o_ts, expired_orphan);
  int status;
  double reward;
  if (!late) {
    status = static_cast<int>(JoinStatus::Joined);
    reward = margin;
  } else {
    // The bandit keeps the default reward it got (or gets now) when the window closed; the late
    // outcome is kept on the record for the trainer.
    status = static_cast<int>(JoinStatus::Late);
    reward = d.closed ? d.reward : 0.0;
  }
  d.closed = true;
  d.status = status;
  d.reward = reward;
  finalize_bandit(d, reward);
  Stmt u(st_["dec_join"], db_);
  u.i(1, status).d(2, reward).i(3, o_ts).i(4, converted ? 1 : 0).d(5, revenue).d(6, margin).i(7, late ? 1 : 0)
      .i(8, t).i(9, d.in_bandit ? 1 : 0).id(10, d.id).step();
  if (update_outcome_row) {
    Stmt o(st_["out_status"], db_);
    o.i(1, late ? kOutLate : kOutJoined).id(2, d.id).step();
  }
  if (r) (late ? r->late : r->joined) += 1;
}

void SqliteStore::apply_in_txn(const std::string& site, const std::string& hash, const Batch& b, int64_t t,
                               ApplyResult& r) {
  {
    Stmt q(st_["batch_ins"], db_);
    q.t(1, hash).t(2, site).t(3, b.sender_id).i(4, static_cast<int64_t>(b.seq)).i(5, b.sent_at_ms).i(6, t)
        .i(7, static_cast<int64_t>(b.rows())).i(8, b.dropped_events).i(9, b.dropped_decisions)
        .i(10, b.dropped_outcomes).d(11, b.pass_probability).step();
    if (q.changes() == 0) {
      // The very same batch (same site and bytes) was committed before: every row is a duplicate.
      r.batch_seen_before = true;
      r.events.duplicate = static_cast<uint32_t>(b.events.size());
      r.decisions.duplicate = static_cast<uint32_t>(b.decisions.size());
      r.outcomes.duplicate = static_cast<uint32_t>(b.outcomes.size());
      r.activations.duplicate = static_cast<uint32_t>(b.activations.size());
      return;
    }
  }
  for (const Event& e : b.events) {
    Stmt q(st_["event_ins"], db_);
    q.t(1, hash).t(2, site).i(3, static_cast<int64_t>(e.user_key)).t(4, e.session_id).i(5, e.ts_ms).i(6, e.type)
        .t(7, e.item_id).d(8, e.price).i(9, e.quantity).step();
    r.events.accepted++;
  }
  for (const Decision& d : b.decisions) {
    bool shown = d.shown;
    int64_t shown_ts = d.shown ? d.ts_ms : 0;
    {
      Stmt q(st_["dec_ins"], db_);
      q.id(1, d.id).t(2, site).i(3, d.ts_ms).i(4, static_cast<int64_t>(d.user_key)).t(5, d.item_id).i(6, d.arm)
          .d(7, d.discount).d(8, d.propensity).t(9, d.model_version).t(10, d.policy_version)
          .i(11, static_cast<int>(d.mode)).i(12, shown ? 1 : 0);
      if (shown) q.i(13, shown_ts); else q.null(13);
      q.d(14, d.price).d(15, d.cost);
      if (d.context.empty()) q.null(16); else q.b(16, d.context.data(), d.context.size() * sizeof(float));
      q.i(17, t).i(18, d.holdout ? 1 : 0);
      if (d.user_id.empty()) q.null(19); else q.t(19, d.user_id);
      q.step();
      if (q.changes() == 0) {
        r.decisions.duplicate++;
        continue;
      }
    }
    r.decisions.accepted++;
    DecisionRow row;
    row.id = d.id;
    row.site = site;
    row.ts_ms = d.ts_ms;
    row.arm = d.arm;
    row.mode = static_cast<int>(d.mode);
    row.shown = shown;
    row.price = d.price;
    row.context = d.context;
    if (!shown) {  // an activation that arrived before its decision
      Stmt a(st_["act_get"], db_);
      a.id(1, d.id);
      if (a.step()) {
        int64_t ats = sqlite3_column_int64(a.s, 0);
        Stmt u(st_["dec_shown"], db_);
        u.i(1, ats).i(2, 0).id(3, d.id).step();
        row.shown = true;
      }
    }
    Stmt o(st_["out_get_orphan"], db_);
    o.id(1, d.id);
    if (o.step()) {  // an outcome that arrived before its decision
      int64_t ots = sqlite3_column_int64(o.s, 0);
      bool conv = sqlite3_column_int(o.s, 1) != 0;
      double rev = sqlite3_column_double(o.s, 2), mar = sqlite3_column_double(o.s, 3);
      bool expired = sqlite3_column_int(o.s, 4) == kOrphanExpired;
      sqlite3_reset(o.s);
      join(row, ots, conv, rev, mar, expired, /*update_outcome_row=*/true, &r);
    }
  }
  for (const Outcome& oc : b.outcomes) {
    // Look the decision up first, so the outcome row is written once with its final status.
    DecisionRow row;
    const bool known = load_decision(oc.id, row);
    const int status = !known ? kOrphan : (is_late(row, oc.ts_ms, false) ? kOutLate : kOutJoined);
    {
      Stmt q(st_["out_ins"], db_);
      q.id(1, oc.id).t(2, site).i(3, oc.ts_ms).i(4, oc.converted ? 1 : 0).d(5, oc.revenue).d(6, oc.margin).i(7, t)
          .i(8, status).step();
      if (q.changes() == 0) {
        r.outcomes.duplicate++;
        continue;
      }
    }
    r.outcomes.accepted++;
    if (!known) {
      r.orphans++;
      continue;
    }
    join(row, oc.ts_ms, oc.converted, oc.revenue, oc.margin, false, /*update_outcome_row=*/false, &r);
  }
  for (const Activation& a : b.activations) {
    {
      Stmt q(st_["act_ins"], db_);
      q.id(1, a.id).i(2, a.ts_ms).i(3, t).step();
      if (q.changes() == 0) {
        r.activations.duplicate++;
        continue;
      }
    }
    r.activations.accepted++;
    DecisionRow row;
    if (!load_decision(a.id, row) || row.shown) continue;
    row.shown = true;
    finalize_bandit(row, row.reward);
    Stmt u(st_["dec_shown"], db_);
    u.i(1, a.ts_ms).i(2, row.in_bandit ? 1 : 0).id(3, a.id).step();
  }
}

size_t SqliteStore::sweep_in_txn(int64_t t) {
  std::vector<DecisionId> due;
  {
    Stmt q(st_["dec_due"], db_);
    q.i(1, t - opt_.reward_window_ms).i(2, static_cast<int64_t>(opt_.sweep_max_rows));
    while (q.step()) {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(q.s, 0));
      DecisionId id;
      for (int i = 0; i < 8; ++i) {
        id.hi = (id.hi << 8) | p[i];
        id.lo = (id.lo << 8) | p[8 + i];
      }
      due.push_back(id);
    }
  }
  for (const DecisionId& id : due) {
    DecisionRow row;
    if (!load_decision(id, row)) continue;
    row.closed = true;
    row.status = static_cast<int>(JoinStatus::Default);
    row.reward = 0;
    finalize_bandit(row, 0.0);
    Stmt u(st_["dec_default"], db_);
    u.i(1, t).i(2, row.in_bandit ? 1 : 0).id(3, id).step();
  }
  Stmt e(st_["out_expire"], db_);
  e.i(1, t - opt_.reward_window_ms).step();
  uint64_t expired = static_cast<uint64_t>(e.changes());
  if (metrics_) {
    Stmt w(st_["orphans_waiting"], db_);
    if (w.step()) metrics_->set_gauge("disco_collector_orphans_waiting", static_cast<double>(sqlite3_column_int64(w.s, 0)));
    if (!due.empty()) metrics_->add("disco_collector_joins_total", "result=\"default\"", due.size());
    if (expired) metrics_->add("disco_collector_orphans_expired_total", "", expired);
  }
  return due.size();
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
  v.i(1, bandit_version_ + 1).step();
}

void SqliteStore::publish_snapshot() {
  if (dirty_.empty()) return;
  bandit_version_ += 1;
  std::shared_ptr<const BanditSnapshot> old;
  {
    std::lock_guard<std::mutex> lk(snap_mu_);
    old = snapshot_;
  }
  auto snap = std::make_shared<BanditSnapshot>(*old);  // shares the unchanged arms
  snap->version = bandit_version_;
  for (const auto& k : dirty_) snap->arms[k] = std::make_shared<const BanditEntry>(bandit_[k]);
  dirty_.clear();
  std::lock_guard<std::mutex> lk(snap_mu_);
  snapshot_ = std::move(snap);
}

std::shared_ptr<const BanditSnapshot> SqliteStore::bandit() const {
  std::lock_guard<std::mutex> lk(snap_mu_);
  return snapshot_;
}

ApplyOutcome SqliteStore::apply(const std::string& site, const std::string& hash, const Batch& b) {
  std::lock_guard<std::mutex> lk(db_mu_);
  ApplyOutcome out;
  try {
    Stmt(st_["begin"], db_).step();
    apply_in_txn(site, hash, b, now(), out.result);
    flush_bandit();
    Stmt(st_["commit"], db_).step();
    publish_snapshot();
    out.ok = true;
  } catch (const std::exception& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    load_bandit();
    out.error = e.what();
  }
  return out;
}

size_t SqliteStore::sweep() {
  std::lock_guard<std::mutex> lk(db_mu_);
  size_t n = 0;
  try {
    Stmt(st_["begin"], db_).step();
    n = sweep_in_txn(now());
    flush_bandit();
    Stmt(st_["commit"], db_).step();
    publish_snapshot();
  } catch (const std::exception&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    load_bandit();
    throw;
  }
  return n;
}

void SqliteStore::start() {
  std::lock_guard<std::mutex> lk(q_mu_);
  if (writer_.joinable()) return;
  stopping_ = false;
  {
    std::lock_guard<std::mutex> dl(db_mu_);
    exec("PRAGMA wal_autocheckpoint=0");
  }
  writer_ = std::thread([this] { writer_loop(); });
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
}

void SqliteStore::checkpoint_loop() {
  sqlite3* ck = nullptr;
  if (sqlite3_open_v2(opt_.path.c_str(), &ck, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(ck);
    return;
  }
  sqlite3_busy_timeout(ck, 100);
  sqlite3_exec(ck, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  std::unique_lock<std::mutex> lk(q_mu_);
  while (!stopping_) {
    ck_cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    int log = 0, done = 0;
    // PASSIVE: copies what it can without blocking the writer; the WAL restarts from its
    // beginning once everything in it has been copied.
    auto c0 = std::chrono::steady_clock::now();
    int rc = sqlite3_wal_checkpoint_v2(ck, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (debug_log()) fprintf(stderr, "checkpoint rc=%d log=%d done=%d %.1f ms\n", rc, log, done, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c0).count());
    if (metrics_) metrics_->set_gauge("disco_collector_sqlite_wal_frames", log);
    lk.lock();
  }
  lk.unlock();
  sqlite3_wal_checkpoint_v2(ck, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  sqlite3_close(ck);
}

void SqliteStore::stop() {
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    stopping_ = true;
  }
  q_cv_.notify_all();
  ck_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
}

size_t SqliteStore::pending_jobs() const {
  std::lock_guard<std::mutex> lk(q_mu_);
  return queue_.size();
}

std::future<ApplyOutcome> SqliteStore::submit(std::string site, std::string hash, std::shared_ptr<const Batch> b) {
  auto job = std::make_unique<Job>();
  job->site = std::move(site);
  job->hash = std::move(hash);
  job->batch = std::move(b);
  job->enqueued = std::chrono::steady_clock::now();
  std::future<ApplyOutcome> f = job->done.get_future();
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    if (queue_.size() >= opt_.max_pending_jobs || stopping_) return {};
    queue_.push_back(std::move(job));
  }
  q_cv_.notify_one();
  return f;
}

void SqliteStore::writer_loop() {
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<std::unique_ptr<Job>> jobs;
    bool do_sweep = false;
    {
      std::unique_lock<std::mutex> lk(q_mu_);
      q_cv_.wait_until(lk, next_sweep, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) break;
      while (!queue_.empty() && jobs.size() < opt_.group_commit_max_jobs) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (std::chrono::steady_clock::now() >= next_sweep) {
        do_sweep = true;
        next_sweep = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.sweep_interval_ms);
      }
    }
    if (jobs.empty() && !do_sweep) continue;
    std::vector<ApplyResult> results(jobs.size());
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lk(db_mu_);
      try {
        Stmt(st_["begin"], db_).step();
        int64_t t = now();
        for (size_t i = 0; i < jobs.size(); ++i) apply_in_txn(jobs[i]->site, jobs[i]->hash, *jobs[i]->batch, t, results[i]);
        if (do_sweep) sweep_in_txn(t);
        flush_bandit();
        auto tc = std::chrono::steady_clock::now();
        Stmt(st_["commit"], db_).step();  // synchronous=FULL: the WAL is fsync'ed before this returns
        if (debug_log()) fprintf(stderr, "txn jobs=%zu apply %.1f ms commit %.1f ms\n", jobs.size(), std::chrono::duration<double, std::milli>(tc - t0).count(), std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tc).count());
        publish_snapshot();
      } catch (const std::exception& e) {
        error = e.what();
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        load_bandit();
      }
    }
    auto t1 = std::chrono::steady_clock::now();
    if (metrics_) {
      metrics_->commit_seconds.observe(std::chrono::duration<double>(t1 - t0).count());
      if (!error.empty()) metrics_->add("disco_collector_storage_errors_total", "");
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      ApplyOutcome o;
      o.ok = error.empty();
      o.error = error;
      o.result = results[i];
      if (metrics_) metrics_->request_storage_seconds.observe(std::chrono::duration<double>(t1 - jobs[i]->enqueued).count());
      jobs[i]->done.set_value(std::move(o));
    }
  }
  // Jobs that raced with stop(): refuse them (their requests answer 503).
  std::lock_guard<std::mutex> lk(q_mu_);
  for (auto& j : queue_) j->done.set_value(ApplyOutcome{false, "collector is shutting down", {}});
  queue_.clear();
}

StoreCounters SqliteStore::counters() {
  std::lock_guard<std::mutex> lk(ro_mu_);
  StoreCounters c;
  auto one = [&](const char* sql) -> uint64_t {
    sqlite3_stmt* s = nullptr;
    uint64_t v = 0;
    if (sqlite3_prepare_v2(ro_, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      v = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    return v;
  };
  c.decisions = one("SELECT count(*) FROM decisions");
  c.pending = one("SELECT count(*) FROM decisions WHERE closed=0");
  c.joined = one("SELECT count(*) FROM decisions WHERE status=1");
  c.defaulted = one("SELECT count(*) FROM decisions WHERE status=2");
  c.late = one("SELECT count(*) FROM decisions WHERE status=3");
  c.orphans_waiting = one("SELECT count(*) FROM outcomes WHERE status=0");
  c.orphans_expired = one("SELECT count(*) FROM outcomes WHERE status=3");
  return c;
}

}  // namespace disco::collector
