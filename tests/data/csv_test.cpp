// The CSV reader on tricky input: quotes, doubled quotes, embedded newlines, CRLF/LF/CR, empty
// lines, a BOM, a truncated last line, an unterminated quote, whitespace mode, buffer boundaries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "disco/data/csv.h"
#include "test_util.h"

using disco::data::CsvMode;
using disco::data::CsvOptions;
using disco::data::CsvReader;
using disco::data::IngestError;
using Rows = std::vector<std::vector<std::string>>;

namespace {

Rows read_all(const std::string& text, CsvOptions opt = {}) {
  auto r = CsvReader::from_string(text, "mem.csv", opt);
  Rows out;
  while (r.next()) out.push_back(r.fields());
  return out;
}

std::string error_of(const std::string& text, CsvOptions opt = {}) {
  try {
    read_all(text, opt);
  } catch (const IngestError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DataCsv, PlainRecords) {
  EXPECT_EQ(read_all("a,b,c\n1,2,3\n"), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(read_all("a,,c\n,,\n"), (Rows{{"a", "", "c"}, {"", "", ""}}));
}

TEST(DataCsv, QuotedFieldsWithCommasAndDoubledQuotes) {
  const Rows rows = read_all("id,seg\n1,\"6) $750 - $1,000\"\n2,\"say \"\"hi\"\", ok\"\n3,\"\"\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "6) $750 - $1,000"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "say \"hi\", ok"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"3", ""}));
}

TEST(DataCsv, EmbeddedNewlinesKeepLineNumbers) {
  auto r = CsvReader::from_string("h1,h2\n1,\"two\nlines\"\r\n2,x\n", "mem.csv");
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.line(), 1u);
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r[1], "two\nlines");
  EXPECT_EQ(r.line(), 2u);
  EXPECT_EQ(r.end_line(), 3u);
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r[0], "2");
  EXPECT_EQ(r.line(), 4u);
  EXPECT_FALSE(r.next());
}

TEST(DataCsv, CrlfLfAndLoneCr) {
  EXPECT_EQ(read_all("a,b\r\n1,2\r\n3,4\n5,6\r7,8"), (Rows{{"a", "b"}, {"1", "2"}, {"3", "4"}, {"5", "6"}, {"7", "8"}}));
}

TEST(DataCsv, EmptyLinesAreSkippedAndCounted) {
  auto r = CsvReader::from_string("a\n\n\r\n1\n\n2\n\n", "mem.csv");
  std::vector<uint64_t> lines;
  std::vector<std::string> vals;
  while (r.next()) {
    lines.push_back(r.line());
    vals.emplace_back(r[0]);
  }
  EXPECT_EQ(vals, (std::vector<std::string>{"a", "1", "2"}));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 4, 6}));
  // A quoted empty field is a record, not an empty line.
  EXPECT_EQ(read_all("\"\"\n"), (Rows{{""}}));
}

