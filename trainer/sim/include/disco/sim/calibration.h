// Calibration of the simulator against real randomized experiments (trainer/sim/README.md,
// "Calibration"). Two shapes of experiment, each with one set of statistics computed by the same
// code for the real data and for the simulator's run of the same design:
//
// - A campaign of repeated time-limited offers (the shape of starbucks-offers): customers receive
//   offers in waves; each offer is a reward or a placebo (Starbucks' "informational" offers) with a
//   duration; an offer is completed when the customer buys within its window. Statistics: completion
//   by offer, completion of a customer's k-th offer against k, the effect of the number of earlier
//   reward offers on completion (randomized given the wave and the number of earlier offers: the
//   habituation / offer-fatigue test), completion against earlier completions (persistence: the
//   spread of responses across customers), and the effect of one more reward offer (instead of a
//   placebo) on the customer's purchases over the whole campaign.
// - A one-shot randomized promotion (the shape of hillstrom): treated vs control customers, visit,
//   conversion and spend over the test window, overall and by customer group (recency, history,
//   newbie): the size of the treatment effect against the base rate and its spread across groups.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

namespace disco::sim::calib {

struct Estimate {
  double value = 0, se = 0;  // se: standard error (0 when not estimable)
  uint64_t n = 0;            // rows the estimate is computed from
};

// ---------------------------------------------------------------------------------------------
// Repeated time-limited offers
// ---------------------------------------------------------------------------------------------

struct OfferKind {
  std::string name;        // "bogo-5-5-168", "10%-7d"
  bool placebo = false;    // informational / no discount: never "completed" in Starbucks' data
  double duration_h = 0;
};

struct CampaignOffer {
  uint32_t customer = 0;   // dense index < Campaign::num_customers
  double received_h = 0;   // hours since the campaign's start (the wave)
  uint16_t kind = 0;       // index into Campaign::kinds
  bool completed = false;
  double completed_h = -1; // hours since the start when completed, -1 if not
};

struct Campaign {
  std::string source;
  double horizon_h = 0;               // length of the campaign (Starbucks: 720 h = 30 days)
  std::vector<OfferKind> kinds;
  std::vector<CampaignOffer> offers;  // sorted by (customer, received_h); see sort_offers
  uint32_t num_customers = 0;
  // Per customer over the whole horizon (empty when the source has none): number of purchases
  // (transactions) and spend. Starbucks' per-customer totals are such outcomes (they leak as
  // features, not as outcomes of a randomized assignment). Spend is what was bought at list prices:
  // Starbucks pays its rewards as separate events (the receipts are not reduced), so the simulator's
  // spend is quantity x list price, not the discounted revenue.
  std::vector<double> transactions, spend;
  // Whether placebo completions mean anything (the simulator: a purchase in the window; Starbucks:
  // informational offers are never marked completed).
  bool placebo_completion_defined = false;
};

// Sorts offers by (customer, received_h, kind) (stable for equal keys).
void sort_offers(Campaign& c);

struct CampaignStats {
  struct Kind {
    std::string name;
    bool placebo = false;
    double duration_h = 0;
    uint64_t n = 0;
    double rate = 0;         // completion rate
  };
  std::vector<Kind> by_kind;
  double reward_rate = 0;    // completion rate over all reward (non-placebo) offers
  uint64_t reward_offers = 0;
  // Reward offers by their rank k (1-based) among the customer's offers (placebos count in k).
  struct Kth {
    int k = 0;
    uint64_t n = 0;
    double rate = 0;         // raw completion rate
    double adjusted = 0;     // mean of (completed - the offer kind's rate): kind mix removed
  };
  std::vector<Kth> kth;
  // Change in completion (absolute, per earlier reward offer) of a reward offer with the number of
  // earlier reward offers, within cells of (wave, number of earlier offers): randomized, so causal.
  // Standard error clustered by customer.
  Estimate prior_reward_slope;
  // The same split by whether the earlier reward offer's window had closed when this one arrived
  // (closed: the fatigue / habituation test) or was still open (one purchase completes both), both
  // regressors in one within-cell least squares.
  Estimate prior_closed_slope, prior_open_slope;
  // By earlier completions known at receipt (completed before this offer arrived), reward offers
  // with at least one earlier offer: 0, 1, 2, 3+.
  struct ByPrior {
    int completions = 0;     // 3 = "3 or more"
    uint64_t n = 0;
    double rate = 0;         // raw
    double adjusted = 0;     // mean of (completed - kind rate)
  };
  std::vector<ByPrior> by_prior_completions;
  // Customers with >= 3 reward offers: share who completed none / all of them, observed and
  // expected if each offer were completed independently with its kind's rate.
  uint64_t spread_customers = 0;
  double none_observed = 0, none_expected = 0, all_observed = 0, all_expected = 0;
  // One more reward offer instead of a placebo (given the number of offers received: randomized):
  // change in the customer's transactions and spend over the horizon. HC0 standard errors.
  bool has_totals = false;
  Estimate tx_per_reward_offer, spend_per_reward_offer;
  double mean_transactions = 0, mean_spend = 0;
  double mean_reward_duration_h = 0;
  // tx_per_reward_offer / (mean transactions in one reward offer's window, mean_transactions *
  // mean_reward_duration_h / horizon_h): the lift while an offer runs, net of what it costs later.
  double tx_lift_per_window = 0, tx_lift_per_window_se = 0;
  // The same effect for reward offers received in the first half of the horizon and in the second
  // (one least squares, within cells of offers received per half). Habituation (purchases lost after
  // an offer) lowers the early effect relative to the late one, whose after-effects fall mostly past
  // the horizon; the late windows are also cut by the horizon more often (the same in both runs).
  Estimate tx_early_reward, tx_late_reward;
  // The same effect per reward kind (one least squares on the counts of each kind received; the
  // placebos are the baseline); per_window = effect / the purchases of one window of that kind.
  struct KindEffect {
    std::string name;
    Estimate tx;
    double per_window = 0, per_window_se = 0;
  };
  std::vector<KindEffect> tx_by_kind;
};

CampaignStats campaign_stats(const Campaign& c);

// The simulator's run of a campaign: at each wave every shopper receives an offer with probability
// receive_prob, its kind drawn uniformly from the portfolio (counter-based randomness). At every
// offer point (cart add) inside an offer's window the shopper is shown the most valuable active
// offer's arm (else no discount), which is a discount received (Environment::apply_offer, as in
// run_policy and the closed loop), and a purchase completes every offer active at that offer point
// (placebos included). Starts by resetting the environment's state and leaves the campaign's
// habituation in it.
struct CampaignDesign {
  struct Offer {
    std::string name;
    int arm = 0;             // kNoDiscountArm = placebo
    double duration_h = 168;
  };
  std::vector<double> waves_h{0, 168, 336, 408, 504, 576};   // Starbucks' waves
  double horizon_h = 720;
  double receive_prob = 0.75;                               // Starbucks: ~12.7k of 17k per wave
  std::vector<Offer> portfolio = default_portfolio();
  static std::vector<Offer> default_portfolio();            // 10 offers, 2 placebos (as Starbucks)
};
// Throws std::invalid_argument when the environment's days do not cover the horizon.
Campaign simulate_campaign(Environment& env, const CampaignDesign& design);

// ---------------------------------------------------------------------------------------------
// One-shot randomized promotion
// ---------------------------------------------------------------------------------------------

struct UpliftData {
  std::string source;
  bool has_visit = false;
  std::vector<std::string> groupings;               // "recency", "history", "newbie"
  std::vector<std::vector<std::string>> labels;     // per grouping: group labels
  struct Row {
    bool treated = false;
    bool visit = false;
    bool converted = false;
    double spend = 0;                               // simulator: at list prices (as Campaign::spend)
    std::vector<uint8_t> group;                     // per grouping: index into labels
  };
  std::vector<Row> rows;
};

// Groups by quartiles of `values` (ties stay together, so fewer groups may result). Labels name
// the value range ("1-3", "<= 12.5"). Returns the group index per value; fills `labels`.
std::vector<uint8_t> quartile_groups(const std::vector<double>& values, std::vector<std::string>& labels,
                                     int decimals = 0);

struct UpliftCell {
  std::string grouping, label;    // grouping "all" for the whole population
  uint64_t n_control = 0, n_treated = 0;
  double visit_c = 0, visit_t = 0;
  double conv_c = 0, conv_t = 0;
  double conv_diff_se = 0;        // standard error of conv_t - conv_c
  double spend_c = 0, spend_t = 0;
  double conv_lift() const { return conv_t - conv_c; }
  double conv_ratio() const { return conv_c > 0 ? conv_t / conv_c : 0; }
  // Conversion among visitors (the lift that does not come from bringing visits), treated / control.
  double conv_given_visit_ratio() const;
  double conv_given_visit_c = 0, conv_given_visit_t = 0;
};

struct UpliftStats {
  std::vector<UpliftCell> cells;  // first the whole population, then every group of every grouping
  // Across the groups (every grouping): the smallest and largest treated/control conversion ratio,
  // how many groups have a lower treated conversion, and the weighted correlation of the
  // absolute lift with the base rate (positive: the effect grows with the base rate).
  double min_ratio = 0, max_ratio = 0;
  int groups = 0, negative_groups = 0;
  double lift_base_correlation = 0;
};

UpliftStats uplift_stats(const UpliftData& d);

// The simulator's run of a one-shot promotion: pre_days of no discount (the history that defines
// the groups), then test_days in which a treat_share of the shoppers (counter-based draw) get
// `arm` at every offer point (each a discount received) and the others no discount. Rows: the
// shoppers who bought at least once before the test (Hillstrom's customers all bought in the last
// 12 months). Groups: recency (days since the last purchase), history (spend before the test) in
// quartiles; newbie = first purchase in the second half of the pre period. visit = any session in
// the test window (the simulator's browsing does not depend on offers, so its visit lift is 0 by
// construction). Throws std::invalid_argument when the environment's days are too few.
struct UpliftDesign {
  double pre_days = 28;
  double test_days = 14;           // Hillstrom: two weeks
  int arm = 2;                     // 10%
  double treat_share = 2.0 / 3.0;  // Hillstrom: two e-mail arms, one control
};
UpliftData simulate_uplift(Environment& env, const UpliftDesign& design);
// The same on browsing already generated for `env` (generate_browsing(env)), to run several designs.
UpliftData simulate_uplift(Environment& env, const Browsing& browsing, const UpliftDesign& design);

// ---------------------------------------------------------------------------------------------
// Real data
// ---------------------------------------------------------------------------------------------

// hillstrom (disco::data::read_hillstrom): treated = either e-mail; groups recency (months),
// history (dollars) in quartiles, newbie. Throws disco::data::IngestError on bad files.
UpliftData hillstrom_uplift(const std::string& dir);

// starbucks-offers (disco::data::read_starbucks): one offer per decision, kind = the offer (arm),
// completed = the outcome; horizon 720 h. The per-customer 30-day totals transaction_cnt and
// transaction_amount become Campaign::transactions / spend (outcomes of the randomized offers; the
// adapter never reads them because as features they leak the future). Rows whose totals cannot be
// read, or differ between a customer's rows, are counted in `report`.
struct StarbucksTotalsReport {
  uint64_t rows = 0, bad_rows = 0, inconsistent_rows = 0, customers_without_totals = 0;
};
Campaign starbucks_campaign(const std::string& dir, StarbucksTotalsReport* report = nullptr);

// Plain-text tables, the real statistics (nullptr: not available, e.g. the data is missing)
// beside the simulator's.
std::string campaign_report(const CampaignStats* real, const std::string& real_name, const CampaignStats& sim,
                            const std::string& sim_name);
std::string uplift_report(const UpliftStats* real, const std::string& real_name, const UpliftStats& sim,
                          const std::string& sim_name);

}  // namespace disco::sim::calib
