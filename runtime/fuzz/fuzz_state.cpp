// libFuzzer: arbitrary bytes as saved state. The first byte selects session restore, runtime
// restore, or bandit import (replace / merge); whatever is accepted must keep working.
#include <vector>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static disco_bundle* bundle = [] {
    disco_bundle* b = nullptr;
    disco_bundle_load(disco_fuzz::seed_bundle().data(), disco_fuzz::seed_bundle().size(), 0, &b);
    return b;
  }();
  if (!bundle) __builtin_trap();
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.max_pending_decisions = 16;
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(bundle, &opt, &rt) != DISCO_OK) __builtin_trap();
  std::vector<uint8_t> buf(data + 1, data + size);
  switch (data[0] % 4) {
    case 0: {
      disco_session* s = nullptr;
      if (disco_session_restore(rt, buf.data(), buf.size(), &s) == DISCO_OK) {
        disco_event ev{1, 3, 0, 0.0f, 1};
        disco_observe(s, &ev);
        uint32_t items[3];
        float scores[3];
        uint32_t n = 0;
        disco_recommend(s, 3, nullptr, items, scores, &n);
        disco_offer o{};
        disco_offer_make(s, 2, 10, 0, 0, &o);
        std::vector<uint8_t> again(1 << 16);
        size_t len = 0;
        disco_session_save(s, again.data(), again.size(), &len);
        disco_session_free(s);
      }
      break;
    }
    case 1:
      disco_runtime_restore(rt, buf.data(), buf.size());
      break;
    default:
      disco_bandit_import(rt, buf.data(), buf.size(), data[0] % 4 == 3);
      break;
  }
  disco_fuzz::exercise(rt, 24);
  std::vector<uint8_t> out(1 << 16);
  size_t len = 0;
  disco_runtime_save(rt, out.data(), out.size(), &len);
  disco_runtime_free(rt);
  return 0;
}
