/*
 * test_prune.c - retention (store/prune.h): which scans --keep and
 * --older-than select, that a running scan is never touched, that results,
 * chains, rows of other tables and orphaned certificates go while shared
 * certificates stay, that a dry run counts exactly what the real run
 * removes and writes nothing, and that batching changes nothing.
 *
 * Databases are built through the store API in a mkdtemp directory and
 * checked with SQL, the way users query them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/log.h"
#include "store/model.h"
#include "store/prune.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

static int
fx_setup(void **state)
{
    *state = fx_new("prune");
    return *state != NULL ? 0 : -1;
}

static int
fx_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Certificate number n: fingerprint, subject and PEM derived from n. */
static void
cert_fill(struct tw_cert *c, unsigned n)
{
    char buf[96];

    memset(c, 0, sizeof(*c));
    snprintf(c->sha256, sizeof(c->sha256), "%064x", n);
    snprintf(buf, sizeof(buf), "CN=c%u", n);
    c->subject = strdup(buf);
    c->issuer = strdup("CN=Prune CA");
    snprintf(c->not_before, sizeof(c->not_before), "%s", "2025-01-01T00:00:00Z");
    snprintf(c->not_after, sizeof(c->not_after), "%s", "2027-01-01T00:00:00Z");
    snprintf(c->key_type, sizeof(c->key_type), "%s", "EC");
    c->key_bits = 256;
    snprintf(c->sig_alg, sizeof(c->sig_alg), "%s", "ecdsa-with-SHA256");
    c->san = strdup("DNS:x.example");
    snprintf(buf, sizeof(buf), "-----BEGIN CERTIFICATE-----\n%u\n-----END CERTIFICATE-----\n", n);
    c->pem = strdup(buf);
}

/*
 * One scan with n_ok endpoints served the chain (leaf, 1000) and n_refused
 * refused endpoints.  leaf 0 = no certificates.  Status 'done' unless
 * status says otherwise ('running' leaves it unfinished).
 */
static int64_t
scan_make(const char *db, const char *started_at, const char *status, unsigned leaf, int n_ok,
          int n_refused)
{
    struct tw_scan_meta meta = {"nightly", NULL, NULL, NULL, NULL};
    struct tw_store *st = NULL;
    char err[TW_ERRLEN] = "";
    char sql[160];
    int64_t id = -1;

    if (tw_store_open(db, 0, &st, err) < 0)
        fail_msg("open: %s", err);
    assert_int_equal(tw_store_scan_begin(st, &meta, &id, err), 0);
    assert_int_equal(tw_store_begin(st, err), 0);
    for (int i = 0; i < n_ok + n_refused; i++) {
        struct tw_result *r = calloc(1, sizeof(*r));

        assert_non_null(r);
        snprintf(r->host, sizeof(r->host), "h%d.example", i);
        snprintf(r->ip, sizeof(r->ip), "127.0.%d.%d", i / 250, i % 250 + 1);
        r->port = 443;
        r->has_sni = 1;
        snprintf(r->sni, sizeof(r->sni), "%s", r->host);
        if (i < n_ok) {
            r->cls = TW_CLASS_OK;
            r->chain = calloc(2, sizeof(*r->chain));
            assert_non_null(r->chain);
            cert_fill(&r->chain[0], leaf);
            cert_fill(&r->chain[1], 1000);
            r->n_chain = 2;
            snprintf(r->tls_version, sizeof(r->tls_version), "%s", "TLSv1.3");
        } else {
            r->cls = TW_CLASS_TCP_REFUSED;
            r->issues = (tw_issue_set)1 << TW_CLASS_TCP_REFUSED;
        }
        assert_int_equal(tw_store_put_result(st, id, r, err), 0);
        tw_result_free(r);
    }
    assert_int_equal(tw_store_commit(st, err), 0);
    if (strcmp(status, "running") != 0)
        assert_int_equal(tw_store_scan_finish(st, id, status, err), 0);
    snprintf(sql, sizeof(sql), "UPDATE scans SET started_at = '%s' WHERE id = %lld", started_at,
             (long long)id);
    assert_int_equal(sqlite3_exec(tw_store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
    tw_store_close(st);
    return id;
}

static int64_t
q_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void
exec_sql(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(h);
}

/* The ids still present, as "1,3,4". */
static void
scan_ids(const char *db, char *out, size_t len)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    size_t used = 0;

    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT id FROM scans ORDER BY id", -1, &s, NULL),
                     SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && used + 24 < len)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", used ? "," : "",
                                 (long long)sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
}

