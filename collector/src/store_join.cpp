// The join rules of the SQLite store (collector/PROTOCOL.md): decisions, outcomes and activations
// in, in any order; an outcome joins its decision within the reward window, later it is late; the
// sweep closes the windows that passed (default reward) and expires orphan outcomes. Each join
// hands the decision to the bandit rule (store_bandit.cpp).
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "disco/collector/metrics.h"
#include "store_internal.h"

namespace disco::collector {

const char* join_status_name(int s) {
  switch (s) {
    case 0: return "pending";
    case 1: return "joined";
    case 2: return "default";
    case 3: return "late";
  }
  return "unknown";
}

bool SqliteStore::load_decision(const DecisionId& id, DecisionRow& row) {
  Stmt q(st_["dec_get"], db_);
  q.id(1, id);
  if (!q.step()) return false;
  row.id = id;
  row.site = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
  row.ts_ms = sqlite3_column_int64(q.s, 1);
  row.arm = sqlite3_column_int(q.s, 2);
  row.mode = sqlite3_column_int(q.s, 3);
  row.shown = sqlite3_column_int(q.s, 4) != 0;
  row.closed = sqlite3_column_int(q.s, 5) != 0;
  row.in_bandit = sqlite3_column_int(q.s, 6) != 0;
  row.status = sqlite3_column_int(q.s, 7);
  row.reward = sqlite3_column_double(q.s, 8);
  int nb = sqlite3_column_bytes(q.s, 9);
  row.context.resize(static_cast<size_t>(nb) / sizeof(float));
  if (nb > 0) std::memcpy(row.context.data(), sqlite3_column_blob(q.s, 9), row.context.size() * sizeof(float));
  row.price = sqlite3_column_double(q.s, 10);
  row.rowid = sqlite3_column_int64(q.s, 11);
  row.has_outcome = sqlite3_column_int(q.s, 12) != 0;
  return true;
}

bool SqliteStore::is_late(const DecisionRow& d, int64_t o_ts, bool expired_orphan) const {
  return expired_orphan || d.closed || (o_ts - d.ts_ms > opt_.reward_window_ms);
}

void SqliteStore::join(DecisionRow& d, int64_t o_ts, bool converted, double revenue, double margin,
                       bool expired_orphan, bool update_outcome_row, ApplyResult* r) {
  const int64_t t = now();
  const bool late = is_late(d, o_ts, expired_orphan);
  int status;
  double reward;
  if (!late) {
    status = static_cast<int>(JoinStatus::Joined);
    reward = margin;
  } else {
    // The bandit keeps the default reward it got (or gets now) when the window closed; the late
    // outcome is kept on the record for the trainer.
    status = static_cast<int>(JoinStatus::Late);
    reward = d.closed ? d.reward : 0.0;
  }
  d.closed = true;
  d.status = status;
  d.reward = reward;
  finalize_bandit(d, reward);
  Stmt u(st_["dec_join"], db_);
  u.i(1, status).d(2, reward).i(3, o_ts).i(4, converted ? 1 : 0).d(5, revenue).d(6, margin).i(7, late ? 1 : 0)
      .i(8, t).i(9, d.in_bandit ? 1 : 0).i(10, d.rowid).step();
  if (update_outcome_row) {
    Stmt o(st_["out_status"], db_);
    o.i(1, late ? kOutLate : kOutJoined).id(2, d.id).step();
  }
  if (r) (late ? r->late : r->joined) += 1;
}

void SqliteStore::apply_in_txn(const std::string& site, const std::string& hash, const Batch& b, int64_t t,
                               ApplyResult& r) {
  {
    Stmt q(st_["batch_ins"], db_);
    q.t(1, hash).t(2, site).t(3, b.sender_id).i(4, static_cast<int64_t>(b.seq)).i(5, b.sent_at_ms).i(6, t)
        .i(7, static_cast<int64_t>(b.rows())).i(8, b.dropped_events).i(9, b.dropped_decisions)
        .i(10, b.dropped_outcomes).d(11, b.pass_probability).step();
    if (q.changes() == 0) {
      // The same batch (same batch id: site and content, collector/auth.h) was committed before:
      // every row is a duplicate.
      r.batch_seen_before = true;
      r.events.duplicate = static_cast<uint32_t>(b.events.size());
      r.decisions.duplicate = static_cast<uint32_t>(b.decisions.size());
      r.outcomes.duplicate = static_cast<uint32_t>(b.outcomes.size());
      r.activations.duplicate = static_cast<uint32_t>(b.activations.size());
      return;
    }
  }
  for (const Event& e : b.events) {
    Stmt q(st_["event_ins"], db_);
    q.t(1, hash).t(2, site).i(3, static_cast<int64_t>(e.user_key)).t(4, e.session_id).i(5, e.ts_ms).i(6, e.type)
        .t(7, e.item_id).d(8, e.price).i(9, e.quantity).step();
    r.events.accepted++;
  }
  for (const Decision& d : b.decisions) {
    bool shown = d.shown;
    int64_t shown_ts = d.shown ? d.ts_ms : 0;
    {
      Stmt q(st_["dec_ins"], db_);
      q.id(1, d.id).t(2, site).i(3, d.ts_ms).i(4, static_cast<int64_t>(d.user_key)).t(5, d.item_id).i(6, d.arm)
          .d(7, d.discount).d(8, d.propensity).t(9, d.model_version).t(10, d.policy_version)
          .i(11, static_cast<int>(d.mode)).i(12, shown ? 1 : 0);
      if (shown) q.i(13, shown_ts); else q.null(13);
      q.d(14, d.price).d(15, d.cost);
      if (d.context.empty()) q.null(16); else q.b(16, d.context.data(), d.context.size() * sizeof(float));
      q.i(17, t).i(18, d.holdout ? 1 : 0);
      if (d.user_id.empty()) q.null(19); else q.t(19, d.user_id);
      q.step();
      if (q.changes() == 0) {
        r.decisions.duplicate++;
        continue;
      }
    }
    r.decisions.accepted++;
    DecisionRow row;
    row.id = d.id;
    row.rowid = sqlite3_last_insert_rowid(db_);
    row.site = site;
    row.ts_ms = d.ts_ms;
    row.arm = d.arm;
    row.mode = static_cast<int>(d.mode);
    row.shown = shown;
    row.price = d.price;
    row.context = d.context;
    if (!shown) {  // an activation that arrived before its decision
      Stmt a(st_["act_get"], db_);
      a.id(1, d.id);
      if (a.step()) {
        int64_t ats = sqlite3_column_int64(a.s, 0);
        Stmt u(st_["dec_shown"], db_);
        u.i(1, ats).i(2, 0).i(3, row.rowid).step();
        row.shown = true;
      }
    }
    Stmt o(st_["out_get_orphan"], db_);
    o.id(1, d.id);
    if (o.step()) {  // an outcome that arrived before its decision
      int64_t ots = sqlite3_column_int64(o.s, 0);
      bool conv = sqlite3_column_int(o.s, 1) != 0;
      double rev = sqlite3_column_double(o.s, 2), mar = sqlite3_column_double(o.s, 3);
      bool expired = sqlite3_column_int(o.s, 4) == kOrphanExpired;
      sqlite3_reset(o.s);
      join(row, ots, conv, rev, mar, expired, /*update_outcome_row=*/true, &r);
    }
  }
  for (const Outcome& oc : b.outcomes) {
    // An outcome of a known decision is stored on the decision's row (outcome_ts_ms, converted,
    // revenue, margin, late: join) and deduplicated by it: a decision keeps its first outcome.
    // Table `outcomes` holds only orphans (outcomes whose decision has not arrived), so a joined
    // outcome costs no row and no entry in its unique decision_id index (a random B-tree page per
    // outcome: collector/README.md, "Performance").
    DecisionRow row;
    if (load_decision(oc.id, row)) {
      if (row.has_outcome) {
        r.outcomes.duplicate++;
        continue;
      }
      r.outcomes.accepted++;
      join(row, oc.ts_ms, oc.converted, oc.revenue, oc.margin, false, /*update_outcome_row=*/false, &r);
      continue;
    }
    Stmt q(st_["out_ins"], db_);
    q.id(1, oc.id).t(2, site).i(3, oc.ts_ms).i(4, oc.converted ? 1 : 0).d(5, oc.revenue).d(6, oc.margin).i(7, t)
        .i(8, kOrphan).step();
    if (q.changes() == 0) {
      r.outcomes.duplicate++;
      continue;
    }
    r.outcomes.accepted++;
    r.orphans++;
  }
  // Outcomes a browser reported with a write key: kept apart, never joined (collector/PROTOCOL.md).
  for (const Outcome& oc : b.reported_outcomes) {
    Stmt q(st_["rep_ins"], db_);
    q.id(1, oc.id).t(2, site).i(3, oc.ts_ms).i(4, oc.converted ? 1 : 0).d(5, oc.revenue).d(6, oc.margin).i(7, t).step();
    r.reported_outcomes += q.changes() ? 1 : 0;
  }
  for (const Activation& a : b.activations) {
    {
      Stmt q(st_["act_ins"], db_);
      q.id(1, a.id).i(2, a.ts_ms).i(3, t).step();
      if (q.changes() == 0) {
        r.activations.duplicate++;
        continue;
      }
    }
    r.activations.accepted++;
    DecisionRow row;
    if (!load_decision(a.id, row) || row.shown) continue;
    row.shown = true;
    finalize_bandit(row, row.reward);
    Stmt u(st_["dec_shown"], db_);
    u.i(1, a.ts_ms).i(2, row.in_bandit ? 1 : 0).i(3, row.rowid).step();
  }
}

size_t SqliteStore::sweep_in_txn(int64_t t) {
  std::vector<DecisionId> due;
  {
    Stmt q(st_["dec_due"], db_);
    q.i(1, t - opt_.reward_window_ms).i(2, static_cast<int64_t>(opt_.sweep_max_rows));
    while (q.step()) {
      due.push_back(id_of_bytes(static_cast<const unsigned char*>(sqlite3_column_blob(q.s, 0))));
    }
  }
  for (const DecisionId& id : due) {
    DecisionRow row;
    if (!load_decision(id, row)) continue;
    row.closed = true;
    row.status = static_cast<int>(JoinStatus::Default);
    row.reward = 0;
    finalize_bandit(row, 0.0);
    Stmt u(st_["dec_default"], db_);
    u.i(1, t).i(2, row.in_bandit ? 1 : 0).i(3, row.rowid).step();
  }
  Stmt e(st_["out_expire"], db_);
  e.i(1, t - opt_.reward_window_ms).step();
  uint64_t expired = static_cast<uint64_t>(e.changes());
  if (metrics_) {
    Stmt w(st_["orphans_waiting"], db_);
    if (w.step()) metrics_->set_gauge("disco_collector_orphans_waiting", static_cast<double>(sqlite3_column_int64(w.s, 0)));
    if (!due.empty()) metrics_->add("disco_collector_joins_total", "result=\"default\"", due.size());
    if (expired) metrics_->add("disco_collector_orphans_expired_total", "", expired);
  }
  return due.size();
}

// ---- Stream mode (storage = jetstream) --------------------------------------------------------
// Every collector reads the one stream in order into its own store. Its state after sequence S is
// a function of messages 1..S alone: the clock is the stream's (message timestamps), windows close
// at the stream's tick messages, and the position is committed in the same transaction as the
// rows. So two collectors at the same stream_seq hold the same joined log and bit-identical
// bandit statistics (test CollectorMulti.*).

void SqliteStore::open_stream_position() {
  auto get = [&](const char* key, int64_t& v) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key=?", -1, &s, nullptr);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    const bool found = sqlite3_step(s) == SQLITE_ROW;
    if (found) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return found;
  };
  int64_t seq = 0, clock = 0, stats = 0;
  if (!get("stream_seq", seq)) {
    int64_t rows = 0;
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, "SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM decisions)", -1, &s, nullptr);
    if (sqlite3_step(s) == SQLITE_ROW) rows = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rows > 0)
      throw std::runtime_error(opt_.path + ": this store holds a joined log that was not read from the stream in order "
                               "(written with storage = sqlite, or by a collector before stream positions); with "
                               "storage = jetstream each collector derives its joined log and bandit statistics from "
                               "the stream alone: give it an empty data_dir and it reads the whole stream");
    exec_sql(db_, opt_.path,
             "INSERT INTO meta(key, value) VALUES('stream_seq', 0), ('stream_clock_ms', 0), ('stream_stats_seq', 0)");
  }
  get("stream_clock_ms", clock);
  get("stream_stats_seq", stats);
  std::lock_guard<std::mutex> lk(pos_mu_);
  pos_ = StreamPosition{static_cast<uint64_t>(seq), clock, static_cast<uint64_t>(stats)};
  stream_clock_ = clock;
}

