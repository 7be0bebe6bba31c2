// The canonical reader (round trip on a fixture), every cleaning reason counted, error messages
// that name file + line, sessionize, time_split and the disco-ingest CLI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "test_util.h"

namespace dd = disco::data;
using disco_test::TempDir;

namespace {

std::string id(int n) {  // 32-hex decision id
  char b[40];
  std::snprintf(b, sizeof b, "%032x", n);
  return b;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dd::IngestError& e) {
    return e.what();
  }
  return "";
}

uint64_t count(const std::map<std::string, uint64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

// The collector's export columns (trainer/data/README.md "Canonical CSV"): context, mode, shown, holdout, price,
// cost, site in decisions.csv, activations.csv, and real string user ids (no u<N> anywhere).
TEST(DataCanonical, CollectorColumnsActivationsAndStringUserIds) {
  TempDir tmp;
  tmp.write("events.csv",
            "user_id,session_id,ts,type,item_id,price,quantity\n"
            "alice@example.com,-,1000,view,sku-1,20,1\n"
            "7f3a9c01d2e4b5a6,s-9,2000,cart,sku-2,5.5,1\n"
            "\"Müller, K.\",-,3000,view,sku-1,20,1\n");
  const std::string head =
      "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,site,mode,shown,holdout,"
      "price,cost,context\n";
  tmp.write("decisions.csv",
            head + id(1) + ",1500,alice@example.com,sku-1,2,0.1,0.25,m1,p1,shop,online,1,0,20,12,1 0.27 0.51 -0.5\n" +
                id(2) + ",2500,7f3a9c01d2e4b5a6,sku-2,0,0,1,m1,p1,shop,ONLINE,0,1,5.5,,1 0 0\n" +   // holdout, cost unknown
                id(3) + ",2600,\"Müller, K.\",sku-1,1,0.05,0.5,m1,p1,,apprentice,true,false,20,12,\n" +  // no context
                id(4) + ",2700,bob,sku-1,1,0.05,0.5,m1,p1,shop,sideways,1,0,20,12,1\n" +   // invalid_mode
                id(5) + ",2800,bob,sku-1,1,0.05,0.5,m1,p1,shop,online,1,0,-3,12,1\n" +     // negative_price
                id(6) + ",2900,bob,sku-1,1,0.05,0.5,m1,p1,shop,online,1,0,20,12,1 x 2\n" + // unparsable_number
                id(7) + ",3000,bob,sku-1,1,0.05,0.5,m1,p1,shop,online,,0,20,12,1\n" +      // missing_field (shown)
                id(8) + ",3100,bob,sku-1,1,0.05,0.5,m1,p1,shop,logging_only,1,0,20,-1,1\n" +  // negative_cost
                id(9) + ",3200,bob,sku-1,1,0.05,0.5,m1,p1,shop,online,1,0,20,12,1 nan\n");  // unparsable_number
  tmp.write("activations.csv", "decision_id,ts\n" + id(1) + ",1600\n" + id(1) + ",1700\n" +  // duplicate_activation
                                   id(42) + ",1800\n" +                                   // orphan_activation
                                   "xyz,1900\n" + id(3) + ",1550\n");                    // malformed; kept (out of order)
  tmp.write("outcomes.csv", "decision_id,ts,converted,revenue,margin,late\n" + id(1) + ",4000,1,18,6,0\n");
  const dd::Dataset ds = dd::read_canonical(tmp.path());
  const auto& q = ds.quality;
  const std::map<std::string, uint64_t> want_dropped = {
      {"duplicate_activation", 1}, {"invalid_mode", 1}, {"malformed_decision_id", 1}, {"missing_field", 1},
      {"negative_cost", 1},        {"negative_price", 1}, {"orphan_activation", 1}, {"unparsable_number", 2}};
  EXPECT_EQ(q.dropped, want_dropped);
  ASSERT_EQ(ds.decisions.size(), 3u);
  const dd::Decision& a = ds.decisions[0];
  EXPECT_EQ(a.context, (std::vector<float>{1.0f, 0.27f, 0.51f, -0.5f}));
  EXPECT_EQ(a.mode, dd::DecisionMode::Online);
  EXPECT_EQ(a.shown, 1);
  EXPECT_FALSE(a.holdout);
  EXPECT_FLOAT_EQ(a.price, 20.0f);
  EXPECT_FLOAT_EQ(a.cost, 12.0f);
  EXPECT_EQ(a.site, "shop");
  EXPECT_EQ(a.arm, 2);
  const dd::Decision& h = ds.decisions[1];
  EXPECT_TRUE(h.holdout);
  EXPECT_EQ(h.shown, 0);
  EXPECT_EQ(h.cost, -1.0f);  // empty: unknown
  EXPECT_EQ(h.context.size(), 3u);
  const dd::Decision& m = ds.decisions[2];
  EXPECT_EQ(m.mode, dd::DecisionMode::Apprentice);
  EXPECT_TRUE(m.context.empty());
  EXPECT_EQ(m.site, "");
  // the same string user id in events.csv and decisions.csv is the same shopper
  EXPECT_EQ(ds.user_ids[a.user], "alice@example.com");
  EXPECT_EQ(ds.user_ids[h.user], "7f3a9c01d2e4b5a6");
  EXPECT_EQ(ds.user_ids[m.user], "Müller, K.");
  EXPECT_EQ(ds.user_ids.size(), 3u);  // bob appears only in dropped rows
  ASSERT_EQ(ds.events.size(), 3u);
  EXPECT_EQ(ds.events[0].user, a.user);  // events sorted by user (first seen: alice), then ts
  ASSERT_EQ(ds.activations.size(), 2u);
  EXPECT_EQ(ds.activations[0].ts_ms, 1550);  // sorted by ts
  EXPECT_EQ(q.repaired.at("out_of_order_ts"), 1u);
  EXPECT_EQ(ds.outcomes.size(), 1u);
  // Without a shown column, an activation marks its decision shown.
  TempDir t2;
  t2.write("events.csv", "user_id,ts,type,item_id\nx,1,view,a\n");
  t2.write("decisions.csv", "decision_id,ts,user_id,item_id,arm,discount,propensity\n" + id(1) + ",5,x,a,0,0,1\n" + id(2) +
                                ",6,x,a,0,0,1\n");
  t2.write("activations.csv", "decision_id,ts\n" + id(2) + ",7\n");
  const dd::Dataset d2 = dd::read_canonical(t2.path());
  ASSERT_EQ(d2.decisions.size(), 2u);
  EXPECT_EQ(d2.decisions[0].shown, -1);
  EXPECT_EQ(d2.decisions[1].shown, 1);
  EXPECT_EQ(d2.decisions[0].mode, dd::DecisionMode::Unknown);
  TempDir t3;
  t3.write("events.csv", "user_id,ts,type,item_id\nx,1,view,a\n");
  t3.write("activations.csv", "decision_id,ts\n" + id(2) + ",7\n");
  EXPECT_NE(error_of([&] { dd::read_canonical(t3.path()); }).find("activations.csv without decisions.csv"), std::string::npos);
}

TEST(DataCanonical, RoundTrip) {
  TempDir tmp;
  tmp.write("items.csv",
            "item_id,category,brand,price,cost,in_stock\n"
            "i1,shoes,acme,50,30,1\n"
            "i2,shoes,bolt,20.5,10,0\n"
            "i3,\"hats, caps\",acme,10,4,true\n");
  tmp.write("events.csv",
            "user_id,session_id,ts,type,item_id,price,quantity\r\n"
            "u1,s1,1000,view,i1,50,1\r\n"
            "u1,s1,61000,cart,i1,50,1\r\n"
            "u1,s1,121000,purchase,i1,50,2\r\n"
            "u2,s9,5000,click,i2,20.5,1\r\n"
            "u1,s2,3721000,view,i3,10,1\r\n"
            "u2,s9,605000,view,i3,10,1\r\n"
            "u2,s10,665000,VIEW,i1,50,1\r\n");
  tmp.write("decisions.csv",
            "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n" + id(1) +
                ",121000,u1,i1,2,0.1,0.25,m1,ts-v1\n" + id(2) + ",700000,u3,i2,0,0,0.5,m1,ts-v1\n");
  tmp.write("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + id(1) + ",200000,1,90,30\n" + id(2) +
                                ",800000,0,0,0\n");
  const dd::Dataset ds = dd::read_canonical(tmp.path());

  ASSERT_EQ(ds.items.size(), 3u);
  EXPECT_EQ(ds.items[2].id, "i3");
  EXPECT_EQ(ds.categories[ds.items[2].category], "hats, caps");
  EXPECT_EQ(ds.brands[ds.items[1].brand], "bolt");
  EXPECT_FLOAT_EQ(ds.items[1].price, 20.5f);
  EXPECT_FLOAT_EQ(ds.items[1].cost, 10.f);
  EXPECT_FALSE(ds.items[1].in_stock);
  EXPECT_TRUE(ds.items[2].in_stock);
  EXPECT_EQ(ds.items[0].category, ds.items[1].category);

  ASSERT_EQ(ds.user_ids, (std::vector<std::string>{"u1", "u2", "u3"}));
  ASSERT_EQ(ds.events.size(), 7u);
  // sorted by (user, ts)
  const int64_t want_ts[] = {1000, 61000, 121000, 3721000, 5000, 605000, 665000};
  const uint32_t want_user[] = {0, 0, 0, 0, 1, 1, 1};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(ds.events[i].ts_ms, want_ts[i]) << i;
    EXPECT_EQ(ds.events[i].user, want_user[i]) << i;
  }
  EXPECT_EQ(ds.events[2].type, dd::EventType::Purchase);
  EXPECT_FLOAT_EQ(ds.events[2].price, 50.f);
  EXPECT_EQ(ds.events[2].quantity, 2);
  EXPECT_EQ(ds.events[0].quantity, 1);
  EXPECT_EQ(ds.events[6].type, dd::EventType::View);  // "VIEW"
  EXPECT_EQ(ds.items[ds.events[3].item].id, "i3");
  // one repaired reorder: u1's s2 event came after u2's rows but is in order for u1 -> none
  EXPECT_EQ(ds.quality.total_repaired(), 0u);

  // sessions: u1 [1000..121000] and [3721000] (gap > 30 min); u2 [5000, 605000] (10 min gap, same
  // source session) and [665000] (source session changed)
  ASSERT_EQ(ds.sessions.size(), 4u);
  EXPECT_EQ(ds.sessions[0].begin, 0u);
  EXPECT_EQ(ds.sessions[0].end, 3u);
  EXPECT_EQ(ds.sessions[0].start_ms, 1000);
  EXPECT_EQ(ds.sessions[0].end_ms, 121000);
  EXPECT_EQ(ds.sessions[1].begin, 3u);
  EXPECT_EQ(ds.sessions[2].begin, 4u);
  EXPECT_EQ(ds.sessions[2].end, 6u);
  EXPECT_EQ(ds.sessions[3].user, 1u);
  for (uint32_t s = 0; s < ds.sessions.size(); ++s)
    for (uint32_t e = ds.sessions[s].begin; e < ds.sessions[s].end; ++e) EXPECT_EQ(ds.events[e].session, s);

  ASSERT_EQ(ds.decisions.size(), 2u);
  const auto& d = ds.decisions[0];
  EXPECT_EQ(d.id_hi, 0u);
  EXPECT_EQ(d.id_lo, 1u);
  EXPECT_EQ(d.ts_ms, 121000);
  EXPECT_EQ(d.user, 0u);
  EXPECT_EQ(ds.items[d.item].id, "i1");
  EXPECT_EQ(d.arm, 2);
  EXPECT_FLOAT_EQ(d.discount, 0.1f);
  EXPECT_FLOAT_EQ(d.propensity, 0.25f);
  EXPECT_EQ(d.model_version, "m1");
  EXPECT_EQ(d.policy_version, "ts-v1");
  EXPECT_EQ(ds.decisions[1].user, 2u);  // u3 only appears in decisions
  EXPECT_NE(ds.decisions[0].user_key, ds.decisions[1].user_key);
  ASSERT_EQ(ds.outcomes.size(), 2u);
  EXPECT_TRUE(ds.outcomes[0].converted);
  EXPECT_FLOAT_EQ(ds.outcomes[0].revenue, 90.f);
  EXPECT_FLOAT_EQ(ds.outcomes[0].margin, 30.f);
  EXPECT_FALSE(ds.outcomes[1].converted);

  EXPECT_EQ(ds.quality.rows_read, 3u + 7u + 2u + 2u);
  EXPECT_EQ(ds.quality.rows_kept, ds.quality.rows_read);
  EXPECT_TRUE(ds.quality.dropped.empty());
  ASSERT_EQ(ds.quality.files.size(), 4u);
  EXPECT_EQ(ds.quality.files[1].rows_read, 7u);
  const std::string summary = dd::summary_text(ds);
  EXPECT_NE(summary.find("3 users, 3 items, 7 events in 4 sessions, 2 decisions, 2 outcomes"), std::string::npos)
      << summary;
}

