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
#include "base/xalloc.h"
#include "report/problems.h"
#include "report/query.h"
#include "report/summary.h"
#include "tls/grade.h"

/* Legacy protocols: what a handshake may still use and no modern client needs. */
#define LEGACY_LIST "('SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1')"
/* The legacy protocols an endpoint accepts (protocols table, filled by the
 * enumeration of graded scans), "SSLv3,TLSv1"; NULL when there are none. */
#define ACCEPTED_SQL                                                                               \
    "(SELECT group_concat(protocol, ',') FROM (SELECT protocol FROM protocols AS p"                \
    " WHERE p.result_id = r.id AND p.accepted = 1 AND p.protocol IN " LEGACY_LIST                  \
    " ORDER BY p.protocol))"
/* An endpoint that accepts or negotiated a legacy protocol. */
#define LEGACY_SQL                                                                                 \
    "(ifnull(r.tls_version IN " LEGACY_LIST ", 0) OR EXISTS (SELECT 1 FROM protocols AS p"         \
    " WHERE p.result_id = r.id AND p.accepted = 1 AND p.protocol IN " LEGACY_LIST "))"
#define LEGACY_SQL_NEGOTIATED "ifnull(r.tls_version IN " LEGACY_LIST ", 0)"
/* Days to the leaf's expiry: NULL without one, -1 expired, 90 for 90 or more. */
#define EXPIRY_BUCKET_SQL                                                                          \
    "CASE WHEN " TW_SQL_NOT_AFTER " IS NULL THEN NULL"                                             \
    " WHEN " TW_SQL_NOT_AFTER " < ?2 THEN -1"                                                      \
    " WHEN " TW_SQL_NOT_AFTER " - ?2 >= 90 * 86400 THEN 90"                                        \
    " ELSE (" TW_SQL_NOT_AFTER " - ?2) / 86400 END, count(*)"
/* The grade caps other than T and M (those are the classes' problems), as
 * "code\x1fcap\x1ftext" records separated by \x1e, in the order they fired. */
#define CAPS_SQL                                                                                   \
    "(SELECT group_concat(code || char(31) || ifnull(cap, '') || char(31) || ifnull(text, code),"  \
    " char(30)) FROM (SELECT code, cap,"                                                           \
    " text FROM grade_reasons AS gr WHERE gr.result_id = r.id AND ifnull(gr.cap, '') NOT IN"       \
    " ('T', 'M') ORDER BY gr.rowid))"

/* Issue 13: the Mozilla roll-up of the filtered rows, one aggregate row:
 * endpoints judged, then those passing modern, intermediate, old. */
#define MZ_EXISTS "EXISTS (SELECT 1 FROM compliance AS mc WHERE mc.result_id = r.id"
#define MZ_SQL                                                                                     \
    "sum(" MZ_EXISTS ")), sum(" MZ_EXISTS " AND mc.profile = 'modern' AND mc.pass = 1)),"          \
    " sum(" MZ_EXISTS " AND mc.profile = 'intermediate' AND mc.pass = 1)),"                        \
    " sum(" MZ_EXISTS " AND mc.profile = 'old' AND mc.pass = 1))"

static int
summary_mozilla(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
                struct tw_summary *out, char *err)
{
    sqlite3_stmt *st = NULL;
    char *sql;
    int rc = -1;

    if (!tw_report_has_table(db, "compliance"))
        return 0;
    sql = tw_report_sql(opts, 0, MZ_SQL, NULL, NULL, 0);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        tw_errf(err, "summary: %s", sqlite3_errmsg(db));
        goto out;
    }
    tw_report_bind(st, scan, opts);
    if (sqlite3_step(st) != SQLITE_ROW) {
        tw_errf(err, "summary: %s", sqlite3_errmsg(db));
        goto out;
    }
    out->n_mz_judged = sqlite3_column_int64(st, 0);
    out->mz_pass[TW_MOZILLA_MODERN] = sqlite3_column_int64(st, 1);
    out->mz_pass[TW_MOZILLA_INTERMEDIATE] = sqlite3_column_int64(st, 2);
    out->mz_pass[TW_MOZILLA_OLD] = sqlite3_column_int64(st, 3);
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return rc;
}

