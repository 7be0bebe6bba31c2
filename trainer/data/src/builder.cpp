#include "builder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>

namespace disco::data::detail {

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t hash_bytes(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t hash_record(const CsvReader& r) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < r.size(); ++i) {
    h = hash_bytes(r[i], h);
    h = (h ^ 0x1f) * 0x100000001b3ULL;  // field separator
  }
  return mix64(h ^ r.size());
}

namespace {
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
bool valid_ymd(int y, int m, int d) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  return true;
}
}  // namespace

bool parse_date(std::string_view s, int64_t& ms) {
  s = trim(s);
  int y, m, d;
  if (s.size() == 8) {
    if (!digits(s, 0, 4, y) || !digits(s, 4, 2, m) || !digits(s, 6, 2, d)) return false;
  } else if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
  } else {
    return false;
  }
  if (!valid_ymd(y, m, d)) return false;
  ms = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400000LL;
  return true;
}

bool parse_datetime(std::string_view s, int64_t& ms) {
  s = trim(s);
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, se))
    return false;
  if (!valid_ymd(y, mo, d) || h > 23 || mi > 59 || se > 60) return false;
  size_t p = 19;
  int64_t frac_ms = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int nd = 0;
    int64_t scale = 100;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (nd < 3) frac_ms += (s[p] - '0') * scale, scale /= 10;
      ++nd, ++p;
    }
    if (nd == 0) return false;
  }
  int64_t offset_min = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' && p + 1 == s.size()) {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int sign = s[p] == '-' ? -1 : 1;
      int oh, om;
      if (!digits(s, p + 1, 2, oh)) return false;
      size_t q = p + 3;
      if (q < s.size() && s[q] == ':') ++q;
      if (!digits(s, q, 2, om) || q + 2 != s.size() || oh > 23 || om > 59) return false;
      offset_min = sign * (oh * 60 + om);
      p = s.size();
    } else {
      return false;
    }
  }
  if (p != s.size()) return false;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  ms = ((days * 24 + h) * 60 + mi - offset_min) * 60000LL + se * 1000LL + frac_ms;
  return true;
}

std::string format_iso(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  const int hh = static_cast<int>(rem / 3600000), mm = static_cast<int>(rem / 60000 % 60),
            ss = static_cast<int>(rem / 1000 % 60), mss = static_cast<int>(rem % 1000);
  if (mss)
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), m, d, hh, mm, ss, mss);
  else
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d, hh, mm, ss);
  return buf;
}

std::vector<int> map_header(CsvReader& r, std::initializer_list<std::string_view> required,
                            std::initializer_list<std::string_view> optional) {
  if (!r.next()) throw IngestError(r.path() + ":1: empty file, expected a header line");
  r.set_header(r.fields());
  std::vector<int> out;
  auto find = [&](std::string_view name) {
    for (size_t i = 0; i < r.size(); ++i)
      if (trim(r[i]) == name) return static_cast<int>(i);
    return -1;
  };
  auto header_text = [&] {
    std::string h;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) h += ',';
      for (char c : r[i]) h += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    if (h.size() > 200) h = h.substr(0, 200) + "...";
    return h;
  };
  for (auto name : required) {
    const int i = find(name);
    if (i < 0) r.fail("wrong header: missing column '" + std::string(name) + "' (header: " + header_text() + ")");
    out.push_back(i);
  }
  for (auto name : optional) out.push_back(find(name));
  return out;
}

void FlatIndex::insert(uint64_t h, uint32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.empty() ? 1024 : old.size() * 2);
    size_ = 0;
    for (const Slot& s : old)
      if (s.value != kNone) insert(s.hash, s.value);
  }
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  while (slots_[i].value != kNone) i = (i + 1) & mask;
  slots_[i] = Slot{h, value};
  ++size_;
}

