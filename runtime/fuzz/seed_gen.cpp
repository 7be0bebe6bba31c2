// Writes the fuzzers' seed corpus: DIR/bundle/* (valid bundles, prefixed with the flag byte) and
// DIR/state/* (valid session / runtime / bandit states, prefixed with the selector byte).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace fs = std::filesystem;

static void write(const fs::path& p, uint8_t prefix, const uint8_t* data, size_t len) {
  std::ofstream f(p, std::ios::binary);
  f.put(char(prefix));
  f.write(reinterpret_cast<const char*>(data), long(len));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: disco_fuzz_seed_gen DIR\n");
    return 1;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir / "bundle");
  fs::create_directories(dir / "state");
  const auto& b = disco_fuzz::seed_bundle();
  write(dir / "bundle" / "synthetic", 0, b.data(), b.size());
  write(dir / "bundle" / "synthetic_nochecksum", 1, b.data(), b.size());
  disco::SyntheticOptions o;
  o.n_items = 9;
  o.emb_dim = 5;
  o.hidden = 3;
  o.item_dtype = disco::TensorDType::I4;
  o.num_price_buckets = 3;
  o.num_gap_buckets = 2;
  const auto b2 = disco::build_bundle(disco::make_synthetic_spec(o)).bytes;
  write(dir / "bundle" / "int4_buckets", 1, b2.data(), b2.size());

  disco_bundle* bundle = nullptr;
  if (disco_bundle_load(b.data(), b.size(), 0, &bundle) != DISCO_OK) return 2;
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.max_pending_decisions = 16;
  disco_runtime* rt = nullptr;
  disco_runtime_create(bundle, &opt, &rt);
  disco_session* s = nullptr;
  disco_session_create(rt, 1, &s);
  for (int i = 0; i < 6; ++i) {
    disco_event ev{i * 1000, uint32_t(i * 3 % 24), uint32_t(i % 5), 0.0f, 1};
    disco_observe(s, &ev);
    disco_offer off{};
    disco_offer_make(s, uint32_t(i), i * 1000, 0, 0, &off);
    if (i % 2) {
      disco_offer_shown(rt, off.decision_hi, off.decision_lo);
      disco_outcome out{off.decision_hi, off.decision_lo, 0, 1, 5, 1};
      disco_update(rt, &out);
    }
  }
  std::vector<uint8_t> buf(1 << 20);
  size_t len = 0;
  disco_session_save(s, buf.data(), buf.size(), &len);
  write(dir / "state" / "session", 0, buf.data(), len);
  disco_runtime_save(rt, buf.data(), buf.size(), &len);
  write(dir / "state" / "runtime", 1, buf.data(), len);
  disco_bandit_export(rt, 0, buf.data(), buf.size(), &len);
  write(dir / "state" / "bandit_replace", 2, buf.data(), len);
  write(dir / "state" / "bandit_merge", 3, buf.data(), len);
  disco_session_free(s);
  disco_runtime_free(rt);
  disco_bundle_free(bundle);
  std::printf("seed corpus written to %s\n", dir.c_str());
  return 0;
}