TEST(DataCsv, Utf8BomIsSkipped) {
  const Rows rows = read_all("\xEF\xBB\xBFuser_id,ts\nu1,5\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "user_id");
}

TEST(DataCsv, TruncatedLastLineIsReturned) {
  auto r = CsvReader::from_string("a,b\n1,2\n3,4", "mem.csv");
  ASSERT_TRUE(r.next());
  EXPECT_TRUE(r.terminated());
  ASSERT_TRUE(r.next());
  EXPECT_TRUE(r.terminated());
  ASSERT_TRUE(r.next());
  EXPECT_FALSE(r.terminated());
  EXPECT_EQ(r.fields(), (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(r.line(), 3u);
  EXPECT_FALSE(r.next());
  // a truncated last line that ends in a quoted field
  EXPECT_EQ(read_all("a,\"b,c\""), (Rows{{"a", "b,c"}}));
}

TEST(DataCsv, UnterminatedQuoteNamesFileAndLine) {
  const std::string msg = error_of("a,b\n1,2\n3,\"open\nstill open\n");
  EXPECT_NE(msg.find("mem.csv:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unterminated quoted field"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

TEST(DataCsv, JunkAfterClosingQuoteIsAnError) {
  const std::string msg = error_of("a,b\n1,\"x\"y\n");
  EXPECT_NE(msg.find("mem.csv:2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after a closing quote"), std::string::npos) << msg;
}

TEST(DataCsv, TabMode) {
  CsvOptions opt;
  opt.delimiter = '\t';
  EXPECT_EQ(read_all("SessionId\tItemId\tTime\n1\t214536502\t1396860669.277\n2\t\t5\n", opt),
            (Rows{{"SessionId", "ItemId", "Time"}, {"1", "214536502", "1396860669.277"}, {"2", "", "5"}}));
}

TEST(DataCsv, WhitespaceMode) {
  CsvOptions opt;
  opt.mode = CsvMode::Whitespace;
  EXPECT_EQ(read_all(" customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n   \r\n"
                     "\t00002\t19970112 \"two words\"  12.00   ",
                     opt),
            (Rows{{"customer_id", "date", "number_of_cds", "dollar_value"},
                  {"00001", "19970101", "1", "11.77"},
                  {"00002", "19970112", "two words", "12.00"}}));
}

TEST(DataCsv, StreamsAcrossBufferBoundaries) {
  // > 2 MiB so that records (and a quoted field with a doubled quote and a newline) straddle refills.
  disco_test::TempDir tmp;
  std::string text = "\xEF\xBB\xBFid,name,note\r\n";
  const int n = 60000;
  for (int i = 0; i < n; ++i)
    text += std::to_string(i) + ",\"name " + std::to_string(i) + ", with \"\"quotes\"\"\",\"line\nbreak " +
            std::to_string(i) + "\"\r\n";
  ASSERT_GT(text.size(), 2u << 20);
  const std::string path = tmp.write("big.csv", text);
  CsvReader r(path);
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r[0], "id");
  int i = 0;
  while (r.next()) {
    ASSERT_EQ(r.size(), 3u) << "record " << i;
    ASSERT_EQ(r[0], std::to_string(i));
    ASSERT_EQ(r[1], "name " + std::to_string(i) + ", with \"quotes\"");
    ASSERT_EQ(r[2], "line\nbreak " + std::to_string(i));
    ASSERT_EQ(r.line(), 2u + 2u * static_cast<uint64_t>(i));
    ++i;
  }
  EXPECT_EQ(i, n);
}

TEST(DataCsv, MissingFileIsAnError) {
  try {
    CsvReader r("/nonexistent/dir/events.csv");
    FAIL() << "expected IngestError";
  } catch (const IngestError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/events.csv: cannot open"), std::string::npos) << e.what();
  }
}

TEST(DataCsv, NumberParsing) {
  int64_t i;
  double d;
  bool b;
  EXPECT_TRUE(disco::data::parse_int(" 42 ", i));
  EXPECT_EQ(i, 42);
  EXPECT_TRUE(disco::data::parse_int("+7", i));
  EXPECT_EQ(i, 7);
  EXPECT_TRUE(disco::data::parse_int("-3", i));
  EXPECT_EQ(i, -3);
  EXPECT_FALSE(disco::data::parse_int("4.5", i));
  EXPECT_FALSE(disco::data::parse_int("", i));
  EXPECT_FALSE(disco::data::parse_int("12abc", i));
  EXPECT_FALSE(disco::data::parse_int("99999999999999999999", i));
  EXPECT_TRUE(disco::data::parse_double("1396860669.277", d));
  EXPECT_DOUBLE_EQ(d, 1396860669.277);
  EXPECT_TRUE(disco::data::parse_double("1e3", d));
  EXPECT_DOUBLE_EQ(d, 1000.0);
  EXPECT_FALSE(disco::data::parse_double("nan", d));
  EXPECT_FALSE(disco::data::parse_double("inf", d));
  EXPECT_FALSE(disco::data::parse_double("1,5", d));
  EXPECT_TRUE(disco::data::parse_bool("TRUE", b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(disco::data::parse_bool("0", b));
  EXPECT_FALSE(b);
  EXPECT_FALSE(disco::data::parse_bool("2", b));
}

TEST(DataCsv, WrittenFieldsReadBackAsThemselves) {
  using disco::data::csv_field;
  const std::vector<std::string> fields = {"plain", "", "a,b", "say \"hi\"", "two\nlines", "cr\rend", "\""};
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  EXPECT_EQ(read_all(line + "\n"), (Rows{fields}));
}
