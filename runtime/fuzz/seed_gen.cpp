// Writes generated bundles as extra seeds for fuzz_bundle (shapes the fixture bundles lack: int4
// embeddings, price and gap buckets), each prefixed with fuzz_bundle's flag byte:
//   disco_fuzz_seed_gen DIR   (then merge into tests/fuzz/corpus/bundle: tests/fuzz/README.md)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace fs = std::filesystem;

static void write(const fs::path& p, uint8_t prefix, const std::vector<uint8_t>& data) {
  std::ofstream f(p, std::ios::binary);
  f.put(char(prefix));
  f.write(reinterpret_cast<const char*>(data.data()), long(data.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: disco_fuzz_seed_gen DIR\n");
    return 1;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  write(dir / "synthetic", 0, disco_fuzz::seed_bundle());
  write(dir / "synthetic_nochecksum", 1, disco_fuzz::seed_bundle());
  disco::SyntheticOptions o;
  o.n_items = 9;
  o.emb_dim = 5;
  o.hidden = 3;
  o.item_dtype = disco::TensorDType::I4;
  o.num_price_buckets = 3;
  o.num_gap_buckets = 2;
  write(dir / "int4_buckets", 1, disco::build_bundle(disco::make_synthetic_spec(o)).bytes);
  std::printf("bundle seeds written to %s\n", dir.c_str());
  return 0;
}
