// cereal archives over a memory buffer (no iostreams, so the WASM build stays small), in cereal's
// portable-binary spirit: every value little-endian, sizes as uint64. The output archive writes into
// a caller buffer of fixed capacity and counts what did not fit (so BUFFER_TOO_SMALL can report the
// needed size); the input archive is bounds-checked and never throws: past the end it yields zeros
// and sets failed(), and a container size larger than the remaining bytes fails without allocating.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

namespace disco::detail {

class MemoryOutputArchive : public cereal::OutputArchive<MemoryOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  MemoryOutputArchive(uint8_t* buf, size_t cap)
      : cereal::OutputArchive<MemoryOutputArchive, cereal::AllowEmptyClassElision>(this), buf_(buf), cap_(cap) {}
  void saveBinary(const void* data, size_t size) {
    if (size == 0) return;
    if (buf_ && pos_ + size <= cap_ && pos_ + size >= pos_) std::memcpy(buf_ + pos_, data, size);
    pos_ += size;
  }
  // Little-endian scalar write.
  template <class T>
  void saveScalar(const T& v) {
    if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
      saveBinary(&v, sizeof(T));
    } else {
      uint8_t b[sizeof(T)];
      std::memcpy(b, &v, sizeof(T));
      for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
      saveBinary(b, sizeof(T));
    }
  }
  size_t size() const { return pos_; }
  bool fits() const { return pos_ <= cap_; }

 private:
  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = 0;
};

class MemoryInputArchive : public cereal::InputArchive<MemoryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  MemoryInputArchive(const uint8_t* buf, size_t len)
      : cereal::InputArchive<MemoryInputArchive, cereal::AllowEmptyClassElision>(this), buf_(buf), len_(len) {}
  void loadBinary(void* data, size_t size) {
    if (size == 0) return;
    if (failed_ || size > len_ - pos_) {
      failed_ = true;
      std::memset(data, 0, size);
      return;
    }
    std::memcpy(data, buf_ + pos_, size);
    pos_ += size;
  }
  template <class T>
  void loadScalar(T& v) {
    loadBinary(&v, sizeof(T));
    if constexpr (std::endian::native != std::endian::little && sizeof(T) > 1) {
      uint8_t b[sizeof(T)];
      std::memcpy(b, &v, sizeof(T));
      for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
      std::memcpy(&v, b, sizeof(T));
    }
  }
  size_t remaining() const { return failed_ ? 0 : len_ - pos_; }
  bool failed() const { return failed_; }
  void fail() { failed_ = true; }
  size_t position() const { return pos_; }

 private:
  const uint8_t* buf_;
  size_t len_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace disco::detail

namespace cereal {
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(disco::detail::MemoryOutputArchive& ar,
                                                                           const T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    const uint8_t b = t ? 1 : 0;
    ar.saveScalar(b);
  } else {
    ar.saveScalar(t);
  }
}
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(disco::detail::MemoryInputArchive& ar,
                                                                           T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    uint8_t b = 0;
    ar.loadScalar(b);
    t = b != 0;
  } else {
    ar.loadScalar(t);
  }
}
template <class Archive, class T>
inline CEREAL_ARCHIVE_RESTRICT(disco::detail::MemoryInputArchive, disco::detail::MemoryOutputArchive)
    CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, NameValuePair<T>& t) {
  ar(t.value);
}
// Sizes travel as uint64 (portable between 32-bit WASM and 64-bit native).
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(disco::detail::MemoryOutputArchive& ar, const SizeTag<T>& t) {
  const uint64_t s = static_cast<uint64_t>(t.size);
  ar.saveScalar(s);
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(disco::detail::MemoryInputArchive& ar, SizeTag<T>& t) {
  uint64_t s = 0;
  ar.loadScalar(s);
  // Every element takes at least one byte: a larger count is corrupt (and must not allocate).
  if (s > ar.remaining()) {
    ar.fail();
    s = 0;
  }
  t.size = static_cast<typename std::remove_reference_t<T>>(s);
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(disco::detail::MemoryOutputArchive& ar, const BinaryData<T>& bd) {
  // Element-wise little-endian for arithmetic element types.
  using E = std::remove_cv_t<std::remove_pointer_t<T>>;
  if constexpr (std::endian::native == std::endian::little || sizeof(E) == 1) {
    ar.saveBinary(bd.data, static_cast<size_t>(bd.size));
  } else {
    const E* p = static_cast<const E*>(bd.data);
    for (size_t i = 0; i < bd.size / sizeof(E); ++i) ar.saveScalar(p[i]);
  }
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(disco::detail::MemoryInputArchive& ar, BinaryData<T>& bd) {
  using E = std::remove_cv_t<std::remove_pointer_t<T>>;
  if constexpr (std::endian::native == std::endian::little || sizeof(E) == 1) {
    ar.loadBinary(bd.data, static_cast<size_t>(bd.size));
  } else {
    E* p = static_cast<E*>(bd.data);
    for (size_t i = 0; i < bd.size / sizeof(E); ++i) ar.loadScalar(p[i]);
  }
}
}  // namespace cereal

CEREAL_REGISTER_ARCHIVE(disco::detail::MemoryOutputArchive)
CEREAL_REGISTER_ARCHIVE(disco::detail::MemoryInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(disco::detail::MemoryInputArchive, disco::detail::MemoryOutputArchive)
