#include "disco/eval/baselines.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

namespace disco::eval {

namespace {

void check_out(std::span<float> out, size_t n_items, const char* who) {
  if (out.size() != n_items)
    throw std::invalid_argument(std::string(who) + ": scores_out has " + std::to_string(out.size()) +
                                " entries, the fitted catalog has " + std::to_string(n_items));
}

void check_fit_input(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions, const char* who) {
  if (ds.items.empty()) throw std::invalid_argument(std::string(who) + ": the dataset has no items");
  if (train_sessions.empty()) throw std::invalid_argument(std::string(who) + ": no training sessions");
  for (uint32_t s : train_sessions) {
    if (s >= ds.sessions.size())
      throw std::out_of_range(std::string(who) + ": training session " + std::to_string(s) + " out of range (" +
                              std::to_string(ds.sessions.size()) + " sessions; was sessionize() run?)");
    const auto& ss = ds.sessions[s];
    if (ss.begin > ss.end || ss.end > ds.events.size())
      throw std::out_of_range(std::string(who) + ": session " + std::to_string(s) + " has an invalid event range");
    for (uint32_t e = ss.begin; e < ss.end; ++e)
      if (ds.events[e].item >= ds.items.size())
        throw std::out_of_range(std::string(who) + ": event " + std::to_string(e) + " has an item index out of range");
  }
}

// Scratch space per thread for the session-kNN models (score() is const and may run concurrently).
struct KnnScratch {
  std::vector<double> acc;        // per local session: overlap count or weighted overlap
  std::vector<uint32_t> touched;  // local sessions with acc != 0
  std::vector<uint8_t> mark;      // per local session: touched
  std::vector<double> item_acc;   // per item: score
  std::vector<uint32_t> item_touched;
  void reserve(size_t n_sessions, size_t n_items) {
    if (acc.size() < n_sessions) {
      acc.assign(n_sessions, 0.0);
      mark.assign(n_sessions, 0);
    }
    if (item_acc.size() < n_items) item_acc.assign(n_items, 0.0);
  }
};
thread_local KnnScratch tl_scratch;

// Keeps the `n` most recent of the touched sessions (last event time descending, then the later
// local index first: a deterministic order for equal times).
void keep_most_recent(std::vector<uint32_t>& sess, size_t n, const std::vector<int64_t>& time) {
  if (n == 0 || sess.size() <= n) return;
  auto newer = [&](uint32_t a, uint32_t b) { return time[a] != time[b] ? time[a] > time[b] : a > b; };
  std::nth_element(sess.begin(), sess.begin() + static_cast<std::ptrdiff_t>(n), sess.end(), newer);
  sess.resize(n);
}

// The k most similar (similarity descending, then lower local index first).
void keep_top_k(std::vector<std::pair<uint32_t, double>>& nb, size_t k) {
  auto better = [](const std::pair<uint32_t, double>& a, const std::pair<uint32_t, double>& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  if (nb.size() > k) {
    std::nth_element(nb.begin(), nb.begin() + static_cast<std::ptrdiff_t>(k), nb.end(), better);
    nb.resize(k);
  }
  std::sort(nb.begin(), nb.end(), better);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Popularity

void Popularity::fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) {
  check_fit_input(ds, train_sessions, "pop");
  std::vector<uint64_t> cnt(ds.items.size(), 0);
  for (uint32_t s : train_sessions)
    for (uint32_t e = ds.sessions[s].begin; e < ds.sessions[s].end; ++e) ++cnt[ds.events[e].item];
  scores_.assign(ds.items.size(), 0.f);
  for (size_t i = 0; i < cnt.size(); ++i)
    scores_[i] = static_cast<float>(static_cast<double>(cnt[i]) / (static_cast<double>(cnt[i]) + 1.0));
  // Funnel-cell conversion rates over the same cases evaluate_propensity() scores.
  double pos[kFunnelCells] = {}, n[kFunnelCells] = {};
  double all_pos = 0, all_n = 0;
  std::vector<uint8_t> types;
  for (uint32_t s : train_sessions) {
    const auto& ss = ds.sessions[s];
    const size_t len = ss.end - ss.begin;
    if (len < 2) continue;
    types.clear();
    size_t first_purchase = len;
    for (size_t i = 0; i < len; ++i) {
      types.push_back(static_cast<uint8_t>(ds.events[ss.begin + i].type));
      if (ds.events[ss.begin + i].type == data::EventType::Purchase && first_purchase == len) first_purchase = i;
    }
    const double label = first_purchase < len ? 1.0 : 0.0;
    for (size_t t = 1; t <= std::min(first_purchase, len - 1); ++t) {
      const size_t c = funnel_cell(std::span<const uint8_t>(types).first(t));
      pos[c] += label;
      n[c] += 1;
      all_pos += label;
      all_n += 1;
    }
  }
  has_purchases_ = all_pos > 0;
  const double prior = all_n > 0 ? all_pos / all_n : 0.0;
  for (size_t c = 0; c < kFunnelCells; ++c)  // shrink sparse cells towards the overall rate
    cell_rate_[c] = static_cast<float>((pos[c] + 2.0 * prior) / (n[c] + 2.0));
}

size_t Popularity::funnel_cell(std::span<const uint8_t> types) {
  bool cart = false, click = false;
  for (uint8_t t : types) {
    cart |= t == static_cast<uint8_t>(data::EventType::Cart) || t == static_cast<uint8_t>(data::EventType::Remove);
    click |= t == static_cast<uint8_t>(data::EventType::Click);
  }
  const size_t len_bucket = std::min<size_t>(std::max<size_t>(types.size(), 1), 5) - 1;  // 0..4
  return (cart ? 10 : 0) + (click ? 5 : 0) + len_bucket;
}

float Popularity::propensity(std::span<const uint32_t>, std::span<const uint8_t> types) const {
  return cell_rate_[funnel_cell(types)];
}

void Popularity::score(std::span<const uint32_t>, std::span<const uint8_t>, std::span<float> out) const {
  check_out(out, scores_.size(), "pop");
  std::copy(scores_.begin(), scores_.end(), out.begin());
}

// ---------------------------------------------------------------------------------------------
// Item-kNN

void ItemKnn::fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) {
  check_fit_input(ds, train_sessions, "iknn");
  if (o_.n_sims <= 0) throw std::invalid_argument("iknn: n_sims must be positive");
  n_items_ = ds.items.size();
  const size_t m = train_sessions.size();
  // Session -> (item, count); item -> (session, count); support = events per item.
  std::vector<uint32_t> s_offs(m + 1, 0);
  std::vector<std::pair<uint32_t, uint32_t>> s_items;
  std::vector<double> supp(n_items_, 0.0);
  std::vector<uint32_t> tmp;
  for (size_t ls = 0; ls < m; ++ls) {
    const auto& ss = ds.sessions[train_sessions[ls]];
    tmp.clear();
    for (uint32_t e = ss.begin; e < ss.end; ++e) tmp.push_back(ds.events[e].item);
    std::sort(tmp.begin(), tmp.end());
    for (size_t i = 0; i < tmp.size();) {
      size_t j = i;
      while (j < tmp.size() && tmp[j] == tmp[i]) ++j;
      s_items.emplace_back(tmp[i], static_cast<uint32_t>(j - i));
      supp[tmp[i]] += static_cast<double>(j - i);
      i = j;
    }
    s_offs[ls + 1] = static_cast<uint32_t>(s_items.size());
  }
  std::vector<uint32_t> i_offs(n_items_ + 1, 0);
  for (const auto& [it, c] : s_items) ++i_offs[it + 1];
  for (size_t i = 0; i < n_items_; ++i) i_offs[i + 1] += i_offs[i];
  std::vector<std::pair<uint32_t, uint32_t>> i_sess(s_items.size());
  {
    std::vector<uint32_t> pos(i_offs.begin(), i_offs.end() - 1);
    for (size_t ls = 0; ls < m; ++ls)
      for (uint32_t k = s_offs[ls]; k < s_offs[ls + 1]; ++k)
        i_sess[pos[s_items[k].first]++] = {static_cast<uint32_t>(ls), s_items[k].second};
  }
  std::vector<double> acc(n_items_, 0.0);
  std::vector<uint32_t> touched;
  std::vector<std::pair<uint32_t, float>> cand;
  offs_.assign(n_items_ + 1, 0);
  sims_.clear();
  for (uint32_t i = 0; i < n_items_; ++i) {
    touched.clear();
    for (uint32_t k = i_offs[i]; k < i_offs[i + 1]; ++k) {
      const auto [ls, ci] = i_sess[k];
      for (uint32_t q = s_offs[ls]; q < s_offs[ls + 1]; ++q) {
        const uint32_t j = s_items[q].first;
        if (j == i) continue;
        if (acc[j] == 0.0) touched.push_back(j);
        // Each event of i counts every other item of its session once (session-rec's ItemKNN adds
        // 1 per distinct co-occurring item per event of i), so repeats of j do not multiply.
        acc[j] += static_cast<double>(ci);
      }
    }
    cand.clear();
    const double ni = std::pow(supp[i] + o_.lambda, o_.alpha);
    for (uint32_t j : touched) {
      double norm = ni * std::pow(supp[j] + o_.lambda, 1.0 - o_.alpha);
      if (norm == 0) norm = 1;
      cand.emplace_back(j, static_cast<float>(acc[j] / norm));
      acc[j] = 0.0;
    }
    auto better = [](const std::pair<uint32_t, float>& a, const std::pair<uint32_t, float>& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    const size_t keep = std::min<size_t>(cand.size(), static_cast<size_t>(o_.n_sims));
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(), better);
    sims_.insert(sims_.end(), cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep));
    offs_[i + 1] = static_cast<uint32_t>(sims_.size());
  }
}

std::span<const std::pair<uint32_t, float>> ItemKnn::neighbours(uint32_t i) const {
  if (i >= n_items_) return {};
  return std::span<const std::pair<uint32_t, float>>(sims_).subspan(offs_[i], offs_[i + 1] - offs_[i]);
}

void ItemKnn::score(std::span<const uint32_t> prefix, std::span<const uint8_t>, std::span<float> out) const {
  check_out(out, n_items_, "iknn");
  std::fill(out.begin(), out.end(), 0.f);
  if (prefix.empty()) return;
  for (const auto& [j, s] : neighbours(prefix.back())) out[j] = s;
}

// ---------------------------------------------------------------------------------------------
// Session index shared by sknn / vsknn

void SessionIndex::build(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) {
  n_items = ds.items.size();
  const size_t m = train_sessions.size();
  sess_offs.assign(m + 1, 0);
  sess_items.clear();
  sess_time.assign(m, 0);
  item_events.assign(n_items, 0);
  std::vector<uint32_t> tmp;
  for (size_t ls = 0; ls < m; ++ls) {
    const auto& ss = ds.sessions[train_sessions[ls]];
    tmp.clear();
    int64_t last = std::numeric_limits<int64_t>::min();
    for (uint32_t e = ss.begin; e < ss.end; ++e) {
      tmp.push_back(ds.events[e].item);
      ++item_events[ds.events[e].item];
      last = std::max(last, ds.events[e].ts_ms);
    }
    std::sort(tmp.begin(), tmp.end());
    tmp.erase(std::unique(tmp.begin(), tmp.end()), tmp.end());
    sess_items.insert(sess_items.end(), tmp.begin(), tmp.end());
    sess_offs[ls + 1] = static_cast<uint32_t>(sess_items.size());
    sess_time[ls] = ss.begin < ss.end ? last : 0;
  }
  item_offs.assign(n_items + 1, 0);
  for (uint32_t it : sess_items) ++item_offs[it + 1];
  for (size_t i = 0; i < n_items; ++i) item_offs[i + 1] += item_offs[i];
  item_sess.assign(sess_items.size(), 0);
  std::vector<uint32_t> pos(item_offs.begin(), item_offs.end() - 1);
  for (size_t ls = 0; ls < m; ++ls)
    for (uint32_t k = sess_offs[ls]; k < sess_offs[ls + 1]; ++k) item_sess[pos[sess_items[k]]++] = static_cast<uint32_t>(ls);
}

// ---------------------------------------------------------------------------------------------
// Session-kNN (cosine)

void SessionKnn::fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) {
  check_fit_input(ds, train_sessions, "sknn");
  if (o_.k <= 0 || o_.sample_size < 0) throw std::invalid_argument("sknn: k must be positive and sample_size >= 0");
  idx_.build(ds, train_sessions);
}

