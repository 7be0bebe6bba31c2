// The joined log in SQLite (WAL, one file) with a single writer thread doing group commit:
// many requests' rows go into one transaction, and each request's future resolves only after
// that transaction has committed and the WAL has been fsync'ed (synchronous_full). The fsync is
// the store's own (fdatasync of the -wal file after COMMIT; the connection runs
// synchronous=NORMAL, which syncs at checkpoints only) and, with group commit, runs on a syncer
// thread: the writer goes on with the next transaction while the last ones reach the disk, and a
// request is answered once an fsync that began after its COMMIT has returned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "disco/bandit.h"
#include "disco/collector/batch.h"
#include "disco/context.h"
#include "disco/fleet_stats.h"

struct sqlite3;
struct sqlite3_stmt;

namespace disco::collector {

class Metrics;

struct KindCounts {
  uint32_t accepted = 0, duplicate = 0;
};

struct ApplyResult {
  KindCounts events, decisions, outcomes, activations;
  uint32_t orphans = 0;  // outcomes whose decision is not (yet) known
  uint32_t joined = 0;   // outcomes joined within the reward window (here or to an earlier orphan)
  uint32_t late = 0;     // outcomes kept but marked late
  uint32_t reported_outcomes = 0;  // write-key outcomes stored apart (reported_outcomes table)
  bool batch_seen_before = false;
};

struct ApplyOutcome {
  bool ok = false;
  std::string error;
  ApplyResult result;
};

// Decision states in the joined log.
enum class JoinStatus : int { Pending = 0, Joined = 1, Default = 2, Late = 3 };
const char* join_status_name(int s);  // "pending", "joined", "default", "late"

// One (site, context feature set, context length, arm) of the fleet bandit statistics; the
// statistics are the runtime's (disco::ArmStats, accumulated with disco::add_observation).
struct BanditEntry {
  std::string site;
  int context_version = 0;
  int dim = 0;
  int arm = 0;
  disco::ArmStats stats;  // A: dim x dim row-major (sum x x^T), b (sum r x), n, reward_sum
};
using BanditKey = std::tuple<std::string, int, int, int>;  // site, context_version, dim, arm

struct BanditSnapshot {
  // The statistics version (the ETag): bumped by every commit that changed them; in stream mode
  // (StoreOptions::stream_fed) the stream sequence of the last message that changed them.
  int64_t version = 0;
  // Stream mode: the stream sequence these statistics are the state after (0 otherwise).
  uint64_t stream_seq = 0;
  std::map<BanditKey, std::shared_ptr<const BanditEntry>> arms;  // ordered: one site's arms are adjacent
};

// The statistics message (schemas/bandit_stats.fbs) of one site for one context length, from a
// snapshot: arms with data only, ascending.
disco::FleetStats fleet_stats_of(const BanditSnapshot& snap, const std::string& site, int context_version, int dim);
// The context length with the most observations for (site, context_version); 0 when none.
int most_observed_dim(const BanditSnapshot& snap, const std::string& site, int context_version);

struct StoreOptions {
  std::string path;                 // the SQLite file
  int64_t reward_window_ms = 3600 * 1000;
  bool synchronous_full = true;
  size_t group_commit_max_jobs = 512;
  size_t max_pending_jobs = 4096;
  int64_t sweep_interval_ms = 1000;
  size_t sweep_max_rows = 20000;    // per transaction
  // Makes the WAL durable (synchronous_full); 0 on success, else -1 with errno set. Default
  // fdatasync(fd). Tests replace it to hold or fail the fsync.
  std::function<int(int fd)> wal_sync;
  std::function<int64_t()> clock;   // Unix ms; default: system clock
  // The context feature set the edges compute (the runtime this collector links, by default):
  // statistics are kept apart per value, so a new feature set starts from fresh statistics.
  int context_version = static_cast<int>(disco::kContextVersion);
  // Stream mode (storage = jetstream): the store is fed only by apply_stream(), in stream order,
  // and its clock is the stream's (the timestamps of the messages), not the system clock; windows
  // close at the stream's tick messages, never on the writer's timer. Its joined log and bandit
  // statistics are then a function of the stream prefix: every collector that has read the stream
  // up to sequence S holds the same ones. Opening a store that other writes fed is refused.
  bool stream_fed = false;
};

// One message of the JetStream stream (collector/src/jetstream.cpp reads them in stream order).
struct StreamMessage {
  uint64_t seq = 0;     // stream sequence
  int64_t ts_ms = 0;    // the stream's timestamp of the message (Unix ms)
  std::string site;     // header Disco-Site
  std::string batch_id; // header Nats-Msg-Id: the batch id (collector/auth.h batch_id)
  std::shared_ptr<const Batch> batch;  // null: a clock tick (closes the reward windows that passed)
};

// Where a stream-fed store stands: the last stream sequence applied (committed with its rows),
// the stream clock (the largest message timestamp so far) and the sequence of the last message
// that changed the bandit statistics.
struct StreamPosition {
  uint64_t seq = 0;
  int64_t clock_ms = 0;
  uint64_t stats_seq = 0;
};

struct StreamApplyCounts {
  uint64_t batches = 0;     // batches applied
  uint64_t duplicates = 0;  // batches whose id was already in the joined log (a resend the stream kept twice)
  uint64_t ticks = 0;
  uint64_t skipped = 0;     // at or below the stored position (read again after a restart)
};

struct StoreCounters {
  uint64_t decisions = 0, pending = 0, joined = 0, defaulted = 0, late = 0;
  uint64_t orphans_waiting = 0, orphans_expired = 0;
};

class SqliteStore {
 public:
  explicit SqliteStore(StoreOptions opt, Metrics* metrics = nullptr);  // throws std::runtime_error
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Synchronous, one transaction each (tests, the JetStream consumer when no writer runs).
  ApplyOutcome apply(const std::string& site, const std::string& batch_hash, const Batch& b);
  // Closes every window that has passed at clock(): pending decisions get the default reward,
  // orphan outcomes older than the window expire. Returns the number of decisions closed.
  size_t sweep();

