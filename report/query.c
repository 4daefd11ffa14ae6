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
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "report/escape.h"
#include "report/query.h"
#include "store/schema.h"
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
    if (tw_schema_functions(db, err) < 0)
        return -1;
    /* Writes, ATTACH, PRAGMA and schema changes are refused at prepare time,
     * whatever --where holds (it is trusted, but mistakes happen). */
    sqlite3_set_authorizer(db, report_authorize, NULL);
    return 0;
}

int
tw_report_uri(const char *path, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (len < 8)
        return -1;
    memcpy(buf, path[0] == '/' ? "file://" : "file:", path[0] == '/' ? 7 : 5);
    o = path[0] == '/' ? 7 : 5;
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/._~-", *p) != NULL;

        if (o + (plain ? 1 : 3) + 1 > len)
            return -1;
        if (plain) {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    buf[o] = '\0';
    return 0;
}

/* 1 when this process may write both the file and its directory, which a
 * reader of a WAL database needs to create and use the -shm file.  access()
 * answers for our real ids and sees read-only mounts (EROFS) and immutable
 * files (EPERM); root passes mode bits but not those. */
static int
db_writable(const char *path)
{
    char dir[PATH_MAX];

    if (access(path, W_OK) != 0)
        return 0;
    tw_strlcpy(dir, path, sizeof(dir));
    return access(dirname(dir), W_OK) == 0;
}

/* The size of path's -wal file, 0 when there is none. */
static int64_t
db_wal_size(const char *path)
{
    char wal[PATH_MAX + 8];
    struct stat st;

    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return (int64_t)st.st_size;
}

/* PRAGMA user_version, checked against this binary: 0 or -1 (message). */
static int
db_check_version(sqlite3 *db, const char *path, char *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    if (version < 0)
        tw_errf(err, "%s: %s", path, sqlite3_errmsg(db));
    else if (version == 0)
        tw_errf(err, "%s: not a tlsweep database (no schema)", path);
    else if (version > TW_SCHEMA_VERSION)
        tw_errf(err,
                "%s: database schema version %d is newer than this tlsweep (%d): upgrade "
                "tlsweep",
                path, version, TW_SCHEMA_VERSION);
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

int
tw_report_open_db(const char *path, sqlite3 **out, char *err)
{
    char uri[3 * PATH_MAX + 16];
    char sub[TW_ERRLEN];
    sqlite3 *db = NULL;
    int64_t wal = 0;
    int immutable = 0;
    int rc = -1;

    *out = NULL;
    uri[0] = '\0';
    if (access(path, F_OK) != 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!db_writable(path)) {
        wal = db_wal_size(path);
        /* Without a -wal every committed transaction is in the file: read it
         * as it is, without locks or -shm.  A scan that starts writing later
         * writes to a new -wal first, so this reader sees the file as it was
         * (a checkpoint that rewrites pages while we read is the one risk,
         * and scans checkpoint only when they end). */
        immutable = wal == 0;
    }
    if (immutable) {
        if (tw_report_uri(path, uri, sizeof(uri)) < 0) {
            tw_errf(err, "%s: %s", path, strerror(ENAMETOOLONG));
            goto out;
        }
        strncat(uri, "?immutable=1", sizeof(uri) - strlen(uri) - 1);
    }
    if (sqlite3_open_v2(immutable ? uri : path, &db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                            (immutable ? SQLITE_OPEN_URI : 0),
                        NULL) != SQLITE_OK) {
        tw_errf(err, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    /* A reader that opens a database being created must wait, not fail. */
    sqlite3_busy_timeout(db, 10000);
    if (db_check_version(db, path, sub) < 0) {
        if (wal > 0)
            tw_errf(err,
                    "%s: cannot read: %s-wal holds %" PRId64
                    " bytes not yet copied into the database, and reading them needs %s-shm,"
                    " which this user can neither open for writing nor create (%s); run as a"
                    " user who may write that directory, or let the database's owner"
                    " checkpoint it (a scan does when it ends; or: sqlite3 DB 'PRAGMA"
                    " wal_checkpoint(TRUNCATE)')",
                    path, path, wal, path, sqlite3_errmsg(db));
        else
            tw_errf(err, "%s", sub);
        goto out;
    }
    if (tw_report_db_prepare(db, sub) < 0) {
        tw_errf(err, "%s: %s", path, sub);
        goto out;
    }
    *out = db;
    db = NULL; /* ownership moved to the caller */
    rc = 0;
out:
    sqlite3_close_v2(db);
    return rc;
}

void
tw_report_close_db(sqlite3 *db)
{
    sqlite3_close_v2(db);
}

/* ---- the --where work bound ---- */

#define BUDGET_PERIOD 1000 /* VM instructions between two calls of the handler */

static int
budget_progress(void *arg)
{
    struct tw_report_budget *b = arg;

    if (--b->left > 0)
        return 0;
    b->tripped = 1;
    return 1; /* interrupt: the statement fails with SQLITE_INTERRUPT */
}

int64_t
tw_report_budget_steps(const struct tw_report_opts *opts, int64_t n_results)
{
    if (opts->where == NULL || opts->where[0] == '\0' || opts->max_steps < 0)
        return 0;
    if (opts->max_steps > 0)
        return opts->max_steps;
    if (n_results < 0)
        n_results = 0;
    if (n_results > (INT64_MAX - TW_REPORT_STEPS_BASE) / TW_REPORT_STEPS_PER_ROW)
        return INT64_MAX;
    return TW_REPORT_STEPS_BASE + TW_REPORT_STEPS_PER_ROW * n_results;
}

void
tw_report_budget_start(sqlite3 *db, struct tw_report_budget *b, int64_t max_steps)
{
    memset(b, 0, sizeof(*b));
    b->max_steps = max_steps;
    if (max_steps <= 0)
        return;
    b->left = max_steps / BUDGET_PERIOD + 1;
    sqlite3_progress_handler(db, BUDGET_PERIOD, budget_progress, b);
}

void
tw_report_budget_stop(sqlite3 *db, struct tw_report_budget *b)
{
    if (b->max_steps > 0)
        sqlite3_progress_handler(db, 0, NULL, NULL);
}

int
tw_report_budget_tripped(const struct tw_report_budget *b)
{
    return b->tripped;
}

static void
copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    tw_strlcpy(dst, s ? s : "", len);
}

/* Copy a fingerprint column: "" when NULL or too long for dst. */
static void
copy_sha(char *dst, size_t len, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    dst[0] = '\0';
    if (s != NULL && strlen(s) < len)
        tw_strlcpy(dst, s, len);
}

/* The columns of scans a report reads; schema 5 added the last three, which
 * an older database (read-only opens accept them) lacks. */
#define SCAN_COLS                                                                                  \
    "id, label, started_at, finished_at, status, now_at,"                                          \
    " CAST(strftime('%%s', started_at) AS INTEGER),"                                               \
    " CAST(strftime('%%s', finished_at) AS INTEGER),"                                              \
    " CAST(strftime('%%s', now_at) AS INTEGER),"                                                   \
    " (SELECT count(*) FROM results WHERE scan_id = scans.id), targets_sha256"
#define SCAN_COLS_5 ", partial, trust_sha256"
#define SCAN_COLS_OLD ", 0, NULL"

static int
scan_load(sqlite3 *db, const char *where, int64_t id, int offset, struct tw_scan_info *out,
          char *err)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    int rc = -1;
    int step;

    for (int v5 = 1; v5 >= 0 && st == NULL; v5--) {
        sql = sqlite3_mprintf("SELECT " SCAN_COLS "%s FROM scans WHERE %s"
                              " ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET %d",
                              v5 ? SCAN_COLS_5 : SCAN_COLS_OLD, where, offset);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK && !v5)
            goto dberr;
        sqlite3_free(sql);
        sql = NULL;
    }
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
    copy_sha(out->targets_sha256, sizeof(out->targets_sha256), st, 10);
    out->is_partial = sqlite3_column_int(st, 11) != 0;
    copy_sha(out->trust_sha256, sizeof(out->trust_sha256), st, 12);
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

/* The trend's counts per (scan, class, grade, expiry bucket), the scans
 * picked newest first and reported oldest first by the caller's fold. */
static const char trend_sql[] =
    "WITH s AS (SELECT id, started_at, coalesce(CAST(strftime('%s', now_at) AS INTEGER),"
    " CAST(strftime('%s', started_at) AS INTEGER), 0) AS ref FROM scans"
    " WHERE id = ?1 OR (status = 'done' AND (started_at < ?2 OR (started_at = ?2 AND id < ?1)))"
    " ORDER BY started_at DESC, id DESC LIMIT ?3)"
    " SELECT s.id, s.started_at, r.class, r.grade,"
    " CASE WHEN lc.not_after IS NULL THEN 0"
    " WHEN CAST(strftime('%s', lc.not_after) AS INTEGER) < s.ref THEN 1"
    " WHEN CAST(strftime('%s', lc.not_after) AS INTEGER) < s.ref + 30 * 86400 THEN 2 ELSE 0 END,"
    " count(r.id)"
    " FROM s LEFT JOIN results AS r ON r.scan_id = s.id"
    " LEFT JOIN certs AS lc ON lc.sha256 = r.cert_sha256"
    " GROUP BY 1, 2, 3, 4, 5 ORDER BY s.started_at, s.id";

static void
trend_add(struct tw_report_trend_point *p, sqlite3_stmt *st)
{
    const char *cls = (const char *)sqlite3_column_text(st, 2);
    const char *grade = (const char *)sqlite3_column_text(st, 3);
    int bucket = sqlite3_column_int(st, 4);
    int64_t n = sqlite3_column_int64(st, 5);
    enum tw_class c;

    if (n == 0) /* a scan without results: the LEFT JOIN's one empty group */
        return;
    p->total += n;
    if (cls != NULL && tw_class_from_name(cls, &c) == 0) {
        p->by_class[c] += n;
        if (c == TW_CLASS_OK)
            p->n_ok += n;
        else if (tw_class_info(c)->is_failure)
            p->n_failures += n;
        else
            p->n_issues += n;
    } else {
        p->n_unknown_class += n;
        p->n_failures += n;
    }
    p->by_grade[grade != NULL ? tw_grade_from_name(grade) : TW_GRADE_NONE] += n;
    if (bucket == 1)
        p->n_expired += n;
    else if (bucket == 2)
        p->n_exp30 += n;
}

int
tw_report_trend(sqlite3 *db, const struct tw_scan_info *scan, int n, struct tw_report_trend *out,
                char *err)
{
    sqlite3_stmt *st = NULL;
    int step;

    memset(out, 0, sizeof(*out));
    if (n < 1)
        n = 1;
    if (n > TW_REPORT_TREND_MAX)
        n = TW_REPORT_TREND_MAX;
    if (sqlite3_prepare_v2(db, trend_sql, -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, scan->id);
    sqlite3_bind_text(st, 2, scan->started_at, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, n);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        struct tw_report_trend_point *p;

        if (out->n == 0 || out->p[out->n - 1].scan_id != id) {
            const char *at = (const char *)sqlite3_column_text(st, 1);

            if (out->n == TW_REPORT_TREND_MAX)
                break;
            p = &out->p[out->n++];
            p->scan_id = id;
            snprintf(p->started_at, sizeof(p->started_at), "%s", at != NULL ? at : "");
        }
        trend_add(&out->p[out->n - 1], st);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(st);
    return 0;
dberr:
    tw_errf(err, "reading the trend: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    memset(out, 0, sizeof(*out));
    return -1;
}

void
tw_report_scan_cleanup(struct tw_scan_info *scan)
{
    if (scan == NULL)
        return;
    free(scan->label);
    scan->label = NULL;
}

/* ---- warnings ---- */

static const char *const warn_names[TW_REPORT_WARN__COUNT] = {
    [TW_REPORT_WARN_NEWER_INTERRUPTED] = "newer_scan_interrupted",
    [TW_REPORT_WARN_NEWER_RUNNING] = "newer_scan_running",
    [TW_REPORT_WARN_PARTIAL] = "scan_partial",
    [TW_REPORT_WARN_TARGETS_DIFFER] = "targets_differ",
    [TW_REPORT_WARN_TRUST_DIFFERS] = "trust_differs",
    [TW_REPORT_WARN_VANISHED] = "vanished",
};

const char *
tw_report_warn_name(enum tw_report_warn_code code)
{
    return (unsigned)code < TW_REPORT_WARN__COUNT ? warn_names[code] : "unknown";
}

void
tw_report_warnings_add(struct tw_report_warnings *ws, const struct tw_report_warning *w)
{
    if (ws->n < TW_REPORT_WARN_MAX)
        ws->w[ws->n++] = *w;
}

int
tw_report_warnings_scan(sqlite3 *db, const struct tw_scan_info *const *shown, size_t n,
                        struct tw_report_warnings *out, char *err)
{
    const struct tw_scan_info *newest = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    int step;

    for (size_t i = 0; i < n; i++) {
        int cmp = newest == NULL ? 1 : strcmp(shown[i]->started_at, newest->started_at);

        if (cmp > 0 || (cmp == 0 && shown[i]->id > newest->id))
            newest = shown[i];
    }
    if (newest == NULL)
        return 0;
    /* "Newer" is the order scans are picked in (scan_load): started_at,
     * then id. */
    if (sqlite3_prepare_v2(db,
                           "SELECT id, status FROM scans WHERE status IN ('interrupted', 'running')"
                           " AND (started_at > ?1 OR (started_at = ?1 AND id > ?2))"
                           " ORDER BY started_at DESC, id DESC LIMIT ?3",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, newest->started_at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, newest->id);
    sqlite3_bind_int(st, 3, TW_REPORT_NEWER_MAX);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 1);
        struct tw_report_warning w;

        memset(&w, 0, sizeof(w));
        w.code = status != NULL && strcmp(status, "running") == 0
                     ? TW_REPORT_WARN_NEWER_RUNNING
                     : TW_REPORT_WARN_NEWER_INTERRUPTED;
        w.scan_id = sqlite3_column_int64(st, 0);
        w.other_id = newest->id;
        tw_report_warnings_add(out, &w);
    }
    if (step != SQLITE_DONE)
        goto dberr;
    for (size_t i = 0; i < n; i++) {
        struct tw_report_warning w;

        if (!shown[i]->is_partial || (i > 0 && shown[i]->id == shown[0]->id))
            continue;
        memset(&w, 0, sizeof(w));
        w.code = TW_REPORT_WARN_PARTIAL;
        w.scan_id = shown[i]->id;
        tw_report_warnings_add(out, &w);
    }
    rc = 0;
    goto out;
dberr:
    tw_errf(err, "reading scans: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    return rc;
}

void
tw_report_warnings_json(FILE *f, const struct tw_report_warnings *ws, const char *what)
{
    fputc('[', f);
    for (size_t i = 0; ws != NULL && i < ws->n; i++) {
        const struct tw_report_warning *w = &ws->w[i];
        char text[512];
        int64_t tenths;

        tw_report_warning_text(w, what, NULL, text, sizeof(text));
        fprintf(f, "%s{\"code\":\"%s\",\"message\":", i ? "," : "", tw_report_warn_name(w->code));
        tw_escape_json(f, text);
        switch (w->code) {
        case TW_REPORT_WARN_NEWER_INTERRUPTED:
        case TW_REPORT_WARN_NEWER_RUNNING:
            fprintf(f, ",\"scan\":%" PRId64 ",\"newer_than\":%" PRId64, w->scan_id, w->other_id);
            break;
        case TW_REPORT_WARN_PARTIAL:
            fprintf(f, ",\"scan\":%" PRId64, w->scan_id);
            break;
        case TW_REPORT_WARN_TARGETS_DIFFER:
        case TW_REPORT_WARN_TRUST_DIFFERS:
            fprintf(f, ",\"old_scan\":%" PRId64 ",\"new_scan\":%" PRId64 ",\"old_sha256\":",
                    w->other_id, w->scan_id);
            tw_escape_json(f, w->old_value);
            fputs(",\"new_sha256\":", f);
            tw_escape_json(f, w->new_value);
            break;
        case TW_REPORT_WARN_VANISHED:
            tenths = w->total > 0 ? w->count * 1000 / w->total : 0;
            fprintf(f,
                    ",\"old_scan\":%" PRId64 ",\"new_scan\":%" PRId64 ",\"vanished\":%" PRId64
                    ",\"old_endpoints\":%" PRId64 ",\"percent\":%" PRId64 ".%" PRId64
                    ",\"threshold_percent\":%" PRId64,
                    w->other_id, w->scan_id, w->count, w->total, tenths / 10, tenths % 10,
                    w->threshold_pct);
            break;
        case TW_REPORT_WARN__COUNT:
            break;
        }
        fputc('}', f);
    }
    fputc(']', f);
}

/* path as one shell word: as it is when it holds only safe bytes, else in
 * single quotes (a quote as '\''). */
static void
shell_word(char *buf, size_t len, const char *path)
{
    size_t o = 0;

    if (path[0] != '\0' && strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789/._-+=:,@%") == strlen(path)) {
        tw_strlcpy(buf, path, len);
        return;
    }
    for (const char *p = path; *p != '\0' && o + 6 < len; p++) {
        if (p == path)
            buf[o++] = '\'';
        if (*p == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *p;
        }
    }
    if (o + 2 > len)
        o = len - 2;
    buf[o++] = '\'';
    buf[o] = '\0';
}

void
tw_report_warning_text(const struct tw_report_warning *w, const char *what, const char *resume_db,
                       char *buf, size_t len)
{
    char db[PATH_MAX + 64];
    int64_t tenths;

    db[0] = '\0';
    if (resume_db != NULL) {
        char word[PATH_MAX + 32];

        shell_word(word, sizeof(word), resume_db);
        snprintf(db, sizeof(db), " --db %s", word);
    }
    switch (w->code) {
    case TW_REPORT_WARN_NEWER_INTERRUPTED:
        snprintf(buf, len,
                 "scan %" PRId64 " (newer than scan %" PRId64
                 " shown) is interrupted: its results are not in this %s; finish it with:"
                 " tlsweep scan --resume=%" PRId64 "%s",
                 w->scan_id, w->other_id, what, w->scan_id, db);
        return;
    case TW_REPORT_WARN_NEWER_RUNNING:
        snprintf(buf, len,
                 "scan %" PRId64 " (newer than scan %" PRId64
                 " shown) is running, or its process died: its results are not in this %s; let"
                 " it finish, or if no scan is running, finish it with: tlsweep scan"
                 " --resume=%" PRId64 "%s",
                 w->scan_id, w->other_id, what, w->scan_id, db);
        return;
    case TW_REPORT_WARN_PARTIAL:
        snprintf(buf, len,
                 "scan %" PRId64 " is partial: it was merged without some of its shards"
                 " (merge --allow-missing), so their endpoints are not in this %s",
                 w->scan_id, what);
        return;
    case TW_REPORT_WARN_TARGETS_DIFFER:
        snprintf(buf, len,
                 "scans %" PRId64 " and %" PRId64
                 " scanned different target lists (targets_sha256 differ): endpoints may be new"
                 " or vanished because the list changed",
                 w->other_id, w->scan_id);
        return;
    case TW_REPORT_WARN_TRUST_DIFFERS:
        snprintf(buf, len,
                 "scans %" PRId64 " and %" PRId64
                 " judged certificates against different trust stores (trust_sha256 differ):"
                 " certificate classes may change because the trust store changed",
                 w->other_id, w->scan_id);
        return;
    case TW_REPORT_WARN_VANISHED:
        tenths = w->total > 0 ? w->count * 1000 / w->total : 0;
        snprintf(buf, len,
                 "%" PRId64 " of the %" PRId64 " endpoints of scan %" PRId64 " (%" PRId64
                 ".%" PRId64 " %%) are missing from scan %" PRId64 ", more than %" PRId64
                 " %%: was the target list empty or cut short, or the scan interrupted?",
                 w->count, w->total, w->other_id, tenths / 10, tenths % 10, w->scan_id,
                 w->threshold_pct);
        return;
    case TW_REPORT_WARN__COUNT:
        break;
    }
    snprintf(buf, len, "unknown warning");
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
                     &row->vulns,
                     &row->compliance,
                     &row->leaf_san};

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    for (size_t i = 0; i < row->n_chain; i++) {
        free(row->chain[i].sha256);
        free(row->chain[i].subject);
        free(row->chain[i].issuer);
        free(row->chain[i].not_before);
        free(row->chain[i].not_after);
        free(row->chain[i].san);
    }
    free(row->chain);
    memset(row, 0, sizeof(*row));
}

#define ROW_COLS                                                                                   \
    "r.id, r.host, r.ip, r.port, r.sni, r.class, r.issues, r.tls_version, r.cipher, r.grade,"      \
    " r.cert_sha256, r.detail, r.target, r.elapsed_ms, lc.subject, lc.issuer, "                    \
    "lc.not_after, " TW_SQL_NOT_AFTER
#define CHAIN_COLS                                                                                 \
    ", rc.depth, rc.cert_sha256, cc.subject, cc.issuer, cc.not_before, cc.not_after, cc.san"
/* The reasons that capped the grade (schema step 3), in the order they fired;
 * one indexed lookup per row inside the one query, not a query per row. */
#define REASON_COLS                                                                                \
    ", (SELECT group_concat(code, ',') FROM (SELECT code FROM grade_reasons AS gr"                 \
    " WHERE gr.result_id = r.id ORDER BY gr.rowid))"                                               \
    ", (SELECT group_concat(text, '; ') FROM (SELECT ifnull(text, code) AS text FROM"              \
    " grade_reasons AS gr WHERE gr.result_id = r.id ORDER BY gr.rowid))"
#define NO_REASON_COLS ", NULL, NULL"
/* Issue 16: the leaf's SAN list, for every format (not only those that read
 * the chain); always the very last column of a row query. */
#define LEAF_SAN_COL ", lc.san"
/* Issue 14: the probes that found the endpoint vulnerable (table vulns),
 * always the last column of a row query, whatever comes before it. */
#define VULN_COLS                                                                                  \
    ", (SELECT group_concat(name, ',') FROM (SELECT name FROM vulns AS v"                          \
    " WHERE v.result_id = r.id AND v.vulnerable = 1 ORDER BY v.name))"

/* Issue 13: the endpoint's Mozilla verdicts (table compliance), always the
 * column after VULN_COLS when the row query has one. */
#define COMP_COLS                                                                                  \
    ", (SELECT group_concat(profile || '=' || pass || '=' || failed_checks, ';') FROM"             \
    " (SELECT * FROM compliance AS mc WHERE mc.result_id = r.id ORDER BY"                          \
    " CASE mc.profile WHEN 'modern' THEN 0 WHEN 'intermediate' THEN 1 ELSE 2 END))"

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
                        "SELECT %s%s%s%s%s%s FROM f AS r LEFT JOIN certs AS lc ON lc.sha256 = "
                        "r.cert_sha256",
                        cols != NULL ? cols : ROW_COLS,
                        cols != NULL        ? ""
                        : opts->has_reasons ? REASON_COLS
                                            : NO_REASON_COLS,
                        cols == NULL && with_chain ? CHAIN_COLS : "",
                        cols != NULL      ? ""
                        : opts->has_vulns ? VULN_COLS
                                          : ", NULL",
                        cols != NULL           ? ""
                        : opts->has_compliance ? COMP_COLS
                                               : ", NULL",
                        cols != NULL ? "" : LEAF_SAN_COL);
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
    vopts.has_compliance = tw_report_has_table(db, "compliance");
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
    e->san = col_dup(st, 26);
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
    if (sqlite3_column_count(st) > 22) {
        int n = sqlite3_column_count(st);

        row->vulns = col_dup(st, n - 3);
        row->compliance = col_dup(st, n - 2);
        row->leaf_san = col_dup(st, n - 1);
    }
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
    {
        /* Every row, ok ones too (issue 16: JSON and CSV carry it for every
         * endpoint).  A STARTTLS endpoint's target keeps the scheme
         * ("smtp://h:25"), so the command speaks the same plaintext phase. */
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
