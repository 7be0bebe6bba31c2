// disco-eval timing: BG/NBD and Pareto/NBD on a CDNOW-format purchase log (timing_cli.cpp).
#pragma once

namespace disco::eval::timing {
// argv[0] is "timing". Returns the process exit status (0 ok, 1 bad input, 2 usage error).
int timing_main(int argc, char** argv);
}  // namespace disco::eval::timing
