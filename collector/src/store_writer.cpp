// The SQLite store's threads: the group-commit writer (queued requests, up to
// group_commit_max_jobs, in one transaction; each answered after its COMMIT; the periodic sweep)
// and the PASSIVE checkpointer on its own connection, off the commit path.
#include <chrono>
#include <cstdio>

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
  writer_ = std::thread([this] { writer_loop(); });
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
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
    // beginning once everything in it has been copied.
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
  if (writer_.joinable()) writer_.join();
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

void SqliteStore::writer_loop() {
  auto next_sweep = std::chrono::steady_clock::now();
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
        Stmt(st_["commit"], db_).step();  // synchronous=FULL: the WAL is fsync'ed before this returns
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
      if (metrics_) metrics_->request_storage_seconds.observe(std::chrono::duration<double>(t1 - jobs[i]->enqueued).count());
      jobs[i]->done.set_value(std::move(o));
    }
  }
  // Jobs that raced with stop(): refuse them (their requests answer 503).
  std::lock_guard<std::mutex> lk(q_mu_);
  for (auto& j : queue_) j->done.set_value(ApplyOutcome{false, "collector is shutting down", {}});
  queue_.clear();
}

}  // namespace disco::collector
