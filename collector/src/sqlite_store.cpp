// The SQLite store (store.h): opening (schema in store_schema.cpp), the prepared statements, the
// synchronous apply() / sweep() transactions and counters(). The join rules are in store_join.cpp,
// the bandit rule and snapshots in store_bandit.cpp, the writer and checkpoint threads in
// store_writer.cpp (store_internal.h lists the parts).
#include "disco/collector/store.h"

#include <sqlite3.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "store_internal.h"

namespace disco::collector {
namespace {

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SqliteStore::SqliteStore(StoreOptions opt, Metrics* metrics) : opt_(std::move(opt)), metrics_(metrics) {
  // SQLite's allocation statistics take a global mutex on every malloc; nothing here reads them.
  // Only possible before SQLite initializes (later calls return SQLITE_MISUSE and change nothing).
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  if (opt_.stream_fed) opt_.clock = [this] { return stream_clock_; };  // the stream's time (apply_stream)
  else if (!opt_.clock) opt_.clock = system_now_ms;
  if (!opt_.wal_sync) opt_.wal_sync = [](int fd) { return ::fdatasync(fd); };
  open();
}

SqliteStore::~SqliteStore() {
  stop();
  for (auto& [k, s] : st_) sqlite3_finalize(s);
  if (db_) sqlite3_close(db_);
  if (ro_) sqlite3_close(ro_);
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

int64_t SqliteStore::now() const { return opt_.clock(); }

void SqliteStore::open() {
  std::filesystem::path p(opt_.path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  if (sqlite3_open_v2(opt_.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error(opt_.path + ": cannot open the SQLite store: " + sqlite3_errmsg(db_));
  sqlite3_busy_timeout(db_, 5000);
  exec_sql(db_, opt_.path, "PRAGMA journal_mode=WAL");
  // synchronous_full: the store fsyncs the WAL itself after each COMMIT (sync_wal, on the syncer
  // thread under group commit) before any request is answered; NORMAL keeps SQLite's syncs at
  // checkpoints (the WAL before, the database after) and at WAL restarts.
  exec_sql(db_, opt_.path, "PRAGMA synchronous=NORMAL");
  exec_sql(db_, opt_.path, "PRAGMA foreign_keys=OFF");
  exec_sql(db_, opt_.path, "PRAGMA cache_size=-65536");
  // Checkpoints run on their own connection and thread (start()), so a commit never waits for
  // the database file to be written and fsync'ed; without the thread (tests, export), SQLite's
  // automatic checkpoint stays on.
  exec_sql(db_, opt_.path, "PRAGMA wal_autocheckpoint=4000");
  exec_sql(db_, opt_.path, "PRAGMA temp_store=MEMORY");
  exec_sql(db_, opt_.path, "PRAGMA mmap_size=268435456");
  open_schema(db_, opt_.path, opt_.context_version);
  if (opt_.synchronous_full) {  // the WAL exists once a WAL-mode connection has read or written
    std::string err;
    if (!sync_wal(err)) throw std::runtime_error(opt_.path + ": " + err);
  }
  prepare();
  if (opt_.stream_fed) open_stream_position();
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
       "SELECT site, ts_ms, arm, mode, shown, closed, in_bandit, status, reward, context, price, seq, outcome_ts_ms IS NOT NULL "
       "FROM decisions "
       "WHERE decision_id=?"},
      {"dec_join",
       "UPDATE decisions SET status=?, closed=1, reward=?, outcome_ts_ms=?, converted=?, revenue=?, margin=?, late=?, "
       "closed_ms=coalesce(closed_ms, ?), in_bandit=? WHERE seq=?"},
      {"dec_shown", "UPDATE decisions SET shown=1, shown_ts_ms=?, in_bandit=? WHERE seq=?"},
      {"dec_due",
       "SELECT decision_id FROM decisions WHERE closed=0 AND ts_ms < ? ORDER BY ts_ms LIMIT ?"},
      {"dec_default",
       "UPDATE decisions SET status=2, closed=1, reward=0, converted=0, revenue=0, margin=0, closed_ms=?, in_bandit=? "
       "WHERE seq=?"},
      {"out_ins",
       "INSERT INTO outcomes(decision_id, site, ts_ms, converted, revenue, margin, received_ms, status) "
       "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(decision_id) DO NOTHING"},
      {"out_get_orphan",
       "SELECT ts_ms, converted, revenue, margin, status FROM outcomes WHERE decision_id=? AND status IN (0,3)"},
      {"out_status", "UPDATE outcomes SET status=? WHERE decision_id=?"},
      {"out_expire", "UPDATE outcomes SET status=3 WHERE status=0 AND ts_ms < ?"},
      {"orphans_waiting", "SELECT count(*) FROM outcomes WHERE status=0"},
      {"rep_ins",
       "INSERT INTO reported_outcomes(decision_id, site, ts_ms, converted, revenue, margin, received_ms) "
       "VALUES(?,?,?,?,?,?,?) ON CONFLICT(decision_id) DO NOTHING"},
      {"act_ins", "INSERT INTO activations(decision_id, ts_ms, received_ms) VALUES(?,?,?) ON CONFLICT DO NOTHING"},
      {"act_get", "SELECT ts_ms FROM activations WHERE decision_id=?"},
      {"bandit_put",
       "INSERT INTO bandit_stats(site, context_version, dim, arm, n, reward_sum, A, b) VALUES(?,?,?,?,?,?,?,?) "
       "ON CONFLICT(site, context_version, dim, arm) DO "
       "UPDATE SET n=excluded.n, reward_sum=excluded.reward_sum, A=excluded.A, b=excluded.b"},
      {"version_put", "UPDATE meta SET value=? WHERE key='bandit_version'"},
      {"meta_put", "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"},
  };
  for (const auto& [name, sql] : sqls) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare ") + name + ": " + sqlite3_errmsg(db_));
    st_[name] = s;
  }
}

ApplyOutcome SqliteStore::apply(const std::string& site, const std::string& hash, const Batch& b) {
  std::lock_guard<std::mutex> lk(db_mu_);
  ApplyOutcome out;
  if (opt_.stream_fed) {  // its rows would not be in the stream: the collectors' logs would differ
    out.error = "apply: this store is fed by the stream only (apply_stream)";
    return out;
  }
  try {
    Stmt(st_["begin"], db_).step();
    apply_in_txn(site, hash, b, now(), out.result);
    flush_bandit();
    Stmt(st_["commit"], db_).step();
    publish_snapshot();
    if (opt_.synchronous_full && !sync_wal(out.error)) return out;
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
  std::string err;
  if (opt_.synchronous_full && !sync_wal(err)) throw std::runtime_error(err);
  return n;
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
