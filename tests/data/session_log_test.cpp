// Session logs a new team brings (issue 16 item 0): other separators, no users, session-relative
// timestamps, empty categories; the column behind every missing_field; timestamp warnings;
// given session ids never split by the gap; session-rec's filters.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "disco/data/ingest.h"
#include "test_util.h"

namespace dd = disco::data;
using disco_test::TempDir;

TEST(DataSessionLog, SemicolonSeparatorNoUsersEmptyCategory) {
  TempDir t;
  t.write("items.csv", "item_id;category;price\na;shoes;10\nb;;5\n");
  t.write("events.csv", "session_id;ts;item_id\ns1;0;a\ns1;1000;b\ns2;0;b\n");
  dd::IngestOptions o;
  o.sep = ';';
  const dd::Dataset ds = dd::read_canonical(t.path(), o);
  EXPECT_EQ(ds.quality.total_dropped(), 0u) << ds.quality.to_text();
  ASSERT_EQ(ds.items.size(), 2u);
  EXPECT_EQ(ds.items[1].category, 0u);  // empty category = unknown, kept
  EXPECT_EQ(ds.events.size(), 3u);
  EXPECT_EQ(ds.sessions.size(), 2u);
  EXPECT_EQ(ds.user_ids.size(), 2u);  // user = session
  EXPECT_EQ(ds.events[0].type, dd::EventType::View);
  char c;
  EXPECT_TRUE(dd::parse_separator("\\t", c));
  EXPECT_EQ(c, '\t');
  EXPECT_FALSE(dd::parse_separator(";;", c));
}

TEST(DataSessionLog, MissingFieldNamesTheColumn) {
  TempDir t;
  t.write("events.csv", "user_id,ts,type,item_id\nu,1,view,a\nu,,view,b\n,3,view,c\nu,4,view,\nu,5,view,\n");
  const dd::Dataset ds = dd::read_canonical(t.path());
  EXPECT_EQ(ds.quality.dropped.at("missing_field"), 4u);
  EXPECT_EQ(ds.quality.missing_columns.at("events.csv 'ts'"), 1u);
  EXPECT_EQ(ds.quality.missing_columns.at("events.csv 'user_id'"), 1u);
  EXPECT_EQ(ds.quality.missing_columns.at("events.csv 'item_id'"), 2u);
  EXPECT_NE(ds.quality.to_text().find("missing_field events.csv 'item_id': 2"), std::string::npos) << ds.quality.to_text();
  EXPECT_NE(ds.quality.to_json().find("\"missing_columns\""), std::string::npos);
}

TEST(DataSessionLog, TimestampWarnings) {
  TempDir a, b, c;
  a.write("events.csv", "user_id,ts,type,item_id\nu,1700000000,view,a\nu,1700000100,view,b\n");  // seconds
  b.write("events.csv", "session_id,ts,item_id\ns,0,a\ns,5000,b\n");                              // relative
  c.write("events.csv", "user_id,ts,type,item_id\nu,1700000000000,view,a\nu,1700000100000,view,b\n");
  const auto wa = dd::read_canonical(a.path()).quality.warnings;
  const auto wb = dd::read_canonical(b.path()).quality.warnings;
  ASSERT_EQ(wa.size(), 1u);
  EXPECT_NE(wa[0].find("look like seconds"), std::string::npos) << wa[0];
  ASSERT_EQ(wb.size(), 1u);
  EXPECT_NE(wb[0].find("1970"), std::string::npos) << wb[0];
  EXPECT_TRUE(dd::read_canonical(c.path()).quality.warnings.empty());
}

TEST(DataSessionLog, DateColumnMakesRelativeTimestampsAbsolute) {
  TempDir t;
  t.write("events.csv", "session_id,date,ts,item_id\ns,2016-05-01,0,a\ns,2016-05-01,5000,b\n");
  const dd::Dataset ds = dd::read_canonical(t.path());
  ASSERT_EQ(ds.events.size(), 2u);
  EXPECT_EQ(ds.events[1].ts_ms, 1462060800000LL + 5000);
  EXPECT_TRUE(ds.quality.warnings.empty());
}

