/*
 * query.c - the report's database layer: the read-only open, the SQL
 * functions and the authorizer, scan selection, the filtered-rows SQL and
 * the row iterator.
 *
 * Rows leave the iterator one at a time; with the chain joined, the rows of
 * one endpoint (one per chain entry, ordered by r.id then depth) are folded
 * into one struct tw_report_row, so memory holds one endpoint at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "report/query.h"
#include "store/store.h"
#include "tls/grade.h"

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
    int sev = tw_grade_severity(tw_grade_from_name((const char *)sqlite3_value_text(argv[0])));

    (void)argc;
    sqlite3_result_int(ctx, sev == TW_GRADE_NONE ? TW_GRADE_NONE : TW_GRADE_NONE - 1 - sev);
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

int
tw_report_open_db(const char *path, struct tw_store **out, char *err)
{
    char sub[TW_ERRLEN];

    if (access(path, F_OK) != 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (tw_store_open(path, TW_STORE_READONLY, out, sub) < 0) {
        tw_errf(err, "%s", sub);
        return -1;
    }
    if (tw_report_db_prepare(tw_store_db(*out), sub) < 0) {
        tw_errf(err, "%s: %s", path, sub);
        tw_store_close(*out);
        *out = NULL;
        return -1;
    }
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
tw_report_row_cleanup(struct tw_report_row *row)
{
    char **strs[] = {&row->host,
                     &row->ip,
                     &row->sni,
                     &row->class_name,
                     &row->issues,
                     &row->tls_version,
                     &row->cipher,
                     &row->grade,
                     &row->cert_sha256,
                     &row->detail,
                     &row->target,
                     &row->leaf_subject,
                     &row->leaf_issuer,
                     &row->not_after,
                     &row->repro,
                     &row->grade_reasons,
                     &row->grade_reasons_text,
                     &row->vulns};

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    for (size_t i = 0; i < row->n_chain; i++) {
        free(row->chain[i].sha256);
        free(row->chain[i].subject);
        free(row->chain[i].issuer);
        free(row->chain[i].not_before);
        free(row->chain[i].not_after);
    }
    free(row->chain);
    memset(row, 0, sizeof(*row));
}

#define ROW_COLS                                                                                   \
    "r.id, r.host, r.ip, r.port, r.sni, r.class, r.issues, r.tls_version, r.cipher, r.grade,"      \
    " r.cert_sha256, r.detail, r.target, r.elapsed_ms, lc.subject, lc.issuer, "                    \
    "lc.not_after, " TW_SQL_NOT_AFTER
#define CHAIN_COLS ", rc.depth, rc.cert_sha256, cc.subject, cc.issuer, cc.not_before, cc.not_after"
/* The reasons that capped the grade (schema step 3), in the order they fired;
 * one indexed lookup per row inside the one query, not a query per row. */
#define REASON_COLS                                                                                \
    ", (SELECT group_concat(code, ',') FROM (SELECT code FROM grade_reasons AS gr"                 \
    " WHERE gr.result_id = r.id ORDER BY gr.rowid))"                                               \
    ", (SELECT group_concat(text, '; ') FROM (SELECT ifnull(text, code) AS text FROM"              \
    " grade_reasons AS gr WHERE gr.result_id = r.id ORDER BY gr.rowid))"
#define NO_REASON_COLS ", NULL, NULL"
/* Issue 14: the probes that found the endpoint vulnerable (table vulns),
 * always the last column of a row query, whatever comes before it. */
#define VULN_COLS                                                                                  \
    ", (SELECT group_concat(name, ',') FROM (SELECT name FROM vulns AS v"                          \
    " WHERE v.result_id = r.id AND v.vulnerable = 1 ORDER BY v.name))"

