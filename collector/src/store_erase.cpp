// Erasure in the SQLite store (store.h, collector/PROTOCOL.md "DELETE /v1/shoppers", "Retention"):
// one shopper's rows, or every row older than a cutoff. Each runs in its own transaction(s) on the
// writer's connection, between the writer's group commits (db_mu_). The fleet bandit statistics
// are sums with no per-decision rows: they are left as they are (bandit_kept counts what stays).
#include <sqlite3.h>

#include <stdexcept>

#include "store_internal.h"

namespace disco::collector {
namespace {

// One statement, bound with (text, int64) pairs as given, run to the end; returns changes().
struct Exec {
  sqlite3* db;
  int64_t run(const char* sql, const std::string* site, const int64_t* v, bool count_row = false) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    int k = 1;
    if (site) sqlite3_bind_text(s, k++, site->data(), static_cast<int>(site->size()), SQLITE_TRANSIENT);
    if (v) sqlite3_bind_int64(s, k++, *v);
    int rc = sqlite3_step(s);
    int64_t n = count_row && rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    while (rc == SQLITE_ROW) rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
    return count_row ? n : sqlite3_changes(db);
  }
  template <class F>
  void txn(F&& f) {
    exec_sql(db, "store", "BEGIN IMMEDIATE");
    try {
      f();
      exec_sql(db, "store", "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
};

}  // namespace

SqliteStore::EraseCounts SqliteStore::erase_shopper(const std::string& site, uint64_t user_key) {
  std::lock_guard<std::mutex> lk(db_mu_);
  EraseCounts c;
  Exec x{db_};
  const int64_t uk = static_cast<int64_t>(user_key);  // stored as the int64 of the same bits
  x.txn([&] {
#define DISCO_OF_SHOPPER "decision_id IN (SELECT decision_id FROM decisions WHERE site=?1 AND user_key=?2)"
    c.bandit_kept = x.run("SELECT count(*) FROM decisions WHERE site=?1 AND user_key=?2 AND in_bandit=1", &site, &uk, true);
    // the shopper's outcomes: on their decisions' rows (and, for those that came first, in outcomes)
    c.outcomes = x.run("SELECT count(*) FROM decisions WHERE site=?1 AND user_key=?2 AND outcome_ts_ms IS NOT NULL", &site,
                       &uk, true);
    x.run("DELETE FROM outcomes WHERE " DISCO_OF_SHOPPER, &site, &uk);
    c.reported_outcomes = x.run("DELETE FROM reported_outcomes WHERE " DISCO_OF_SHOPPER, &site, &uk);
    c.activations = x.run("DELETE FROM activations WHERE " DISCO_OF_SHOPPER, &site, &uk);
#undef DISCO_OF_SHOPPER
    c.decisions = x.run("DELETE FROM decisions WHERE site=?1 AND user_key=?2", &site, &uk);
    c.events = x.run("DELETE FROM events WHERE site=?1 AND user_key=?2", &site, &uk);
  });
  return c;
}

SqliteStore::EraseCounts SqliteStore::drop_older_than(int64_t cutoff, size_t chunk) {
  EraseCounts c;
  const int64_t lim = static_cast<int64_t>(chunk);
  // Decisions first, with what hangs on them, `chunk` at a time (each chunk one transaction, so the
  // writer's commits go on in between).
  for (;;) {
    std::lock_guard<std::mutex> lk(db_mu_);
    Exec x{db_};
    int64_t n = 0;
    exec_sql(db_, opt_.path, "CREATE TEMP TABLE IF NOT EXISTS erase_ids(id BLOB PRIMARY KEY)");
    x.txn([&] {
      x.run("DELETE FROM erase_ids", nullptr, nullptr);
      n = x.run(("INSERT INTO erase_ids SELECT decision_id FROM decisions WHERE ts_ms < ?1 LIMIT " + std::to_string(lim)).c_str(),
                nullptr, &cutoff);
      c.bandit_kept += x.run("SELECT count(*) FROM decisions WHERE decision_id IN erase_ids AND in_bandit=1", nullptr, nullptr, true);
      c.outcomes += x.run("SELECT count(*) FROM decisions WHERE decision_id IN erase_ids AND outcome_ts_ms IS NOT NULL",
                          nullptr, nullptr, true);
      x.run("DELETE FROM outcomes WHERE decision_id IN erase_ids", nullptr, nullptr);
      c.reported_outcomes += x.run("DELETE FROM reported_outcomes WHERE decision_id IN erase_ids", nullptr, nullptr);
      c.activations += x.run("DELETE FROM activations WHERE decision_id IN erase_ids", nullptr, nullptr);
      c.decisions += x.run("DELETE FROM decisions WHERE decision_id IN erase_ids", nullptr, nullptr);
    });
    if (n < lim) break;
  }
  // Then the rows on their own time: orphan outcomes, activations and reported outcomes of
  // decisions never seen, events, batch hashes (by arrival).
  const std::pair<const char*, uint64_t*> tables[] = {
      {"DELETE FROM outcomes WHERE seq IN (SELECT seq FROM outcomes WHERE ts_ms < ?1 LIMIT ", &c.outcomes},
      {"DELETE FROM reported_outcomes WHERE seq IN (SELECT seq FROM reported_outcomes WHERE ts_ms < ?1 LIMIT ", &c.reported_outcomes},
      {"DELETE FROM activations WHERE decision_id IN (SELECT decision_id FROM activations WHERE ts_ms < ?1 LIMIT ", &c.activations},
      {"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_ms < ?1 LIMIT ", &c.events},
      {"DELETE FROM batches WHERE hash IN (SELECT hash FROM batches WHERE received_ms < ?1 LIMIT ", &c.batches},
  };
  for (const auto& [sql, count] : tables) {
    const std::string q = std::string(sql) + std::to_string(lim) + ")";
    for (;;) {
      std::lock_guard<std::mutex> lk(db_mu_);
      Exec x{db_};
      int64_t n = 0;
      x.txn([&] { n = x.run(q.c_str(), nullptr, &cutoff); });
      *count += static_cast<uint64_t>(n);
      if (n < lim) break;
    }
  }
  return c;
}

}  // namespace disco::collector
