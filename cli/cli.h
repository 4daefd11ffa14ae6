/*
 * cli.h - the six subcommands' entry points, their exit codes, and the
 * option-value parsers they share.
 *
 * tlsweep.c includes only this header: it looks argv[1] up and calls one
 * tw_<command>_main with the subcommand's argv (argv[0] is the subcommand
 * name, "scan", "report", ...).  Each main parses its options (getopt lives
 * in cli/ and nowhere else), prints its help and messages, calls the library
 * below it (scanner/, report/, lab/, store/) and returns one of the
 * TW_EXIT_* codes.  Everything here runs on the main thread at startup or
 * shutdown, so it may print and exit (STYLE G13).
 *
 * The tw_cli_parse_* helpers are pure: they print nothing and return 0 or
 * -1, so that each subcommand keeps its own wording for a bad value.
 */
#ifndef TW_CLI_CLI_H
#define TW_CLI_CLI_H

#include <stdint.h>

/* Process exit codes, the same for every subcommand (README, `--help`). */
enum tw_exit {
    TW_EXIT_OK = 0,         /* done; failed endpoints are data, not errors */
    TW_EXIT_REGRESSION = 1, /* `diff --fail-on regression` found one */
    TW_EXIT_USAGE = 2,      /* bad options, unreadable or mismatched input */
    TW_EXIT_RUNTIME = 3,    /* database, resources, the lab not running */
    /* `scan` stopped by SIGINT, SIGTERM or SIGHUP (or a second one, at once):
     * the scan is stored 'interrupted' (or left 'running' by the second
     * signal) and `scan --resume` finishes it.  Never 0, so that a nightly
     * `scan && report` does not go on with half a scan. */
    TW_EXIT_INTERRUPTED = 4,
};

/* The subcommands.  Each returns an enum tw_exit value. */
int tw_scan_main(int argc, char **argv);
int tw_report_main(int argc, char **argv);
int tw_diff_main(int argc, char **argv);
int tw_lab_main(int argc, char **argv);
int tw_merge_main(int argc, char **argv);
int tw_prune_main(int argc, char **argv);

/*
 * A decimal integer in [lo, hi], with strtoll's syntax (leading blanks and
 * a sign are accepted) and nothing after it.  Returns 0 and sets *out, or
 * -1 (overflow, no digits, trailing text, out of range) leaving *out alone.
 */
int tw_cli_parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/*
 * A count: like tw_cli_parse_int64 over [0, max], but s must start with a
 * digit (no blanks, no sign).  Returns 0 or -1.
 */
int tw_cli_parse_count(const char *s, int64_t max, int64_t *out);

/*
 * A duration in seconds, strtod's syntax ("2.5", "1e1"), with
 * 0 < value <= max.  Returns 0 and sets *out, or -1.
 */
int tw_cli_parse_seconds(const char *s, double max, double *out);

#endif /* TW_CLI_CLI_H */