void FlatSet64::reserve(size_t n) {
  size_t cap = 4096;
  while (cap < 2 * n) cap *= 2;
  if (cap <= slots_.size()) return;
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(cap, 0);
  size_ = 0;
  for (uint64_t x : old)
    if (x) insert(x);
}

bool FlatSet64::insert(uint64_t h) {
  if (h == 0) {
    const bool fresh = !has_zero_;
    has_zero_ = true;
    return fresh;
  }
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 4096 : old.size() * 2, 0);
    size_ = 0;
    for (uint64_t x : old)
      if (x) insert(x);
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

Builder::Builder(Dataset& d, const IngestOptions& o) : ds(d), opt(o) {
  for (uint32_t i = 0; i < ds.user_ids.size(); ++i) users_.insert(mix64(hash_bytes(ds.user_ids[i])), i);
  for (uint32_t i = 0; i < ds.items.size(); ++i) items_.insert(mix64(hash_bytes(ds.items[i].id)), i);
  for (uint32_t i = 0; i < ds.categories.size(); ++i) cat_index_.emplace(ds.categories[i], i);
  for (uint32_t i = 0; i < ds.brands.size(); ++i) brand_index_.emplace(ds.brands[i], i);
}

void Builder::begin_file(const std::string& file) {
  ds.quality.files.push_back({file, 0, 0, 0});
  cur_index_ = ds.quality.files.size() - 1;
  seen_.clear();
  if (opt.drop_duplicates) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file, ec);
    if (!ec) seen_.reserve(std::min<uintmax_t>(bytes / 40, uintmax_t{1} << 28));
  }
}

bool Builder::row() {
  auto& f = ds.quality.files[cur_index_];
  if (opt.max_rows && f.rows_read >= opt.max_rows) return false;
  ++f.rows_read;
  return true;
}

void Builder::keep() { ++ds.quality.files[cur_index_].rows_kept; }

void Builder::drop(const char* reason) {
  ++ds.quality.files[cur_index_].rows_dropped;
  ++ds.quality.dropped[reason];
}

void Builder::repair(const char* reason, uint64_t n) {
  if (n) ds.quality.repaired[reason] += n;
}

void Builder::flag(const char* reason, uint64_t n) {
  if (n) ds.quality.flagged[reason] += n;
}

bool Builder::check_fields(const CsvReader& r, size_t expected) {
  if (r.size() == expected) return true;
  if (r.size() < expected && !r.terminated()) {
    drop("truncated_last_line");
    return false;
  }
  r.fail("expected " + std::to_string(expected) + " fields, got " + std::to_string(r.size()));
}

bool Builder::duplicate(const CsvReader& r) {
  if (!opt.drop_duplicates) return false;
  return !seen_.insert(hash_record(r));
}

bool Builder::usable_row(const CsvReader& r, size_t expected) {
  if (!check_fields(r, expected)) return false;
  if (duplicate(r)) {
    drop("duplicate_row");
    return false;
  }
  return true;
}

bool Builder::drop_if_blank(const CsvReader& r, const std::vector<int>& col, size_t n) {
  for (size_t i = 0; i < col.size() && i < n; ++i)
    if (col[i] >= 0 && trim(r[size_t(col[i])]).empty()) {
      drop_missing(r, col[i]);
      return true;
    }
  return false;
}

bool Builder::drop_if_any_blank(const CsvReader& r, std::initializer_list<int> cols) {
  for (int c : cols)
    if (c >= 0 && trim(r[size_t(c)]).empty()) {
      drop_missing(r, c);
      return true;
    }
  return false;
}

void Builder::drop_missing(const CsvReader& r, int col) {
  drop("missing_field");
  const auto& h = r.header();
  const std::string name = col >= 0 && size_t(col) < h.size() ? "'" + std::string(trim(h[size_t(col)])) + "'"
                                                               : "column " + std::to_string(col + 1);
  ++ds.quality.missing_columns[std::filesystem::path(r.path()).filename().string() + " " + name];
}

