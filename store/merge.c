/*
 * merge.c - fold shard databases into one scan (see merge.h).
 *
 * Two passes.  The first opens every input read-only, reads its newest scan
 * and checks that the inputs are shards of one scan; nothing is written
 * unless they are.  The second opens OUT through tw_store_open (so OUT is
 * created and migrated like any database), claims the merged scan row, then
 * copies each input under ATTACH in its own transaction.  ATTACH happens
 * after BEGIN IMMEDIATE on purpose: attached before it, the input would be
 * write-locked too, and a shard still being written would block the merge.
 *
 * Result ids are renumbered: each source row is inserted into OUT, and its
 * chain rows follow under the new id, only when the row was new (the same
 * endpoint twice keeps the first, as a scan does).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/merge.h"
#include "store/store.h"
#include "store/store_int.h"

#define MERGE_SCHEMA "tw_merge_src"

struct merge_input {
    const char *path; /* borrowed */
    int64_t scan_id;  /* its newest scan */
    char *label;      /* NULL when the column is NULL */
    char *started_at;
    char *finished_at;
    char *status;
    char *shard;
    char *targets_sha256;
    char *options;
    char *now_at;
    long k, n; /* shard K/N */
};

static char *
merge_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? tw_xstrdup((const char *)t) : NULL;
}

static void
merge_input_cleanup(struct merge_input *in)
{
    free(in->label);
    free(in->started_at);
    free(in->finished_at);
    free(in->status);
    free(in->shard);
    free(in->targets_sha256);
    free(in->options);
    free(in->now_at);
}

/* Equal, treating two NULLs as equal. */
static int
merge_same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Parse "K/N" with 1 <= K <= N <= 1000000.  Returns 0 or -1. */
static int
merge_parse_shard(const char *s, long *k, long *n)
{
    char *end;

    errno = 0;
    *k = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '/')
        return -1;
    s = end + 1;
    *n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    return *k >= 1 && *n >= 1 && *k <= *n && *n <= 1000000 ? 0 : -1;
}