char *
tw_report_sql(const struct tw_report_opts *opts, int with_chain, const char *cols, const char *cond,
              const char *tail, int limit)
{
    sqlite3_str *s = sqlite3_str_new(NULL);

    /* The filter sits on its own lines so that a trailing "--" comment in
     * it cannot swallow the rest of the statement. */
    sqlite3_str_appendf(s, "WITH f AS (SELECT * FROM results WHERE scan_id = ?1 AND (\n%s\n))\n",
                        opts->where != NULL && opts->where[0] != '\0' ? opts->where : "1");
    sqlite3_str_appendf(s,
                        "SELECT %s%s%s%s FROM f AS r LEFT JOIN certs AS lc ON lc.sha256 = "
                        "r.cert_sha256",
                        cols != NULL ? cols : ROW_COLS,
                        cols != NULL        ? ""
                        : opts->has_reasons ? REASON_COLS
                                            : NO_REASON_COLS,
                        cols == NULL && with_chain ? CHAIN_COLS : "",
                        cols != NULL      ? ""
                        : opts->has_vulns ? VULN_COLS
                                          : ", NULL");
    if (with_chain)
        sqlite3_str_appendall(s, " LEFT JOIN result_chain AS rc ON rc.result_id = r.id"
                                 " LEFT JOIN certs AS cc ON cc.sha256 = rc.cert_sha256");
    sqlite3_str_appendall(s, " WHERE 1");
    if (opts->has_expiring)
        sqlite3_str_appendall(s, " AND " TW_SQL_NOT_AFTER " < ?3");
    if (cond != NULL)
        sqlite3_str_appendf(s, " AND (%s)", cond);
    if (tail != NULL)
        sqlite3_str_appendf(s, " %s", tail);
    if (limit > 0)
        sqlite3_str_appendf(s, " LIMIT %d", limit);
    return sqlite3_str_finish(s);
}

void
tw_report_bind(sqlite3_stmt *st, const struct tw_scan_info *scan, const struct tw_report_opts *opts)
{
    int n = sqlite3_bind_parameter_count(st);

    if (n >= 1)
        sqlite3_bind_int64(st, 1, scan->id);
    if (n >= 2)
        sqlite3_bind_int64(st, 2, scan->ref_time);
    if (n >= 3)
        sqlite3_bind_int64(st, 3, scan->ref_time + opts->expiring_days * 86400);
}

int
tw_report_query_open(sqlite3 *db, const struct tw_scan_info *scan,
                     const struct tw_report_opts *opts, int with_chain, const char *cond,
                     const char *order, int limit, struct tw_report_query *q, char *err)
{
    char *sql = NULL;
    char *tail = NULL;
    const char *rest = NULL;
    struct tw_report_opts vopts;
    int rc = -1;

    memset(q, 0, sizeof(*q));
    q->scan = scan;
    q->with_chain = with_chain;
    tail = sqlite3_mprintf("ORDER BY %s%s", order, with_chain ? ", r.id, rc.depth" : ", r.id");
    vopts = *opts;
    vopts.has_vulns = tw_report_has_table(db, "vulns");
    sql = tw_report_sql(&vopts, with_chain, NULL, cond, tail, limit);
    if (sqlite3_prepare_v2(db, sql, -1, &q->st, &rest) != SQLITE_OK) {
        tw_errf(err, "--where: %s", sqlite3_errmsg(db));
        rc = 1;
        goto out;
    }
    if (rest != NULL && strspn(rest, " \t\r\n;") != strlen(rest)) {
        tw_errf(err, "--where: one expression expected, found more SQL");
        rc = 1;
        goto out;
    }
    tw_report_bind(q->st, scan, opts);
    rc = 0;
out:
    sqlite3_free(tail);
    sqlite3_free(sql);
    return rc;
}

static char *
col_dup(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    return s != NULL ? tw_xstrdup(s) : NULL;
}

static void
row_add_chain(struct tw_report_row *row, sqlite3_stmt *st)
{
    struct tw_chain_entry *e;

    if (sqlite3_column_type(st, 20) == SQLITE_NULL)
        return;
    if (row->n_chain == row->cap_chain) {
        row->cap_chain = row->cap_chain ? 2 * row->cap_chain : 4;
        row->chain = tw_xrealloc(row->chain, row->cap_chain * sizeof(*row->chain));
    }
    e = &row->chain[row->n_chain++];
    e->depth = sqlite3_column_int(st, 20);
    e->sha256 = col_dup(st, 21);
    e->subject = col_dup(st, 22);
    e->issuer = col_dup(st, 23);
    e->not_before = col_dup(st, 24);
    e->not_after = col_dup(st, 25);
}

