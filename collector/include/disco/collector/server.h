// The HTTP service: routes, auth, body limits, and the glue to storage.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "disco/collector/config.h"
#include "disco/fleet_stats.h"

namespace disco::collector {

class Collector {
 public:
  explicit Collector(Config cfg);  // opens storage; throws on errors (message names the cause)
  ~Collector();
  // Binds (port 0: any free port) and returns the bound port.
  int bind();
  // Serves until stop(); call bind() first.
  void serve();
  void stop();
  // Key rotation without a restart (collector/README.md): parses `serve_args` again (the config
  // file(s) and flags serve was started with: parse_config_args, check_config) and installs their
  // sites, site keys and write keys as the keys in force; every other setting is ignored. Throws
  // ConfigError, keeping the keys in force, when the files or flags do not parse or check.
  // Returns a one-line summary. Counted in disco_collector_key_reloads_total{result}.
  std::string reload_keys(const std::vector<std::string>& serve_args);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON form of the fleet statistics message (schemas/README.md; GET /v1/bandit-state without
// Accept: application/x-disco-bandit-stats). reward_window_ms > 0 is added as an informative field;
// stream_seq >= 0 (storage = jetstream) is the stream sequence the statistics are the state after.
std::string fleet_stats_json(const disco::FleetStats& m, int64_t reward_window_ms = 0, int64_t stream_seq = -1);

// The `export` subcommand: writes the joined log as CSV (see trainer/data/README.md).
// Returns the number of rows written; throws std::runtime_error on errors.
size_t export_joined_csv(const std::string& data_dir, const std::string& out_path, bool include_pending);

// `export --canonical DIR`: the store as the canonical log (trainer/data/README.md, "Canonical
// CSV") that disco-ingest, disco-train and disco-eval read: items.csv (the served bundle's
// catalog, plus items the log priced), events.csv, decisions.csv (with site, mode, shown, holdout,
// price, cost, context), activations.csv, outcomes.csv. Files are written under temporary names
// and renamed into place. Throws std::runtime_error naming the file on errors.
struct CanonicalExportOptions {
  std::string data_dir;     // the collector's data_dir (collector.sqlite)
  std::string out_dir;
  std::string site;         // only this site (empty: all)
  std::string bundle_path;  // catalog source; empty: <data_dir>/bundle.disco when present; "-": none
  bool include_pending = false;  // also decisions whose reward window is still open
};
struct CanonicalExportSummary {
  std::string dir;
  bool catalog_from_bundle = false;
  uint64_t items = 0, events = 0, decisions = 0, activations = 0, outcomes = 0;
  // rows of the store not written, each counted (printed by text())
  uint64_t pending_decisions = 0, orphan_outcomes = 0, orphan_activations = 0, events_without_price = 0;
  uint64_t user_id_conflicts = 0;
  uint64_t reported_outcomes = 0;  // write-key outcomes (collector/PROTOCOL.md): never exported, counted
  std::string text() const;
};
CanonicalExportSummary export_canonical(const CanonicalExportOptions& opt);

}  // namespace disco::collector
