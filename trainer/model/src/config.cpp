#include "disco/model/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace disco::model {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

int64_t parse_int(const std::string& key, const std::string& v, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0)
    throw TrainError("option " + key + ": expected an integer, got '" + v + "'");
  if (x < lo || x > hi)
    throw TrainError("option " + key + ": " + v + " is out of range [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return x;
}

double parse_double(const std::string& key, const std::string& v, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(x))
    throw TrainError("option " + key + ": expected a number, got '" + v + "'");
  if (x < lo || x > hi)
    throw TrainError("option " + key + ": " + v + " is out of range [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return x;
}

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on" || v.empty()) return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw TrainError("option " + key + ": expected true/false, got '" + v + "'");
}

std::string one_of(const std::string& key, const std::string& v, std::initializer_list<const char*> ok) {
  std::string list;
  for (const char* o : ok) {
    if (v == o) return v;
    list += list.empty() ? o : std::string("|") + o;
  }
  throw TrainError("option " + key + ": expected " + list + ", got '" + v + "'");
}

}  // namespace

void TrainConfig::set(const std::string& key_in, const std::string& value_in) {
  std::string key = key_in;
  for (char& c : key)
    if (c == '-') c = '_';
  const std::string v = trim(value_in);
  if (key == "emb_dim") emb_dim = int(parse_int(key, v, 1, 1024));
  else if (key == "hidden") hidden = int(parse_int(key, v, 1, 4096));
  else if (key == "layers") layers = int(parse_int(key, v, 1, 8));
  else if (key == "price_buckets") price_buckets = int(parse_int(key, v, 0, 255));
  else if (key == "gap_buckets") gap_buckets = int(parse_int(key, v, 0, 255));
  else if (key == "dropout") dropout = parse_double(key, v, 0, 0.9);
  else if (key == "softmax") softmax = one_of(key, v, {"full", "sampled", "auto"});
  else if (key == "num_sampled") num_sampled = int(parse_int(key, v, 1, 1 << 24));
  else if (key == "prop_weight") prop_weight = parse_double(key, v, 0, 100);
  else if (key == "epochs") epochs = int(parse_int(key, v, 1, 100000));
  else if (key == "batch_size") batch_size = int(parse_int(key, v, 1, 1 << 20));
  else if (key == "max_len") max_len = int(parse_int(key, v, 2, 100000));
  else if (key == "lr") lr = parse_double(key, v, 1e-9, 10);
  else if (key == "lr_decay") lr_decay = parse_double(key, v, 0.01, 1);
  else if (key == "plateau_factor") plateau_factor = parse_double(key, v, 0.01, 1);
  else if (key == "patience") patience = int(parse_int(key, v, 0, 1000));
  else if (key == "select_by") select_by = one_of(key, v, {"mrr", "hr", "loss"});
  else if (key == "min_epoch_steps") min_epoch_steps = int(parse_int(key, v, 0, 1 << 30));
  else if (key == "weight_decay") weight_decay = parse_double(key, v, 0, 1);
  else if (key == "clip_grad") clip_grad = parse_double(key, v, 0, 1e6);
  else if (key == "seed") seed = uint64_t(parse_int(key, v, 0, INT64_MAX));
  else if (key == "threads") threads = int(parse_int(key, v, 0, 1024));
  else if (key == "device") device = one_of(key, v, {"auto", "cpu", "cuda"});
  else if (key == "checkpoint_every_steps") checkpoint_every_steps = int(parse_int(key, v, 0, INT32_MAX));
  else if (key == "crash_after_steps") crash_after_steps = parse_int(key, v, -1, INT64_MAX);
  else if (key == "max_steps") max_steps = parse_int(key, v, -1, INT64_MAX);
  else if (key == "inject_nan_at_step") inject_nan_at_step = parse_int(key, v, -1, INT64_MAX);
  else if (key == "fresh") fresh = parse_bool(key, v);
  else if (key == "progress") progress = one_of(key, v, {"auto", "bar", "lines", "off"});
  else if (key == "world_size") world_size = int(parse_int(key, v, 0, 65536));
  else if (key == "rank") rank = int(parse_int(key, v, -1, 65535));
  else if (key == "master_addr") master_addr = v;
  else if (key == "master_port") master_port = int(parse_int(key, v, 0, 65535));
  else if (key == "dist_timeout") dist_timeout = parse_double(key, v, 0.1, 86400 * 7);
  else if (key == "dist_backend") dist_backend = one_of(key, v, {"auto", "gloo", "nccl"});
  else throw TrainError("unknown option '" + key_in + "' (see disco-train --help)");
}