TEST(DataCanonical, ColumnsByNameAndOptionalFiles) {
  TempDir tmp;
  // columns in another order, no price/quantity/session columns, no items/decisions/outcomes files
  tmp.write("events.csv", "ts,item_id,type,user_id\n20,a,click,x\n10,b,click,x\n");
  const dd::Dataset ds = dd::read_canonical(tmp.path());
  ASSERT_EQ(ds.events.size(), 2u);
  EXPECT_EQ(ds.events[0].ts_ms, 10);
  EXPECT_EQ(ds.items[ds.events[0].item].id, "b");
  EXPECT_EQ(count(ds.quality.repaired, "out_of_order_ts"), 1u);
  EXPECT_EQ(count(ds.quality.repaired, "unknown_item"), 0u);  // no catalog: items come from events
  EXPECT_EQ(ds.sessions.size(), 1u);
}

TEST(DataCleaning, EveryReasonIsCounted) {
  TempDir tmp;
  tmp.write("items.csv",
            "item_id,category,brand,price,cost,in_stock\n"
            "i1,a,b,10,5,1\n"
            "i2,a,b,20,5,1\n"
            "i1,a,b,11,5,1\n"    // duplicate_item
            "i3,a,b,-1,0,1\n"    // non_positive_price
            "i4,a,b,5e6,0,1\n"   // outlier_price
            ",a,b,1,1,1\n"      // missing_field (id)
            "i5,,b,1,1,1\n");    // kept: an empty category is unknown (0)
  tmp.write("events.csv",
            "user_id,session_id,ts,type,item_id,price,quantity\n"
            "u1,s1,1000,view,i1,10,1\n"          // kept
            "u1,s1,1000,view,i1,10,1\n"          // duplicate_row
            "u1,s1,,view,i1,10,1\n"              // missing_field (ts)
            "u1,s1,5000,view,i1,,1\n"            // missing_field (price)
            "u1,s1,abc,view,i1,10,1\n"           // unparsable_number
            "u1,s1,2000,purchase,i1,0,1\n"       // non_positive_price (purchase at 0)
            "u1,s1,2000,view,i1,-5,1\n"          // non_positive_price
            "u1,s1,3000,purchase,i1,10,5000\n"   // absurd_quantity
            "u1,s1,3000,purchase,i1,2e6,1\n"     // outlier_price
            "u1,s1,3000,purchase,i1,10,0\n"      // non_positive_quantity
            "u1,s1,3000,teleport,i1,10,1\n"      // unknown_event_type
            "u1,s1,4000,view,i9,10,1\n"          // kept, unknown_item repaired
            "u1,s1,4500,view,i9,10,1\n"          // kept, unknown_item repaired
            "u1,s1,500,click,i2,10,1\n"          // kept, out_of_order_ts repaired
            "u2,s2,100,view,i2");                // truncated_last_line (5 of 7 fields, no terminator)
  tmp.write("decisions.csv",
            "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n" +
                id(1) + ",100,u1,i1,1,0.1,0.5,m,p\n" +            // kept
                id(1) + ",150,u1,i1,1,0.1,0.5,m,p\n" +            // duplicate_decision
                id(2) + ",200,u1,i2,0,0,0.5,m,p\n" +              // kept
                id(2) + ",200,u1,i2,0,0,0.5,m,p\n" +              // duplicate_row
                id(3) + ",300,u1,i2,0,0,0,m,p\n" +                // invalid_propensity
                "zz" + id(4).substr(2) + ",300,u1,i2,0,0,0.5,m,p\n" +  // malformed_decision_id
                id(5) + ",300,u1,i2,0,0,1.5,m,p\n" +              // invalid_propensity
                id(6) + ",50,u2,i1,0,0,0.5,m,p\n");               // kept, out_of_order_ts
  tmp.write("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + id(1) + ",400,1,9,3\n" +  // kept
                                id(1) + ",500,0,0,0\n" +    // duplicate_outcome
                                id(9) + ",500,0,0,0\n" +    // orphan_outcome (never decided)
                                id(3) + ",500,0,0,0\n" +    // orphan_outcome (its decision was dropped)
                                id(2) + ",500,maybe,0,0\n"  // unparsable_number
  );
  const dd::Dataset ds = dd::read_canonical(tmp.path());
  const auto& q = ds.quality;
  const std::map<std::string, uint64_t> want_dropped = {
      {"absurd_quantity", 1},      {"duplicate_decision", 1},    {"duplicate_item", 1},
      {"duplicate_outcome", 1},    {"duplicate_row", 2},         {"invalid_propensity", 2},
      {"malformed_decision_id", 1}, {"missing_field", 3},        {"non_positive_price", 3},
      {"non_positive_quantity", 1}, {"orphan_outcome", 2},       {"outlier_price", 2},
      {"truncated_last_line", 1},  {"unknown_event_type", 1},    {"unparsable_number", 2}};
  EXPECT_EQ(q.dropped, want_dropped);
  const std::map<std::string, uint64_t> want_repaired = {{"out_of_order_ts", 2}, {"unknown_item", 2}};
  EXPECT_EQ(q.repaired, want_repaired);
  ASSERT_EQ(q.files.size(), 4u);
  const uint64_t read[] = {7, 15, 8, 5}, kept[] = {3, 4, 3, 1};
  for (size_t f = 0; f < 4; ++f) {
    EXPECT_EQ(q.files[f].rows_read, read[f]) << q.files[f].file;
    EXPECT_EQ(q.files[f].rows_kept, kept[f]) << q.files[f].file;
    EXPECT_EQ(q.files[f].rows_read, q.files[f].rows_kept + q.files[f].rows_dropped) << q.files[f].file;
  }
  EXPECT_EQ(q.rows_read, 35u);
  EXPECT_EQ(q.rows_kept, 11u);
  EXPECT_EQ(q.rows_read, q.rows_kept + q.total_dropped());
  EXPECT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ds.decisions.size(), 3u);
  EXPECT_EQ(ds.outcomes.size(), 1u);
  EXPECT_EQ(ds.decisions[0].ts_ms, 50);  // sorted by ts
  EXPECT_EQ(ds.items[ds.item_index.at("i9")].category, 0u);  // unknown item: unknown category

  const std::string text = q.to_text();
  EXPECT_NE(text.find("dropped  orphan_outcome: 2"), std::string::npos) << text;
  EXPECT_NE(text.find("repaired out_of_order_ts: 2"), std::string::npos) << text;
  EXPECT_NE(text.find("rows read 35, kept 11, dropped 24"), std::string::npos) << text;
  const std::string json = q.to_json();
  EXPECT_NE(json.find("\"rows_read\": 35"), std::string::npos) << json;
  EXPECT_NE(json.find("\"duplicate_row\": 2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"unknown_item\": 2"), std::string::npos) << json;
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');

  // duplicates can be kept on request
  dd::IngestOptions keep;
  keep.drop_duplicates = false;
  const dd::Dataset ds2 = dd::read_canonical(tmp.path(), keep);
  EXPECT_EQ(count(ds2.quality.dropped, "duplicate_row"), 0u);
  EXPECT_EQ(ds2.events.size(), 5u);
  EXPECT_EQ(count(ds2.quality.dropped, "duplicate_decision"), 2u);  // same id twice is still refused
}

