// libFuzzer targets for the collector's batch parsers, one binary per wire form: fuzz_json_batch
// (DISCO_FUZZ_FLATBUFFERS=0) and fuzz_fb_batch (=1). Any input must be refused with a message or
// accepted without a crash, leak or sanitizer report; an accepted batch must re-encode and parse
// back the same way (both wire forms).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "disco/collector/batch.h"

using namespace disco::collector;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer passes an exact-size heap copy: ASan sees any read past the end.
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ParseLimits lim;
  lim.max_rows = 1000;
  Batch b;
  ParseError err;
  const bool ok = DISCO_FUZZ_FLATBUFFERS ? parse_flatbuffers_batch(body, b, err, lim) : parse_json_batch(body, b, err, lim);
  if (!ok) {
    if (err.message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  Batch again;
  if (!parse_flatbuffers_batch(encode_flatbuffers(b), again, err, lim)) std::abort();
  if (again.rows() != b.rows()) std::abort();
  if (!parse_json_batch(encode_json(b), again, err, lim)) std::abort();
  if (again.rows() != b.rows()) std::abort();
  return 0;
}
