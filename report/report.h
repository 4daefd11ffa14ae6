/*
 * report.h - the report and diff subcommands (DESIGN §2).
 *
 * Each takes the subcommand's argv (argv[0] is the subcommand name), parses
 * its options with getopt_long, and returns the process exit code:
 * 0 success, 1 `diff --fail-on regression` found one, 2 usage or input
 * error, 3 runtime failure.
 */
#ifndef TW_REPORT_REPORT_H
#define TW_REPORT_REPORT_H

int tw_report_main(int argc, char **argv);
int tw_diff_main(int argc, char **argv);

#endif /* TW_REPORT_REPORT_H */
