// libFuzzer: arbitrary bytes as bandit statistics for disco_bandit_import: the runtime's own
// disco_bandit_export format or the collector's fleet statistics message (FlatBuffers "DSBS",
// schemas/bandit_stats.fbs, the body of GET /v1/bandit-state). The first byte's low bit picks
// merge (1) or replace (0). Whatever is accepted must keep working and export again.
#include <vector>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t merge = data[0] & 1;
  std::vector<uint8_t> buf(data + 1, data + size);
  disco_runtime* rt = disco_fuzz::fixture_runtime();
  const disco_status st = disco_bandit_import(rt, buf.data(), buf.size(), merge);
  disco_fuzz::check_refusal(st);
  // A refusal leaves the runtime as it was (all or nothing); that it still works is checked for
  // one refused input in 16 only, to keep the rate up.
  if (st != DISCO_OK && (size & 15) != 0) {
    disco_runtime_free(rt);
    return 0;
  }
  disco_fuzz::exercise(rt, disco_fuzz::fixture_items());
  static std::vector<uint8_t> out(1 << 20);
  size_t len = 0;
  disco_fuzz::check_refusal(disco_bandit_export(rt, 0, out.data(), out.size(), &len));
  disco_fuzz::save_again(rt);
  disco_runtime_free(rt);
  return 0;
}