struct seen {
    int64_t ids[16];
    int64_t results[16];
    size_t n;
};

static void
on_scan(void *arg, int64_t id, const char *label, const char *started_at, const char *status,
        int64_t n_results)
{
    struct seen *s = arg;

    (void)label;
    (void)started_at;
    assert_non_null(status);
    assert_string_not_equal(status, "running");
    assert_true(s->n < 16);
    s->ids[s->n] = id;
    s->results[s->n] = n_results;
    s->n++;
}

static struct tw_prune_opts
opts_default(void)
{
    struct tw_prune_opts o = {.keep = -1, .older_than = -1, .vacuum = 1};
    int64_t now = 0;

    assert_int_equal(tw_time_parse("2026-03-01T00:00:00Z", &now), 0);
    o.now = (time_t)now;
    return o;
}

/* Five scans, oldest first: a running one (1), then done scans 2..5.
 * Leaves: 1 -> cert 1, 2 -> cert 2, 3 -> cert 3, 4 and 5 share cert 4. */
static void
estate(const char *db)
{
    assert_int_equal(scan_make(db, "2026-01-01T02:30:00Z", "running", 1, 2, 3), 1);
    assert_int_equal(scan_make(db, "2026-02-01T02:30:00Z", "done", 2, 4, 6), 2);
    assert_int_equal(scan_make(db, "2026-02-10T02:30:00Z", "interrupted", 3, 4, 6), 3);
    assert_int_equal(scan_make(db, "2026-02-20T02:30:00Z", "done", 4, 4, 6), 4);
    assert_int_equal(scan_make(db, "2026-02-28T02:30:00Z", "done", 4, 4, 6), 5);
}

static void
test_prune_keep(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats stats;
    struct seen seen = {0};
    char err[TW_ERRLEN] = "";
    char ids[64];

    estate(f->db);
    o.keep = 2;
    assert_int_equal(tw_prune_run(f->db, &o, on_scan, &seen, &stats, err), 0);
    /* Newest two finished scans (4, 5) stay; the running scan 1 is neither
     * removed nor counted. */
    scan_ids(f->db, ids, sizeof(ids));
    assert_string_equal(ids, "1,4,5");
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], 2);
    assert_int_equal(seen.ids[1], 3);
    assert_int_equal(seen.results[0], 10);
    assert_int_equal(stats.scans, 2);
    assert_int_equal(stats.results, 20);
    assert_int_equal(stats.chain_rows, 16);
    /* Certificates 2 and 3 were used only by scans 2 and 3; the shared
     * intermediate 1000 and the leaves of 1 and 4 stay. */
    assert_int_equal(stats.certs, 2);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM certs"), 3);
    assert_int_equal(q_int(f->db,
                           "SELECT count(*) FROM certs WHERE sha256 IN"
                           " (printf('%064x', 1), printf('%064x', 4), printf('%064x', 1000))"),
                     3);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM results WHERE scan_id = 1"), 5);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM results"), 25);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM result_chain"), 2 * (2 + 4 + 4));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_int_equal(stats.running, 1);
    assert_int_equal(stats.vacuumed, 0); /* a scan is running */
}

static void
test_prune_older_than_and_both(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats stats;
    char err[TW_ERRLEN] = "";
    char ids[64];

    estate(f->db);
    /* now = 2026-03-01: more than 15 days old are scans 2 (Feb 1) and
     * 3 (Feb 10); 1 is older still but running. */
    o.older_than = 15;
    o.keep = 3; /* both rules: 3 stays because it is among the newest 3 */
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    scan_ids(f->db, ids, sizeof(ids));
    assert_string_equal(ids, "1,3,4,5");
    assert_int_equal(stats.scans, 1);

    o.keep = -1;
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    scan_ids(f->db, ids, sizeof(ids));
    assert_string_equal(ids, "1,4,5");
    assert_int_equal(stats.scans, 1);

    /* Nothing left that old: a no-op, not an error. */
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    assert_int_equal(stats.scans, 0);
    assert_int_equal(stats.results, 0);
    assert_int_equal(stats.certs, 0);
}

static void
test_prune_dry_run_counts_exactly(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats dry, real;
    char err[TW_ERRLEN] = "";
    char ids[64];

    estate(f->db);
    o.keep = 1;
    o.dry_run = 1;
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &dry, err), 0);
    scan_ids(f->db, ids, sizeof(ids));
    assert_string_equal(ids, "1,2,3,4,5");
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM results"), 45);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM certs"), 5);

    o.dry_run = 0;
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &real, err), 0);
    assert_int_equal(dry.scans, 3);
    assert_int_equal(dry.scans, real.scans);
    assert_int_equal(dry.results, real.results);
    assert_int_equal(dry.chain_rows, real.chain_rows);
    assert_int_equal(dry.other_rows, real.other_rows);
    /* cert 4 is still used by scan 5, certs 2 and 3 are not. */
    assert_int_equal(dry.certs, 2);
    assert_int_equal(dry.certs, real.certs);
}