void SessionKnn::score(std::span<const uint32_t> prefix, std::span<const uint8_t>, std::span<float> out) const {
  check_out(out, idx_.n_items, "sknn");
  std::fill(out.begin(), out.end(), 0.f);
  if (prefix.empty()) return;
  KnnScratch& sc = tl_scratch;
  sc.reserve(idx_.n_sessions(), idx_.n_items);
  std::vector<uint32_t> cur(prefix.begin(), prefix.end());
  std::sort(cur.begin(), cur.end());
  cur.erase(std::unique(cur.begin(), cur.end()), cur.end());
  sc.touched.clear();
  for (uint32_t it : cur) {
    if (it >= idx_.n_items) continue;
    for (uint32_t k = idx_.item_offs[it]; k < idx_.item_offs[it + 1]; ++k) {
      const uint32_t s = idx_.item_sess[k];
      if (!sc.mark[s]) {
        sc.mark[s] = 1;
        sc.touched.push_back(s);
      }
      sc.acc[s] += 1.0;
    }
  }
  std::vector<uint32_t> sample = sc.touched;
  keep_most_recent(sample, static_cast<size_t>(o_.sample_size), idx_.sess_time);
  std::vector<std::pair<uint32_t, double>> nb;
  nb.reserve(sample.size());
  const double len_cur = static_cast<double>(cur.size());
  for (uint32_t s : sample) {
    const double len_nb = static_cast<double>(idx_.sess_offs[s + 1] - idx_.sess_offs[s]);
    const double sim = sc.acc[s] / std::sqrt(len_cur * len_nb);
    if (sim > 0) nb.emplace_back(s, sim);
  }
  for (uint32_t s : sc.touched) {
    sc.acc[s] = 0.0;
    sc.mark[s] = 0;
  }
  keep_top_k(nb, static_cast<size_t>(o_.k));
  sc.item_touched.clear();
  for (const auto& [s, sim] : nb)
    for (uint32_t k = idx_.sess_offs[s]; k < idx_.sess_offs[s + 1]; ++k) {
      const uint32_t it = idx_.sess_items[k];
      if (sc.item_acc[it] == 0.0) sc.item_touched.push_back(it);
      sc.item_acc[it] += sim;
    }
  for (uint32_t it : sc.item_touched) {
    out[it] = static_cast<float>(sc.item_acc[it]);
    sc.item_acc[it] = 0.0;
  }
}

