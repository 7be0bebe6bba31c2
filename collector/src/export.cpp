#include <sqlite3.h>

#include <cinttypes>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "disco/collector/catalog.h"
#include "disco/collector/server.h"
#include "disco/collector/store.h"
#include "disco/disco.h"
#include "disco/formats/text.h"
#include "disco/schemas/bundle_generated.h"

namespace disco::collector {
namespace {

using disco::formats::csv_field;  // one CSV field (schemas/include/disco/formats/text.h)

// The shortest decimal that reads back as the same number: as a float when the value is a float
// (FlatBuffers fields, contexts: 53.13f -> "53.13", not 53.1300010681152), else as a double.
std::string num(double v) {
  char buf[40];
  const bool is_float = std::isfinite(v) && static_cast<double>(static_cast<float>(v)) == v;
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    const double back = std::strtod(buf, nullptr);
    if (is_float ? static_cast<float>(back) == static_cast<float>(v) : back == v) break;
  }
  return buf;
}
std::string dnum(double v) { return num(v); }

sqlite3* open_store_readonly(const std::string& data_dir, std::string* db_path_out = nullptr) {
  std::string db_path = data_dir + "/collector.sqlite";
  if (!std::filesystem::exists(db_path)) throw std::runtime_error(db_path + ": no collector store here");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error(db_path + ": " + m);
  }
  sqlite3_busy_timeout(db, 10000);
  if (db_path_out) *db_path_out = db_path;
  return db;
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
      "mode, shown, price, cost, status, reward, outcome_ts_ms, converted, revenue, margin, late, context, holdout "
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
             "price,cost,status,reward,outcome_ts,converted,revenue,margin,late,context,holdout\n", f);
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
    line += ',' + std::to_string(sqlite3_column_int(st, 22));
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

namespace {

// One open output file written through a temporary name, renamed into place by commit().
struct OutFile {
  std::string path, tmp;
  FILE* f = nullptr;
  explicit OutFile(std::string p) : path(std::move(p)), tmp(path + ".tmp") {
    f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  }
  ~OutFile() {
    if (f) {
      std::fclose(f);
      std::remove(tmp.c_str());
    }
  }
  void put(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), f) != line.size())
      throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
  }
  void commit() {
    const int rc = std::fclose(f);
    f = nullptr;
    if (rc != 0) throw std::runtime_error(path + ": write failed");
    std::filesystem::rename(tmp, path);
  }
};

struct Query {
  sqlite3* db;
  sqlite3_stmt* st = nullptr;
  Query(sqlite3* d, const std::string& sql) : db(d) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("export: sqlite: ") + sqlite3_errmsg(db));
  }
  ~Query() { sqlite3_finalize(st); }
  bool row() {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("export: sqlite: ") + sqlite3_errmsg(db));
  }
  int64_t i(int c) const { return sqlite3_column_int64(st, c); }
  double d(int c) const { return sqlite3_column_double(st, c); }
  bool null(int c) const { return sqlite3_column_type(st, c) == SQLITE_NULL; }
  std::string t(int c) const {
    const auto* p = sqlite3_column_text(st, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, c))) : "";
  }
  std::string id(int c) const {
    const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(st, c));
    char hex[33] = {0};
    if (b && sqlite3_column_bytes(st, c) == 16)
      for (int k = 0; k < 16; ++k) std::snprintf(hex + 2 * k, 3, "%02x", b[k]);
    return hex;
  }
};

std::string hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

