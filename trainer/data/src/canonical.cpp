// The canonical CSV format (trainer/data/README.md): items.csv, events.csv, decisions.csv, outcomes.csv,
// activations.csv.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <unordered_map>

#include "builder.h"

namespace disco::data {

namespace fs = std::filesystem;
using detail::Builder;

namespace {

bool parse_hex128(std::string_view s, uint64_t& hi, uint64_t& lo) {
  s = trim(s);
  if (s.size() != 32) return false;
  uint64_t v[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v[i / 16] = (v[i / 16] << 4) | static_cast<uint64_t>(d);
  }
  hi = v[0];
  lo = v[1];
  return true;
}

uint64_t id_hash(uint64_t hi, uint64_t lo) { return detail::mix64(hi ^ detail::mix64(lo)); }

// Price check of an event: with a price column every price must be > 0 (returns the drop reason
// or nullptr); without one, prices are 0.
const char* check_price(double price, bool has_price, const IngestOptions& opt) {
  if (has_price && price <= 0) return "non_positive_price";
  if (price > opt.max_price) return "outlier_price";
  return nullptr;
}

CsvOptions csv_options(const IngestOptions& opt) {
  CsvOptions c;
  c.delimiter = opt.sep;
  return c;
}

void read_items(Builder& b, const std::string& path) {
  CsvReader r(path, csv_options(b.opt));
  b.begin_file(path);
  const auto col = detail::map_header(r, {"item_id"}, {"category", "brand", "price", "cost", "in_stock"});
  const size_t nf = r.size();
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    const std::string_view id = trim(r[col[0]]);
    if (id.empty()) {
      b.drop_missing(r, col[0]);
      continue;
    }
    uint32_t existing;
    if (b.find_item(id, existing)) {
      b.drop("duplicate_item");
      continue;
    }
    if (b.drop_if_any_blank(r, {col[3]})) continue;  // price is required when its column exists
    // an empty category is allowed: the item's category is unknown (0)
    double price = 0, cost = 0;
    bool in_stock = true;
    if (col[3] >= 0 && !parse_double(r[col[3]], price)) {
      b.drop("unparsable_number");
      continue;
    }
    if (col[4] >= 0 && !trim(r[col[4]]).empty() && !parse_double(r[col[4]], cost)) {
      b.drop("unparsable_number");
      continue;
    }
    if (col[5] >= 0 && !trim(r[col[5]]).empty() && !parse_bool(r[col[5]], in_stock)) {
      b.drop("unparsable_number");
      continue;
    }
    if (col[3] >= 0 && price <= 0) {
      b.drop("non_positive_price");
      continue;
    }
    if (price > b.opt.max_price) {
      b.drop("outlier_price");
      continue;
    }
    if (cost < 0) {
      b.drop("negative_cost");
      continue;
    }
    const uint32_t it = b.item(id);
    Item& x = b.ds.items[it];
    x.category = col[1] >= 0 && !trim(r[col[1]]).empty() ? b.category(r[col[1]]) : 0;
    x.brand = col[2] >= 0 ? b.brand(r[col[2]]) : 0;
    x.price = static_cast<float>(price);
    x.cost = static_cast<float>(cost);
    x.in_stock = in_stock;
    if (price > 0 && cost > price) b.flag("cost_above_price");
    b.keep();
  }
}

void read_events(Builder& b, const std::string& path, bool have_catalog, uint32_t catalog_size) {
  CsvReader r(path, csv_options(b.opt));
  b.begin_file(path);
  // user_id may be absent when session_id is there (session logs without users: user = session);
  // type may be absent (every event a view); date (YYYY-MM-DD) may carry the day when ts counts
  // from the session start (ts = date 00:00 UTC + ts).
  const auto col0 = detail::map_header(r, {"ts", "item_id"}, {"user_id", "type", "session_id", "price", "quantity", "date"});
  // the historical layout: 0 user_id, 1 ts, 2 type, 3 item_id, 4 session_id, 5 price, 6 quantity, 7 date
  const std::vector<int> col = {col0[2], col0[0], col0[3], col0[1], col0[4], col0[5], col0[6], col0[7]};
  if (col[0] < 0 && col[4] < 0)
    r.fail("wrong header: missing column 'user_id' (needed unless there is a session_id column)");
  const size_t nf = r.size();
  const bool has_session = col[4] >= 0;
  // (user_id, session_id) -> dense index; keyed by a 64-bit hash of both strings (collision odds
  // ~n^2/2^65, about 1e-8 for a million sessions)
  detail::FlatIndex session_index;
  uint32_t n_sessions = 0;
  auto& ds = b.ds;
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    if (b.drop_if_any_blank(r, {col[0], col[1], col[2], col[3], col[4], col[5], col[6], col[7]})) continue;
    const std::string_view uid = trim(r[col[0] >= 0 ? col[0] : col[4]]), ts_s = r[col[1]],
                           type_s = col[2] >= 0 ? trim(r[col[2]]) : std::string_view("view"), iid = trim(r[col[3]]);
    int64_t ts;
    if (!parse_int(ts_s, ts)) {
      b.drop("unparsable_number");
      continue;
    }
    if (col[7] >= 0) {
      int64_t day_ms;
      if (!detail::parse_date(trim(r[col[7]]), day_ms)) {
        b.drop("unparsable_timestamp");
        continue;
      }
      ts += day_ms;
    }
    EventType type;
    if (!parse_event_type(type_s, type)) {
      b.drop("unknown_event_type");
      continue;
    }
    double price = 0;
    int64_t qty = 1;
    if (col[5] >= 0 && !parse_double(r[col[5]], price)) {
      b.drop("unparsable_number");
      continue;
    }
    if (col[6] >= 0 && !parse_int(r[col[6]], qty)) {
      b.drop("unparsable_number");
      continue;
    }
    if (const char* why = check_price(price, col[5] >= 0, b.opt)) {
      b.drop(why);
      continue;
    }
    if (qty <= 0) {
      b.drop("non_positive_quantity");
      continue;
    }
    if (static_cast<double>(qty) > b.opt.max_quantity) {
      b.drop("absurd_quantity");
      continue;
    }
    Event e;
    e.item = b.item(iid);
    if (have_catalog && e.item >= catalog_size) b.repair("unknown_item");  // kept, category unknown
    e.user = b.user(uid);
    e.ts_ms = ts;
    e.type = type;
    e.price = static_cast<float>(price);
    e.quantity = static_cast<int32_t>(qty);
    ds.events.push_back(e);
    if (has_session) {
      const uint64_t h = detail::mix64(detail::hash_bytes(trim(r[col[4]]), detail::hash_bytes(uid) ^ 0x1f));
      uint32_t sidx = session_index.find(h, [](uint32_t) { return true; });
      if (sidx == detail::FlatIndex::kNone) session_index.insert(h, sidx = n_sessions++);
      ds.source_session.push_back(sidx);
    }
    b.keep();
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool parse_mode(std::string_view s, DecisionMode& out) {
  s = trim(s);
  if (iequals(s, "online")) out = DecisionMode::Online;
  else if (iequals(s, "apprentice")) out = DecisionMode::Apprentice;
  else if (iequals(s, "logging_only")) out = DecisionMode::LoggingOnly;
  else return false;
  return true;
}

constexpr size_t kMaxContext = 256;  // as the collector's max_context

// "1 0.27 0.51": floats separated by blanks (empty: no context). false when a value does not parse
// (or is not finite); *too_long when more than kMaxContext values.
bool parse_context(std::string_view s, std::vector<float>& out, bool* too_long) {
  out.clear();
  *too_long = false;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    double v = 0;
    if (!parse_double(s.substr(i, j - i), v) || !std::isfinite(static_cast<float>(v))) return false;
    if (out.size() == kMaxContext) {
      *too_long = true;
      return true;
    }
    out.push_back(static_cast<float>(v));
    i = j;
  }
  return true;
}

void read_decisions(Builder& b, const std::string& path, bool have_catalog, uint32_t catalog_size) {
  CsvReader r(path, csv_options(b.opt));
  b.begin_file(path);
  // optional: 7 model_version, 8 policy_version, 9 context, 10 mode, 11 shown, 12 holdout, 13 price,
  // 14 cost, 15 site (the collector's export columns, trainer/data/README.md "Canonical CSV")
  const auto col = detail::map_header(
      r, {"decision_id", "ts", "user_id", "item_id", "arm", "discount", "propensity"},
      {"model_version", "policy_version", "context", "mode", "shown", "holdout", "price", "cost", "site"});
  const size_t nf = r.size();
  auto& ds = b.ds;
  detail::FlatIndex seen;  // decision id -> index into ds.decisions
  auto blank = [&](int c) { return c >= 0 && trim(r[c]).empty(); };
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    if (b.drop_if_blank(r, col, 7)) continue;
    // present columns need values, except context (no context), cost and site (unknown)
    if (b.drop_if_any_blank(r, {col[10], col[11], col[12], col[13]})) continue;
    Decision d;
    if (!parse_hex128(r[col[0]], d.id_hi, d.id_lo)) {
      b.drop("malformed_decision_id");
      continue;
    }
    int64_t ts, arm;
    double disc, prop, price = -1, cost = -1;
    bool shown = false, holdout = false;
    if (!parse_int(r[col[1]], ts) || !parse_int(r[col[4]], arm) || !parse_double(r[col[5]], disc) ||
        !parse_double(r[col[6]], prop) || (col[11] >= 0 && !parse_bool(r[col[11]], shown)) ||
        (col[12] >= 0 && !parse_bool(r[col[12]], holdout)) || (col[13] >= 0 && !parse_double(r[col[13]], price)) ||
        (col[14] >= 0 && !blank(col[14]) && !parse_double(r[col[14]], cost))) {
      b.drop("unparsable_number");
      continue;
    }
    bool too_long = false;
    if (col[9] >= 0 && !parse_context(r[col[9]], d.context, &too_long)) {
      b.drop("unparsable_number");
      continue;
    }
    if (too_long) {
      b.drop("invalid_context");
      continue;
    }
    if (col[10] >= 0 && !parse_mode(r[col[10]], d.mode)) {
      b.drop("invalid_mode");
      continue;
    }
    if (arm < 0 || arm > 65535) {
      b.drop("invalid_arm");
      continue;
    }
    if (disc < 0) {
      b.drop("invalid_discount");
      continue;
    }
    if (!(prop > 0 && prop <= 1)) {
      b.drop("invalid_propensity");
      continue;
    }
    if (col[13] >= 0 && price < 0) {
      b.drop("negative_price");
      continue;
    }
    if (col[14] >= 0 && !blank(col[14]) && cost < 0) {
      b.drop("negative_cost");
      continue;
    }
    const uint64_t h = id_hash(d.id_hi, d.id_lo);
    if (seen.find(h, [&](uint32_t v) { return ds.decisions[v].id_hi == d.id_hi && ds.decisions[v].id_lo == d.id_lo; }) !=
        detail::FlatIndex::kNone) {
      b.drop("duplicate_decision");
      continue;
    }
    seen.insert(h, static_cast<uint32_t>(ds.decisions.size()));
    d.item = b.item(trim(r[col[3]]));
    if (have_catalog && d.item >= catalog_size) b.repair("unknown_item");
    const std::string_view uid = trim(r[col[2]]);
    d.user = b.user(uid);
    d.user_key = detail::mix64(detail::hash_bytes(uid));
    d.ts_ms = ts;
    d.arm = static_cast<uint16_t>(arm);
    d.discount = static_cast<float>(disc);
    d.propensity = static_cast<float>(prop);
    if (col[7] >= 0) d.model_version = std::string(trim(r[col[7]]));
    if (col[8] >= 0) d.policy_version = std::string(trim(r[col[8]]));
    if (col[11] >= 0) d.shown = shown ? 1 : 0;
    d.holdout = holdout;
    if (col[13] >= 0) d.price = static_cast<float>(price);
    if (col[14] >= 0 && !blank(col[14])) d.cost = static_cast<float>(cost);
    if (col[15] >= 0) d.site = std::string(trim(r[col[15]]));
    ds.decisions.push_back(std::move(d));
    b.keep();
  }
}

