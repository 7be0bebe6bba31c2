// The collector's export is a training set: SDK-shaped batches posted to the real disco-collector
// (decisions from a real runtime with their context, string user ids, holdout, activations,
// outcomes, events) -> `disco-collector export --canonical` -> `disco-ingest canonical` reads it
// with zero dropped rows -> `disco-train train` trains a tiny model from that export alone, and
// `disco-eval` evaluates baselines on it.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "../runtime/test_util.h"
#include "collector_http_util.h"
#include "collector_test_util.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "export-key";
const std::string kSecret = "export-secret-0123456789";

struct Exec {
  int code = -1;
  std::string out;
};
Exec run(const std::string& cmd) {
  Exec r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  // the files written here quote only fields with commas/quotes; enough for these checks
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::string cur;
    bool q = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (q) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
        else if (c == '"') q = false;
        else cur += c;
      } else if (c == '"') q = true;
      else if (c == ',') f.push_back(cur), cur.clear();
      else cur += c;
    }
    f.push_back(cur);
    rows.push_back(f);
  }
  return rows;
}

int column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  ADD_FAILURE() << "no column " << name;
  return 0;
}

struct Posted {
  size_t events = 0, decisions = 0, outcomes = 0, activations = 0, holdout = 0;
  std::set<std::string> user_ids;  // SDK user ids sent
};

}  // namespace

