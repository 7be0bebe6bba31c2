// libFuzzer: arbitrary bytes as saved runtime state (disco_runtime_save output: bandit, pending
// decisions, held outcomes, budget) restored into a runtime over the fixture bundle. Whatever is
// accepted must keep working and save again.
#include <vector>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  disco_runtime* rt = disco_fuzz::fixture_runtime();
  std::vector<uint8_t> buf(data, data + size);
  const disco_status st = disco_runtime_restore(rt, buf.data(), buf.size());
  disco_fuzz::check_refusal(st);
  // A refusal leaves the runtime as it was (all or nothing); that it still works is checked for
  // one refused input in 16 only, to keep the rate up.
  if (st != DISCO_OK && (size & 15) != 0) {
    disco_runtime_free(rt);
    return 0;
  }
  disco_fuzz::exercise(rt, disco_fuzz::fixture_items());
  disco_fuzz::save_again(rt);
  disco_runtime_free(rt);
  return 0;
}
