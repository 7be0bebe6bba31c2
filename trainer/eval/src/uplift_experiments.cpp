// Uplift experiments: 50/50 splits, every learner fitted on one half and scored on the other, and
// the comparisons of the shared datasets (hillstrom, starbucks-offers) and of canonical logs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <unordered_map>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "disco/eval/uplift.h"
#include "uplift_base.h"

namespace disco::eval::uplift {

std::string LearnerSpec::name() const { return std::string(to_string(learner)) + "/" + to_string(base); }

double LearnerResult::mean(double SplitScore::*m) const {
  if (splits.empty()) return NAN;
  double s = 0;
  for (const auto& x : splits) s += x.*m;
  return s / static_cast<double>(splits.size());
}

double LearnerResult::sd(double SplitScore::*m) const {
  if (splits.size() < 2) return NAN;
  const double mu = mean(m);
  double s = 0;
  for (const auto& x : splits) s += (x.*m - mu) * (x.*m - mu);
  return std::sqrt(s / static_cast<double>(splits.size() - 1));
}

std::vector<size_t> half_split(const UpliftData& d, uint64_t seed) {
  const size_t n = d.rows();
  std::vector<size_t> train;
  if (!d.group.empty()) {
    std::vector<uint32_t> groups(d.group.begin(), d.group.end());
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    std::vector<size_t> order(groups.size());
    std::iota(order.begin(), order.end(), size_t{0});
    detail::shuffle(order, seed);
    std::vector<uint8_t> in_train(groups.size(), 0);
    for (size_t k = 0; k < order.size() / 2; ++k) in_train[order[k]] = 1;
    for (size_t i = 0; i < n; ++i) {
      const size_t g = static_cast<size_t>(std::lower_bound(groups.begin(), groups.end(), d.group[i]) - groups.begin());
      if (in_train[g]) train.push_back(i);
    }
    return train;
  }
  std::map<std::pair<int, int>, std::vector<size_t>> strata;  // (arm, y > 0)
  for (size_t i = 0; i < n; ++i) strata[{d.arm[i], d.y[i] > 0 ? 1 : 0}].push_back(i);
  size_t k = 0;
  for (auto& [key, rows] : strata) {
    detail::shuffle(rows, seed + 0x100 * (++k));
    const size_t take = rows.size() / 2 + ((rows.size() % 2) && (k % 2) ? 1 : 0);
    train.insert(train.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take));
  }
  std::sort(train.begin(), train.end());
  return train;
}

namespace {

std::vector<LearnerSpec> all_learners() {
  std::vector<LearnerSpec> out;
  for (BaseKind b : {BaseKind::Xgb, BaseKind::Linear})
    for (LearnerKind l : {LearnerKind::T, LearnerKind::S, LearnerKind::X, LearnerKind::DR, LearnerKind::CT})
      out.push_back({l, b});
  return out;
}

std::vector<uint8_t> treatment_of(const UpliftData& d) {
  std::vector<uint8_t> t(d.rows());
  for (size_t i = 0; i < d.rows(); ++i) t[i] = d.arm[i] == 1 ? 1 : 0;
  return t;
}

double weighted_ate(const UpliftData& d) {
  double s[2] = {0, 0}, w[2] = {0, 0};
  for (size_t i = 0; i < d.rows(); ++i) {
    const int g = d.arm[i] == 1 ? 1 : 0;
    const double wi = d.weight.empty() ? 1.0 : d.weight[i];
    s[g] += wi * d.y[i];
    w[g] += wi;
  }
  return (w[1] > 0 ? s[1] / w[1] : 0) - (w[0] > 0 ? s[0] / w[0] : 0);
}

}  // namespace