// activations.csv: decision_id,ts (a decision's offer was displayed). A decision whose `shown` is
// unknown (no shown column) becomes shown.
void read_activations(Builder& b, const std::string& path) {
  CsvReader r(path, csv_options(b.opt));
  b.begin_file(path);
  const auto col = detail::map_header(r, {"decision_id", "ts"});
  const size_t nf = r.size();
  auto& ds = b.ds;
  detail::FlatIndex index;
  for (uint32_t i = 0; i < ds.decisions.size(); ++i) index.insert(id_hash(ds.decisions[i].id_hi, ds.decisions[i].id_lo), i);
  std::vector<uint8_t> has(ds.decisions.size(), 0);
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    if (b.drop_if_blank(r, col)) continue;
    Activation a;
    if (!parse_hex128(r[col[0]], a.id_hi, a.id_lo)) {
      b.drop("malformed_decision_id");
      continue;
    }
    if (!parse_int(r[col[1]], a.ts_ms)) {
      b.drop("unparsable_number");
      continue;
    }
    const uint32_t di = index.find(id_hash(a.id_hi, a.id_lo), [&](uint32_t v) {
      return ds.decisions[v].id_hi == a.id_hi && ds.decisions[v].id_lo == a.id_lo;
    });
    if (di == detail::FlatIndex::kNone) {
      b.drop("orphan_activation");
      continue;
    }
    if (has[di]) {
      b.drop("duplicate_activation");
      continue;
    }
    has[di] = 1;
    if (ds.decisions[di].shown < 0) ds.decisions[di].shown = 1;
    ds.activations.push_back(a);
    b.keep();
  }
}

