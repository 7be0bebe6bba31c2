// Adapters for the real datasets in ../shared/data (see each folder's SOURCE.txt and
// trainer/data/README.md for the mapping and the cleaning rules of each one).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include "builder.h"

namespace disco::data {

namespace fs = std::filesystem;
using detail::Builder;

namespace {

void require_dir(const std::string& dir, const char* what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IngestError(dir + ": not a directory (expected the " + std::string(what) + " folder)");
}

// The single file in `dir` whose name ends with `suffix`.
std::string find_one(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> hits;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw IngestError(dir + ": cannot list: " + ec.message());
  for (const auto& e : it) {
    const std::string n = e.path().filename().string();
    if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      hits.push_back(e.path().string());
  }
  if (hits.size() != 1)
    throw IngestError(dir + ": expected exactly one file named *" + suffix + ", found " + std::to_string(hits.size()));
  return hits[0];
}

// Price/quantity cleaning shared by the purchase adapters. Returns the drop reason or nullptr.
const char* check_purchase(double spend, int64_t qty, const IngestOptions& opt) {
  if (qty <= 0) return "non_positive_quantity";
  if (static_cast<double>(qty) > opt.max_quantity) return "absurd_quantity";
  if (spend <= 0) return "non_positive_price";
  if (spend / static_cast<double>(qty) > opt.max_price) return "outlier_price";
  return nullptr;
}

// Item.price = mean unit price over the item's purchase events (when the source has no list price).
void fill_item_prices(Dataset& ds) {
  std::vector<double> sum(ds.items.size(), 0.0);
  std::vector<uint64_t> n(ds.items.size(), 0);
  for (const auto& e : ds.events)
    if (e.type == EventType::Purchase && e.price > 0) sum[e.item] += e.price, ++n[e.item];
  for (size_t i = 0; i < ds.items.size(); ++i)
    if (ds.items[i].price == 0 && n[i]) ds.items[i].price = static_cast<float>(sum[i] / static_cast<double>(n[i]));
}

// The empty dataset `name` of the folder `dir` (which must exist); quality.source = "tag:dir".
Dataset start_dataset(const std::string& dir, const char* name, const char* tag) {
  require_dir(dir, name);
  Dataset ds;
  ds.name = name;
  ds.quality.source = std::string(tag) + ":" + dir;
  return ds;
}

// One purchase event of qty units for `spend` in all (price = spend / qty); the row is kept.
void add_purchase(Builder& b, uint32_t user, uint32_t item, int64_t ts, double spend, int64_t qty) {
  Event e;
  e.user = user;
  e.item = item;
  e.ts_ms = ts;
  e.type = EventType::Purchase;
  e.price = static_cast<float>(spend / static_cast<double>(qty));
  e.quantity = static_cast<int32_t>(qty);
  b.ds.events.push_back(e);
  b.keep();
}

// The end of a purchase log: events sorted, item prices from the purchases, sessions, totals.
void finish_purchases(Builder& b) {
  b.finish_events();
  fill_item_prices(b.ds);
  sessionize(b.ds, b.opt.session_gap_ms);
  b.finish();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// yoochoose-100k: TAB-separated "SessionId ItemId Time" (Time = Unix seconds with a fraction);
// user = session; every event is a click; *_train_full.txt -> train, *_test.txt -> test.
Dataset read_yoochoose(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "yoochoose-100k", "yoochoose");
  Builder b(ds, opt);
  const std::string files[2] = {find_one(dir, "_train_full.txt"), find_one(dir, "_test.txt")};
  CsvOptions copt;
  copt.delimiter = '\t';
  std::unordered_set<uint32_t> train_users;
  for (int part = 0; part < 2; ++part) {
    CsvReader r(files[part], copt);
    b.begin_file(files[part]);
    const auto col = detail::map_header(r, {"SessionId", "ItemId", "Time"});
    const size_t nf = r.size();
    while (r.next()) {
      if (!b.row()) break;
      if (!b.usable_row(r, nf)) continue;
      const std::string_view sid = trim(r[col[0]]), iid = trim(r[col[1]]), ts_s = trim(r[col[2]]);
      if (sid.empty() || iid.empty() || ts_s.empty()) {
        b.drop("missing_field");
        continue;
      }
      double t;
      if (!parse_double(ts_s, t)) {
        b.drop("unparsable_number");
        continue;
      }
      Event e;
      e.user = b.user(sid);
      if (part == 0)
        train_users.insert(e.user);
      else if (train_users.count(e.user))
        b.flag("session_in_train_and_test");
      e.item = b.item(iid);
      e.ts_ms = std::llround(t * 1000.0);
      e.type = EventType::Click;
      ds.events.push_back(e);
      ds.predefined_part.push_back(part == 0 ? 0 : 2);
      b.keep();
    }
  }
  ds.has_predefined_split = true;
  b.finish_events();
  // Sessions are the source's SessionIds (user = session): no inactivity split, as in session-rec.
  sessionize(ds, std::numeric_limits<int64_t>::max());
  b.finish();
  return ds;
}

// ---------------------------------------------------------------------------------------------
// completejourney-v2: products.csv -> items (category = product_category, else department;
// brand = manufacturer_id); transactions_sample.csv -> purchase events of households with
// price = sales_value / quantity.
Dataset read_completejourney(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "completejourney-v2", "completejourney");
  Builder b(ds, opt);
  {
    const std::string path = (fs::path(dir) / "products.csv").string();
    CsvReader r(path);
    b.begin_file(path);
    const auto col = detail::map_header(r, {"product_id", "manufacturer_id", "department", "brand", "product_category"});
    const size_t nf = r.size();
    while (r.next()) {
      if (!b.row()) break;
      if (!b.usable_row(r, nf)) continue;
      const std::string_view pid = trim(r[col[0]]);
      if (pid.empty()) {
        b.drop("missing_field");
        continue;
      }
      uint32_t existing;
      if (b.find_item(pid, existing)) {
        b.drop("duplicate_item");
        continue;
      }
      Item& x = ds.items[b.item(pid)];
      const std::string_view cat = trim(r[col[4]]);
      x.category = b.category(cat.empty() ? trim(r[col[2]]) : cat);
      x.brand = b.brand(r[col[1]]);
      b.keep();
    }
  }
  const std::string path = (fs::path(dir) / "transactions_sample.csv").string();
  CsvReader r(path);
  b.begin_file(path);
  const auto col = detail::map_header(r, {"household_id", "basket_id", "product_id", "quantity", "sales_value",
                                          "transaction_timestamp"});
  const size_t nf = r.size();
  const uint32_t catalog_size = static_cast<uint32_t>(ds.items.size());
  while (r.next()) {
    if (!b.row()) break;
    if (!b.usable_row(r, nf)) continue;
    // every row naming a product absent from products.csv, whatever else is wrong with it
    uint32_t known;
    if (!trim(r[col[2]]).empty() && (!b.find_item(trim(r[col[2]]), known) || known >= catalog_size))
      b.flag("product_missing_from_catalog");
    if (b.drop_if_blank(r, col)) continue;
    int64_t qty;
    double sales;
    if (!parse_int(r[col[3]], qty) || !parse_double(r[col[4]], sales)) {
      b.drop("unparsable_number");
      continue;
    }
    int64_t ts;
    if (!detail::parse_datetime(r[col[5]], ts)) {
      b.drop("unparsable_timestamp");
      continue;
    }
    if (const char* why = check_purchase(sales, qty, opt)) {
      b.drop(why);
      continue;
    }
    const uint32_t item = b.item(trim(r[col[2]]));
    // product missing from products.csv: kept on an item of unknown category, every such row counted
    if (item >= catalog_size) b.repair("unknown_item");
    add_purchase(b, b.user(trim(r[col[0]])), item, ts, sales, qty);
  }
  finish_purchases(b);
  return ds;
}

// ---------------------------------------------------------------------------------------------
// cdnow: whitespace-separated "customer_id date number_of_cds dollar_value"; one purchase event per
// row on a single pseudo-item "cd" (the log has no titles), price = dollar_value / number_of_cds.
// Identical rows are kept (the date has day resolution: two identical orders on one day are
// plausible) and counted under flagged "identical_row_kept".
Dataset read_cdnow(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "cdnow", "cdnow");
  Builder b(ds, opt);
  const std::string path = (fs::path(dir) / "CDNOW_master.txt").string();
  CsvOptions copt;
  copt.mode = CsvMode::Whitespace;
  CsvReader r(path, copt);
  b.begin_file(path);
  const auto col = detail::map_header(r, {"customer_id", "date", "number_of_cds", "dollar_value"});
  const size_t nf = r.size();
  const uint32_t cd = b.item("cd");
  ds.items[cd].category = b.category("music");
  detail::FlatSet64 seen;
  while (r.next()) {
    if (!b.row()) break;
    if (!b.check_fields(r, nf)) continue;
    if (!seen.insert(detail::hash_record(r))) b.flag("identical_row_kept");
    int64_t ts, qty;
    double spend;
    if (!detail::parse_date(r[col[1]], ts)) {
      b.drop("unparsable_timestamp");
      continue;
    }
    if (!parse_int(r[col[2]], qty) || !parse_double(r[col[3]], spend)) {
      b.drop("unparsable_number");
      continue;
    }
    // A $0 order is still an order (promotional CDs): kept with price 0 and flagged, so the
    // customer cohort stays the source's (23,570 customers).
    const bool zero = spend == 0 && qty > 0;
    if (const char* why = zero ? nullptr : check_purchase(spend, qty, opt)) {
      b.drop(why);
      continue;
    }
    if (zero) {
      if (static_cast<double>(qty) > opt.max_quantity) {
        b.drop("absurd_quantity");
        continue;
      }
      b.flag("zero_value_purchase");
    }
    add_purchase(b, b.user(trim(r[col[0]])), cd, ts, spend, qty);
  }
  finish_purchases(b);
  return ds;
}

