// A streaming RFC 4180 CSV reader (plus a whitespace-separated mode) used by every ingest adapter.
//
// Delimited mode (RFC 4180): fields separated by one delimiter (',' or '\t'); a field that starts
// with '"' is quoted and may contain delimiters, CR/LF and doubled quotes ("" -> "). Records end at
// LF, CRLF or a lone CR; a last record without a terminator is returned as well (terminated() is
// then false). A UTF-8 byte-order mark at the start is skipped; empty lines are skipped. A quote
// opened and never closed, or a character other than a delimiter/line end after a closing quote,
// throws IngestError("path:line: reason").
//
// Whitespace mode: fields separated by runs of spaces/TABs, leading and trailing blanks ignored
// (CDNOW's fixed-width-ish file). Quoted fields work the same way.
//
// The reader streams the file through a 1 MiB buffer; field views point into one record buffer
// that is reused, so steady-state reading does no heap allocation. A view is valid until next().
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "disco/data/ingest.h"
#include "disco/formats/text.h"

namespace disco::data {

// The writer's side of the same format: `v` as one field, quoted (doubled quotes inside) when it
// holds a delimiter, a quote or a line end (disco::formats, shared with the collector and runtime CLI).
using disco::formats::csv_field;

enum class CsvMode : uint8_t { Delimited, Whitespace };

struct CsvOptions {
  CsvMode mode = CsvMode::Delimited;
  char delimiter = ',';        // Delimited mode only
  char quote = '"';
  bool skip_empty_lines = true;
};

class CsvReader {
 public:
  // Opens a file; throws IngestError("path: cannot open: <errno text>") when it cannot.
  explicit CsvReader(std::string path, CsvOptions opt = {});
  // Reads from memory; `name` is used in error messages.
  static CsvReader from_string(std::string text, std::string name, CsvOptions opt = {});
  ~CsvReader();
  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Advances to the next record; false at end of input.
  bool next();
  size_t size() const { return ends_size_; }
  std::string_view operator[](size_t i) const {
    const uint32_t b = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(rec_.data() + b, ends_[i] - b);
  }
  std::vector<std::string> fields() const;  // copies (for headers and tests)

  uint64_t line() const { return start_line_; }   // 1-based line where the record starts
  uint64_t end_line() const { return end_line_; } // line where it ends (quoted newlines)
  bool terminated() const { return terminated_; } // false: last record had no line terminator
  uint64_t records() const { return records_; }   // records returned so far (incl. header)
  const std::string& path() const { return path_; }

  // The header's field names, when the reader of this file recorded them (map_header does).
  const std::vector<std::string>& header() const { return header_; }
  void set_header(std::vector<std::string> h) { header_ = std::move(h); }

  std::string where() const;                                // "path:line"
  [[noreturn]] void fail(std::string_view reason) const;    // throws IngestError("path:line: reason")

 private:
  std::vector<std::string> header_;
  CsvReader() = default;
  bool fill();  // refills the buffer; false at EOF
  int peek() {
    if (pos_ == end_ && !fill()) return -1;
    return static_cast<unsigned char>(*pos_);
  }
  void end_field();
  void parse_delimited();
  void parse_whitespace();
  void read_quoted(char stop_a, char stop_b);

  std::string path_;
  CsvOptions opt_;
  std::FILE* f_ = nullptr;
  std::unique_ptr<char[]> buf_;
  std::string text_;  // from_string storage
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  bool eof_ = false;
  bool started_ = false;
  std::string rec_;
  std::vector<uint32_t> ends_;
  size_t ends_size_ = 0;
  bool any_quoted_ = false;
  uint64_t line_ = 1;
  uint64_t start_line_ = 0, end_line_ = 0;
  uint64_t records_ = 0;
  bool terminated_ = true;
};

// Number parsing for CSV fields: surrounding blanks allowed, a leading '+' allowed; the whole field
// must be consumed; non-finite values are rejected. Return false when the field is not a number.
bool parse_int(std::string_view s, int64_t& out);
bool parse_double(std::string_view s, double& out);
// "1"/"0", "true"/"false", "yes"/"no" (case-insensitive).
bool parse_bool(std::string_view s, bool& out);
std::string_view trim(std::string_view s);

}  // namespace disco::data
