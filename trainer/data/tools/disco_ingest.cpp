// disco-ingest: read a dataset (canonical CSV or one of the real-data adapters), print its summary
// and data-quality report; or read every dataset under a data root and print one table of counts.
// Exit codes: 0 ok, 1 usage error, 2 ingest error (the message names file, line and reason).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "disco/data/text.h"
#include "disco/formats/cli.h"

namespace dd = disco::data;

namespace {

const char* kUsage =
    "usage: disco-ingest KIND DIR [--json FILE] [--gap-min N] [--max-rows N] [--keep-duplicates] [--quiet]\n"
    "                    [--sep C] [--min-item-support N] [--min-session-length N]\n"
    "       disco-ingest all [DATA_ROOT] [--json FILE]\n"
    "\n"
    "KIND: canonical | yoochoose | completejourney | cdnow | hillstrom | open-bandit | starbucks\n"
    "  Reads DIR, cleans it (every dropped or repaired row is counted by reason), sessionizes it and\n"
    "  prints a summary and the data-quality report; --json FILE also writes the report as JSON.\n"
    "  --gap-min N        session inactivity gap in minutes (default 30; yoochoose keeps its own\n"
    "                     SessionIds unless --gap-min is given)\n"
    "  --max-rows N       read at most N data rows per file\n"
    "  --keep-duplicates  keep identical rows instead of dropping them as duplicate_row\n"
    "  --quiet            print only the first summary line\n"
    "  --sep C            canonical CSV field separator: , ; | or tab (\\t) (default ,)\n"
    "  --min-item-support N    session-rec filter: drop events of items seen in fewer than N events\n"
    "  --min-session-length N  session-rec filter: drop sessions shorter than N events (before and\n"
    "                     after the item filter)\n"
    "all: reads every dataset under DATA_ROOT (default: $DISCO_DATA, else ../shared/data of the repo)\n"
    "  and prints one table of counts with the time each took.\n"
    "Exit status: 0 ok, 1 usage error, 2 bad input (the message names the file, line and reason),\n"
    "  3 nothing kept (0 events after cleaning from a file that had event rows, or nothing at all).\n";

int usage_error(const std::string& msg) {
  std::cerr << "disco-ingest: " << msg << "\n(disco-ingest --help lists the options)\n";
  return 1;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "disco-ingest: " << path << ": cannot write\n";
    return false;
  }
  return true;
}

struct Row {
  std::string name;
  std::string status;  // "" ok, else the error
  dd::QualityReport q;
  uint64_t users = 0, items = 0, events = 0, decisions = 0, outcomes = 0, sessions = 0;
  double ms = 0, cpu_ms = 0;
};

std::string pad(const std::string& s, size_t w, bool right = true) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