// ---------------------------------------------------------------------------------------------
// hillstrom: one row per customer of a randomized 3-arm e-mail test. Each row -> a user (id = its
// 1-based data row number) with a feature vector, a decision (arm 0 = No E-Mail, 1 = Mens,
// 2 = Womens; propensity 1/3; item = the pseudo-item "email"; no timestamp) and an outcome
// (converted = conversion, revenue = spend, margin unknown = 0; label "visit").
// Identical rows are expected (no customer id, few distinct feature values) and are kept.
Dataset read_hillstrom(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "hillstrom", "hillstrom");
  Builder b(ds, opt);
  const std::string path = (fs::path(dir) / "hillstrom.csv").string();
  CsvReader r(path);
  b.begin_file(path);
  const auto col = detail::map_header(r, {"recency", "history_segment", "history", "mens", "womens", "zip_code",
                                          "newbie", "channel", "segment", "visit", "conversion", "spend"});
  const size_t nf = r.size();
  ds.user_feature_names = {"recency",   "history_segment", "history",     "mens",       "womens",
                           "newbie",    "zip_urban",       "zip_suburban", "zip_rural", "channel_phone",
                           "channel_web", "channel_multichannel"};
  ds.outcome_label_names = {"visit"};
  const uint32_t email = b.item("email");
  ds.items[email].category = b.category("e-mail campaign");
  uint64_t row_no = 0;
  while (r.next()) {
    if (!b.row()) break;
    ++row_no;
    if (!b.check_fields(r, nf)) continue;
    if (b.drop_if_blank(r, col)) continue;
    int64_t recency;
    double history, spend;
    bool mens, womens, newbie, visit, conv;
    if (!parse_int(r[col[0]], recency) || !parse_double(r[col[2]], history) || !parse_bool(r[col[3]], mens) ||
        !parse_bool(r[col[4]], womens) || !parse_bool(r[col[6]], newbie) || !parse_bool(r[col[9]], visit) ||
        !parse_bool(r[col[10]], conv) || !parse_double(r[col[11]], spend)) {
      b.drop("unparsable_number");
      continue;
    }
    const std::string_view hs = trim(r[col[1]]);  // "6) $750 - $1,000"
    int64_t hseg;
    const size_t paren = hs.find(')');
    if (paren == std::string_view::npos || !parse_int(hs.substr(0, paren), hseg)) {
      b.drop("unparsable_number");
      continue;
    }
    const std::string_view zip = trim(r[col[5]]), channel = trim(r[col[7]]), seg = trim(r[col[8]]);
    const int zi = zip == "Urban" ? 0 : zip == "Surburban" ? 1 : zip == "Rural" ? 2 : -1;
    const int ci = channel == "Phone" ? 0 : channel == "Web" ? 1 : channel == "Multichannel" ? 2 : -1;
    if (zi < 0 || ci < 0) {
      b.drop("unknown_category");
      continue;
    }
    const int arm = seg == "No E-Mail" ? 0 : seg == "Mens E-Mail" ? 1 : seg == "Womens E-Mail" ? 2 : -1;
    if (arm < 0) {
      b.drop("unknown_arm");
      continue;
    }
    if (spend < 0) {
      b.drop("negative_revenue");
      continue;
    }
    if (spend > 0 && !conv) b.flag("spend_without_conversion");
    const std::string uid = std::to_string(row_no);
    const uint32_t u = b.user(uid);
    const float f[12] = {static_cast<float>(recency), static_cast<float>(hseg), static_cast<float>(history),
                         mens ? 1.f : 0.f, womens ? 1.f : 0.f, newbie ? 1.f : 0.f,
                         zi == 0 ? 1.f : 0.f, zi == 1 ? 1.f : 0.f, zi == 2 ? 1.f : 0.f,
                         ci == 0 ? 1.f : 0.f, ci == 1 ? 1.f : 0.f, ci == 2 ? 1.f : 0.f};
    ds.user_features.insert(ds.user_features.end(), f, f + 12);
    Decision d;
    d.id_hi = 0x48696c6c73747267ULL;  // "Hillstrg"
    d.id_lo = row_no;
    d.user = u;
    d.user_key = detail::mix64(detail::hash_bytes(uid));
    d.item = email;
    d.arm = static_cast<uint16_t>(arm);
    d.propensity = 1.0f / 3.0f;
    d.model_version = "hillstrom-2008";
    d.policy_version = "randomized";
    ds.decisions.push_back(std::move(d));
    Outcome o;
    o.id_hi = 0x48696c6c73747267ULL;
    o.id_lo = row_no;
    o.converted = conv;
    o.revenue = static_cast<float>(spend);
    ds.outcomes.push_back(o);
    ds.outcome_labels.push_back(visit ? 1.f : 0.f);
    b.keep();
  }
  b.finish();
  return ds;
}

