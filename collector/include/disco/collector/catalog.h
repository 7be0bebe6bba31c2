// The served bundle's catalog as the collector reads it: item id -> category / brand (the bundle's
// indices, as text), price, cost, in stock. One reader for the canonical export (items.csv), the
// checkout (every line priced from it) and write-key decisions (priced from it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace disco::collector {

struct CatalogItem {
  std::string category = "0", brand;
  double price = 0, cost = -1;  // cost -1: the bundle has no cost for it
  int in_stock = 1;
  bool in_bundle = false;
};

struct Catalog {
  std::map<std::string, CatalogItem> items;
  std::vector<std::string> order;  // bundle order
  std::vector<uint8_t> arm_kinds;  // the bundle's arms' kinds (schemas/bundle.fbs ArmKind: 0 percent, 1 fixed, 2 free shipping)
  const CatalogItem* find(const std::string& id) const {
    auto it = items.find(id);
    return it == items.end() ? nullptr : &it->second;
  }
};

// Adds the catalog of the bundle bytes to `items` / `order` (items already there are kept).
// Returns false when the bytes are not a loadable bundle (*why says so) or it has no catalog.
bool read_bundle_catalog(const uint8_t* bytes, size_t len, std::map<std::string, CatalogItem>& items,
                         std::vector<std::string>& order, std::string* why);
// The kinds of the bundle's arms (ArmKind values, by arm index) into `kinds`; false when the bytes
// are not a loadable bundle.
bool read_bundle_arm_kinds(const uint8_t* bytes, size_t len, std::vector<uint8_t>& kinds);
// The same from a file; false (no message) when there is no file at `path`.
bool read_bundle_catalog(const std::string& path, std::map<std::string, CatalogItem>& items,
                         std::vector<std::string>& order, std::string* why);

}  // namespace disco::collector
