// disco.wasm's snprintf (wasm/src/tiny_printf.c) against the C library's on a table of formats:
// the same output and return value for everything the runtime formats (integers of every length,
// strings, characters, pointers, fixed-point floats, flags, width, precision, truncation), and the
// documented differences pinned down (%e/%g print fixed notation, at most 9 decimals, '#' and
// integer precision ignored, values above 1.8e19 print "big").
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" int disco_tiny_snprintf(char* dst, size_t cap, const char* fmt, ...);

namespace {

template <class... A>
void same(const char* fmt, A... args) {
  char want[512], got[512];
  const int nw = std::snprintf(want, sizeof want, fmt, args...);
  std::memset(got, 'X', sizeof got);
  const int ng = disco_tiny_snprintf(got, sizeof got, fmt, args...);
  EXPECT_EQ(ng, nw) << "format \"" << fmt << "\"";
  EXPECT_STREQ(got, want) << "format \"" << fmt << "\"";
}

template <class... A>
std::string tiny(const char* fmt, A... args) {
  char got[512];
  const int n = disco_tiny_snprintf(got, sizeof got, fmt, args...);
  EXPECT_EQ(size_t(n), std::strlen(got)) << fmt;
  return got;
}

}  // namespace

TEST(WasmTinyPrintf, IntegersMatchTheCLibrary) {
  same("plain text, no conversions");
  same("%d %i %d %d", 0, 42, -42, INT32_MIN);
  same("%u %u %x %X %o", 0u, 4294967295u, 0xdeadbeefu, 0xdeadbeefu, 8u);
  same("%ld %lu %lx", -1234567890123L, 18446744073709551615UL, 0xfedcba9876543210UL);
  same("%lld %llu %llx", INT64_MIN, UINT64_MAX, 0x0123456789abcdefULL);
  same("%zu %zx %jd %td", size_t(123456789), size_t(0xabc), intmax_t(-77), ptrdiff_t(-5));
  same("%hd %hu %hhu", 12, 65535, 200);
  same("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d] [%-+6d]", 42, 42, -42, 42, 42, 42, -7);
  same("[%8x] [%-8X] [%08o] [%*d] [%-*d]", 0xbeefu, 0xbeefu, 511u, 6, -3, 6, 3);
  same("100%% of %d", 3);
}

TEST(WasmTinyPrintf, StringsCharactersAndPointersMatchTheCLibrary) {
  same("[%s] [%10s] [%-10s] [%.3s] [%8.2s] [%.*s]", "disco", "disco", "disco", "disco", "disco", 4, "disco");
  same("[%c%c%c] [%3c] [%-3c]", 'a', 'b', 'c', 'x', 'y');
  same("%s: %s (%d)", "disco_bundle_load", "checksum mismatch", 7);
  int x = 0;
  same("%p", static_cast<void*>(&x));
}

TEST(WasmTinyPrintf, FixedPointFloatsMatchTheCLibrary) {
  same("%f %f %f %f", 0.0, 1.0, -2.5, 3.14159265358979);
  same("%.0f %.1f %.2f %.3f %.9f", 2.7, 0.06, 1234.5678, -0.0004, 0.123456789012);
  same("[%10.3f] [%-10.3f] [%010.3f] [%+.2f] [% .2f] [%08.3f]", 3.14159, 3.14159, -3.14159, 2.0, 2.0, -3.14159);
  same("%f %F", 1.8e19 * 0.5, 123456789.25);
  same("%.4f %.6f", 255.0 / 256.0, 1e-7);
  same("%f %f", double(INFINITY), -double(INFINITY));
  same("%f", double(NAN));
  same("%.2f%%", 99.5);
}

TEST(WasmTinyPrintf, TruncatesAndCountsLikeTheCLibrary) {
  for (size_t cap : {size_t(0), size_t(1), size_t(5), size_t(12), size_t(13)}) {
    char want[16], got[16];
    std::memset(want, 'X', sizeof want);
    std::memset(got, 'X', sizeof got);
    const int nw = std::snprintf(cap ? want : nullptr, cap, "hello %s!", "world");
    const int ng = disco_tiny_snprintf(cap ? got : nullptr, cap, "hello %s!", "world");
    EXPECT_EQ(ng, nw) << "cap " << cap;
    EXPECT_EQ(ng, 12);
    if (cap) EXPECT_STREQ(got, want) << "cap " << cap;
    EXPECT_EQ(got[cap], 'X') << "wrote past cap " << cap;
  }
}

// What tiny_printf.c's header says it does differently: pinned so a change is a decision.
TEST(WasmTinyPrintf, DocumentedDifferencesFromTheCLibrary) {
  EXPECT_EQ(tiny("%e|%E|%g|%G", 1234.5, 0.5, 1234.5, 0.25), "1234.500000|0.500000|1234.500000|0.250000");  // fixed
  EXPECT_EQ(tiny("%.3g", 2.0 / 3.0), "0.667");
  EXPECT_EQ(tiny("%.12f", 1.0 / 3.0), "0.333333333");  // at most 9 decimals
  EXPECT_EQ(tiny("%f", 1e20), "big");                   // above 1.8e19
  EXPECT_EQ(tiny("%#x|%#o", 31u, 8u), "1f|10");         // '#' ignored
  EXPECT_EQ(tiny("%.3d", 5), "5");                      // integer precision ignored
  EXPECT_EQ(tiny("%hhd", 300), "300");                  // no narrowing to char
  EXPECT_EQ(tiny("%p", static_cast<void*>(nullptr)), "0x0");  // glibc: (nil)
  EXPECT_EQ(tiny("%.2f", 0.125), "0.13");               // ties round up (glibc: to even, 0.12)
}
