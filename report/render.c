/*
 * render.c - the renderer table, the row iterator and the report driver.
 *
 * The driver runs two statements: the summary (summary.c) and the row
 * stream, ordered worst-first: class precedence (failures first, then
 * certificate issues, ok last), then grade (F first, not graded last), then
 * host, port, SNI, address.  The sort is SQLite's (one sorter over the
 * scan's rows); rows leave the iterator one at a time.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/escape.h"
#include "report/render.h"
#include "report/render_int.h"
#include "base/log.h"
#include "base/xalloc.h"

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
                     &row->grade_reasons_text};

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

void
tw_report_repro(const char *host, const char *ip, int port, const char *sni, enum tw_class cls,
                char *buf, size_t len)
{
    const char *flags = tw_class_info(cls)->repro;
    const char *addr = ip != NULL && ip[0] != '\0' ? ip : host;
    char hp[TW_HOST_MAX + 16];
    int no_sni = sni == NULL || strstr(flags, "-noservername") != NULL;

    if (len == 0)
        return;
    if (addr == NULL)
        addr = "";
    if (strchr(addr, ':') != NULL)
        snprintf(hp, sizeof(hp), "[%s]:%d", addr, port);
    else
        snprintf(hp, sizeof(hp), "%s:%d", addr, port);
    tw_strlcpy(buf, "openssl s_client -connect ", len);
    tw_escape_shell(buf, len, hp);
    if (no_sni) {
        if (strstr(flags, "-noservername") == NULL) {
            size_t n = strlen(buf);
            snprintf(buf + n, len - n, " -noservername");
        }
    } else {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, " -servername ");
        tw_escape_shell(buf, len, sni);
    }
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s", flags);
}

void
tw_report_endpoint_label(const struct tw_report_row *row, char *buf, size_t len)
{
    int v6 = row->host != NULL && strchr(row->host, ':') != NULL;
    int show_ip = row->ip != NULL && row->ip[0] != '\0' && row->host != NULL &&
                  strcmp(row->ip, row->host) != 0;
    int show_sni = row->sni != NULL && row->host != NULL && strcmp(row->sni, row->host) != 0;

    snprintf(buf, len, "%s%s%s:%d%s%s%s%s%s", v6 ? "[" : "", row->host ? row->host : "",
             v6 ? "]" : "", row->port, show_ip ? " (" : "", show_ip ? row->ip : "",
             show_ip ? ")" : "",
             row->sni == NULL ? " sni=-"
             : show_sni       ? " sni="
                              : "",
             show_sni ? row->sni : "");
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
                        "SELECT %s%s%s FROM f AS r LEFT JOIN certs AS lc ON lc.sha256 = "
                        "r.cert_sha256",
                        cols != NULL ? cols : ROW_COLS,
                        cols != NULL        ? ""
                        : opts->has_reasons ? REASON_COLS
                                            : NO_REASON_COLS,
                        cols == NULL && with_chain ? CHAIN_COLS : "");
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
    int rc = -1;

    memset(q, 0, sizeof(*q));
    q->scan = scan;
    q->with_chain = with_chain;
    tail = sqlite3_mprintf("ORDER BY %s%s", order, with_chain ? ", r.id, rc.depth" : ", r.id");
    sql = tw_report_sql(opts, with_chain, NULL, cond, tail, limit);
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
    char buf[2 * TW_HOST_MAX + 128];

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
        int stls = tw_starttls_from_target(row->target);

        tw_report_repro(row->host, row->ip, row->port, row->sni, row->cls, buf, sizeof(buf));
        /* A STARTTLS endpoint (its target keeps the scheme, "smtp://h:25"):
         * the command speaks the same plaintext phase, whatever the class. */
        if (stls != TW_STARTTLS_NONE) {
            size_t n = strlen(buf);

            snprintf(buf + n, sizeof(buf) - n, " -starttls %s", tw_starttls_name(stls));
        }
        row->repro = tw_xstrdup(buf);
    }
}

int
tw_report_query_next(struct tw_report_query *q, struct tw_report_row *row, char *err)
{
    int step;

    memset(row, 0, sizeof(*row));
    if (q->done)
        return 0;
    if (!q->has_pending) {
        step = sqlite3_step(q->st);
        if (step == SQLITE_DONE) {
            q->done = 1;
            return 0;
        }
        if (step != SQLITE_ROW)
            goto dberr;
    }
    q->has_pending = 0;
    row_fill(row, q->st, q->scan->ref_time);
    if (!q->with_chain)
        return 1;
    row_add_chain(row, q->st);
    for (;;) {
        step = sqlite3_step(q->st);
        if (step == SQLITE_DONE) {
            q->done = 1;
            return 1;
        }
        if (step != SQLITE_ROW)
            goto dberr;
        if (sqlite3_column_int64(q->st, 0) != row->id) {
            q->has_pending = 1;
            return 1;
        }
        if (row->n_chain < TW_CHAIN_MAX)
            row_add_chain(row, q->st);
    }
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

const char *
tw_render_grade_color(const struct tw_report *rp, const char *grade)
{
    int r = tw_grade_rank(grade);

    if (!rp->opts->color || r == TW_GRADE_NONE)
        return "";
    if (r <= 2)
        return "\033[32m";
    if (r <= 4)
        return "\033[33m";
    return "\033[1;31m";
}

const char *
tw_render_class_color(const struct tw_report *rp, const struct tw_report_row *row)
{
    if (!rp->opts->color)
        return "";
    if (row->cls_known && row->cls == TW_CLASS_OK)
        return "\033[32m";
    return row->is_failure ? "\033[1;31m" : "\033[33m";
}

const char *
tw_render_reset(const struct tw_report *rp)
{
    return rp->opts->color ? "\033[0m" : "";
}

const char *
tw_render_scan_warning(const struct tw_scan_info *scan)
{
    if (strcmp(scan->status, "interrupted") == 0)
        return "SCAN INTERRUPTED: results are incomplete (endpoints not scanned are missing)";
    if (strcmp(scan->status, "running") == 0)
        return "SCAN STILL RUNNING: results are incomplete";
    if (strcmp(scan->status, "done") != 0)
        return "SCAN STATUS UNKNOWN";
    return NULL;
}

int
tw_report_run(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
              const struct tw_renderer *r, FILE *out, char *err)
{
    struct tw_summary *sum = tw_xcalloc(1, sizeof(*sum));
    struct tw_report_query q;
    struct tw_report_row row;
    struct tw_report rp;
    int rc = -1;
    int k;

    memset(&q, 0, sizeof(q));
    memset(&rp, 0, sizeof(rp));
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
    free(rp.state);
    tw_report_query_close(&q);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    tw_summary_cleanup(sum);
    free(sum);
    return rc;
}
