// Messages built from pieces in one out-of-line call: concat("tensor '", name, "' has ", n, " rows")
// gives exactly what "tensor '" + name + "' has " + std::to_string(n) + " rows" gives (numbers are
// formatted by std::to_string, with its overload set: an int prints as to_string(int), a float as
// to_string(float), ...), without a std::string temporary and an operator+ call per piece at every
// call site. This is a size refactor: the ~250 error messages of the runtime cost 10 KB of wasm
// code as chains of temporaries (wasm/README.md, "Size").
#pragma once
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace disco::detail {
struct Piece {
  enum Kind : uint32_t { kText, kSigned, kUnsigned, kDouble };
  Kind kind;
  uint32_t len;  // kText
  union {
    const char* text;
    long long i;
    unsigned long long u;
    double d;
  };
  constexpr Piece(const char* s) : kind(kText), len(uint32_t(std::char_traits<char>::length(s))), text(s) {}
  Piece(const std::string& s) : kind(kText), len(uint32_t(s.size())), text(s.data()) {}
  constexpr Piece(std::string_view s) : kind(kText), len(uint32_t(s.size())), text(s.data()) {}
  // the overloads of std::to_string (char is refused: `string + char` appends a character, to_string a number)
  Piece(char) = delete;
  constexpr Piece(int v) : kind(kSigned), len(0), i(v) {}
  constexpr Piece(long v) : kind(kSigned), len(0), i(v) {}
  constexpr Piece(long long v) : kind(kSigned), len(0), i(v) {}
  constexpr Piece(unsigned v) : kind(kUnsigned), len(0), u(v) {}
  constexpr Piece(unsigned long v) : kind(kUnsigned), len(0), u(v) {}
  constexpr Piece(unsigned long long v) : kind(kUnsigned), len(0), u(v) {}
  constexpr Piece(float v) : kind(kDouble), len(0), d(v) {}  // to_string(float) is "%f" of the promoted value
  constexpr Piece(double v) : kind(kDouble), len(0), d(v) {}
};

// The pieces joined. Inline (one copy at link time) so that code built without status.cpp (the
// bandit's golden test under em++) links.
inline std::string concat_pieces(std::initializer_list<Piece> pieces) {
  std::string r;
  for (const Piece& p : pieces) {
    switch (p.kind) {
      case Piece::kText:
        r.append(p.text, p.len);
        break;
      case Piece::kSigned:
        r += std::to_string(p.i);
        break;
      case Piece::kUnsigned:
        r += std::to_string(p.u);
        break;
      case Piece::kDouble:
        r += std::to_string(p.d);
        break;
    }
  }
  return r;
}

#if defined(__GNUC__) || defined(__clang__)
#define DISCO_PIECES_INLINE __attribute__((always_inline))
#else
#define DISCO_PIECES_INLINE
#endif

template <class... A>
DISCO_PIECES_INLINE inline std::string concat(const A&... a) {
  return concat_pieces({Piece(a)...});
}
}  // namespace disco::detail
