/*
 * store.c - one SQLite connection and its prepared statements.
 *
 * Every statement the scan path needs is prepared once, at open, and reset
 * after each use, so that a scan of a million endpoints parses no SQL after
 * startup.  Values are always bound (with explicit lengths), never spliced
 * into SQL text: host names and certificate fields come from hostile peers.
 *
 * Errors name the file and SQLite's cause ("tlsweep.db: database is
 * locked").  After a failure the connection's error code is left as SQLite
 * set it, so that the writer can tell SQLITE_BUSY (retry) from the rest
 * through sqlite3_errcode(tw_store_db(st)).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store/base/log.h"
#include "store/base/xalloc.h"
#include "store/schema.h"
#include "store/store.h"

struct tw_store {
    sqlite3 *db;
    char *path;
    int is_read_only;
    sqlite3_stmt *scan_insert;
    sqlite3_stmt *scan_finish;
    sqlite3_stmt *scan_reopen;
    sqlite3_stmt *scan_resumable;
    sqlite3_stmt *result_insert;
    sqlite3_stmt *cert_insert;
    sqlite3_stmt *chain_insert;
    sqlite3_stmt *endpoints;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
};

/* The statement table: one entry per prepared statement, in struct order. */
struct store_sql {
    size_t offset; /* of the sqlite3_stmt * in struct tw_store */
    const char *sql;
};

#define STMT(field, text)                                                                          \
    {                                                                                              \
        offsetof(struct tw_store, field), text                                                     \
    }

