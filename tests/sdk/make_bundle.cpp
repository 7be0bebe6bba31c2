// disco_sdk_make_bundle: writes a synthetic, optionally signed bundle for the SDK's node tests and
// the wasm benchmarks (runtime/include/disco/bundle_writer.h, make_synthetic_spec).
//   disco_sdk_make_bundle --out FILE [--items N] [--dim D] [--hidden H] [--seed S] [--int4]
//                         [--key PRIVATE_KEY.pem] [--schema-major M] [--model-version V]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "disco/bundle_writer.h"

namespace {
int usage(const char* msg) {
  std::fprintf(stderr,
               "disco_sdk_make_bundle: %s\nusage: disco_sdk_make_bundle --out FILE [--items N] [--dim D] "
               "[--hidden H] [--seed S] [--int4] [--key PRIVATE_KEY.pem] [--schema-major M] "
               "[--model-version V]\n",
               msg);
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  disco::SyntheticOptions so;
  std::string out, key_path, model_version;
  int schema_major = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--int4") { so.item_dtype = disco::TensorDType::I4; continue; }
    if (!(v = next())) return usage(("missing value after " + a).c_str());
    if (a == "--out") out = v;
    else if (a == "--items") so.n_items = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (a == "--dim") so.emb_dim = static_cast<uint16_t>(std::strtoul(v, nullptr, 10));
    else if (a == "--hidden") so.hidden = static_cast<uint16_t>(std::strtoul(v, nullptr, 10));
    else if (a == "--seed") so.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--key") key_path = v;
    else if (a == "--schema-major") schema_major = std::atoi(v);
    else if (a == "--model-version") model_version = v;
    else return usage(("unknown option " + a).c_str());
  }
  if (out.empty()) return usage("--out is required");
  disco::BundleSpec spec = disco::make_synthetic_spec(so);
  if (!model_version.empty()) spec.model_version = model_version;
  disco::WriteOptions wo;
  if (schema_major >= 0) {
    wo.schema_major = static_cast<uint16_t>(schema_major);
    wo.validate = false;  // the runtime refuses newer majors by design; the SDK test checks that
  }
  disco::BuildResult r;
  if (!key_path.empty()) {
    std::ifstream kf(key_path, std::ios::binary);
    if (!kf) return usage(("cannot read key " + key_path).c_str());
    std::string pem((std::istreambuf_iterator<char>(kf)), std::istreambuf_iterator<char>());
    r = disco::build_signed_bundle(spec, pem, wo);
  } else {
    r = disco::build_bundle(spec, wo);
  }
  if (!r.ok()) {
    std::fprintf(stderr, "disco_sdk_make_bundle: %s\n", r.error.c_str());
    return 1;
  }
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(r.bytes.data()), static_cast<std::streamsize>(r.bytes.size()));
  if (!f) {
    std::fprintf(stderr, "disco_sdk_make_bundle: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("%s %zu bytes, %u items, d=%u, h=%u%s\n", out.c_str(), r.bytes.size(), so.n_items,
              so.emb_dim, so.hidden, key_path.empty() ? ", unsigned" : ", signed");
  return 0;
}
