// The statement wrapper of the SQLite store (internal to collector/src/): a prepared statement
// (owned by SqliteStore, finalized once at close) reset and unbound when a Stmt takes it and reset
// again when the Stmt goes out of scope, so a thrown error never leaves a statement mid-step.
// Text and blob values are bound without a copy (SQLITE_STATIC): the caller's string or buffer
// must outlive the step (rvalue strings are refused at compile time); decision ids are encoded
// into the Stmt's own buffers.
#pragma once
#include <sqlite3.h>

#include <stdexcept>
#include <string>

#include "disco/collector/batch.h"

namespace disco::collector {

// A decision id as its 16-byte BLOB (big-endian hi then lo), the key of every table.
inline void id_bytes(const DecisionId& id, unsigned char out[16]) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(id.hi >> (56 - 8 * i));
    out[8 + i] = static_cast<unsigned char>(id.lo >> (56 - 8 * i));
  }
}

inline DecisionId id_of_bytes(const unsigned char* p) {
  DecisionId id;
  for (int i = 0; i < 8; ++i) {
    id.hi = (id.hi << 8) | p[i];
    id.lo = (id.lo << 8) | p[8 + i];
  }
  return id;
}

struct Stmt {
  sqlite3_stmt* s;
  sqlite3* db;
  explicit Stmt(sqlite3_stmt* st, sqlite3* d) : s(st), db(d) { sqlite3_reset(s); sqlite3_clear_bindings(s); }
  ~Stmt() { sqlite3_reset(s); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& i(int k, int64_t v) { sqlite3_bind_int64(s, k, v); return *this; }
  Stmt& d(int k, double v) { sqlite3_bind_double(s, k, v); return *this; }
  Stmt& t(int k, const std::string& v) { sqlite3_bind_text(s, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC); return *this; }
  Stmt& t(int k, std::string&&) = delete;  // bound without a copy: must outlive the step
  Stmt& b(int k, const void* p, size_t n) { sqlite3_bind_blob(s, k, p, static_cast<int>(n), SQLITE_STATIC); return *this; }
  Stmt& id(int k, const DecisionId& x) {
    if (nid_ >= 2) throw std::logic_error("Stmt: more than two decision ids bound");
    unsigned char* buf = ids_[nid_++];
    id_bytes(x, buf);
    return b(k, buf, 16);
  }
  Stmt& null(int k) { sqlite3_bind_null(s, k); return *this; }
  bool step() {  // true: a row
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
  }
  int changes() { return sqlite3_changes(db); }

 private:
  unsigned char ids_[2][16];
  int nid_ = 0;
};

// sqlite3_exec of sql on db; throws "PATH: sqlite: message" on failure.
inline void exec_sql(sqlite3* db, const std::string& path, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(path + ": sqlite: " + m);
  }
}

}  // namespace disco::collector
