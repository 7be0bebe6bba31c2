// Dataset-level operations: event types, the quality report, sessionization, time splits,
// summaries, the data root and the reader dispatch.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>

#include "builder.h"
#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "disco/data/text.h"

namespace disco::data {

const char* to_string(EventType t) {
  switch (t) {
    case EventType::View: return "view";
    case EventType::Click: return "click";
    case EventType::Cart: return "cart";
    case EventType::Remove: return "remove";
    case EventType::Purchase: return "purchase";
  }
  return "unknown";
}

const char* to_string(DecisionMode m) {
  switch (m) {
    case DecisionMode::Online: return "online";
    case DecisionMode::Apprentice: return "apprentice";
    case DecisionMode::LoggingOnly: return "logging_only";
    case DecisionMode::Unknown: break;
  }
  return "unknown";
}

bool parse_event_type(std::string_view s, EventType& out) {
  static const char* names[] = {"view", "click", "cart", "remove", "purchase"};
  s = trim(s);
  for (int t = 0; t < kNumEventTypes; ++t) {
    std::string_view n = names[t];
    if (n.size() != s.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < n.size() && eq; ++i) eq = (s[i] | 0x20) == n[i];
    if (eq) {
      out = static_cast<EventType>(t);
      return true;
    }
  }
  return false;
}

uint64_t QualityReport::total_dropped() const {
  uint64_t n = 0;
  for (const auto& [k, v] : dropped) n += v;
  return n;
}

uint64_t QualityReport::total_repaired() const {
  uint64_t n = 0;
  for (const auto& [k, v] : repaired) n += v;
  return n;
}

namespace {
std::string pct(uint64_t part, uint64_t whole) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return b;
}
}  // namespace

std::string QualityReport::to_text() const {
  std::ostringstream o;
  o << "data quality: " << (source.empty() ? "(unnamed)" : source) << "\n";
  o << "  rows read " << thousands(rows_read) << ", kept " << thousands(rows_kept) << ", dropped " << thousands(total_dropped()) << " ("
    << pct(total_dropped(), rows_read) << "), repaired " << thousands(total_repaired()) << "\n";
  for (const auto& f : files)
    o << "  file " << f.file << ": read " << thousands(f.rows_read) << ", kept " << thousands(f.rows_kept) << ", dropped "
      << thousands(f.rows_dropped) << "\n";
  if (dropped.empty()) o << "  dropped: none\n";
  for (const auto& [k, v] : dropped) o << "  dropped  " << k << ": " << thousands(v) << "\n";
  for (const auto& [k, v] : missing_columns) o << "    missing_field " << k << ": " << thousands(v) << "\n";
  for (const auto& [k, v] : repaired) o << "  repaired " << k << ": " << thousands(v) << "\n";
  for (const auto& [k, v] : flagged) o << "  flagged  " << k << ": " << thousands(v) << " (kept)\n";
  for (const auto& w : warnings) o << "  warning: " << w << "\n";
  return o.str();
}

std::string QualityReport::to_json() const {
  std::ostringstream o;
  auto map_json = [&](const std::map<std::string, uint64_t>& m) {
    o << "{";
    bool first = true;
    for (const auto& [k, v] : m) {
      o << (first ? "" : ", ") << json_str(k) << ": " << v;
      first = false;
    }
    o << "}";
  };
  o << "{\"source\": " << json_str(source) << ", \"rows_read\": " << rows_read << ", \"rows_kept\": " << rows_kept
    << ", \"rows_dropped\": " << total_dropped() << ", \"rows_repaired\": " << total_repaired() << ", \"files\": [";
  for (size_t i = 0; i < files.size(); ++i)
    o << (i ? ", " : "") << "{\"file\": " << json_str(files[i].file) << ", \"rows_read\": " << files[i].rows_read
      << ", \"rows_kept\": " << files[i].rows_kept << ", \"rows_dropped\": " << files[i].rows_dropped << "}";
  o << "], \"dropped\": ";
  map_json(dropped);
  o << ", \"repaired\": ";
  map_json(repaired);
  o << ", \"flagged\": ";
  map_json(flagged);
  o << ", \"missing_columns\": ";
  map_json(missing_columns);
  o << ", \"warnings\": [";
  for (size_t i = 0; i < warnings.size(); ++i) o << (i ? ", " : "") << json_str(warnings[i]);
  o << "]}";
  return o.str();
}