/* Pass 1 for one input: open it read-only and read its newest scan. */
static int
merge_read_input(struct merge_input *in, unsigned flags, char *err)
{
    struct tw_store *st = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (tw_store_open(in->path, TW_STORE_READONLY, &st, err) < 0)
        goto out;
    if (sqlite3_prepare_v2(tw_store_db(st),
                           "SELECT id, label, started_at, finished_at, status, shard,"
                           " targets_sha256, options, now_at FROM scans ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK) {
        tw_errf(err, "%s: %s", in->path, sqlite3_errmsg(tw_store_db(st)));
        goto out;
    }
    switch (sqlite3_step(s)) {
    case SQLITE_ROW:
        break;
    case SQLITE_DONE:
        tw_errf(err, "%s: holds no scan to merge", in->path);
        goto out;
    default:
        tw_errf(err, "%s: %s", in->path, sqlite3_errmsg(tw_store_db(st)));
        goto out;
    }
    in->scan_id = sqlite3_column_int64(s, 0);
    in->label = merge_col_dup(s, 1);
    in->started_at = merge_col_dup(s, 2);
    in->finished_at = merge_col_dup(s, 3);
    in->status = merge_col_dup(s, 4);
    in->shard = merge_col_dup(s, 5);
    in->targets_sha256 = merge_col_dup(s, 6);
    in->options = merge_col_dup(s, 7);
    in->now_at = merge_col_dup(s, 8);
    if (flags & TW_MERGE_ANY) {
        /* Any scan: its shard, if it has one, is not a shard of the merge. */
        in->k = in->n = 1;
    } else if (in->shard == NULL) {
        tw_errf(err, "%s: scan %lld is not a shard (it was not scanned with --shard K/N)", in->path,
                (long long)in->scan_id);
        goto out;
    }
    if (!(flags & TW_MERGE_ANY) && merge_parse_shard(in->shard, &in->k, &in->n) < 0) {
        tw_errf(err, "%s: scan %lld has a malformed shard '%.32s'", in->path,
                (long long)in->scan_id, in->shard);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    tw_store_close(st);
    return rc;
}

/* 1 when the input's scan finished (status 'done'). */
static int
merge_is_done(const struct merge_input *in)
{
    return in->status != NULL && strcmp(in->status, "done") == 0;
}

/* 1 when the input's target fingerprint is unknown because its scan never
 * got to the end of the target list (a shard killed early): it cannot be
 * compared, and merge_gaps reports the shard as not done. */
static int
merge_fp_unknown(const struct merge_input *in)
{
    return in->targets_sha256 == NULL && !merge_is_done(in);
}

/* The input whose metadata the merged scan takes: the first one with a
 * known target fingerprint (else the first). */
static size_t
merge_reference(const struct merge_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!merge_fp_unknown(&in[i]))
            return i;
    return 0;
}

static int merge_check_disjoint(const struct merge_input *in, size_t n, char *err);

/* The inputs must be distinct shards of one scan (--any: of disjoint target
 * sets). */
static int
merge_check(const char *out_path, const struct merge_input *in, size_t n, unsigned flags, char *err)
{
    char out_real[PATH_MAX];
    char in_real[PATH_MAX];
    int has_out = realpath(out_path, out_real) != NULL;
    size_t r = merge_reference(in, n);

    for (size_t i = 0; i < n; i++) {
        if (has_out && realpath(in[i].path, in_real) != NULL && strcmp(out_real, in_real) == 0) {
            tw_errf(err, "%s is both the output and an input", in[i].path);
            return -1;
        }
        if (i == 0 || (flags & TW_MERGE_ANY))
            continue;
        if (!merge_same(in[0].label, in[i].label)) {
            tw_errf(err, "labels differ: '%.100s' in %s, '%.100s' in %s: not shards of one scan",
                    in[0].label ? in[0].label : "(none)", in[0].path,
                    in[i].label ? in[i].label : "(none)", in[i].path);
            return -1;
        }
    }
    if (flags & TW_MERGE_ANY)
        return merge_check_disjoint(in, n, err);
    for (size_t i = 0; i < n; i++) {
        if (i == r || merge_fp_unknown(&in[i]))
            continue;
        if (!merge_same(in[r].targets_sha256, in[i].targets_sha256)) {
            tw_errf(err,
                    "%s and %s were scanned from different target lists (targets_sha256 "
                    "%.16s... and %.16s...): not shards of one scan",
                    in[r].path, in[i].path, in[r].targets_sha256 ? in[r].targets_sha256 : "(none)",
                    in[i].targets_sha256 ? in[i].targets_sha256 : "(none)");
            return -1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        if (in[0].n != in[i].n) {
            tw_errf(err, "shard counts differ: %s holds shard %ld/%ld, %s holds shard %ld/%ld",
                    in[0].path, in[0].k, in[0].n, in[i].path, in[i].k, in[i].n);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (in[j].k == in[i].k) {
                tw_errf(err, "shard %ld/%ld appears in %s and %s", in[i].k, in[i].n, in[j].path,
                        in[i].path);
                return -1;
            }
        }
    }
    return 0;
}

/* Append to buf[size] at *len, truncating (never overflowing) when full. */
static void __attribute__((format(printf, 4, 5)))
merge_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*len + 1 >= size)
        return;
    va_start(ap, fmt);
    w = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    *len = (size_t)w >= size - *len ? size - 1 : *len + (size_t)w;
}

/* At most this many missing shards are named; the rest are counted. */
#define MERGE_NAME_MAX 8

/*
 * Is the set complete: every shard 1..N present and each scan 'done'?
 * Returns the count of missing plus unfinished shards (0: complete) and,
 * when there are some, describes them in err[TW_ERRLEN]: "shard 3/4
 * missing; shard 4/4 in s4.db is 'running', not done".  The inputs passed
 * merge_check: one N, no K twice.
 */