TEST(DataErrors, MessagesNameFileAndLine) {
  TempDir tmp;
  auto one_line = [](const std::string& m) { return !m.empty() && m.find('\n') == std::string::npos; };

  // missing required file
  std::string m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv: cannot open"), std::string::npos) << m;
  EXPECT_TRUE(one_line(m)) << m;

  // not a directory
  m = error_of([&] { dd::read_canonical(tmp.file("nope")); });
  EXPECT_NE(m.find("nope: not a directory"), std::string::npos) << m;

  // wrong header
  tmp.write("events.csv", "user,ts,type,item_id\nu,1,view,i\n");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv:1: wrong header: missing column 'user_id'"), std::string::npos) << m;
  EXPECT_TRUE(one_line(m)) << m;

  // empty file
  tmp.write("events.csv", "");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv:1: empty file"), std::string::npos) << m;

  // a malformed line in the middle (terminated, so not a truncated last line)
  tmp.write("events.csv",
            "user_id,session_id,ts,type,item_id,price,quantity\nu,s,1,view,i,,\nu,s,2,view,i\nu,s,3,view,i,,\n");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv:3: expected 7 fields, got 5"), std::string::npos) << m;
  EXPECT_TRUE(one_line(m)) << m;

  // too many fields
  tmp.write("events.csv", "user_id,session_id,ts,type,item_id,price,quantity\nu,s,1,view,i,,,extra\n");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv:2: expected 7 fields, got 8"), std::string::npos) << m;

  // unterminated quote, line counted across an embedded newline
  tmp.write("events.csv",
            "user_id,session_id,ts,type,item_id,price,quantity\n\"u\nv\",s,1,view,i,,\nu,\"s,2,view,i,,\n");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("events.csv:4: unterminated quoted field"), std::string::npos) << m;
  EXPECT_TRUE(one_line(m)) << m;

  // outcomes without decisions
  tmp.write("events.csv", "user_id,ts,type,item_id\nu,1,view,i\n");
  tmp.write("outcomes.csv", "decision_id,ts,converted\n");
  m = error_of([&] { dd::read_canonical(tmp.path()); });
  EXPECT_NE(m.find("outcomes.csv without decisions.csv"), std::string::npos) << m;

  // adapters: wrong header and missing files
  TempDir h;
  h.write("hillstrom.csv", "recency,history_segment,history,mens,womens,zip_code,newbie,channel,visit,conversion,spend\n");
  m = error_of([&] { dd::read_hillstrom(h.path()); });
  EXPECT_NE(m.find("hillstrom.csv:1: wrong header: missing column 'segment'"), std::string::npos) << m;
  TempDir y;
  m = error_of([&] { dd::read_yoochoose(y.path()); });
  EXPECT_NE(m.find("expected exactly one file named *_train_full.txt"), std::string::npos) << m;
  TempDir c;
  c.write("CDNOW_master.txt", " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1\n 00002 19970101 1 2\n");
  m = error_of([&] { dd::read_cdnow(c.path()); });
  EXPECT_NE(m.find("CDNOW_master.txt:2: expected 4 fields, got 3"), std::string::npos) << m;
  m = error_of([&] { dd::read_dataset("nosuch", tmp.path()); });
  EXPECT_NE(m.find("unknown dataset kind 'nosuch'"), std::string::npos) << m;
}