const std::vector<std::string>& TrainConfig::keys() {
  static const std::vector<std::string> k = {
      "emb_dim", "hidden", "layers", "price_buckets", "gap_buckets", "dropout", "softmax", "num_sampled",
      "prop_weight", "epochs", "batch_size", "max_len", "lr", "lr_decay", "plateau_factor", "patience",
      "select_by", "min_epoch_steps", "weight_decay", "clip_grad", "seed", "threads", "device", "checkpoint_every_steps", "crash_after_steps",
      "max_steps", "inject_nan_at_step", "fresh", "progress", "world_size", "rank", "master_addr", "master_port",
      "dist_timeout", "dist_backend"};
  return k;
}

std::string TrainConfig::fingerprint() const {
  std::ostringstream o;
  o.precision(17);
  o << "d=" << emb_dim << ";h=" << hidden << ";L=" << layers << ";pb=" << price_buckets
    << ";gb=" << gap_buckets << ";do=" << dropout << ";sm=" << softmax << ";ns=" << num_sampled
    << ";pw=" << prop_weight << ";bs=" << batch_size << ";ml=" << max_len << ";lr=" << lr
    << ";lrd=" << lr_decay << ";pf=" << plateau_factor << ";pat=" << patience
    << ";sel=" << select_by << ";mes=" << min_epoch_steps << ";wd=" << weight_decay << ";clip=" << clip_grad << ";seed=" << seed;
  return o.str();
}

std::string TrainConfig::to_text() const {
  std::ostringstream o;
  o << "emb_dim = " << emb_dim << "\nhidden = " << hidden << "\nlayers = " << layers
    << "\nprice_buckets = " << price_buckets << "\ngap_buckets = " << gap_buckets
    << "\ndropout = " << dropout << "\nsoftmax = " << softmax << "\nnum_sampled = " << num_sampled
    << "\nprop_weight = " << prop_weight << "\nepochs = " << epochs << "\nbatch_size = " << batch_size
    << "\nmax_len = " << max_len << "\nlr = " << lr << "\nlr_decay = " << lr_decay
    << "\nplateau_factor = " << plateau_factor << "\npatience = " << patience
    << "\nselect_by = " << select_by << "\nmin_epoch_steps = " << min_epoch_steps
    << "\nweight_decay = " << weight_decay << "\nclip_grad = " << clip_grad << "\nseed = " << seed
    << "\nthreads = " << threads << "\ndevice = " << device
    << "\ncheckpoint_every_steps = " << checkpoint_every_steps << "\n";
  return o.str();
}

DistSettings resolve_dist(const TrainConfig& cfg) {
  DistSettings d;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? trim(v) : std::string();
  };
  auto env_int = [&](const char* name, int64_t lo, int64_t hi, int64_t dflt) {
    const std::string v = env(name);
    if (v.empty()) return dflt;
    return parse_int(std::string("environment variable ") + name, v, lo, hi);
  };
  d.world_size = cfg.world_size > 0 ? cfg.world_size : int(env_int("WORLD_SIZE", 1, 65536, 1));
  d.rank = cfg.rank >= 0 ? cfg.rank : int(env_int("RANK", 0, 65535, 0));
  d.master_addr = !cfg.master_addr.empty() ? cfg.master_addr : env("MASTER_ADDR");
  if (d.master_addr.empty()) d.master_addr = "127.0.0.1";
  d.master_port = cfg.master_port > 0 ? cfg.master_port : int(env_int("MASTER_PORT", 1, 65535, 29500));
  d.timeout_s = cfg.dist_timeout;
  d.backend = cfg.dist_backend;
  if (d.rank >= d.world_size)
    throw TrainError("rank " + std::to_string(d.rank) + " is outside the process group of " +
                     std::to_string(d.world_size) + " (--rank / RANK must be in [0, --world-size))");
  return d;
}

std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TrainError(path + ": cannot open config file");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || trim(line.substr(0, eq)).empty())
      throw TrainError(path + ":" + std::to_string(n) + ": expected key = value, got '" + line + "'");
    out.emplace_back(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
  }
  return out;
}

}  // namespace disco::model