std::vector<ComparisonResult> run_comparisons(const std::vector<Comparison>& cs, const ExperimentOptions& opt) {
  const std::vector<LearnerSpec> learners = opt.learners.empty() ? all_learners() : opt.learners;
  if (opt.splits < 1) throw UpliftError("uplift experiment: splits must be >= 1");
  std::vector<ComparisonResult> out(cs.size());
  std::vector<std::vector<std::vector<size_t>>> train(cs.size());
  for (size_t c = 0; c < cs.size(); ++c) {
    const Comparison& cmp = cs[c];
    cmp.data.validate();
    if (!cmp.truth.empty() && cmp.truth.size() != cmp.data.rows())
      throw UpliftError(cmp.dataset + " " + cmp.name + ": " + std::to_string(cmp.truth.size()) + " true effects for " +
                        std::to_string(cmp.data.rows()) + " rows");
    for (int a : cmp.data.arm)
      if (a != 0 && a != 1)
        throw UpliftError(cmp.dataset + " " + cmp.name + ": a comparison's arms are 1 (treated) and 0 (control), got " +
                          std::to_string(a));
    ComparisonResult& r = out[c];
    r.dataset = cmp.dataset;
    r.name = cmp.name;
    r.target = cmp.target;
    r.binary = cmp.binary;
    r.has_truth = !cmp.truth.empty();
    r.rows = cmp.data.rows();
    r.features = cmp.data.n_features();
    r.notes = cmp.data.notes;
    double sy[2] = {0, 0};
    for (size_t i = 0; i < r.rows; ++i) {
      const int g = cmp.data.arm[i];
      (g ? r.treated : r.control)++;
      sy[g] += cmp.data.y[i];
    }
    r.treated_mean = r.treated ? sy[1] / static_cast<double>(r.treated) : NAN;
    r.control_mean = r.control ? sy[0] / static_cast<double>(r.control) : NAN;
    if (r.has_truth) r.true_ate = std::accumulate(cmp.truth.begin(), cmp.truth.end(), 0.0) / static_cast<double>(r.rows);
    for (const auto& l : learners) {
      LearnerResult lr;
      lr.name = l.name();
      lr.learner = l.learner;
      lr.base = l.base;
      lr.splits.resize(static_cast<size_t>(opt.splits));
      r.learners.push_back(std::move(lr));
    }
    r.constant.resize(static_cast<size_t>(opt.splits));
    for (int s = 0; s < opt.splits; ++s) train[c].push_back(half_split(cmp.data, opt.seed * 1000 + static_cast<uint64_t>(s)));
  }

  struct Task {
    size_t c, s, l;  // l == learners.size(): the split's constant predictor and perfect curve
  };
  std::vector<Task> tasks;
  for (size_t c = 0; c < cs.size(); ++c)
    for (size_t s = 0; s < static_cast<size_t>(opt.splits); ++s)
      for (size_t l = 0; l <= learners.size(); ++l) tasks.push_back({c, s, l});
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  std::exception_ptr err;
  auto worker = [&] {
    for (;;) {
      const size_t k = next.fetch_add(1);
      if (k >= tasks.size()) return;
      {
        std::lock_guard<std::mutex> lock(err_mu);
        if (err) return;
      }
      const Task task = tasks[k];
      try {
        const Comparison& cmp = cs[task.c];
        const std::vector<size_t>& tr_rows = train[task.c][task.s];
        std::vector<size_t> te_rows;
        {
          size_t j = 0;
          for (size_t i = 0; i < cmp.data.rows(); ++i) {
            if (j < tr_rows.size() && tr_rows[j] == i) {
              ++j;
              continue;
            }
            te_rows.push_back(i);
          }
        }
        const UpliftData tr = cmp.data.subset(tr_rows), te = cmp.data.subset(te_rows);
        const std::vector<uint8_t> t_tr = treatment_of(tr), t_te = treatment_of(te);
        std::vector<double> truth;
        for (size_t i : te_rows)
          if (!cmp.truth.empty()) truth.push_back(cmp.truth[i]);
        ComparisonResult& r = out[task.c];
        if (task.l == learners.size()) {
          SplitScore sc;
          const double ate = weighted_ate(tr);
          std::vector<double> pred(te.rows(), ate);
          sc.qini = 0;  // every row tied: the Qini curve is the baseline
          sc.uplift30 = NAN;
          sc.pehe = truth.empty() ? NAN : pehe(pred, truth);
          r.constant[task.s] = sc;
          if (task.s == 0) r.perfect_curve = thin(perfect_qini_curve(te.y, t_te), opt.curve_points);
          continue;
        }
        const LearnerSpec& spec = learners[task.l];
        LearnerConfig lc;
        lc.learner = spec.learner;
        lc.base = spec.base;
        lc.xgb = opt.xgb;
        lc.linear = opt.linear;
        lc.seed = opt.seed * 7919 + task.s;
        const auto t0 = std::chrono::steady_clock::now();
        const auto model = fit_pair(tr.x.data(), tr.rows(), tr.n_features(), tr.y, t_tr, tr.weight, cmp.binary, lc);
        std::vector<double> pred(te.rows());
        model->predict(te.x.data(), te.rows(), pred.data());
        SplitScore sc;
        sc.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        sc.qini = qini_auc_score(te.y, pred, t_te);
        sc.uplift30 = uplift_at_k(te.y, pred, t_te, 0.3);
        sc.pehe = truth.empty() ? NAN : pehe(pred, truth);
        r.learners[task.l].splits[task.s] = sc;
        if (task.s == 0) r.learners[task.l].qini_curve = thin(qini_curve(te.y, pred, t_te), opt.curve_points);
      } catch (...) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!err) err = std::current_exception();
      }
    }
  };
  const int nt = std::max(1, opt.threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < nt; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
  return out;
}

