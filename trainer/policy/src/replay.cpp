#include "disco/policy/replay.h"

#include "disco/data/csv.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unordered_map>

namespace disco::policy {

namespace {

std::string err_msg(const char* what) { return std::string(what) + ": " + disco_last_error(); }

struct IdHash {
  size_t operator()(const std::pair<uint64_t, uint64_t>& p) const noexcept {
    return std::hash<uint64_t>()(p.first * 0x9e3779b97f4a7c15ULL ^ p.second);
  }
};

// One runtime, one shopper at a time: the session is freed after the shopper's last decision.
struct Runner {
  disco_runtime* rt = nullptr;
  uint32_t n_arms = 0, dim = 0;
  explicit Runner(const disco_bundle* b, uint64_t seed) {
    disco_bundle_info info{};
    if (disco_bundle_get_info(b, &info) != DISCO_OK) throw PolicyError(err_msg("bundle"));
    n_arms = info.n_arms;
    dim = info.context_dim ? info.context_dim : kContextDim;
    disco_runtime_options o;
    disco_runtime_default_options(&o);
    o.seed = seed;
    o.mode = DISCO_MODE_LOGGING_ONLY;  // decisions log arm 0: the logged arm is noted after each one
    o.max_pending_decisions = 1024;
    if (disco_runtime_create(b, &o, &rt) != DISCO_OK) throw PolicyError(err_msg("bundle refused by the runtime"));
  }
  ~Runner() { disco_runtime_free(rt); }
};

}  // namespace

std::string ReplayStats::to_text() const {
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "decisions read %llu, replayed %llu (%llu with their logged context), users %llu; no outcome %llu "
                "(taken as not converted), unknown item %llu (skipped), excluded users' decisions %llu; events replayed "
                "%llu, on unknown items %llu (skipped)",
                (unsigned long long)decisions_read, (unsigned long long)replayed, (unsigned long long)with_logged_context,
                (unsigned long long)users, (unsigned long long)no_outcome, (unsigned long long)unknown_item,
                (unsigned long long)excluded_user, (unsigned long long)events_replayed,
                (unsigned long long)events_unknown_item);
  return buf;
}

void write_replayed_log(const Replay& r, const data::Dataset& ds, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw PolicyError(dir + ": cannot create: " + ec.message());
  std::ofstream dec(dir + "/decisions.csv"), out(dir + "/outcomes.csv");
  if (!dec || !out) throw PolicyError(dir + ": cannot write decisions.csv / outcomes.csv");
  dec << "decision_id,ts,user_id,item_id,arm,discount,propensity,context,price,cost\n";
  out << "decision_id,ts,converted,revenue,margin\n";
  std::unordered_map<std::pair<uint64_t, uint64_t>, uint32_t, IdHash> item_of;
  for (const data::Decision& d : ds.decisions) item_of.emplace(std::make_pair(d.id_hi, d.id_lo), d.item);
  char id[40], buf[64];
  for (const Step& s : r.steps) {
    std::snprintf(id, sizeof id, "%016llx%016llx", (unsigned long long)s.id_hi, (unsigned long long)s.id_lo);
    const auto it = item_of.find({s.id_hi, s.id_lo});
    const std::string item = it != item_of.end() && it->second < ds.items.size() ? ds.items[it->second].id : "";
    dec << id << ',' << s.ts_ms << ',' << data::csv_field(s.user < ds.user_ids.size() ? ds.user_ids[s.user] : "") << ','
        << data::csv_field(item) << ',' << s.arm << ",0," << s.propensity << ',';
    for (uint32_t k = 0; k < r.context_dim; ++k) {
      std::snprintf(buf, sizeof buf, "%s%.9g", k ? " " : "", double(s.x[k]));
      dec << buf;
    }
    std::snprintf(buf, sizeof buf, ",%.9g,%.9g\n", s.price, s.cost);
    dec << buf;
    if (s.has_outcome) {
      std::snprintf(buf, sizeof buf, ",%d,%.9g,%.9g\n", s.converted ? 1 : 0, s.revenue, s.margin);
      out << id << ',' << s.ts_ms << buf;
    }
  }
  dec.close();
  out.close();
  // The shoppers' events too, so the folder is a complete canonical log (the reader needs them).
  std::ofstream ev(dir + "/events.csv");
  ev << "user_id,ts,type,item_id\n";
  for (const data::Event& e : ds.events) {
    std::snprintf(buf, sizeof buf, ",%lld,%s,", (long long)e.ts_ms, data::to_string(e.type));
    ev << data::csv_field(e.user < ds.user_ids.size() ? ds.user_ids[e.user] : "") << buf
       << data::csv_field(e.item < ds.items.size() ? ds.items[e.item].id : "") << '\n';
  }
  ev.close();
  if (!dec || !out || !ev) throw PolicyError(dir + ": write failed");
}