void read_outcomes(Builder& b, const std::string& path) {
  CsvReader r(path, csv_options(b.opt));
  b.begin_file(path);
  const auto col = detail::map_header(r, {"decision_id", "ts", "converted"}, {"revenue", "margin"});
  const size_t nf = r.size();
  auto& ds = b.ds;
  detail::FlatIndex index;  // decision id -> index into ds.decisions
  for (uint32_t i = 0; i < ds.decisions.size(); ++i) index.insert(id_hash(ds.decisions[i].id_hi, ds.decisions[i].id_lo), i);
  std::vector<uint8_t> has_outcome(ds.decisions.size(), 0);
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    if (b.drop_if_any_blank(r, {col[0], col[1], col[2]})) continue;
    Outcome o;
    if (!parse_hex128(r[col[0]], o.id_hi, o.id_lo)) {
      b.drop("malformed_decision_id");
      continue;
    }
    int64_t ts;
    bool conv;
    double rev = 0, margin = 0;
    if (!parse_int(r[col[1]], ts) || !parse_bool(r[col[2]], conv) ||
        (col[3] >= 0 && !trim(r[col[3]]).empty() && !parse_double(r[col[3]], rev)) ||
        (col[4] >= 0 && !trim(r[col[4]]).empty() && !parse_double(r[col[4]], margin))) {
      b.drop("unparsable_number");
      continue;
    }
    if (rev < 0) {
      b.drop("negative_revenue");
      continue;
    }
    const uint32_t di = index.find(id_hash(o.id_hi, o.id_lo), [&](uint32_t v) {
      return ds.decisions[v].id_hi == o.id_hi && ds.decisions[v].id_lo == o.id_lo;
    });
    if (di == detail::FlatIndex::kNone) {
      b.drop("orphan_outcome");
      continue;
    }
    if (has_outcome[di]) {
      b.drop("duplicate_outcome");
      continue;
    }
    has_outcome[di] = 1;
    o.ts_ms = ts;
    o.converted = conv;
    o.revenue = static_cast<float>(rev);
    o.margin = static_cast<float>(margin);
    ds.outcomes.push_back(o);
    b.keep();
  }
}

