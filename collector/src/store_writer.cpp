// The SQLite store's threads: the group-commit writer (queued requests, up to
// group_commit_max_jobs, in one transaction; the periodic sweep), the syncer (fsyncs the WAL
// after the writer's COMMITs and only then answers their requests) and the PASSIVE checkpointer
// on its own connection, off the commit path.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "disco/collector/metrics.h"
#include "store_internal.h"

namespace disco::collector {

void SqliteStore::start() {
  std::lock_guard<std::mutex> lk(q_mu_);
  if (writer_.joinable()) return;
  stopping_ = false;
  {
    std::lock_guard<std::mutex> dl(db_mu_);
    exec_sql(db_, opt_.path, "PRAGMA wal_autocheckpoint=0");
  }
  {
    std::lock_guard<std::mutex> sl(s_mu_);
    s_stopping_ = false;
  }
  // Named, so a profiler or bench/collector can tell their CPU apart (/proc/PID/task/*/comm).
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "disco-sync");
    syncer_loop();
  });
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "disco-writer");
    writer_loop();
  });
  checkpointer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "disco-ckpt");
    checkpoint_loop();
  });
}

// fdatasync of the -wal file (through opt_.wal_sync). The file is opened here, once, and again
// if SQLite ever replaced it (another inode at the path); its folder is fsync'ed when it is
// opened, so a WAL created since the last open has its directory entry on disk too.
bool SqliteStore::sync_wal(std::string& error) {
  std::lock_guard<std::mutex> lk(wal_mu_);
  const std::string wal = opt_.path + "-wal";
  struct stat at{}, fd_st{};
  if (::stat(wal.c_str(), &at) != 0) {
    error = "fsync of the WAL: " + wal + ": " + std::strerror(errno);
    return false;
  }
  if (wal_fd_ >= 0 && (::fstat(wal_fd_, &fd_st) != 0 || fd_st.st_ino != at.st_ino || fd_st.st_dev != at.st_dev)) {
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
  if (wal_fd_ < 0) {
    wal_fd_ = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) {
      error = "fsync of the WAL: cannot open " + wal + ": " + std::strerror(errno);
      return false;
    }
    std::filesystem::path dir = std::filesystem::path(wal).parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  if (opt_.wal_sync(wal_fd_) != 0) {
    error = "fsync of the WAL " + wal + " failed: " + std::strerror(errno);
    return false;
  }
  if (metrics_) metrics_->add("disco_collector_wal_syncs_total", "");
  return true;
}

void SqliteStore::checkpoint_loop() {
  sqlite3* ck = nullptr;
  if (sqlite3_open_v2(opt_.path.c_str(), &ck, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(ck);
    return;
  }
  sqlite3_busy_timeout(ck, 100);
  sqlite3_exec(ck, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  std::unique_lock<std::mutex> lk(q_mu_);
  while (!stopping_) {
    ck_cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    int log = 0, done = 0;
    // PASSIVE: copies what it can without blocking the writer; the WAL restarts from its
    // beginning once everything in it has been copied. (It fsyncs the WAL before copying, so
    // frames the syncer has not reached yet are durable before they reach the database file.)
    auto c0 = std::chrono::steady_clock::now();
    int rc = sqlite3_wal_checkpoint_v2(ck, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (debug_log()) fprintf(stderr, "checkpoint rc=%d log=%d done=%d %.1f ms\n", rc, log, done, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c0).count());
    if (metrics_) metrics_->set_gauge("disco_collector_sqlite_wal_frames", log);
    lk.lock();
  }
  lk.unlock();
  sqlite3_wal_checkpoint_v2(ck, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  sqlite3_close(ck);
}

void SqliteStore::stop() {
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    stopping_ = true;
  }
  q_cv_.notify_all();
  ck_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // the writer hands its last commits to the syncer
  {
    std::lock_guard<std::mutex> lk(s_mu_);
    s_stopping_ = true;
  }
  s_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();  // ... which fsyncs and answers them before it ends
  if (checkpointer_.joinable()) checkpointer_.join();
}

size_t SqliteStore::pending_jobs() const {
  std::lock_guard<std::mutex> lk(q_mu_);
  return queue_.size();
}

std::future<ApplyOutcome> SqliteStore::submit(std::string site, std::string hash, std::shared_ptr<const Batch> b) {
  auto job = std::make_unique<Job>();
  job->site = std::move(site);
  job->hash = std::move(hash);
  job->batch = std::move(b);
  job->enqueued = std::chrono::steady_clock::now();
  std::future<ApplyOutcome> f = job->done.get_future();
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    if (queue_.size() >= opt_.max_pending_jobs || stopping_) return {};
    queue_.push_back(std::move(job));
  }
  q_cv_.notify_one();
  return f;
}

// Answers committed jobs; a failed fsync fails them all (their batches may or may not be on disk:
// the client resends, and a resend that finds the batch is answered as its duplicate).
void SqliteStore::resolve(std::vector<Done>& done, const std::string& sync_error) {
  const auto t = std::chrono::steady_clock::now();
  for (Done& d : done) {
    if (!sync_error.empty() && d.out.ok) {
      d.out.ok = false;
      d.out.error = sync_error;
    }
    if (metrics_) metrics_->request_storage_seconds.observe(std::chrono::duration<double>(t - d.job->enqueued).count());
    d.job->done.set_value(std::move(d.out));
  }
  done.clear();
}

// One fsync for everything committed since the last one: a job is answered only by an fsync
// that began after its COMMIT had returned.
void SqliteStore::syncer_loop() {
  std::vector<Done> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(s_mu_);
      s_cv_.wait(lk, [&] { return s_stopping_ || !synq_.empty(); });
      if (synq_.empty()) break;  // stopping, nothing left
      batch.swap(synq_);
    }
    std::string error;
    bool any_ok = false;
    for (const Done& d : batch) any_ok = any_ok || d.out.ok;
    if (any_ok) sync_wal(error);
    resolve(batch, error);
  }
}