uint32_t Builder::user(std::string_view id) {
  const uint64_t h = mix64(hash_bytes(id));
  uint32_t u = users_.find(h, [&](uint32_t v) { return ds.user_ids[v] == id; });
  if (u != FlatIndex::kNone) return u;
  u = static_cast<uint32_t>(ds.user_ids.size());
  ds.user_ids.emplace_back(id);
  ds.user_index.emplace(ds.user_ids.back(), u);
  users_.insert(h, u);
  return u;
}

uint32_t Builder::item(std::string_view id, bool* created) {
  const uint64_t h = mix64(hash_bytes(id));
  uint32_t it = items_.find(h, [&](uint32_t v) { return ds.items[v].id == id; });
  if (created) *created = it == FlatIndex::kNone;
  if (it != FlatIndex::kNone) return it;
  it = static_cast<uint32_t>(ds.items.size());
  Item x;
  x.id = std::string(id);
  ds.items.push_back(std::move(x));
  ds.item_index.emplace(ds.items.back().id, it);
  items_.insert(h, it);
  return it;
}

bool Builder::find_item(std::string_view id, uint32_t& out) {
  const uint32_t it = items_.find(mix64(hash_bytes(id)), [&](uint32_t v) { return ds.items[v].id == id; });
  if (it == FlatIndex::kNone) return false;
  out = it;
  return true;
}

uint32_t Builder::category(std::string_view name) {
  name = trim(name);
  if (name.empty()) return 0;
  key_.assign(name);
  auto [it, inserted] = cat_index_.try_emplace(key_, static_cast<uint32_t>(ds.categories.size()));
  if (inserted) ds.categories.push_back(key_);
  return it->second;
}

uint32_t Builder::brand(std::string_view name) {
  name = trim(name);
  if (name.empty()) return 0;
  key_.assign(name);
  auto [it, inserted] = brand_index_.try_emplace(key_, static_cast<uint32_t>(ds.brands.size()));
  if (inserted) ds.brands.push_back(key_);
  return it->second;
}

void Builder::finish_events() {
  auto& ev = ds.events;
  std::vector<int64_t> last(ds.user_ids.size(), INT64_MIN);
  uint64_t ooo = 0;
  bool sorted = true;
  for (size_t i = 0; i < ev.size(); ++i) {
    auto& l = last[ev[i].user];
    if (ev[i].ts_ms < l)
      ++ooo;
    else
      l = ev[i].ts_ms;
    if (i && (ev[i].user < ev[i - 1].user || (ev[i].user == ev[i - 1].user && ev[i].ts_ms < ev[i - 1].ts_ms)))
      sorted = false;
  }
  repair("out_of_order_ts", ooo);
  if (sorted) return;
  struct Key {
    uint32_t user, idx;
    int64_t ts;
  };
  std::vector<Key> keys(ev.size());
  for (uint32_t i = 0; i < ev.size(); ++i) keys[i] = Key{ev[i].user, i, ev[i].ts_ms};
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {  // idx breaks ties: stable
    if (a.user != b.user) return a.user < b.user;
    if (a.ts != b.ts) return a.ts < b.ts;
    return a.idx < b.idx;
  });
  std::vector<uint32_t> perm(ev.size());
  for (size_t i = 0; i < keys.size(); ++i) perm[i] = keys[i].idx;
  std::vector<Key>().swap(keys);
  auto apply = [&](auto& v) {
    if (v.size() != perm.size()) return;
    std::remove_reference_t<decltype(v)> out;
    out.reserve(v.size());
    for (uint32_t p : perm) out.push_back(v[p]);
    v.swap(out);
  };
  apply(ev);
  apply(ds.predefined_part);
  apply(ds.source_session);
}

void Builder::finish() {
  auto& q = ds.quality;
  q.rows_read = q.rows_kept = 0;
  for (const auto& f : q.files) {
    q.rows_read += f.rows_read;
    q.rows_kept += f.rows_kept;
  }
}

}  // namespace disco::data::detail
