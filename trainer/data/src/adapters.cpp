// Adapters for the real datasets in ../shared/data (see each folder's SOURCE.txt and
// trainer/data/README.md for the mapping and the cleaning rules of each one).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include <zlib.h>

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
      if (b.drop_if_any_blank(r, {col[0], col[1], col[2]})) {
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
        b.drop_missing(r, col[0]);
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
  ds.arm_names = {"No E-Mail", "Mens E-Mail", "Womens E-Mail"};
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
          b.drop_missing(r, col[0]);
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

// ---------------------------------------------------------------------------------------------
// starbucks-offers: the Udacity/Starbucks rewards-app offer experiment in the one-row-per-offer
// form (train_v3 + test_v3, split by customer). Each offer received -> a decision (arm = the offer,
// in the order of its offer_type_v2 name; propensity 1/#offers: the offer within a wave is treated
// as randomized) and an outcome (converted = offer_completed at offer_completed_time, else the
// expiry time). Customers -> users with their profile (age, income, days_registered, gender).
// Only the columns known when the offer is sent are read: the per-customer totals of the file
// (transaction_*, num_offer_*, *_rate, avg_*, total_reward_amount, ...) cover the whole 30 days,
// i.e. the future, and are ignored; the customer's history before each offer (offers received,
// completed, still active) is rebuilt from the rows themselves into Decision::context.
namespace {

// The whole file, decompressed when it is gzip (zlib reads plain files as they are).
std::string read_maybe_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw IngestError(path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  std::string out;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(f, &code);
      gzclose(f);
      throw IngestError(path + ": cannot decompress: " + why);
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

struct SbRow {
  uint32_t user;
  uint32_t offer;        // index into the offers table (before sorting by name)
  double recv_h, done_h;  // done_h < 0: not completed
  uint64_t id_lo;
};

struct SbOffer {
  std::string id, type, name;  // name = offer_type_v2 ("bogo-10-10-120")
  double reward, difficulty, duration_h;
  bool ch[4];
};

}  // namespace

Dataset read_starbucks(const std::string& dir, const IngestOptions& opt) {
  Dataset ds = start_dataset(dir, "starbucks-offers", "starbucks");
  Builder b(ds, opt);
  ds.user_feature_names = {"age", "income", "days_registered", "gender_f", "gender_m", "gender_missing"};
  ds.context_names = {"reward",        "difficulty",      "duration_h",      "ch_web",       "ch_email",
                      "ch_mobile",     "ch_social",       "received_h",      "offers_before", "bogo_before",
                      "discount_before", "info_before",   "completed_before", "active_before", "hours_since_prev"};
  std::vector<SbOffer> offers;
  std::unordered_map<std::string, uint32_t> offer_index;
  std::vector<SbRow> rows;
  std::vector<uint8_t> user_seen;
  struct Key {
    uint32_t user, offer;
    int64_t recv;
    bool operator==(const Key& o) const { return user == o.user && offer == o.offer && recv == o.recv; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return static_cast<size_t>(detail::mix64((uint64_t{k.user} << 32) ^ (uint64_t{k.offer} << 20) ^
                                               static_cast<uint64_t>(k.recv)));
    }
  };
  std::unordered_set<Key, KeyHash> seen_offer;
  const char* parts[2] = {"train_v3_starbucks.csv", "test_v3_starbucks.csv"};
  for (int part = 0; part < 2; ++part) {
    std::string path = (fs::path(dir) / (std::string(parts[part]) + ".gz")).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      const std::string plain = (fs::path(dir) / parts[part]).string();
      if (!fs::exists(plain, ec))
        throw IngestError(dir + ": expected " + parts[part] + ".gz (or " + parts[part] +
                          "): cannot open: No such file or directory");
      path = plain;
    }
    CsvReader r = CsvReader::from_string(read_maybe_gz(path), path);
    b.begin_file(path);
    const auto col = detail::map_header(
        r, {"customer_id", "offer_received_time", "offer_id", "reward", "difficulty", "duration", "offer_type",
            "ch_web", "ch_email", "ch_mobile", "ch_social", "age", "days_registered", "income", "gender_F",
            "gender_M", "gender_Missing", "offer_completed", "offer_completed_time"});
    const size_t nf = r.size();
    uint64_t row_no = 0;
    while (r.next()) {
      if (!b.row()) break;
      ++row_no;
      if (!b.usable_row(r, nf)) continue;
      if (b.drop_if_blank(r, col)) continue;
      double v[16];  // columns 1, 3..5, 7..18 as numbers
      const int num_cols[16] = {1, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
      bool ok = true;
      for (int k = 0; k < 16 && ok; ++k) ok = parse_double(r[col[num_cols[k]]], v[k]);
      if (!ok) {
        b.drop("unparsable_number");
        continue;
      }
      const double recv_h = v[0], reward = v[1], difficulty = v[2], duration_h = v[3];
      const double age = v[8], days = v[9], income = v[10], gf = v[11], gm = v[12], gx = v[13];
      const double completed = v[14], done_h = v[15];
      const std::string_view type = trim(r[col[6]]);
      if (type != "bogo" && type != "discount" && type != "informational") {
        b.drop("unknown_category");
        continue;
      }
      auto is01 = [](double x) { return x == 0.0 || x == 1.0; };
      if (!is01(gf) || !is01(gm) || !is01(gx) || gf + gm + gx != 1.0 || !is01(completed) || !is01(v[4]) ||
          !is01(v[5]) || !is01(v[6]) || !is01(v[7])) {
        b.drop("unparsable_number");  // a flag that is not 0/1 (or not exactly one gender flag)
        continue;
      }
      if (recv_h < 0 || duration_h <= 0 || reward < 0 || difficulty < 0) {
        b.drop("invalid_offer");
        continue;
      }
      if (completed == 1.0 && !(done_h >= recv_h && done_h <= recv_h + duration_h)) {
        b.drop("invalid_completion");  // completed before it was received or after it expired
        continue;
      }
      // the offer's attributes must be the same on every row
      const std::string oid(trim(r[col[2]]));
      auto oit = offer_index.find(oid);
      const bool ch[4] = {v[4] == 1.0, v[5] == 1.0, v[6] == 1.0, v[7] == 1.0};
      if (oit == offer_index.end()) {
        SbOffer o;
        o.id = oid;
        o.type = std::string(type);
        o.reward = reward;
        o.difficulty = difficulty;
        o.duration_h = duration_h;
        std::copy(ch, ch + 4, o.ch);
        char nm[96];
        std::snprintf(nm, sizeof nm, "%s-%g-%g-%g", o.type.c_str(), reward, difficulty, duration_h);
        o.name = nm;
        oit = offer_index.emplace(oid, static_cast<uint32_t>(offers.size())).first;
        offers.push_back(std::move(o));
      } else {
        const SbOffer& o = offers[oit->second];
        if (o.type != type || o.reward != reward || o.difficulty != difficulty || o.duration_h != duration_h ||
            !std::equal(ch, ch + 4, o.ch)) {
          b.drop("inconsistent_offer");
          continue;
        }
      }
      const uint32_t u = b.user(trim(r[col[0]]));
      // one row per (customer, offer, receipt time): 81 rows repeat one with another completion time
      if (!seen_offer.insert(Key{u, oit->second, std::llround(recv_h * 1000)}).second) {
        b.drop("duplicate_offer");
        continue;
      }
      if (u >= user_seen.size()) user_seen.resize(u + 1, 0);
      const float f[6] = {static_cast<float>(age), static_cast<float>(income), static_cast<float>(days),
                          static_cast<float>(gf), static_cast<float>(gm), static_cast<float>(gx)};
      if (!user_seen[u]) {
        user_seen[u] = 1;
        ds.user_features.resize(ds.user_ids.size() * 6, 0.f);
        std::copy(f, f + 6, ds.user_features.begin() + static_cast<std::ptrdiff_t>(u) * 6);
      } else if (!std::equal(f, f + 6, ds.user_features.begin() + static_cast<std::ptrdiff_t>(u) * 6)) {
        b.flag("customer_attributes_differ");  // the first row's profile is kept
      }
      if (type == "informational" && completed == 1.0) b.flag("informational_completed");
      rows.push_back({u, oit->second, recv_h, completed == 1.0 ? done_h : -1.0,
                      (static_cast<uint64_t>(part + 1) << 32) | row_no});
      b.keep();
    }
  }
  ds.user_features.resize(ds.user_ids.size() * 6, 0.f);

  // arms and items: the offers in the order of their names (bogo..., discount..., informational...)
  std::vector<uint32_t> order(offers.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t c) { return offers[a].name < offers[c].name; });
  if (order.size() > 65536) throw IngestError(dir + ": more than 65536 distinct offers");
  std::vector<uint16_t> arm_of(offers.size());
  for (uint32_t k = 0; k < order.size(); ++k) {
    const SbOffer& o = offers[order[k]];
    arm_of[order[k]] = static_cast<uint16_t>(k);
    const uint32_t it = b.item(o.id);
    ds.items[it].category = b.category(o.type);
    ds.arm_names.push_back(o.name);
  }

  // history features: each customer's rows in receipt order (file order on ties)
  std::vector<uint32_t> by_user(rows.size());
  for (uint32_t i = 0; i < by_user.size(); ++i) by_user[i] = i;
  std::stable_sort(by_user.begin(), by_user.end(), [&](uint32_t a, uint32_t c) {
    return rows[a].user != rows[c].user ? rows[a].user < rows[c].user : rows[a].recv_h < rows[c].recv_h;
  });
  std::vector<std::vector<float>> ctx(rows.size());
  for (size_t s = 0; s < by_user.size();) {
    size_t e = s;
    while (e < by_user.size() && rows[by_user[e]].user == rows[by_user[s]].user) ++e;
    for (size_t k = s; k < e; ++k) {
      const SbRow& cur = rows[by_user[k]];
      const SbOffer& o = offers[cur.offer];
      float n_before = 0, n_type[3] = {0, 0, 0}, done_before = 0, active = 0, since_prev = -1;
      for (size_t j = s; j < e; ++j) {
        const SbRow& pr = rows[by_user[j]];
        if (!(pr.recv_h < cur.recv_h)) continue;  // only offers received strictly before this one
        const SbOffer& po = offers[pr.offer];
        ++n_before;
        ++n_type[po.type == "bogo" ? 0 : po.type == "discount" ? 1 : 2];
        const bool done = pr.done_h >= 0 && pr.done_h < cur.recv_h;  // completed before this receipt
        if (done) ++done_before;
        if (po.type != "informational" && !done && pr.recv_h + po.duration_h > cur.recv_h) ++active;
        const float gap = static_cast<float>(cur.recv_h - pr.recv_h);
        if (since_prev < 0 || gap < since_prev) since_prev = gap;
      }
      ctx[by_user[k]] = {static_cast<float>(o.reward), static_cast<float>(o.difficulty),
                         static_cast<float>(o.duration_h), o.ch[0] ? 1.f : 0.f, o.ch[1] ? 1.f : 0.f,
                         o.ch[2] ? 1.f : 0.f, o.ch[3] ? 1.f : 0.f, static_cast<float>(cur.recv_h), n_before,
                         n_type[0], n_type[1], n_type[2], done_before, active, since_prev};
    }
    s = e;
  }

  // decisions sorted by receipt time (then customer, then file order)
  std::vector<uint32_t> by_time(rows.size());
  for (uint32_t i = 0; i < by_time.size(); ++i) by_time[i] = i;
  std::stable_sort(by_time.begin(), by_time.end(), [&](uint32_t a, uint32_t c) {
    return rows[a].recv_h != rows[c].recv_h ? rows[a].recv_h < rows[c].recv_h : rows[a].user < rows[c].user;
  });
  const float propensity = offers.empty() ? 1.f : 1.f / static_cast<float>(offers.size());
  constexpr uint64_t kTag = 0x5374617262756373ULL;  // "Starbucs"
  ds.decisions.reserve(rows.size());
  ds.outcomes.reserve(rows.size());
  for (uint32_t i : by_time) {
    const SbRow& row = rows[i];
    const SbOffer& o = offers[row.offer];
    Decision d;
    d.id_hi = kTag;
    d.id_lo = row.id_lo;
    d.ts_ms = static_cast<int64_t>(std::llround(row.recv_h * 3600000.0));
    d.user = row.user;
    d.user_key = detail::mix64(detail::hash_bytes(ds.user_ids[row.user]));
    d.item = ds.item_index.at(o.id);
    d.arm = arm_of[row.offer];
    d.discount = o.difficulty > 0 ? static_cast<float>(o.reward / o.difficulty) : 0.f;
    d.propensity = propensity;
    d.model_version = "starbucks-capstone";
    d.policy_version = "randomized";
    d.context = std::move(ctx[i]);
    Outcome oc;
    oc.id_hi = kTag;
    oc.id_lo = row.id_lo;
    oc.converted = row.done_h >= 0;
    oc.ts_ms = static_cast<int64_t>(std::llround((oc.converted ? row.done_h : row.recv_h + o.duration_h) * 3600000.0));
    ds.decisions.push_back(std::move(d));
    ds.outcomes.push_back(oc);
  }
  b.finish();
  return ds;
}

}  // namespace disco::data