void SqliteStore::writer_loop() {
  auto next_sweep = std::chrono::steady_clock::now();
  // With group commit the fsync runs on the syncer thread, overlapping the next transaction;
  // one job per transaction (group_commit_max_jobs = 1, the peer) fsyncs before the next one.
  const bool pipelined = opt_.synchronous_full && opt_.group_commit_max_jobs > 1;
  std::vector<Done> done;
  for (;;) {
    std::vector<std::unique_ptr<Job>> jobs;
    bool do_sweep = false;
    {
      std::unique_lock<std::mutex> lk(q_mu_);
      // Stream mode: the windows close at the stream's ticks (apply_stream), never on this timer.
      if (opt_.stream_fed) q_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      else q_cv_.wait_until(lk, next_sweep, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) break;
      while (!queue_.empty() && jobs.size() < opt_.group_commit_max_jobs) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!opt_.stream_fed && std::chrono::steady_clock::now() >= next_sweep) {
        do_sweep = true;
        next_sweep = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.sweep_interval_ms);
      }
    }
    if (jobs.empty() && !do_sweep) continue;
    std::vector<ApplyResult> results(jobs.size());
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lk(db_mu_);
      try {
        Stmt(st_["begin"], db_).step();
        int64_t t = now();
        for (size_t i = 0; i < jobs.size(); ++i) apply_in_txn(jobs[i]->site, jobs[i]->hash, *jobs[i]->batch, t, results[i]);
        if (do_sweep) sweep_in_txn(t);
        flush_bandit();
        auto tc = std::chrono::steady_clock::now();
        Stmt(st_["commit"], db_).step();  // written to the WAL; durable after sync_wal
        if (debug_log()) fprintf(stderr, "txn jobs=%zu apply %.1f ms commit %.1f ms\n", jobs.size(), std::chrono::duration<double, std::milli>(tc - t0).count(), std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tc).count());
        publish_snapshot();
      } catch (const std::exception& e) {
        error = e.what();
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        load_bandit();
      }
    }
    auto t1 = std::chrono::steady_clock::now();
    if (metrics_) {
      metrics_->commit_seconds.observe(std::chrono::duration<double>(t1 - t0).count());
      if (!error.empty()) metrics_->add("disco_collector_storage_errors_total", "");
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      ApplyOutcome o;
      o.ok = error.empty();
      o.error = error;
      o.result = results[i];
      done.push_back(Done{std::move(jobs[i]), std::move(o)});
    }
    if (pipelined) {
      {
        std::lock_guard<std::mutex> lk(s_mu_);
        for (Done& d : done) synq_.push_back(std::move(d));
      }
      done.clear();
      s_cv_.notify_one();
    } else {
      std::string sync_error;
      if (opt_.synchronous_full && error.empty() && !done.empty()) sync_wal(sync_error);
      resolve(done, sync_error);
    }
  }
  // Jobs that raced with stop(): refuse them (their requests answer 503).
  std::lock_guard<std::mutex> lk(q_mu_);
  for (auto& j : queue_) j->done.set_value(ApplyOutcome{false, "collector is shutting down", {}});
  queue_.clear();
}

}  // namespace disco::collector
