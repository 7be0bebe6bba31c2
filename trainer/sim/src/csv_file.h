// The CSV writer's buffered file (internal to trainer/sim/src/): rows built in memory with fast
// number formatting, written in 1 MiB chunks; a row can be repeated (dirty_rows.h, duplicate_row).
#pragma once
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "disco/sim/simulate.h"

namespace disco::sim {

// Buffered file writer with fast number formatting.
class CsvFile {
 public:
  CsvFile(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) throw SimError(path + ": cannot open for writing: " + std::strerror(errno));
    buf_.reserve(kChunk + 4096);
  }
  ~CsvFile() {
    if (f_) std::fclose(f_);
  }
  CsvFile(const CsvFile&) = delete;
  CsvFile& operator=(const CsvFile&) = delete;

  CsvFile& str(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  CsvFile& ch(char c) {
    buf_.push_back(c);
    return *this;
  }
  template <class T>
  CsvFile& integer(T v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  CsvFile& fixed2(double v) {
    char tmp[48];
    if (std::fabs(v) < 0.005) v = 0.0;  // no "-0.00"
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v, std::chars_format::fixed, 2);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  CsvFile& shortest(double v) {
    char tmp[48];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  // Ends a row; the row (from row_start()) is kept for duplication.
  // A row is written between row_start() and end_row(); duplicate_last_row() repeats it.
  void row_start() {
    if (buf_.size() >= kChunk) flush();
    row_begin_ = buf_.size();
  }
  void end_row() {
    buf_.push_back('\n');
    ++rows_;
  }
  void duplicate_last_row() {
    const std::string row = buf_.substr(row_begin_);
    buf_.append(row);
    ++rows_;
  }
  uint64_t rows() const { return rows_; }
  uint64_t close() {
    flush();
    if (std::fclose(f_) != 0) {
      f_ = nullptr;
      throw SimError(path_ + ": write failed: " + std::strerror(errno));
    }
    f_ = nullptr;
    return bytes_;
  }

 private:
  void flush() {
    if (buf_.empty()) return;
    if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw SimError(path_ + ": write failed: " + std::strerror(errno));
    bytes_ += buf_.size();
    buf_.clear();
    row_begin_ = 0;
  }
  static constexpr size_t kChunk = 1 << 20;
  std::string path_;
  std::FILE* f_ = nullptr;
  std::string buf_;
  size_t row_begin_ = 0;
  uint64_t rows_ = 0, bytes_ = 0;
};

}  // namespace disco::sim
