#include "disco/eval/protocol.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <thread>

namespace disco::eval {

const char* to_string(UnknownItems u) { return u == UnknownItems::Drop ? "drop" : "miss"; }

namespace {
void check_session(const data::Dataset& ds, uint32_t s) {
  if (s >= ds.sessions.size())
    throw std::out_of_range("session index " + std::to_string(s) + " out of range (dataset has " +
                            std::to_string(ds.sessions.size()) + " sessions; was sessionize() run?)");
  const auto& ss = ds.sessions[s];
  if (ss.begin > ss.end || ss.end > ds.events.size())
    throw std::out_of_range("session " + std::to_string(s) + " has an invalid event range");
}
}  // namespace

NextItemTask build_next_item_task(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions,
                                  const std::vector<uint32_t>& test_sessions, const TaskOptions& opt) {
  NextItemTask task;
  task.unknown_items = opt.unknown_items;
  task.candidate.assign(ds.items.size(), 0);
  for (uint32_t s : train_sessions) {
    check_session(ds, s);
    for (uint32_t e = ds.sessions[s].begin; e < ds.sessions[s].end; ++e) {
      const uint32_t it = ds.events[e].item;
      if (it >= ds.items.size()) throw std::out_of_range("event " + std::to_string(e) + " has an item index out of range");
      task.candidate[it] = 1;
    }
  }
  for (uint8_t c : task.candidate) task.n_candidates += c;
  if (!opt.first_target.empty() && opt.first_target.size() != test_sessions.size())
    throw std::invalid_argument("first_target has " + std::to_string(opt.first_target.size()) + " entries for " +
                                std::to_string(test_sessions.size()) + " test sessions");
  size_t taken = 0;
  for (size_t ti = 0; ti < test_sessions.size(); ++ti) {
    const uint32_t s = test_sessions[ti];
    if (opt.max_test_sessions && taken >= opt.max_test_sessions) break;
    check_session(ds, s);
    TestSequence seq;
    seq.session = s;
    const uint32_t first_e = ds.sessions[s].begin + (opt.first_target.empty() ? 1 : opt.first_target[ti]);
    uint32_t first_kept = 0;  // kept events before first_e
    for (uint32_t e = ds.sessions[s].begin; e < ds.sessions[s].end; ++e) {
      const auto& ev = ds.events[e];
      if (ev.item >= ds.items.size()) throw std::out_of_range("event " + std::to_string(e) + " has an item index out of range");
      const uint8_t known = task.candidate[ev.item];
      if (!known && opt.unknown_items == UnknownItems::Drop) {
        ++task.dropped_unknown_events;
        continue;
      }
      seq.items.push_back(ev.item);
      seq.types.push_back(static_cast<uint8_t>(ev.type));
      seq.known.push_back(known);
      if (e < first_e) ++first_kept;
    }
    seq.first = std::max<uint32_t>(1, first_kept);
    if (seq.items.size() < 2 || seq.first >= seq.items.size()) {
      ++task.skipped_short_sessions;
      continue;
    }
    for (size_t t = seq.first; t < seq.items.size(); ++t) {
      ++task.n_targets;
      if (!seq.known[t]) ++task.unknown_targets;
    }
    task.sequences.push_back(std::move(seq));
    ++taken;
  }
  return task;
}

NextItemResult evaluate_next_item(const Recommender& model, const NextItemTask& task, const EvalOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t n_items = task.candidate.size();
  const int threads = std::max(1, opt.threads);
  std::vector<RankingAccumulator> accs(threads, RankingAccumulator(opt.cutoffs));
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto worker = [&](int w) {
    try {
      std::vector<float> scratch(n_items);
      RankingAccumulator& acc = accs[w];
      for (size_t i = next++; i < task.sequences.size(); i = next++) {
        const TestSequence& seq = task.sequences[i];
        model.score_prefixes(seq.items, seq.types, seq.first, scratch, [&](size_t t, std::span<const float> scores) {
          if (scores.size() != n_items)
            throw std::runtime_error(model.name() + ": score() produced " + std::to_string(scores.size()) +
                                     " scores for " + std::to_string(n_items) + " items");
          if (!seq.known[t]) {
            acc.add_miss();
            return;
          }
          acc.add(rank_of(scores, seq.items[t], task.candidate));
        });
      }
    } catch (...) {
      errors[w] = std::current_exception();
      next = task.sequences.size();
    }
  };
  if (threads == 1) {
    worker(0);
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < threads; ++w) pool.emplace_back(worker, w);
    for (auto& th : pool) th.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  NextItemResult res;
  res.acc = RankingAccumulator(opt.cutoffs);
  for (const auto& a : accs) res.acc.merge(a);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

ScoreAgreement compare_scores(const Recommender& a, const Recommender& b, const NextItemTask& task, int k,
                              size_t max_cases) {
  if (k <= 0) throw std::invalid_argument("compare_scores: k must be positive");
  const size_t n = task.candidate.size();
  std::vector<uint32_t> cand;
  for (uint32_t i = 0; i < n; ++i)
    if (task.candidate[i]) cand.push_back(i);
  if (cand.empty()) throw std::invalid_argument("compare_scores: the task has no candidate items");
  const size_t kk = std::min<size_t>(static_cast<size_t>(k), cand.size());
  std::vector<float> sa(n), sb(n);
  std::vector<uint32_t> ta(cand), tb(cand);
  ScoreAgreement r;
  r.k = static_cast<int>(kk);
  double sum_abs = 0, sum_overlap = 0;
  uint64_t n_scores = 0;
  auto top = [&](std::vector<uint32_t>& ids, const std::vector<float>& s) {
    ids = cand;
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(kk), ids.end(),
                      [&](uint32_t x, uint32_t y) { return s[x] != s[y] ? s[x] > s[y] : x < y; });
    ids.resize(kk);
    std::sort(ids.begin(), ids.end());
  };
  for (const TestSequence& seq : task.sequences) {
    for (size_t t = seq.first; t < seq.items.size(); ++t) {
      if (max_cases && r.cases >= max_cases) break;
      const auto pi = std::span<const uint32_t>(seq.items).first(t);
      const auto pt = std::span<const uint8_t>(seq.types).first(t);
      a.score(pi, pt, sa);
      b.score(pi, pt, sb);
      for (uint32_t i : cand) {
        const double d = std::abs(static_cast<double>(sa[i]) - static_cast<double>(sb[i]));
        r.max_abs_diff = std::max(r.max_abs_diff, d);
        sum_abs += d;
        ++n_scores;
      }
      top(ta, sa);
      top(tb, sb);
      std::vector<uint32_t> both;
      std::set_intersection(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(both));
      sum_overlap += static_cast<double>(both.size()) / static_cast<double>(kk);
      ++r.cases;
    }
  }
  if (r.cases) {
    r.mean_abs_diff = sum_abs / static_cast<double>(n_scores);
    r.topk_overlap = sum_overlap / static_cast<double>(r.cases);
  }
  return r;
}

TimelineSplit timeline_split(const data::Dataset& ds, double test_frac) {
  if (!(test_frac > 0 && test_frac < 1)) throw std::invalid_argument("timeline_split: test_frac must be in (0, 1)");
  if (ds.events.empty()) throw std::invalid_argument("timeline_split: the dataset has no events");
  TimelineSplit out;
  std::vector<int64_t> ts;
  ts.reserve(ds.events.size());
  for (const auto& e : ds.events) ts.push_back(e.ts_ms);
  const size_t q = std::min(ts.size() - 1, static_cast<size_t>(static_cast<double>(ts.size()) * (1.0 - test_frac)));
  std::nth_element(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(q), ts.end());
  out.cutoff_ms = ts[q];
  out.ds = ds;
  out.ds.sessions.clear();
  std::vector<data::Session> train_parts, timelines;
  std::vector<uint32_t> firsts;
  for (size_t b = 0; b < ds.events.size();) {
    size_t e = b;
    while (e < ds.events.size() && ds.events[e].user == ds.events[b].user) ++e;
    for (size_t k = b + 1; k < e; ++k)
      if (ds.events[k].ts_ms < ds.events[k - 1].ts_ms)
        throw std::invalid_argument("timeline_split: events of user " + std::to_string(ds.events[b].user) +
                                    " are not sorted by time");
    size_t cut = b;
    while (cut < e && ds.events[cut].ts_ms < out.cutoff_ms) ++cut;
    auto part = [&](size_t lo, size_t hi) {
      data::Session s;
      s.user = ds.events[b].user;
      s.begin = static_cast<uint32_t>(lo);
      s.end = static_cast<uint32_t>(hi);
      s.start_ms = ds.events[lo].ts_ms;
      s.end_ms = ds.events[hi - 1].ts_ms;
      return s;
    };
    if (cut > b) train_parts.push_back(part(b, cut));
    if (cut < e) {
      timelines.push_back(part(b, e));
      firsts.push_back(static_cast<uint32_t>(cut - b));
    }
    b = e;
  }
  for (auto& s : train_parts) {
    out.train.push_back(static_cast<uint32_t>(out.ds.sessions.size()));
    out.ds.sessions.push_back(s);
  }
  for (size_t i = 0; i < timelines.size(); ++i) {
    out.test.push_back(static_cast<uint32_t>(out.ds.sessions.size()));
    out.ds.sessions.push_back(timelines[i]);
  }
  out.first_target = std::move(firsts);
  return out;
}

PropensityResult evaluate_propensity(const Recommender& model, const data::Dataset& ds,
                                     const std::vector<uint32_t>& test_sessions, size_t max_test_sessions) {
  if (!model.has_propensity()) throw std::invalid_argument(model.name() + " has no propensity head");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint8_t> labels;
  std::vector<float> probs;
  std::vector<uint32_t> items;
  std::vector<uint8_t> types;
  size_t taken = 0;
  for (uint32_t s : test_sessions) {
    if (max_test_sessions && taken >= max_test_sessions) break;
    check_session(ds, s);
    const auto& ss = ds.sessions[s];
    const size_t n = ss.end - ss.begin;
    if (n < 2) continue;
    ++taken;
    items.clear();
    types.clear();
    size_t first_purchase = n;
    for (size_t i = 0; i < n; ++i) {
      const auto& ev = ds.events[ss.begin + i];
      items.push_back(ev.item);
      types.push_back(static_cast<uint8_t>(ev.type));
      if (ev.type == data::EventType::Purchase && first_purchase == n) first_purchase = i;
    }
    const size_t last_t = std::min(first_purchase, n - 1);
    for (size_t t = 1; t <= last_t; ++t) {
      labels.push_back(first_purchase < n ? 1 : 0);  // a purchase at index >= t (t <= first_purchase)
      probs.push_back(model.propensity(std::span<const uint32_t>(items).first(t), std::span<const uint8_t>(types).first(t)));
    }
  }
  PropensityResult r;
  r.cases = labels.size();
  for (uint8_t l : labels) r.positives += l;
  r.auc = roc_auc(labels, probs);
  r.log_loss = log_loss(labels, probs);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace disco::eval
