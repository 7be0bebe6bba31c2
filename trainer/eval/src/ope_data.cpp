// Logged bandit feedback from a disco::data Dataset, and candidate action-distribution files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <unordered_map>

#include "disco/data/csv.h"
#include "disco/data/ingest.h"
#include "disco/eval/ope_data.h"

namespace disco::eval::ope {

namespace fs = std::filesystem;

const char* to_string(RewardKind k) {
  switch (k) {
    case RewardKind::Margin: return "margin";
    case RewardKind::Conversion: return "conversion";
    case RewardKind::Revenue: return "revenue";
  }
  return "?";
}

bool parse_reward_kind(const std::string& s, RewardKind& out) {
  if (s == "margin") out = RewardKind::Margin;
  else if (s == "conversion" || s == "click" || s == "converted") out = RewardKind::Conversion;
  else if (s == "revenue") out = RewardKind::Revenue;
  else return false;
  return true;
}

std::string decision_id_hex(uint64_t hi, uint64_t lo) {
  char b[40];
  std::snprintf(b, sizeof b, "%016llx%016llx", static_cast<unsigned long long>(hi), static_cast<unsigned long long>(lo));
  return b;
}

bool is_open_bandit_dir(const std::string& dir) {
  std::error_code ec;
  for (const char* p : {"random", "bts"})
    if (fs::exists(fs::path(dir) / p / "men.csv", ec)) return true;
  return false;
}

namespace {
uint64_t id_key(uint64_t hi, uint64_t lo) { return hi * 0x9E3779B97F4A7C15ULL ^ (lo + 0x632BE59BD9B4E019ULL + (hi << 6)); }
}  // namespace

LoadedLog bandit_log_from_dataset(const data::Dataset& ds, const std::string& dir, const LogOptions& opt) {
  LoadedLog out;
  out.kind = "canonical";
  out.reward = opt.reward;
  BanditLog& log = out.log;
  log.source = dir;
  if (auto it = ds.quality.dropped.find("invalid_propensity"); it != ds.quality.dropped.end() && it->second > 0)
    throw OpeError(dir + "/decisions.csv: " + std::to_string(it->second) +
                   " decision(s) have a propensity outside (0, 1] (0, negative, or above 1): OPE needs the logging "
                   "probability of every decision; fix the logger or drop those rows");
  if (ds.decisions.empty())
    throw OpeError(dir + ": no decisions (decisions.csv missing or empty): OPE needs the logged decisions");
  {
    std::error_code ec;
    if (!dir.empty() && fs::is_directory(dir, ec) && !fs::exists(fs::path(dir) / "outcomes.csv", ec))
      throw OpeError(dir + ": no outcomes.csv: OPE needs the outcome (reward) of the logged decisions");
  }
  std::unordered_multimap<uint64_t, size_t> outcome_of;
  for (size_t i = 0; i < ds.outcomes.size(); ++i) outcome_of.emplace(id_key(ds.outcomes[i].id_hi, ds.outcomes[i].id_lo), i);
  auto find_outcome = [&](const data::Decision& d) -> const data::Outcome* {
    auto [b, e] = outcome_of.equal_range(id_key(d.id_hi, d.id_lo));
    for (auto it = b; it != e; ++it) {
      const auto& o = ds.outcomes[it->second];
      if (o.id_hi == d.id_hi && o.id_lo == d.id_lo) return &o;
    }
    return nullptr;
  };
  uint32_t max_arm = 0, max_pos = 0;
  bool any_context = false;
  size_t ctx_dim = 0;
  uint64_t holdout = 0;
  for (size_t di = 0; di < ds.decisions.size(); ++di) {
    const auto& d = ds.decisions[di];
    if (!opt.behavior.empty() && d.policy_version != opt.behavior) continue;
    // A/B holdout decisions were served the site's baseline arm by rule (SDK holdout option), not
    // by the logged policy, and carry no context: they are disco-eval ab's control group, not part
    // of the randomized log a candidate is evaluated on.
    if (d.holdout) {
      ++holdout;
      continue;
    }
    out.decision_of_row.push_back(di);
    log.arm.push_back(d.arm);
    const uint32_t pos = d.position > 0 ? static_cast<uint32_t>(d.position - 1) : 0;
    log.position.push_back(pos);
    max_arm = std::max<uint32_t>(max_arm, d.arm);
    max_pos = std::max(max_pos, pos);
    log.propensity.push_back(d.propensity);
    log.cluster.push_back(d.user);
    log.ts_ms.push_back(d.ts_ms);
    log.id.push_back(decision_id_hex(d.id_hi, d.id_lo));
    const data::Outcome* o = find_outcome(d);
    if (!o) ++out.without_outcome;
    double r = 0;
    if (o) {
      switch (opt.reward) {
        case RewardKind::Margin: r = o->margin; break;
        case RewardKind::Conversion: r = o->converted ? 1.0 : 0.0; break;
        case RewardKind::Revenue: r = o->revenue; break;
      }
    }
    log.reward.push_back(r);
    const std::vector<float>& c = d.context;
    if (!c.empty()) {
      if (any_context && c.size() != ctx_dim)
        throw OpeError(dir + "/decisions.csv: decision " + log.id.back() + " has a context of " + std::to_string(c.size()) +
                       " values, earlier ones " + std::to_string(ctx_dim));
      any_context = true;
      ctx_dim = c.size();
    }
  }
  if (log.arm.empty() && holdout)
    throw OpeError(dir + ": every decision" + (opt.behavior.empty() ? "" : " of policy_version '" + opt.behavior + "'") +
                   " is an A/B holdout decision (" + std::to_string(holdout) +
                   ", the baseline arm served by rule): OPE needs the policy's own randomized decisions; "
                   "disco-eval ab compares the holdout");
  if (log.arm.empty())
    throw OpeError(dir + ": no decisions of policy_version '" + opt.behavior + "' (--behavior)");
  if (holdout)
    out.notes.push_back(std::to_string(holdout) +
                        " A/B holdout decisions left out (the baseline arm served by rule; disco-eval ab compares them)");
  log.n_arms = max_arm + 1;
  log.n_positions = max_pos + 1;
  if (any_context) {
    log.context_dim = static_cast<uint32_t>(ctx_dim);
    log.context.assign(log.size() * ctx_dim, 0.f);
    size_t missing = 0;
    for (size_t i = 0; i < log.size(); ++i) {
      const std::vector<float>& c = ds.decisions[out.decision_of_row[i]].context;
      if (c.empty()) {
        ++missing;
        continue;
      }
      std::copy(c.begin(), c.end(), log.context.begin() + static_cast<std::ptrdiff_t>(i * ctx_dim));
    }
    if (missing) out.notes.push_back(std::to_string(missing) + " decisions without a context vector (zeros in the reward model)");
    for (size_t k = 0; k < ctx_dim; ++k) log.context_names.push_back("context_" + std::to_string(k));
  } else {
    out.notes.push_back("the log has no context vectors: the reward model sees only the arm");
  }
  if (out.without_outcome)
    out.notes.push_back(std::to_string(out.without_outcome) + " decisions without an outcome count as reward 0");
  return out;
}

LoadedLog open_bandit_log(const data::Dataset& ds, const std::string& policy) {
  LoadedLog out;
  out.kind = "open-bandit";
  out.reward = RewardKind::Conversion;
  BanditLog& log = out.log;
  log.source = "open-bandit/" + policy;
  std::vector<size_t> rows;
  for (size_t i = 0; i < ds.decisions.size(); ++i)
    if (ds.decisions[i].policy_version == policy) rows.push_back(i);
  if (rows.empty()) throw OpeError("open-bandit: no decisions of the '" + policy + "' log (expected random or bts)");
  if (ds.outcomes.size() != ds.decisions.size())
    throw OpeError("open-bandit: decisions and outcomes are not parallel (not read by read_open_bandit?)");
  // Arms = item ids (integers).
  uint32_t max_arm = 0;
  for (const auto& it : ds.items) {
    int64_t v;
    if (!data::parse_int(it.id, v) || v < 0 || v > 65535) throw OpeError("open-bandit: item id '" + it.id + "' is not an arm number");
    max_arm = std::max<uint32_t>(max_arm, static_cast<uint32_t>(v));
  }
  log.n_arms = max_arm + 1;
  uint32_t max_pos = 0;
  for (size_t di : rows) {
    const auto& d = ds.decisions[di];
    out.decision_of_row.push_back(di);
    log.arm.push_back(d.arm);
    const uint32_t pos = d.position > 0 ? static_cast<uint32_t>(d.position - 1) : 0;
    max_pos = std::max(max_pos, pos);
    log.position.push_back(pos);
    log.propensity.push_back(d.propensity);
    log.reward.push_back(ds.outcomes[di].converted ? 1.0 : 0.0);
    log.cluster.push_back(log.cluster.size());
    log.ts_ms.push_back(d.ts_ms);
    log.id.push_back(decision_id_hex(d.id_hi, d.id_lo));
  }
  log.n_positions = max_pos + 1;
  // Context: one-hot user features, categories sorted, the first of each dropped (pandas get_dummies(drop_first)).
  std::vector<std::vector<std::string>> ucols;
  for (int k = 0; k < 4; ++k) {
    const auto it = ds.user_attributes.find("user_feature_" + std::to_string(k));
    if (it == ds.user_attributes.end()) throw OpeError("open-bandit: the dataset has no user_feature_" + std::to_string(k));
    ucols.push_back(it->second);
  }
  std::vector<std::vector<std::string>> cats(4);
  for (int k = 0; k < 4; ++k) {
    std::set<std::string> s;
    for (size_t di : rows) s.insert(ucols[k][ds.decisions[di].user]);
    cats[k].assign(s.begin(), s.end());
    for (size_t c = 1; c < cats[k].size(); ++c) log.context_names.push_back("user_feature_" + std::to_string(k) + "=" + cats[k][c]);
  }
  log.context_dim = static_cast<uint32_t>(log.context_names.size());
  log.context.assign(log.size() * log.context_dim, 0.f);
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t off = 0;
    for (int k = 0; k < 4; ++k) {
      const std::string& v = ucols[k][ds.decisions[rows[i]].user];
      const size_t c = static_cast<size_t>(std::lower_bound(cats[k].begin(), cats[k].end(), v) - cats[k].begin());
      if (c > 0) log.context[i * log.context_dim + off + c - 1] = 1.f;
      off += cats[k].size() - 1;
    }
  }
  // Arm features: [item_id, item_feature_1, _2, _3] label-encoded, then item_feature_0 (OBP's action_context).
  log.arm_feature_names = {"item_id", "item_feature_1", "item_feature_2", "item_feature_3", "item_feature_0"};
  log.arm_feature_dim = 5;
  log.arm_features.assign(static_cast<size_t>(log.n_arms) * 5, 0.f);
  std::vector<int> dense_of_arm(log.n_arms, -1);
  for (size_t it = 0; it < ds.items.size(); ++it) dense_of_arm[std::stoul(ds.items[it].id)] = static_cast<int>(it);
  std::set<uint32_t> arm_ids;
  for (uint32_t a = 0; a < log.n_arms; ++a)
    if (dense_of_arm[a] >= 0) arm_ids.insert(a);
  for (int f = 0; f < 4; ++f) {
    const std::string name = policy + "/item_feature_" + std::to_string(f);
    const auto it = ds.item_attributes.find(name);
    if (it == ds.item_attributes.end()) throw OpeError("open-bandit: the dataset has no " + name);
    const auto& vals = it->second;
    std::set<std::string> distinct;
    for (uint32_t a : arm_ids) {
      const std::string& v = vals[static_cast<size_t>(dense_of_arm[a])];
      if (v.empty()) throw OpeError("open-bandit: item " + std::to_string(a) + " is missing from " + policy + "/item_context.csv");
      distinct.insert(v);
    }
    const std::vector<std::string> sorted(distinct.begin(), distinct.end());
    for (uint32_t a : arm_ids) {
      const std::string& v = vals[static_cast<size_t>(dense_of_arm[a])];
      float x;
      if (f == 0) {
        double d;
        if (!data::parse_double(v, d)) throw OpeError("open-bandit: item_feature_0 of item " + std::to_string(a) + " is not a number");
        x = static_cast<float>(d);
      } else {
        x = static_cast<float>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
      }
      log.arm_features[a * 5 + (f == 0 ? 4 : static_cast<uint32_t>(f))] = x;
    }
  }
  {  // item_id label-encoded: its rank among the item ids
    uint32_t rank = 0;
    for (uint32_t a : arm_ids) log.arm_features[a * 5 + 0] = static_cast<float>(rank++);
  }
  out.notes.push_back("reward = click; rows are independent impressions (bootstrap by row)");
  return out;
}

