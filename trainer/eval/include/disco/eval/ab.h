// The A/B holdout analysis (disco-eval ab): lift of disco over the holdout shoppers (who always get
// the site's baseline arm) in margin, revenue and discount spend per shopper and in conversion per
// decision, with 95% intervals clustered by shopper; the lift day by day; and how many more days a
// given lift needs to be detected. Method: trainer/eval/README.md "A/B holdout".
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "disco/data/dataset.h"

namespace disco::eval::ab {

// One logged decision with its outcome.
struct AbRow {
  std::string shopper;
  int64_t ts_ms = 0;
  bool holdout = false;
  bool converted = false;
  double revenue = 0, margin = 0, discount_spend = 0;
};

struct AbOptions {
  double alpha = 0.05;                          // two-sided; intervals are 1 - alpha
  double power = 0.8;                           // for the days-to-detect table
  std::vector<double> lifts = {0.01, 0.02, 0.05};  // relative lifts (of the holdout's value) to size
  int64_t day_ms = 86400000;                    // the timeline's and the arrival rate's day
};

struct MetricLift {
  std::string metric;         // margin_per_shopper | revenue_per_shopper | discount_spend_per_shopper | conversion_rate
  std::string unit;           // "per shopper" | "per decision"
  double disco = NAN, holdout = NAN;
  double lift = NAN, se = NAN, lo = NAN, hi = NAN;  // disco - holdout and its interval
  double df = NAN;                                  // Welch-Satterthwaite degrees of freedom
  double rel_lift = NAN, rel_lo = NAN, rel_hi = NAN;  // lift / holdout (delta method)
  double p_value = NAN;
  double sd_disco = NAN, sd_holdout = NAN;           // per-shopper standard deviations (linearized for ratios)
};

struct PowerRow {
  std::string metric;
  std::string label;          // "+1%", "+2%", "+5%", "observed"
  double rel_lift = NAN, abs_lift = NAN;
  double shoppers_needed = NAN;  // both groups together, at the current holdout share
  double days_needed = NAN;      // at the observed rate of new shoppers per day
  double more_days = NAN;        // max(0, days_needed - days observed); inf when the lift is 0
};

struct DayPoint {  // cumulative margin-per-shopper lift at the end of each day
  int64_t day = 0;             // days since the first decision's day (UTC)
  size_t shoppers_disco = 0, shoppers_holdout = 0;
  double disco = NAN, holdout = NAN, lift = NAN, lo = NAN, hi = NAN;
};

struct AbResult {
  size_t decisions = 0, shoppers = 0, shoppers_disco = 0, shoppers_holdout = 0, mixed_shoppers = 0;
  size_t decisions_disco = 0, decisions_holdout = 0;
  double holdout_share = NAN;   // of shoppers
  double days = NAN;            // calendar days spanned (first to last decision, inclusive)
  double shoppers_per_day = NAN;
  double alpha = 0.05, power = 0.8;
  std::vector<MetricLift> metrics;
  std::vector<PowerRow> power_table;
  std::vector<DayPoint> timeline;
  std::vector<std::string> notes;
  const MetricLift& metric(const std::string& name) const;  // throws std::out_of_range
};

class AbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws AbError (one line) when there are no rows, no holdout shoppers or no disco shoppers.
AbResult analyze(const std::vector<AbRow>& rows, const AbOptions& opt = {});

// The rows of a canonical log (the collector's export): holdout from decisions.csv's `holdout`
// column, outcome joined by decision id (none: not converted, 0), discount spend = the price cut a
// converted shopper got: revenue * discount / (1 - discount). Throws AbError when there are no
// decisions.
std::vector<AbRow> rows_from_dataset(const data::Dataset& ds, const std::string& dir);

}  // namespace disco::eval::ab
