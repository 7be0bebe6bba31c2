// Readers that turn files on disk into a cleaned disco::data::Dataset. Every dropped or repaired
// row is counted in Dataset::quality by reason. Bad input (missing file, wrong header, malformed
// line that cannot be counted as a data-quality drop) throws IngestError whose message names the
// file, the line and the reason: "events.csv:17: expected 7 fields, got 5".
#pragma once

#include <stdexcept>
#include <string>

#include "disco/data/dataset.h"

namespace disco::data {

class IngestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IngestOptions {
  int64_t session_gap_ms = 30LL * 60 * 1000;  // sessionize by inactivity gap
  double max_quantity = 1000;                 // larger quantities count as "absurd_quantity"
  double max_price = 1e6;                     // larger prices count as "outlier_price"
  uint64_t max_rows = 0;                      // 0 = all (per input file)
  bool drop_duplicates = true;                // identical rows -> dropped as "duplicate_row"
  char sep = ',';                             // canonical CSV field separator (',' ';' '\t' '|')
  // session-rec's filters, applied after sessionizing (0 = off), in its order: sessions shorter
  // than min_session_length, then events of items seen in fewer than min_item_support events,
  // then sessions shorter than min_session_length again (dropped as short_session / rare_item).
  uint32_t min_item_support = 0;
  uint32_t min_session_length = 0;
};

// "," ";" "|" "\t" (also the two characters backslash t, or "tab") -> the separator; false otherwise.
bool parse_separator(const std::string& s, char& out);

// Applies IngestOptions::min_session_length / min_item_support to a sessionized dataset (every
// reader calls it through read_dataset); sessions keep their identity (never re-split).
void filter_sessions(Dataset& ds, uint32_t min_item_support, uint32_t min_session_length);

// The canonical CSV format written by the simulator and expected from real logs (trainer/data/README.md):
// DIR/items.csv, DIR/events.csv (required), DIR/decisions.csv, DIR/outcomes.csv, DIR/activations.csv
// (optional; the last two need decisions.csv).
Dataset read_canonical(const std::string& dir, const IngestOptions& opt = {});

// Adapters for ../shared/data (each takes the dataset's folder; mapping and cleaning rules in
// trainer/data/README.md). Each reader sorts events by (user, ts) and sessionizes them with
// opt.session_gap_ms, except read_yoochoose: its sessions are the shipped SessionIds (user =
// session, no gap split, as in session-rec); call sessionize() again to split by a gap.
Dataset read_yoochoose(const std::string& dir, const IngestOptions& opt = {});     // train_full + test, predefined split
Dataset read_completejourney(const std::string& dir, const IngestOptions& opt = {});  // baskets -> purchase events
Dataset read_cdnow(const std::string& dir, const IngestOptions& opt = {});         // purchases per customer
Dataset read_hillstrom(const std::string& dir, const IngestOptions& opt = {});     // one row per customer, 3 arms
Dataset read_open_bandit(const std::string& dir, const IngestOptions& opt = {});   // random/ and bts/ logs
// starbucks-offers: one decision per offer received (arm = offer), outcome = offer completion;
// Decision::context = the offer and the customer's offer history before it (Dataset::context_names).
Dataset read_starbucks(const std::string& dir, const IngestOptions& opt = {});

// Reader by name: "canonical", "yoochoose", "completejourney", "cdnow", "hillstrom", "open-bandit",
// "starbucks".
Dataset read_dataset(const std::string& kind, const std::string& dir, const IngestOptions& opt = {});
// The same without filter_sessions.
Dataset read_dataset_unfiltered(const std::string& kind, const std::string& dir, const IngestOptions& opt = {});

// Groups each user's events (already sorted by user, ts) into sessions split at gaps > gap_ms.
void sessionize(Dataset& ds, int64_t gap_ms);

// Time-based split of sessions by start time: the last test_frac of time -> test, the valid_frac
// before it -> valid, the rest -> train. Uses the predefined split when the dataset has one and
// use_predefined is true (valid is then carved from the end of train).
Split time_split(const Dataset& ds, double valid_frac = 0.1, double test_frac = 0.1, bool use_predefined = true);
// session-rec's day-based window: sessions whose last event is within `test_days` days of the
// log's last event -> test, those within `valid_days` days before that -> valid, the rest ->
// train (each sorted by start). test_days > 0, valid_days >= 0.
Split time_split_days(const Dataset& ds, double valid_days, double test_days);

// One-paragraph summary (users, items, events, sessions, time range, events by type).
std::string summary_text(const Dataset& ds);

// The $DISCO_DATA folder (default ../shared/data relative to the working directory's repo root).
std::string data_root();

}  // namespace disco::data