void sessionize(Dataset& ds, int64_t gap_ms) {
  ds.sessions.clear();
  const auto& ev = ds.events;
  const bool src = ds.source_session.size() == ev.size() && !ev.empty();
  for (uint32_t i = 0; i < ev.size(); ++i) {
    // A given session id is never split by the gap: with source sessions only the id (and the
    // user) cuts.
    const bool cut = i == 0 || ev[i].user != ev[i - 1].user ||
                     (src ? ds.source_session[i] != ds.source_session[i - 1] : ev[i].ts_ms - ev[i - 1].ts_ms > gap_ms);
    if (cut) {
      if (!ds.sessions.empty()) ds.sessions.back().end = i;
      Session s;
      s.user = ev[i].user;
      s.begin = i;
      s.start_ms = ev[i].ts_ms;
      ds.sessions.push_back(s);
    }
    ds.sessions.back().end_ms = ev[i].ts_ms;
    ds.events[i].session = static_cast<uint32_t>(ds.sessions.size() - 1);
  }
  if (!ds.sessions.empty()) ds.sessions.back().end = static_cast<uint32_t>(ev.size());
  if (ds.has_predefined_split && ds.predefined_part.size() == ev.size()) {
    ds.predefined_split = Split{};
    for (uint32_t s = 0; s < ds.sessions.size(); ++s) {
      const uint8_t part = ds.predefined_part[ds.sessions[s].begin];
      (part == 0 ? ds.predefined_split.train : part == 1 ? ds.predefined_split.valid : ds.predefined_split.test).push_back(s);
    }
  }
}

namespace {
void sort_by_start(const Dataset& ds, std::vector<uint32_t>& v) {
  std::stable_sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
    if (ds.sessions[a].start_ms != ds.sessions[b].start_ms) return ds.sessions[a].start_ms < ds.sessions[b].start_ms;
    return a < b;
  });
}

// Splits `in` (session indices) by start time: start >= t1 - frac*(t1 - t0) goes to `late`
// where [t0, t1] is the time span of the sessions' events.
void carve(const Dataset& ds, const std::vector<uint32_t>& in, double frac, std::vector<uint32_t>& early,
           std::vector<uint32_t>& late) {
  if (in.empty()) return;
  int64_t t0 = std::numeric_limits<int64_t>::max(), t1 = std::numeric_limits<int64_t>::min();
  for (uint32_t s : in) {
    t0 = std::min(t0, ds.sessions[s].start_ms);
    t1 = std::max(t1, ds.sessions[s].end_ms);
  }
  const double cut = static_cast<double>(t1) - frac * static_cast<double>(t1 - t0);
  for (uint32_t s : in) {
    if (frac > 0 && static_cast<double>(ds.sessions[s].start_ms) >= cut)
      late.push_back(s);
    else
      early.push_back(s);
  }
}
}  // namespace

Split time_split(const Dataset& ds, double valid_frac, double test_frac, bool use_predefined) {
  if (!(valid_frac >= 0) || !(test_frac >= 0) || valid_frac + test_frac >= 1.0)
    throw IngestError("time_split: need valid_frac >= 0, test_frac >= 0 and valid_frac + test_frac < 1");
  Split out;
  if (use_predefined && ds.has_predefined_split) {
    out.test = ds.predefined_split.test;
    std::vector<uint32_t> train = ds.predefined_split.train;
    if (!ds.predefined_split.valid.empty()) {
      out.train = train;
      out.valid = ds.predefined_split.valid;
    } else {
      carve(ds, train, valid_frac, out.train, out.valid);
    }
  } else {
    std::vector<uint32_t> all(ds.sessions.size());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    std::vector<uint32_t> rest;
    carve(ds, all, test_frac, rest, out.test);
    // valid_frac is a fraction of the whole span: rescale to the remaining span
    const double rest_frac = 1.0 - test_frac;
    carve(ds, rest, rest_frac > 0 ? valid_frac / rest_frac : 0.0, out.train, out.valid);
  }
  sort_by_start(ds, out.train);
  sort_by_start(ds, out.valid);
  sort_by_start(ds, out.test);
  return out;
}

