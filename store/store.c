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
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "tls/grade.h"
#include "tls/suites.h"
#include "store/graderec.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/store_int.h"

struct tw_store {
    sqlite3 *db;
    char *path;
    int is_read_only;
    sqlite3_stmt *scan_insert;
    sqlite3_stmt *scan_finish;
    sqlite3_stmt *scan_reopen;
    sqlite3_stmt *scan_resumable;
    sqlite3_stmt *scan_targets;
    sqlite3_stmt *scan_trust;
    sqlite3_stmt *scan_info;
    sqlite3_stmt *opt_insert;
    sqlite3_stmt *opt_select;
    sqlite3_stmt *result_insert;
    sqlite3_stmt *cert_insert;
    sqlite3_stmt *chain_insert;
    sqlite3_stmt *endpoints;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
    sqlite3_stmt *grade_insert;
    sqlite3_stmt *reason_insert;
    sqlite3_stmt *proto_insert;
    sqlite3_stmt *suite_insert;
    sqlite3_stmt *group_insert;
    sqlite3_stmt *hsts_insert;
    sqlite3_stmt *pstats_insert;
    sqlite3_stmt *certreq_insert;
    /* The current second as ISO text, for scanned_at (performance only). */
    int64_t now_t;
    char now_iso[21];
    /* Escaped subject, issuer and san while cert_insert is bound. */
    char cert_text[3][TW_CERT_FIELD_MAX];
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
                      " options, now_at, trust_store, trust_sha256)"
                      " VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8)"),
    STMT(scan_finish, "UPDATE scans SET status = ?2, finished_at = ?3,"
                      " n_endpoints = (SELECT count(*) FROM results WHERE scan_id = ?1)"
                      " WHERE id = ?1"),
    STMT(scan_reopen, "UPDATE scans SET status = 'running', finished_at = NULL WHERE id = ?1"),
    STMT(scan_resumable, "SELECT id FROM scans WHERE status IN ('interrupted', 'running')"
                         " ORDER BY id DESC LIMIT 1"),
    STMT(scan_targets, "UPDATE scans SET targets_sha256 = ?2 WHERE id = ?1"),
    STMT(scan_trust, "UPDATE scans SET trust_store = ?2, trust_sha256 = ?3 WHERE id = ?1"),
    STMT(scan_info, "SELECT status, label, targets_sha256, trust_store, trust_sha256,"
                    " (SELECT count(*) FROM results WHERE scan_id = ?1),"
                    " (SELECT count(*) FROM scan_options WHERE scan_id = ?1)"
                    " FROM scans WHERE id = ?1"),
    STMT(opt_insert, "INSERT OR REPLACE INTO scan_options(scan_id, name, seq, value)"
                     " VALUES (?1, ?2, ?3, ?4)"),
    STMT(opt_select,
         "SELECT name, seq, value FROM scan_options WHERE scan_id = ?1 ORDER BY name, seq"),
    STMT(result_insert,
         "INSERT OR IGNORE INTO results(scan_id, target, host, ip, port, sni, class, issues,"
         " tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at, starttls,"
         " queue_ms)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
    /* A certificate stored before schema step 12 gets its key hash now. */
    STMT(cert_insert, "INSERT INTO certs(sha256, subject, issuer, not_before,"
                      " not_after, key_type, key_bits, sig_alg, san, pem, spki_sha256)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                      " ON CONFLICT(sha256) DO UPDATE SET spki_sha256 = excluded.spki_sha256"
                      " WHERE spki_sha256 IS NULL AND excluded.spki_sha256 IS NOT NULL"),
    STMT(chain_insert,
         "INSERT OR IGNORE INTO result_chain(result_id, depth, cert_sha256) VALUES (?1, ?2, ?3)"),
    /* Every endpoint with its STARTTLS protocol (NULL: direct TLS), so that
     * --resume skips smtp://h:25 and h:25 each only when it is stored. */
    STMT(endpoints, "SELECT host, port, sni, starttls FROM results WHERE scan_id = ?1"),
    STMT(begin, "BEGIN IMMEDIATE"),
    STMT(commit, "COMMIT"),
    STMT(rollback, "ROLLBACK"),
    STMT(grade_insert, "INSERT OR REPLACE INTO grades(result_id, grade, grade_trust_ignored,"
                       " score_protocol, score_kx, score_cipher, score, has_warnings, criteria,"
                       " mode, reasons, secure_reneg, compression)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
    STMT(reason_insert,
         "INSERT INTO grade_reasons(result_id, code, text, cap) VALUES (?1, ?2, ?3, ?4)"),
    STMT(proto_insert, "INSERT OR REPLACE INTO protocols(result_id, protocol, accepted,"
                       " server_preference) VALUES (?1, ?2, ?3, ?4)"),
    STMT(suite_insert, "INSERT INTO suites(result_id, protocol, code, name, bits, kx, is_cbc,"
                       " is_aead, is_fs, pref_order)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
    STMT(group_insert,
         "INSERT INTO groups(result_id, group_id, name, bits) VALUES (?1, ?2, ?3, ?4)"),
    STMT(hsts_insert, "INSERT OR REPLACE INTO hsts(result_id, status, header, max_age,"
                      " include_subdomains, preload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
    STMT(pstats_insert, "INSERT OR REPLACE INTO probe_stats(result_id, connections,"
                        " grading_connections) VALUES (?1, ?2, ?3)"),
    STMT(certreq_insert, "INSERT OR REPLACE INTO cert_requests(result_id, required, n_ca_names,"
                         " ca_names) VALUES (?1, ?2, ?3, ?4)"),
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

int
tw_store_run_sql(sqlite3 *db, const char *where, const char *sql, const int64_t *param,
                 tw_store_row_cb *cb, void *arg, char *err)
{
    sqlite3_stmt *s = NULL;
    int step;
    int rc = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        goto fail;
    if (param != NULL)
        sqlite3_bind_int64(s, 1, *param);
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        if (cb != NULL)
            cb(arg, s);
    if (step != SQLITE_DONE)
        goto fail;
    rc = 0;
    goto out;
fail:
    /* A failed step of a v2 statement has already handed its error to db. */
    tw_errf(err, "%s: %s", where, sqlite3_errmsg(db));
out:
    sqlite3_finalize(s);
    return rc;
}

void
tw_store_row_int(void *arg, sqlite3_stmt *row)
{
    *(int64_t *)arg = sqlite3_column_int64(row, 0);
}

/* A read-only open must not migrate, but it must still refuse databases it
 * cannot read: not tlsweep's, or written by a newer tlsweep. */
static int
store_check_version(struct tw_store *st, char *err)
{
    int64_t version = 0;

    if (tw_store_run_sql(st->db, st->path, "PRAGMA user_version", NULL, tw_store_row_int, &version,
                         err) < 0)
        return -1;
    if (version == 0) {
        tw_errf(err, "%s: not a tlsweep database (no schema)", st->path);
        return -1;
    }
    if (version > TW_SCHEMA_VERSION) {
        tw_errf(err,
                "%s: database schema version %d is newer than this tlsweep (%d): upgrade "
                "tlsweep",
                st->path, (int)version, TW_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* SQLite counts every allocation under a global mutex unless told not to;
 * nothing here reads those statistics, and the writer allocates per row.
 * Must run before SQLite initializes (a later call is refused, harmlessly). */
static void
store_sqlite_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* An open-time failure, with the operating system's cause when SQLite has
 * one (a read-only file system, a full disk, permissions). */
static int
store_write_errno(const char *path)
{
    char dir[4096];

    /* A database needs its file and its directory writable (WAL and -shm
     * files live beside it): ask the file system directly, since SQLite's
     * own last errno is often from a probe of a file that does not exist. */
    if (access(path, W_OK) != 0 && errno != ENOENT)
        return errno;
    tw_strlcpy(dir, path, sizeof(dir));
    if (access(dirname(dir), W_OK) != 0)
        return errno;
    return 0;
}

static void
store_open_error(struct tw_store *st, const char *path, const char *what, char *err)
{
    int sys = st->is_read_only ? 0 : store_write_errno(path);

    if (sys == 0)
        sys = sqlite3_system_errno(st->db);

    if (sys != 0 && strstr(what, strerror(sys)) == NULL)
        tw_errf(err, "%s: %s (%s)", path, what, strerror(sys));
    else
        tw_errf(err, "%s: %s", path, what);
}

int
tw_store_open(const char *path, int flags, struct tw_store **out, char *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    struct tw_store *st = NULL;
    char sub[TW_ERRLEN];
    int oflags;
    int rc = -1;

    *out = NULL;
    pthread_once(&once, store_sqlite_config);
    st = tw_xcalloc(1, sizeof(*st));
    st->path = tw_xstrdup(path);
    st->is_read_only = (flags & TW_STORE_READONLY) != 0;
    /* One thread uses a connection at a time: SQLite's mutexes are waste. */
    oflags = SQLITE_OPEN_NOMUTEX |
             (st->is_read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        int sys = st->is_read_only ? 0 : store_write_errno(path);

        if (sys == 0 && st->db != NULL)
            sys = sqlite3_system_errno(st->db);

        if (sys != 0)
            tw_errf(err, "cannot open %s: %s (%s)", path,
                    st->db ? sqlite3_errmsg(st->db) : "out of memory", strerror(sys));
        else
            tw_errf(err, "cannot open %s: %s", path,
                    st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 1);
    /* Before anything touches the file: a reader that opens a database being
     * created must make this connection wait, not fail. */
    sqlite3_busy_timeout(st->db, 10000);
    if (tw_schema_pragmas(st->db, st->is_read_only, sub) < 0) {
        store_open_error(st, path, sub, err);
        goto out;
    }
    if (st->is_read_only) {
        if (store_check_version(st, err) < 0)
            goto out;
    } else if (tw_schema_migrate(st->db, sub) < 0) {
        store_open_error(st, path, sub, err);
        goto out;
    }
    if (tw_schema_functions(st->db, sub) < 0) {
        store_open_error(st, path, sub, err);
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
tw_store_scan_insert(struct tw_store *st, const struct tw_scan_meta *meta, const char *started_at,
                     int64_t *scan_id, char *err)
{
    sqlite3_stmt *s = st->scan_insert;

    bind_text(s, 1, meta ? meta->label : NULL, TW_CERT_FIELD_MAX);
    /* Not cut short: merge finds its earlier result by this exact text. */
    bind_text(s, 2, started_at, INT_MAX);
    bind_text(s, 3, meta ? meta->shard : NULL, 64);
    bind_text(s, 4, meta ? meta->targets_sha256 : NULL, 128);
    bind_text(s, 5, meta ? meta->options : NULL, TW_DETAIL_MAX);
    bind_text(s, 6, meta ? meta->now_at : NULL, 64);
    bind_text(s, 7, meta ? meta->trust_store : NULL, TW_DETAIL_MAX);
    bind_text(s, 8, meta ? meta->trust_sha256 : NULL, 64);
    if (store_exec(st, s, err) < 0)
        return -1;
    *scan_id = (int64_t)sqlite3_last_insert_rowid(st->db);
    return 0;
}

int
tw_store_scan_begin(struct tw_store *st, const struct tw_scan_meta *meta, int64_t *scan_id,
                    char *err)
{
    char now[21];

    tw_time_iso((int64_t)time(NULL), now);
    return tw_store_scan_insert(st, meta, now, scan_id, err);
}

/* After an UPDATE of the scans row scan_id: 0 when it changed that one row,
 * else -1 with "no scan N". */
static int
store_check_scan_changed(struct tw_store *st, int64_t scan_id, char *err)
{
    if (sqlite3_changes(st->db) == 1)
        return 0;
    tw_errf(err, "%s: no scan %lld", st->path, (long long)scan_id);
    return -1;
}

int
tw_store_scan_end(struct tw_store *st, int64_t scan_id, const char *status, const char *finished_at,
                  char *err)
{
    sqlite3_stmt *s = st->scan_finish;

    /* Every result is written now: judge DROWN across them (drown.c). */
    if (tw_store_drown(st->db, st->path, scan_id, err) < 0)
        return -1;
    sqlite3_bind_int64(s, 1, scan_id);
    bind_text(s, 2, status, 16);
    /* Not cut short: merge copies an input's end time as that file stored it
     * (SQLite text is never longer than INT_MAX bytes). */
    bind_text(s, 3, finished_at, INT_MAX);
    return store_exec(st, s, err);
}

/*
 * Copy the whole WAL into the database and truncate the -wal file to 0
 * bytes, so that a reader on read-only media needs no -wal (issue 15).  The
 * caller has stopped the writer, so this connection has no transaction open.
 * A reader of another process may hold the WAL past busy_timeout: the scan is
 * stored all the same (the next writer checkpoints), so that is a warning,
 * not an error.
 */
static void
store_checkpoint_truncate(struct tw_store *st)
{
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

    if (rc != SQLITE_OK)
        tw_warnx("store", "%s: WAL checkpoint not completed: %s", st->path, sqlite3_errmsg(st->db));
}

int
tw_store_scan_finish(struct tw_store *st, int64_t scan_id, const char *status, char *err)
{
    char now[21];

    if (status == NULL || (strcmp(status, "done") != 0 && strcmp(status, "interrupted") != 0)) {
        tw_errf(err, "%s: a scan finishes 'done' or 'interrupted', not '%s'", st->path,
                status ? status : "(null)");
        return -1;
    }
    tw_time_iso((int64_t)time(NULL), now);
    if (tw_store_scan_end(st, scan_id, status, now, err) < 0 ||
        store_check_scan_changed(st, scan_id, err) < 0)
        return -1;
    store_checkpoint_truncate(st);
    return 0;
}

int
tw_store_scan_set_targets(struct tw_store *st, int64_t scan_id, const char *targets_sha256,
                          char *err)
{
    sqlite3_bind_int64(st->scan_targets, 1, scan_id);
    bind_text(st->scan_targets, 2, targets_sha256, 64);
    return store_exec(st, st->scan_targets, err);
}

int
tw_store_scan_set_trust(struct tw_store *st, int64_t scan_id, const char *trust_store,
                        const char *trust_sha256, char *err)
{
    sqlite3_bind_int64(st->scan_trust, 1, scan_id);
    bind_text(st->scan_trust, 2, trust_store, TW_DETAIL_MAX);
    bind_text(st->scan_trust, 3, trust_sha256, 64);
    if (store_exec(st, st->scan_trust, err) < 0)
        return -1;
    return store_check_scan_changed(st, scan_id, err);
}

/* A malloc'd copy of a text column, or NULL for SQL NULL. */
static char *
store_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);

    return v != NULL ? tw_xstrdup((const char *)v) : NULL;
}

int
tw_store_scan_get(struct tw_store *st, int64_t scan_id, struct tw_store_scan_row *out, char *err)
{
    sqlite3_stmt *s = st->scan_info;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(s, 1, scan_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->status = store_col_dup(s, 0);
        out->label = store_col_dup(s, 1);
        out->targets_sha256 = store_col_dup(s, 2);
        out->trust_store = store_col_dup(s, 3);
        out->trust_sha256 = store_col_dup(s, 4);
        out->n_results = sqlite3_column_int64(s, 5);
        out->n_options = sqlite3_column_int64(s, 6);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = 1;
    } else {
        sqlite3_reset(s);
        store_err(st, err);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

void
tw_store_scan_row_cleanup(struct tw_store_scan_row *info)
{
    free(info->status);
    free(info->label);
    free(info->targets_sha256);
    free(info->trust_store);
    free(info->trust_sha256);
    memset(info, 0, sizeof(*info));
}

int
tw_store_scan_option_put(struct tw_store *st, int64_t scan_id, const char *name, int seq,
                         const char *value, char *err)
{
    sqlite3_stmt *s = st->opt_insert;

    sqlite3_bind_int64(s, 1, scan_id);
    bind_text(s, 2, name, 64);
    sqlite3_bind_int(s, 3, seq);
    bind_text(s, 4, value != NULL ? value : "", TW_DETAIL_MAX);
    return store_exec(st, s, err);
}

int
tw_store_scan_options_each(struct tw_store *st, int64_t scan_id, tw_store_option_cb *cb, void *arg,
                           char *err)
{
    sqlite3_stmt *s = st->opt_select;
    int rc, ret = 0;

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
        const char *name = (const char *)sqlite3_column_text(s, 0);
        const char *value = (const char *)sqlite3_column_text(s, 2);

        ret = cb(arg, name ? name : "", sqlite3_column_int(s, 1), value ? value : "");
        if (ret != 0)
            break;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

int
tw_store_scan_reopen(struct tw_store *st, int64_t scan_id, char *err)
{
    sqlite3_bind_int64(st->scan_reopen, 1, scan_id);
    if (store_exec(st, st->scan_reopen, err) < 0)
        return -1;
    return store_check_scan_changed(st, scan_id, err);
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

/*
 * Bind a certificate's display text (subject, issuer, san) with every
 * control byte (0x00-0x1f, 0x7f) and the backslash written as "\xNN", so a
 * user's own sqlite3 query cannot drive a terminal and the encoding stays
 * unambiguous (a stored "\x1b" is always an escaped ESC; a backslash is
 * "\x5c").  The stored text keeps the field's bound of TW_CERT_FIELD_MAX - 1
 * bytes: when escaping makes it longer it is cut at a whole character and
 * ends in "...".  buf is the caller's scratch space of TW_CERT_FIELD_MAX
 * bytes, which must outlive the statement's step (SQLITE_STATIC).
 */
static int
bind_display_text(sqlite3_stmt *s, int i, const char *text, char buf[TW_CERT_FIELD_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t n, o = 0, cut = 0;

    if (text == NULL)
        return sqlite3_bind_null(s, i);
    n = strnlen(text, TW_CERT_FIELD_MAX);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)text[k];
        int esc = c < 0x20 || c == 0x7f || c == '\\';

        /* Room for "..." after this character must stay while cutting. */
        if (o + (esc ? 4 : 1) > TW_CERT_FIELD_MAX - 4)
            cut = cut ? cut : o;
        if (o + (esc ? 4 : 1) > TW_CERT_FIELD_MAX - 1) {
            memcpy(buf + cut, "...", 3);
            o = cut + 3;
            break;
        }
        if (esc) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 0xf];
        } else {
            buf[o++] = (char)c;
        }
    }
    return sqlite3_bind_text(s, i, buf, (int)o, SQLITE_STATIC);
}

static int
store_put_cert(struct tw_store *st, const struct tw_cert *c, char *err)
{
    sqlite3_stmt *s = st->cert_insert;

    bind_text(s, 1, c->sha256, sizeof(c->sha256));
    bind_display_text(s, 2, c->subject, st->cert_text[0]);
    bind_display_text(s, 3, c->issuer, st->cert_text[1]);
    bind_text_or_null(s, 4, c->not_before, sizeof(c->not_before));
    bind_text_or_null(s, 5, c->not_after, sizeof(c->not_after));
    bind_text_or_null(s, 6, c->key_type, sizeof(c->key_type));
    if (c->key_bits > 0)
        sqlite3_bind_int(s, 7, c->key_bits);
    else
        sqlite3_bind_null(s, 7);
    bind_text_or_null(s, 8, c->sig_alg, sizeof(c->sig_alg));
    bind_display_text(s, 9, c->san, st->cert_text[2]);
    /* The PEM keeps the certificate's own bytes (base64 text). */
    bind_text(s, 10, c->pem, TW_CERT_PEM_MAX);
    bind_text_or_null(s, 11, c->spki_sha256, sizeof(c->spki_sha256));
    return store_exec(st, s, err);
}

/* ---- grading evidence (schema step 3) ---- */

static const char *
store_hsts_name(enum tw_grec_hsts h)
{
    switch (h) {
    case TW_GREC_HSTS_NOT_HTTP:
        return "not_http";
    case TW_GREC_HSTS_ABSENT:
        return "absent";
    case TW_GREC_HSTS_PRESENT:
        return "present";
    case TW_GREC_HSTS_INVALID:
        return "invalid";
    case TW_GREC_HSTS_DISABLED:
        return "disabled";
    case TW_GREC_HSTS_NOT_TESTED:
        break;
    }
    return NULL;
}

static int
store_put_suites(struct tw_store *st, int64_t id, const struct tw_grade_record *g, char *err)
{
    sqlite3_stmt *s = st->suite_insert;
    int n = g->n_suites < TW_GREC_SUITES_MAX ? g->n_suites : TW_GREC_SUITES_MAX;

    for (int i = 0; i < n; i++) {
        const struct tw_grec_suite *su = &g->suites[i];
        const char *proto = tw_suites_version_name(su->protocol);
        const struct tw_suite *info = NULL;
        char buf[24];

        if (proto == NULL)
            continue;
        if (su->protocol != TW_VERSION_SSL2 && su->code <= 0xffff)
            info = tw_suites_find((uint16_t)su->code);
        sqlite3_bind_int64(s, 1, id);
        bind_text(s, 2, proto, 16);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)su->code);
        if (info != NULL) {
            bind_text(s, 4, info->name, 128);
            sqlite3_bind_int(s, 5, info->bits);
            bind_text(s, 6, tw_suites_kx_name(info->kx), 16);
            sqlite3_bind_int(s, 7, info->is_cbc);
            sqlite3_bind_int(s, 8, info->is_aead);
            sqlite3_bind_int(s, 9, info->is_fs);
        } else {
            snprintf(buf, sizeof(buf), "0x%06x", (unsigned)su->code);
            bind_text(s, 4, buf, sizeof(buf));
        }
        if (su->pref_order > 0)
            sqlite3_bind_int(s, 10, su->pref_order);
        if (store_exec(st, s, err) < 0)
            return -1;
    }
    return 0;
}

/* The grades row and its reasons (only for a graded result: grade NOT NULL). */
static int
store_put_verdict(struct tw_store *st, int64_t id, const struct tw_grade_record *g, char *err)
{
    sqlite3_stmt *s = st->grade_insert;
    char reasons[1024];
    size_t rl = 0;
    int nr = g->n_reasons < TW_GRADE_REASONS_MAX ? g->n_reasons : TW_GRADE_REASONS_MAX;

    reasons[0] = '\0';
    for (int i = 0; i < nr; i++) {
        const char *c = g->reasons[i].code ? g->reasons[i].code : "";
        int w = snprintf(reasons + rl, sizeof(reasons) - rl, "%s%s", rl ? "," : "", c);

        if (w < 0 || (size_t)w >= sizeof(reasons) - rl) {
            reasons[rl] = '\0';
            break;
        }
        rl += (size_t)w;
    }
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, g->grade, sizeof(g->grade));
    bind_text_or_null(s, 3, g->grade_trust_ignored, sizeof(g->grade_trust_ignored));
    sqlite3_bind_double(s, 4, g->p2 / 2.0);
    sqlite3_bind_int(s, 5, g->k);
    sqlite3_bind_double(s, 6, g->c2 / 2.0);
    sqlite3_bind_double(s, 7, g->s20 / 20.0);
    sqlite3_bind_int(s, 8, g->has_warnings ? 1 : 0);
    bind_text(s, 9, "2009r", 8);
    bind_text(s, 10, g->is_simulation ? "simulation" : "strict", 11);
    bind_text(s, 11, reasons, sizeof(reasons));
    if (g->secure_reneg >= 0)
        sqlite3_bind_int(s, 12, g->secure_reneg ? 1 : 0);
    sqlite3_bind_int(s, 13, g->compression ? 1 : 0);
    if (store_exec(st, s, err) < 0)
        return -1;

    for (int i = 0; i < nr; i++) {
        s = st->reason_insert;
        sqlite3_bind_int64(s, 1, id);
        bind_text(s, 2, g->reasons[i].code ? g->reasons[i].code : "", 64);
        bind_text(s, 3, g->reasons[i].text, 512);
        bind_text(s, 4, g->reasons[i].cap, sizeof(g->reasons[i].cap));
        if (store_exec(st, s, err) < 0)
            return -1;
    }
    return 0;
}

static int
store_put_grading(struct tw_store *st, int64_t id, const struct tw_grade_record *g, char *err)
{
    sqlite3_stmt *s;

    /* An input that could not be graded (no protocol, no known suite) keeps
     * its evidence rows, without a grades row. */
    if (g->grade[0] != '\0' && store_put_verdict(st, id, g, err) < 0)
        return -1;
    for (int p = 0; p < TW_PROTO__COUNT; p++) {
        static const uint16_t versions[TW_PROTO__COUNT] = {
            TW_VERSION_SSL2,  TW_VERSION_SSL3,  TW_VERSION_TLS10,
            TW_VERSION_TLS11, TW_VERSION_TLS12, TW_VERSION_TLS13,
        };
        unsigned bit = TW_PROTO_BIT(p);

        if (!(g->protocols_tested & bit))
            continue;
        s = st->proto_insert;
        sqlite3_bind_int64(s, 1, id);
        bind_text(s, 2, tw_suites_version_name(versions[p]), 16);
        sqlite3_bind_int(s, 3, (g->protocols_ok & bit) ? 1 : 0);
        if (g->protocols_ok & bit)
            sqlite3_bind_int(s, 4, (g->server_preference & bit) ? 1 : 0);
        if (store_exec(st, s, err) < 0)
            return -1;
    }
    if (store_put_suites(st, id, g, err) < 0)
        return -1;
    for (int i = 0; i < g->n_groups && i < TW_GREC_GROUPS_MAX; i++) {
        const struct tw_grec_group *gr = &g->groups[i];
        char buf[24];

        s = st->group_insert;
        sqlite3_bind_int64(s, 1, id);
        if (gr->id != 0) {
            const struct tw_group *info = tw_suites_group_find(gr->id);
            const char *name = info != NULL ? info->name : NULL;

            sqlite3_bind_int(s, 2, gr->id);
            if (name == NULL) {
                snprintf(buf, sizeof(buf), "0x%04x", (unsigned)gr->id);
                name = buf;
            }
            bind_text(s, 3, name, 32);
        } else {
            snprintf(buf, sizeof(buf), "dhe%d", gr->bits);
            bind_text(s, 3, buf, sizeof(buf));
        }
        if (gr->bits > 0)
            sqlite3_bind_int(s, 4, gr->bits);
        if (store_exec(st, s, err) < 0)
            return -1;
    }
    if (store_hsts_name(g->hsts) != NULL) {
        s = st->hsts_insert;
        sqlite3_bind_int64(s, 1, id);
        bind_text(s, 2, store_hsts_name(g->hsts), 9);
        bind_text_or_null(s, 3, g->hsts_header, sizeof(g->hsts_header));
        if (g->hsts == TW_GREC_HSTS_PRESENT || g->hsts == TW_GREC_HSTS_DISABLED) {
            sqlite3_bind_int64(s, 4, g->hsts_max_age);
            sqlite3_bind_int(s, 5, g->hsts_include_subdomains ? 1 : 0);
            sqlite3_bind_int(s, 6, g->hsts_preload ? 1 : 0);
        }
        if (store_exec(st, s, err) < 0)
            return -1;
    }
    s = st->pstats_insert;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, g->connections);
    sqlite3_bind_int(s, 3, g->grading_connections);
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
    if ((int64_t)time(NULL) != st->now_t || st->now_iso[0] == '\0') {
        st->now_t = (int64_t)time(NULL);
        tw_time_iso(st->now_t, st->now_iso);
    }
    memcpy(now, st->now_iso, sizeof(now));

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
    if (r->starttls > TW_STARTTLS_NONE && r->starttls < TW_STARTTLS__COUNT)
        bind_text(s, 16, tw_starttls_name(r->starttls), 16);
    else
        sqlite3_bind_null(s, 16);
    sqlite3_bind_int64(s, 17, r->queue_ms);
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
    if (r->grading != NULL && store_put_grading(st, result_id, r->grading, err) < 0)
        return -1;
    if (r->cert_request != TW_CERT_REQUEST_NONE) {
        sqlite3_stmt *s2 = st->certreq_insert;

        sqlite3_bind_int64(s2, 1, result_id);
        sqlite3_bind_int(s2, 2, r->cert_request == TW_CERT_REQUEST_REQUIRED);
        sqlite3_bind_int(s2, 3, r->n_ca_names);
        if (r->ca_names != NULL)
            bind_text(s2, 4, r->ca_names, TW_CA_NAMES_MAX + 1);
        if (store_exec(st, s2, err) < 0)
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
        const char *stls = (const char *)sqlite3_column_text(s, 3);

        ret = cb(arg, host ? host : "", port, has_sni, sni ? sni : "", stls ? stls : "");
        if (ret != 0)
            break;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}
