// Signed requests to a collector in the collector tests: the headers of the HMAC batch signature
// (collector/include/disco/collector/auth.h: x-disco-signature = HMAC-SHA256(secret, "ts.message")).
#pragma once

#include <httplib.h>

#include <atomic>
#include <string>
#include <vector>

#include "collector_test_util.h"
#include "disco/collector/auth.h"

namespace disco::collector::test_util {

// x-disco-key, x-disco-timestamp (ms, now when 0) and x-disco-signature over "ts." + message
// (a batch's body, or "METHOD PATH" for a signed DELETE).
inline httplib::Headers signed_headers_for(const std::string& key, const std::string& secret,
                                           const std::string& message, int64_t ts = 0) {
  const std::string t = std::to_string(ts == 0 ? now_ms() : ts);
  return {{"x-disco-key", key}, {"x-disco-timestamp", t}, {"x-disco-signature", hmac_sha256_hex(secret, t + "." + message)}};
}

// `BIN serve --port 0 --data DIR ARGS...` as a child process, its output in DIR.N.log (N counts the
// starts in this test binary, so a restart never reads the previous run's lines).
struct ServedCollector {
  Child proc;
  int port = 0;
  std::string data;
  // false when it exited or never printed its "listening on" line (see proc.output()).
  bool start(const std::string& bin, const std::string& dir, const std::vector<std::string>& args) {
    static std::atomic<int> starts{0};
    data = dir;
    std::vector<std::string> argv = {bin, "serve", "--port", "0", "--data", dir};
    argv.insert(argv.end(), args.begin(), args.end());
    proc.start(argv, dir + "." + std::to_string(starts++) + ".log");
    port = wait_listening(proc);
    return port > 0;
  }
  httplib::Client client(int read_timeout_s = 30) const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(read_timeout_s, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  std::string db() const { return data + "/collector.sqlite"; }
};

}  // namespace disco::collector::test_util
