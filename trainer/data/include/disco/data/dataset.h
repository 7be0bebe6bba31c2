// The in-memory dataset every trainer stage works on: dense user and item indices, events sorted
// by (user, ts), the catalog, logged decisions and outcomes, and the data-quality report that
// ingest filled in. Produced by disco::data readers (canonical CSV and the real-data adapters).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace disco::data {

enum class EventType : uint8_t { View = 0, Click = 1, Cart = 2, Remove = 3, Purchase = 4 };
inline constexpr int kNumEventTypes = 5;
const char* to_string(EventType t);
// Parses "view", "click", "cart", "remove", "purchase" (case-insensitive); false if unknown.
bool parse_event_type(std::string_view s, EventType& out);

struct Event {
  uint32_t user = 0;     // dense user index
  uint32_t item = 0;     // dense item index
  int64_t ts_ms = 0;
  EventType type = EventType::View;
  float price = 0.f;     // 0 when the source has no price
  int32_t quantity = 1;
  uint32_t session = 0;  // dense session index (filled by sessionize)
};

struct Item {
  std::string id;        // external id
  uint32_t category = 0; // dense category index (0 = unknown)
  uint32_t brand = 0;    // dense brand index (0 = unknown)
  float price = 0.f;
  float cost = 0.f;      // 0 when unknown
  bool in_stock = true;
};

// How the decision was made (the runtime's disco_mode; canonical `mode` column).
enum class DecisionMode : int8_t { Unknown = -1, Online = 0, Apprentice = 1, LoggingOnly = 2 };
const char* to_string(DecisionMode m);  // "online", "apprentice", "logging_only", "unknown"

struct Decision {
  uint64_t id_hi = 0, id_lo = 0;   // 128-bit decision id
  int64_t ts_ms = 0;
  uint64_t user_key = 0;
  uint32_t user = 0;               // dense user index if known
  uint32_t item = 0;
  uint16_t arm = 0;
  float discount = 0.f;
  float propensity = 1.f;
  std::string model_version, policy_version;
  int32_t position = -1;           // slot the item was shown in (open-bandit: 1..3); -1 = n/a
  // The context vector known when the decision was made (canonical decisions.csv `context`,
  // trainer/data/README.md: the runtime's bandit context; starbucks: the offer and the customer's
  // offer history before it, named in Dataset::context_names). Empty when the source has none.
  std::vector<float> context;
  // Optional canonical columns (the collector's export, trainer/data/README.md); these defaults
  // when the column is absent.
  DecisionMode mode = DecisionMode::Unknown;
  int8_t shown = -1;               // 1 the page displayed the offer, 0 it did not, -1 unknown
  bool holdout = false;            // A/B holdout: the site's baseline arm was served by rule
  float price = -1.f;              // the item's price at decision time; -1 unknown
  float cost = -1.f;               // its cost; -1 unknown
  std::string site;                // the collector's site id ("" unknown)
};

// Deferred activation: the page displayed the decision's offer at ts_ms (canonical activations.csv).
struct Activation {
  uint64_t id_hi = 0, id_lo = 0;
  int64_t ts_ms = 0;
};

struct Outcome {
  uint64_t id_hi = 0, id_lo = 0;
  int64_t ts_ms = 0;
  bool converted = false;
  float revenue = 0.f;
  float margin = 0.f;
};

// Every row that is dropped or repaired is counted here by reason; nothing is dropped silently.
struct QualityReport {
  std::string source;
  uint64_t rows_read = 0;
  uint64_t rows_kept = 0;
  std::map<std::string, uint64_t> dropped;   // reason -> rows dropped
  std::map<std::string, uint64_t> repaired;  // reason -> rows kept after a fix (e.g. reordered)
  // Per input file: rows read (data rows, header excluded), kept and dropped (read = kept + dropped).
  struct FileStats {
    std::string file;
    uint64_t rows_read = 0, rows_kept = 0, rows_dropped = 0;
  };
  std::vector<FileStats> files;
  // reason -> rows kept unchanged but worth knowing about (e.g. identical rows that may be genuine).
  std::map<std::string, uint64_t> flagged;
  // "file column" -> rows dropped as missing_field because that column was empty (each
  // missing_field drop is counted under the first empty column of its row).
  std::map<std::string, uint64_t> missing_columns;
  // Things about the data as a whole worth a look (timestamps that look like seconds or land in
  // 1970, ...): printed by to_text() as "warning: ..." lines.
  std::vector<std::string> warnings;
  uint64_t total_dropped() const;
  uint64_t total_repaired() const;
  std::string to_text() const;   // human-readable, one reason per line
  std::string to_json() const;
};

struct Session {
  uint32_t user = 0;
  uint32_t begin = 0, end = 0;   // [begin, end) into Dataset::events
  int64_t start_ms = 0, end_ms = 0;
};

// Session indices (into Dataset::sessions) of each part of a time-based split.
struct Split {
  std::vector<uint32_t> train, valid, test;
};

struct Dataset {
  std::string name;
  std::vector<std::string> user_ids;                 // dense -> external
  std::unordered_map<std::string, uint32_t> user_index;
  std::vector<Item> items;                           // dense -> item
  std::unordered_map<std::string, uint32_t> item_index;
  std::vector<std::string> categories{"<unknown>"};  // dense category index -> name
  std::vector<std::string> brands{"<unknown>"};
  std::vector<Event> events;                         // sorted by (user, ts_ms, original order)
  std::vector<Decision> decisions;
  std::vector<Outcome> outcomes;
  std::vector<Activation> activations;               // sorted by ts_ms (canonical activations.csv)
  std::vector<Session> sessions;                     // filled by sessionize()
  QualityReport quality;
  // Set by adapters whose source ships its own split (yoochoose-100k: train_full / test files).
  bool has_predefined_split = false;
  Split predefined_split;
  // Per event (parallel to events, only when has_predefined_split): 0 train, 1 valid, 2 test.
  // sessionize() rebuilds predefined_split from the part of each session's first event.
  std::vector<uint8_t> predefined_part;
  // Per event (parallel to events, empty when the source has none): dense index of the source's own
  // session id (canonical session_id). sessionize() also starts a new session when it changes.
  std::vector<uint32_t> source_session;
  // Per-user feature vectors (hillstrom: the customer's pre-treatment attributes), row-major
  // user_ids.size() x user_feature_names.size(); empty when the source has none.
  std::vector<std::string> user_feature_names;
  std::vector<float> user_features;
  // Extra per-outcome labels (hillstrom: "visit"), row-major outcomes.size() x names.
  std::vector<std::string> outcome_label_names;
  std::vector<float> outcome_labels;
  // Names of the Decision::context entries when the source names them (starbucks); else empty.
  std::vector<std::string> context_names;
  // The source's name of each arm index (hillstrom: "No E-Mail", ...; starbucks: the offers);
  // empty when the source names none.
  std::vector<std::string> arm_names;
  // Item / user attributes as the source spells them (strings), by attribute name, one value per
  // dense item / user ("" where the source has none). open-bandit: "<policy>/item_feature_0".."3"
  // from each policy's item_context.csv (the two files encode them differently) and
  // "user_feature_0".."3". Empty for sources without such attributes.
  std::map<std::string, std::vector<std::string>> item_attributes;
  std::map<std::string, std::vector<std::string>> user_attributes;
};

}  // namespace disco::data
