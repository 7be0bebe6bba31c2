// disco-collector: serve | export. See collector/README.md.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "disco/collector/config.h"
#include "disco/collector/server.h"

using namespace disco::collector;

static int cmd_export(const std::vector<std::string>& args) {
  std::string data, out;
  bool pending = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data" && i + 1 < args.size()) data = args[++i];
    else if (args[i] == "--out" && i + 1 < args.size()) out = args[++i];
    else if (args[i] == "--include-pending") pending = true;
    else {
      std::fprintf(stderr, "export: unknown argument '%s'\n%s", args[i].c_str(), config_usage().c_str());
      return 2;
    }
  }
  if (data.empty() || out.empty()) {
    std::fprintf(stderr, "export: --data DIR and --out FILE.csv are required\n");
    return 2;
  }
  size_t n = export_joined_csv(data, out, pending);
  std::printf("exported %zu joined decisions to %s\n", n, out.c_str());
  return 0;
}

static int cmd_serve(const std::vector<std::string>& args) {
  Config cfg = parse_config_args(args);
  check_config(cfg);
  // Signals are handled by one thread (sigwait) so the server stops cleanly on SIGINT/SIGTERM.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Collector c(cfg);
  int port = c.bind();
  std::printf("disco-collector listening on %s:%d (storage %s, data %s)\n", cfg.host.c_str(), port,
              cfg.storage.c_str(), cfg.data_dir.c_str());
  std::fflush(stdout);
  std::thread sig([&] {
    int s = 0;
    sigwait(&set, &s);
    c.stop();
  });
  sig.detach();
  c.serve();
  std::printf("disco-collector stopped\n");
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string cmd = "serve";
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    cmd = args[0];
    args.erase(args.begin());
  }
  try {
    if (cmd == "serve") return cmd_serve(args);
    if (cmd == "export") return cmd_export(args);
    if (cmd == "help" || cmd == "-h") {
      std::fputs(config_usage().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "unknown command '%s'\n%s", cmd.c_str(), config_usage().c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-collector: %s\n", e.what());
    return 1;
  }
}