// ---------------------------------------------------------------------------------------------
// V-SKNN

namespace {
double position_weight(PositionWeight w, size_t i, size_t len) {  // i = 1 .. len
  const double di = static_cast<double>(i), dl = static_cast<double>(len);
  switch (w) {
    case PositionWeight::Same: return 1.0;
    case PositionWeight::Linear: return i <= 10 ? 1.0 - 0.1 * (dl - di) : 0.0;
    case PositionWeight::Div: return di / dl;
    case PositionWeight::Log: return 1.0 / std::log10((dl - di) + 1.7);
    case PositionWeight::Quadratic: return (di / dl) * (di / dl);
  }
  return 1.0;
}
double score_decay(ScoreDecay d, size_t step) {  // step = 1 for the last prefix item
  const double s = static_cast<double>(step);
  switch (d) {
    case ScoreDecay::Same: return 1.0;
    case ScoreDecay::Linear: return step <= 100 ? 1.0 - 0.1 * s : 0.0;
    case ScoreDecay::Div: return 1.0 / s;
    case ScoreDecay::Log: return 1.0 / std::log10(s + 1.7);
    case ScoreDecay::Quadratic: return 1.0 / (s * s);
  }
  return 1.0;
}
}  // namespace

void Vsknn::fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) {
  check_fit_input(ds, train_sessions, "vsknn");
  if (o_.k <= 0 || o_.sample_size < 0) throw std::invalid_argument("vsknn: k must be positive and sample_size >= 0");
  idx_.build(ds, train_sessions);
  idf_.assign(idx_.n_items, 0.0);
  const double n_sess = static_cast<double>(idx_.n_sessions());
  for (size_t i = 0; i < idx_.n_items; ++i)
    if (idx_.item_events[i] > 0) idf_[i] = std::log(n_sess / static_cast<double>(idx_.item_events[i]));
}

