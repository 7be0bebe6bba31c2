// The SQLite store's layout (internal to collector/src/): the tables and indexes of the joined log
// and the fleet bandit statistics, the layout version, and the migrations at open.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace disco::collector {

// The store's layout version (meta.schema_version). Columns and tables added since version 1 are
// added at open (add_missing_columns, migrate_bandit_table); a new version is for a change an older
// collector must not open. A store of a newer version is refused at open, before anything is written.
// 2: table reported_outcomes (write-key outcomes, kept apart: an older collector would not keep
//    them out of rewards) and the per-shopper indexes of DELETE /v1/shoppers; a version-1 store is
//    moved to 2 at open.
// 3: an outcome of a known decision lives on the decision's row only (store_join.cpp); an older
//    collector would miss those outcomes in its export and take a second outcome of the decision
//    (no outcomes row to conflict with) as a new one, joining it twice. Version 1 and 2 stores
//    read the same (their joined outcomes are on both) and are moved to 3 at open.
constexpr int64_t kStoreSchemaVersion = 3;

// At open, before any statement is prepared: refuses a store whose meta.schema_version this
// collector does not read (throws std::runtime_error naming `path`, nothing written), then creates
// the missing tables and indexes, records the version, adds the columns added since version 1 and
// moves a pre-context-version `bandit` table to bandit_stats under `context_version`.
void open_schema(sqlite3* db, const std::string& path, int context_version);

// outcome row status (outcomes.status)
constexpr int kOrphan = 0, kOutJoined = 1, kOutLate = 2, kOrphanExpired = 3;

}  // namespace disco::collector
