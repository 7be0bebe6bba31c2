#include "disco/eval/protocol.h"

#include <algorithm>
#include <atomic>
#include <chrono>
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
  size_t taken = 0;
  for (uint32_t s : test_sessions) {
    if (opt.max_test_sessions && taken >= opt.max_test_sessions) break;
    check_session(ds, s);
    TestSequence seq;
    seq.session = s;
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
    }
    if (seq.items.size() < 2) {
      ++task.skipped_short_sessions;
      continue;
    }
    for (size_t t = 1; t < seq.items.size(); ++t) {
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
        model.score_prefixes(seq.items, seq.types, 1, scratch, [&](size_t t, std::span<const float> scores) {
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