template <class T>
uint64_t sort_by_ts(std::vector<T>& v) {
  uint64_t ooo = 0;
  int64_t mx = INT64_MIN;
  for (const auto& x : v) {
    if (x.ts_ms < mx)
      ++ooo;
    else
      mx = x.ts_ms;
  }
  if (ooo) std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.ts_ms < b.ts_ms; });
  return ooo;
}

// Timestamps must be Unix milliseconds: warn when they look like seconds or land in 1970
// (relative timestamps: the time split then orders sessions by their offsets, not by date).
void timestamp_warnings(Dataset& ds) {
  if (ds.events.empty()) return;
  int64_t lo = ds.events[0].ts_ms, hi = lo;
  for (const auto& e : ds.events) lo = std::min(lo, e.ts_ms), hi = std::max(hi, e.ts_ms);
  constexpr int64_t kYear1971 = 31536000000LL, kYear2001ms = 978307200000LL, kYear2001s = 978307200LL;
  if (hi >= kYear2001s && hi < kYear2001ms / 10)
    ds.quality.warnings.push_back("event timestamps look like seconds (" + std::to_string(lo) + " .. " + std::to_string(hi) +
                                  " read as ms is January 1970; as seconds " + detail::format_iso(lo * 1000) + " .. " +
                                  detail::format_iso(hi * 1000) + "): ts must be Unix milliseconds (multiply by 1000)");
  else if (hi < kYear1971)
    ds.quality.warnings.push_back("every event timestamp lands in 1970 (" + detail::format_iso(lo) + " .. " + detail::format_iso(hi) +
                                  "): relative timestamps? The time split orders sessions by start time; give absolute "
                                  "Unix milliseconds, or a date column (YYYY-MM-DD) with ts counted from that day");
}

}  // namespace