std::unordered_set<std::string> read_id_list(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw PolicyError(path + ": cannot open the user-id list");
  std::unordered_set<std::string> ids;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    ids.insert(line.substr(b));
  }
  return ids;
}

Replay replay_log(const data::Dataset& ds, const disco_bundle* bundle, const ReplayOptions& opt) {
  if (!bundle) throw PolicyError("replay: no bundle");
  if (ds.decisions.empty())
    throw PolicyError("the log has no decisions (decisions.csv): a policy is fitted on logged offers with their "
                      "propensities");
  Runner run(bundle, opt.seed);
  Replay out;
  out.n_arms = run.n_arms;
  out.context_dim = run.dim;
  out.stats.decisions_read = ds.decisions.size();

  // Validate arms and propensities up front: a bad log is refused whole, by name.
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    const data::Decision& d = ds.decisions[i];
    if (d.arm >= run.n_arms)
      throw PolicyError("decision " + std::to_string(i + 1) + " (user '" +
                        (d.user < ds.user_ids.size() ? ds.user_ids[d.user] : std::string("?")) + "') has arm " +
                        std::to_string(d.arm) + ", but the bundle has " + std::to_string(run.n_arms) +
                        " arms (0.." + std::to_string(run.n_arms - 1) + "): the log and the bundle disagree on the arms");
    if (!(d.propensity > 0.0f && d.propensity <= 1.0f))
      throw PolicyError("decision " + std::to_string(i + 1) + " has propensity " + std::to_string(d.propensity) +
                        " (must be in (0, 1]): a policy cannot be fitted without the logged probabilities");
  }

  // Dataset item -> bundle item index (-1 = unknown to the bundle).
  std::vector<int64_t> item_map(ds.items.size(), -1);
  for (size_t i = 0; i < ds.items.size(); ++i) {
    uint32_t idx = 0;
    const std::string& id = ds.items[i].id;
    if (disco_bundle_item_index(bundle, id.data(), id.size(), &idx) == DISCO_OK) item_map[i] = idx;
  }
  std::unordered_map<std::pair<uint64_t, uint64_t>, uint32_t, IdHash> outcome_of;
  outcome_of.reserve(ds.outcomes.size() * 2 + 1);
  for (size_t i = 0; i < ds.outcomes.size(); ++i)
    outcome_of.emplace(std::make_pair(ds.outcomes[i].id_hi, ds.outcomes[i].id_lo), uint32_t(i));

  // Decisions of each user, in time order (decisions are sorted by ts; stable within a user).
  const size_t n_users = ds.user_ids.size();
  std::vector<uint32_t> dec_order(ds.decisions.size());
  std::iota(dec_order.begin(), dec_order.end(), 0u);
  std::stable_sort(dec_order.begin(), dec_order.end(), [&](uint32_t a, uint32_t b) {
    const auto &x = ds.decisions[a], &y = ds.decisions[b];
    return x.user != y.user ? x.user < y.user : x.ts_ms < y.ts_ms;
  });
  // Events are sorted by (user, ts): ranges per user.
  std::vector<uint32_t> ev_begin(n_users + 1, 0);
  for (const data::Event& e : ds.events)
    if (e.user < n_users) ++ev_begin[e.user + 1];
  for (size_t u = 0; u < n_users; ++u) ev_begin[u + 1] += ev_begin[u];

  std::vector<uint64_t> order_key;  // per step: the decision's index in ds.decisions (ties in time)
  size_t k = 0;
  float probs_x[kContextDim];
  double probs[64];
  while (k < dec_order.size()) {
    const uint32_t user = ds.decisions[dec_order[k]].user;
    size_t k_end = k;
    while (k_end < dec_order.size() && ds.decisions[dec_order[k_end]].user == user) ++k_end;
    const std::string& uid = user < ds.user_ids.size() ? ds.user_ids[user] : std::string();
    if (!opt.exclude_users.empty() && opt.exclude_users.count(uid)) {
      out.stats.excluded_user += k_end - k;
      k = k_end;
      continue;
    }
    ++out.stats.users;
    disco_session* s = nullptr;
    if (disco_session_create(run.rt, ds.decisions[dec_order[k]].user_key, &s) != DISCO_OK)
      throw PolicyError(err_msg("session"));
    uint32_t e = user < n_users ? ev_begin[user] : 0, e_end = user < n_users ? ev_begin[user + 1] : 0;
    auto observe_until = [&](int64_t ts, bool inclusive) {
      for (; e < e_end && (inclusive ? ds.events[e].ts_ms <= ts : ds.events[e].ts_ms < ts); ++e) {
        const data::Event& ev = ds.events[e];
        const int64_t bi = ev.item < item_map.size() ? item_map[ev.item] : -1;
        if (bi < 0) {
          ++out.stats.events_unknown_item;
          continue;
        }
        disco_event de{ev.ts_ms, uint32_t(bi), uint32_t(ev.type), ev.price, ev.quantity};
        if (disco_observe(s, &de) != DISCO_OK) throw PolicyError(err_msg("observe"));
        ++out.stats.events_replayed;
      }
    };
    for (; k < k_end; ++k) {
      const uint32_t di = dec_order[k];
      const data::Decision& d = ds.decisions[di];
      observe_until(d.ts_ms, true);  // the cart event that made the offer point comes first
      const int64_t bi = d.item < item_map.size() ? item_map[d.item] : -1;
      if (bi < 0) {
        ++out.stats.unknown_item;
        continue;
      }
      disco_offer o{};
      uint64_t hi = d.id_hi, lo = d.id_lo;
      if (disco_offer_make(s, uint32_t(bi), d.ts_ms, hi, lo, &o) != DISCO_OK) {
        // A repeated id inside one replay (two logs merged): let the runtime derive one.
        if (disco_offer_make(s, uint32_t(bi), d.ts_ms, 0, 0, &o) != DISCO_OK) throw PolicyError(err_msg("offer"));
      }
      if (d.arm != 0 && disco_session_note_offer(s, d.arm, d.ts_ms) != DISCO_OK) throw PolicyError(err_msg("note_offer"));
      Step st;
      st.id_hi = d.id_hi;
      st.id_lo = d.id_lo;
      st.user = user;
      st.ts_ms = d.ts_ms;
      st.arm = d.arm;
      st.propensity = d.propensity;
      float price = 0, cost = 0;
      disco_bundle_item_info(bundle, uint32_t(bi), &price, &cost, nullptr, nullptr);
      st.price = price;
      st.cost = cost;
      std::copy(o.context, o.context + kContextDim, st.x.begin());
      auto it = outcome_of.find({d.id_hi, d.id_lo});
      if (it != outcome_of.end()) {
        const data::Outcome& oc = ds.outcomes[it->second];
        st.has_outcome = true;
        st.converted = oc.converted;
        st.margin = oc.margin;
        st.revenue = oc.revenue;
      } else {
        ++out.stats.no_outcome;
      }
      std::copy(st.x.begin(), st.x.end(), probs_x);
      st.eligible = 1u;
      if (price > 0 &&
          disco_policy_probabilities(run.rt, probs_x, kContextDim, 0, price, cost, probs) == DISCO_OK) {
        for (uint32_t a = 0; a < run.n_arms && a < 32; ++a)
          if (probs[a] > 0) st.eligible |= 1u << a;
      }
      st.eligible |= (d.arm < 32 ? 1u << d.arm : 0u);  // the logged arm was allowed when it was shown
      out.steps.push_back(st);
      order_key.push_back(di);
    }
    disco_session_free(s);
  }
  out.stats.replayed = out.steps.size();
  if (out.steps.empty())
    throw PolicyError("no decision could be replayed (" + out.stats.to_text() + ")");

  // Time order, then next-decision links per shopper.
  std::vector<uint32_t> perm(out.steps.size());
  std::iota(perm.begin(), perm.end(), 0u);
  std::stable_sort(perm.begin(), perm.end(), [&](uint32_t a, uint32_t b) {
    const Step &x = out.steps[a], &y = out.steps[b];
    return x.ts_ms != y.ts_ms ? x.ts_ms < y.ts_ms : order_key[a] < order_key[b];
  });
  std::vector<Step> sorted;
  sorted.reserve(perm.size());
  for (uint32_t i : perm) sorted.push_back(out.steps[i]);
  out.steps = std::move(sorted);
  std::unordered_map<uint32_t, int64_t> last_of;
  for (int64_t i = int64_t(out.steps.size()) - 1; i >= 0; --i) {
    Step& st = out.steps[size_t(i)];
    auto it = last_of.find(st.user);
    st.next = it == last_of.end() ? -1 : it->second;
    last_of[st.user] = i;
  }
  out.first_ts_ms = out.steps.front().ts_ms;
  out.last_ts_ms = out.steps.back().ts_ms;
  // The log may extend past the last decision (events): the censoring horizon uses the later.
  for (const data::Event& ev : ds.events) out.last_ts_ms = std::max(out.last_ts_ms, ev.ts_ms);
  return out;
}

}  // namespace disco::policy