static const struct store_sql store_sqls[] = {
    STMT(scan_insert, "INSERT INTO scans(label, started_at, status, shard, targets_sha256,"
                      " options, now_at) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6)"),
    STMT(scan_finish, "UPDATE scans SET status = ?2, finished_at = ?3,"
                      " n_endpoints = (SELECT count(*) FROM results WHERE scan_id = ?1)"
                      " WHERE id = ?1"),
    STMT(scan_reopen, "UPDATE scans SET status = 'running', finished_at = NULL WHERE id = ?1"),
    STMT(scan_resumable, "SELECT id FROM scans WHERE status IN ('interrupted', 'running')"
                         " ORDER BY id DESC LIMIT 1"),
    STMT(result_insert,
         "INSERT OR IGNORE INTO results(scan_id, target, host, ip, port, sni, class, issues,"
         " tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
    STMT(cert_insert, "INSERT OR IGNORE INTO certs(sha256, subject, issuer, not_before,"
                      " not_after, key_type, key_bits, sig_alg, san, pem)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
    STMT(chain_insert,
         "INSERT OR IGNORE INTO result_chain(result_id, depth, cert_sha256) VALUES (?1, ?2, ?3)"),
    STMT(endpoints, "SELECT host, port, sni FROM results WHERE scan_id = ?1"),
    STMT(begin, "BEGIN IMMEDIATE"),
    STMT(commit, "COMMIT"),
    STMT(rollback, "ROLLBACK"),
};

#define N_SQLS (sizeof(store_sqls) / sizeof(store_sqls[0]))

static sqlite3_stmt **
store_stmt_slot(struct tw_store *st, size_t i)
{
    return (sqlite3_stmt **)(void *)((char *)st + store_sqls[i].offset);
}

/* "PATH: cause", with the connection's current error as the cause. */
static void
store_err(struct tw_store *st, char *err)
{
    tw_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

/* Bind text of at most max bytes (NULs end it), or NULL when s is NULL. */
static int
bind_text(sqlite3_stmt *s, int i, const char *text, size_t max)
{
    if (text == NULL)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, text, (int)strnlen(text, max), SQLITE_STATIC);
}

/* Like bind_text, but "" is stored as NULL. */
static int
bind_text_or_null(sqlite3_stmt *s, int i, const char *text, size_t max)
{
    if (text == NULL || text[0] == '\0')
        return sqlite3_bind_null(s, i);
    return bind_text(s, i, text, max);
}

/* Step a statement that returns no rows, then reset it (keeping the error). */
static int
store_exec(struct tw_store *st, sqlite3_stmt *s, char *err)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE) {
        /* reset() hands the statement's error to the connection. */
        sqlite3_reset(s);
        store_err(st, err);
        sqlite3_clear_bindings(s);
        return -1;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

/* A read-only open must not migrate, but it must still refuse databases it
 * cannot read: not tlsweep's, or written by a newer tlsweep. */
static int
store_check_version(struct tw_store *st, char *err)
{
    sqlite3_stmt *s = NULL;
    int version = 0;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        store_err(st, err);
        goto out;
    }
    version = sqlite3_column_int(s, 0);
    if (version == 0) {
        tw_errf(err, "%s: not a tlsweep database (no schema)", st->path);
        goto out;
    }
    if (version > TW_SCHEMA_VERSION) {
        tw_errf(err,
                "%s: database schema version %d is newer than this tlsweep (%d): upgrade "
                "tlsweep",
                st->path, version, TW_SCHEMA_VERSION);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    return rc;
}

int
tw_store_open(const char *path, int flags, struct tw_store **out, char *err)
{
    struct tw_store *st = NULL;
    char sub[TW_ERRLEN];
    int oflags;
    int rc = -1;

    *out = NULL;
    st = tw_xcalloc(1, sizeof(*st));
    st->path = tw_xstrdup(path);
    st->is_read_only = (flags & TW_STORE_READONLY) != 0;
    /* One thread uses a connection at a time: SQLite's mutexes are waste. */
    oflags = SQLITE_OPEN_NOMUTEX |
             (st->is_read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        int sys = st->db ? sqlite3_system_errno(st->db) : 0;

        if (sys != 0)
            tw_errf(err, "cannot open %s: %s (%s)", path,
                    st->db ? sqlite3_errmsg(st->db) : "out of memory", strerror(sys));
        else
            tw_errf(err, "cannot open %s: %s", path,
                    st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (tw_schema_pragmas(st->db, st->is_read_only, sub) < 0) {
        tw_errf(err, "%s: %s", path, sub);
        goto out;
    }
    if (st->is_read_only) {
        if (store_check_version(st, err) < 0)
            goto out;
    } else if (tw_schema_migrate(st->db, sub) < 0) {
        tw_errf(err, "%s: %s", path, sub);
        goto out;
    }
    /* Write statements are prepared on read-only connections too: preparing
     * never writes, and a write through one fails with SQLite's own
     * "attempt to write a readonly database". */
    for (size_t i = 0; i < N_SQLS; i++) {
        if (sqlite3_prepare_v3(st->db, store_sqls[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               store_stmt_slot(st, i), NULL) != SQLITE_OK) {
            store_err(st, err);
            goto out;
        }
    }
    *out = st;
    st = NULL; /* ownership moved to the caller */
    rc = 0;
out:
    tw_store_close(st);
    return rc;
}

void
tw_store_close(struct tw_store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < N_SQLS; i++)
        sqlite3_finalize(*store_stmt_slot(st, i));
    /* close_v2 defers the close if a caller still holds a statement. */
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st);
}

sqlite3 *
tw_store_db(struct tw_store *st)
{
    return st->db;
}

const char *
tw_store_path(const struct tw_store *st)
{
    return st->path;
}

int
tw_store_scan_begin(struct tw_store *st, const struct tw_scan_meta *meta, int64_t *scan_id,
                    char *err)
{
    sqlite3_stmt *s = st->scan_insert;
    char now[21];

    tw_time_iso((int64_t)time(NULL), now);
    bind_text(s, 1, meta ? meta->label : NULL, TW_CERT_FIELD_MAX);
    bind_text(s, 2, now, sizeof(now));
    bind_text(s, 3, meta ? meta->shard : NULL, 64);
    bind_text(s, 4, meta ? meta->targets_sha256 : NULL, 128);
    bind_text(s, 5, meta ? meta->options : NULL, TW_DETAIL_MAX);
    bind_text(s, 6, meta ? meta->now_at : NULL, 64);
    if (store_exec(st, s, err) < 0)
        return -1;
    *scan_id = (int64_t)sqlite3_last_insert_rowid(st->db);
    return 0;
}

int
tw_store_scan_finish(struct tw_store *st, int64_t scan_id, const char *status, char *err)
{
    sqlite3_stmt *s = st->scan_finish;
    char now[21];

    if (status == NULL || (strcmp(status, "done") != 0 && strcmp(status, "interrupted") != 0)) {
        tw_errf(err, "%s: a scan finishes 'done' or 'interrupted', not '%s'", st->path,
                status ? status : "(null)");
        return -1;
    }
    tw_time_iso((int64_t)time(NULL), now);
    sqlite3_bind_int64(s, 1, scan_id);
    bind_text(s, 2, status, 16);
    bind_text(s, 3, now, sizeof(now));
    if (store_exec(st, s, err) < 0)
        return -1;
    if (sqlite3_changes(st->db) != 1) {
        tw_errf(err, "%s: no scan %lld", st->path, (long long)scan_id);
        return -1;
    }
    return 0;
}

int
tw_store_scan_set_targets(struct tw_store *st, int64_t scan_id, const char *targets_sha256,
                          char *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "UPDATE scans SET targets_sha256 = ?2 WHERE id = ?1", -1, &s,
                           NULL) != SQLITE_OK) {
        tw_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
        goto out;
    }
    sqlite3_bind_int64(s, 1, scan_id);
    bind_text(s, 2, targets_sha256, 64);
    if (store_exec(st, s, err) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(s);
    return rc;
}

int
tw_store_scan_reopen(struct tw_store *st, int64_t scan_id, char *err)
{
    sqlite3_bind_int64(st->scan_reopen, 1, scan_id);
    if (store_exec(st, st->scan_reopen, err) < 0)
        return -1;
    if (sqlite3_changes(st->db) != 1) {
        tw_errf(err, "%s: no scan %lld", st->path, (long long)scan_id);
        return -1;
    }
    return 0;
}

int
tw_store_scan_find_resumable(struct tw_store *st, int64_t *scan_id, char *err)
{
    sqlite3_stmt *s = st->scan_resumable;
    int rc = sqlite3_step(s);
    int ret = -1;

    if (rc == SQLITE_ROW) {
        *scan_id = (int64_t)sqlite3_column_int64(s, 0);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = 1;
    }
    sqlite3_reset(s);
    if (ret < 0)
        store_err(st, err);
    return ret;
}

int
tw_store_begin(struct tw_store *st, char *err)
{
    return store_exec(st, st->begin, err);
}

int
tw_store_commit(struct tw_store *st, char *err)
{
    return store_exec(st, st->commit, err);
}

int
tw_store_rollback(struct tw_store *st)
{
    int rc;

    if (sqlite3_get_autocommit(st->db))
        return 0; /* no transaction open (SQLite may have rolled it back itself) */
    rc = sqlite3_step(st->rollback);
    sqlite3_reset(st->rollback);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A certificate key: 64 hex digits.  Anything else is not stored. */
static int
store_valid_sha256(const char *h)
{
    size_t i;

    for (i = 0; i < 64; i++) {
        char c = h[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return h[64] == '\0';
}

static int
store_put_cert(struct tw_store *st, const struct tw_cert *c, char *err)
{
    sqlite3_stmt *s = st->cert_insert;

    bind_text(s, 1, c->sha256, sizeof(c->sha256));
    bind_text(s, 2, c->subject, TW_CERT_FIELD_MAX);
    bind_text(s, 3, c->issuer, TW_CERT_FIELD_MAX);
    bind_text_or_null(s, 4, c->not_before, sizeof(c->not_before));
    bind_text_or_null(s, 5, c->not_after, sizeof(c->not_after));
    bind_text_or_null(s, 6, c->key_type, sizeof(c->key_type));
    if (c->key_bits > 0)
        sqlite3_bind_int(s, 7, c->key_bits);
    else
        sqlite3_bind_null(s, 7);
    bind_text_or_null(s, 8, c->sig_alg, sizeof(c->sig_alg));
    bind_text(s, 9, c->san, TW_CERT_FIELD_MAX);
    bind_text(s, 10, c->pem, TW_CERT_PEM_MAX);
    return store_exec(st, s, err);
}

int
tw_store_put_result(struct tw_store *st, int64_t scan_id, const struct tw_result *r, char *err)
{
    sqlite3_stmt *s = st->result_insert;
    char issues[1024];
    char now[21];
    size_t n_chain = r->n_chain < TW_CHAIN_MAX ? r->n_chain : TW_CHAIN_MAX;
    const char *leaf = NULL;
    int64_t result_id;

    if (r->chain == NULL)
        n_chain = 0;
    if (n_chain > 0 && store_valid_sha256(r->chain[0].sha256))
        leaf = r->chain[0].sha256;
    tw_issues_format(r->issues, issues, sizeof(issues));
    tw_time_iso((int64_t)time(NULL), now);

    sqlite3_bind_int64(s, 1, scan_id);
    bind_text(s, 2, r->target, TW_DETAIL_MAX);
    bind_text(s, 3, r->host, sizeof(r->host));
    bind_text(s, 4, r->ip, sizeof(r->ip));
    sqlite3_bind_int(s, 5, (int)r->port);
    if (r->has_sni)
        bind_text(s, 6, r->sni, sizeof(r->sni));
    else
        sqlite3_bind_null(s, 6);
    bind_text(s, 7, tw_class_name(r->cls), 64);
    bind_text(s, 8, issues, sizeof(issues));
    bind_text_or_null(s, 9, r->tls_version, sizeof(r->tls_version));
    bind_text_or_null(s, 10, r->cipher, sizeof(r->cipher));
    bind_text_or_null(s, 11, r->grade, sizeof(r->grade));
    bind_text(s, 12, leaf, 65);
    bind_text(s, 13, r->detail, TW_DETAIL_MAX);
    sqlite3_bind_int64(s, 14, r->elapsed_ms);
    bind_text(s, 15, now, sizeof(now));
    if (store_exec(st, s, err) < 0)
        return -1;
    if (sqlite3_changes(st->db) == 0)
        return 0; /* this endpoint is already stored for this scan */
    result_id = (int64_t)sqlite3_last_insert_rowid(st->db);

    for (size_t i = 0; i < n_chain; i++) {
        const struct tw_cert *c = &r->chain[i];

        if (!store_valid_sha256(c->sha256))
            continue;
        if (store_put_cert(st, c, err) < 0)
            return -1;
        sqlite3_bind_int64(st->chain_insert, 1, result_id);
        sqlite3_bind_int(st->chain_insert, 2, (int)i);
        bind_text(st->chain_insert, 3, c->sha256, sizeof(c->sha256));
        if (store_exec(st, st->chain_insert, err) < 0)
            return -1;
    }
    return 0;
}

int
tw_store_each_endpoint(struct tw_store *st, int64_t scan_id, tw_store_endpoint_cb *cb, void *arg,
                       char *err)
{
    sqlite3_stmt *s = st->endpoints;
    int rc;
    int ret = 0;

    sqlite3_bind_int64(s, 1, scan_id);
    for (;;) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            sqlite3_reset(s);
            store_err(st, err);
            ret = -1;
            break;
        }
        const char *host = (const char *)sqlite3_column_text(s, 0);
        int port = sqlite3_column_int(s, 1);
        int has_sni = sqlite3_column_type(s, 2) != SQLITE_NULL;
        const char *sni = has_sni ? (const char *)sqlite3_column_text(s, 2) : "";

        ret = cb(arg, host ? host : "", port, has_sni, sni ? sni : "");
        if (ret != 0)
            break;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}