TEST(DataCleaning, AdapterRowsOnSmallFixtures) {
  // cdnow: identical rows kept and flagged; $0 kept and flagged; bad date and number dropped.
  TempDir c;
  c.write("CDNOW_master.txt",
          " customer_id  date number_of_cds  dollar_value\r\n"
          " 00001 19970101  1   11.77\r\n"
          " 00001 19970101  1   11.77\r\n"
          " 00002 19970230  1   5.00\r\n"   // no such date
          " 00002 19970301  x   5.00\r\n"
          " 00003 19970301  2   0.00\r\n"
          " 00003 19970302  2   -1\r\n"
          " 00003 19970101  3   30.00");
  const dd::Dataset ds = dd::read_cdnow(c.path());
  EXPECT_EQ(ds.quality.rows_read, 7u);
  EXPECT_EQ(count(ds.quality.flagged, "identical_row_kept"), 1u);
  EXPECT_EQ(count(ds.quality.flagged, "zero_value_purchase"), 1u);
  EXPECT_EQ(count(ds.quality.dropped, "unparsable_timestamp"), 1u);
  EXPECT_EQ(count(ds.quality.dropped, "unparsable_number"), 1u);
  EXPECT_EQ(count(ds.quality.dropped, "non_positive_price"), 1u);
  EXPECT_EQ(count(ds.quality.repaired, "out_of_order_ts"), 1u);
  ASSERT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ds.user_ids.size(), 2u);  // 00002 had no valid row
  EXPECT_EQ(ds.events[2].ts_ms, 852076800000LL);  // 1997-01-01T00:00:00Z, sorted first for 00003
  EXPECT_FLOAT_EQ(ds.events[2].price, 10.f);
  EXPECT_EQ(ds.events[2].quantity, 3);

  // completejourney: ISO timestamps, unit price, missing product repaired.
  TempDir cj;
  cj.write("products.csv",
           "product_id,manufacturer_id,department,brand,product_category,product_type,package_size\n"
           "p1,7,GROCERY,National,FRZN ICE,ICE,22 LB\n"
           "p2,8,MISCELLANEOUS,Private,,,\n");
  cj.write("transactions_sample.csv",
           "household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,coupon_disc,"
           "coupon_match_disc,week,transaction_timestamp\n"
           "h1,1,b1,p1,2,3.00,0,0,0,1,2017-01-28T19:06:53Z\n"
           "h1,1,b1,p9,1,1.00,0,0,0,1,2017-01-28T19:06:53Z\n"
           "h1,1,b2,p2,1,1.00,0,0,0,1,2017-01-28 19:06\n");
  const dd::Dataset cds = dd::read_completejourney(cj.path());
  EXPECT_EQ(count(cds.quality.repaired, "unknown_item"), 1u);
  EXPECT_EQ(count(cds.quality.flagged, "product_missing_from_catalog"), 1u);
  EXPECT_EQ(count(cds.quality.dropped, "unparsable_timestamp"), 1u);
  ASSERT_EQ(cds.events.size(), 2u);
  EXPECT_EQ(cds.events[0].ts_ms, 1485630413000LL);
  EXPECT_FLOAT_EQ(cds.events[0].price, 1.5f);
  EXPECT_EQ(cds.categories[cds.items[cds.item_index.at("p2")].category], "MISCELLANEOUS");  // department fallback
  EXPECT_EQ(cds.brands[cds.items[cds.item_index.at("p1")].brand], "7");                   // manufacturer
  EXPECT_FLOAT_EQ(cds.items[cds.item_index.at("p1")].price, 1.5f);  // mean observed unit price
}

