// What the SQLite store's files share (internal to collector/src/): the decision row the join and
// the bandit rule work on, and the debug switch. The store's parts:
//   sqlite_store.cpp  open, prepared statements, apply() / sweep() transactions, counters()
//   store_schema.cpp  tables, schema version, migrations        store_stmt.h  statement wrapper
//   store_join.cpp    the decision / outcome / activation join and the reward window
//   store_bandit.cpp  the bandit rule (reward, per-arm statistics) and the statistics snapshots
//   store_writer.cpp  the group-commit writer thread and the checkpoint thread
#pragma once
#include <cstdlib>
#include <string>
#include <vector>

#include "disco/collector/store.h"
#include "store_schema.h"
#include "store_stmt.h"

namespace disco::collector {

struct SqliteStore::DecisionRow {
  DecisionId id;
  int64_t rowid = 0;  // decisions.seq: updates address the row by it (no second index lookup)
  std::string site;
  int64_t ts_ms = 0;
  int arm = 0;
  int mode = 0;
  bool shown = false, closed = false, in_bandit = false;
  int status = 0;
  double reward = 0;
  double price = 0;
  std::vector<float> context;
  bool has_outcome = false;  // outcome_ts_ms is set: its outcome was stored (joined or late)
};

// DISCO_COLLECTOR_DEBUG=1: one stderr line per transaction and checkpoint (timings).
inline bool debug_log() {
  static const bool on = std::getenv("DISCO_COLLECTOR_DEBUG") != nullptr;
  return on;
}

}  // namespace disco::collector