LoadedLog load_bandit_log(const std::string& dir, const LogOptions& opt, data::Dataset* dataset) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw OpeError(dir + ": not a directory (--log expects a log folder)");
  data::Dataset local;
  data::Dataset& ds = dataset ? *dataset : local;
  if (is_open_bandit_dir(dir)) {
    std::string policy = opt.behavior;
    const bool r = fs::exists(fs::path(dir) / "random" / "men.csv", ec), b = fs::exists(fs::path(dir) / "bts" / "men.csv", ec);
    if (policy.empty()) {
      if (r && b) throw OpeError(dir + ": an open-bandit folder holds two logs; choose one with --behavior random|bts");
      policy = r ? "random" : "bts";
    }
    if (opt.reward_given && opt.reward != RewardKind::Conversion)
      throw OpeError(dir + ": open-bandit logs have clicks only; use --reward conversion");
    ds = data::read_open_bandit(dir);
    LoadedLog L = open_bandit_log(ds, policy);
    L.log.source = dir + " (" + policy + " log)";
    return L;
  }
  ds = data::read_canonical(dir);
  return bandit_log_from_dataset(ds, dir, opt);
}

// ---- candidate files ----------------------------------------------------------------------------

std::string CandidateFile::describe() const {
  switch (kind) {
    case Kind::Uniform: return "uniform over the log's arms";
    case Kind::PerPosition:
      return path + " (per context: " + std::to_string(arms.size()) + " arms x " + std::to_string(n_positions) + " position column(s))";
    case Kind::PerRow: return path + " (per decision: " + std::to_string(by_id.size()) + " decisions)";
  }
  return path;
}