namespace {
// A dataset with one event per listed (user, ts) in the given order.
dd::Dataset make(const std::vector<std::pair<uint32_t, int64_t>>& ev) {
  dd::Dataset ds;
  uint32_t nu = 0;
  for (auto [u, t] : ev) {
    dd::Event e;
    e.user = u;
    e.ts_ms = t;
    ds.events.push_back(e);
    nu = std::max(nu, u + 1);
  }
  for (uint32_t u = 0; u < nu; ++u) ds.user_ids.push_back("u" + std::to_string(u));
  return ds;
}
constexpr int64_t kMin = 60000;
}  // namespace

TEST(DataSessions, InactivityGap) {
  dd::Dataset ds = make({{0, 0}, {0, 10 * kMin}, {0, 40 * kMin}, {0, 71 * kMin}, {1, 72 * kMin}, {1, 80 * kMin}});
  dd::sessionize(ds, 30 * kMin);  // gaps: 10, 30 (not > 30), 31 -> cut; user change -> cut
  ASSERT_EQ(ds.sessions.size(), 3u);
  EXPECT_EQ(ds.sessions[0].end, 3u);
  EXPECT_EQ(ds.sessions[0].end_ms, 40 * kMin);
  EXPECT_EQ(ds.sessions[1].begin, 3u);
  EXPECT_EQ(ds.sessions[1].end, 4u);
  EXPECT_EQ(ds.sessions[2].user, 1u);
  EXPECT_EQ(ds.events[5].session, 2u);
  dd::sessionize(ds, 5 * kMin);
  EXPECT_EQ(ds.sessions.size(), 6u);
  dd::sessionize(ds, 24 * 60 * kMin);
  EXPECT_EQ(ds.sessions.size(), 2u);
}

