// Shared helpers for the trainer tests: a tiny canonical-CSV store written to a temp folder and a
// way to run disco-train as a child process.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace trainer_test {

inline std::string temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("disco-trainer-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// A store with `n_items` items in 4 categories and `n_sessions` sessions that mostly walk
// item i -> i+1 (learnable), with views, carts and some purchases, spread over 20 days.
inline void write_store(const std::string& dir, int n_items = 40, int n_sessions = 400, uint64_t seed = 7) {
  std::filesystem::create_directories(dir);
  std::ofstream items(dir + "/items.csv");
  items << "item_id,category,brand,price,cost,in_stock\n";
  for (int i = 0; i < n_items; ++i)
    items << "it" << i << ",cat" << (i % 4) << ",b" << (i % 3) << "," << (5 + i) << ".50," << (3 + i) << ".00,1\n";
  std::ofstream ev(dir + "/events.csv");
  ev << "user_id,session_id,ts,type,item_id,price,quantity\n";
  std::mt19937_64 rng(seed);
  const int64_t t0 = 1'700'000'000'000;
  for (int s = 0; s < n_sessions; ++s) {
    int64_t ts = t0 + int64_t(s) * (20LL * 86400 * 1000 / n_sessions);
    int item = int(rng() % uint64_t(n_items));
    const int len = 3 + int(rng() % 6);
    for (int e = 0; e < len; ++e) {
      const bool buy = e == len - 1 && rng() % 3 == 0;
      const char* type = buy ? "purchase" : (rng() % 5 == 0 ? "cart" : "view");
      ev << "u" << (s % 97) << ",s" << s << "," << ts << "," << type << ",it" << item << "," << (5 + item) << ".50,1\n";
      ts += 20'000 + int64_t(rng() % 60'000);
      if (!buy) item = rng() % 4 == 0 ? int(rng() % uint64_t(n_items)) : (item + 1) % n_items;
    }
  }
}

struct RunResult {
  int exit_code = -1;     // -1 when killed by a signal
  int signal = 0;
  std::string output;     // stdout + stderr
};

inline RunResult run(const std::string& args) {
  RunResult r;
  const std::string cmd = std::string(DISCO_TRAIN_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = ::pclose(p);
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  return r;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Small, fast training settings shared by the CLI tests.
inline const char* kTiny =
    " --emb-dim 8 --hidden 16 --batch-size 16 --threads 1 --baselines none --no-runtime-int8 --no-int4"
    " --cold-holdout 0 --progress lines --reference-sessions 5";

}  // namespace trainer_test
