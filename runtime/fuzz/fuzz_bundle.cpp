// libFuzzer: arbitrary bytes as a bundle. Accepted bundles are run (session, observe, recommend,
// offer, update). The first byte's low bit selects DISCO_LOAD_SKIP_CHECKSUM so mutations inside
// the payload reach the model checks instead of stopping at the checksum.
#include <cstring>
#include <vector>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t flags = (data[0] & 1) ? DISCO_LOAD_SKIP_CHECKSUM : 0;
  // Copy into an exact-size heap buffer so ASan sees any read past the end.
  std::vector<uint8_t> buf(data + 1, data + size);
  disco_bundle* b = nullptr;
  if (disco_bundle_load(buf.data(), buf.size(), flags, &b) != DISCO_OK) return 0;
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  const char* id = nullptr;
  disco_bundle_item_id(b, 0, &id);
  uint32_t idx = 0;
  if (id) disco_bundle_item_index(b, id, std::strlen(id), &idx);
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(b, nullptr, &rt) == DISCO_OK) {
    disco_fuzz::exercise(rt, info.n_items);
    disco_runtime_free(rt);
  }
  disco_bundle_free(b);
  return 0;
}
