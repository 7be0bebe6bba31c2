// The served bundle's catalog (catalog.h), read with the runtime's loader (checked) and the
// generated FlatBuffers accessors.
#include "disco/collector/catalog.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "disco/disco.h"
#include "disco/schemas/bundle_generated.h"

namespace disco::collector {
namespace {

// The shortest decimal that reads back as the same float (the bundle stores 12.99 as the float
// 12.9899997...): what the catalog said, so the checkout charges 12.99 and the export writes "12.99".
double as_written(float f) {
  char buf[32];
  for (int p = 1; p <= 9; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, static_cast<double>(f));
    if (static_cast<float>(std::strtod(buf, nullptr)) == f) break;
  }
  return std::strtod(buf, nullptr);
}

}  // namespace

// The served bundle's catalog (id -> category/brand indices as text, price, cost, in stock).
// Returns false when there is no readable, valid bundle at `path`.
bool read_bundle_catalog(const std::string& path, std::map<std::string, CatalogItem>& items, std::vector<std::string>& order,
                         std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool ok = read_bundle_catalog(bytes.data(), bytes.size(), items, order, why);
  if (!ok && why && !why->empty()) *why = path + ": " + *why;
  return ok;
}

bool read_bundle_catalog(const uint8_t* data, size_t len, std::map<std::string, CatalogItem>& items,
                         std::vector<std::string>& order, std::string* why) {
  disco_bundle* b = nullptr;
  if (disco_bundle_load(data, len, 0, &b) != DISCO_OK) {
    if (why) *why = std::string("not a loadable bundle: ") + disco_last_error();
    return false;
  }
  disco_bundle_free(b);
  const auto* bundle = disco::fb::GetBundle(data);
  const auto* model = bundle->payload_nested_root();
  const auto* cat = model ? model->catalog() : nullptr;
  if (!cat || !cat->item_ids()) return false;
  const size_t n = cat->item_ids()->size();
  auto col = [&](auto* v, size_t k, auto dflt) { return v && k < v->size() ? v->Get(static_cast<flatbuffers::uoffset_t>(k)) : dflt; };
  for (size_t k = 0; k < n; ++k) {
    CatalogItem it;
    it.in_bundle = true;
    it.category = std::to_string(col(cat->category(), k, 0u));
    const uint32_t brand = col(cat->brand(), k, 0u);
    if (brand) it.brand = std::to_string(brand);
    it.price = as_written(col(cat->price(), k, 0.0f));
    it.cost = cat->cost() && k < cat->cost()->size() ? as_written(cat->cost()->Get(static_cast<flatbuffers::uoffset_t>(k))) : -1.0;
    it.in_stock = col(cat->in_stock(), k, static_cast<uint8_t>(1)) ? 1 : 0;
    std::string id = cat->item_ids()->Get(static_cast<flatbuffers::uoffset_t>(k))->str();
    if (items.emplace(id, it).second) order.push_back(id);
  }
  return true;
}

bool read_bundle_arm_kinds(const uint8_t* data, size_t len, std::vector<uint8_t>& kinds) {
  disco_bundle* b = nullptr;
  if (disco_bundle_load(data, len, 0, &b) != DISCO_OK) return false;
  disco_bundle_free(b);
  const auto* model = disco::fb::GetBundle(data)->payload_nested_root();
  kinds.clear();
  if (model && model->arms())
    for (const auto* a : *model->arms()) kinds.push_back(a ? static_cast<uint8_t>(a->kind()) : 0);
  return true;
}

}  // namespace disco::collector