std::string CanonicalExportSummary::text() const {
  std::string s = "exported the canonical log to " + dir + ": " + std::to_string(items) + " items (" +
                  (catalog_from_bundle ? "catalog of the served bundle" : "no bundle: items from the log") + "), " +
                  std::to_string(events) + " events, " + std::to_string(decisions) + " decisions, " +
                  std::to_string(activations) + " activations, " + std::to_string(outcomes) + " outcomes\n";
  auto line = [&](uint64_t n, const std::string& what) {
    if (n) s += "  not written: " + std::to_string(n) + " " + what + "\n";
  };
  line(pending_decisions, "decisions whose reward window is still open (--include-pending writes them)");
  line(orphan_outcomes, "outcomes whose decision the store never received");
  line(orphan_activations, "activations whose decision the store never received");
  line(reported_outcomes, "outcomes reported by browsers with a write key (kept apart: never rewards)");
  line(events_without_price, "events without a price (none sent, and the item has no known price)");
  if (user_id_conflicts)
    s += "  note: " + std::to_string(user_id_conflicts) +
         " user keys arrived with more than one user_id; the first (by time) is used\n";
  return s;
}

CanonicalExportSummary export_canonical(const CanonicalExportOptions& opt) {
  sqlite3* db = open_store_readonly(opt.data_dir);
  struct Close {
    sqlite3* db;
    ~Close() { sqlite3_close(db); }
  } close{db};
  std::filesystem::create_directories(opt.out_dir);
  CanonicalExportSummary sum;
  sum.dir = opt.out_dir;
  const std::string site_filter = opt.site.empty() ? "1" : "site = ?1";
  auto bind_site = [&](Query& q) {
    if (!opt.site.empty()) sqlite3_bind_text(q.st, 1, opt.site.data(), static_cast<int>(opt.site.size()), SQLITE_TRANSIENT);
  };
  const std::string dec_filter = "(" + site_filter + ")" + (opt.include_pending ? "" : " AND closed = 1");

  // 1. Shoppers: (site, user_key) -> the SDK's user_id (first by time), else the 16-hex-digit key.
  std::map<std::pair<std::string, uint64_t>, std::string> user_ids;
  {
    Query q(db, "SELECT site, user_key, user_id FROM decisions WHERE user_id IS NOT NULL AND user_id <> '' AND " +
                    site_filter + " ORDER BY ts_ms, decision_id");
    bind_site(q);
    while (q.row()) {
      auto [it, fresh] = user_ids.emplace(std::make_pair(q.t(0), static_cast<uint64_t>(q.i(1))), q.t(2));
      if (!fresh && it->second != q.t(2)) ++sum.user_id_conflicts;
    }
  }
  auto user_of = [&](const std::string& site, uint64_t key) {
    auto it = user_ids.find({site, key});
    return it != user_ids.end() ? it->second : hex16(key);
  };

  // 2. Catalog: the served bundle's, then prices the log carried (decisions, then events).
  std::map<std::string, CatalogItem> items;
  std::vector<std::string> order;
  std::string bundle_path = opt.bundle_path;
  if (bundle_path.empty()) bundle_path = opt.data_dir + "/bundle.disco";
  if (bundle_path != "-" && std::filesystem::exists(bundle_path)) {
    std::string why;
    sum.catalog_from_bundle = read_bundle_catalog(bundle_path, items, order, &why);
    if (!sum.catalog_from_bundle && !opt.bundle_path.empty())
      throw std::runtime_error(why.empty() ? bundle_path + ": no catalog in the bundle" : why);
  } else if (!opt.bundle_path.empty() && bundle_path != "-") {
    throw std::runtime_error(bundle_path + ": no such bundle");
  }
  auto learn_price = [&](const std::string& item, double price, double cost) {
    auto [it, fresh] = items.try_emplace(item);
    if (fresh) order.push_back(item);
    CatalogItem& c = it->second;
    if (c.in_bundle && c.price > 0) return;
    if (price > 0) c.price = price;  // later rows win: the newest price
    if (cost >= 0 && price > 0) c.cost = cost;
  };
  {
    Query q(db, "SELECT item_id, price, cost FROM decisions WHERE " + dec_filter + " ORDER BY ts_ms, decision_id");
    bind_site(q);
    while (q.row()) learn_price(q.t(0), q.d(1), q.d(2));
  }
  {
    Query q(db, "SELECT item_id, price FROM events WHERE " + site_filter + " AND price > 0 ORDER BY id");
    bind_site(q);
    while (q.row()) {
      auto it = items.find(q.t(0));
      if (it == items.end() || !(it->second.price > 0)) learn_price(q.t(0), q.d(1), -1);
    }
  }
  {
    OutFile f(opt.out_dir + "/items.csv");
    f.put("item_id,category,brand,price,cost,in_stock\n");
    for (const std::string& id : order) {
      const CatalogItem& c = items[id];
      if (!(c.price > 0)) continue;  // unknown price: the reader keeps its rows on an unknown item
      f.put(csv_field(id.c_str()) + "," + csv_field(c.category.c_str()) + "," + csv_field(c.brand.c_str()) + "," +
            dnum(c.price) + "," + (c.cost >= 0 ? dnum(c.cost) : "") + "," + std::to_string(c.in_stock) + "\n");
      ++sum.items;
    }
    if (sum.items) f.commit();
    else std::filesystem::remove(opt.out_dir + "/items.csv");
  }

  // 3. Events.
  {
    bool any_session = false;
    {
      Query q(db, "SELECT 1 FROM events WHERE " + site_filter + " AND session_id <> '' LIMIT 1");
      bind_site(q);
      any_session = q.row();
    }
    static const char* kTypes[] = {"view", "click", "cart", "remove", "purchase"};
    OutFile f(opt.out_dir + "/events.csv");
    f.put(any_session ? "user_id,session_id,ts,type,item_id,price,quantity\n" : "user_id,ts,type,item_id,price,quantity\n");
    Query q(db, "SELECT site, user_key, session_id, ts_ms, type, item_id, price, quantity FROM events WHERE " +
                    site_filter + " ORDER BY id");
    bind_site(q);
    std::string line;
    while (q.row()) {
      const std::string item = q.t(5);
      double price = q.d(6);
      if (!(price > 0)) {
        auto it = items.find(item);
        price = it != items.end() ? it->second.price : 0;
      }
      if (!(price > 0)) {
        ++sum.events_without_price;
        continue;
      }
      const int type = static_cast<int>(q.i(4));
      line = csv_field(user_of(q.t(0), static_cast<uint64_t>(q.i(1))).c_str());
      if (any_session) {
        const std::string sid = q.t(2);
        line += ',' + (sid.empty() ? std::string("-") : csv_field(sid.c_str()));
      }
      line += ',' + std::to_string(q.i(3)) + ',' + (type >= 0 && type <= 4 ? kTypes[type] : "view") + ',' +
              csv_field(item.c_str()) + ',' + dnum(price) + ',' + std::to_string(q.i(7)) + '\n';
      f.put(line);
      ++sum.events;
    }
    f.commit();
  }

  // 4. Decisions (closed ones unless include_pending), with what the bandit saw.
  {
    Query pend(db, "SELECT count(*) FROM decisions WHERE (" + site_filter + ") AND closed = 0");
    bind_site(pend);
    if (!opt.include_pending && pend.row()) sum.pending_decisions = static_cast<uint64_t>(pend.i(0));
    static const char* kModes[] = {"online", "apprentice", "logging_only"};
    OutFile f(opt.out_dir + "/decisions.csv");
    f.put("decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,site,mode,shown,"
          "holdout,price,cost,context\n");
    Query q(db, "SELECT decision_id, ts_ms, site, user_key, item_id, arm, discount, propensity, model_version, "
                "policy_version, mode, shown, holdout, price, cost, context FROM decisions WHERE " + dec_filter +
                " ORDER BY ts_ms, decision_id");
    bind_site(q);
    std::string line;
    std::vector<float> ctx;
    while (q.row()) {
      const int mode = static_cast<int>(q.i(10));
      line = q.id(0) + ',' + std::to_string(q.i(1)) + ',' + csv_field(user_of(q.t(2), static_cast<uint64_t>(q.i(3))).c_str()) +
             ',' + csv_field(q.t(4).c_str()) + ',' + std::to_string(q.i(5)) + ',' + num(q.d(6)) + ',' + num(q.d(7)) + ',' +
             csv_field(q.t(8).c_str()) + ',' + csv_field(q.t(9).c_str()) + ',' + csv_field(q.t(2).c_str()) + ',' +
             (mode >= 0 && mode <= 2 ? kModes[mode] : "online") + ',' + std::to_string(q.i(11) ? 1 : 0) + ',' +
             std::to_string(q.i(12) ? 1 : 0) + ',' + dnum(q.d(13)) + ',' + dnum(q.d(14)) + ',';
      const int nb = sqlite3_column_bytes(q.st, 15);
      ctx.resize(static_cast<size_t>(nb) / sizeof(float));
      if (!ctx.empty()) std::memcpy(ctx.data(), sqlite3_column_blob(q.st, 15), ctx.size() * sizeof(float));
      for (size_t k = 0; k < ctx.size(); ++k) {
        if (k) line += ' ';
        line += num(ctx[k]);
      }
      line += '\n';
      f.put(line);
      ++sum.decisions;
    }
    f.commit();
  }

  // 5. Activations and outcomes of the decisions written.
  std::string joined_filter = opt.site.empty() ? "(1)" : "(d.site = ?1)";
  if (!opt.include_pending) joined_filter += " AND d.closed = 1";
  {
    OutFile f(opt.out_dir + "/activations.csv");
    f.put("decision_id,ts\n");
    Query q(db, "SELECT a.decision_id, a.ts_ms FROM activations a JOIN decisions d ON d.decision_id = a.decision_id "
                "WHERE " + joined_filter + " ORDER BY a.ts_ms, a.decision_id");
    bind_site(q);
    while (q.row()) {
      f.put(q.id(0) + ',' + std::to_string(q.i(1)) + '\n');
      ++sum.activations;
    }
    f.commit();
    Query orphans(db, "SELECT count(*) FROM activations a WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE "
                      "d.decision_id = a.decision_id)");
    if (orphans.row()) sum.orphan_activations = static_cast<uint64_t>(orphans.i(0));
  }
  {
    OutFile f(opt.out_dir + "/outcomes.csv");
    f.put("decision_id,ts,converted,revenue,margin,late\n");
    // Every stored outcome of a known decision is on its row (outcome_ts_ms set by the join; table
    // outcomes keeps the orphans, and the orphans that joined later with the same values).
    Query q(db, "SELECT d.decision_id, d.outcome_ts_ms, d.converted, d.revenue, d.margin, d.late FROM decisions d "
                "WHERE d.outcome_ts_ms IS NOT NULL AND " + joined_filter + " ORDER BY d.outcome_ts_ms, d.decision_id");
    bind_site(q);
    while (q.row()) {
      const bool late = q.i(5) != 0;
      f.put(q.id(0) + ',' + std::to_string(q.i(1)) + ',' + std::to_string(q.i(2) ? 1 : 0) + ',' + dnum(q.d(3)) + ',' +
            dnum(q.d(4)) + ',' + (late ? "1" : "0") + '\n');
      ++sum.outcomes;
    }
    f.commit();
    Query orphans(db, "SELECT count(*) FROM outcomes o WHERE (" + std::string(opt.site.empty() ? "1" : "o.site = ?1") +
                          ") AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.decision_id = o.decision_id)");
    bind_site(orphans);
    if (orphans.row()) sum.orphan_outcomes = static_cast<uint64_t>(orphans.i(0));
  }
  {  // outcomes browsers reported with a write key: never training data, counted (store schema >= 2)
    Query has(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'reported_outcomes'");
    if (has.row() && has.i(0) > 0) {
      Query rep(db, "SELECT count(*) FROM reported_outcomes WHERE " + std::string(opt.site.empty() ? "1" : "site = ?1"));
      bind_site(rep);
      if (rep.row()) sum.reported_outcomes = static_cast<uint64_t>(rep.i(0));
    }
  }
  return sum;
}

}  // namespace disco::collector
