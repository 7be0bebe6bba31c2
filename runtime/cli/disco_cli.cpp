// disco: the runtime's command line.
//   disco inspect BUNDLE [--pubkey KEY.der ...]
//   disco replay BUNDLE EVENTS.csv [--seed N] [--out decisions.csv] [--offer-on cart|view|click]
//                [--mode online|apprentice|logging] [--learn]
//   disco bench [BUNDLE] [--iters N] [--items N]
// Exit codes: 0 ok, 1 usage, 2 input error (message names the file / line / reason).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/disco.h"
#include "disco/formats/cli.h"
#include "disco/formats/text.h"
#include "disco/kernels.h"
#include "disco/schemas/bundle_generated.h"
#include "disco/xxh64.h"

namespace fb = disco::fb;

namespace {

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

struct Bundle {
  std::vector<uint8_t> bytes;
  disco_bundle* b = nullptr;
  ~Bundle() { disco_bundle_free(b); }
};

int load_bundle(const std::string& path, Bundle* out) {
  if (!read_file(path, &out->bytes)) {
    std::fprintf(stderr, "disco: %s: cannot read the file\n", path.c_str());
    return 2;
  }
  const disco_status st = disco_bundle_load(out->bytes.data(), out->bytes.size(), 0, &out->b);
  if (st != DISCO_OK) {
    std::fprintf(stderr, "disco: %s: %s: %s\n", path.c_str(), disco_status_string(st), disco_last_error());
    return 2;
  }
  return 0;
}

const char* dtype_name(fb::DType t) {
  return t == fb::DType::F32 ? "f32" : t == fb::DType::I8 ? "i8" : t == fb::DType::I4 ? "i4" : "?";
}
const char* arm_kind(fb::ArmKind k) {
  return k == fb::ArmKind::Percent ? "percent" : k == fb::ArmKind::FixedAmount ? "fixed-amount" : "free-shipping";
}
const char* algo_name(fb::BanditAlgorithm a) {
  return a == fb::BanditAlgorithm::LinTS ? "LinTS" : a == fb::BanditAlgorithm::LinUCB ? "LinUCB" : "eps-greedy";
}

std::string guard_names(uint32_t g) {
  static const char* names[] = {"max_discount", "margin_floor", "budget", "cooldown", "ineligible", "apprentice"};
  std::string s;
  for (int i = 0; i < 6; ++i)
    if (g & (1u << i)) s += (s.empty() ? "" : "|") + std::string(names[i]);
  return s;
}

std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
// epoch ms -> 2026-11-27T00:00:00Z
std::string utc(int64_t ms) {
  const std::time_t t = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// ---------------------------------------------------------------------------------------- inspect
int cmd_inspect(const std::string& bundle_path, const std::vector<std::string>& pubkeys) {
  Bundle bd;
  if (int rc = load_bundle(bundle_path, &bd)) return rc;
  disco_bundle_info info{};
  disco_bundle_get_info(bd.b, &info);
  const fb::Bundle* outer = fb::GetBundle(bd.bytes.data());
  const fb::Model* m = outer->payload_nested_root();
  std::printf("bundle        %s (%zu bytes, payload %u bytes)\n", bundle_path.c_str(), bd.bytes.size(), outer->payload()->size());
  std::printf("schema        %u.%u\n", info.schema_major, info.schema_minor);
  std::printf("model         %s, created_at_ms %lld\n", info.model_version, (long long)info.created_at_ms);
  std::printf("checksum      XXH64 0x%016llx (verified)\n", (unsigned long long)outer->checksum());
  if (info.signed_) {
    std::printf("signature     ECDSA P-256, %u bytes, key id %s\n", outer->signature()->size(),
                outer->key_id() ? outer->key_id()->c_str() : "(none)");
  } else {
    std::printf("signature     none\n");
  }
  if (!pubkeys.empty()) {
    // Several keys (a rotation): the one whose key id is the bundle's verifies it.
    const std::string want = outer->key_id() ? outer->key_id()->str() : "";
    std::vector<uint8_t> key, pick;
    std::string picked;
    for (const std::string& path : pubkeys) {
      if (!read_file(path, &key)) {
        std::fprintf(stderr, "disco: %s: cannot read the public key\n", path.c_str());
        return 2;
      }
      if (pick.empty() || disco::key_id_for_spki(key) == want) pick = key, picked = path;
    }
    const disco_status st = disco_bundle_verify_signature(bd.b, pick.data(), pick.size());
    std::printf("verify        %s%s%s%s\n", st == DISCO_OK ? "OK with " : disco_status_string(st), st == DISCO_OK ? picked.c_str() : "",
                st == DISCO_OK ? "" : ": ", st == DISCO_OK ? "" : disco_last_error());
    if (st != DISCO_OK) return 2;
  }
  const fb::ModelConfig* c = m->config();
  std::printf("config        items %u, emb_dim %u, hidden %u, layers %u, event types %u, price buckets %u, gap buckets %u\n",
              info.n_items, c->emb_dim(), c->hidden(), c->layers(), c->num_event_types(), c->num_price_buckets(),
              c->num_gap_buckets());
  if (const fb::DataSummary* t = m->training())
    std::printf("training      %s: %llu events, %llu users, %llu sessions, %llu items, ts %lld..%lld\n",
                t->source() ? t->source()->c_str() : "?", (unsigned long long)t->events(), (unsigned long long)t->users(),
                (unsigned long long)t->sessions(), (unsigned long long)t->items(), (long long)t->first_ts_ms(),
                (long long)t->last_ts_ms());
  if (m->metrics())
    for (const fb::Metric* mt : *m->metrics()) std::printf("metric        %-24s %.6g\n", mt->name()->c_str(), mt->value());
  std::printf("tensors:\n");
  size_t total = 0;
  for (const fb::Tensor* t : *m->tensors()) {
    std::string shape;
    for (uint32_t i = 0; i < t->shape()->size(); ++i) shape += (i ? "x" : "") + std::to_string(t->shape()->Get(i));
    const size_t bytes = t->data()->size() + (t->scales() ? t->scales()->size() * 4 : 0);
    total += bytes;
    std::printf("  %-12s %-4s %-10s %9zu bytes%s\n", t->name()->c_str(), dtype_name(t->dtype()), shape.c_str(), bytes,
                t->scales() ? " (incl. per-row scales)" : "");
  }
  std::printf("  total tensor bytes %zu\n", total);
  std::printf("arms:\n");
  for (uint32_t i = 0; i < m->arms()->size(); ++i) {
    const fb::Arm* a = m->arms()->Get(i);
    std::string rules;  // the offer policy's per-arm fields (absent: item arm, guardrails' ttl, always, every item)
    if (a->scope() == fb::ArmScope::Category) rules += " scope category";
    if (a->scope() == fb::ArmScope::Cart) rules += " scope cart (min_spend " + fmt_g(a->min_spend()) + "; not chosen per item)";
    if (a->lifetime_s()) rules += " lifetime " + std::to_string(a->lifetime_s()) + "s";
    if (a->window_start_ms() || a->window_end_ms())
      rules += " window " + (a->window_start_ms() ? utc(a->window_start_ms()) : std::string("-")) + " .. " +
               (a->window_end_ms() ? utc(a->window_end_ms()) : std::string("-"));
    auto list = [&](const char* what, const flatbuffers::Vector<uint32_t>* v) {
      if (v && v->size()) rules += std::string(" ") + what + " " + std::to_string(v->size());
    };
    list("categories", a->categories());
    list("brands", a->brands());
    list("items", a->items());
    list("excluded", a->excluded_items());
    std::printf("  %u  %-16s %-13s value %g%s%s\n", i, a->name()->c_str(), arm_kind(a->kind()), a->value(),
                a->kind() == fb::ArmKind::FreeShipping ? (" merchant_cost " + std::to_string(a->merchant_cost())).c_str() : "",
                rules.c_str());
  }
  const fb::BanditPrior* bp = m->bandit();
  std::printf("bandit        %s, context_dim %u, prior_precision %g, noise %g, ucb_alpha %g, epsilon %g, floor %g%s\n",
              algo_name(bp->algorithm()), bp->context_dim(), bp->prior_precision(), bp->noise_scale(), bp->ucb_alpha(),
              bp->epsilon(), bp->exploration_floor(), bp->prior_a() ? ", warm start" : "");
  if (bp->pessimism() > 0.0f) std::printf("  choice pessimism %.3g (discounts scored by a lower confidence bound)\n", double(bp->pessimism()));
  const fb::Guardrails* g = m->guardrails();
  std::printf("guardrails    max_discount %g, margin_floor %g, budget %g per %us (%s, dual rate %g), cooldown %us, "
              "offer ttl %us, %u eligible categories, %u excluded items\n",
              g->max_discount(), g->margin_floor(), g->budget_per_period(), g->budget_period_s(),
              g->budget_mode() == fb::BudgetMode::Fcfs ? "fcfs" : "dual", g->budget_dual_rate(), g->cooldown_s(),
              g->offer_ttl_s(), g->eligible_categories() ? g->eligible_categories()->size() : 0,
              g->excluded_items() ? g->excluded_items()->size() : 0);
  if (g->pacing_burst() != 0.05f || g->max_discounted_offers())
    std::printf("              pacing burst %g, at most %u discounted offers per shopper (0 = no cap)\n", g->pacing_burst(),
                g->max_discounted_offers());
  std::printf("offer policy  %s\n", m->offer_policy() ? m->offer_policy()->c_str()
                                                       : "(none: the default arms and guardrails, schemas/examples/offer-policy.default.json)");
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(bd.b, nullptr, &rt) == DISCO_OK) {
    disco_session* s = nullptr;
    disco_session_create(rt, 0, &s);
    std::printf("memory        runtime %zu bytes (default 65536 pending decisions), session %zu bytes\n",
                disco_runtime_memory_bytes(rt), disco_session_memory_bytes(s));
    disco_session_free(s);
    disco_runtime_free(rt);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------- CSV
// RFC 4180 reader: quoted fields, doubled quotes, CRLF, BOM.
class CsvReader {
 public:
  explicit CsvReader(const std::string& path) : f_(path, std::ios::binary), path_(path) {}
  bool ok() const { return bool(f_); }
  long line() const { return line_; }
  // false at end of file; *err set on a malformed record.
  bool next(std::vector<std::string>* fields, std::string* err) {
    fields->clear();
    std::string cur;
    bool in_quotes = false, any = false, after_quote = false;
    int ch;
    ++line_;
    while ((ch = f_.get()) != EOF) {
      any = true;
      if (first_) {
        first_ = false;
        if (ch == 0xEF && f_.peek() == 0xBB) {  // UTF-8 BOM
          f_.get();
          f_.get();
          continue;
        }
      }
      if (in_quotes) {
        if (ch == '"') {
          if (f_.peek() == '"') {
            f_.get();
            cur += '"';
          } else {
            in_quotes = false;
            after_quote = true;
          }
        } else {
          if (ch == '\n') ++line_;
          cur += char(ch);
        }
        continue;
      }
      if (ch == '"' && cur.empty() && !after_quote) {
        in_quotes = true;
      } else if (ch == ',') {
        fields->push_back(std::move(cur));
        cur.clear();
        after_quote = false;
      } else if (ch == '\r' && f_.peek() == '\n') {
        continue;
      } else if (ch == '\n') {
        if (fields->empty() && cur.empty()) {  // empty line
          ++line_;
          any = false;
          continue;
        }
        fields->push_back(std::move(cur));
        return true;
      } else if (after_quote) {
        *err = path_ + ":" + std::to_string(line_) + ": character after a closing quote";
        return false;
      } else {
        cur += char(ch);
      }
    }
    if (in_quotes) {
      *err = path_ + ":" + std::to_string(line_) + ": unterminated quoted field";
      return false;
    }
    if (!any) return false;
    fields->push_back(std::move(cur));
    return true;
  }

 private:
  std::ifstream f_;
  std::string path_;
  long line_ = 0;
  bool first_ = true;
};

using disco::formats::csv_field;  // RFC 4180 output (schemas/include/disco/formats/text.h)

int parse_type(const std::string& s) {
  std::string t;
  for (char ch : s) t += char(std::tolower(static_cast<unsigned char>(ch)));
  static const char* names[] = {"view", "click", "cart", "remove", "purchase"};
  for (int i = 0; i < 5; ++i)
    if (t == names[i]) return i;
  if (t.size() == 1 && t[0] >= '0' && t[0] <= '4') return t[0] - '0';
  return -1;
}

// ---------------------------------------------------------------------------------------- replay
struct SessionSlot {
  disco_session* s = nullptr;
  uint64_t last_use = 0;
  std::string user_id;
};

struct PendingOffer {
  disco_offer offer;
  std::string session_key;
  float price;
};

struct ReplayOptions {
  std::string bundle_path, events_path, out_path = "decisions.csv";
  uint64_t seed = 1;
  int offer_type = 2;
  disco_mode mode = DISCO_MODE_ONLINE;
  bool learn = false;
};

int cmd_replay(const ReplayOptions& ro) {
  const std::string& bundle_path = ro.bundle_path;
  const std::string& events_path = ro.events_path;
  const std::string& out_path = ro.out_path;
  const uint64_t seed = ro.seed;
  const int offer_type = ro.offer_type;
  const disco_mode mode = ro.mode;
  const bool learn = ro.learn;
  Bundle bd;
  if (int rc = load_bundle(bundle_path, &bd)) return rc;
  const fb::Model* model = fb::GetBundle(bd.bytes.data())->payload_nested_root();
  const fb::Guardrails* gr = model->guardrails();
  CsvReader csv(events_path);
  if (!csv.ok()) {
    std::fprintf(stderr, "disco: %s: cannot read the file\n", events_path.c_str());
    return 2;
  }
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "disco: %s: cannot write the file\n", out_path.c_str());
    return 2;
  }
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.seed = seed;
  opt.mode = mode;
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(bd.b, &opt, &rt) != DISCO_OK) {
    std::fprintf(stderr, "disco: %s\n", disco_last_error());
    return 2;
  }
  std::vector<std::string> f;
  std::string err;
  if (!csv.next(&f, &err)) {
    std::fprintf(stderr, "disco: %s: %s\n", events_path.c_str(), err.empty() ? "empty file" : err.c_str());
    return 2;
  }
  int col[7];
  const char* names[7] = {"user_id", "session_id", "ts", "type", "item_id", "price", "quantity"};
  for (int c = 0; c < 7; ++c) {
    col[c] = -1;
    for (size_t j = 0; j < f.size(); ++j)
      if (f[j] == names[c]) col[c] = int(j);
    if (col[c] < 0 && (c == 0 || c == 2 || c == 3 || c == 4)) {
      std::fprintf(stderr, "disco: %s:1: header lacks the required column '%s' (need user_id,ts,type,item_id)\n",
                   events_path.c_str(), names[c]);
      return 2;
    }
  }
  std::fprintf(out,
               "decision_id,user_id,session_id,ts,item_id,arm,arm_name,discount,propensity,bandit_arm,"
               "purchase_propensity,expires_at_ms,guardrails,price,cost,margin_after_discount\n");
  std::unordered_map<std::string, SessionSlot> sessions;
  std::unordered_map<std::string, uint64_t> unknown_items;
  std::vector<PendingOffer> pending;
  uint64_t failed_offers = 0;
  uint64_t rows = 0, bad_rows = 0, unknown_rows = 0, offers = 0, use = 0, violations = 0, updates = 0, converted = 0;
  std::vector<uint64_t> arm_count(model->arms()->size(), 0);
  double discount_sum = 0;
  const float max_disc = gr->max_discount(), floor_frac = gr->margin_floor();
  while (csv.next(&f, &err)) {
    ++rows;
    auto field = [&](int c) -> const std::string& {
      static const std::string empty;
      return col[c] >= 0 && size_t(col[c]) < f.size() ? f[size_t(col[c])] : empty;
    };
    const int type = parse_type(field(3));
    char* endp = nullptr;
    const long long ts = std::strtoll(field(2).c_str(), &endp, 10);
    if (type < 0 || field(0).empty() || field(2).empty() || *endp) {
      if (bad_rows < 5)
        std::fprintf(stderr, "disco: %s:%ld: bad row (type '%s', ts '%s'), skipped\n", events_path.c_str(), csv.line(),
                     field(3).c_str(), field(2).c_str());
      ++bad_rows;
      continue;
    }
    const std::string& item_id = field(4);
    uint32_t item = 0;
    if (disco_bundle_item_index(bd.b, item_id.data(), item_id.size(), &item) != DISCO_OK) {
      ++unknown_rows;
      ++unknown_items[item_id];
      continue;
    }
    const float price = field(5).empty() ? 0.0f : std::strtof(field(5).c_str(), nullptr);
    const int32_t qty = field(6).empty() ? 1 : int32_t(std::strtol(field(6).c_str(), nullptr, 10));
    const std::string key = field(0) + '\x1f' + field(1);
    SessionSlot& slot = sessions[key];
    if (!slot.s) {
      if (sessions.size() > 20000) {  // bound memory: drop the least recently used half
        std::vector<std::pair<uint64_t, std::string>> by_use;
        for (auto& [k, v] : sessions)
          if (v.s) by_use.emplace_back(v.last_use, k);
        std::sort(by_use.begin(), by_use.end());
        for (size_t i = 0; i < by_use.size() / 2; ++i) {
          disco_session_free(sessions[by_use[i].second].s);
          sessions.erase(by_use[i].second);
        }
      }
      SessionSlot& fresh = sessions[key];
      fresh.user_id = field(0);
      disco_session_create(rt, disco::xxh64(field(0).data(), field(0).size()), &fresh.s);
    }
    SessionSlot& sl = sessions[key];
    sl.last_use = ++use;
    disco_event ev{ts, item, uint32_t(type), price, qty};
    if (disco_observe(sl.s, &ev) != DISCO_OK) {
      ++bad_rows;
      continue;
    }
    if (learn && type == 4) {  // a purchase converts this session's pending offers on the item
      for (size_t i = 0; i < pending.size();) {
        PendingOffer& p = pending[i];
        if (p.session_key == key && p.offer.item == item && ts <= p.offer.expires_at_ms) {
          const float paid = p.price * (1.0f - p.offer.discount);
          const float cost = model->catalog()->cost() ? model->catalog()->cost()->Get(item) : 0.0f;
          disco_outcome o{p.offer.decision_hi, p.offer.decision_lo, ts, 1, paid * float(std::max(qty, 1)),
                          (paid - cost) * float(std::max(qty, 1))};
          if (disco_update(rt, &o) == DISCO_OK) ++updates, ++converted;
          pending[i] = pending.back();
          pending.pop_back();
        } else {
          ++i;
        }
      }
    }
    if (type != offer_type) continue;
    disco_offer o{};
    if (disco_offer_make(sl.s, item, ts, 0, 0, &o) != DISCO_OK) {
      if (failed_offers++ < 5) std::fprintf(stderr, "disco: %s:%ld: offer failed: %s\n", events_path.c_str(), csv.line(), disco_last_error());
      continue;
    }
    ++offers;
    ++arm_count[o.arm];
    discount_sum += o.discount;
    const float cat_price = model->catalog()->price() ? model->catalog()->price()->Get(item) : 0.0f;
    const float cost = model->catalog()->cost() ? model->catalog()->cost()->Get(item) : 0.0f;
    const float margin = cat_price * (1.0f - o.discount) - cost;
    if (o.arm != 0 && (o.discount > max_disc + 1e-6f || margin < floor_frac * cat_price - 1e-4f)) ++violations;
    std::fprintf(out, "%016llx%016llx,%s,%s,%lld,%s,%u,%s,%.6g,%.6g,%u,%.6g,%lld,%s,%.6g,%.6g,%.6g\n",
                 (unsigned long long)o.decision_hi, (unsigned long long)o.decision_lo, csv_field(field(0)).c_str(),
                 csv_field(field(1)).c_str(), ts, csv_field(item_id).c_str(), o.arm,
                 csv_field(model->arms()->Get(o.arm)->name()->str()).c_str(),
                 double(o.discount), double(o.propensity), o.bandit_arm, double(o.purchase_propensity),
                 (long long)o.expires_at_ms, guard_names(o.guardrails).c_str(), double(cat_price), double(cost),
                 double(margin));
    if (learn) {
      disco_offer_shown(rt, o.decision_hi, o.decision_lo);
      pending.push_back(PendingOffer{o, key, cat_price});
      if (pending.size() > 4096) {  // expire the oldest as not converted
        disco_outcome no{pending.front().offer.decision_hi, pending.front().offer.decision_lo, ts, 0, 0, 0};
        if (disco_update(rt, &no) == DISCO_OK) ++updates;
        pending.erase(pending.begin());
      }
    }
  }
  if (!err.empty()) {
    std::fprintf(stderr, "disco: %s\n", err.c_str());
    std::fclose(out);
    return 2;
  }
  for (const PendingOffer& p : pending) {
    disco_outcome no{p.offer.decision_hi, p.offer.decision_lo, 0, 0, 0, 0};
    if (disco_update(rt, &no) == DISCO_OK) ++updates;
  }
  std::fclose(out);
  std::printf("replayed %llu rows: %zu sessions seen last, %llu offers -> %s\n", (unsigned long long)rows,
              sessions.size(), (unsigned long long)offers, out_path.c_str());
  std::printf("bad rows %llu; rows with unknown items %llu (%zu distinct ids)", (unsigned long long)bad_rows,
              (unsigned long long)unknown_rows, unknown_items.size());
  if (!unknown_items.empty()) {
    std::vector<std::pair<uint64_t, std::string>> top;
    for (auto& [k, v] : unknown_items) top.emplace_back(v, k);
    std::sort(top.rbegin(), top.rend());
    std::printf(", most frequent:");
    for (size_t i = 0; i < std::min<size_t>(3, top.size()); ++i)
      std::printf(" %s (%llu)", top[i].second.c_str(), (unsigned long long)top[i].first);
  }
  std::printf("\narms:");
  for (size_t a = 0; a < arm_count.size(); ++a)
    std::printf(" %s=%llu", model->arms()->Get(uint32_t(a))->name()->c_str(), (unsigned long long)arm_count[a]);
  if (failed_offers) std::printf("\nfailed offers %llu", (unsigned long long)failed_offers);
  std::printf("\nmean discount %.4f; guardrail violations %llu", offers ? discount_sum / double(offers) : 0.0,
              (unsigned long long)violations);
  if (learn) std::printf("; bandit updates %llu (%llu converted)", (unsigned long long)updates, (unsigned long long)converted);
  std::printf("\n");
  for (auto& [k, v] : sessions) disco_session_free(v.s);
  disco_runtime_free(rt);
  return violations ? 3 : 0;
}