TEST(DataSessions, TimeSplitByStart) {
  std::vector<std::pair<uint32_t, int64_t>> ev;
  for (uint32_t u = 0; u < 10; ++u) ev.push_back({u, static_cast<int64_t>(9 - u) * 60 * kMin});  // starts 9h..0h
  dd::Dataset ds = make(ev);
  dd::sessionize(ds, 30 * kMin);
  ASSERT_EQ(ds.sessions.size(), 10u);
  const dd::Split sp = dd::time_split(ds, 0.1, 0.2);
  // span 0..9h: test = starts >= 7.2h -> 8h, 9h; valid = last 0.1 of the whole span of the rest
  // (0..7h, 0.9h) -> 7h; train = 0h..6h
  ASSERT_EQ(sp.test.size(), 2u);
  ASSERT_EQ(sp.valid.size(), 1u);
  ASSERT_EQ(sp.train.size(), 7u);
  EXPECT_EQ(ds.sessions[sp.valid[0]].start_ms, 7 * 60 * kMin);
  EXPECT_EQ(ds.sessions[sp.test[0]].start_ms, 8 * 60 * kMin);  // sorted by start
  EXPECT_EQ(ds.sessions[sp.train.back()].start_ms, 6 * 60 * kMin);
  std::vector<int> seen(10, 0);
  for (auto* part : {&sp.train, &sp.valid, &sp.test})
    for (uint32_t s : *part) ++seen[s];
  EXPECT_EQ(seen, std::vector<int>(10, 1));
  EXPECT_THROW(dd::time_split(ds, 0.5, 0.5), dd::IngestError);
  EXPECT_THROW(dd::time_split(ds, -0.1, 0.2), dd::IngestError);
  const dd::Split none = dd::time_split(ds, 0.0, 0.0);
  EXPECT_EQ(none.train.size(), 10u);
}