CandidateFile uniform_candidate() {
  CandidateFile c;
  c.kind = CandidateFile::Kind::Uniform;
  c.path = "uniform";
  return c;
}

namespace {
constexpr double kSumTol = 1e-6;

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}
}  // namespace

CandidateFile read_candidate_csv(const std::string& path) {
  CandidateFile c;
  c.path = path;
  try {
    data::CsvReader r(path);
    if (!r.next()) throw OpeError(path + ": empty file (expected a header: arm,<position columns> or decision_id,arm,probability)");
    std::vector<std::string> head;
    for (const auto& h : r.fields()) head.push_back(lower(data::trim(h)));
    const size_t nf = head.size();
    if (nf >= 3 && head[0] == "decision_id") {
      if (head[1] != "arm" || (head[2] != "probability" && head[2] != "prob"))
        throw OpeError(r.where() + ": per-decision header must be decision_id,arm,probability");
      c.kind = CandidateFile::Kind::PerRow;
      std::set<uint32_t> arms;
      while (r.next()) {
        if (r.size() != nf) r.fail("expected " + std::to_string(nf) + " fields, got " + std::to_string(r.size()));
        const std::string id = lower(data::trim(r[0]));
        int64_t a;
        double p;
        if (id.empty()) r.fail("empty decision_id");
        if (!data::parse_int(r[1], a) || a < 0 || a > 65535) r.fail("arm '" + std::string(r[1]) + "' is not an arm number (0..65535)");
        if (!data::parse_double(r[2], p) || p < 0 || p > 1) r.fail("probability '" + std::string(r[2]) + "' is not in [0, 1]");
        auto& v = c.by_id[id];
        for (const auto& [a0, p0] : v)
          if (a0 == static_cast<uint32_t>(a)) r.fail("decision " + id + " lists arm " + std::to_string(a) + " twice");
        v.emplace_back(static_cast<uint32_t>(a), p);
        arms.insert(static_cast<uint32_t>(a));
      }
      if (c.by_id.empty()) throw OpeError(path + ": no rows after the header");
      for (const auto& [id, v] : c.by_id) {
        double s = 0;
        for (const auto& [a, p] : v) s += p;
        if (std::abs(s - 1) > kSumTol) {
          std::ostringstream m;
          m << path << ": the probabilities of decision " << id << " sum to " << s << ", not 1";
          throw OpeError(m.str());
        }
      }
      c.arms.assign(arms.begin(), arms.end());
      return c;
    }
    if (nf < 2 || (head[0] != "arm" && head[0] != "item_id" && head[0] != "action"))
      throw OpeError(path + ":1: header must start with arm (or item_id) followed by one probability column per position, "
                            "or be decision_id,arm,probability");
    c.kind = CandidateFile::Kind::PerPosition;
    c.n_positions = static_cast<uint32_t>(nf - 1);
    std::vector<double> sums(nf - 1, 0.0);
    while (r.next()) {
      if (r.size() != nf) r.fail("expected " + std::to_string(nf) + " fields, got " + std::to_string(r.size()));
      int64_t a;
      if (!data::parse_int(r[0], a) || a < 0 || a > 65535) r.fail("arm '" + std::string(r[0]) + "' is not an arm number (0..65535)");
      if (c.by_arm.count(static_cast<uint32_t>(a))) r.fail("arm " + std::to_string(a) + " appears twice");
      std::vector<double> ps(nf - 1);
      for (size_t k = 1; k < nf; ++k) {
        if (!data::parse_double(r[k], ps[k - 1]) || ps[k - 1] < 0 || ps[k - 1] > 1)
          r.fail("column " + head[k] + ": '" + std::string(r[k]) + "' is not a probability in [0, 1]");
        sums[k - 1] += ps[k - 1];
      }
      c.by_arm[static_cast<uint32_t>(a)] = ps;
      c.arms.push_back(static_cast<uint32_t>(a));
    }
    if (c.by_arm.empty()) throw OpeError(path + ": no arms after the header");
    for (size_t k = 0; k + 1 < nf; ++k)
      if (std::abs(sums[k] - 1) > kSumTol) {
        std::ostringstream m;
        m << path << ": column " << head[k + 1] << " sums to " << sums[k] << ", not 1 (each column is a distribution over arms)";
        throw OpeError(m.str());
      }
    std::sort(c.arms.begin(), c.arms.end());
    return c;
  } catch (const data::IngestError& e) {
    throw OpeError(e.what());
  }
}

