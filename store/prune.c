/*
 * prune.c - delete old scans, then orphaned certificates, then reclaim space
 * (see prune.h for the rules).
 *
 * The selected scan ids go into a TEMP table first (one statement with a
 * window function numbers the candidates), so that every later step, the
 * dry run's counts and the real deletes, agrees on one set.  Rows that
 * refer to results or scans from tables other than result_chain are found
 * at run time with pragma_foreign_key_list; their names come from the
 * database file, so they are quoted with %w, never spliced raw.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/model.h"
#include "store/prune.h"
#include "store/store.h"
#include "store/store_int.h"

enum prune_target { PRUNE_TO_RESULTS, PRUNE_TO_SCANS, PRUNE_TO_CERTS };

/* Another table's foreign key column that points at results, scans or certs. */
struct prune_ref {
    char *table;
    char *column;
    enum prune_target target;
};

struct prune_ctx {
    struct tw_store *st;
    sqlite3 *db;
    const char *path;
    struct prune_ref *refs;
    size_t n_refs, cap_refs;
};

/* The caller's callback for prune_announce_row. */
struct prune_announce {
    tw_prune_scan_cb *cb;
    void *arg;
};

/* The ids of the selected scans, for the deletes. */
struct prune_ids {
    int64_t *v;
    size_t n, cap;
};

static int64_t
prune_file_bytes(const char *path)
{
    struct stat sb;
    char *wal;
    int64_t total = 0;

    if (stat(path, &sb) == 0)
        total += (int64_t)sb.st_size;
    wal = sqlite3_mprintf("%s-wal", path);
    if (wal != NULL && stat(wal, &sb) == 0)
        total += (int64_t)sb.st_size;
    sqlite3_free(wal);
    return total;
}

static int
prune_sqlfail(struct prune_ctx *c, char *err)
{
    tw_errf(err, "%s: %s", c->path, sqlite3_errmsg(c->db));
    return -1;
}

/* Run sql (no result rows) with ?1 = *param when param is not NULL; *changes
 * grows by the rows it changed when changes is not NULL. */
static int
prune_exec(struct prune_ctx *c, const char *sql, const int64_t *param, uint64_t *changes, char *err)
{
    if (tw_store_run_sql(c->db, c->path, sql, param, NULL, NULL, err) < 0)
        return -1;
    if (changes != NULL)
        *changes += (uint64_t)sqlite3_changes(c->db);
    return 0;
}

/* One integer from a query without parameters. */
static int
prune_count(struct prune_ctx *c, const char *sql, uint64_t *out, char *err)
{
    int64_t value = 0;

    if (tw_store_run_sql(c->db, c->path, sql, NULL, tw_store_row_int, &value, err) < 0)
        return -1;
    *out = (uint64_t)value;
    return 0;
}

/* One row of prune_find_refs' query: keep it when it points at the key of
 * results, scans or certs. */
static void
prune_add_ref(void *arg, sqlite3_stmt *s)
{
    struct prune_ctx *c = arg;
    const char *table = (const char *)sqlite3_column_text(s, 0);
    const char *column = (const char *)sqlite3_column_text(s, 1);
    const char *target = (const char *)sqlite3_column_text(s, 2);
    const char *to = (const char *)sqlite3_column_text(s, 3);
    enum prune_target t;

    if (table == NULL || column == NULL || target == NULL)
        return;
    if (strcmp(target, "certs") == 0) {
        if (to != NULL && sqlite3_stricmp(to, "sha256") != 0)
            return;
        t = PRUNE_TO_CERTS;
    } else {
        if (to != NULL && sqlite3_stricmp(to, "id") != 0)
            return;
        t = strcmp(target, "results") == 0 ? PRUNE_TO_RESULTS : PRUNE_TO_SCANS;
    }
    if (c->n_refs == c->cap_refs) {
        c->cap_refs = c->cap_refs ? c->cap_refs * 2 : 4;
        c->refs = tw_xrealloc(c->refs, c->cap_refs * sizeof(*c->refs));
    }
    c->refs[c->n_refs].table = tw_xstrdup(table);
    c->refs[c->n_refs].column = tw_xstrdup(column);
    c->refs[c->n_refs].target = t;
    c->n_refs++;
    tw_debug("store", "prune: %s.%s refers to %s", table, column, target);
}

/* Foreign keys of other tables that point at results, scans or certs. */
static int
prune_find_refs(struct prune_ctx *c, char *err)
{
    return tw_store_run_sql(c->db, c->path,
                            "SELECT m.name, f.\"from\", lower(f.\"table\"), f.\"to\""
                            " FROM main.sqlite_master AS m, pragma_foreign_key_list(m.name) AS f"
                            " WHERE m.type = 'table'"
                            " AND m.name NOT IN ('results', 'result_chain', 'scans', 'certs')"
                            " AND lower(f.\"table\") IN ('results', 'scans', 'certs')",
                            NULL, prune_add_ref, c, err);
}