/* Rows of tables added later (with or without ON DELETE CASCADE) go with
 * their result or scan; a certificate such a table names is kept. */
static void
test_prune_other_tables(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats stats;
    char err[TW_ERRLEN] = "";

    assert_int_equal(scan_make(f->db, "2026-02-01T00:00:00Z", "done", 7, 3, 2), 1);
    assert_int_equal(scan_make(f->db, "2026-02-02T00:00:00Z", "done", 8, 3, 2), 2);
    exec_sql(f->db, "CREATE TABLE x_notes(rid INTEGER NOT NULL REFERENCES results(id), note TEXT);"
                    "CREATE TABLE x_scan_notes(sid INTEGER REFERENCES scans(id), note TEXT);"
                    "CREATE TABLE x_pins(\"odd \"\"name\" TEXT REFERENCES certs(sha256));"
                    "INSERT INTO x_notes SELECT id, 'n' FROM results;"
                    "INSERT INTO x_scan_notes SELECT id, 's' FROM scans;"
                    "INSERT INTO x_pins VALUES (printf('%064x', 7));");
    o.keep = 1;
    o.batch = 2; /* several transactions for one scan */
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    assert_int_equal(stats.scans, 1);
    assert_int_equal(stats.results, 5);
    assert_int_equal(stats.chain_rows, 6);
    assert_int_equal(stats.other_rows, 5 + 1);
    assert_int_equal(stats.certs, 0); /* cert 7 is pinned by x_pins */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM x_notes"), 5);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM x_scan_notes"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM certs WHERE sha256 = printf('%064x', 7)"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);

    exec_sql(f->db, "DELETE FROM x_pins");
    o.keep = 1;
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    assert_int_equal(stats.scans, 0);
    assert_int_equal(stats.certs, 1); /* unpinned: now an orphan */
}

/* Batching and VACUUM: same rows whatever the batch, and the file shrinks. */
static void
test_prune_batches_and_vacuum(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats stats;
    char err[TW_ERRLEN] = "";

    assert_int_equal(scan_make(f->db, "2026-02-01T00:00:00Z", "done", 11, 300, 700), 1);
    assert_int_equal(scan_make(f->db, "2026-02-02T00:00:00Z", "done", 12, 3, 7), 2);
    o.keep = 1;
    o.batch = 7;
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), 0);
    assert_int_equal(stats.results, 1000);
    assert_int_equal(stats.chain_rows, 600);
    assert_int_equal(stats.certs, 1);
    assert_int_equal(stats.vacuumed, 1);
    assert_true(stats.bytes_after < stats.bytes_before);
    assert_int_equal(q_int(f->db, "PRAGMA freelist_count"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM results"), 10);
}

static void
test_prune_errors(void **state)
{
    struct fx *f = *state;
    struct tw_prune_opts o = opts_default();
    struct tw_prune_stats stats;
    char err[TW_ERRLEN] = "";
    char path[160];

    /* No rule: refused before anything is opened. */
    assert_int_equal(tw_prune_run(f->db, &o, NULL, NULL, &stats, err), -1);
    assert_non_null(strstr(err, "--keep"));
    /* A missing database is not created. */
    o.keep = 1;
    snprintf(path, sizeof(path), "%s/missing.db", f->dir);
    assert_int_equal(tw_prune_run(path, &o, NULL, NULL, &stats, err), -1);
    assert_non_null(strstr(err, "missing.db"));
    assert_int_equal(access(path, F_OK), -1);
    /* Not a database. */
    snprintf(path, sizeof(path), "%s/junk.db", f->dir);
    {
        FILE *j = fopen(path, "w");

        assert_non_null(j);
        fputs("this is not SQLite, just text long enough to have a header.........", j);
        fclose(j);
    }
    assert_int_equal(tw_prune_run(path, &o, NULL, NULL, &stats, err), -1);
    assert_true(err[0] != '\0');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prune_keep, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_older_than_and_both, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_dry_run_counts_exactly, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_other_tables, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_batches_and_vacuum, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_errors, fx_setup, fx_teardown),
    };

    tw_log_set_level(TW_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