void Vsknn::score(std::span<const uint32_t> prefix, std::span<const uint8_t>, std::span<float> out) const {
  check_out(out, idx_.n_items, "vsknn");
  std::fill(out.begin(), out.end(), 0.f);
  if (prefix.empty()) return;
  KnnScratch& sc = tl_scratch;
  sc.reserve(idx_.n_sessions(), idx_.n_items);
  const size_t len = prefix.size();
  // Weight of each distinct prefix item: the weight of its last occurrence.
  std::vector<std::pair<uint32_t, double>> w;
  w.reserve(len);
  for (size_t c = 1; c <= len; ++c) w.emplace_back(prefix[c - 1], position_weight(o_.weighting, c, len));
  std::stable_sort(w.begin(), w.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<uint32_t, double>> wd;  // distinct items, last occurrence's weight
  for (size_t i = 0; i < w.size(); ++i)
    if (i + 1 == w.size() || w[i + 1].first != w[i].first) wd.push_back(w[i]);
  const double n_distinct = static_cast<double>(wd.size());
  sc.touched.clear();
  for (const auto& [it, wt] : wd) {
    if (it >= idx_.n_items) continue;
    for (uint32_t k = idx_.item_offs[it]; k < idx_.item_offs[it + 1]; ++k) {
      const uint32_t s = idx_.item_sess[k];
      if (!sc.mark[s]) {
        sc.mark[s] = 1;
        sc.touched.push_back(s);
      }
      sc.acc[s] += wt;
    }
  }
  std::vector<uint32_t> sample = sc.touched;
  keep_most_recent(sample, static_cast<size_t>(o_.sample_size), idx_.sess_time);
  std::vector<std::pair<uint32_t, double>> nb;
  nb.reserve(sample.size());
  for (uint32_t s : sample) {
    const double sim = sc.acc[s] / n_distinct;
    if (sim > 0) nb.emplace_back(s, sim);
  }
  for (uint32_t s : sc.touched) {
    sc.acc[s] = 0.0;
    sc.mark[s] = 0;
  }
  keep_top_k(nb, static_cast<size_t>(o_.k));
  std::vector<uint32_t> cur_sorted;
  if (!o_.remind) {
    cur_sorted.assign(prefix.begin(), prefix.end());
    std::sort(cur_sorted.begin(), cur_sorted.end());
  }
  sc.item_touched.clear();
  for (const auto& [s, sim] : nb) {
    const uint32_t* b = idx_.sess_items.data() + idx_.sess_offs[s];
    const uint32_t* e = idx_.sess_items.data() + idx_.sess_offs[s + 1];
    size_t step = 1;
    for (size_t r = len; r-- > 0; ++step)
      if (std::binary_search(b, e, prefix[r])) break;
    const double decay = score_decay(o_.weighting_score, step);
    for (const uint32_t* p = b; p != e; ++p) {
      const uint32_t it = *p;
      if (!o_.remind && std::binary_search(cur_sorted.begin(), cur_sorted.end(), it)) continue;
      const double v = (sim + sim * idf_[it] * o_.idf_weighting) * decay;
      if (sc.item_acc[it] == 0.0) sc.item_touched.push_back(it);
      sc.item_acc[it] += v;
    }
  }
  for (uint32_t it : sc.item_touched) {
    out[it] = static_cast<float>(sc.item_acc[it]);
    sc.item_acc[it] = 0.0;
  }
}

// ---------------------------------------------------------------------------------------------
// BPR-MF

namespace {
// Portable uniform integer in [0, n): the standard distributions are implementation-defined, this
// keeps results identical across standard libraries for a fixed seed.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
}  // namespace

void BprMf::fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions_in) {
  check_fit_input(ds, train_sessions_in, "bpr");
  // SGD visits (session, item) pairs in a seeded order built from the list: in index order, the
  // fit does not depend on how the caller ordered the sessions (disco-eval passes them by start
  // time, disco-train train + valid by index: the same split gave two BPR figures)
  std::vector<uint32_t> train_sessions = train_sessions_in;
  std::sort(train_sessions.begin(), train_sessions.end());
  if (o_.factors <= 0 || o_.epochs < 0) throw std::invalid_argument("bpr: factors must be positive, epochs >= 0");
  n_items_ = ds.items.size();
  const int f = o_.factors;
  const size_t m = train_sessions.size();
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (local session, item), one per event
  trained_.assign(n_items_, 0);
  for (size_t ls = 0; ls < m; ++ls) {
    const auto& ss = ds.sessions[train_sessions[ls]];
    for (uint32_t e = ss.begin; e < ss.end; ++e) {
      pairs.emplace_back(static_cast<uint32_t>(ls), ds.events[e].item);
      trained_[ds.events[e].item] = 1;
    }
  }
  if (pairs.empty()) throw std::invalid_argument("bpr: the training sessions hold no events");
  std::vector<uint32_t> items;
  for (uint32_t i = 0; i < n_items_; ++i)
    if (trained_[i]) items.push_back(i);
  std::mt19937_64 rng(o_.seed);
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat U(m, f), I(n_items_, f);
  auto init = [&](Mat& M) {
    for (Eigen::Index r = 0; r < M.rows(); ++r)
      for (Eigen::Index c = 0; c < M.cols(); ++c)
        M(r, c) = static_cast<float>((uniform01(rng) * 2.0 - 1.0) * o_.init_sigma);
  };
  init(U);
  init(I);
  Eigen::VectorXf b = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(n_items_));
  const float lr = static_cast<float>(o_.learning_rate), reg = static_cast<float>(o_.reg);
  std::vector<uint32_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0u);
  epoch_loss_.clear();
  Eigen::VectorXf uf(f), pf(f), nf(f);
  for (int ep = 0; ep < o_.epochs; ++ep) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
    double loss = 0;
    for (uint32_t idx : order) {
      const auto [u, p] = pairs[idx];
      uint32_t n = items[uniform_below(rng, items.size())];
      if (n == p) {
        if (items.size() == 1) continue;
        n = items[uniform_below(rng, items.size())];
        if (n == p) continue;
      }
      uf = U.row(u);
      pf = I.row(p);
      nf = I.row(n);
      const float x = uf.dot(pf - nf) + b[p] - b[n];
      const float sig = 1.f / (1.f + std::exp(-x));  // sigmoid(x)
      const float c = 1.f - sig;                     // d(-log sigmoid)/dx = -(1 - sigmoid)
      loss += -std::log(std::max(sig, 1e-12f));
      U.row(u) += lr * (c * (pf - nf) - reg * uf);
      I.row(p) += lr * (c * uf - reg * pf);
      I.row(n) += lr * (-c * uf - reg * nf);
      b[p] += lr * (c - reg * b[p]);
      b[n] += lr * (-c - reg * b[n]);
    }
    epoch_loss_.push_back(loss / static_cast<double>(order.size()));
  }
  item_f_.assign(I.data(), I.data() + I.size());
  item_b_.assign(b.data(), b.data() + b.size());
}

