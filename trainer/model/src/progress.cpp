#include "disco/model/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace disco::model {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  const long t = long(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

Progress::Progress(const std::string& mode, std::FILE* out) : out_(out) {
  if (mode == "off") mode_ = Mode::Off;
  else if (mode == "bar") mode_ = Mode::Bar;
  else if (mode == "lines") mode_ = Mode::Lines;
  else mode_ = isatty(fileno(out)) ? Mode::Bar : Mode::Lines;
  last_ = std::chrono::steady_clock::now() - std::chrono::hours(1);
}

void Progress::update(int epoch, int epochs, int64_t done, int64_t total, double loss, double eps,
                      bool force) {
  if (mode_ == Mode::Off) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (!force && since < (mode_ == Mode::Bar ? 0.2 : 5.0)) return;
  last_ = now;
  const double frac = total > 0 ? double(done) / double(total) : 0.0;
  // ETA from the recent rate in steps: events/s is per event, so use the step rate implied by it.
  if (prev_done_ >= 0 && done > prev_done_) {
    const double dt = std::chrono::duration<double>(now - prev_t_).count();
    const double r = double(done - prev_done_) / std::max(dt, 1e-6);
    steps_per_s_ema_ = steps_per_s_ema_ > 0 ? 0.7 * steps_per_s_ema_ + 0.3 * r : r;
  }
  if (prev_done_ < 0 || done != prev_done_) {
    prev_done_ = done;
    prev_t_ = now;
  }
  const double eta = steps_per_s_ema_ > 0 ? double(total - done) / steps_per_s_ema_ : NAN;
  char stats[200];
  std::snprintf(stats, sizeof stats, "epoch %d/%d  step %lld/%lld  loss %.4f  %.0f events/s  ETA %s",
                epoch, epochs, (long long)done, (long long)total, loss, eps, format_duration(eta).c_str());
  if (mode_ == Mode::Bar) {
    const int width = 28;
    const int fill = int(std::lround(frac * width));
    std::string bar(size_t(fill), '#');
    bar.resize(size_t(width), '.');
    std::fprintf(out_, "\r[%s] %3d%% %s\x1b[K", bar.c_str(), int(frac * 100), stats);
    drawn_ = true;
  } else {
    std::fprintf(out_, "%3d%% %s\n", int(frac * 100), stats);
  }
  std::fflush(out_);
}

void Progress::line(const std::string& text) {
  if (mode_ == Mode::Off) return;
  if (drawn_) std::fprintf(out_, "\r\x1b[K");
  drawn_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Progress::finish() {
  if (mode_ == Mode::Bar && drawn_) std::fprintf(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace disco::model
