/*
 * render_int.h - what summary.c, render.c and the renderers share: the
 * filtered-rows SQL and the row iterator.  Only report/ includes it.
 *
 * Every query over a scan's rows starts from the same filter, a CTE over
 * results (so that --where sees results columns only), joined once to the
 * leaf certificate and, for renderers that want the chain, to result_chain
 * and certs (one row per chain entry; the iterator folds them back into one
 * endpoint).  Parameters: ?1 scan id, ?2 reference time (unix), ?3 the
 * --expiring cut-off (unix).
 */
#ifndef TW_REPORT_RENDER_INT_H
#define TW_REPORT_RENDER_INT_H

#include <sqlite3.h>

#include "report/render.h"

/* The leaf's notAfter in unix seconds (NULL when absent or unparsable). */
#define TW_SQL_NOT_AFTER "CAST(strftime('%s', lc.not_after) AS INTEGER)"

/* Build the SQL text (sqlite3_free it): SELECT cols (NULL: the row columns
 * the iterator reads) over the filtered rows, AND cond when not NULL, then
 * tail (GROUP BY / ORDER BY), then LIMIT limit when > 0. */
char *tw_report_sql(const struct tw_report_opts *opts, int with_chain, const char *cols,
                    const char *cond, const char *tail, int limit);
/* Bind ?1 ?2 ?3 (indexes the statement does not use are skipped). */
void tw_report_bind(sqlite3_stmt *st, const struct tw_scan_info *scan,
                    const struct tw_report_opts *opts);

struct tw_report_query {
    sqlite3_stmt *st;
    const struct tw_scan_info *scan;
    int with_chain;
    int has_pending; /* st is positioned on a row not yet consumed */
    int done;
};

/* Open a row iterator ordered by order (SQL), limited to limit rows when
 * > 0.  Returns 0, 1 when the filter does not compile, -1 on error. */
int tw_report_query_open(sqlite3 *db, const struct tw_scan_info *scan,
                         const struct tw_report_opts *opts, int with_chain, const char *cond,
                         const char *order, int limit, struct tw_report_query *q, char *err);
/* Fill *row (which the caller cleans up).  Returns 1 for a row, 0 at the
 * end, -1 on error. */
int tw_report_query_next(struct tw_report_query *q, struct tw_report_row *row, char *err);
void tw_report_query_close(struct tw_report_query *q);

/* Renderer helpers. */
/* ANSI SGR colour for a grade / class, "" when colour is off. */
const char *tw_render_grade_color(const struct tw_report *rp, const char *grade);
const char *tw_render_class_color(const struct tw_report *rp, const struct tw_report_row *row);
const char *tw_render_reset(const struct tw_report *rp);
/* "Scan N" one-line status warning or NULL when the scan is done. */
const char *tw_render_scan_warning(const struct tw_scan_info *scan);

#endif /* TW_REPORT_RENDER_INT_H */
