#include <sqlite3.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "disco/collector/server.h"
#include "disco/collector/store.h"

namespace disco::collector {
namespace {

std::string csv_field(const char* s) {
  if (!s) return "";
  std::string v(s);
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

size_t export_joined_csv(const std::string& data_dir, const std::string& out_path, bool include_pending) {
  std::string db_path = data_dir + "/collector.sqlite";
  if (!std::filesystem::exists(db_path)) throw std::runtime_error(db_path + ": no collector store here");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error(db_path + ": " + m);
  }
  sqlite3_busy_timeout(db, 10000);
  const char* sql =
      "SELECT decision_id, ts_ms, user_key, item_id, arm, discount, propensity, model_version, policy_version, site, "
      "mode, shown, price, cost, status, reward, outcome_ts_ms, converted, revenue, margin, late, context "
      "FROM decisions WHERE (?1 OR closed=1) ORDER BY ts_ms, decision_id";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    std::string m = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(db_path + ": " + m);
  }
  sqlite3_bind_int(st, 1, include_pending ? 1 : 0);
  std::string tmp = out_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    sqlite3_finalize(st);
    sqlite3_close(db);
    throw std::runtime_error(out_path + ": cannot write: " + std::strerror(errno));
  }
  std::fputs("decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,site,mode,shown,"
             "price,cost,status,reward,outcome_ts,converted,revenue,margin,late,context\n", f);
  size_t rows = 0;
  std::string line;
  static const char* kModes[] = {"online", "apprentice", "logging_only"};
  while (sqlite3_step(st) == SQLITE_ROW) {
    line.clear();
    const auto* idb = static_cast<const unsigned char*>(sqlite3_column_blob(st, 0));
    char hex[33];
    for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", idb[i]);
    line += hex;
    line += ',' + std::to_string(sqlite3_column_int64(st, 1));
    line += ',' + std::to_string(static_cast<uint64_t>(sqlite3_column_int64(st, 2)));
    line += ',' + csv_field(reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
    line += ',' + std::to_string(sqlite3_column_int(st, 4));
    line += ',' + num(sqlite3_column_double(st, 5));
    line += ',' + num(sqlite3_column_double(st, 6));
    line += ',' + csv_field(reinterpret_cast<const char*>(sqlite3_column_text(st, 7)));
    line += ',' + csv_field(reinterpret_cast<const char*>(sqlite3_column_text(st, 8)));
    line += ',' + csv_field(reinterpret_cast<const char*>(sqlite3_column_text(st, 9)));
    int mode = sqlite3_column_int(st, 10);
    line += ',';
    line += (mode >= 0 && mode <= 2) ? kModes[mode] : "unknown";
    line += ',' + std::to_string(sqlite3_column_int(st, 11));
    line += ',' + num(sqlite3_column_double(st, 12));
    line += ',' + num(sqlite3_column_double(st, 13));
    line += ',';
    line += join_status_name(sqlite3_column_int(st, 14));
    line += ',';
    if (sqlite3_column_type(st, 15) != SQLITE_NULL) line += num(sqlite3_column_double(st, 15));
    line += ',';
    bool has_outcome = sqlite3_column_type(st, 16) != SQLITE_NULL;
    if (has_outcome) line += std::to_string(sqlite3_column_int64(st, 16));
    line += ',';
    if (sqlite3_column_type(st, 17) != SQLITE_NULL) line += std::to_string(sqlite3_column_int(st, 17));
    line += ',';
    if (sqlite3_column_type(st, 18) != SQLITE_NULL) line += num(sqlite3_column_double(st, 18));
    line += ',';
    if (sqlite3_column_type(st, 19) != SQLITE_NULL) line += num(sqlite3_column_double(st, 19));
    line += ',' + std::to_string(sqlite3_column_int(st, 20));
    line += ',';
    int nb = sqlite3_column_bytes(st, 21);
    if (nb > 0) {
      std::vector<float> ctx(static_cast<size_t>(nb) / sizeof(float));
      std::memcpy(ctx.data(), sqlite3_column_blob(st, 21), ctx.size() * sizeof(float));
      for (size_t k = 0; k < ctx.size(); ++k) {
        if (k) line += ';';
        line += num(ctx[k]);
      }
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), f);
    ++rows;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (std::fclose(f) != 0) throw std::runtime_error(out_path + ": write failed");
  std::filesystem::rename(tmp, out_path);
  return rows;
}

}  // namespace disco::collector