TEST(DataSessionLog, GivenSessionIdIsNeverSplitByTheGap) {
  TempDir t;
  // one session with a 2 h pause; without session ids the gap splits it
  t.write("a/events.csv", "user_id,session_id,ts,type,item_id\nu,s1,0,view,a\nu,s1,7200000,view,b\nu,s2,7300000,view,c\n");
  t.write("b/events.csv", "user_id,ts,type,item_id\nu,0,view,a\nu,7200000,view,b\nu,7300000,view,c\n");
  EXPECT_EQ(dd::read_canonical(t.file("a")).sessions.size(), 2u);
  EXPECT_EQ(dd::read_canonical(t.file("b")).sessions.size(), 2u);  // gap cut, then s2's 100 s: one session
}

TEST(DataSessionLog, SessionRecFilters) {
  TempDir t;
  // item z occurs once; session s3 has one event; s2 = {a, z}: after dropping z it is too short
  t.write("events.csv",
          "session_id,ts,item_id\ns1,0,a\ns1,1,b\ns1,2,a\ns2,0,a\ns2,1,z\ns3,0,b\ns4,0,b\ns4,1,a\n");
  dd::IngestOptions o;
  o.min_item_support = 2;
  o.min_session_length = 2;
  const dd::Dataset ds = dd::read_dataset("canonical", t.path(), o);
  EXPECT_EQ(ds.sessions.size(), 2u);  // s1, s4
  EXPECT_EQ(ds.events.size(), 5u);
  EXPECT_EQ(ds.quality.dropped.at("rare_item"), 1u);
  EXPECT_EQ(ds.quality.dropped.at("short_session"), 2u);  // s3's b, then s2's a
  EXPECT_EQ(ds.quality.rows_read, ds.quality.rows_kept + ds.quality.total_dropped());
  ASSERT_EQ(ds.quality.files.size(), 1u);
  EXPECT_EQ(ds.quality.files[0].rows_kept, 5u);
  EXPECT_EQ(ds.quality.files[0].rows_dropped, 3u);
}

#ifdef DISCO_INGEST_EXE
TEST(DataSessionLog, CliSepFiltersAndNothingKept) {
  TempDir t;
  t.write("ok/events.csv", "session_id|ts|item_id\ns1|0|a\ns1|1|b\ns2|0|a\n");
  t.write("none/events.csv", "user_id,ts,type,item_id\nu,,view,a\n");
  auto run = [&](const std::string& args) {
    const int rc = std::system((std::string(DISCO_INGEST_EXE) + " " + args + " >" + t.file("o") + " 2>" + t.file("e")).c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(run("canonical " + t.file("ok") + " --sep '|' --min-session-length 2"), 0);
  std::ifstream f(t.file("o"));
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_NE(s.str().find("short_session: 1"), std::string::npos) << s.str();
  EXPECT_EQ(run("canonical " + t.file("none")), 3);
  // decisions kept, but every event row dropped: still an error
  t.write("ev0/events.csv", "user_id,ts,type,item_id\nu,,view,a\n");
  t.write("ev0/decisions.csv", "decision_id,ts,user_id,item_id,arm,discount,propensity\n"
                               "0123456789abcdef0123456789abcdef,5,u,a,0,0,0.5\n");
  EXPECT_EQ(run("canonical " + t.file("ev0")), 3);
  EXPECT_EQ(run("canonical " + t.file("ok") + " --sep ab"), 1);
}
#endif

TEST(DataSessionLog, DayBasedTestWindow) {
  TempDir t;
  // sessions on days 1..10 (relative ts + date); the last 2 days test, the day before valid
  std::string ev = "session_id,date,ts,item_id\n";
  for (int d = 1; d <= 10; ++d)
    for (int k = 0; k < 3; ++k)
      ev += "d" + std::to_string(d) + "s" + std::to_string(k) + ",2016-05-" + (d < 10 ? "0" : "") + std::to_string(d) + "," +
            std::to_string(k * 3600000) + ",a\n";
  t.write("events.csv", ev);
  const dd::Dataset ds = dd::read_canonical(t.path());
  ASSERT_EQ(ds.sessions.size(), 30u);
  const dd::Split sp = dd::time_split_days(ds, 1, 2);
  // last event: day 10 02:00; test window from day 8 02:00: day 8 (k = 2, at 02:00), 9, 10
  EXPECT_EQ(sp.test.size(), 7u);
  EXPECT_EQ(sp.valid.size(), 3u);
  EXPECT_EQ(sp.train.size(), 20u);
  EXPECT_THROW(dd::time_split_days(ds, 1, 0), dd::IngestError);
}