TEST(DataSessions, PredefinedSplitSurvivesResessionizing) {
  // user 0 and 1 in "train" (part 0), user 2 in "test" (part 2); user 1 has a 2h gap
  dd::Dataset ds = make({{0, 0}, {0, kMin}, {1, 10 * kMin}, {1, 130 * kMin}, {2, 200 * kMin}, {2, 201 * kMin}});
  ds.has_predefined_split = true;
  ds.predefined_part = {0, 0, 0, 0, 2, 2};
  dd::sessionize(ds, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ds.predefined_split.train.size(), 2u);
  EXPECT_EQ(ds.predefined_split.test.size(), 1u);
  dd::sessionize(ds, 30 * kMin);
  EXPECT_EQ(ds.predefined_split.train.size(), 3u);
  ASSERT_EQ(ds.predefined_split.test.size(), 1u);
  EXPECT_EQ(ds.sessions[ds.predefined_split.test[0]].user, 2u);
  const dd::Split sp = dd::time_split(ds, 0.2, 0.1, true);
  EXPECT_EQ(sp.test, ds.predefined_split.test);
  // train span 0..130 min; valid = starts >= 130 - 0.2*130 = 104 min -> the session at 130 min
  ASSERT_EQ(sp.valid.size(), 1u);
  EXPECT_EQ(ds.sessions[sp.valid[0]].start_ms, 130 * kMin);
  EXPECT_EQ(sp.train.size(), 2u);
  const dd::Split by_time = dd::time_split(ds, 0.0, 0.1, false);
  EXPECT_EQ(by_time.test.size(), 1u);  // starts >= 201 - 20.1 min -> the 200 min session
}

TEST(DataRoot, EnvironmentWins) {
  const char* old = std::getenv("DISCO_DATA");
  const std::string saved = old ? old : "";
  setenv("DISCO_DATA", "/some/where", 1);
  EXPECT_EQ(dd::data_root(), "/some/where");
  if (old)
    setenv("DISCO_DATA", saved.c_str(), 1);
  else
    unsetenv("DISCO_DATA");
  EXPECT_FALSE(dd::data_root().empty());
}