Split time_split_days(const Dataset& ds, double valid_days, double test_days) {
  if (!(test_days > 0) || !(valid_days >= 0) || !std::isfinite(test_days + valid_days))
    throw IngestError("time_split_days: need test_days > 0 and valid_days >= 0");
  Split out;
  if (ds.sessions.empty()) return out;
  int64_t t1 = ds.sessions[0].end_ms;
  for (const auto& s : ds.sessions) t1 = std::max(t1, s.end_ms);
  const double day = 86400000.0;
  const double test_cut = double(t1) - test_days * day, valid_cut = test_cut - valid_days * day;
  for (uint32_t i = 0; i < ds.sessions.size(); ++i) {
    const double e = double(ds.sessions[i].end_ms);
    (e >= test_cut ? out.test : e >= valid_cut ? out.valid : out.train).push_back(i);
  }
  sort_by_start(ds, out.train);
  sort_by_start(ds, out.valid);
  sort_by_start(ds, out.test);
  return out;
}

std::string summary_text(const Dataset& ds) {
  std::ostringstream o;
  o << (ds.name.empty() ? "dataset" : ds.name) << ": " << thousands(ds.user_ids.size()) << " users, " << thousands(ds.items.size())
    << " items, " << thousands(ds.events.size()) << " events in " << thousands(ds.sessions.size()) << " sessions, "
    << thousands(ds.decisions.size()) << " decisions, " << thousands(ds.outcomes.size()) << " outcomes\n";
  if (!ds.events.empty()) {
    int64_t t0 = ds.events[0].ts_ms, t1 = t0;
    uint64_t by_type[kNumEventTypes] = {};
    double revenue = 0;
    for (const auto& e : ds.events) {
      t0 = std::min(t0, e.ts_ms);
      t1 = std::max(t1, e.ts_ms);
      ++by_type[static_cast<int>(e.type)];
      if (e.type == EventType::Purchase) revenue += static_cast<double>(e.price) * e.quantity;
    }
    o << "  time range " << detail::format_iso(t0) << " .. " << detail::format_iso(t1) << "\n  events by type:";
    for (int t = 0; t < kNumEventTypes; ++t)
      if (by_type[t]) o << " " << to_string(static_cast<EventType>(t)) << " " << thousands(by_type[t]);
    o << "\n";
    if (by_type[static_cast<int>(EventType::Purchase)]) {
      char b[64];
      std::snprintf(b, sizeof b, "%.2f", revenue);
      o << "  purchase revenue " << b << "\n";
    }
  }
  if (!ds.sessions.empty()) {
    const double mean = static_cast<double>(ds.events.size()) / static_cast<double>(ds.sessions.size());
    char b[64];
    std::snprintf(b, sizeof b, "%.2f", mean);
    o << "  mean session length " << b << " events\n";
  }
  if (!ds.decisions.empty()) {
    std::map<std::string, uint64_t> by_policy;
    std::map<uint32_t, uint64_t> by_arm;
    for (const auto& d : ds.decisions) {
      ++by_policy[d.policy_version];
      ++by_arm[d.arm];
    }
    uint64_t conv = 0;
    double rev = 0;
    for (const auto& x : ds.outcomes) {
      conv += x.converted;
      rev += x.revenue;
    }
    o << "  decisions by policy:";
    for (const auto& [k, v] : by_policy) o << " " << (k.empty() ? "(none)" : k) << " " << thousands(v);
    o << "; " << by_arm.size() << " arms; outcomes converted " << thousands(conv);
    char b[64];
    std::snprintf(b, sizeof b, "%.2f", rev);
    o << ", revenue " << b << "\n";
  }
  if (ds.has_predefined_split)
    o << "  predefined split: train " << thousands(ds.predefined_split.train.size()) << " / valid "
      << thousands(ds.predefined_split.valid.size()) << " / test " << thousands(ds.predefined_split.test.size()) << " sessions\n";
  if (!ds.user_feature_names.empty())
    o << "  user features: " << ds.user_feature_names.size() << " per user\n";
  return o.str();
}

std::string data_root() {
  if (const char* env = std::getenv("DISCO_DATA"); env && *env) return env;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::current_path(ec);
  if (!ec) {
    for (int depth = 0; depth < 32 && !p.empty(); ++depth) {
      if (fs::exists(p / "trainer" / "data" / "include" / "disco" / "data" / "ingest.h", ec))
        return (p.parent_path() / "shared" / "data").string();
      if (p == p.parent_path()) break;
      p = p.parent_path();
    }
  }
#ifdef DISCO_DATA_BUILD_DEFAULT
  return DISCO_DATA_BUILD_DEFAULT;
#else
  return "../shared/data";
#endif
}

