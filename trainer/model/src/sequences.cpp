#include "disco/model/sequences.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace disco::model {

int price_bucket(float price, int nb) {
  if (nb <= 0 || !(price > 0.0f)) return 0;
  const double b = std::floor(2.0 * std::log2(1.0 + double(price)));
  return int(std::clamp(b, 0.0, double(nb - 1)));
}

int gap_bucket(double gap_s, int ng) {
  if (ng <= 0 || !(gap_s > 0.0)) return 0;
  const double b = std::floor(std::log2(1.0 + gap_s));
  return int(std::clamp(b, 0.0, double(ng - 1)));
}

std::vector<EventFeatures> session_features(const data::Dataset& ds, const data::Session& s,
                                            const FeatureSpec& fs) {
  std::vector<EventFeatures> out;
  out.reserve(s.end - s.begin);
  int64_t prev_ts = 0;
  for (uint32_t e = s.begin; e < s.end; ++e) {
    const data::Event& ev = ds.events[e];
    float price = ev.price;
    if (!(price > 0.0f) && ev.item < ds.items.size()) price = ds.items[ev.item].price;
    const double gap = e == s.begin ? 0.0 : double(ev.ts_ms - prev_ts) / 1000.0;
    prev_ts = ev.ts_ms;
    out.push_back({int32_t(ev.item), uint8_t(ev.type), uint8_t(price_bucket(price, fs.price_buckets)),
                   uint8_t(gap_bucket(gap, fs.gap_buckets))});
  }
  return out;
}

Sequences build_sequences(const data::Dataset& ds, const std::vector<uint32_t>& session_ids,
                          const FeatureSpec& fs, int max_len, const std::vector<uint8_t>* skip_item) {
  Sequences out;
  std::vector<EventFeatures> f;
  std::vector<uint8_t> label;
  for (uint32_t sid : session_ids) {
    const data::Session& s = ds.sessions.at(sid);
    f = session_features(ds, s, fs);
    if (skip_item) {
      std::vector<EventFeatures> kept;
      kept.reserve(f.size());
      for (const auto& x : f)
        if (!(size_t(x.item) < skip_item->size() && (*skip_item)[x.item])) kept.push_back(x);
      f.swap(kept);
    }
    const int64_t n = int64_t(f.size());
    if (n < 2) continue;
    // purchase later in the session?
    label.assign(n, 0);
    bool later = false;
    for (int64_t t = n - 1; t >= 0; --t) {
      label[t] = later ? 1 : 0;
      if (f[t].type == uint8_t(data::EventType::Purchase)) later = true;
    }
    const int64_t step = max_len - 1;
    for (int64_t start = 0; start < n - 1; start += step) {
      const int64_t end = std::min(n, start + max_len);
      for (int64_t t = start; t < end; ++t) {
        out.item.push_back(f[t].item);
        out.type.push_back(f[t].type);
        out.pbucket.push_back(f[t].pbucket);
        out.gbucket.push_back(f[t].gbucket);
        out.prop_label.push_back(label[t]);
        const bool tgt = t + 1 < end;
        out.has_target.push_back(tgt ? 1 : 0);
        out.transitions += tgt;
        out.purchases += label[t];
      }
      out.offsets.push_back(int64_t(out.item.size()));
      if (end == n) break;
    }
  }
  return out;
}

Batch make_batch(const Sequences& seqs, const std::vector<int64_t>& ids) {
  Batch b;
  b.B = int(ids.size());
  for (int64_t s : ids) b.T = std::max<int>(b.T, int(seqs.length(size_t(s))));
  const size_t n = size_t(b.B) * size_t(b.T);
  b.item.assign(n, 0);
  b.type.assign(n, 0);
  b.pbucket.assign(n, 0);
  b.gbucket.assign(n, 0);
  for (int r = 0; r < b.B; ++r) {
    const int64_t o = seqs.offsets[size_t(ids[r])];
    const int64_t L = seqs.length(size_t(ids[r]));
    for (int64_t t = 0; t < L; ++t) {
      const int64_t p = int64_t(r) * b.T + t;
      b.item[p] = seqs.item[o + t];
      b.type[p] = seqs.type[o + t];
      b.pbucket[p] = seqs.pbucket[o + t];
      b.gbucket[p] = seqs.gbucket[o + t];
      b.valid_pos.push_back(p);
      b.prop_label.push_back(float(seqs.prop_label[o + t]));
      if (seqs.has_target[o + t]) {
        b.next_pos.push_back(p);
        b.next_target.push_back(seqs.item[o + t + 1]);
      }
    }
    b.events += L;
  }
  return b;
}

std::vector<std::vector<int64_t>> epoch_plan(const Sequences& seqs, int batch_size, uint64_t seed,
                                             int epoch) {
  std::vector<int64_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + uint64_t(epoch) * 0xD1B54A32D192ED03ULL + 1);
  // Fisher-Yates with our own index draw (std::shuffle's use of the engine is implementation-defined).
  auto draw = [&](uint64_t bound) { return rng() % bound; };
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[draw(i)]);
  const size_t block = size_t(batch_size) * 32;
  for (size_t b = 0; b < order.size(); b += block) {
    const size_t e = std::min(order.size(), b + block);
    std::stable_sort(order.begin() + long(b), order.begin() + long(e),
                     [&](int64_t x, int64_t y) { return seqs.length(size_t(x)) < seqs.length(size_t(y)); });
  }
  std::vector<std::vector<int64_t>> plan;
  for (size_t b = 0; b < order.size(); b += size_t(batch_size))
    plan.emplace_back(order.begin() + long(b), order.begin() + long(std::min(order.size(), b + size_t(batch_size))));
  for (size_t i = plan.size(); i > 1; --i) std::swap(plan[i - 1], plan[draw(i)]);
  return plan;
}

std::vector<std::vector<int64_t>> ordered_plan(const Sequences& seqs, int batch_size) {
  std::vector<std::vector<int64_t>> plan;
  for (size_t b = 0; b < seqs.size(); b += size_t(batch_size)) {
    plan.emplace_back();
    for (size_t s = b; s < std::min(seqs.size(), b + size_t(batch_size)); ++s) plan.back().push_back(int64_t(s));
  }
  return plan;
}

std::vector<double> item_counts(const Sequences& seqs, int n_items) {
  std::vector<double> c(size_t(n_items), 0.0);
  for (int32_t i : seqs.item)
    if (i >= 0 && i < n_items) c[size_t(i)] += 1.0;
  return c;
}

}  // namespace disco::model
