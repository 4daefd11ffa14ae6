/*
 * render.h - the report driver and the renderer table (STYLE G5).
 *
 * `tlsweep report` picks a scan (query.h), then tw_report_run computes the
 * summary (summary.h) and streams the endpoint rows worst-first from one
 * query into a renderer: begin() once with the scan and the summary, row()
 * once per endpoint, end() once.  Nothing is held per endpoint beyond the
 * current row, so memory does not grow with the scan.  All strings in rows,
 * the scan and the summary are hostile (server- or operator-supplied):
 * renderers escape every one of them with escape.h.
 *
 * Adding a format means one render_<name>.c and one line in the table in
 * render.c.  Single-threaded; the sqlite3 connection is borrowed.
 */
#ifndef TW_REPORT_RENDER_H
#define TW_REPORT_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "report/query.h"
#include "report/summary.h"

/* What a renderer sees.  Everything is borrowed from the driver. */
struct tw_report {
    FILE *out;
    const struct tw_scan_info *scan;
    const struct tw_summary *sum;
    const struct tw_report_opts *opts;
    int64_t n_rows; /* rows rendered so far */
    void *state;    /* renderer-private, zeroed before begin(), freed after end() */
    sqlite3 *db;    /* the report's connection, inside its read transaction (sections) */
};

struct tw_renderer {
    const char *name;
    const char *help;
    int wants_chain; /* row->chain filled (costs a join) */
    void (*begin)(struct tw_report *rp);
    void (*row)(struct tw_report *rp, const struct tw_report_row *row);
    void (*end)(struct tw_report *rp);
};

/* The formats, in --help order. */
extern const struct tw_renderer *const tw_renderers[];
extern const size_t tw_n_renderers;
/* NULL when name is not a format. */
const struct tw_renderer *tw_renderer_find(const char *name);

/* Stream the report of scan into out, summary first, in one read
 * transaction.  Returns 0, 1 when the filter is bad (message in err), -1 on
 * a database or write error. */
int tw_report_run(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
                  const struct tw_renderer *r, FILE *out, char *err);

#endif /* TW_REPORT_RENDER_H */