static long
merge_gaps(const struct merge_input *in, size_t n, char *err)
{
    long big_n = in[0].n;
    unsigned char *seen = tw_xcalloc((size_t)big_n + 1, 1);
    char msg[TW_ERRLEN];
    size_t len = 0;
    long missing = 0, named = 0, unfinished = 0;

    msg[0] = '\0';
    for (size_t i = 0; i < n; i++)
        seen[in[i].k] = 1;
    for (long k = 1; k <= big_n; k++)
        if (!seen[k])
            missing++;
    if (missing > 0) {
        merge_appendf(msg, sizeof(msg), &len, "%s ", missing == 1 ? "shard" : "shards");
        for (long k = 1; k <= big_n && named < MERGE_NAME_MAX; k++) {
            if (seen[k])
                continue;
            merge_appendf(msg, sizeof(msg), &len, "%s%ld/%ld", named ? ", " : "", k, big_n);
            named++;
        }
        if (missing > named)
            merge_appendf(msg, sizeof(msg), &len, " and %ld more", missing - named);
        merge_appendf(msg, sizeof(msg), &len, " missing");
    }
    free(seen);
    for (size_t i = 0; i < n; i++) {
        if (in[i].status != NULL && strcmp(in[i].status, "done") == 0)
            continue;
        merge_appendf(msg, sizeof(msg), &len, "%sshard %ld/%ld in %.100s is '%.20s', not done",
                      len ? "; " : "", in[i].k, in[i].n, in[i].path,
                      in[i].status ? in[i].status : "(none)");
        unfinished++;
    }
    if (missing + unfinished > 0)
        tw_errf(err, "incomplete shard set: %s", msg);
    return missing + unfinished;
}

/*
 * --any: the inputs' scans must cover disjoint target sets.  Each input's
 * endpoints (host, port, sni, starttls: the address aside, since one name
 * resolving differently is still one target) go into an in-memory table;
 * the first endpoint that an earlier input holds too is refused, naming
 * both files.  Pass 1: nothing is written to OUT.
 */
