// libFuzzer: arbitrary bytes as a bundle. Accepted bundles are run (session, observe, recommend,
// offer, update) and their signature block is checked against a fixed P-256 key. The first byte's
// low bit selects DISCO_LOAD_SKIP_CHECKSUM so mutations inside the payload reach the model checks
// instead of stopping at the checksum.
#include <cstring>
#include <vector>

#include "fuzz_common.h"

namespace {
// The ECDSA P-256 public key (SPKI DER) of the signed seed tests/fuzz/corpus/bundle/signed_p256.disco
// (its private key was thrown away): that seed verifies, mutations of its signed bytes must not.
const uint8_t kSpki[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x73, 0x23, 0xb4, 0xcf, 0x89, 0x0a, 0x36, 0xb6, 0x94,
    0xb1, 0xf3, 0xb8, 0x73, 0x3d, 0x31, 0x6e, 0x8b, 0x98, 0x13, 0xa7, 0xaf, 0xf2, 0x24, 0xc6, 0x43, 0x04, 0x56,
    0x78, 0xc8, 0x26, 0x8d, 0xf4, 0xe4, 0x36, 0x9a, 0x9d, 0x6f, 0xd1, 0x09, 0xb8, 0x65, 0x4c, 0x89, 0x6d, 0xf3,
    0xd4, 0x0b, 0x1f, 0xad, 0x69, 0x67, 0x74, 0xc1, 0xa4, 0x4b, 0x4e, 0x96, 0xef, 0x27, 0x24, 0x72, 0x55, 0x2a, 0x9c};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t flags = (data[0] & 1) ? DISCO_LOAD_SKIP_CHECKSUM : 0;
  // Copy into an exact-size heap buffer so ASan sees any read past the end.
  std::vector<uint8_t> buf(data + 1, data + size);
  disco_bundle* b = nullptr;
  const disco_status st = disco_bundle_load(buf.data(), buf.size(), flags, &b);
  disco_fuzz::check_refusal(st);
  if (st != DISCO_OK) return 0;
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  const char* id = nullptr;
  disco_bundle_item_id(b, 0, &id);
  uint32_t idx = 0;
  if (id) disco_bundle_item_index(b, id, std::strlen(id), &idx);
  disco_fuzz::check_refusal(disco_bundle_verify_signature(b, kSpki, sizeof kSpki));
  disco_runtime* rt = nullptr;
  const disco_status cr = disco_runtime_create(b, nullptr, &rt);
  disco_fuzz::check_refusal(cr);
  if (cr == DISCO_OK) {
    disco_fuzz::exercise(rt, info.n_items);
    disco_fuzz::save_again(rt);
    disco_runtime_free(rt);
  }
  disco_bundle_free(b);
  return 0;
}