void
tw_summary_cleanup(struct tw_summary *sum)
{
    for (size_t i = 0; i < sum->n_legacy; i++) {
        tw_report_row_cleanup(&sum->legacy[i]);
        free(sum->legacy_accepted[i]);
        sum->legacy_accepted[i] = NULL;
    }
    tw_problems_free(&sum->problems);
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

/* The legacy protocols each listed endpoint accepts (at most
 * TW_SUMMARY_LIST_MAX lookups by primary key). */
static int
summary_accepted(sqlite3 *db, struct tw_summary *sum, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(
            db,
            "SELECT group_concat(protocol, ',') FROM (SELECT protocol FROM"
            " protocols WHERE result_id = ?1 AND accepted = 1 AND protocol IN " LEGACY_LIST
            " ORDER BY protocol)",
            -1, &st, NULL) != SQLITE_OK) {
        tw_errf(err, "summary: %s", sqlite3_errmsg(db));
        return -1;
    }
    for (size_t i = 0; i < sum->n_legacy; i++) {
        const char *s;

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, sum->legacy[i].id);
        if (sqlite3_step(st) != SQLITE_ROW) {
            tw_errf(err, "summary: %s", sqlite3_errmsg(db));
            goto out;
        }
        s = (const char *)sqlite3_column_text(st, 0);
        sum->legacy_accepted[i] = s != NULL ? tw_xstrdup(s) : NULL;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * The fix-first problems: the row iterator and a second statement over the
 * same filtered rows, both in result id order, read in step (the second
 * gives each row's accepted legacy protocols and grade caps, which the
 * row does not carry).  One pass, no query per endpoint.
 */
static int
summary_problems(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
                 int has_protocols, struct tw_problems *out, char *err)
{
    struct tw_report_query q;
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    char cols[1024];
    int rc = -1;
    int k;

    memset(&q, 0, sizeof(q));
    snprintf(cols, sizeof(cols), "r.id, %s, %s", has_protocols ? ACCEPTED_SQL : "NULL",
             opts->has_reasons ? CAPS_SQL : "NULL");
    sql = tw_report_sql(opts, 0, cols, NULL, "ORDER BY r.id", 0);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        tw_errf(err, "problems: %s", sqlite3_errmsg(db));
        goto out;
    }
    tw_report_bind(st, scan, opts);
    if (tw_report_query_open(db, scan, opts, 0, NULL, "r.id", 0, &q, err) != 0)
        goto out;
    for (;;) {
        struct tw_report_row row;

        k = tw_report_query_next(&q, &row, err);
        if (k < 0)
            goto out;
        if (k == 0)
            break;
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != row.id) {
            tw_errf(err, "problems: the two reads of the scan's rows disagree: %s",
                    sqlite3_errmsg(db));
            tw_report_row_cleanup(&row);
            goto out;
        }
        tw_problems_add(out, &row, (const char *)sqlite3_column_text(st, 1),
                        (const char *)sqlite3_column_text(st, 2));
        tw_report_row_cleanup(&row);
    }
    tw_problems_finish(out);
    rc = 0;
out:
    tw_report_query_close(&q);
    sqlite3_finalize(st);
    sqlite3_free(sql);
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

    int has_protocols = tw_report_has_table(db, "protocols");

    memset(out, 0, sizeof(*out));
    tw_problems_init(&out->problems);
    sql = tw_report_sql(opts, 0,
                        has_protocols ? "r.class, r.grade, " LEGACY_SQL ", " EXPIRY_BUCKET_SQL
                                      : "r.class, r.grade, " LEGACY_SQL_NEGOTIATED
                                        ", " EXPIRY_BUCKET_SQL,
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
        summary_list(db, scan, opts, has_protocols ? LEGACY_SQL : LEGACY_SQL_NEGOTIATED,
                     "r.host, r.port, ifnull(r.sni, ''), r.ip", out->legacy, &out->n_legacy,
                     err) < 0)
        goto out;
    if (has_protocols && summary_accepted(db, out, err) < 0)
        goto out;
    if (summary_list(db, scan, opts, "r.grade IS NOT NULL AND r.grade NOT IN ('A+', 'A', 'A-')",
                     "tw_grade_worst(r.grade), r.host, r.port, ifnull(r.sni, ''), r.ip",
                     out->weakest, &out->n_weakest, err) < 0)
        goto out;
    if (summary_problems(db, scan, opts, has_protocols, &out->problems, err) < 0)
        goto out;
    if (summary_mozilla(db, scan, opts, out, err) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_free(sql);
    sqlite3_finalize(st);
    return rc;
}