StreamPosition SqliteStore::stream_position() const {
  std::lock_guard<std::mutex> lk(pos_mu_);
  return pos_;
}

ApplyOutcome SqliteStore::apply_stream(const std::vector<StreamMessage>& msgs, StreamApplyCounts* counts) {
  std::lock_guard<std::mutex> lk(db_mu_);
  ApplyOutcome out;
  if (!opt_.stream_fed) {
    out.error = "apply_stream: the store was not opened in stream mode (StoreOptions::stream_fed)";
    return out;
  }
  StreamPosition p = pos_;
  StreamApplyCounts c;
  try {
    Stmt(st_["begin"], db_).step();
    for (const StreamMessage& m : msgs) {
      if (m.seq <= p.seq) {
        c.skipped++;
        continue;
      }
      p.clock_ms = std::max(p.clock_ms, m.ts_ms);  // never backwards (a new stream leader's clock)
      stream_clock_ = p.clock_ms;
      const size_t dirty_before = dirty_.size();
      if (!m.batch) {
        sweep_in_txn(p.clock_ms);
        c.ticks++;
      } else {
        ApplyResult r;
        // The batch id is the joined log's key (table batches): a batch the stream holds twice
        // (resent after the stream's duplicate window) is applied once.
        apply_in_txn(m.site, m.batch_id, *m.batch, p.clock_ms, r);
        (r.batch_seen_before ? c.duplicates : c.batches)++;
      }
      if (dirty_.size() != dirty_before) p.stats_seq = m.seq;
      p.seq = m.seq;
    }
    if (p.seq != pos_.seq) {
      static const std::string kSeq = "stream_seq", kClock = "stream_clock_ms", kStatsSeq = "stream_stats_seq";
      Stmt(st_["meta_put"], db_).t(1, kSeq).i(2, static_cast<int64_t>(p.seq)).step();
      Stmt(st_["meta_put"], db_).t(1, kClock).i(2, p.clock_ms).step();
      Stmt(st_["meta_put"], db_).t(1, kStatsSeq).i(2, static_cast<int64_t>(p.stats_seq)).step();
    }
    if (!dirty_.empty()) next_version_ = static_cast<int64_t>(p.stats_seq);
    flush_bandit();
    Stmt(st_["commit"], db_).step();
    {
      std::lock_guard<std::mutex> pl(pos_mu_);
      pos_ = p;
    }
    publish_snapshot();
    out.ok = true;
  } catch (const std::exception& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    stream_clock_ = pos_.clock_ms;
    load_bandit();
    out.error = e.what();
    c = StreamApplyCounts{};
  }
  if (counts) *counts = c;
  return out;
}

}  // namespace disco::collector
