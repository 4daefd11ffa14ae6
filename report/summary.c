/*
 * summary.c - scan selection and the estate roll-up (endpoints by class,
 * grade distribution, certificate expiry, legacy TLS, weakest grades).
 *
 * The roll-up is one GROUP BY over the scan's filtered rows (class, grade,
 * legacy-TLS flag, day of expiry), folded here into struct tw_summary, plus
 * two LIMITed lists.  Its cost is one pass over the scan's rows with one
 * primary-key lookup into certs per row; no query runs per endpoint.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/render.h"
#include "report/render_int.h"
#include "base/log.h"
#include "base/xalloc.h"

const char *const tw_grade_names[TW_GRADE__COUNT] = {"A+", "A", "A-", "B", "C",
                                                     "D",  "E", "M",  "T", "F"};

int
tw_grade_rank(const char *grade)
{
    if (grade == NULL)
        return TW_GRADE_NONE;
    for (int i = 0; i < TW_GRADE__COUNT; i++)
        if (strcmp(grade, tw_grade_names[i]) == 0)
            return i;
    return TW_GRADE_NONE;
}

int
tw_class_rank(const char *name)
{
    enum tw_class c;

    if (name != NULL && tw_class_from_name(name, &c) == 0)
        return 2 * (int)c;
    return 2 * (int)TW_CLASS_OK - 1;
}

static void
sql_class_rank(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_int(ctx, tw_class_rank((const char *)sqlite3_value_text(argv[0])));
}

/* Worst first: F=0 ... A+=9, not graded last (10). */
static void
sql_grade_worst(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int r = tw_grade_rank((const char *)sqlite3_value_text(argv[0]));

    (void)argc;
    sqlite3_result_int(ctx, r == TW_GRADE_NONE ? TW_GRADE__COUNT : TW_GRADE__COUNT - 1 - r);
}

static int
report_authorize(void *arg, int action, const char *a, const char *b, const char *c, const char *d)
{
    (void)arg;
    (void)a;
    (void)c;
    (void)d;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        /* b is the function name; nothing that reaches outside the database. */
        if (b != NULL && (strcasecmp(b, "load_extension") == 0 || strcasecmp(b, "readfile") == 0 ||
                          strcasecmp(b, "writefile") == 0 || strcasecmp(b, "edit") == 0 ||
                          strcasecmp(b, "fts3_tokenizer") == 0))
            return SQLITE_DENY;
        return SQLITE_OK;
    default:
        return SQLITE_DENY;
    }
}

int
tw_report_db_prepare(sqlite3 *db, char *err)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

    if (!sqlite3_db_readonly(db, "main")) {
        tw_errf(err, "internal: the report connection is not read-only");
        return -1;
    }
    if (sqlite3_create_function(db, "tw_class_rank", 1, flags, NULL, sql_class_rank, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_create_function(db, "tw_grade_worst", 1, flags, NULL, sql_grade_worst, NULL,
                                NULL) != SQLITE_OK) {
        tw_errf(err, "%s", sqlite3_errmsg(db));
        return -1;
    }
    /* Writes, ATTACH, PRAGMA and schema changes are refused at prepare time,
     * whatever --where holds (it is trusted, but mistakes happen). */
    sqlite3_set_authorizer(db, report_authorize, NULL);
    return 0;
}

static void
copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    tw_strlcpy(dst, s ? s : "", len);
}

static int
scan_load(sqlite3 *db, const char *where, int64_t id, int offset, struct tw_scan_info *out,
          char *err)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    int rc = -1;
    int step;

    sql =
        sqlite3_mprintf("SELECT id, label, started_at, finished_at, status, now_at,"
                        " CAST(strftime('%%s', started_at) AS INTEGER),"
                        " CAST(strftime('%%s', finished_at) AS INTEGER),"
                        " CAST(strftime('%%s', now_at) AS INTEGER),"
                        " (SELECT count(*) FROM results WHERE scan_id = scans.id)"
                        " FROM scans WHERE %s ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET %d",
                        where, offset);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = 1;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto dberr;
    out->id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        out->label = tw_xstrndup((const char *)sqlite3_column_text(st, 1), 1024);
    copy_col(out->started_at, sizeof(out->started_at), st, 2);
    copy_col(out->finished_at, sizeof(out->finished_at), st, 3);
    copy_col(out->status, sizeof(out->status), st, 4);
    copy_col(out->now_at, sizeof(out->now_at), st, 5);
    out->started_unix = sqlite3_column_int64(st, 6);
    out->finished_unix = sqlite3_column_int64(st, 7);
    out->ref_time =
        sqlite3_column_type(st, 8) != SQLITE_NULL ? sqlite3_column_int64(st, 8) : out->started_unix;
    out->n_results = sqlite3_column_int64(st, 9);
    rc = 0;
    goto out;
dberr:
    tw_errf(err, "reading scans: %s", sqlite3_errmsg(db));
out:
    sqlite3_free(sql);
    sqlite3_finalize(st);
    return rc;
}

int
tw_report_scan_find(sqlite3 *db, const char *spec, int64_t now_override, struct tw_scan_info *out,
                    char *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (spec == NULL || strcmp(spec, "latest") == 0) {
        rc = scan_load(db, "status = 'done'", 0, 0, out, err);
        if (rc == 1) {
            rc = scan_load(db, "status = 'interrupted'", 0, 0, out, err);
            if (rc == 0)
                out->is_fallback = 1;
        }
        if (rc == 1)
            tw_errf(err, "no finished (done or interrupted) scan in the database");
    } else {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(spec, &end, 10);
        if (end == spec || *end != '\0' || errno != 0 || v <= 0) {
            tw_errf(err, "bad scan id '%.64s': expected a positive number or 'latest'", spec);
            return 1;
        }
        rc = scan_load(db, "id = ?1", (int64_t)v, 0, out, err);
        if (rc == 1)
            tw_errf(err, "no scan with id %lld", v);
    }
    if (rc == 0 && now_override != INT64_MIN)
        out->ref_time = now_override;
    return rc;
}

int
tw_report_scan_done_nth(sqlite3 *db, int nth, struct tw_scan_info *out, char *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = scan_load(db, "status = 'done'", 0, nth, out, err);
    if (rc == 1)
        tw_errf(err, "fewer than %d scans with status done in the database", nth + 1);
    return rc;
}

int
tw_report_has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    int has = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        has = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return has;
}

void
tw_report_scan_cleanup(struct tw_scan_info *scan)
{
    if (scan == NULL)
        return;
    free(scan->label);
    scan->label = NULL;
}

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
    sum->by_grade[tw_grade_rank(grade)] += n;
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
