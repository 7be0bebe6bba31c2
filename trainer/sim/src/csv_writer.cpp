// The canonical CSV files (simulate.h, write_csv; trainer/data/README.md): items.csv, events.csv,
// decisions.csv, outcomes.csv, with the dirty rows of dirty_rows.h. Same seed -> same bytes.
#include "disco/sim/simulate.h"

#include <filesystem>

#include "csv_file.h"
#include "dirty_rows.h"

namespace disco::sim {

std::string decision_id_hex(uint64_t hi, uint64_t lo) {
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  for (int k = 0; k < 16; ++k) {
    s[15 - k] = hex[(hi >> (4 * k)) & 15];
    s[31 - k] = hex[(lo >> (4 * k)) & 15];
  }
  return s;
}

WriteStats write_csv(const Environment& env, const SimLog& log, const std::string& dir,
                     const LoggingPolicy& policy, double dirty_rate) {
  namespace fs = std::filesystem;
  if (!(dirty_rate >= 0.0 && dirty_rate < 1.0))
    throw SimError("dirty rate must be in [0, 1), got " + std::to_string(dirty_rate));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw SimError(dir + ": cannot create directory: " + ec.message());
  const uint64_t seed = env.seed();
  WriteStats st;
  auto count = [&](int kind) { ++st.dirty.by_reason[kDirtyNames[kind]]; };

  {  // items.csv: item_id,category,brand,price,cost,in_stock
    CsvFile f((fs::path(dir) / "items.csv").string());
    f.str("item_id,category,brand,price,cost,in_stock\n");
    for (uint32_t i = 0; i < env.num_items(); ++i) {
      const Item& it = env.item(i);
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 1, i, 4, &extra);  // dup, missing, unparsable, price
      f.row_start();
      f.ch('i').integer(i).ch(',');
      if (dk == kMissing && extra % 2 == 0) {
        f.ch(',');  // missing category
      } else {
        f.str(env.category_name(it.category)).ch(',');
      }
      f.str(env.brand_name(it.brand)).ch(',');
      if (dk == kMissing && extra % 2 == 1) {
        // missing price
      } else if (dk == kUnparsable) {
        f.str(kGarbageNumbers[extra % 5]);
      } else if (dk == kNonPositivePrice) {
        if (extra % 2) f.ch('0'); else f.ch('-').fixed2(it.price);
      } else {
        f.fixed2(it.price);
      }
      f.ch(',').fixed2(it.cost).ch(',').ch(it.in_stock ? '1' : '0');
      f.end_row();
      if (dk == kDuplicate) f.duplicate_last_row();
      if (dk >= 0) count(dk);
    }
    st.item_rows = f.rows();
    st.bytes += f.close();
  }
  {  // events.csv: user_id,session_id,ts,type,item_id,price,quantity
    CsvFile f((fs::path(dir) / "events.csv").string());
    f.str("user_id,session_id,ts,type,item_id,price,quantity\n");
    uint64_t row = 0;
    // Last numeric ts written per user: an out-of-order row goes up to 10 minutes before it (a
    // user's first row cannot be out of order; it is duplicated instead).
    std::vector<int64_t> last_written(env.num_shoppers(), INT64_MIN);
    for (const SimEvent& e : log.events) {
      uint64_t extra = 0;
      int dk = dirty_kind(seed, dirty_rate, 2, row++, kNumDirty, &extra);
      if (dk == kOutOfOrder && last_written[e.shopper] == INT64_MIN) dk = kDuplicate;
      const int missing_field = int(extra % 3);  // 0 item_id, 1 price, 2 ts
      f.row_start();
      f.ch('u').integer(e.shopper).str(",s").integer(e.session).ch(',');
      if (dk == kMissing && missing_field == 2) {
      } else if (dk == kUnparsable && extra % 2 == 0) {
        f.integer(e.ts_ms / 1000).ch('x');
      } else if (dk == kOutOfOrder) {
        const int64_t ts = last_written[e.shopper] - 1 - int64_t((extra >> 8) % 600000);
        f.integer(ts);
        last_written[e.shopper] = ts;
      } else {
        f.integer(e.ts_ms);
        last_written[e.shopper] = e.ts_ms;
      }
      f.ch(',').str(event_kind_name(e.kind)).ch(',');
      if (!(dk == kMissing && missing_field == 0)) f.ch('i').integer(e.item);
      f.ch(',');
      if (dk == kMissing && missing_field == 1) {
      } else if (dk == kUnparsable && extra % 2 == 1) {
        f.str(kGarbageNumbers[(extra >> 4) % 5]);
      } else if (dk == kNonPositivePrice) {
        if (extra % 2) f.ch('0'); else f.ch('-').fixed2(e.price);
      } else {
        f.fixed2(e.price);
      }
      f.ch(',');
      if (dk == kAbsurdQuantity) {
        f.integer(10000 + int64_t((extra >> 8) % 990000));
      } else {
        f.integer(int(e.quantity));
      }
      f.end_row();
      if (dk == kDuplicate) f.duplicate_last_row();
      if (dk >= 0) count(dk);
    }
    st.event_rows = f.rows();
    st.bytes += f.close();
  }
  const std::string policy_version = policy.to_string();
  {  // decisions.csv: decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version
    CsvFile f((fs::path(dir) / "decisions.csv").string());
    f.str("decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n");
    uint64_t row = 0;
    for (const SimDecision& d : log.decisions) {
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 3, row++, 1, &extra);  // duplicates only
      f.row_start();
      f.str(decision_id_hex(d.id_hi, d.id_lo)).ch(',').integer(d.ts_ms).ch(',');
      f.ch('u').integer(d.shopper).str(",i").integer(d.item).ch(',').integer(int(d.arm)).ch(',');
      f.shortest(arm_discount(d.arm)).ch(',').shortest(d.propensity).str(",sim,").str(policy_version);
      f.end_row();
      if (dk == kDuplicate) {
        f.duplicate_last_row();
        count(dk);
      }
    }
    st.decision_rows = f.rows();
    st.bytes += f.close();
  }
  {  // outcomes.csv: decision_id,ts,converted,revenue,margin
    CsvFile f((fs::path(dir) / "outcomes.csv").string());
    f.str("decision_id,ts,converted,revenue,margin\n");
    uint64_t row = 0;
    for (const SimOutcome& o : log.outcomes) {
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 4, row++, 1, &extra);
      f.row_start();
      f.str(decision_id_hex(o.id_hi, o.id_lo)).ch(',').integer(o.ts_ms).ch(',').ch(o.converted ? '1' : '0');
      f.ch(',').fixed2(o.revenue).ch(',').fixed2(o.margin);
      f.end_row();
      if (dk == kDuplicate) {
        f.duplicate_last_row();
        count(dk);
      }
    }
    st.outcome_rows = f.rows();
    st.bytes += f.close();
  }
  return st;
}

}  // namespace disco::sim