bool parse_separator(const std::string& s, char& out) {
  if (s == "\\t" || s == "tab" || s == "\t") return out = '\t', true;
  if (s.size() == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r') return out = s[0], true;
  return false;
}

void filter_sessions(Dataset& ds, uint32_t min_item_support, uint32_t min_session_length) {
  if (min_item_support == 0 && min_session_length == 0) return;
  const size_t n = ds.events.size();
  std::vector<uint8_t> keep(n, 1);
  uint64_t short_rows = 0, rare_rows = 0;
  auto drop_short = [&] {
    if (min_session_length == 0) return;
    for (const auto& s : ds.sessions) {
      uint32_t len = 0;
      for (uint32_t i = s.begin; i < s.end; ++i) len += keep[i];
      if (len >= min_session_length) continue;
      for (uint32_t i = s.begin; i < s.end; ++i)
        if (keep[i]) keep[i] = 0, ++short_rows;
    }
  };
  drop_short();
  if (min_item_support > 0) {
    std::vector<uint32_t> support(ds.items.size(), 0);
    for (size_t i = 0; i < n; ++i)
      if (keep[i]) ++support[ds.events[i].item];
    for (size_t i = 0; i < n; ++i)
      if (keep[i] && support[ds.events[i].item] < min_item_support) keep[i] = 0, ++rare_rows;
  }
  drop_short();
  if (short_rows + rare_rows == 0) return;
  // compact the events and their parallel arrays; each kept event remembers its session, so the
  // re-sessionizing below cuts only where a session ended before (never inside one)
  std::vector<Event> ev;
  std::vector<uint32_t> src;
  std::vector<uint8_t> part;
  const bool has_part = ds.predefined_part.size() == n;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    ev.push_back(ds.events[i]);
    src.push_back(ds.events[i].session);
    if (has_part) part.push_back(ds.predefined_part[i]);
  }
  ds.events = std::move(ev);
  ds.source_session = std::move(src);
  if (has_part) ds.predefined_part = std::move(part);
  if (short_rows) ds.quality.dropped["short_session"] += short_rows;
  if (rare_rows) ds.quality.dropped["rare_item"] += rare_rows;
  ds.quality.rows_kept -= std::min(ds.quality.rows_kept, short_rows + rare_rows);
  // per file: the events file (canonical events.csv), when the dataset has exactly one
  QualityReport::FileStats* ef = nullptr;
  int n_event_files = 0;
  for (auto& f : ds.quality.files)
    if (std::filesystem::path(f.file).filename().string().find("events") != std::string::npos) ef = &f, ++n_event_files;
  if (n_event_files == 1 && ef->rows_kept >= short_rows + rare_rows) {
    ef->rows_kept -= short_rows + rare_rows;
    ef->rows_dropped += short_rows + rare_rows;
  }
  sessionize(ds, INT64_MAX);
}

Dataset read_dataset(const std::string& kind, const std::string& dir, const IngestOptions& opt) {
  Dataset ds = read_dataset_unfiltered(kind, dir, opt);
  filter_sessions(ds, opt.min_item_support, opt.min_session_length);
  return ds;
}

Dataset read_dataset_unfiltered(const std::string& kind, const std::string& dir, const IngestOptions& opt) {
  if (kind == "canonical" || kind == "sim") return read_canonical(dir, opt);
  if (kind == "yoochoose" || kind == "yoochoose-100k") return read_yoochoose(dir, opt);
  if (kind == "completejourney" || kind == "completejourney-v2") return read_completejourney(dir, opt);
  if (kind == "cdnow") return read_cdnow(dir, opt);
  if (kind == "hillstrom") return read_hillstrom(dir, opt);
  if (kind == "open-bandit" || kind == "open-bandit-men" || kind == "obd") return read_open_bandit(dir, opt);
  if (kind == "starbucks" || kind == "starbucks-offers") return read_starbucks(dir, opt);
  throw IngestError("unknown dataset kind '" + kind +
                    "' (expected canonical, yoochoose, completejourney, cdnow, hillstrom, open-bandit or starbucks)");
}

}  // namespace disco::data