void BprMf::score(std::span<const uint32_t> prefix, std::span<const uint8_t>, std::span<float> out) const {
  check_out(out, n_items_, "bpr");
  const int f = o_.factors;
  using CMat = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  CMat I(item_f_.data(), static_cast<Eigen::Index>(n_items_), f);
  Eigen::VectorXf u = Eigen::VectorXf::Zero(f);
  int n = 0;
  for (uint32_t it : prefix)
    if (it < n_items_ && trained_[it]) {
      u += I.row(it).transpose();
      ++n;
    }
  if (n > 0) u /= static_cast<float>(n);
  Eigen::Map<Eigen::VectorXf> o(out.data(), static_cast<Eigen::Index>(n_items_));
  o.noalias() = I * u;
  const float lowest = std::numeric_limits<float>::lowest();
  for (size_t i = 0; i < n_items_; ++i) out[i] = trained_[i] ? out[i] + item_b_[i] : lowest;
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> baseline_names() { return {"pop", "iknn", "sknn", "vsknn", "bpr"}; }

std::unique_ptr<Recommender> make_baseline(std::string_view name) {
  if (name == "pop") return std::make_unique<Popularity>();
  if (name == "iknn") return std::make_unique<ItemKnn>();
  if (name == "sknn") return std::make_unique<SessionKnn>();
  if (name == "vsknn") return std::make_unique<Vsknn>();
  if (name == "bpr") return std::make_unique<BprMf>();
  std::string known;
  for (const auto& n : baseline_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown baseline '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace disco::eval