static int
merge_check_disjoint(const struct merge_input *in, size_t n, char *err)
{
    sqlite3 *mem = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(mem,
                     "CREATE TABLE k (host TEXT, port INTEGER, sni TEXT, stls TEXT, src INTEGER,"
                     " PRIMARY KEY (host, port, sni, stls)) WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK) {
        tw_errf(err, "merge: %s", mem ? sqlite3_errmsg(mem) : "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        /* Schema 4 added results.starttls; an older input has none. */
        for (int with_stls = 1; with_stls >= 0; with_stls--) {
            const char *stls = with_stls ? "ifnull(r.starttls, '')" : "''";
            char *find = sqlite3_mprintf(
                "SELECT r.host, r.port, k.src FROM " MERGE_SCHEMA ".results AS r JOIN k"
                " ON k.host = r.host AND k.port = r.port AND k.sni = ifnull(r.sni, '')"
                " AND k.stls = %s WHERE r.scan_id = ?1 LIMIT 1",
                stls);
            char *add = sqlite3_mprintf("INSERT OR IGNORE INTO k SELECT r.host, r.port,"
                                        " ifnull(r.sni, ''), %s, %lld FROM " MERGE_SCHEMA
                                        ".results AS r WHERE r.scan_id = ?1",
                                        stls, (long long)i);
            int step;

            sqlite3_finalize(s);
            s = NULL;
            if (find == NULL || add == NULL) {
                sqlite3_free(find);
                sqlite3_free(add);
                tw_errf(err, "merge: out of memory");
                goto out;
            }
            {
                sqlite3_stmt *at = NULL;

                if (sqlite3_prepare_v2(mem, "ATTACH DATABASE ?1 AS " MERGE_SCHEMA, -1, &at, NULL) !=
                    SQLITE_OK) {
                    sqlite3_finalize(at);
                    goto sqlfail_free;
                }
                sqlite3_bind_text(at, 1, in[i].path, -1, SQLITE_STATIC);
                step = sqlite3_step(at);
                sqlite3_finalize(at);
                if (step != SQLITE_DONE)
                    goto sqlfail_free;
            }
            if (sqlite3_prepare_v2(mem, find, -1, &s, NULL) != SQLITE_OK) {
                sqlite3_exec(mem, "DETACH DATABASE " MERGE_SCHEMA, NULL, NULL, NULL);
                sqlite3_free(find);
                sqlite3_free(add);
                if (with_stls)
                    continue; /* an input older than schema 4 */
                tw_errf(err, "%s: %s", in[i].path, sqlite3_errmsg(mem));
                goto out;
            }
            sqlite3_bind_int64(s, 1, in[i].scan_id);
            step = sqlite3_step(s);
            if (step == SQLITE_ROW) {
                size_t j = (size_t)sqlite3_column_int64(s, 2);

                tw_errf(err,
                        "target sets overlap: %s and %s both scanned %.253s:%d; --any merges only"
                        " scans of disjoint target sets (merge shards of one scan without --any)",
                        j < n ? in[j].path : "?", in[i].path,
                        (const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1));
                sqlite3_exec(mem, "DETACH DATABASE " MERGE_SCHEMA, NULL, NULL, NULL);
                sqlite3_free(find);
                sqlite3_free(add);
                goto out;
            }
            sqlite3_finalize(s);
            s = NULL;
            if (step != SQLITE_DONE || sqlite3_prepare_v2(mem, add, -1, &s, NULL) != SQLITE_OK)
                goto sqlfail_detach;
            sqlite3_bind_int64(s, 1, in[i].scan_id);
            if (sqlite3_step(s) != SQLITE_DONE)
                goto sqlfail_detach;
            sqlite3_exec(mem, "DETACH DATABASE " MERGE_SCHEMA, NULL, NULL, NULL);
            sqlite3_free(find);
            sqlite3_free(add);
            break;
        sqlfail_detach:
            tw_errf(err, "%s: %s", in[i].path, sqlite3_errmsg(mem));
            sqlite3_exec(mem, "DETACH DATABASE " MERGE_SCHEMA, NULL, NULL, NULL);
            sqlite3_free(find);
            sqlite3_free(add);
            goto out;
        sqlfail_free:
            tw_errf(err, "cannot attach %s: %s", in[i].path, sqlite3_errmsg(mem));
            sqlite3_free(find);
            sqlite3_free(add);
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    sqlite3_close(mem);
    return rc;
}

/* --any: every input's scan finished, else (with --allow-missing) the merge
 * is partial.  Returns the count of unfinished ones, described in err. */
static long
merge_any_unfinished(const struct merge_input *in, size_t n, char *err)
{
    char msg[TW_ERRLEN];
    size_t len = 0;
    long unfinished = 0;

    msg[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (merge_is_done(&in[i]))
            continue;
        merge_appendf(msg, sizeof(msg), &len, "%sscan %lld in %.100s is '%.20s', not done",
                      len ? "; " : "", (long long)in[i].scan_id, in[i].path,
                      in[i].status ? in[i].status : "(none)");
        unfinished++;
    }
    if (unfinished > 0)
        tw_errf(err, "incomplete input: %s", msg);
    return unfinished;
}

static int
merge_bind_text(sqlite3_stmt *s, int i, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, text, (int)strlen(text), SQLITE_STATIC);
}

/* The id of the earlier merge of these shards in OUT, or -1 in *id when
 * there is none. */
static int
merge_find_earlier(struct tw_store *out, const struct merge_input *meta, const char *started_at,
                   int64_t *id, char *err)
{
    sqlite3 *db = tw_store_db(out);
    sqlite3_stmt *s = NULL;
    int rc = -1;

    *id = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM scans WHERE shard IS NULL AND label IS ?1"
                           " AND targets_sha256 IS ?2 AND started_at = ?3"
                           " ORDER BY id LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        goto sqlfail;
    merge_bind_text(s, 1, meta->label);
    merge_bind_text(s, 2, meta->targets_sha256);
    merge_bind_text(s, 3, started_at);
    switch (sqlite3_step(s)) {
    case SQLITE_ROW:
        *id = sqlite3_column_int64(s, 0);
        break;
    case SQLITE_DONE:
        break;
    default:
        goto sqlfail;
    }
    rc = 0;
    goto out;
sqlfail:
    tw_errf(err, "%s: %s", tw_store_path(out), sqlite3_errmsg(db));
out:
    sqlite3_finalize(s);
    return rc;
}

/*
 * Claim the merged scan row in OUT: reuse the earlier merge of these shards
 * (emptied) or insert a new one, with status 'running' until the copy is
 * done.
 */
static int
merge_claim_scan(struct tw_store *out, const struct merge_input *meta, const char *started_at,
                 int64_t *scan_id, char *err)
{
    /* The merged scan is no shard: shard NULL. */
    const struct tw_scan_meta m = {meta->label, NULL, meta->targets_sha256, meta->options,
                                   meta->now_at};
    sqlite3 *db = tw_store_db(out);
    const char *path = tw_store_path(out);
    int64_t id = -1;
    int rc = -1;

    if (tw_store_begin(out, err) < 0)
        goto out;
    if (merge_find_earlier(out, meta, started_at, &id, err) < 0)
        goto rollback;
    if (id >= 0) {
        tw_info("store", "merge: replacing the earlier merge, scan %lld in %s", (long long)id,
                path);
        if (tw_store_run_sql(db, path,
                             "DELETE FROM result_chain WHERE result_id IN"
                             " (SELECT id FROM results WHERE scan_id = ?1)",
                             &id, NULL, NULL, err) < 0 ||
            tw_store_run_sql(db, path, "DELETE FROM results WHERE scan_id = ?1", &id, NULL, NULL,
                             err) < 0 ||
            tw_store_run_sql(db, path,
                             "UPDATE scans SET status = 'running', finished_at = NULL,"
                             " n_endpoints = NULL WHERE id = ?1",
                             &id, NULL, NULL, err) < 0)
            goto rollback;
    } else if (tw_store_scan_insert(out, &m, started_at, &id, err) < 0) {
        goto rollback;
    }
    if (tw_store_commit(out, err) < 0)
        goto rollback;
    *scan_id = id;
    rc = 0;
    goto out;
rollback:
    tw_store_rollback(out);
out:
    return rc;
}

#define MERGE_EXTRA_MAX 32

/*
 * The per-result tables other than result_chain (grading evidence and any
 * table added later): every main table with a foreign key to results.  For
 * each one that the input also has, prepare
 *   INSERT INTO main.T(cols) SELECT <cols, result_id -> ?2> FROM src.T WHERE result_id = ?1
 * over the columns both sides have, so a merge carries every row a result
 * owns without knowing the tables by name.  Returns the count, or -1.
 */
static int
merge_prepare_extra(sqlite3 *db, sqlite3_stmt **out, int max, char *err, const char *path)
{
    sqlite3_stmt *tabs = NULL, *cols = NULL;
    int n = 0;
    int rc = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT m.name, f.\"from\" FROM main.sqlite_master AS m,"
                           " pragma_foreign_key_list(m.name) AS f"
                           " WHERE m.type = 'table' AND f.\"table\" = 'results'"
                           " AND m.name <> 'result_chain'"
                           " AND m.name IN (SELECT name FROM " MERGE_SCHEMA ".sqlite_master"
                           "  WHERE type = 'table') ORDER BY m.name",
                           -1, &tabs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT a.name FROM pragma_table_info(?1, 'main') AS a"
                           " JOIN pragma_table_info(?1, '" MERGE_SCHEMA "') AS b"
                           " ON a.name = b.name ORDER BY a.cid",
                           -1, &cols, NULL) != SQLITE_OK)
        goto sqlfail;
    while (sqlite3_step(tabs) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(tabs, 0);
        const char *fkcol = (const char *)sqlite3_column_text(tabs, 1);
        char list[2048], sel[2048], sql[4608];
        size_t nl = 0, ns = 0;

        if (table == NULL || fkcol == NULL || n >= max)
            continue;
        list[0] = sel[0] = '\0';
        sqlite3_bind_text(cols, 1, table, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(cols) == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(cols, 0);
            int is_fk = c != NULL && strcmp(c, fkcol) == 0;
            int a, b;

            if (c == NULL)
                continue;
            a = snprintf(list + nl, sizeof(list) - nl, "%s\"%s\"", nl ? "," : "", c);
            b = snprintf(sel + ns, sizeof(sel) - ns, "%s%s%s%s", ns ? "," : "", is_fk ? "?2" : "\"",
                         is_fk ? "" : c, is_fk ? "" : "\"");
            if (a < 0 || b < 0 || (size_t)a >= sizeof(list) - nl || (size_t)b >= sizeof(sel) - ns) {
                tw_errf(err, "%s: table %s has too many columns to merge", path, table);
                goto out;
            }
            nl += (size_t)a;
            ns += (size_t)b;
        }
        sqlite3_reset(cols);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO main.\"%s\"(%s) SELECT %s FROM " MERGE_SCHEMA
                 ".\"%s\" WHERE \"%s\" = ?1",
                 table, list, sel, table, fkcol);
        if (sqlite3_prepare_v2(db, sql, -1, &out[n], NULL) != SQLITE_OK)
            goto sqlfail;
        n++;
    }
    rc = n;
    goto out;
