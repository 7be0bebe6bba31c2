// Prometheus text-format metrics: counters by label, and fixed-bucket latency histograms.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace disco::collector {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
                                                     0.064,  0.128, 0.256, 0.512, 1.024, 2.048, 4.096};
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

class Metrics {
 public:
  // name{labels} += v ; labels is the text inside the braces, e.g. path="/v1/events",code="200"
  void add(const std::string& name, const std::string& labels, uint64_t v = 1);
  void set_gauge(const std::string& name, double v);
  Histogram commit_seconds;    // one storage transaction (group commit) or JetStream publish+ack
  Histogram request_storage_seconds;  // a request's wait from enqueue to durable
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, uint64_t>> counters_;
  std::map<std::string, double> gauges_;
};

}  // namespace disco::collector
