/*
 * summary.c - the estate roll-up (endpoints by class, grade distribution,
 * certificate expiry, legacy TLS, weakest grades).
 *
 * The roll-up is one GROUP BY over the scan's filtered rows (class, grade,
 * legacy-TLS flag, day of expiry), folded here into struct tw_summary, plus
 * two LIMITed lists read through the row iterator (query.h).  Its cost is
 * one pass over the scan's rows with one primary-key lookup into certs per
 * row; no query runs per endpoint.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "report/query.h"
#include "report/summary.h"
#include "tls/grade.h"

void
tw_summary_cleanup(struct tw_summary *sum)
{
    for (size_t i = 0; i < sum->n_legacy; i++)
        tw_report_row_cleanup(&sum->legacy[i]);
    for (size_t i = 0; i < sum->n_weakest; i++)
        tw_report_row_cleanup(&sum->weakest[i]);
    sum->n_legacy = sum->n_weakest = 0;
}

static void
summary_add(struct tw_summary *sum, const char *cls, const char *grade, int legacy, int has_bucket,
            int64_t bucket, int64_t n)
{
    enum tw_class c;

    sum->total += n;
    if (cls != NULL && tw_class_from_name(cls, &c) == 0) {
        sum->by_class[c] += n;
        if (c == TW_CLASS_OK)
            sum->n_ok += n;
        else if (tw_class_info(c)->is_failure)
            sum->n_failures += n;
        else
            sum->n_issues += n;
    } else {
        sum->n_unknown_class += n;
        sum->n_issues += n;
    }
    sum->by_grade[tw_grade_from_name(grade)] += n;
    if (legacy)
        sum->n_legacy_tls += n;
    if (!has_bucket) {
        sum->n_no_cert += n;
        return;
    }
    if (bucket < 0) {
        sum->n_expired += n;
        return;
    }
    if (bucket < 7)
        sum->n_exp7 += n;
    if (bucket < 30)
        sum->n_exp30 += n;
    if (bucket < TW_SUMMARY_DAYS)
        sum->expiry_days[bucket] += n;
}

static int
summary_list(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
             const char *cond, const char *order, struct tw_report_row *rows, size_t *n_rows,
             char *err)
{
    struct tw_report_query q;
    int rc = -1;

    if (tw_report_query_open(db, scan, opts, 0, cond, order, TW_SUMMARY_LIST_MAX, &q, err) != 0)
        goto out;
    while (*n_rows < TW_SUMMARY_LIST_MAX) {
        int r = tw_report_query_next(&q, &rows[*n_rows], err);

        if (r < 0)
            goto out;
        if (r == 0)
            break;
        (*n_rows)++;
    }
    rc = 0;
out:
    tw_report_query_close(&q);
    return rc;
}

int
tw_report_summarize(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
                    struct tw_summary *out, char *err)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    int rc = -1;
    int step;

    memset(out, 0, sizeof(*out));
    sql = tw_report_sql(opts, 0,
                        "r.class, r.grade, ifnull(r.tls_version IN ('TLSv1','TLSv1.1'), 0),"
                        " CASE WHEN " TW_SQL_NOT_AFTER " IS NULL THEN NULL"
                        " WHEN " TW_SQL_NOT_AFTER " < ?2 THEN -1"
                        " WHEN " TW_SQL_NOT_AFTER " - ?2 >= 90 * 86400 THEN 90"
                        " ELSE (" TW_SQL_NOT_AFTER " - ?2) / 86400 END, count(*)",
                        NULL, "GROUP BY 1, 2, 3, 4", 0);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        tw_errf(err, "--where: %s", sqlite3_errmsg(db));
        rc = 1;
        goto out;
    }
    tw_report_bind(st, scan, opts);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        summary_add(out, (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2),
                    sqlite3_column_type(st, 3) != SQLITE_NULL, sqlite3_column_int64(st, 3),
                    sqlite3_column_int64(st, 4));
    }
    if (step != SQLITE_DONE) {
        tw_errf(err, "summary: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (out->n_legacy_tls > 0 &&
        summary_list(db, scan, opts, "r.tls_version IN ('TLSv1','TLSv1.1')",
                     "r.host, r.port, ifnull(r.sni, ''), r.ip", out->legacy, &out->n_legacy,
                     err) < 0)
        goto out;
    if (summary_list(db, scan, opts, "r.grade IS NOT NULL AND r.grade NOT IN ('A+', 'A', 'A-')",
                     "tw_grade_worst(r.grade), r.host, r.port, ifnull(r.sni, ''), r.ip",
                     out->weakest, &out->n_weakest, err) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_free(sql);
    sqlite3_finalize(st);
    return rc;
}
