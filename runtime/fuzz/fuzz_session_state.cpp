// libFuzzer: arbitrary bytes as a saved session (disco_session_save / _save_compact output, e.g. a
// session cookie's payload) restored into a runtime over the fixture bundle. A restored session
// must keep working: observe, recommend, offer, save again (both forms).
#include <vector>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  disco_runtime* rt = disco_fuzz::fixture_runtime();
  // Copy into an exact-size heap buffer so ASan sees any read past the end.
  std::vector<uint8_t> buf(data, data + size);
  disco_session* s = nullptr;
  const disco_status st = disco_session_restore(rt, buf.data(), buf.size(), &s);
  disco_fuzz::check_refusal(st);
  if (st == DISCO_OK) {
    disco_event ev{1, 3, 0, 0.0f, 1};
    disco_observe(s, &ev);
    uint32_t items[3];
    float scores[3];
    uint32_t n = 0;
    disco_recommend(s, 3, nullptr, items, scores, &n);
    disco_offer o{};
    disco_offer_make(s, 2, 10, 0, 0, &o);
    static std::vector<uint8_t> again(1 << 16);
    size_t len = 0;
    disco_fuzz::check_refusal(disco_session_save(s, again.data(), again.size(), &len));
    disco_fuzz::check_refusal(disco_session_save_compact(s, again.data(), again.size(), &len));
    disco_session_free(s);
  }
  disco_runtime_free(rt);
  return 0;
}
