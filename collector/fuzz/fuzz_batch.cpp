// libFuzzer target for the collector's batch parsers: the first byte picks JSON or FlatBuffers.
// Any input must be refused or accepted without a crash, leak or sanitizer report; an accepted
// batch must re-encode and parse back the same way (both wire forms).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "disco/collector/batch.h"

using namespace disco::collector;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ParseLimits lim;
  lim.max_rows = 1000;
  Batch b;
  ParseError err;
  bool ok = (data[0] & 1) ? parse_flatbuffers_batch(body, b, err, lim) : parse_json_batch(body, b, err, lim);
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