// ---------------------------------------------------------------------------------------- bench
int cmd_bench(const std::string& path, int iters, uint32_t items) {
  Bundle bd;
  if (!path.empty()) {
    if (int rc = load_bundle(path, &bd)) return rc;
  } else {
    disco::SyntheticOptions o;
    o.n_items = items;
    auto r = disco::build_bundle(disco::make_synthetic_spec(o));
    if (!r.ok()) {
      std::fprintf(stderr, "disco: %s\n", r.error.c_str());
      return 2;
    }
    bd.bytes = std::move(r.bytes);
    disco_bundle_load(bd.bytes.data(), bd.bytes.size(), 0, &bd.b);
  }
  disco_bundle_info info{};
  disco_bundle_get_info(bd.b, &info);
  disco_runtime* rt = nullptr;
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.seed = 1;
  disco_runtime_create(bd.b, &opt, &rt);
  disco_session* s = nullptr;
  disco_session_create(rt, 1, &s);
  std::vector<double> us(static_cast<size_t>(iters), 0.0);
  uint32_t top[10];
  float sc[10];
  uint32_t n = 0;
  uint64_t sink = 0;
  for (int i = -1000; i < iters; ++i) {
    const uint32_t item = uint32_t((uint64_t(i + 1000) * 2654435761u) % info.n_items);
    disco_event ev{int64_t(i + 1000) * 1000, item, uint32_t(i % 3), 0.0f, 1};
    const auto t0 = std::chrono::steady_clock::now();
    disco_observe(s, &ev);
    disco_recommend(s, 10, nullptr, top, sc, &n);
    disco_offer o{};
    disco_offer_make(s, top[0], ev.ts_ms, 0, 0, &o);
    const auto t1 = std::chrono::steady_clock::now();
    sink += o.arm + n;
    if (i >= 0) us[size_t(i)] = std::chrono::duration<double, std::micro>(t1 - t0).count();
    if ((i + 1000) % 64 == 63) {  // keep the session realistic: a fresh shopper now and then
      disco_session_free(s);
      disco_session_create(rt, uint64_t(i + 2000), &s);
    }
  }
  std::sort(us.begin(), us.end());
  std::printf("one decision (observe + top-10 of %u items, d=%u, h=%u + offer), %d iterations, kernels %s:\n",
              info.n_items, info.emb_dim, info.hidden, iters, disco::kernels::best_kernels().name);
  std::printf("  p50 %.2f us   p90 %.2f us   p99 %.2f us   max %.2f us   (sink %llu)\n", us[us.size() / 2],
              us[us.size() * 9 / 10], us[us.size() * 99 / 100], us.back(), (unsigned long long)sink);
  std::printf("  bundle %zu bytes; runtime %zu bytes; session %zu bytes\n", bd.bytes.size(), disco_runtime_memory_bytes(rt),
              disco_session_memory_bytes(s));
  disco_session_free(s);
  disco_runtime_free(rt);
  return 0;
}