int run_all(const std::string& root, const std::string& json_path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(root)) {
    std::cerr << root << ": data root is not a directory (set $DISCO_DATA or pass DATA_ROOT)\n";
    return 2;
  }
  const std::pair<const char*, const char*> sets[] = {{"yoochoose", "yoochoose-100k"},
                                                      {"completejourney", "completejourney-v2"},
                                                      {"cdnow", "cdnow"},
                                                      {"hillstrom", "hillstrom"},
                                                      {"open-bandit", "open-bandit-men"},
                                                      {"starbucks", "starbucks-offers"}};
  std::vector<Row> rows;
  bool failed = false;
  const auto t_all = std::chrono::steady_clock::now();
  const std::clock_t c_all = std::clock();
  for (const auto& [kind, folder] : sets) {
    Row row;
    row.name = folder;
    const std::string dir = (fs::path(root) / folder).string();
    if (!fs::is_directory(dir)) {
      row.status = "absent";
      rows.push_back(row);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    try {
      dd::Dataset ds = dd::read_dataset(kind, dir);
      row.q = ds.quality;
      row.users = ds.user_ids.size();
      row.items = ds.items.size();
      row.events = ds.events.size();
      row.decisions = ds.decisions.size();
      row.outcomes = ds.outcomes.size();
      row.sessions = ds.sessions.size();
    } catch (const std::exception& e) {
      row.status = e.what();
      failed = true;
    }
    row.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    row.cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    rows.push_back(std::move(row));
  }
  const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_all).count();
  const double total_cpu_ms = 1000.0 * static_cast<double>(std::clock() - c_all) / CLOCKS_PER_SEC;

  const char* head[] = {"dataset", "rows read", "kept", "dropped", "repaired", "users", "items", "events", "sessions",
                        "decisions", "outcomes", "ms", "cpu ms"};
  const size_t w[] = {20, 10, 10, 8, 9, 8, 7, 8, 9, 10, 9, 7, 7};
  std::string line;
  for (int i = 0; i < 13; ++i) {
    if (i) line += ' ';
    line += pad(head[i], w[i], i != 0);
  }
  std::cout << "ingest of " << root << "\n" << line << "\n" << std::string(line.size(), '-') << "\n";
  for (const auto& r : rows) {
    if (!r.status.empty()) {
      std::cout << pad(r.name, w[0], false) << " " << r.status << "\n";
      continue;
    }
    char ms[32], cpu[32];
    std::snprintf(ms, sizeof ms, "%.0f", r.ms);
    std::snprintf(cpu, sizeof cpu, "%.0f", r.cpu_ms);
    const std::string cells[] = {r.name,
                                 dd::thousands(r.q.rows_read),
                                 dd::thousands(r.q.rows_kept),
                                 dd::thousands(r.q.total_dropped()),
                                 dd::thousands(r.q.total_repaired()),
                                 dd::thousands(r.users),
                                 dd::thousands(r.items),
                                 dd::thousands(r.events),
                                 dd::thousands(r.sessions),
                                 dd::thousands(r.decisions),
                                 dd::thousands(r.outcomes),
                                 ms,
                                 cpu};
    std::string l;
    for (int i = 0; i < 13; ++i) {
      if (i) l += ' ';
      l += pad(cells[i], w[i], i != 0);
    }
    std::cout << l << "\n";
  }
  // reasons: one line per (kind, reason) with a column per dataset
  std::set<std::pair<std::string, std::string>> reasons;
  for (const auto& r : rows) {
    for (const auto& [k, v] : r.q.dropped) reasons.insert({"dropped", k});
    for (const auto& [k, v] : r.q.repaired) reasons.insert({"repaired", k});
    for (const auto& [k, v] : r.q.flagged) reasons.insert({"flagged", k});
  }
  if (!reasons.empty()) {
    std::cout << "\n" << pad("reason", 36, false);
    for (const auto& r : rows) std::cout << " " << pad(r.name, 19);
    std::cout << "\n";
    for (const auto& [kind, reason] : reasons) {
      std::cout << pad(kind + " " + reason, 36, false);
      for (const auto& r : rows) {
        const auto& m = kind == "dropped" ? r.q.dropped : kind == "repaired" ? r.q.repaired : r.q.flagged;
        auto it = m.find(reason);
        std::cout << " " << pad(it == m.end() ? "-" : dd::thousands(it->second), 19);
      }
      std::cout << "\n";
    }
  }
  char tot[64];
  std::snprintf(tot, sizeof tot, "%.0f ms (cpu %.0f ms)", total_ms, total_cpu_ms);
  std::cout << "\ntotal " << tot << "\n";
  if (!json_path.empty()) {
    std::string j = "{\"root\": " + dd::json_str(root) + ", \"datasets\": [";
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      j += i ? ", " : "";
      j += "{\"name\": \"" + r.name + "\", ";
      if (!r.status.empty()) {
        j += "\"error\": " + dd::json_str(r.status) + "}";
        continue;
      }
      j += "\"users\": " + std::to_string(r.users) + ", \"items\": " + std::to_string(r.items) +
           ", \"events\": " + std::to_string(r.events) + ", \"sessions\": " + std::to_string(r.sessions) +
           ", \"decisions\": " + std::to_string(r.decisions) + ", \"outcomes\": " + std::to_string(r.outcomes) +
           ", \"ms\": " + std::to_string(r.ms) + ", \"cpu_ms\": " + std::to_string(r.cpu_ms) + ", \"quality\": " + r.q.to_json() + "}";
    }
    j += "]}\n";
    if (!write_file(json_path, j)) return 2;
  }
  if (failed) {
    for (const auto& r : rows)
      if (!r.status.empty() && r.status != "absent") std::cerr << r.status << "\n";
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  std::string json_path;
  bool quiet = false, keep_duplicates = false;
  double gap_min = 0;
  uint64_t max_rows = 0;
  dd::IngestOptions opt;
  CLI::App app{kUsage, "disco-ingest"};
  app.add_option("KIND_DIR", pos, "KIND DIR, or all [DATA_ROOT]")->expected(1, 2);
  app.add_option("--json", json_path, "also write the data-quality report (all: the table) as JSON");
  app.add_option("--gap-min", gap_min, "session inactivity gap in minutes (> 0)")
      ->check(disco::cli::Real(0, 1e9, true));
  app.add_option("--max-rows", max_rows, "read at most N data rows per file (>= 1)")
      ->check(disco::cli::Int(1, int64_t{1} << 62));
  app.add_flag("--keep-duplicates", keep_duplicates, "keep identical rows instead of dropping them");
  app.add_flag("-q,--quiet", quiet, "print only the first summary line");
  std::string sep = ",";
  uint32_t min_support = 0, min_len = 0;
  app.add_option("--sep", sep, "canonical CSV field separator: , ; | or \\t");
  app.add_option("--min-item-support", min_support, "drop events of items seen in fewer than N events")
      ->check(disco::cli::Int(0, 1 << 30));
  app.add_option("--min-session-length", min_len, "drop sessions shorter than N events")
      ->check(disco::cli::Int(0, 1 << 30));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  const bool gap_given = app.count("--gap-min") > 0;
  if (gap_given) opt.session_gap_ms = static_cast<int64_t>(gap_min * 60000.0);
  if (app.count("--max-rows")) opt.max_rows = max_rows;
  if (keep_duplicates) opt.drop_duplicates = false;
  if (!dd::parse_separator(sep, opt.sep)) return usage_error("--sep: expected one character (, ; | or \\t), got '" + sep + "'");
  opt.min_item_support = min_support;
  opt.min_session_length = min_len;
  if (pos.empty()) return usage_error("missing KIND");
  try {
    if (pos[0] == "all") {
      if (pos.size() > 2) return usage_error("all takes at most one DATA_ROOT");
      return run_all(pos.size() == 2 ? pos[1] : dd::data_root(), json_path);
    }
    if (pos.size() != 2) return usage_error("expected KIND DIR");
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    dd::Dataset ds = dd::read_dataset(pos[0], pos[1], opt);
    if (gap_given && (pos[0] == "yoochoose" || pos[0] == "yoochoose-100k")) dd::sessionize(ds, opt.session_gap_ms);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const std::string summary = dd::summary_text(ds);
    if (quiet) {
      std::cout << summary.substr(0, summary.find('\n')) << "\n";
    } else {
      char b[64];
      std::snprintf(b, sizeof b, "%.1f ms (cpu %.1f ms)", ms, cpu_ms);
      std::cout << summary << ds.quality.to_text() << "read in " << b << "\n";
    }
    if (!json_path.empty() && !write_file(json_path, ds.quality.to_json() + "\n")) return 2;
    for (const auto& w : ds.quality.warnings) std::cerr << "disco-ingest: warning: " << w << "\n";
    // an events file whose every row was dropped (or nothing kept at all) is an error, not a summary
    uint64_t event_rows = 0;
    for (const auto& f : ds.quality.files)
      if (std::filesystem::path(f.file).filename().string().find("events") != std::string::npos) event_rows += f.rows_read;
    if (ds.events.empty() && (event_rows > 0 || ds.decisions.empty())) {
      std::cerr << "disco-ingest: " << pos[1] << ": nothing kept: 0 events after cleaning (" << ds.quality.rows_read
                << " rows read, " << ds.quality.total_dropped() << " dropped)\n";
      return 3;
    }
    return 0;
  } catch (const dd::IngestError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "disco-ingest: " << e.what() << "\n";
    return 2;
  }
}