TEST(CollectorExport, CanonicalExportIsATrainingSet) {
  const std::string root = make_temp_dir("disco-cexport");
  const std::string data = root + "/data";
  fs::create_directories(data);
  // The store's bundle (its catalog becomes items.csv) and a runtime over it making the decisions.
  auto spec = disco::make_synthetic_spec(rt_test::small_options(60, 8, 8, 17));
  rt_test::BundleHolder bh(spec);
  std::ofstream(data + "/bundle.disco", std::ios::binary)
      .write(reinterpret_cast<const char*>(bh.bytes.data()), static_cast<long>(bh.bytes.size()));
  disco_runtime* rt = rt_test::make_runtime(bh.bundle, 3);

  Child col({DISCO_COLLECTOR_BIN, "serve", "--port", "0", "--data", data, "--site", "shop:" + kKey + ":" + kSecret,
             "--reward-window-ms", "120000", "--sweep-interval-ms", "50"},
            root + "/collector.log");
  const int port = wait_listening(col);
  ASSERT_GT(port, 0) << col.output();
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  auto post = [&](const Batch& b, bool fb) {
    const std::string body = fb ? encode_flatbuffers(b) : encode_json(b);
    auto r = c.Post("/v1/events", signed_headers_for(kKey, kSecret, body), body,
                    fb ? "application/x-flatbuffers" : "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  };

  // 120 shoppers over 20 days, one batch per visit as an SDK would send it: the visit's events
  // (type names as the SDK writes them), one decision from the runtime with its context, its
  // activation (most), its outcome (purchase or not). A third have no user_id (the export uses
  // their 16-hex user key); one in ten is in the holdout.
  Posted sent;
  std::mt19937_64 rng(11);
  const int64_t t0 = now_ms() - 20LL * 86'400'000;
  uint64_t seq = 0;
  for (int v = 0; v < 360; ++v) {
    const int shopper = v % 120;
    const uint64_t user_key = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(shopper + 1);
    const std::string user_id = shopper % 3 == 0 ? "" : "cust-" + std::to_string(1000 + shopper) + "@shop.example";
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(rt, user_key, &s), DISCO_OK);
    Batch b;
    b.sender_id = "browser-" + std::to_string(shopper);
    b.seq = ++seq;
    int64_t ts = t0 + static_cast<int64_t>(v) * (20LL * 86'400'000 / 360);
    b.sent_at_ms = ts;
    uint32_t item = static_cast<uint32_t>(rng() % 60);
    const int len = 3 + static_cast<int>(rng() % 5);
    for (int e = 0; e < len; ++e) {
      Event ev;
      ev.user_key = user_key;
      ev.session_id = "sess-" + std::to_string(v);
      ev.ts_ms = ts;
      ev.type = static_cast<uint8_t>(e == len - 1 && rng() % 3 == 0 ? 4 : (rng() % 4 == 0 ? 2 : 0));
      ev.item_id = spec.catalog.item_ids[item];
      ev.price = (e % 2) ? 0 : spec.catalog.price[item];  // the SDK may leave the price to the catalog
      ev.quantity = 1;
      disco_event de = rt_test::ev(ts, item, ev.type, static_cast<float>(ev.price));
      ASSERT_EQ(disco_observe(s, &de), DISCO_OK);
      b.events.push_back(ev);
      ts += 15'000 + static_cast<int64_t>(rng() % 40'000);
      if (rng() % 3 == 0) item = static_cast<uint32_t>(rng() % 60);
    }
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, item, ts, 0, 0, &o), DISCO_OK) << disco_last_error();
    Decision d;
    d.id = {o.decision_hi, o.decision_lo};
    d.ts_ms = ts;
    d.user_key = user_key;
    d.user_id = user_id;
    d.item_id = spec.catalog.item_ids[item];
    d.holdout = shopper % 10 == 7;
    d.arm = static_cast<uint16_t>(d.holdout ? 0 : o.arm);
    d.discount = d.holdout ? 0 : o.discount;
    d.propensity = d.holdout ? 1.0 : o.propensity;
    d.model_version = "synthetic-17";
    d.policy_version = "p1";
    d.price = spec.catalog.price[item];
    d.cost = spec.catalog.cost[item];
    d.context.assign(o.context, o.context + o.context_dim);
    b.decisions.push_back(d);
    if (rng() % 5 != 0) b.activations.push_back(Activation{d.id, ts + 200});
    const bool bought = rng() % 4 == 0;
    b.outcomes.push_back(Outcome{d.id, ts + 60'000, bought, bought ? d.price : 0, bought ? d.price - d.cost : 0});
    sent.events += b.events.size();
    sent.decisions += 1;
    sent.outcomes += 1;
    sent.activations += b.activations.size();
    sent.holdout += d.holdout;
    if (!user_id.empty()) sent.user_ids.insert(user_id);
    post(b, v % 4 == 0);
    disco_session_free(s);
  }
  disco_runtime_free(rt);
  // Every decision is days old: its window (2 min) closes at the next sweep (outcomes joined before).
  std::this_thread::sleep_for(500ms);
  col.terminate();

  const std::string out = root + "/log";
  Exec ex = run(std::string(DISCO_COLLECTOR_BIN) + " export --data " + data + " --canonical " + out);
  ASSERT_EQ(ex.code, 0) << ex.out;
  EXPECT_NE(ex.out.find("360 decisions"), std::string::npos) << ex.out;
  EXPECT_EQ(ex.out.find("not written"), std::string::npos) << ex.out;
  for (const char* f : {"items.csv", "events.csv", "decisions.csv", "activations.csv", "outcomes.csv"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;

  // The files: user ids are the SDK's strings, else the 16-hex user key, the same in both files.
  auto dec = read_csv(out + "/decisions.csv");
  auto evs = read_csv(out + "/events.csv");
  ASSERT_EQ(dec.size(), 361u);
  ASSERT_EQ(evs.size(), sent.events + 1);
  const int du = column(dec[0], "user_id"), dctx = column(dec[0], "context"), dh = column(dec[0], "holdout"),
            dshown = column(dec[0], "shown"), dmode = column(dec[0], "mode"), dsite = column(dec[0], "site");
  std::set<std::string> dec_users, ev_users;
  size_t holdout = 0, shown = 0;
  for (size_t i = 1; i < dec.size(); ++i) {
    dec_users.insert(dec[i][du]);
    holdout += dec[i][dh] == "1";
    shown += dec[i][dshown] == "1";
    EXPECT_EQ(dec[i][dmode], "online");
    EXPECT_EQ(dec[i][dsite], "shop");
    std::istringstream cs(dec[i][dctx]);
    int n = 0;
    float x;
    while (cs >> x) ++n;
    EXPECT_EQ(n, 15) << dec[i][dctx];
  }
  for (size_t i = 1; i < evs.size(); ++i) ev_users.insert(evs[i][0]);
  EXPECT_EQ(dec_users, ev_users);
  EXPECT_EQ(dec_users.size(), 120u);
  for (const std::string& u : sent.user_ids) EXPECT_TRUE(dec_users.count(u)) << u;
  size_t hex_ids = 0;
  for (const std::string& u : dec_users) hex_ids += u.size() == 16 && u.find_first_not_of("0123456789abcdef") == std::string::npos;
  EXPECT_EQ(hex_ids, 40u);
  EXPECT_EQ(holdout, sent.holdout);
  EXPECT_EQ(shown, sent.activations);  // shown = an activation arrived

  // disco-ingest canonical reads it as it is: nothing dropped.
  Exec in = run(std::string(DISCO_INGEST_BIN) + " canonical " + out + " --json " + root + "/quality.json");
  ASSERT_EQ(in.code, 0) << in.out;
  std::ifstream qf(root + "/quality.json");
  json q = json::parse(qf);
  EXPECT_EQ(q["dropped"], json::object()) << q.dump(1);
  EXPECT_EQ(q["rows_read"].get<uint64_t>(), q["rows_kept"].get<uint64_t>());
  EXPECT_EQ(q["rows_kept"].get<uint64_t>(),
            60 + sent.events + sent.decisions + sent.activations + sent.outcomes)
      << q.dump(1);

  // disco-train trains a tiny model from the export alone (no simulator files).
  Exec tr = run(std::string(DISCO_TRAIN_BIN) + " train --data " + out + " --out " + root +
               "/model --epochs 1 --emb-dim 8 --hidden 16 --batch-size 16 --threads 1 --baselines none "
               "--no-runtime-int8 --no-int4 --cold-holdout 0 --progress lines --reference-sessions 5");
  ASSERT_EQ(tr.code, 0) << tr.out;
  ASSERT_TRUE(fs::exists(root + "/model/bundle.disco")) << tr.out;
  std::ifstream bf(root + "/model/bundle.disco", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(bf)), std::istreambuf_iterator<char>());
  disco_bundle* nb = nullptr;
  ASSERT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &nb), DISCO_OK) << disco_last_error();
  disco_bundle_info info{};
  disco_bundle_get_info(nb, &info);
  EXPECT_EQ(info.n_items, 60u);  // the served catalog came through items.csv
  uint32_t idx = 0;
  EXPECT_EQ(disco_bundle_item_index(nb, "item-5", 6, &idx), DISCO_OK);
  disco_bundle_free(nb);

  // disco-eval reads it too (baselines on the export's own split).
  Exec ev = run(std::string(DISCO_EVAL_BIN) + " --dataset canonical --data " + out + " --models pop,iknn --out " + root +
                "/eval");
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_TRUE(fs::exists(root + "/eval/report.json")) << ev.out;

  // The older joined CSV export is still there (the loop reads it).
  Exec j = run(std::string(DISCO_COLLECTOR_BIN) + " export --data " + data + " --out " + root + "/joined.csv");
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_NE(j.out.find("exported 360 joined decisions"), std::string::npos) << j.out;
}

TEST(CollectorExport, HelpDescribesTheStorePath) {
  Exec h = run(std::string(DISCO_COLLECTOR_BIN) + " export --help");
  ASSERT_EQ(h.code, 0);
  for (const char* want : {"--canonical", "disco-ingest canonical", "collect", "export", "train", "disco-train policy",
                           "bundle", "GET /v1/bundle", "GET /v1/bandit-state", "disco_bandit_import"})
    EXPECT_NE(h.out.find(want), std::string::npos) << want;
  Exec bad = run(std::string(DISCO_COLLECTOR_BIN) + " export --data /nonexistent --canonical /tmp/x");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("no collector store here"), std::string::npos) << bad.out;
}
