/* A small snprintf/vsnprintf for disco.wasm, replacing musl's printf core (~6 KB of wasm code;
 * the runtime formats only error messages, e.g. through std::to_string). Supports flags "-0 +",
 * width, precision, length modifiers hh h l ll z j t, and conversions d i u x X o c s p f F e E g G %.
 * Floating point is printed as fixed notation for %f and %g/%e alike (exact to 1e-9 relative, which
 * is ample for messages); nothing in the runtime parses these strings back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct { char* p; size_t cap, n; } out_t;

static void put(out_t* o, char c) {
  if (o->n + 1 < o->cap) o->p[o->n] = c;
  o->n++;
}
static void pad(out_t* o, int count, char c) { while (count-- > 0) put(o, c); }

static void emit(out_t* o, const char* s, int len, int width, int left, char padc, const char* prefix) {
  int plen = 0;
  while (prefix && prefix[plen]) plen++;
  int fill = width - len - plen;
  if (!left && padc == ' ') pad(o, fill, ' ');
  for (int i = 0; i < plen; i++) put(o, prefix[i]);
  if (!left && padc == '0') pad(o, fill, '0');
  for (int i = 0; i < len; i++) put(o, s[i]);
  if (left) pad(o, fill, ' ');
}

static int utoa(uint64_t v, unsigned base, int upper, char* end) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do { *--end = digits[v % base]; v /= base; n++; } while (v);
  return n;
}

static void fmt_float(out_t* o, double v, int prec, int width, int left, char padc, int plus, int space) {
  char buf[64];
  char* end = buf + sizeof buf;
  char* s = end;
  const char* sign = v < 0 ? "-" : plus ? "+" : space ? " " : "";
  if (v < 0) v = -v;
  if (v != v) { emit(o, "nan", 3, width, left, ' ', sign); return; }
  if (v > 1.8e19) { emit(o, v == v + 1.0 && v > 1e308 ? "inf" : "big", 3, width, left, ' ', sign); return; }
  if (prec < 0) prec = 6;
  if (prec > 9) prec = 9;
  uint64_t scale = 1;
  for (int i = 0; i < prec; i++) scale *= 10;
  uint64_t ip = (uint64_t)v;
  double frac = (v - (double)ip) * (double)scale + 0.5;
  uint64_t fp = (uint64_t)frac;
  if (fp >= scale) { fp -= scale; ip++; }
  if (prec > 0) {
    for (int i = 0; i < prec; i++) { *--s = (char)('0' + fp % 10); fp /= 10; }
    *--s = '.';
  }
  s -= utoa(ip, 10, 0, s);
  emit(o, s, (int)(end - s), width, left, padc, sign);
}

int vsnprintf(char* restrict dst, size_t cap, const char* restrict fmt, va_list ap) {
  out_t o = {dst, cap, 0};
  char buf[32];
  for (; *fmt; fmt++) {
    if (*fmt != '%') { put(&o, *fmt); continue; }
    int left = 0, plus = 0, space = 0, width = 0, prec = -1, lng = 0;
    char padc = ' ';
    for (;; fmt++) {
      if (fmt[1] == '-') left = 1;
      else if (fmt[1] == '0') padc = '0';
      else if (fmt[1] == '+') plus = 1;
      else if (fmt[1] == ' ') space = 1;
      else if (fmt[1] == '#') {}
      else break;
    }
    fmt++;
    if (*fmt == '*') { width = va_arg(ap, int); fmt++; }
    else while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    if (*fmt == '.') {
      fmt++;
      prec = 0;
      if (*fmt == '*') { prec = va_arg(ap, int); fmt++; }
      else while (*fmt >= '0' && *fmt <= '9') prec = prec * 10 + (*fmt++ - '0');
    }
    for (;; fmt++) {
      if (*fmt == 'l') lng++;
      else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
      else if (*fmt == 'h' || *fmt == 'L') {}
      else break;
    }
    if (left) padc = ' ';
    char c = *fmt;
    if (!c) break;
    char* end = buf + sizeof buf;
    switch (c) {
      case 'd': case 'i': {
        int64_t v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        int n = utoa(u, 10, 0, end);
        emit(&o, end - n, n, width, left, padc, v < 0 ? "-" : plus ? "+" : space ? " " : "");
        break;
      }
      case 'u': case 'x': case 'X': case 'o': case 'p': {
        uint64_t u = c == 'p' ? (uint64_t)(uintptr_t)va_arg(ap, void*)
                   : lng >= 2 ? va_arg(ap, unsigned long long)
                   : lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
        int n = utoa(u, c == 'u' ? 10 : c == 'o' ? 8 : 16, c == 'X', end);
        emit(&o, end - n, n, width, left, padc, c == 'p' ? "0x" : "");
        break;
      }
      case 'c': buf[0] = (char)va_arg(ap, int); emit(&o, buf, 1, width, left, ' ', ""); break;
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        int n = 0;
        while (s[n] && (prec < 0 || n < prec)) n++;
        emit(&o, s, n, width, left, ' ', "");
        break;
      }
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        fmt_float(&o, va_arg(ap, double), prec, width, left, padc, plus, space);
        break;
      default: put(&o, c); break;
    }
  }
  if (cap) dst[o.n < cap ? o.n : cap - 1] = 0;
  return (int)o.n;
}

int snprintf(char* restrict dst, size_t cap, const char* restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
  return n;
}
