// Purchase timing: the BG/NBD model of Fader, Hardie and Lee ("Counting your customers the easy
// way", Marketing Science 2005) and the Pareto/NBD model (Schmittlein, Morrison and Colombo 1987,
// with the likelihood as in Fader and Hardie's note "A note on deriving the Pareto/NBD model and
// related expressions", 2005), fitted by maximum likelihood on a calibration period and checked on a
// holdout period as the BG/NBD paper does on CDNOW: RFM summary, per-customer holdout predictions,
// conditional expectations by calibration frequency and the cumulative weekly tracking of repeat
// transactions. Standard library only. Time unit: weeks (7 days); transactions of one customer on
// one calendar day count as one (as in the published CDNOW analysis).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace disco::data {
struct Dataset;
}

namespace disco::eval::timing {

// One customer's purchase days (any day numbering, e.g. days since 1970-01-01; order and
// duplicates do not matter).
struct CustomerLog {
  std::string id;
  std::vector<int64_t> days;
};

// Per customer purchase days from a dataset's purchase events (day = floor(ts_ms / 86400000), UTC),
// customers in ascending id order (zero-padded ids such as CDNOW's sort numerically).
std::vector<CustomerLog> customer_logs(const disco::data::Dataset& ds);

// Days since 1970-01-01 of "YYYY-MM-DD" or "YYYYMMDD"; throws std::invalid_argument otherwise.
int64_t parse_day(const std::string& s);

// The study calendar: calibration from `start` to `calib_end` (inclusive), holdout from
// calib_end + 1 to `holdout_end` (inclusive). CDNOW's standard split (the BG/NBD paper): start
// 1997-01-01, calibration to 1997-09-30 (39 weeks), holdout 1997-10-01..1998-06-30 (39 weeks).
struct Calendar {
  int64_t start = 0, calib_end = 0, holdout_end = 0;
  double holdout_weeks() const { return static_cast<double>(holdout_end - calib_end) / 7.0; }
  double total_weeks() const { return static_cast<double>(holdout_end - start + 1) / 7.0; }
};
Calendar cdnow_calendar();

// A customer's calibration summary (Fader-Hardie's x, t_x, T) and holdout count. Times in weeks
// from the customer's first purchase day f: a purchase on day d is at (d - f) / 7; T = (calib_end -
// f) / 7 (CDNOW's customer 1 of the 1/10 sample: first purchase 1997-01-01, T = 272/7 = 38.86).
struct Rfm {
  std::string id;
  double x = 0;          // repeat transactions (distinct purchase days after the first) in calibration
  double t_x = 0;        // time of the last repeat purchase in calibration (0 when x = 0)
  double T = 0;          // time from the first purchase to the end of calibration
  double t0 = 0;         // first purchase, weeks from the calendar's start
  double holdout = 0;    // transactions (distinct days) in the holdout period
};

struct RfmSummary {
  std::vector<Rfm> customers;
  size_t skipped_late = 0;   // first purchase after calib_end (no calibration history): left out
  size_t skipped_early = 0;  // a purchase before the calendar's start: left out
};
RfmSummary rfm_summary(const std::vector<CustomerLog>& logs, const Calendar& cal);

// Actual cumulative repeat transactions (distinct days after each customer's first) by the end of
// each week k = 1..weeks (week k = days start + 7(k-1) .. start + 7k - 1), for the customers of
// `logs` that rfm_summary keeps.
std::vector<double> cumulative_repeats(const std::vector<CustomerLog>& logs, const Calendar& cal, int weeks);

// Gaussian hypergeometric 2F1(a, b; c; z) for |z| < 1 by its power series, summed until a term is
// below 1e-15 of the sum (at most 2,000,000 terms; throws std::runtime_error if it does not
// converge, or for |z| >= 1 or c a non-positive integer).
double hyp2f1(double a, double b, double c, double z);

// ---- BG/NBD ---------------------------------------------------------------------------------
struct BgNbd {
  double r = 0, alpha = 0, a = 0, b = 0;
};
// log L(r, alpha, a, b | x, t_x, T) of one customer (the paper's equation 6).
double bgnbd_loglik(const BgNbd& p, double x, double t_x, double T);
double bgnbd_loglik(const BgNbd& p, const std::vector<Rfm>& c);  // sum over customers
// E[X(t)]: expected transactions in (0, t] of a customer who made the first purchase at 0 (eq. 7; a != 1).
double bgnbd_expected(const BgNbd& p, double t);
// E[Y(t) | x, t_x, T]: expected transactions in (T, T + t] given the calibration summary (eq. 10; a != 1).
double bgnbd_conditional(const BgNbd& p, double t, double x, double t_x, double T);
// P(alive at T | x, t_x, T).
double bgnbd_p_alive(const BgNbd& p, double x, double t_x, double T);

// ---- Pareto/NBD -----------------------------------------------------------------------------
struct ParetoNbd {
  double r = 0, alpha = 0, s = 0, beta = 0;
};
double pnbd_loglik(const ParetoNbd& p, double x, double t_x, double T);
double pnbd_loglik(const ParetoNbd& p, const std::vector<Rfm>& c);
double pnbd_expected(const ParetoNbd& p, double t);  // E[X(t)] (s != 1)
double pnbd_p_alive(const ParetoNbd& p, double x, double t_x, double T);
double pnbd_conditional(const ParetoNbd& p, double t, double x, double t_x, double T);

// ---- Maximum likelihood -----------------------------------------------------------------------
// Nelder-Mead on the log-parameters (restarted from the best vertex until a restart no longer
// improves the log-likelihood by 1e-9), customers with identical (x, t_x, T) grouped.
struct FitOptions {
  std::vector<double> start;   // initial parameters (default: 1 each)
  int max_evals = 20000;       // per Nelder-Mead run
  int max_restarts = 10;
  double tol = 1e-10;          // relative spread of the simplex's log-likelihoods that stops a run
};
struct FitResult {
  std::vector<double> params;  // BG/NBD: r, alpha, a, b; Pareto/NBD: r, alpha, s, beta
  double loglik = 0;
  int evals = 0, restarts = 0;
  bool converged = false;
};
FitResult fit_bgnbd(const std::vector<Rfm>& c, const FitOptions& opt = {});
FitResult fit_pnbd(const std::vector<Rfm>& c, const FitOptions& opt = {});
BgNbd as_bgnbd(const FitResult& f);
ParetoNbd as_pnbd(const FitResult& f);
// Minimizes f over R^n by Nelder-Mead from x0 (initial steps `step`); returns the best point.
std::vector<double> nelder_mead(const std::vector<double>& x0, double step, int max_evals, double tol,
                                const std::function<double(const std::vector<double>&)>& f, int* evals);

// ---- Simulation (tests and checks) --------------------------------------------------------------
// Customers whose first purchase is at weeks t0 (one per entry), purchasing under BG/NBD with
// parameters p until `end_week` (calendar weeks from 0); seeded. Each customer's log holds the
// purchase times in weeks (continuous); rfm_from_times summarizes them at calibration end `calib`.
std::vector<std::vector<double>> simulate_bgnbd(const BgNbd& p, const std::vector<double>& t0, double end_week,
                                                uint64_t seed);
// Pareto/NBD: purchase rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta), an exponential lifetime
// from the first purchase.
std::vector<std::vector<double>> simulate_pnbd(const ParetoNbd& p, const std::vector<double>& t0, double end_week,
                                               uint64_t seed);
std::vector<Rfm> rfm_from_times(const std::vector<std::vector<double>>& times, const std::vector<double>& t0,
                                double calib, double end_week);

// ---- The CDNOW-style evaluation -----------------------------------------------------------------
struct FreqBin {
  std::string label;       // "0".."6", "7+"
  size_t n = 0;
  double actual = 0, bgnbd = 0, pnbd = 0, baseline = 0;  // mean holdout transactions
};
struct TimingEval {
  std::string name;        // "full", "1/10 sample"
  size_t customers = 0;
  double calib_repeats = 0;
  FitResult bg, pn;        // pn.params empty when Pareto/NBD was not fitted
  // holdout: per customer MAE and totals (actual, BG/NBD, Pareto/NBD, baseline = x / T * holdout)
  double mae_bgnbd = 0, mae_pnbd = 0, mae_baseline = 0;
  double rmse_bgnbd = 0, rmse_pnbd = 0, rmse_baseline = 0;
  double total_actual = 0, total_bgnbd = 0, total_pnbd = 0, total_baseline = 0;
  std::vector<FreqBin> by_freq;
  // weeks 1..N: actual and model cumulative repeat transactions (model: sum_i E[X(t_end(k) - t0_i)])
  std::vector<double> cum_actual, cum_bgnbd, cum_pnbd;
};
// Fits both models on `rfm` and evaluates on the holdout; `cum_actual` from cumulative_repeats.
TimingEval evaluate_timing(const std::string& name, const std::vector<Rfm>& rfm, const Calendar& cal,
                           std::vector<double> cum_actual, bool pareto = true);

std::string timing_json(const std::vector<TimingEval>& evals, const Calendar& cal, const std::string& data);
std::string timing_html(const std::vector<TimingEval>& evals, const Calendar& cal, const std::string& data);
std::string timing_text(const std::vector<TimingEval>& evals);

}  // namespace disco::eval::timing
