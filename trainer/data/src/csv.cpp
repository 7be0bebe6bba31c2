#include "disco/data/csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace disco::data {

namespace {
constexpr size_t kBufSize = 1 << 20;
}

CsvReader::CsvReader(std::string path, CsvOptions opt) : path_(std::move(path)), opt_(opt) {
  f_ = std::fopen(path_.c_str(), "rb");
  if (!f_) throw IngestError(path_ + ": cannot open: " + std::strerror(errno));
  buf_.reset(new char[kBufSize]);
  pos_ = end_ = buf_.get();
  ends_.resize(16);
}

CsvReader CsvReader::from_string(std::string text, std::string name, CsvOptions opt) {
  CsvReader r;
  r.path_ = std::move(name);
  r.opt_ = opt;
  r.text_ = std::move(text);
  r.pos_ = r.text_.data();
  r.end_ = r.pos_ + r.text_.size();
  r.eof_ = true;  // everything is already in memory
  r.ends_.resize(16);
  return r;
}

CsvReader::~CsvReader() {
  if (f_) std::fclose(f_);
}

CsvReader::CsvReader(CsvReader&& o) noexcept { *this = std::move(o); }

CsvReader& CsvReader::operator=(CsvReader&& o) noexcept {
  if (this == &o) return *this;
  if (f_) std::fclose(f_);
  const bool own_text = !o.f_ && o.pos_ != nullptr;
  const size_t off = own_text ? static_cast<size_t>(o.pos_ - o.text_.data()) : 0;
  path_ = std::move(o.path_);
  opt_ = o.opt_;
  f_ = o.f_;
  o.f_ = nullptr;
  buf_ = std::move(o.buf_);
  text_ = std::move(o.text_);
  if (own_text) {
    pos_ = text_.data() + off;
    end_ = text_.data() + text_.size();
  } else {
    pos_ = o.pos_;
    end_ = o.end_;
  }
  o.pos_ = o.end_ = nullptr;
  eof_ = o.eof_;
  started_ = o.started_;
  rec_ = std::move(o.rec_);
  ends_ = std::move(o.ends_);
  ends_size_ = o.ends_size_;
  any_quoted_ = o.any_quoted_;
  line_ = o.line_;
  start_line_ = o.start_line_;
  end_line_ = o.end_line_;
  records_ = o.records_;
  terminated_ = o.terminated_;
  return *this;
}

bool CsvReader::fill() {
  if (eof_ || !f_) return false;
  const size_t n = std::fread(buf_.get(), 1, kBufSize, f_);
  if (n == 0) {
    if (std::ferror(f_)) throw IngestError(where() + ": read error: " + std::strerror(errno));
    eof_ = true;
    return false;
  }
  pos_ = buf_.get();
  end_ = pos_ + n;
  return true;
}

std::string CsvReader::where() const {
  return path_ + ":" + std::to_string(start_line_ ? start_line_ : line_);
}

void CsvReader::fail(std::string_view reason) const {
  throw IngestError(where() + ": " + std::string(reason));
}

std::vector<std::string> CsvReader::fields() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
  return out;
}

namespace {
// A character for an error message: printable ASCII as is, anything else as \xNN (one line).
std::string show_char(int c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
  char b[8];
  std::snprintf(b, sizeof b, "\\x%02X", c & 0xff);
  return b;
}
}  // namespace

void CsvReader::end_field() {
  if (ends_size_ == ends_.size()) ends_.resize(ends_.size() * 2);
  ends_[ends_size_++] = static_cast<uint32_t>(rec_.size());
}

// Reads a quoted field's content after the opening quote, up to and including the closing quote.
void CsvReader::read_quoted(char, char) {
  const char q = opt_.quote;
  const uint64_t opened = line_;
  any_quoted_ = true;
  for (;;) {
    if (pos_ == end_ && !fill()) {
      throw IngestError(path_ + ":" + std::to_string(opened) + ": unterminated quoted field (quote opened on line " +
                        std::to_string(opened) + " never closed before end of file)");
    }
    const char* p = pos_;
    const char* stop = static_cast<const char*>(std::memchr(p, q, static_cast<size_t>(end_ - p)));
    const char* span_end = stop ? stop : end_;
    for (const char* c = p; c < span_end; ++c)
      if (*c == '\n') ++line_;
    rec_.append(p, static_cast<size_t>(span_end - p));
    pos_ = span_end;
    if (!stop) continue;
    ++pos_;  // the quote
    if (peek() == static_cast<unsigned char>(q)) {  // doubled quote -> literal quote
      rec_.push_back(q);
      ++pos_;
      continue;
    }
    return;
  }
}