// ---------------------------------------------------------------------------------------------
namespace {

std::string arm_name(const data::Dataset& ds, int a) {
  return static_cast<size_t>(a) < ds.arm_names.size() ? ds.arm_names[static_cast<size_t>(a)] : "arm " + std::to_string(a);
}

// Rows of `all` whose arm is `treated` (-> 1) or in `control` (-> 0); y replaced by `y` if given.
Comparison make_pair_comparison(const UpliftData& all, int treated, const std::set<int>& control,
                                const std::vector<double>* y, const std::vector<uint8_t>* keep) {
  std::vector<size_t> rows;
  for (size_t i = 0; i < all.rows(); ++i)
    if ((all.arm[i] == treated || control.count(all.arm[i])) && (!keep || (*keep)[i])) rows.push_back(i);
  Comparison c;
  c.data = all.subset(rows);
  for (size_t k = 0; k < rows.size(); ++k) {
    c.data.arm[k] = all.arm[rows[k]] == treated ? 1 : 0;
    if (y) c.data.y[k] = (*y)[rows[k]];
  }
  c.binary = std::all_of(c.data.y.begin(), c.data.y.end(), [](double v) { return v == 0.0 || v == 1.0; });
  return c;
}

// The outcome label `name` of each decision (joined by decision id).
std::vector<double> label_of(const data::Dataset& ds, const std::string& name) {
  size_t li = ds.outcome_label_names.size();
  for (size_t k = 0; k < ds.outcome_label_names.size(); ++k)
    if (ds.outcome_label_names[k] == name) li = k;
  if (li == ds.outcome_label_names.size()) throw UpliftError(ds.name + ": no outcome label '" + name + "'");
  const size_t nl = ds.outcome_label_names.size();
  std::unordered_map<uint64_t, size_t> by_id;
  for (size_t i = 0; i < ds.outcomes.size(); ++i) by_id[ds.outcomes[i].id_hi * 1000003ULL ^ ds.outcomes[i].id_lo] = i;
  std::vector<double> y(ds.decisions.size(), 0.0);
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    const auto it = by_id.find(ds.decisions[i].id_hi * 1000003ULL ^ ds.decisions[i].id_lo);
    if (it != by_id.end()) y[i] = ds.outcome_labels[it->second * nl + li];
  }
  return y;
}

}  // namespace

