/*
 * report_int.h - command-line helpers shared by report_cli.c and
 * diff_cli.c.  Only report/ includes it.
 */
#ifndef TW_REPORT_REPORT_INT_H
#define TW_REPORT_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>

struct tw_store;

/* Parse a day count 0..100000.  Returns 0 or -1. */
int tw_report_parse_days(const char *s, int64_t *out);
/* 1 when text output on out should be coloured (when: auto|always|never). */
int tw_report_color_auto(FILE *out, const char *when);
/* Open path read-only (it must exist) and install the report functions and
 * authorizer.  Returns 0, or -1 with a message naming the file. */
int tw_report_open_db(const char *path, struct tw_store **out, char *err);

/* Output: stdout, or a temporary file renamed over path on success. */
struct tw_report_out {
    FILE *f;
    const char *path; /* borrowed */
    char *tmp;        /* owned */
};
int tw_report_out_open(const char *path, struct tw_report_out *o, char *err);
/* ok = 0 discards the temporary file.  Returns 0 or -1. */
int tw_report_out_close(struct tw_report_out *o, int ok, char *err);

#endif /* TW_REPORT_REPORT_INT_H */
