// Internal helpers shared by the readers: dense-index interning, per-file quality bookkeeping,
// header mapping, duplicate detection and timestamp parsing. Not installed.
#pragma once

#include "disco/data/dates.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "disco/data/csv.h"
#include "disco/data/dataset.h"
#include "disco/data/ingest.h"

namespace disco::data::detail {

uint64_t mix64(uint64_t x);
uint64_t hash_bytes(std::string_view s, uint64_t h = 0xcbf29ce484222325ULL);
// Hash of all fields of the current record (for duplicate detection; 64-bit, collisions ~n^2/2^65).
uint64_t hash_record(const CsvReader& r);

using disco::data::days_from_civil;  // disco/data/dates.h
// "YYYYMMDD" or "YYYY-MM-DD" -> Unix ms at 00:00 UTC.
bool parse_date(std::string_view s, int64_t& ms);
// "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH:MM|-HH:MM|+HHMM]" -> Unix ms (no zone = UTC).
bool parse_datetime(std::string_view s, int64_t& ms);
// "2017-01-28T19:06:53Z" (ms dropped when zero, else ".123").
std::string format_iso(int64_t ms);

// Maps header names to positions: the first required.size() entries are the required columns
// (always >= 0), then the optional ones (-1 when absent). Throws IngestError "path:LINE: wrong
// header: missing column 'x' (header: ...)" and "path: empty file, expected a header" .
std::vector<int> map_header(CsvReader& r, std::initializer_list<std::string_view> required,
                            std::initializer_list<std::string_view> optional = {});

// Open-addressing hash table from a 64-bit hash to a dense index; the caller confirms a match
// (several keys may share a hash). Flat arrays: no per-entry allocation.
class FlatIndex {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  template <class Eq>
  uint32_t find(uint64_t h, Eq&& eq) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.hash == h && eq(s.value)) return s.value;
    }
  }
  void insert(uint64_t h, uint32_t value);
  void clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t value = kNone;
  };
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Open-addressing set of 64-bit hashes (duplicate-row detection).
class FlatSet64 {
 public:
  bool insert(uint64_t h);  // false when already present
  void reserve(size_t n);   // room for n hashes without rehashing
  void clear() {
    slots_.clear();
    size_ = 0;
    has_zero_ = false;
  }

 private:
  std::vector<uint64_t> slots_;  // 0 = empty
  size_t size_ = 0;
  bool has_zero_ = false;
};

class Builder {
 public:
  Builder(Dataset& ds, const IngestOptions& opt);

  // --- per-file quality bookkeeping ---
  // Starts a file; sizes the duplicate table from the file size (about one row per 40 bytes).
  void begin_file(const std::string& file);
  // Counts the current record as read; false when max_rows is reached (stop reading the file).
  bool row();
  void keep();
  void drop(const char* reason);
  void repair(const char* reason, uint64_t n = 1);
  void flag(const char* reason, uint64_t n = 1);
  // Checks the field count of a data row. Too few fields on an unterminated last line ->
  // dropped as "truncated_last_line" (returns false); any other mismatch throws "path:line: ...".
  bool check_fields(const CsvReader& r, size_t expected);
  // true when an identical record was already seen in the current file and duplicates are dropped.
  bool duplicate(const CsvReader& r);
  // check_fields, then duplicate (dropped as "duplicate_row"): false when the row is not to be used
  // (already counted).
  bool usable_row(const CsvReader& r, size_t expected);
  // Drops the row as "missing_field" (returns true) when any of the first n mapped columns is blank.
  bool drop_if_blank(const CsvReader& r, const std::vector<int>& col, size_t n = SIZE_MAX);
  // Drops the row as "missing_field" when any present column (index >= 0) of `cols` is blank.
  bool drop_if_any_blank(const CsvReader& r, std::initializer_list<int> cols);
  // Drops the row as "missing_field", counted in QualityReport::missing_columns under `col`'s
  // header name.
  void drop_missing(const CsvReader& r, int col);

  // --- dense indices ---
  uint32_t user(std::string_view id);
  uint32_t item(std::string_view id, bool* created = nullptr);
  bool find_item(std::string_view id, uint32_t& out);
  uint32_t category(std::string_view name);
  uint32_t brand(std::string_view name);

  // Counts events whose ts is earlier than an earlier-read event of the same user
  // ("out_of_order_ts", repaired) and stable-sorts events (and parallel arrays) by (user, ts).
  void finish_events();
  // Fills the totals of the quality report.
  void finish();

  Dataset& ds;
  const IngestOptions& opt;

 private:
  QualityReport::FileStats* cur_ = nullptr;
  size_t cur_index_ = 0;
  std::string key_;
  FlatSet64 seen_;
  FlatIndex users_, items_;
  std::unordered_map<std::string, uint32_t> cat_index_, brand_index_;
};

}  // namespace disco::data::detail