std::vector<Comparison> hillstrom_comparisons(const std::string& dir, const std::vector<std::string>& targets) {
  const data::Dataset ds = data::read_hillstrom(dir);
  std::vector<Comparison> out;
  for (const std::string& target : targets) {
    LogTableOptions lo;
    std::vector<double> label;
    const std::vector<double>* y = nullptr;
    if (target == "visit") {
      label = label_of(ds, "visit");
      y = &label;
    } else if (target == "conversion") {
      lo.target = LogTarget::Conversion;
    } else if (target == "spend") {
      lo.target = LogTarget::Revenue;
    } else {
      throw UpliftError("hillstrom: unknown target '" + target + "' (expected visit, conversion or spend)");
    }
    UpliftData all = uplift_data_from_log(ds, lo);
    all.group.clear();  // one row per customer: stratified split
    for (int a : {2, 1}) {
      Comparison c = make_pair_comparison(all, a, {0}, y, nullptr);
      c.dataset = "hillstrom";
      c.name = arm_name(ds, a) + " vs " + arm_name(ds, 0);
      c.target = target;
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<Comparison> starbucks_comparisons(const std::string& dir, const std::vector<std::string>& targets) {
  const data::Dataset ds = data::read_starbucks(dir);
  UpliftData all = uplift_data_from_log(ds);
  // The offer's own attributes describe the arm, not the customer: never features of its effect
  // (with the two informational offers pooled as control, duration and channels would reveal t).
  {
    const std::set<std::string> drop = {"reward", "difficulty", "duration_h", "ch_web", "ch_email", "ch_mobile", "ch_social"};
    std::vector<size_t> keep;
    for (size_t j = 0; j < all.n_features(); ++j)
      if (!drop.count(all.feature_names[j])) keep.push_back(j);
    UpliftData t = all;
    t.feature_names.clear();
    t.x.clear();
    for (size_t j : keep) t.feature_names.push_back(all.feature_names[j]);
    for (size_t i = 0; i < all.rows(); ++i)
      for (size_t j : keep) t.x.push_back(all.row(i)[j]);
    all = std::move(t);
  }
  std::set<int> placebo;
  std::vector<int> offers;
  for (size_t a = 0; a < ds.arm_names.size(); ++a) {
    if (ds.arm_names[a].rfind("informational", 0) == 0) placebo.insert(static_cast<int>(a));
    else offers.push_back(static_cast<int>(a));
  }
  if (placebo.empty()) throw UpliftError(dir + ": no informational offer to serve as the placebo");
  std::vector<Comparison> out;
  for (const std::string& target : targets) {
    std::vector<double> y;
    std::vector<uint8_t> keep;
    std::string note;
    if (target == "completion") {
      note = "completion of an informational offer is undefined (no spend threshold, no reward): the data has 0 for "
             "every one, so the placebo's outcome is a structural 0 and an offer's effect here is its completion "
             "probability, which also counts customers who would have spent the threshold anyway (an upper bound "
             "on the causal effect)";
    } else if (target == "next_completion") {
      // completion of the customer's next bogo/discount offer (a later receipt), defined under both arms
      std::vector<std::vector<size_t>> by_user(ds.user_ids.size());
      for (size_t i = 0; i < ds.decisions.size(); ++i) by_user[ds.decisions[i].user].push_back(i);
      y.assign(ds.decisions.size(), 0.0);
      keep.assign(ds.decisions.size(), 0);
      size_t none = 0;
      for (const auto& rows : by_user)
        for (size_t i : rows) {
          size_t best = SIZE_MAX;
          for (size_t j : rows)
            if (ds.decisions[j].ts_ms > ds.decisions[i].ts_ms && !placebo.count(ds.decisions[j].arm) &&
                (best == SIZE_MAX || ds.decisions[j].ts_ms < ds.decisions[best].ts_ms))
              best = j;
          if (best == SIZE_MAX) {
            ++none;
            continue;
          }
          keep[i] = 1;
          y[i] = ds.outcomes[best].converted ? 1.0 : 0.0;  // read_starbucks keeps outcomes parallel to decisions
        }
      note = "y = completion of the customer's next bogo/discount offer (defined under both arms); " +
             std::to_string(none) + " offers without a later one left out";
    } else {
      throw UpliftError("starbucks: unknown target '" + target + "' (expected completion or next_completion)");
    }
    for (int a : offers) {
      Comparison c = make_pair_comparison(all, a, placebo, y.empty() ? nullptr : &y, keep.empty() ? nullptr : &keep);
      c.dataset = "starbucks-offers";
      c.name = arm_name(ds, a) + " vs informational";
      c.target = target;
      c.data.notes.push_back(note);
      c.data.notes.push_back("features: the customer's profile and offer history before the offer (" +
                             std::to_string(c.data.n_features()) + "); split by customer");
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<Comparison> log_comparisons(const data::Dataset& ds, const std::vector<std::string>& targets,
                                        int control_arm) {
  std::vector<Comparison> out;
  for (const std::string& target : targets) {
    LogTableOptions lo;
    if (!parse_log_target(target, lo.target))
      throw UpliftError("unknown target '" + target + "' (expected conversion, margin or revenue)");
    const UpliftData all = uplift_data_from_log(ds, lo);
    std::set<int> arms(all.arm.begin(), all.arm.end());
    if (!arms.count(control_arm))
      throw UpliftError("log " + ds.name + ": no decision with the control arm " + std::to_string(control_arm));
    for (int a : arms) {
      if (a == control_arm) continue;
      Comparison c = make_pair_comparison(all, a, {control_arm}, nullptr, nullptr);
      c.dataset = ds.name.empty() ? "log" : ds.name;
      c.name = arm_name(ds, a) + " vs " + arm_name(ds, control_arm);
      c.target = to_string(lo.target);
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace disco::eval::uplift
