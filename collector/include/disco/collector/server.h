// The HTTP service: routes, auth, body limits, and the glue to storage.
#pragma once

#include <atomic>
#include <memory>
#include <string>

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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON form of the fleet statistics message (schemas/README.md; GET /v1/bandit-state without
// Accept: application/x-disco-bandit-stats). reward_window_ms > 0 is added as an informative field.
std::string fleet_stats_json(const disco::FleetStats& m, int64_t reward_window_ms = 0);

// The `export` subcommand: writes the joined log as CSV (see trainer/data/README.md).
// Returns the number of rows written; throws std::runtime_error on errors.
size_t export_joined_csv(const std::string& data_dir, const std::string& out_path, bool include_pending);

}  // namespace disco::collector