Dataset read_canonical(const std::string& dir, const IngestOptions& opt) {
  Dataset ds;
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw IngestError(dir + ": not a directory (expected canonical CSV files)");
  ds.name = root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  ds.quality.source = "canonical:" + dir;
  Builder b(ds, opt);
  const std::string items = (root / "items.csv").string(), events = (root / "events.csv").string(),
                    decisions = (root / "decisions.csv").string(), outcomes = (root / "outcomes.csv").string();
  const bool have_catalog = fs::exists(items, ec);
  if (have_catalog) read_items(b, items);
  const uint32_t catalog_size = static_cast<uint32_t>(ds.items.size());
  read_events(b, events, have_catalog, catalog_size);  // required: CsvReader throws "cannot open" when absent
  const bool have_decisions = fs::exists(decisions, ec);
  if (have_decisions) read_decisions(b, decisions, have_catalog, catalog_size);
  if (fs::exists(outcomes, ec)) {
    if (!have_decisions) throw IngestError(outcomes + ": outcomes.csv without decisions.csv");
    read_outcomes(b, outcomes);
  }
  const std::string activations = (root / "activations.csv").string();
  if (fs::exists(activations, ec)) {
    if (!have_decisions) throw IngestError(activations + ": activations.csv without decisions.csv");
    read_activations(b, activations);
  }
  b.finish_events();
  b.repair("out_of_order_ts", sort_by_ts(ds.decisions));
  b.repair("out_of_order_ts", sort_by_ts(ds.outcomes));
  b.repair("out_of_order_ts", sort_by_ts(ds.activations));
  sessionize(ds, opt.session_gap_ms);
  b.finish();
  timestamp_warnings(ds);
  return ds;
}

}  // namespace disco::data
