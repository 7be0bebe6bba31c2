// Training progress: a redrawn bar on a terminal, plain lines (every few seconds) otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace disco::model {

class Progress {
 public:
  // mode: auto | bar | lines | off ("auto" = bar when stderr is a TTY, else lines).
  explicit Progress(const std::string& mode, std::FILE* out = stderr);
  // step_done/total_steps over the whole run; loss = running mean of the current epoch.
  void update(int epoch, int epochs, int64_t step_done, int64_t total_steps, double loss,
              double events_per_s, bool force = false);
  void line(const std::string& text);  // a message on its own line (clears the bar first)
  void finish();

 private:
  enum class Mode { Bar, Lines, Off } mode_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point last_;
  bool drawn_ = false;
  double steps_per_s_ema_ = 0.0;
  int64_t prev_done_ = -1;
  std::chrono::steady_clock::time_point prev_t_;
};

std::string format_duration(double seconds);

}  // namespace disco::model