#ifdef DISCO_INGEST_EXE
namespace {
int run_cli(const std::string& args, std::string& out, std::string& err, const TempDir& tmp) {
  const std::string o = tmp.file("cli.out"), e = tmp.file("cli.err");
  const int rc = std::system((std::string(DISCO_INGEST_EXE) + " " + args + " >" + o + " 2>" + e).c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  out = slurp(o);
  err = slurp(e);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
}  // namespace

TEST(DataCli, BrokenCsvGivesOneLineErrorAndExit2) {
  TempDir tmp;
  tmp.write("d/events.csv", "user_id,session_id,ts,type,item_id,price,quantity\nu,s,1,view,i,,\nu,s,2\nu,s,3,view,i,,\n");
  std::string out, err;
  EXPECT_EQ(run_cli("canonical " + tmp.file("d"), out, err, tmp), 2);
  EXPECT_NE(err.find("events.csv:3: expected 7 fields, got 3"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line: " << err;
  EXPECT_EQ(run_cli("canonical " + tmp.file("missing"), out, err, tmp), 2);
  EXPECT_NE(err.find("missing: not a directory"), std::string::npos) << err;
  EXPECT_EQ(run_cli("--help", out, err, tmp), 0);
  EXPECT_NE(out.find("usage: disco-ingest"), std::string::npos);
  EXPECT_EQ(run_cli("canonical", out, err, tmp), 1);
  EXPECT_EQ(run_cli("all " + tmp.file("no-root"), out, err, tmp), 2);
}

TEST(DataCli, AllTableOnAPartialRoot) {
  TempDir tmp;
  tmp.write("root/cdnow/CDNOW_master.txt", " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n");
  std::string out, err;
  ASSERT_EQ(run_cli("all " + tmp.file("root") + " --json " + tmp.file("all.json"), out, err, tmp), 0) << err;
  const size_t y = out.find("yoochoose-100k");
  ASSERT_NE(y, std::string::npos) << out;
  EXPECT_EQ(out.substr(y, out.find('\n', y) - y).find("absent"), 21u) << out;
  EXPECT_NE(out.find("cdnow"), std::string::npos) << out;
  std::ifstream f(tmp.file("all.json"));
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_NE(s.str().find("\"name\": \"cdnow\", \"users\": 1, \"items\": 1, \"events\": 1"), std::string::npos) << s.str();
  // a broken dataset makes the whole run fail with its one-line error
  tmp.write("root/hillstrom/hillstrom.csv", "recency,history\n1,2\n");
  EXPECT_EQ(run_cli("all " + tmp.file("root"), out, err, tmp), 2);
  EXPECT_NE(err.find("hillstrom.csv:1: wrong header: missing column 'history_segment'"), std::string::npos) << err;
}

TEST(DataCli, ReportAndJson) {
  TempDir tmp;
  tmp.write("d/events.csv", "user_id,ts,type,item_id,price,quantity\nu,1,view,i,3,1\nu,1,view,i,3,1\nu,2,purchase,i,3,1\n");
  std::string out, err;
  ASSERT_EQ(run_cli("canonical " + tmp.file("d") + " --json " + tmp.file("q.json") + " --gap-min 10", out, err, tmp), 0)
      << err;
  EXPECT_NE(out.find("1 users, 1 items, 2 events in 1 sessions"), std::string::npos) << out;
  EXPECT_NE(out.find("dropped  duplicate_row: 1"), std::string::npos) << out;
  std::ifstream f(tmp.file("q.json"));
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_NE(s.str().find("\"duplicate_row\": 1"), std::string::npos) << s.str();
}
#else
// Registered without the CLI too, so its absence shows as a skip with the reason.
TEST(DataCli, NotBuilt) {
  GTEST_SKIP() << "disco-ingest is not built in this configuration (DISCO_BUILD_TOOLS=ON builds it)";
}
#endif

TEST(DataErrors, MutatedInputNeverCrashes) {
  // Random byte-level mutations of a valid dataset: every outcome is a dataset or an IngestError
  // (never another exception, never a crash; run under ASan/UBSan in the debug-asan preset).
  const std::string events =
      "user_id,session_id,ts,type,item_id,price,quantity\r\n"
      "u1,s1,1000,view,i1,10,1\r\nu1,s1,2000,\"purchase\",i1,10.5,2\r\nu2,s2,500,cart,\"i,2\",3,1\r\n"
      "u2,s2,900,remove,i2,3,1\r\nu3,s3,100,click,i1,10,1\r\n";
  const std::string items = "item_id,category,brand,price,cost,in_stock\ni1,a,b,10,5,1\n\"i,2\",\"c \"\"q\"\"\",d,3,1,0\n";
  const std::string decisions = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n" +
                                id(1) + ",100,u1,i1,1,0.1,0.5,m,p\n";
  const std::string outcomes = "decision_id,ts,converted,revenue,margin\n" + id(1) + ",400,1,9,3\n";
  const char alphabet[] = {',', '"', '\n', '\r', ' ', '\t', '\0', 'x', '9', '-', '.', '\xEF', '\xBB', '\xBF', 'e'};
  std::mt19937_64 rng(12345);
  TempDir tmp;
  int ok = 0, errors = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string files[4] = {items, events, decisions, outcomes};
    const int nmut = 1 + static_cast<int>(rng() % 6);
    for (int m = 0; m < nmut; ++m) {
      std::string& f = files[rng() % 4];
      const size_t pos = f.empty() ? 0 : rng() % f.size();
      const char c = alphabet[rng() % sizeof alphabet];
      switch (rng() % 4) {
        case 0: if (!f.empty()) f[pos] = c; break;
        case 1: f.insert(f.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
        case 2: if (!f.empty()) f.erase(pos, 1 + rng() % 8); break;
        default: f.resize(pos); break;  // truncate
      }
    }
    tmp.write("items.csv", files[0]);
    tmp.write("events.csv", files[1]);
    tmp.write("decisions.csv", files[2]);
    tmp.write("outcomes.csv", files[3]);
    try {
      const dd::Dataset ds = dd::read_canonical(tmp.path());
      EXPECT_EQ(ds.quality.rows_read, ds.quality.rows_kept + ds.quality.total_dropped());
      for (const auto& e : ds.events) ASSERT_LT(e.item, ds.items.size());
      ++ok;
    } catch (const dd::IngestError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      EXPECT_NE(m.find(".csv"), std::string::npos) << m;
      ++errors;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(errors, 0);
}
