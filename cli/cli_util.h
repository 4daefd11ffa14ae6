/*
 * cli_util.h - command-line helpers shared by the report and diff front
 * ends (report_cli.c, diff_cli.c): the colour decision and the output
 * file.  Number parsing is cli.h's.  Main thread only.
 */
#ifndef TW_CLI_CLI_UTIL_H
#define TW_CLI_CLI_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* 1 when text output on out should be coloured: when is "always", "never"
 * or "auto" (a terminal, and NO_COLOR unset or empty). */
int tw_cli_color_auto(FILE *out, const char *when);

/* Output: stdout, or a temporary file renamed over path on success. */
struct tw_cli_out {
    FILE *f;
    const char *path; /* borrowed */
    char *tmp;        /* owned */
};
/* Open path ("-" or NULL: standard output).  Returns 0, or -1 with a
 * message in err[TW_ERRLEN]; nothing is left to close then. */
int tw_cli_out_open(const char *path, struct tw_cli_out *o, char *err);
/* Close and, when ok, rename the temporary file over the path (mode 0666
 * minus the umask); ok = 0 discards it.  Returns 0 or -1 (message in err). */
int tw_cli_out_close(struct tw_cli_out *o, int ok, char *err);

#endif /* TW_CLI_CLI_UTIL_H */
