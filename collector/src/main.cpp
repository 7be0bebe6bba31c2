// disco-collector: serve | export. See collector/README.md.
#include <signal.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "disco/collector/config.h"
#include "disco/collector/server.h"

using namespace disco::collector;

static const char* kExportHelp = R"(disco-collector export: the store's log as files for training and evaluation.

  disco-collector export --data DIR --canonical OUT_DIR [--site ID] [--bundle FILE | --no-bundle]
                         [--include-pending]
  disco-collector export --data DIR --out joined.csv [--include-pending]

--canonical OUT_DIR writes the canonical log (trainer/data/README.md) that disco-ingest canonical,
disco-train and disco-eval read as it is:
  items.csv        the catalog of the bundle the collector serves (DIR/bundle.disco, or --bundle
                   FILE), plus items the log priced (decisions, events); omitted if none is known
  events.csv       user_id,session_id,ts,type,item_id,price,quantity (what the SDKs sent; a missing
                   price is the item's catalog price; session_id "-" when none was sent)
  decisions.csv    decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,
                   policy_version,site,mode,shown,holdout,price,cost,context (the runtime's context
                   vector, space-separated; propensity as logged)
  activations.csv  decision_id,ts
  outcomes.csv     decision_id,ts,converted,revenue,margin,late
user_id is the SDK's user_id when it sent one for that shopper, else the 16-hex-digit user key, the
same string in every file. Decisions whose reward window is still open are left out unless
--include-pending; rows not written are counted on stdout. --site exports one site.
--out FILE.csv writes the older joined CSV (one row per decision with its join status).

The path a store follows:
  1. collect   the SDK (browser, Node, edge) posts decisions, activations, outcomes (and, when
               enabled, events) to  disco-collector serve  (POST /v1/events)
  2. export    disco-collector export --data DIR --canonical log/
  3. train     disco-train train --data log/ --out model/ --key private.pem   (the model; reads
               log/ as disco-ingest canonical does) and fit the policy from the same log
               (disco-train policy: warm-start prior, delayed cost, noise scale)
  4. bundle    disco-train export ... --bundle bundle.disco (signed, with the fitted policy)
  5. gate      disco-eval gate --candidate bundle.disco --current CURRENT.disco|fixed:0 --log REPLAYED
               --publish DIR/bundle.disco   (REPLAYED: disco-train policy --write-log; the bundle is
               copied there, atomically, only when the gate promotes it)
  6. serve     GET /v1/bundle serves DIR/bundle.disco (ETag)
  7. sync      edges pull GET /v1/bundle and GET /v1/bandit-state (the fleet statistics,
               FlatBuffers for disco_bandit_import) and hot-swap, keeping their sessions
)";

static int cmd_export(const std::vector<std::string>& args) {
  std::string data, out;
  CanonicalExportOptions copt;
  bool pending = false, no_bundle = false, help = false;
  CLI::App app{"disco-collector export", "disco-collector export"};
  app.set_help_flag();  // kExportHelp is the help
  app.add_flag("-h,--help", help);
  app.add_option("--data", data);
  app.add_option("--out", out);
  app.add_option("--canonical", copt.out_dir);
  app.add_option("--site", copt.site);
  app.add_option("--bundle", copt.bundle_path);
  app.add_flag("--no-bundle", no_bundle);
  app.add_flag("--include-pending", pending);
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them last first
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "export: %s\n\n%s", e.what(), kExportHelp);
    return 2;
  }
  if (help) {
    std::fputs(kExportHelp, stdout);
    return 0;
  }
  const bool canonical = app.count("--canonical") > 0;
  if (no_bundle) copt.bundle_path = std::string(1, '-');  // (not = "-": GCC 12 -Wrestrict false positive)
  if (data.empty() || (out.empty() && !canonical)) {
    std::fprintf(stderr, "export: --data DIR and --canonical OUT_DIR (or --out FILE.csv) are required\n\n%s", kExportHelp);
    return 2;
  }
  if (canonical) {
    copt.data_dir = data;
    copt.include_pending = pending;
    std::fputs(export_canonical(copt).text().c_str(), stdout);
  }
  if (!out.empty()) {
    size_t n = export_joined_csv(data, out, pending);
    std::printf("exported %zu joined decisions to %s\n", n, out.c_str());
  }
  return 0;
}

static int cmd_serve(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") {
      std::fputs(config_usage().c_str(), stdout);
      return 0;
    }
  Config cfg = parse_config_args(args);
  check_config(cfg);
  // Signals are handled by one thread (sigwait): SIGINT/SIGTERM stop the server cleanly; SIGHUP
  // reads the same config file(s) and flags again and installs their site, site_key and
  // write_key lines (key rotation and removal without a restart; other settings need one).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Collector c(cfg);
  int port = c.bind();
  std::printf("disco-collector listening on %s:%d (storage %s, data %s)\n", cfg.host.c_str(), port,
              cfg.storage.c_str(), cfg.data_dir.c_str());
  std::fflush(stdout);
  std::thread sig([&c, set, args] {
    for (;;) {
      int s = 0;
      if (sigwait(&set, &s) != 0) continue;
      if (s != SIGHUP) break;
      try {
        const std::string line = c.reload_keys(args);
        std::printf("disco-collector: SIGHUP: %s\n", line.c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "disco-collector: SIGHUP: keys not reloaded, the previous keys stay in force: %s\n", e.what());
      }
      std::fflush(stdout);
    }
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
