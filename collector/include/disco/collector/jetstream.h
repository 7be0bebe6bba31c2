// The scale path: collectors publish each accepted batch (as a FlatBuffers EventBatch) to one
// replicated JetStream stream, with the batch hash as the message id (JetStream drops a second
// message with the same id inside the stream's duplicate window). A durable pull consumer (the
// "joiner", one per deployment) applies the stream to a SqliteStore: the joined log, idempotent
// by decision_id, so redelivery after a crash changes nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "disco/collector/config.h"

namespace disco::collector {

class SqliteStore;
class Metrics;

struct PublishResult {
  bool ok = false;
  bool duplicate = false;  // JetStream had this message id already
  uint64_t stream_seq = 0;
  std::string error;
};

class JetStreamLog {
 public:
  // Connects to cfg.nats_urls and creates (or checks) the stream cfg.nats_stream with subjects
  // "<stream>.events.>" and cfg.nats_replicas replicas. Throws std::runtime_error on failure.
  JetStreamLog(const Config& cfg, Metrics* metrics);
  ~JetStreamLog();
  PublishResult publish(const std::string& site, const std::string& msg_id, const std::string& payload,
                        int64_t timeout_ms);
  // Starts the joiner: fetches from the durable consumer "joiner" and applies each message to
  // `store`, acking only after the store commit.
  void start_joiner(SqliteStore* store);
  void stop();
  bool connected() const;
  uint64_t joined_messages() const { return joined_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> joined_{0};
};

bool jetstream_available();  // built with libnats

}  // namespace disco::collector