void CsvReader::parse_delimited() {
  const char d = opt_.delimiter;
  const char q = opt_.quote;
  for (;;) {  // one field per iteration
    int c = peek();
    if (c == static_cast<unsigned char>(q)) {
      ++pos_;
      read_quoted(d, 0);
      c = peek();
      if (c == static_cast<unsigned char>(d)) {
        ++pos_;
        end_field();
        continue;
      }
      if (c != '\r' && c != '\n' && c != -1) {
        std::string msg = "unexpected character '" + show_char(c) +
                          "' after a closing quote (a quote inside a quoted field must be doubled)";
        throw IngestError(path_ + ":" + std::to_string(line_) + ": " + msg);
      }
    } else {
      // unquoted: copy spans until delimiter / CR / LF / EOF
      for (;;) {
        if (pos_ == end_ && !fill()) break;
        const char* p = pos_;
        while (p < end_ && *p != d && *p != '\n' && *p != '\r') ++p;
        rec_.append(pos_, static_cast<size_t>(p - pos_));
        pos_ = p;
        if (p < end_) break;
      }
      c = peek();
      if (c == static_cast<unsigned char>(d)) {
        ++pos_;
        end_field();
        continue;
      }
    }
    // end of record
    end_field();
    if (c == -1) {
      terminated_ = false;
      end_line_ = line_;
      return;
    }
    ++pos_;
    if (c == '\r' && peek() == '\n') ++pos_;
    end_line_ = line_;
    ++line_;
    return;
  }
}

void CsvReader::parse_whitespace() {
  const char q = opt_.quote;
  auto blank = [](int ch) { return ch == ' ' || ch == '\t'; };
  // leading blanks
  int c;
  while (blank(c = peek())) ++pos_;
  for (;;) {
    if (c == -1 || c == '\r' || c == '\n') break;
    if (c == static_cast<unsigned char>(q)) {
      ++pos_;
      read_quoted(' ', '\t');
      c = peek();
      if (!blank(c) && c != '\r' && c != '\n' && c != -1) {
        std::string msg = "unexpected character '" + show_char(c) + "' after a closing quote";
        throw IngestError(path_ + ":" + std::to_string(line_) + ": " + msg);
      }
    } else {
      for (;;) {
        if (pos_ == end_ && !fill()) break;
        const char* p = pos_;
        while (p < end_ && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') ++p;
        rec_.append(pos_, static_cast<size_t>(p - pos_));
        pos_ = p;
        if (p < end_) break;
      }
    }
    end_field();
    while (blank(c = peek())) ++pos_;
  }
  if (c == -1) {
    terminated_ = false;
    end_line_ = line_;
    return;
  }
  ++pos_;
  if (c == '\r' && peek() == '\n') ++pos_;
  end_line_ = line_;
  ++line_;
}

bool CsvReader::next() {
  if (!started_) {
    started_ = true;
    if (peek() == 0xEF) {  // UTF-8 BOM
      if (end_ - pos_ >= 3 && static_cast<unsigned char>(pos_[1]) == 0xBB && static_cast<unsigned char>(pos_[2]) == 0xBF)
        pos_ += 3;
    }
  }
  for (;;) {
    rec_.clear();
    ends_size_ = 0;
    any_quoted_ = false;
    terminated_ = true;
    if (peek() == -1) return false;
    start_line_ = line_;
    if (opt_.mode == CsvMode::Delimited)
      parse_delimited();
    else
      parse_whitespace();
    const bool empty = ends_size_ == 0 || (ends_size_ == 1 && rec_.empty() && !any_quoted_);
    if (empty && opt_.skip_empty_lines) continue;
    if (ends_size_ == 0) end_field();  // keep size() >= 1 for an empty record that is kept
    ++records_;
    return true;
  }
}

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

bool parse_int(std::string_view s, int64_t& out) {
  s = trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

bool parse_bool(std::string_view s, bool& out) {
  s = trim(s);
  auto ieq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if ((a[i] | 0x20) != b[i]) return false;
    return true;
  };
  if (s == "1" || ieq(s, "true") || ieq(s, "yes")) {
    out = true;
    return true;
  }
  if (s == "0" || ieq(s, "false") || ieq(s, "no")) {
    out = false;
    return true;
  }
  return false;
}

}  // namespace disco::data
