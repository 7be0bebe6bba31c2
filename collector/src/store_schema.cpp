// The SQLite store's layout (store_schema.h): tables and indexes, meta.schema_version, and the
// migrations of stores written by earlier collectors.
#include "store_schema.h"

#include "store_stmt.h"

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
-- Partial indexes: only the rows the sweep looks for (open decisions, waiting orphans), so
-- closing a decision deletes one entry and a joined outcome adds none.
CREATE INDEX IF NOT EXISTS decisions_pending ON decisions(ts_ms) WHERE closed=0;
CREATE TABLE IF NOT EXISTS outcomes(
  seq INTEGER PRIMARY KEY, decision_id BLOB NOT NULL UNIQUE, site TEXT NOT NULL, ts_ms INTEGER NOT NULL,
  converted INTEGER NOT NULL, revenue REAL NOT NULL, margin REAL NOT NULL, received_ms INTEGER NOT NULL,
  status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outcomes_waiting ON outcomes(ts_ms) WHERE status=0;
CREATE TABLE IF NOT EXISTS activations(
  decision_id BLOB PRIMARY KEY, ts_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bandit_stats(
  site TEXT NOT NULL, context_version INTEGER NOT NULL, dim INTEGER NOT NULL, arm INTEGER NOT NULL,
  n REAL NOT NULL, reward_sum REAL NOT NULL, A BLOB NOT NULL, b BLOB NOT NULL,
  PRIMARY KEY(site, context_version, dim, arm)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES('bandit_version', 0);
-- The full indexes of before (stores written by earlier collectors; they recreate them if they
-- open the store again, which still reads the same).
DROP INDEX IF EXISTS decisions_open;
DROP INDEX IF EXISTS outcomes_status;
)SQL";

// Added by schema version 2 (after the columns of version 1 exist): outcomes a browser reported
// with a write key, never joined; the indexes DELETE /v1/shoppers and retention look rows up by.
const char* kSchema2 = R"SQL(
CREATE TABLE IF NOT EXISTS reported_outcomes(
  seq INTEGER PRIMARY KEY, decision_id BLOB NOT NULL UNIQUE, site TEXT NOT NULL, ts_ms INTEGER NOT NULL,
  converted INTEGER NOT NULL, revenue REAL NOT NULL, margin REAL NOT NULL, received_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_user ON events(site, user_key);
CREATE INDEX IF NOT EXISTS decisions_user ON decisions(site, user_key);
)SQL";

void check_schema_version(sqlite3* db_, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", -1, &s, nullptr) !=
      SQLITE_OK)
    throw std::runtime_error(path + ": not a readable SQLite database: " + sqlite3_errmsg(db_));
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
    throw std::runtime_error(path + ": the store's schema_version (table meta) is not an integer; " + reads);
  if (v > kStoreSchemaVersion)
    throw std::runtime_error(path + ": the store has schema version " + std::to_string(v) + " (written by a newer " +
                             "disco-collector); " + reads + ": run the newer collector on it, or point --data elsewhere");
  if (v < 1) throw std::runtime_error(path + ": the store has schema version " + std::to_string(v) + ", unknown; " + reads);
}

// Columns added to a table after stores were written: ALTER TABLE when missing.
void add_missing_columns(sqlite3* db_, const std::string& path) {
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
    if (!present) exec_sql(db_, path, sql);
  }
}

// Stores written before the statistics carried a context version kept them in table `bandit`
// keyed (site, arm, dim): they move to bandit_stats under this collector's context_version.
void migrate_bandit_table(sqlite3* db_, const std::string& path, int context_version) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='bandit'", -1, &s, nullptr);
  const bool old_table = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
  sqlite3_finalize(s);
  if (!old_table) return;
  exec_sql(db_, path, "BEGIN IMMEDIATE");
  const std::string sql = "INSERT OR IGNORE INTO bandit_stats(site, context_version, dim, arm, n, reward_sum, A, b) "
                          "SELECT site, " + std::to_string(context_version) +
                          ", dim, arm, n, reward_sum, A, b FROM bandit; DROP TABLE bandit; COMMIT";
  exec_sql(db_, path, sql.c_str());
}

}  // namespace

void open_schema(sqlite3* db, const std::string& path, int context_version) {
  check_schema_version(db, path);
  exec_sql(db, path, kSchema);
  exec_sql(db, path, ("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', " +
                      std::to_string(kStoreSchemaVersion) + ")").c_str());
  add_missing_columns(db, path);
  migrate_bandit_table(db, path, context_version);
  // version 1 -> 2 (idempotent: a crash between the two statements leaves a store that opens again)
  exec_sql(db, path, kSchema2);
  exec_sql(db, path, ("UPDATE meta SET value = " + std::to_string(kStoreSchemaVersion) +
                      " WHERE key = 'schema_version' AND value < " + std::to_string(kStoreSchemaVersion)).c_str());
}

}  // namespace disco::collector