static void
row_fill(struct tw_report_row *row, sqlite3_stmt *st, int64_t ref_time)
{
    char buf[4 * TW_HOST_MAX + 256]; /* the command names the SNI twice, maybe quoted */

    row->id = sqlite3_column_int64(st, 0);
    row->host = col_dup(st, 1);
    row->ip = col_dup(st, 2);
    row->port = sqlite3_column_int(st, 3);
    row->sni = col_dup(st, 4);
    row->class_name = col_dup(st, 5);
    row->issues = col_dup(st, 6);
    row->tls_version = col_dup(st, 7);
    row->cipher = col_dup(st, 8);
    row->grade = col_dup(st, 9);
    row->cert_sha256 = col_dup(st, 10);
    row->detail = col_dup(st, 11);
    row->target = col_dup(st, 12);
    row->elapsed_ms = sqlite3_column_int64(st, 13);
    row->leaf_subject = col_dup(st, 14);
    row->leaf_issuer = col_dup(st, 15);
    row->not_after = col_dup(st, 16);
    row->grade_reasons = col_dup(st, 18);
    row->grade_reasons_text = col_dup(st, 19);
    if (sqlite3_column_count(st) > 20)
        row->vulns = col_dup(st, sqlite3_column_count(st) - 1);
    row->has_expiry = sqlite3_column_type(st, 17) != SQLITE_NULL;
    if (row->has_expiry) {
        int64_t s = sqlite3_column_int64(st, 17) - ref_time;
        row->secs_left = s;
        row->days_left = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    }
    row->cls_known = row->class_name != NULL && tw_class_from_name(row->class_name, &row->cls) == 0;
    if (!row->cls_known)
        row->cls = TW_CLASS_TLS_ALERT;
    row->is_failure = tw_class_info(row->cls)->is_failure;
    if (!row->cls_known || row->cls != TW_CLASS_OK) {
        /* A STARTTLS endpoint's target keeps the scheme ("smtp://h:25"), so
         * the command speaks the same plaintext phase. */
        struct tw_repro_in in = {
            .host = row->host,
            .ip = row->ip,
            .port = row->port,
            .sni = row->sni,
            .starttls = tw_starttls_from_target(row->target),
            .cls = row->cls,
            .tls_version = row->tls_version,
            .detail = row->detail,
        };

        tw_class_repro(&in, buf, sizeof(buf));
        row->repro = tw_xstrdup(buf);
    }
}

/* Step the query: 1 a row, 0 the end (q->done set), -1 an error. */
static int
query_step(struct tw_report_query *q)
{
    int step = sqlite3_step(q->st);

    if (step == SQLITE_ROW)
        return 1;
    if (step == SQLITE_DONE) {
        q->done = 1;
        return 0;
    }
    return -1;
}

int
tw_report_query_next(struct tw_report_query *q, struct tw_report_row *row, char *err)
{
    int step;

    memset(row, 0, sizeof(*row));
    if (q->done)
        return 0;
    if (!q->has_pending) {
        step = query_step(q);
        if (step == 0)
            return 0;
        if (step < 0)
            goto dberr;
    }
    q->has_pending = 0;
    row_fill(row, q->st, q->scan->ref_time);
    if (!q->with_chain)
        return 1;
    row_add_chain(row, q->st);
    /* The chain's rows follow their result's; the next result's first row
     * is kept pending for the next call. */
    while ((step = query_step(q)) > 0) {
        if (sqlite3_column_int64(q->st, 0) != row->id) {
            q->has_pending = 1;
            return 1;
        }
        if (row->n_chain < TW_CHAIN_MAX)
            row_add_chain(row, q->st);
    }
    if (step == 0)
        return 1;
dberr:
    tw_errf(err, "reading results: %s", sqlite3_errmsg(sqlite3_db_handle(q->st)));
    tw_report_row_cleanup(row);
    return -1;
}

void
tw_report_query_close(struct tw_report_query *q)
{
    sqlite3_finalize(q->st);
    q->st = NULL;
}