/* Fill temp.tw_prune_doomed with the ids of the selected scans. */
static int
prune_select(struct prune_ctx *c, const struct tw_prune_opts *o, char *err)
{
    sqlite3_stmt *s = NULL;
    char now[21];
    int rc = -1;

    tw_time_iso((int64_t)o->now, now);
    if (prune_exec(c, "DELETE FROM temp.tw_prune_doomed", NULL, NULL, err) < 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO temp.tw_prune_doomed(id)"
                           " SELECT id FROM (SELECT id, started_at, row_number() OVER"
                           "   (ORDER BY started_at DESC, id DESC) AS rn"
                           "   FROM main.scans WHERE status <> 'running')"
                           " WHERE (?1 < 0 OR rn > ?1)"
                           " AND (?2 < 0 OR julianday(started_at) < julianday(?3) - ?2)",
                           -1, &s, NULL) != SQLITE_OK) {
        prune_sqlfail(c, err);
        goto out;
    }
    sqlite3_bind_int64(s, 1, o->keep);
    sqlite3_bind_int64(s, 2, o->older_than);
    sqlite3_bind_text(s, 3, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        prune_sqlfail(c, err);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    return rc;
}

/* One selected scan's row, handed to the caller's callback. */
static void
prune_announce_row(void *arg, sqlite3_stmt *s)
{
    const struct prune_announce *a = arg;

    a->cb(a->arg, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
          (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
          sqlite3_column_int64(s, 4));
}

/* Tell the caller about each selected scan, oldest first. */
static int
prune_announce(struct prune_ctx *c, tw_prune_scan_cb *cb, void *arg, char *err)
{
    struct prune_announce a = {cb, arg};

    if (cb == NULL)
        return 0;
    return tw_store_run_sql(c->db, c->path,
                            "SELECT s.id, s.label, s.started_at, s.status,"
                            " (SELECT count(*) FROM main.results AS r WHERE r.scan_id = s.id)"
                            " FROM main.scans AS s JOIN temp.tw_prune_doomed AS d ON d.id = s.id"
                            " ORDER BY s.started_at, s.id",
                            NULL, prune_announce_row, &a, err);
}

/* One selected scan id, appended to the list the deletes walk. */
static void
prune_add_id(void *arg, sqlite3_stmt *s)
{
    struct prune_ids *ids = arg;

    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 16;
        ids->v = tw_xrealloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = sqlite3_column_int64(s, 0);
}

/*
 * head, a statement over orphaned certificates (main.certs AS c), followed
 * by " AND NOT EXISTS (...)" for every other table that refers to certs, so
 * that a certificate they still use is kept.  Returned from sqlite3_mprintf.
 */
static char *
prune_certs_sql(const struct prune_ctx *c, const char *head)
{
    char *sql = sqlite3_mprintf("%s", head);

    for (size_t i = 0; sql != NULL && i < c->n_refs; i++) {
        char *next;

        if (c->refs[i].target != PRUNE_TO_CERTS)
            continue;
        next = sqlite3_mprintf("%s AND NOT EXISTS (SELECT 1 FROM main.\"%w\" AS o"
                               " WHERE o.\"%w\" = c.sha256)",
                               sql, c->refs[i].table, c->refs[i].column);
        sqlite3_free(sql);
        sql = next;
    }
    if (sql == NULL)
        tw_fatalx("out of memory");
    return sql;
}

/* Dry run: count what the real run would remove; writes nothing. */
static int
prune_count_all(struct prune_ctx *c, struct tw_prune_stats *stats, char *err)
{
    char *sql = NULL;
    uint64_t n;
    int rc = -1;

    if (prune_count(c, "SELECT count(*) FROM temp.tw_prune_doomed", &stats->scans, err) < 0 ||
        prune_count(c,
                    "SELECT count(*) FROM main.results"
                    " WHERE scan_id IN (SELECT id FROM temp.tw_prune_doomed)",
                    &stats->results, err) < 0 ||
        prune_count(c,
                    "SELECT count(*) FROM main.result_chain AS rc JOIN main.results AS r"
                    " ON r.id = rc.result_id"
                    " WHERE r.scan_id IN (SELECT id FROM temp.tw_prune_doomed)",
                    &stats->chain_rows, err) < 0)
        goto out;
    for (size_t i = 0; i < c->n_refs; i++) {
        if (c->refs[i].target == PRUNE_TO_CERTS)
            continue;
        sql = sqlite3_mprintf(c->refs[i].target == PRUNE_TO_SCANS
                                  ? "SELECT count(*) FROM main.\"%w\" WHERE \"%w\" IN"
                                    " (SELECT id FROM temp.tw_prune_doomed)"
                                  : "SELECT count(*) FROM main.\"%w\" WHERE \"%w\" IN"
                                    " (SELECT id FROM main.results WHERE scan_id IN"
                                    "  (SELECT id FROM temp.tw_prune_doomed))",
                              c->refs[i].table, c->refs[i].column);
        if (sql == NULL)
            tw_fatalx("out of memory");
        n = 0;
        if (prune_count(c, sql, &n, err) < 0)
            goto out;
        stats->other_rows += n;
        sqlite3_free(sql);
        sql = NULL;
    }
    sql = prune_certs_sql(
        c, "SELECT count(*) FROM main.certs AS c WHERE NOT EXISTS"
           " (SELECT 1 FROM main.result_chain AS rc JOIN main.results AS r ON r.id = rc.result_id"
           "  WHERE rc.cert_sha256 = c.sha256"
           "  AND r.scan_id NOT IN (SELECT id FROM temp.tw_prune_doomed))"
           " AND NOT EXISTS (SELECT 1 FROM main.results AS r WHERE r.cert_sha256 = c.sha256"
           "  AND r.scan_id NOT IN (SELECT id FROM temp.tw_prune_doomed))");
    if (prune_count(c, sql, &stats->certs, err) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_free(sql);
    return rc;
}

/* Delete the rows of other tables that point at the current chunk's
 * results (target PRUNE_TO_RESULTS) or at scan id (PRUNE_TO_SCANS). */
static int
prune_delete_refs(struct prune_ctx *c, enum prune_target target, int64_t scan_id,
                  struct tw_prune_stats *stats, char *err)
{
    for (size_t i = 0; i < c->n_refs; i++) {
        char *sql;
        int rc;

        if (c->refs[i].target != target)
            continue;
        sql = sqlite3_mprintf(target == PRUNE_TO_SCANS ? "DELETE FROM main.\"%w\" WHERE \"%w\" = ?1"
                                                       : "DELETE FROM main.\"%w\" WHERE \"%w\" IN"
                                                         " (SELECT id FROM temp.tw_prune_chunk)",
                              c->refs[i].table, c->refs[i].column);
        if (sql == NULL)
            tw_fatalx("out of memory");
        rc =
            prune_exec(c, sql, target == PRUNE_TO_SCANS ? &scan_id : NULL, &stats->other_rows, err);
        sqlite3_free(sql);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Delete one scan: results in transactions of `batch`, the scans row last. */
static int
prune_delete_scan(struct prune_ctx *c, int64_t scan_id, int64_t batch, struct tw_prune_stats *stats,
                  char *err)
{
    sqlite3_stmt *fill = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO temp.tw_prune_chunk(id) SELECT id FROM main.results"
                           " WHERE scan_id = ?1 LIMIT ?2",
                           -1, &fill, NULL) != SQLITE_OK)
        return prune_sqlfail(c, err);
    for (;;) {
        uint64_t got = 0;

        if (tw_store_begin(c->st, err) < 0)
            goto out;
        if (prune_exec(c, "DELETE FROM temp.tw_prune_chunk", NULL, NULL, err) < 0)
            goto rollback;
        sqlite3_bind_int64(fill, 1, scan_id);
        sqlite3_bind_int64(fill, 2, batch);
        if (sqlite3_step(fill) != SQLITE_DONE) {
            prune_sqlfail(c, err);
            goto rollback;
        }
        got = (uint64_t)sqlite3_changes(c->db);
        sqlite3_reset(fill);
        if (got == 0) {
            /* Last transaction: what refers to the scan itself, then the scan. */
            if (prune_delete_refs(c, PRUNE_TO_SCANS, scan_id, stats, err) < 0 ||
                prune_exec(c, "DELETE FROM main.scans WHERE id = ?1 AND status <> 'running'",
                           &scan_id, &stats->scans, err) < 0)
                goto rollback;
        } else if (prune_exec(c,
                              "DELETE FROM main.result_chain WHERE result_id IN"
                              " (SELECT id FROM temp.tw_prune_chunk)",
                              NULL, &stats->chain_rows, err) < 0 ||
                   prune_delete_refs(c, PRUNE_TO_RESULTS, 0, stats, err) < 0 ||
                   prune_exec(c,
                              "DELETE FROM main.results WHERE id IN"
                              " (SELECT id FROM temp.tw_prune_chunk)",
                              NULL, &stats->results, err) < 0) {
            goto rollback;
        }
        if (tw_store_commit(c->st, err) < 0)
            goto rollback;
        if (got == 0)
            break;
    }
    rc = 0;
    goto out;
rollback:
    tw_store_rollback(c->st);
out:
    sqlite3_finalize(fill);
    return rc;
}

/* Delete every certificate nothing refers to any more. */
static int
prune_delete_certs(struct prune_ctx *c, struct tw_prune_stats *stats, char *err)
{
    char *sql = prune_certs_sql(
        c, "DELETE FROM main.certs AS c WHERE NOT EXISTS"
           " (SELECT 1 FROM main.result_chain AS rc WHERE rc.cert_sha256 = c.sha256)"
           " AND NOT EXISTS"
           " (SELECT 1 FROM main.results AS r WHERE r.cert_sha256 = c.sha256)");
    int rc = -1;

    if (tw_store_begin(c->st, err) < 0)
        goto out;
    if (prune_exec(c, sql, NULL, &stats->certs, err) < 0 || tw_store_commit(c->st, err) < 0) {
        tw_store_rollback(c->st);
        goto out;
    }
    rc = 0;
out:
    sqlite3_free(sql);
    return rc;
}

static void
prune_ctx_cleanup(struct prune_ctx *c)
{
    for (size_t i = 0; i < c->n_refs; i++) {
        free(c->refs[i].table);
        free(c->refs[i].column);
    }
    free(c->refs);
    tw_store_close(c->st);
}

int
tw_prune_run(const char *path, const struct tw_prune_opts *opts, tw_prune_scan_cb *cb, void *arg,
             struct tw_prune_stats *stats, char *err)
{
    struct prune_ctx c = {0};
    struct prune_ids doomed = {0};
    int64_t batch = opts->batch > 0 ? opts->batch : TW_PRUNE_BATCH_DEFAULT;
    uint64_t running = 0;
    int rc = -1;

    memset(stats, 0, sizeof(*stats));
    if (opts->keep < 0 && opts->older_than < 0) {
        tw_errf(err, "prune: give --keep N or --older-than DAYS");
        return -1;
    }
    if (access(path, F_OK) != 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    stats->bytes_before = prune_file_bytes(path);
    if (tw_store_open(path, 0, &c.st, err) < 0)
        goto out;
    c.db = tw_store_db(c.st);
    c.path = tw_store_path(c.st);
    if (prune_find_refs(&c, err) < 0)
        goto out;
    if (prune_count(&c, "SELECT count(*) FROM main.scans WHERE status = 'running'", &running, err) <
        0)
        goto out;
    stats->running = (int)(running > 1000000 ? 1000000 : running);

    /* Outside the snapshot below, so that they outlive its rollback. */
    if (prune_exec(&c, "CREATE TEMP TABLE tw_prune_doomed(id INTEGER PRIMARY KEY)", NULL, NULL,
                   err) < 0 ||
        prune_exec(&c, "CREATE TEMP TABLE tw_prune_chunk(id INTEGER PRIMARY KEY)", NULL, NULL,
                   err) < 0)
        goto out;
    /* The selection and the announcement read one snapshot. */
    if (prune_exec(&c, "BEGIN", NULL, NULL, err) < 0)
        goto out;
    if (prune_select(&c, opts, err) < 0 || prune_announce(&c, cb, arg, err) < 0)
        goto rollback;
    if (opts->dry_run) {
        if (prune_count_all(&c, stats, err) < 0)
            goto rollback;
        tw_store_rollback(c.st);
        stats->bytes_after = stats->bytes_before;
        rc = 0;
        goto out;
    }
    if (tw_store_run_sql(c.db, c.path, "SELECT id FROM temp.tw_prune_doomed ORDER BY id", NULL,
                         prune_add_id, &doomed, err) < 0)
        goto rollback;
    tw_store_rollback(c.st); /* end the read snapshot; deletes use their own transactions */

    for (size_t i = 0; i < doomed.n; i++)
        if (prune_delete_scan(&c, doomed.v[i], batch, stats, err) < 0)
            goto out;
    if (prune_delete_certs(&c, stats, err) < 0)
        goto out;

    if (opts->vacuum && running == 0 &&
        stats->scans + stats->results + stats->certs + stats->other_rows > 0) {
        /* VACUUM takes the write lock for as long as it rewrites the file:
         * never while a scan may be writing (running > 0). */
        if (prune_exec(&c, "VACUUM", NULL, NULL, err) < 0)
            goto out;
        stats->vacuumed = 1;
    }
    if (sqlite3_wal_checkpoint_v2(c.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
        tw_debug("store", "prune: checkpoint: %s", sqlite3_errmsg(c.db));
    stats->bytes_after = prune_file_bytes(path);
    rc = 0;
    goto out;
rollback:
    tw_store_rollback(c.st);
out:
    free(doomed.v);
    prune_ctx_cleanup(&c);
    return rc;
}
