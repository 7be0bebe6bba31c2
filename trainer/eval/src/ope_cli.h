// disco-eval's evaluation subcommands (ope, ab, gate, obp-check), dispatched from main.
#pragma once

namespace disco::eval::cli {

// True when argv[1] names one of these subcommands.
bool is_subcommand(const char* name);
// argv[0] is the subcommand's name. Returns the process exit status.
int run_subcommand(int argc, char** argv);

}  // namespace disco::eval::cli
