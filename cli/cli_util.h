/*
 * cli_util.h - command-line helpers shared by the report and diff front
 * ends (report_cli.c, diff_cli.c): the colour decision, the output file,
 * and the steps both take in the same order (their common options, the
 * format check, the read-only database, the output, the incomplete-scan
 * warning), each printing its own "tlsweep CMD: ..." message and giving
 * the exit code.  Number parsing is cli.h's.  Main thread only; a struct
 * tw_cli_run owns its database handle and output until tw_cli_run_end.
 */
#ifndef TW_CLI_CLI_UTIL_H
#define TW_CLI_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include <sqlite3.h>

#include "report/query.h"

/* 1 when text output on out should be coloured: when is "always", "never"
 * or "auto" (a terminal, and NO_COLOR unset or empty). */
int tw_cli_color_auto(FILE *out, const char *when);

/* Output: stdout, a FIFO or device written through (direct), or a
 * temporary file renamed over target (path with symlinks resolved) on
 * success. */
struct tw_cli_out {
    FILE *f;
    const char *path; /* borrowed */
    char *target;     /* owned */
    char *tmp;        /* owned */
    int direct;
};
/* Open path ("-" or NULL: standard output, and so is a path that is our
 * standard output).  A path that exists and is not a regular file is opened
 * for writing without truncation; otherwise a temporary file is made beside
 * the file path's symlinks lead to, and SIGINT, SIGTERM and SIGHUP remove it
 * until tw_cli_out_close.  Returns 0, or -1 with a message in
 * err[TW_ERRLEN]; nothing is left to close then. */
int tw_cli_out_open(const char *path, struct tw_cli_out *o, char *err);
/* Close and, when ok, rename the temporary file over the target (mode 0666
 * minus the umask); ok = 0 discards it and restores the signal handlers.  Returns 0 or -1 (message
 * in err). */
int tw_cli_out_close(struct tw_cli_out *o, int ok, char *err);

/* One run of `report` or `diff`: what the two share. */
struct tw_cli_run {
    const char *cmd;      /* "report" or "diff", for messages */
    const char *db_path;  /* --db, default "tlsweep.db" */
    const char *format;   /* --format, default "text" */
    const char *out_path; /* -o, default NULL (standard output) */
    sqlite3 *db;          /* owned, set by tw_cli_run_open_db */
    char **argv;          /* the command's argv, for option errors; set by the caller */
    struct tw_cli_out out;
    char err[TW_ERRLEN];
};

/* getopt_long's error c (':' a missing value, '?' anything else; call it
 * with opterr = 0 and an optstring that starts with ':') as one line,
 * "tlsweep CMD: ...", and a pointer at --help.  Returns TW_EXIT_USAGE. */
int tw_cli_opt_error(const char *cmd, int c, char **argv);

/* The defaults above; nothing is open yet. */
void tw_cli_run_init(struct tw_cli_run *r, const char *cmd);
/* The options both commands spell alike, for the cases the caller's switch
 * does not take: getopt's c 'd' (--db), 'f' (--format), 'o' (-o, --output)
 * are stored and give -1 (parsing goes on); 'h' (--help) prints usage to
 * stdout and gives TW_EXIT_OK; anything else (getopt's '?' or ':') is
 * tw_cli_opt_error's and gives TW_EXIT_USAGE.  A value >= 0 is the command's exit. */
int tw_cli_run_option(struct tw_cli_run *r, int c, const char *arg, void (*usage)(FILE *f));
/* Check r->format against a renderer table of n names (name_at(i)).
 * Returns 0, or TW_EXIT_USAGE after listing the known ones. */
int tw_cli_run_format(struct tw_cli_run *r, const char *(*name_at)(size_t i), size_t n);
/* Open the database read-only for reports (tw_report_open_db). */
int tw_cli_run_open_db(struct tw_cli_run *r);
/* A scan look-up's result k (tw_report_scan_find): 0 passes, 1 is a usage
 * error, -1 a database error; both print the message in r->err. */
int tw_cli_run_scan(struct tw_cli_run *r, int k);
/* Open the output (-o or standard output). */
int tw_cli_run_open_out(struct tw_cli_run *r);
/* The report was written (ok = 1) or failed (ok = 0: the temporary file
 * is dropped and 0 returned, the caller has reported the failure); close the
 * output.  Returns 0 or TW_EXIT_RUNTIME. */
int tw_cli_run_close_out(struct tw_cli_run *r, int ok);
/* Warn on stderr when the scan is not done (or was a fallback). */
void tw_cli_run_warn(const struct tw_cli_run *r, const struct tw_scan_info *s);
/* Print each warning on stderr, "tlsweep CMD: warning: ...", the resume
 * commands naming --db when it is not the default. */
void tw_cli_run_warnings(const struct tw_cli_run *r, const struct tw_report_warnings *ws);
/* Close the output when still open (dropping it) and the database. */
void tw_cli_run_end(struct tw_cli_run *r);

#endif /* TW_CLI_CLI_UTIL_H */
