// The SQLite store's statement wrapper and schema on their own (collector/src/store_stmt.h,
// store_schema.h): decision id BLOBs round-trip, a failed step throws with SQLite's message and
// leaves the statement reusable, and the schema opens twice on one database without change.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store_schema.h"
#include "store_stmt.h"

using namespace disco::collector;

TEST(CollectorStoreParts, DecisionIdBytesRoundTrip) {
  const DecisionId ids[] = {{0, 0}, {0x0123456789abcdefULL, 0xfedcba9876543210ULL}, {~0ULL, 1}};
  for (const DecisionId& id : ids) {
    unsigned char b[16];
    id_bytes(id, b);
    EXPECT_EQ(id_of_bytes(b), id);
  }
  unsigned char b[16];
  id_bytes({0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL}, b);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(b[i], i + 1);  // big-endian hi, then lo
}

TEST(CollectorStoreParts, StmtThrowsAndStaysReusable) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  open_schema(db, ":memory:", 3);
  open_schema(db, ":memory:", 3);  // idempotent
  sqlite3_stmt* ins = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO activations(decision_id, ts_ms, received_ms) VALUES(?,?,?)", -1, &ins,
                               nullptr),
            SQLITE_OK);
  const DecisionId id{7, 9};
  Stmt(ins, db).id(1, id).i(2, 10).i(3, 11).step();
  try {
    Stmt(ins, db).id(1, id).i(2, 10).i(3, 11).step();  // the primary key again
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("UNIQUE"), std::string::npos) << e.what();
  }
  Stmt(ins, db).id(1, DecisionId{7, 10}).i(2, 12).i(3, 13).step();  // reset by the destructor: reusable
  sqlite3_stmt* get = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), max(ts_ms) FROM activations", -1, &get, nullptr), SQLITE_OK);
  {
    Stmt q(get, db);
    ASSERT_TRUE(q.step());
    EXPECT_EQ(sqlite3_column_int(get, 0), 2);
    EXPECT_EQ(sqlite3_column_int(get, 1), 12);
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(get);
  sqlite3_close(db);
}

// The sweep's indexes are partial (only open decisions, only waiting orphans: a join adds no
// index entry), a store with the full indexes of before loses them at open, and the sweep's
// queries still use an index rather than scanning the tables.
TEST(CollectorStoreParts, SweepIndexesArePartialAndUsed) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  open_schema(db, ":memory:", 3);
  exec_sql(db, ":memory:", "CREATE INDEX decisions_open ON decisions(closed, ts_ms)");  // a store of before
  exec_sql(db, ":memory:", "CREATE INDEX outcomes_status ON outcomes(status, ts_ms)");
  open_schema(db, ":memory:", 3);
  auto one_text = [&](const std::string& sql, int col = 0) {  // EXPLAIN QUERY PLAN: its detail is column 3
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW) out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, col))) + ";";
    sqlite3_finalize(s);
    return out;
  };
  EXPECT_EQ(one_text("SELECT name FROM sqlite_master WHERE type='index' AND name IN "
                     "('decisions_open','outcomes_status','decisions_pending','outcomes_waiting') ORDER BY name"),
            "decisions_pending;outcomes_waiting;");
  const std::string due = one_text("EXPLAIN QUERY PLAN SELECT decision_id FROM decisions WHERE closed=0 AND ts_ms < 5 "
                                   "ORDER BY ts_ms LIMIT 10", 3);
  EXPECT_NE(due.find("decisions_pending"), std::string::npos) << due;
  const std::string expire = one_text("EXPLAIN QUERY PLAN UPDATE outcomes SET status=3 WHERE status=0 AND ts_ms < 5", 3);
  EXPECT_NE(expire.find("outcomes_waiting"), std::string::npos) << expire;
  sqlite3_close(db);
}
