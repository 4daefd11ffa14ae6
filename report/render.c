/*
 * render.c - the report driver and the renderer table.  The helpers the
 * renderers share are in render_util.c, below them, so that the table here
 * (which names the renderers) and the renderers never point at each other.
 *
 * The driver runs two statements in one read transaction: the summary
 * (summary.c) and the row stream (query.c), ordered worst-first: class
 * precedence (failures first, then certificate issues, ok last), then grade
 * (F first, not graded last), then host, port, SNI, address.  The sort is
 * SQLite's (one sorter over the scan's rows); rows leave the iterator one at
 * a time.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "report/query.h"
#include "report/render.h"
#include "report/render_int.h"
#include "report/summary.h"

const struct tw_renderer *const tw_renderers[] = {
    &tw_render_text, &tw_render_json, &tw_render_csv,
    &tw_render_md,   &tw_render_html, &tw_render_prom,
};
const size_t tw_n_renderers = sizeof(tw_renderers) / sizeof(tw_renderers[0]);

const struct tw_renderer *
tw_renderer_find(const char *name)
{
    for (size_t i = 0; i < tw_n_renderers; i++)
        if (strcmp(tw_renderers[i]->name, name) == 0)
            return tw_renderers[i];
    return NULL;
}

int
tw_report_run(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
              const struct tw_renderer *r, FILE *out, char *err)
{
    struct tw_summary *sum = tw_xcalloc(1, sizeof(*sum));
    struct tw_report_budget budget;
    struct tw_report_query q;
    struct tw_report_row row;
    struct tw_report rp;
    int rc = -1;
    int k;

    memset(&q, 0, sizeof(q));
    memset(&rp, 0, sizeof(rp));
    /* A --where filter is trusted, but a mistake must not run for ever. */
    tw_report_budget_start(db, &budget, tw_report_budget_steps(opts, scan->n_results));
    /* One read transaction: the summary and the rows see the same data even
     * while a scan is writing (WAL readers never block the writer). */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        tw_errf(err, "begin: %s", sqlite3_errmsg(db));
        goto out;
    }
    k = tw_report_summarize(db, scan, opts, sum, err);
    if (k != 0) {
        rc = k;
        goto out;
    }
    k = tw_report_query_open(db, scan, opts, r->wants_chain, NULL,
                             "tw_class_rank(r.class), tw_grade_worst(r.grade), r.host, r.port,"
                             " ifnull(r.sni, ''), r.ip",
                             0, &q, err);
    if (k != 0) {
        rc = k;
        goto out;
    }
    rp.out = out;
    rp.db = db;
    rp.scan = scan;
    rp.sum = sum;
    rp.opts = opts;
    r->begin(&rp);
    while ((k = tw_report_query_next(&q, &row, err)) == 1) {
        r->row(&rp, &row);
        rp.n_rows++;
        tw_report_row_cleanup(&row);
    }
    if (k < 0)
        goto out;
    r->end(&rp);
    if (fflush(out) != 0 || ferror(out)) {
        tw_errf(err, "write error");
        goto out;
    }
    rc = 0;
out:
    if (rc < 0 && tw_report_budget_tripped(&budget)) {
        tw_errf(err,
                "--where: stopped after %" PRId64 " SQLite steps, the bound for a scan of %" PRId64
                " results (a recursive CTE without an end, or a subquery per row that reads"
                " the whole database?); simplify the filter, or raise the bound with"
                " --where-max-steps",
                budget.max_steps, scan->n_results);
        rc = 1;
    }
    tw_report_budget_stop(db, &budget);
    free(rp.state);
    tw_report_query_close(&q);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    tw_summary_cleanup(sum);
    free(sum);
    return rc;
}
