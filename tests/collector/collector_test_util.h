// Helpers shared by the collector tests (tests/collector) and its load generator
// (bench/collector): wall clock, temp folders removed at exit, a child process logging to a file,
// a free loopback port, the port a collector prints when it listens (and waiting for it), SIGPIPE
// ignored. Header-only; collector_http_util.h adds the signed-request headers (httplib).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace disco::collector::test_util {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every temp path made by make_temp_dir (and its siblings "<path>.*" and "<path>-*", the logs) is
// removed at exit, unless DISCO_KEEP_TEST_DIRS is set (to look at a failure).
struct TempCleanup {
  std::vector<std::string> paths;
  ~TempCleanup() {
    if (std::getenv("DISCO_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    for (const auto& p : paths) {
      std::filesystem::path base(p);
      for (const auto& e : std::filesystem::directory_iterator(base.parent_path(), ec))
        if (const std::string n = e.path().string();
            n == p || n.rfind(p + ".", 0) == 0 || n.rfind(p + "-", 0) == 0)
          std::filesystem::remove_all(e.path(), ec);
    }
  }
};

// A fresh, empty folder "<temp>/<stem>-<pid>", removed at exit (see TempCleanup).
inline std::string make_temp_dir(const std::string& stem) {
  static TempCleanup cleanup;
  auto p = std::filesystem::temp_directory_path() / (stem + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  cleanup.paths.push_back(p.string());
  return p.string();
}

// A child process whose stdout/stderr go to a file. Killed (SIGKILL) when it goes out of scope.
struct Child {
  pid_t pid = -1;
  std::string log;
  Child() = default;
  Child(const std::vector<std::string>& argv, const std::string& logfile) { start(argv, logfile); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void start(const std::vector<std::string>& argv, const std::string& logfile) {
    log = logfile;
    std::filesystem::remove(logfile);  // never read a previous run's lines
    pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test/bench, even if it crashes
      int fd = ::open(logfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  std::string output() const {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bool alive() const { return pid > 0 && ::kill(pid, 0) == 0 && waitpid(pid, nullptr, WNOHANG) == 0; }
  void kill9() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  // SIGTERM, then SIGKILL when it has not exited within 5 s. The wait status, or -1 when killed
  // (or not running).
  int terminate() {
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill9();
    return -1;
  }
  long rss_kb() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
  }
  ~Child() { kill9(); }
};

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int p = ntohs(a.sin_port);
  close(fd);
  return p;
}

// The port of the collector's "listening on HOST:PORT " line in `out`, or 0 when not there yet.
inline int listening_port(const std::string& out) {
  auto p = out.find("listening on ");
  if (p == std::string::npos) return 0;
  auto c = out.find(':', p + 13), sp = out.find(' ', c);
  if (c == std::string::npos || sp == std::string::npos) return 0;
  return std::stoi(out.substr(c + 1, sp - c - 1));
}

// Waits (50 ms steps, at most `tries`) for the collector in `c` to print its "listening on" line;
// its port, or 0 when it exited or never listened.
inline int wait_listening(const Child& c, int tries = 300) {
  for (int i = 0; i < tries; ++i) {
    if (int port = listening_port(c.output())) return port;
    if (!c.alive()) return listening_port(c.output());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

// Clients write bodies a server may refuse before reading them all: no SIGPIPE deaths in any
// binary that includes this header.
inline const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace disco::collector::test_util