// ---------------------------------------------------------------------------------------------
// open-bandit-men: random/ and bts/ logs (men.csv + item_context.csv). Each row -> a decision
// (arm = item_id shown, position, propensity_score; policy_version "random" / "bts") and an outcome
// (converted = click). Users are the distinct user_feature_0..3 combinations (the log has no user
// id). Items: item_context.csv (category = item_feature_1, brand = item_feature_2).
Dataset read_open_bandit(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "open-bandit-men", "open-bandit");
  Builder b(ds, opt);
  const char* policies[2] = {"random", "bts"};
  int found = 0;
  std::string ukey;
  for (int p = 0; p < 2; ++p) {
    const fs::path pdir = fs::path(dir) / policies[p];
    std::error_code ec;
    if (!fs::is_directory(pdir, ec)) continue;
    ++found;
    {
      const std::string path = (pdir / "item_context.csv").string();
      CsvReader r(path);
      b.begin_file(path);
      const auto col = detail::map_header(r, {"item_id", "item_feature_0", "item_feature_1", "item_feature_2",
                                                 "item_feature_3"});
      const size_t nf = r.size();
      while (r.next()) {
        if (!b.row()) break;
        if (!b.check_fields(r, nf)) continue;
        const std::string_view iid = trim(r[col[0]]);
        if (iid.empty()) {
          b.drop("missing_field");
          continue;
        }
        bool created = false;
        const uint32_t it = b.item(iid, &created);
        for (int k = 0; k < 4; ++k) {  // this policy's own encoding of the item's attributes
          auto& v = ds.item_attributes[std::string(policies[p]) + "/item_feature_" + std::to_string(k)];
          if (v.size() <= it) v.resize(it + 1);
          v[it] = std::string(trim(r[col[1 + k]]));
        }
        if (created) {
          ds.items[it].category = b.category(r[col[2]]);
          ds.items[it].brand = b.brand(r[col[3]]);
        } else if (ds.categories[ds.items[it].category] != trim(r[col[2]]) ||
                   ds.brands[ds.items[it].brand] != trim(r[col[3]])) {
          // the two logs hash item features differently: the first policy's attributes are kept
          b.flag("item_context_mismatch");
        }
        b.keep();
      }
    }
    const std::string path = (pdir / "men.csv").string();
    CsvReader r(path);
    b.begin_file(path);
    const auto col = detail::map_header(r, {"", "timestamp", "item_id", "position", "click", "propensity_score",
                                            "user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3"});
    const size_t nf = r.size();
    std::unordered_set<int64_t> seen_index;
    const uint32_t catalog_size = static_cast<uint32_t>(ds.items.size());
    const size_t first = ds.decisions.size();
    while (r.next()) {
      if (!b.row()) break;
      if (!b.usable_row(r, nf)) continue;
      if (b.drop_if_blank(r, col)) continue;
      int64_t index, item, pos;
      double prop;
      bool click;
      if (!parse_int(r[col[0]], index) || !parse_int(r[col[2]], item) || !parse_int(r[col[3]], pos) ||
          !parse_bool(r[col[4]], click) || !parse_double(r[col[5]], prop)) {
        b.drop("unparsable_number");
        continue;
      }
      int64_t ts;
      if (!detail::parse_datetime(r[col[1]], ts)) {
        b.drop("unparsable_timestamp");
        continue;
      }
      if (!(prop > 0 && prop <= 1)) {
        b.drop("invalid_propensity");
        continue;
      }
      if (item < 0 || item > 65535) {
        b.drop("invalid_arm");
        continue;
      }
      if (!seen_index.insert(index).second) {
        b.drop("duplicate_decision");
        continue;
      }
      Decision d;
      d.item = b.item(trim(r[col[2]]));
      if (d.item >= catalog_size) b.repair("unknown_item");  // item missing from item_context.csv
      ukey.clear();
      for (int k = 6; k < 10; ++k) {
        if (k > 6) ukey += '|';
        ukey += trim(r[col[k]]);
      }
      d.user = b.user(ukey);
      for (int k = 0; k < 4; ++k) {
        auto& v = ds.user_attributes["user_feature_" + std::to_string(k)];
        if (v.size() <= d.user) v.resize(d.user + 1);
        v[d.user] = std::string(trim(r[col[6 + k]]));
      }
      d.user_key = detail::mix64(detail::hash_bytes(ukey));
      d.id_hi = static_cast<uint64_t>(p + 1);
      d.id_lo = static_cast<uint64_t>(index);
      d.ts_ms = ts;
      d.arm = static_cast<uint16_t>(item);
      d.position = static_cast<int32_t>(pos);
      d.propensity = static_cast<float>(prop);
      d.model_version = "obd-men";
      d.policy_version = policies[p];
      Outcome o;
      o.id_hi = d.id_hi;
      o.id_lo = d.id_lo;
      o.ts_ms = ts;
      o.converted = click;
      ds.decisions.push_back(std::move(d));
      ds.outcomes.push_back(o);
      b.keep();
    }
    // decisions (and their outcomes) sorted by ts within each policy's log
    uint64_t ooo = 0;
    int64_t mx = std::numeric_limits<int64_t>::min();
    for (size_t i = first; i < ds.decisions.size(); ++i) {
      if (ds.decisions[i].ts_ms < mx)
        ++ooo;
      else
        mx = ds.decisions[i].ts_ms;
    }
    if (ooo) {
      std::vector<size_t> perm(ds.decisions.size() - first);
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = first + i;
      std::stable_sort(perm.begin(), perm.end(),
                       [&](size_t a, size_t c) { return ds.decisions[a].ts_ms < ds.decisions[c].ts_ms; });
      std::vector<Decision> dd;
      std::vector<Outcome> oo;
      for (size_t i : perm) dd.push_back(std::move(ds.decisions[i])), oo.push_back(ds.outcomes[i]);
      std::move(dd.begin(), dd.end(), ds.decisions.begin() + static_cast<std::ptrdiff_t>(first));
      std::copy(oo.begin(), oo.end(), ds.outcomes.begin() + static_cast<std::ptrdiff_t>(first));
      b.repair("out_of_order_ts", ooo);
    }
  }
  if (!found) throw IngestError(dir + ": expected a random/ and/or bts/ folder with men.csv and item_context.csv");
  for (auto& [name, v] : ds.item_attributes) v.resize(ds.items.size());  // items only one file names: ""
  for (auto& [name, v] : ds.user_attributes) v.resize(ds.user_ids.size());
  b.finish();
  return ds;
}

}  // namespace disco::data