  // Group commit: start the writer thread (which also sweeps every sweep_interval_ms).
  void start();
  void stop();
  // Queues a batch; the future resolves once it is durable (or failed). Returns an invalid
  // future when the queue is full (the caller answers 503).
  std::future<ApplyOutcome> submit(std::string site, std::string batch_hash, std::shared_ptr<const Batch> b);
  size_t pending_jobs() const;

  // Erasure (store_erase.cpp; collector/PROTOCOL.md "DELETE /v1/shoppers", "Retention"), each in
  // its own transaction(s) between the writer's. The fleet bandit statistics are not changed:
  // bandit_kept counts the erased decisions that had entered them.
  struct EraseCounts {
    uint64_t events = 0, decisions = 0, outcomes = 0, activations = 0, reported_outcomes = 0, batches = 0;
    uint64_t bandit_kept = 0;
  };
  // One shopper of a site: events and decisions of that user_key, and the outcomes, activations
  // and reported outcomes of those decisions. Throws std::runtime_error on storage errors.
  EraseCounts erase_shopper(const std::string& site, uint64_t user_key);
  // Every row older than cutoff_ms (ts_ms; batches by received_ms), in transactions of at most
  // `chunk` decisions / rows. Throws std::runtime_error on storage errors.
  EraseCounts drop_older_than(int64_t cutoff_ms, size_t chunk = 5000);
  // Stream mode: applies `msgs` (ascending stream sequence) in one transaction, each at the
  // stream clock max(clock, msg.ts_ms): a batch through the same join as apply(), a tick by the
  // sweep; messages at or below the stored position are skipped. The new position is committed
  // with the rows, so a crash between the two never applies a message twice or loses one.
  ApplyOutcome apply_stream(const std::vector<StreamMessage>& msgs, StreamApplyCounts* counts = nullptr);
  StreamPosition stream_position() const;

  std::shared_ptr<const BanditSnapshot> bandit() const;
  StoreCounters counters();  // reads the database (own connection)
  const StoreOptions& options() const { return opt_; }

 private:
  struct Job {
    std::string site, hash;
    std::shared_ptr<const Batch> batch;
    std::promise<ApplyOutcome> done;
    std::chrono::steady_clock::time_point enqueued;
  };
  // Defined in collector/src/: DecisionRow in store_internal.h; open, prepare in sqlite_store.cpp;
  // the join (apply_in_txn, sweep_in_txn, load_decision, is_late, join) in store_join.cpp; the
  // bandit rule and snapshots in store_bandit.cpp; the threads in store_writer.cpp.
  struct DecisionRow;
  void open();
  void prepare();
  void apply_in_txn(const std::string& site, const std::string& hash, const Batch& b, int64_t now, ApplyResult& r);
  size_t sweep_in_txn(int64_t now);
  bool load_decision(const DecisionId& id, DecisionRow& row);
  bool is_late(const DecisionRow& d, int64_t o_ts, bool expired_orphan) const;
  void join(DecisionRow& d, int64_t o_ts, bool converted, double revenue, double margin, bool expired_orphan,
            bool update_outcome_row, ApplyResult* r);
  void finalize_bandit(DecisionRow& d, double reward);
  void flush_bandit();
  void load_bandit();
  void publish_snapshot();
  void open_stream_position();
  void writer_loop();
  void syncer_loop();
  void checkpoint_loop();
  bool sync_wal(std::string& error);  // the WAL's fsync (synchronous_full), on db_mu_ or syncer thread
  struct Done {                       // a committed job waiting for the fsync that makes it durable
    std::unique_ptr<Job> job;
    ApplyOutcome out;
  };
  void resolve(std::vector<Done>& done, const std::string& sync_error);
  int64_t now() const;

  StoreOptions opt_;
  Metrics* metrics_;
  sqlite3* db_ = nullptr;
  sqlite3* ro_ = nullptr;  // a reader connection for counters()
  std::mutex ro_mu_;
  std::unordered_map<std::string_view, sqlite3_stmt*> st_;  // by name (string literals), looked up per row
  std::mutex db_mu_;  // one transaction at a time on db_

  std::map<BanditKey, BanditEntry> bandit_;
  std::vector<BanditKey> dirty_;
  int64_t bandit_version_ = 0;
  int64_t next_version_ = -1;   // stream mode: the version the next flush/publish writes
  StreamPosition pos_;          // stream mode: committed position (db_mu_)
  mutable std::mutex pos_mu_;   // guards pos_ for stream_position()
  int64_t stream_clock_ = 0;    // stream mode: what now() returns inside a transaction
  mutable std::mutex snap_mu_;
  std::shared_ptr<const BanditSnapshot> snapshot_;

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;   // the writer waits here (and only the writer: notify_one)
  std::condition_variable ck_cv_;  // the checkpointer waits here
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::thread checkpointer_;

  std::mutex wal_mu_;               // wal_fd_ (opened, checked and reopened by sync_wal)
  int wal_fd_ = -1;                 // the -wal file, for the store's own fsync
  std::mutex s_mu_;
  std::condition_variable s_cv_;    // the syncer waits here
  std::vector<Done> synq_;          // committed, not yet fsync'ed
  bool s_stopping_ = false;
  std::thread syncer_;
};

}  // namespace disco::collector