ActionDist candidate_distribution(const CandidateFile& c, BanditLog& log) {
  const std::string src = log.source.empty() ? "log" : log.source;
  if (c.kind != CandidateFile::Kind::Uniform) {
    const uint32_t cmax = c.arms.empty() ? 0 : c.arms.back() + 1;
    if (cmax > log.n_arms) {
      if (log.arm_feature_dim)
        throw OpeError(c.path + ": names arm " + std::to_string(cmax - 1) + " but the log's catalog has " +
                       std::to_string(log.n_arms) + " arms");
      log.n_arms = cmax;
    }
  }
  ActionDist d;
  d.n_arms = log.n_arms;
  d.source = c.describe();
  const size_t n = log.size();
  d.p.assign(n * d.n_arms, 0.0);
  std::vector<char> known(log.n_arms, c.kind == CandidateFile::Kind::Uniform ? 1 : 0);
  for (uint32_t a : c.arms) known[a] = 1;
  for (size_t i = 0; i < n; ++i)
    if (!known[log.arm[i]]) {
      const std::string at = i < log.id.size() ? "decision " + log.id[i] : "row " + std::to_string(i + 1);
      throw OpeError(src + ": " + at + " logged arm " + std::to_string(log.arm[i]) + ", which the candidate " + c.path +
                     " does not know (it gives probabilities for " + std::to_string(c.arms.size()) +
                     " arms); list every logged arm, with probability 0 if it never takes it");
    }
  switch (c.kind) {
    case CandidateFile::Kind::Uniform:
      for (auto& p : d.p) p = 1.0 / d.n_arms;
      break;
    case CandidateFile::Kind::PerPosition: {
      if (c.n_positions != 1 && c.n_positions < log.n_positions)
        throw OpeError(c.path + ": has " + std::to_string(c.n_positions) + " position columns but the log has " +
                       std::to_string(log.n_positions) + " positions");
      for (size_t i = 0; i < n; ++i) {
        const uint32_t col = c.n_positions == 1 ? 0 : log.position[i];
        for (const auto& [a, ps] : c.by_arm) d.p[i * d.n_arms + a] = ps[col];
      }
      break;
    }
    case CandidateFile::Kind::PerRow: {
      if (log.id.size() != n) throw OpeError(c.path + ": a per-decision candidate needs decision ids in the log");
      for (size_t i = 0; i < n; ++i) {
        const auto it = c.by_id.find(log.id[i]);
        if (it == c.by_id.end())
          throw OpeError(c.path + ": no distribution for decision " + log.id[i] + " of " + src +
                         " (a per-decision candidate must cover every logged decision)");
        for (const auto& [a, p] : it->second) d.p[i * d.n_arms + a] = p;
      }
      break;
    }
  }
  return d;
}

}  // namespace disco::eval::ope
