// The HTTP service: routes, auth, body limits, and the glue to storage.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "disco/collector/config.h"

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

// The `export` subcommand: writes the joined log as CSV (see trainer/data/README.md).
// Returns the number of rows written; throws std::runtime_error on errors.
size_t export_joined_csv(const std::string& data_dir, const std::string& out_path, bool include_pending);

}  // namespace disco::collector