const char* kDescription =
    "disco: inspect, replay or benchmark a bundle natively\n"
    "  disco inspect BUNDLE [--pubkey KEY.der ...]\n"
    "  disco replay BUNDLE EVENTS.csv [--seed N] [--out decisions.csv] [--offer-on cart|view|click]\n"
    "               [--mode online|apprentice|logging] [--learn]\n"
    "  disco bench [BUNDLE] [--iters N] [--items N]   (no BUNDLE: synthetic 10k items, d=32, h=64)";

}  // namespace

// Exit status: 0 ok, 1 bad command line, 2 a file or bundle that cannot be used, 3 replay found
// guardrail violations.
int main(int argc, char** argv) {
  using disco::cli::Int;
  CLI::App app{kDescription, "disco"};
  app.require_subcommand(1);
  std::string inspect_bundle;
  std::vector<std::string> pubkeys;
  CLI::App* inspect = app.add_subcommand("inspect", "print a bundle's header, model, arms, guardrails and policy");
  inspect->add_option("BUNDLE", inspect_bundle, "the bundle file")->required();
  inspect->add_option("--pubkey", pubkeys, "verify the signature with this public key (DER); repeat during a key "
                                          "rotation: the key whose id is the bundle's key_id is used");
  ReplayOptions ro;
  std::string offer_on = "cart", mode = "online";
  CLI::App* replay = app.add_subcommand("replay", "replay an events CSV through the runtime; writes the decisions as CSV");
  replay->add_option("BUNDLE", ro.bundle_path, "the bundle file")->required();
  replay->add_option("EVENTS", ro.events_path, "events CSV (user_id,session_id,ts,type,item_id,price,quantity)")->required();
  replay->add_option("--seed", ro.seed, "the runtime's seed")->check(disco::cli::Uint64())->capture_default_str();
  replay->add_option("--out", ro.out_path, "decisions CSV to write")->capture_default_str();
  replay->add_option("--offer-on", offer_on, "event type that asks for an offer: view, click, cart (or 0..2)")
      ->check([](const std::string& v) {
        const int t = parse_type(v);
        return t >= 0 && t <= 2 ? std::string() : "expected view, click or cart, got '" + v + "'";
      })
      ->capture_default_str();
  replay->add_option("--mode", mode, "the runtime's mode")
      ->check(CLI::IsMember({"online", "apprentice", "logging"}))
      ->capture_default_str();
  replay->add_flag("--learn", ro.learn, "update the bandit from the events' outcomes");
  std::string bench_bundle;
  int iters = 20000;
  uint32_t items = 10000;
  CLI::App* bench = app.add_subcommand("bench", "time one decision (observe + top-10 + offer)");
  bench->add_option("BUNDLE", bench_bundle, "the bundle file (default: a synthetic one)");
  bench->add_option("--iters", iters, "iterations (at least 100)")->check(Int(1, 100000000))->capture_default_str();
  bench->add_option("--items", items, "items of the synthetic bundle")->check(Int(1, 10000000))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }
  if (*inspect) return cmd_inspect(inspect_bundle, pubkeys);
  if (*replay) {
    ro.offer_type = parse_type(offer_on);
    ro.mode = mode == "apprentice" ? DISCO_MODE_APPRENTICE : mode == "logging" ? DISCO_MODE_LOGGING_ONLY : DISCO_MODE_ONLINE;
    return cmd_replay(ro);
  }
  return cmd_bench(bench_bundle, std::max(100, iters), items);
}