sqlfail:
    tw_errf(err, "merging %s: %s", path, sqlite3_errmsg(db));
out:
    sqlite3_finalize(tabs);
    sqlite3_finalize(cols);
    if (rc < 0)
        for (int i = 0; i < n; i++)
            sqlite3_finalize(out[i]);
    return rc;
}

/* 1 when the attached input's results table has a starttls column (schema
 * step 4); an input written by an older tlsweep has none: direct TLS only. */
static int
merge_src_has_starttls(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int has = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM pragma_table_info('results', '" MERGE_SCHEMA "')"
                           " WHERE name = 'starttls'",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        has = 1;
    sqlite3_finalize(s);
    return has;
}

/* 1 when the attached input's table has column col. */
static int
merge_src_has_column(sqlite3 *db, const char *table, const char *col)
{
    sqlite3_stmt *s = NULL;
    int has = 0;

    if (sqlite3_prepare_v2(
            db, "SELECT 1 FROM pragma_table_info(?1, '" MERGE_SCHEMA "') WHERE name = ?2", -1, &s,
            NULL) == SQLITE_OK &&
        sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(s, 2, col, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        has = 1;
    sqlite3_finalize(s);
    return has;
}

/* Copy one input's scan into merged scan `to`, inside the caller's
 * transaction, with the input attached as MERGE_SCHEMA. */
static int
merge_copy(sqlite3 *db, const struct merge_input *in, int64_t to, char *err)
{
    sqlite3_stmt *sel = NULL, *ins = NULL, *sel_chain = NULL, *ins_chain = NULL;
    sqlite3_stmt *extra[MERGE_EXTRA_MAX];
    int n_extra = 0;
    int rc = -1;
    int step = SQLITE_DONE;

    if (tw_store_run_sql(
            db, in->path,
            "INSERT OR IGNORE INTO main.certs(sha256, subject, issuer, not_before,"
            " not_after, key_type, key_bits, sig_alg, san, pem)"
            " SELECT sha256, subject, issuer, not_before, not_after, key_type, key_bits,"
            " sig_alg, san, pem FROM " MERGE_SCHEMA ".certs WHERE sha256 IN"
            " (SELECT c.cert_sha256 FROM " MERGE_SCHEMA ".result_chain c"
            "  JOIN " MERGE_SCHEMA ".results r ON r.id = c.result_id WHERE r.scan_id = ?1"
            "  UNION SELECT cert_sha256 FROM " MERGE_SCHEMA ".results"
            "  WHERE scan_id = ?1 AND cert_sha256 IS NOT NULL)",
            &in->scan_id, NULL, NULL, err) < 0)
        goto out;
    /* The key hashes DROWN compares (store/drown.c), from an input that has them. */
    if (merge_src_has_column(db, "certs", "spki_sha256") &&
        tw_store_run_sql(
            db, in->path,
            "UPDATE main.certs SET spki_sha256 = (SELECT s.spki_sha256 FROM " MERGE_SCHEMA
            ".certs AS s WHERE s.sha256 = main.certs.sha256)"
            " WHERE spki_sha256 IS NULL AND sha256 IN (SELECT sha256 FROM " MERGE_SCHEMA
            ".certs WHERE spki_sha256 IS NOT NULL)",
            NULL, NULL, NULL, err) < 0)
        goto out;
    if (sqlite3_prepare_v2(db,
                           merge_src_has_starttls(db)
                               ? "SELECT id, target, host, ip, port, sni, class, issues,"
                                 " tls_version, cipher, grade, cert_sha256, detail, elapsed_ms,"
                                 " scanned_at, starttls FROM " MERGE_SCHEMA ".results"
                                 " WHERE scan_id = ?1 ORDER BY id"
                               : "SELECT id, target, host, ip, port, sni, class, issues,"
                                 " tls_version, cipher, grade, cert_sha256, detail, elapsed_ms,"
                                 " scanned_at, NULL FROM " MERGE_SCHEMA ".results"
                                 " WHERE scan_id = ?1 ORDER BY id",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO main.results(scan_id, target, host, ip, port,"
                           " sni, class, issues, tls_version, cipher, grade, cert_sha256, detail,"
                           " elapsed_ms, scanned_at, starttls) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                           " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT depth, cert_sha256 FROM " MERGE_SCHEMA ".result_chain"
                           " WHERE result_id = ?1 ORDER BY depth",
                           -1, &sel_chain, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO main.result_chain(result_id, depth,"
                           " cert_sha256) VALUES (?1, ?2, ?3)",
                           -1, &ins_chain, NULL) != SQLITE_OK)
        goto sqlfail;
    n_extra = merge_prepare_extra(db, extra, MERGE_EXTRA_MAX, err, in->path);
    if (n_extra < 0) {
        n_extra = 0;
        goto out;
    }

    sqlite3_bind_int64(sel, 1, in->scan_id);
    sqlite3_bind_int64(ins, 1, to);
    for (;;) {
        int64_t old_id, new_id;

        step = sqlite3_step(sel);
        if (step != SQLITE_ROW)
            break;
        old_id = sqlite3_column_int64(sel, 0);
        /* Values are copied as stored (NULLs stay NULL). */
        for (int c = 1; c <= 15; c++)
            sqlite3_bind_value(ins, c + 1, sqlite3_column_value(sel, c));
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto sqlfail;
        sqlite3_reset(ins);
        if (sqlite3_changes(db) == 0)
            continue; /* this endpoint came from another input already */
        new_id = sqlite3_last_insert_rowid(db);

        sqlite3_bind_int64(sel_chain, 1, old_id);
        sqlite3_bind_int64(ins_chain, 1, new_id);
        for (;;) {
            step = sqlite3_step(sel_chain);
            if (step != SQLITE_ROW)
                break;
            sqlite3_bind_value(ins_chain, 2, sqlite3_column_value(sel_chain, 0));
            sqlite3_bind_value(ins_chain, 3, sqlite3_column_value(sel_chain, 1));
            if (sqlite3_step(ins_chain) != SQLITE_DONE)
                goto sqlfail;
            sqlite3_reset(ins_chain);
        }
        if (step != SQLITE_DONE)
            goto sqlfail;
        sqlite3_reset(sel_chain);
        for (int t = 0; t < n_extra; t++) {
            sqlite3_bind_int64(extra[t], 1, old_id);
            sqlite3_bind_int64(extra[t], 2, new_id);
            if (sqlite3_step(extra[t]) != SQLITE_DONE)
                goto sqlfail;
            sqlite3_reset(extra[t]);
        }
    }
    if (step != SQLITE_DONE)
        goto sqlfail;
    rc = 0;
    goto out;
sqlfail:
    tw_errf(err, "merging %s: %s", in->path, sqlite3_errmsg(db));
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel_chain);
    sqlite3_finalize(ins_chain);
    for (int t = 0; t < n_extra; t++)
        sqlite3_finalize(extra[t]);
    return rc;
}

/* One input in one transaction: BEGIN, ATTACH, copy, COMMIT, DETACH. */
static int
merge_one(struct tw_store *out, const struct merge_input *in, int64_t to, char *err)
{
    sqlite3 *db = tw_store_db(out);
    sqlite3_stmt *s = NULL;
    int is_attached = 0;
    int rc = -1;

    if (tw_store_begin(out, err) < 0)
        goto out;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS " MERGE_SCHEMA, -1, &s, NULL) != SQLITE_OK)
        goto sqlfail;
    merge_bind_text(s, 1, in->path);
    if (sqlite3_step(s) != SQLITE_DONE)
        goto sqlfail;
    is_attached = 1;
    sqlite3_finalize(s);
    s = NULL;
    if (merge_copy(db, in, to, err) < 0)
        goto out;
    if (tw_store_commit(out, err) < 0)
        goto out;
    rc = 0;
    goto out;
sqlfail:
    tw_errf(err, "cannot attach %s: %s", in->path, sqlite3_errmsg(db));
out:
    sqlite3_finalize(s);
    if (rc < 0)
        tw_store_rollback(out);
    if (is_attached)
        sqlite3_exec(db, "DETACH DATABASE " MERGE_SCHEMA, NULL, NULL, NULL);
    return rc;
}

int
tw_store_merge(const char *out_path, const char *const *in_paths, size_t n, unsigned flags,
               char *err)
{
    struct merge_input *in = NULL;
    struct tw_store *out = NULL;
    const char *started_at = NULL, *finished_at = NULL;
    char gaps[TW_ERRLEN] = "";
    struct merge_input any_meta; /* --any: the merged scan's metadata (borrowed strings) */
    int64_t is_partial;
    int64_t id = -1;
    int rc = -1;

    memset(&any_meta, 0, sizeof(any_meta));
    if (n == 0) {
        tw_errf(err, "merge: no input databases");
        goto out;
    }
    in = tw_xcalloc(n, sizeof(*in));
    for (size_t i = 0; i < n; i++) {
        in[i].path = in_paths[i];
        if (merge_read_input(&in[i], flags, err) < 0)
            goto out;
    }
    if (merge_check(out_path, in, n, flags, err) < 0)
        goto out;

    /* All N shards present and each finished, or the caller accepts less. */
    is_partial =
        ((flags & TW_MERGE_ANY) ? merge_any_unfinished(in, n, gaps) : merge_gaps(in, n, gaps)) > 0;
    if (is_partial && !(flags & TW_MERGE_ALLOW_MISSING)) {
        tw_errf(err,
                "%s; nothing merged (--allow-missing merges the shards there are, marked "
                "partial)",
                gaps);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i].started_at != NULL &&
            (started_at == NULL || strcmp(in[i].started_at, started_at) < 0))
            started_at = in[i].started_at;
        if (in[i].finished_at != NULL &&
            (finished_at == NULL || strcmp(in[i].finished_at, finished_at) > 0))
            finished_at = in[i].finished_at;
    }
    if (started_at == NULL) {
        tw_errf(err, "%s: scan %lld has no start time", in[0].path, (long long)in[0].scan_id);
        goto out;
    }

    if (tw_store_open(out_path, 0, &out, err) < 0)
        goto out;
    if (flags & TW_MERGE_ANY) {
        /* Scans of different target sets: the merged scan keeps what they
         * share (label, --now) and no target fingerprint or options. */
        any_meta.label = in[0].label;
        any_meta.now_at = in[0].now_at;
        for (size_t i = 1; i < n; i++) {
            if (!merge_same(any_meta.label, in[i].label))
                any_meta.label = NULL;
            if (!merge_same(any_meta.now_at, in[i].now_at))
                any_meta.now_at = NULL;
        }
        if (any_meta.label == NULL)
            any_meta.label = (char *)"merged";
    }
    if (merge_claim_scan(out, (flags & TW_MERGE_ANY) ? &any_meta : &in[merge_reference(in, n)],
                         started_at, &id, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (merge_one(out, &in[i], id, err) < 0)
            goto out;
    /* The end of a scan, as tw_store_scan_finish writes it, but with the
     * latest input's end time instead of now, and the partial mark in the
     * same transaction: no reader sees a finished scan not yet marked. */
    if (tw_store_begin(out, err) < 0)
        goto out;
    if (tw_store_scan_end(out, id, "done", finished_at, err) < 0 ||
        tw_store_run_sql(tw_store_db(out), out_path,
                         is_partial ? "UPDATE scans SET partial = 1 WHERE id = ?1"
                                    : "UPDATE scans SET partial = 0 WHERE id = ?1",
                         &id, NULL, NULL, err) < 0 ||
        tw_store_commit(out, err) < 0) {
        tw_store_rollback(out);
        goto out;
    }
    tw_info("store", "merged %zu %s of %ld into scan %lld of %s (%s)", n,
            (flags & TW_MERGE_ANY) ? "scan(s)" : "shard(s)",
            (flags & TW_MERGE_ANY) ? (long)n : in[0].n, (long long)id, out_path,
            is_partial ? "partial: shards missing or unfinished" : "done");
    /* A partial merge succeeds, and tells the caller what it lacks. */
    if (is_partial)
        tw_errf(err, "%s", gaps);
    else if (err != NULL)
        err[0] = '\0';
    rc = 0;
out:
    tw_store_close(out);
    for (size_t i = 0; in != NULL && i < n; i++)
        merge_input_cleanup(&in[i]);
    free(in);
    return rc;
}
