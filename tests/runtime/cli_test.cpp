// The `disco` CLI end to end: inspect a signed-free bundle, replay a small canonical events.csv
// (unknown items and bad rows counted), decisions CSV columns and guardrails.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace fs = std::filesystem;

namespace {
std::string run(const std::string& cmd, int* rc) {
  // one file per process: ctest runs each test of this file as its own process, in parallel
  const std::string out_file = (fs::temp_directory_path() / ("disco_cli_test_out_" + std::to_string(::getpid()) + ".txt")).string();
  *rc = std::system((cmd + " > " + out_file + " 2>&1").c_str());
  std::ifstream f(out_file);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
std::vector<std::string> split(const std::string& line) {  // RFC 4180 fields of one line
  std::vector<std::string> r(1);
  bool q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') r.back() += '"', ++i;
      else if (c == '"') q = false;
      else r.back() += c;
    } else if (c == '"') q = true;
    else if (c == ',') r.emplace_back();
    else r.back() += c;
  }
  return r;
}
std::string sa_contents(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST(RuntimeCli, InspectAndReplay) {
  const fs::path dir = fs::temp_directory_path() / ("disco_cli_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spec = disco::make_synthetic_spec(rt_test::small_options(500, 16, 16, 5));
  for (uint32_t i = 0; i < 500; ++i) spec.catalog.item_ids[i] = "i" + std::to_string(i);
  spec.guardrails.max_discount = 0.10f;
  spec.guardrails.margin_floor = 0.30f;
  spec.metrics = {{"hr@20", 0.42}};
  auto r = disco::build_bundle(spec);
  ASSERT_TRUE(r.ok()) << r.error;
  const std::string bundle = (dir / "m.disco").string();
  std::ofstream(bundle, std::ios::binary).write(reinterpret_cast<const char*>(r.bytes.data()), long(r.bytes.size()));

  int rc = 0;
  std::string out = run(std::string(DISCO_CLI) + " inspect " + bundle, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("schema        1.0"), std::string::npos) << out;
  EXPECT_NE(out.find("item_emb"), std::string::npos);
  EXPECT_NE(out.find("hr@20"), std::string::npos);
  EXPECT_NE(out.find("free-shipping"), std::string::npos);
  EXPECT_NE(out.find("max_discount 0.1"), std::string::npos);
  EXPECT_NE(out.find("signature     none"), std::string::npos);

  const std::string events = (dir / "events.csv").string();
  {
    std::ofstream e(events);
    e << "user_id,session_id,ts,type,item_id,price,quantity\n";
    for (int u = 0; u < 20; ++u)
      for (int k = 0; k < 6; ++k) {
        const int item = (u * 37 + k * 11) % 500;
        const char* type = k % 3 == 2 ? "cart" : (k % 3 == 1 ? "click" : "view");
        e << "u" << u << ",s" << u << "," << 1700000000000LL + u * 100000 + k * 1000 << "," << type << ",i" << item
          << ",12.5,1\n";
      }
    e << "u1,s1,1700000009000,view,NOT-AN-ITEM,1,1\n";
    e << "u1,s1,1700000009500,view,NOT-AN-ITEM,1,1\n";
    e << "u2,s2,notanumber,view,i3,1,1\n";
    e << "u3,s3,1700000009000,teleport,i3,1,1\n";
    e << "\"u,4\",s4,1700000009000,CART,i7,2.5,1\n";  // quoted field with a comma, upper-case type
  }
  const std::string decisions = (dir / "decisions.csv").string();
  out = run(std::string(DISCO_CLI) + " replay " + bundle + " " + events + " --seed 7 --out " + decisions, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("rows with unknown items 2 (1 distinct ids)"), std::string::npos) << out;
  EXPECT_NE(out.find("bad rows 2"), std::string::npos) << out;
  EXPECT_NE(out.find("guardrail violations 0"), std::string::npos) << out;
  std::ifstream d(decisions);
  std::string line;
  std::getline(d, line);
  EXPECT_EQ(line,
            "decision_id,user_id,session_id,ts,item_id,arm,arm_name,discount,propensity,bandit_arm,"
            "purchase_propensity,expires_at_ms,guardrails,price,cost,margin_after_discount");
  int rows = 0;
  while (std::getline(d, line)) {
    auto f = split(line);
    ASSERT_EQ(f.size(), 16u) << line;
    ++rows;
    EXPECT_EQ(f[0].size(), 32u);
    const float discount = std::stof(f[7]), prop = std::stof(f[8]), price = std::stof(f[13]), cost = std::stof(f[14]);
    EXPECT_LE(discount, 0.10f + 1e-6f) << line;
    EXPECT_GT(prop, 0.0f);
    EXPECT_LE(prop, 1.0f);
    if (std::stoi(f[5]) != 0) EXPECT_GE(price * (1 - discount) - cost, 0.30f * price - 1e-3f) << line;
  }
  // 20 shoppers x 2 cart events, plus the quoted shopper's CART row (written back quoted).
  EXPECT_EQ(rows, 41);
  EXPECT_NE(sa_contents(decisions).find("\"u,4\""), std::string::npos);
  // Same seed, same file -> identical decisions.
  const std::string decisions2 = (dir / "decisions2.csv").string();
  run(std::string(DISCO_CLI) + " replay " + bundle + " " + events + " --seed 7 --out " + decisions2, &rc);
  std::ifstream a(decisions), b(decisions2);
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  EXPECT_EQ(sa.str(), sb.str());
  // Errors name the file.
  out = run(std::string(DISCO_CLI) + " inspect " + events, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("not a disco bundle"), std::string::npos) << out;
  fs::remove_all(dir);
}

// `disco inspect --pubkey OLD --pubkey NEW` (a key rotation): the key whose id is the bundle's
// key_id verifies it; with only the other key the bundle is refused (exit 2).
TEST(RuntimeCli, InspectVerifiesWithTheKeyNamedByTheBundlesKeyId) {
  const fs::path dir = fs::temp_directory_path() / ("disco_cli_keys_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int rc = 0;
  for (const char* k : {"old", "new"}) {
    const std::string pem = (dir / (std::string(k) + ".pem")).string(), der = (dir / (std::string(k) + ".der")).string();
    std::string out = run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + pem +
                              " && openssl pkey -in " + pem + " -pubout -outform DER -out " + der, &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  auto r = disco::build_signed_bundle(disco::make_synthetic_spec(rt_test::small_options(50, 8, 8, 5)),
                                      sa_contents((dir / "new.pem").string()));
  ASSERT_TRUE(r.ok()) << r.error;
  const std::string bundle = (dir / "new.disco").string();
  std::ofstream(bundle, std::ios::binary).write(reinterpret_cast<const char*>(r.bytes.data()), long(r.bytes.size()));
  const std::string cli = std::string(DISCO_CLI) + " inspect " + bundle + " --pubkey ";
  std::string out = run(cli + (dir / "old.der").string() + " --pubkey " + (dir / "new.der").string(), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify        OK with " + (dir / "new.der").string()), std::string::npos) << out;
  out = run(cli + (dir / "old.der").string(), &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;
  fs::remove_all(dir);
}

TEST(RuntimeCli, InspectPrintsTheOfferPolicy) {
  const fs::path dir = fs::temp_directory_path() / ("disco_cli_policy_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spec = disco::make_synthetic_spec(rt_test::small_options(100, 8, 8, 5));
  spec.arms[1].lifetime_s = 1800;
  spec.arms[2].scope = 1;
  spec.arms[2].categories = {1, 3};
  spec.arms[2].window_start_ms = 1795737600000;  // 2026-11-27T00:00:00Z
  spec.arms[2].window_end_ms = 1795996800000;    // 2026-11-30T00:00:00Z
  spec.arms[3].brands = {4};
  spec.arms[3].excluded_items = {7, 9};
  spec.arms.push_back({"site-10-off-50", disco::ArmKindSpec::FixedAmount, 10.0f, 0.0f});
  spec.arms.back().scope = 2;
  spec.arms.back().min_spend = 50.0f;
  spec.guardrails.max_discounted_offers = 20;
  spec.offer_policy = R"({"version":1,"description":"winter"})";
  auto r = disco::build_bundle(spec);
  ASSERT_TRUE(r.ok()) << r.error;
  const std::string bundle = (dir / "p.disco").string();
  std::ofstream(bundle, std::ios::binary).write(reinterpret_cast<const char*>(r.bytes.data()), long(r.bytes.size()));
  int rc = 0;
  const std::string out = run(std::string(DISCO_CLI) + " inspect " + bundle, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("5%               percent       value 0.05 lifetime 1800s"), std::string::npos) << out;
  EXPECT_NE(out.find("scope category window 2026-11-27T00:00:00Z .. 2026-11-30T00:00:00Z categories 2"), std::string::npos) << out;
  EXPECT_NE(out.find("brands 1 excluded 2"), std::string::npos) << out;
  EXPECT_NE(out.find("scope cart (min_spend 50; not chosen per item)"), std::string::npos) << out;
  EXPECT_NE(out.find("at most 20 discounted offers per shopper"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(offer policy  {"version":1,"description":"winter"})"), std::string::npos) << out;
  // a bundle without a policy says so
  const std::string plain = (dir / "plain.disco").string();
  auto r2 = disco::build_bundle(disco::make_synthetic_spec(rt_test::small_options(100, 8, 8, 5)));
  std::ofstream(plain, std::ios::binary).write(reinterpret_cast<const char*>(r2.bytes.data()), long(r2.bytes.size()));
  EXPECT_NE(run(std::string(DISCO_CLI) + " inspect " + plain, &rc).find("offer policy  (none: the default arms"), std::string::npos);
  fs::remove_all(dir);
}
