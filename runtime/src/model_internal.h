// Internal: the loaded bundle (zero-copy views into the caller's bytes) shared by runtime sources.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "disco/disco.h"
#include "disco/schemas/bundle_generated.h"

namespace disco::detail {

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A quantized (I8 / I4) or F32 matrix viewed in place.
struct MatrixView {
  fb::DType dtype = fb::DType::F32;
  uint32_t rows = 0, cols = 0;
  size_t row_bytes = 0;            // bytes per row of data
  const uint8_t* data = nullptr;   // rows * row_bytes bytes
  const uint8_t* scales = nullptr; // rows little-endian f32 (I8 / I4), not necessarily aligned
  float scale(uint32_t r) const { return load_f32(scales + 4 * size_t(r)); }
  const int8_t* row_i8(uint32_t r) const { return reinterpret_cast<const int8_t*>(data + r * row_bytes); }
  const uint8_t* row_raw(uint32_t r) const { return data + r * row_bytes; }
};

using U32List = flatbuffers::Vector<uint32_t>;

struct ArmInfo {
  std::string_view name;
  fb::ArmKind kind = fb::ArmKind::Percent;
  float value = 0.0f;
  float merchant_cost = 0.0f;
};

struct StringViewHash {
  size_t operator()(std::string_view s) const noexcept;
};

// Item id -> catalog index over the catalog's own strings, in place: open addressing (linear
// probing) in one array of 2^k >= 2n slots (catalog index + 1, 0 = empty) plus a parallel array of
// 32-bit hash tags, so a load is two allocations and one hash per id instead of a node per id.
class ItemIndex {
 public:
  using Ids = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>;
  // Sizes the table for ids->size() entries; then add() each index once.
  void init(const Ids* ids);
  // Adds catalog index i; returns i when new, else the index that already holds the same id.
  uint32_t add(uint32_t i);
  // The catalog index of id, or -1.
  int64_t find(std::string_view id) const;
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uint32_t) + tags_.capacity() * sizeof(uint32_t); }

 private:
  const Ids* ids_ = nullptr;
  uint32_t mask_ = 0;
  std::vector<uint32_t> slots_, tags_;
};

}  // namespace disco::detail

struct disco_bundle {
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  const disco::fb::Bundle* outer = nullptr;
  const disco::fb::Model* model = nullptr;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
  uint64_t checksum = 0;  // identifies the bundle in saved state

  uint32_t n = 0, d = 0, h = 0, n_types = 0, n_price_buckets = 0, n_gap_buckets = 0;
  disco::detail::MatrixView item_emb, w_ih, w_hh, out_proj;  // out_proj: I8 or F32
  // Small float tensors, copied at load (aligned, native floats).
  std::vector<float> type_emb, price_emb, gap_emb, lstm_b, out_bias, prop_w;
  float prop_b = 0.0f;

  // Catalog columns (absent -> nullptr; defaults: category 0, price 0, cost 0, in stock).
  const flatbuffers::Vector<uint32_t>* category = nullptr;
  const flatbuffers::Vector<float>* price = nullptr;
  const flatbuffers::Vector<float>* cost = nullptr;
  const flatbuffers::Vector<uint8_t>* in_stock = nullptr;
  const flatbuffers::Vector<uint32_t>* brand = nullptr;
  disco::detail::ItemIndex id_index;

  std::vector<disco::detail::ArmInfo> arms;
  uint32_t context_dim = 0;
  uint32_t max_discounted_offers = 0;  // guardrails: per-shopper cap, 0 = none

  // Offer-policy rules (schemas/bundle.fbs Arm): the arms whose window contains now_ms and whose
  // eligibility admits `item`, of item / category scope, or (cart) of cart scope only (bit 0 always
  // set; arms without rules always).
  uint32_t rule_mask(uint32_t item, int64_t now_ms, bool cart = false) const;
  // When an offer of `arm` made at now_ms expires: the arm's lifetime_s (else ttl_s), capped at
  // its window's end.
  int64_t expiry(uint32_t arm, int64_t now_ms, uint32_t ttl_s) const;

  float item_price(uint32_t i) const { return price ? price->Get(i) : 0.0f; }
  float item_cost(uint32_t i) const { return cost ? cost->Get(i) : 0.0f; }
  uint32_t item_category(uint32_t i) const { return category ? category->Get(i) : 0u; }
  bool item_in_stock(uint32_t i) const { return in_stock ? in_stock->Get(i) != 0 : true; }
  size_t memory_bytes() const;
};
