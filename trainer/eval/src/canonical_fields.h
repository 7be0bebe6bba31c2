// Compile-time detection of the canonical decision fields that CONTRACTS.md section 3 adds to
// disco::data::Decision (context, holdout, price, cost; owner: the collector's branch). Code that
// needs them compiles against whatever this build's Decision has and says clearly, at run time,
// when a field is not there yet.
#pragma once

#include <iterator>
#include <type_traits>
#include <utility>
#include <vector>

namespace disco::eval::detail {

#define DISCO_EVAL_HAS_MEMBER(NAME)                                                              \
  template <class T, class = void>                                                               \
  struct has_##NAME : std::false_type {};                                                        \
  template <class T>                                                                             \
  struct has_##NAME<T, std::void_t<decltype(std::declval<const T&>().NAME)>> : std::true_type {};

DISCO_EVAL_HAS_MEMBER(context)
DISCO_EVAL_HAS_MEMBER(holdout)
DISCO_EVAL_HAS_MEMBER(price)
DISCO_EVAL_HAS_MEMBER(cost)
#undef DISCO_EVAL_HAS_MEMBER

// The decision's context vector (empty when the reader keeps none).
template <class D>
std::vector<float> context_of(const D& d) {
  std::vector<float> out;
  if constexpr (has_context<D>::value) {
    using E = std::decay_t<decltype(*std::begin(d.context))>;
    static_assert(std::is_floating_point_v<E>, "Decision::context must hold the context floats (CONTRACTS.md section 3)");
    for (const auto& v : d.context) out.push_back(static_cast<float>(v));
  }
  return out;
}

template <class D>
constexpr bool reader_has_context() { return has_context<D>::value; }
template <class D>
constexpr bool reader_has_holdout() { return has_holdout<D>::value; }

template <class D>
bool holdout_of(const D& d) {
  if constexpr (has_holdout<D>::value) return static_cast<bool>(d.holdout);
  else return false;
}

// Price / cost of the decision, or NAN when the reader keeps none.
template <class D>
double price_of(const D& d) {
  if constexpr (has_price<D>::value) return static_cast<double>(d.price);
  else return __builtin_nan("");
}
template <class D>
double cost_of(const D& d) {
  if constexpr (has_cost<D>::value) return static_cast<double>(d.cost);
  else return __builtin_nan("");
}

}  // namespace disco::eval::detail
