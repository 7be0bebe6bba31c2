#include "disco/collector/metrics.h"

#include <cstdio>

namespace disco::collector {

void Histogram::observe(double s) {
  size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(s * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  char buf[512];
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cum += buckets_[i].load(std::memory_order_relaxed);
    std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), kBounds[i],
                  static_cast<unsigned long long>(cum));
    out += buf;
  }
  cum += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name.c_str(),
                static_cast<unsigned long long>(cum), name.c_str(), sum_us_.load() / 1e6, name.c_str(),
                static_cast<unsigned long long>(count_.load()));
  out += buf;
}

void Metrics::add(const std::string& name, const std::string& labels, uint64_t v) {
  std::lock_guard<std::mutex> lk(mu_);
  counters_[name][labels] += v;
}

void Metrics::set_gauge(const std::string& name, double v) {
  std::lock_guard<std::mutex> lk(mu_);
  gauges_[name] = v;
}

std::string Metrics::render() const {
  std::string out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [name, series] : counters_) {
      out += "# TYPE " + name + " counter\n";
      for (const auto& [labels, v] : series)
        out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
    }
    for (const auto& [name, v] : gauges_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      out += "# TYPE " + name + " gauge\n" + name + " " + buf + "\n";
    }
  }
  commit_seconds.render(out, "disco_collector_storage_commit_seconds",
                        "Duration of one durable storage commit (a group of requests)");
  request_storage_seconds.render(out, "disco_collector_request_storage_seconds",
                                 "Time a request waits from enqueue until its rows are durable");
  return out;
}

}  // namespace disco::collector
