// The scale path: collectors publish each accepted batch (as a FlatBuffers EventBatch) to one
// replicated JetStream stream, with the batch id (auth.h batch_id: the same for every resend of a
// batch) as the message id: JetStream drops a second message with the same id inside
// the stream's duplicate window, whichever collector sent it. Every collector reads the whole
// stream, in order, into its own stream-fed SqliteStore (StoreOptions::stream_fed): its joined
// log and bandit statistics are a function of the stream prefix it has read, so any collector
// serves the same state at the same stream sequence. Collectors also publish the stream's clock
// ticks (see start_ticker).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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

// The 4 bytes before a write-key batch's FlatBuffers payload in the stream (see publish): read as a
// FlatBuffers root offset they point far beyond any batch, so an older reader's parse fails.
inline constexpr std::string_view kReportedPrefix = "DWK1";

class JetStreamLog {
 public:
  // Connects to cfg.nats_urls and creates (or checks) the stream cfg.nats_stream with subjects
  // "<stream>.events.>" and cfg.nats_replicas replicas. Throws std::runtime_error on failure.
  JetStreamLog(const Config& cfg, Metrics* metrics);
  ~JetStreamLog();
  // `payload`: a FlatBuffers EventBatch. reported = true: a write-key (browser) batch whose
  // outcomes are reported outcomes (collector/PROTOCOL.md): published with header Disco-Reported: 1
  // and the payload behind kReportedPrefix, so a reader that does not know the header refuses the
  // message (a bad message) instead of joining a page's outcomes as rewards.
  PublishResult publish(const std::string& site, const std::string& msg_id, const std::string& payload,
                        int64_t timeout_ms, bool reported = false);
  // Starts the reader: an ordered consumer from `store`'s stream position + 1, applying the
  // messages in stream order (SqliteStore::apply_stream; `store` must be stream_fed).
  void start_joiner(SqliteStore* store);
  // Starts publishing one tick per sweep_interval_ms (message id "tick-<interval>-<wall ms / interval>", so
  // the fleet adds one per interval): the stream time at which readers close reward windows.
  void start_ticker();
  void stop();
  bool connected() const;
  uint64_t joined_messages() const { return joined_.load(); }  // batches applied by the reader
  uint64_t applied_seq() const { return applied_seq_.load(); }   // the reader's stream position

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> joined_{0};
  std::atomic<uint64_t> applied_seq_{0};
};

bool jetstream_available();  // built with libnats

}  // namespace disco::collector
