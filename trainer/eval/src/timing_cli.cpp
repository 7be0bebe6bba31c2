// `disco-eval timing`: the BG/NBD paper's CDNOW evaluation (calibration weeks 1-39, holdout weeks
// 40-78) on the whole cohort and on a 1/N subsample; text on stdout, timing.json and timing.html.
#include "timing_cli.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "disco/data/ingest.h"
#include "disco/eval/timing.h"

namespace disco::eval::timing {

int timing_main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("DISCO_DATA");
  std::string data = (fs::path(env && *env ? env : "../shared/data") / "cdnow").string();
  std::string out = "out/eval-timing", start = "1997-01-01", calib_end = "1997-09-30", holdout_end = "1998-06-30";
  size_t every = 10;
  bool no_pareto = false;
  CLI::App app{"disco-eval timing: BG/NBD (and Pareto/NBD) fitted by maximum likelihood on a calibration period of a "
               "CDNOW-format purchase log (CDNOW_master.txt: customer_id date number_of_cds dollar_value), evaluated "
               "on the holdout: per-customer MAE against a repeat-rate baseline, holdout totals, conditional "
               "expectations by calibration frequency, cumulative weekly repeat transactions. Writes timing.json and "
               "timing.html to --out."};
  app.add_option("--data", data, "folder with CDNOW_master.txt (default $DISCO_DATA/cdnow)");
  app.add_option("--sample-every", every, "also fit every N-th customer (ids in ascending order; default 10; 0 or 1: none)");
  app.add_option("--out", out, "output folder (default out/eval-timing)");
  app.add_option("--start", start, "first day of the study (default 1997-01-01)");
  app.add_option("--calibration-end", calib_end, "last day of calibration (default 1997-09-30)");
  app.add_option("--holdout-end", holdout_end, "last day of the holdout (default 1998-06-30)");
  app.add_flag("--no-pareto", no_pareto, "fit BG/NBD only");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "disco-eval timing: " << e.what() << "\n(disco-eval timing --help lists the options)\n";
    return 2;
  }
  try {
    const Calendar cal{parse_day(start), parse_day(calib_end), parse_day(holdout_end)};
    if (!(cal.start <= cal.calib_end && cal.calib_end < cal.holdout_end))
      throw std::invalid_argument("need --start <= --calibration-end < --holdout-end");
    if (!fs::is_regular_file(fs::path(data) / "CDNOW_master.txt"))
      throw std::invalid_argument("no CDNOW_master.txt in " + data);
    const auto ds = disco::data::read_cdnow(data);
    const auto logs = customer_logs(ds);
    const int weeks = static_cast<int>(std::ceil(cal.total_weeks() - 1e-9));
    const RfmSummary all = rfm_summary(logs, cal);
    if (all.customers.empty()) throw std::invalid_argument("no customer with a purchase in the calibration period");
    std::cout << "disco-eval timing: " << data << ": " << logs.size() << " customers, " << all.customers.size()
              << " with a first purchase in calibration";
    if (all.skipped_late || all.skipped_early)
      std::cout << " (left out: " << all.skipped_late << " first purchase after calibration, " << all.skipped_early
                << " before the start)";
    std::cout << "\n";
    std::vector<TimingEval> evals;
    evals.push_back(evaluate_timing("full cohort", all.customers, cal, cumulative_repeats(logs, cal, weeks), !no_pareto));
    if (every > 1) {
      std::vector<CustomerLog> sub;
      for (size_t i = 0; i < logs.size(); i += every) sub.push_back(logs[i]);
      const RfmSummary s = rfm_summary(sub, cal);
      if (!s.customers.empty())
        evals.push_back(evaluate_timing("1/" + std::to_string(every) + " sample (every " + std::to_string(every) +
                                            "th customer id)",
                                        s.customers, cal, cumulative_repeats(sub, cal, weeks), !no_pareto));
    }
    std::cout << timing_text(evals);
    fs::create_directories(out);
    std::ofstream(fs::path(out) / "timing.json") << timing_json(evals, cal, data);
    std::ofstream(fs::path(out) / "timing.html") << timing_html(evals, cal, data);
    std::cout << "wrote " << out << "/timing.json and " << out << "/timing.html\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "disco-eval timing: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace disco::eval::timing
