/*
 * test_writer.c - the single writer thread: every pushed result committed
 * exactly once from many threads, batches cut by rows and by time, nothing
 * lost on stop, a locked database waited out, and a failing database
 * reported.
 *
 * No timing thresholds: where a test waits for the writer it polls a
 * condition with a generous bound (wait_for), and fails only if the
 * condition never comes true.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/log.h"
#include "store/graderec.h"
#include "store/model.h"
#include "store/store.h"
#include "store/writer.h"
#include "tests/unit/fixture.h"

#define WAIT_MAX_MS 60000

/* The shared temporary database (fixture.h) with an open store, a scan
 * begun in it and a second, read-only connection, as a report would use. */
struct fixture {
    struct fx *fx;
    int64_t scan;
    sqlite3 *peek;
};

static int
teardown(void **state)
{
    struct fixture *f = *state;

    sqlite3_close(f->peek);
    fx_free(f->fx);
    free(f);
    return 0;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[TW_ERRLEN];
    struct tw_scan_meta meta = {"writer-test", NULL, NULL, NULL, NULL};

    if (f == NULL)
        return -1;
    *state = f;
    f->fx = fx_new("writer");
    if (f->fx == NULL || fx_open_store(f->fx) < 0)
        goto fail;
    if (tw_store_scan_begin(f->fx->st, &meta, &f->scan, err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        goto fail;
    }
    if (sqlite3_open_v2(f->fx->db, &f->peek, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    teardown(state); /* cmocka runs no teardown after a failed setup */
    return -1;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Poll cond(arg) every few milliseconds; 1 once true, 0 after WAIT_MAX_MS. */
static int
wait_for(int (*cond)(void *), void *arg)
{
    for (int waited = 0; waited < WAIT_MAX_MS; waited += 5) {
        if (cond(arg))
            return 1;
        sleep_ms(5);
    }
    return cond(arg);
}

static int64_t
peek_count(struct fixture *f)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(f->peek, "SELECT count(*) FROM results", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static struct tw_result *
make_result(int thread, int i)
{
    struct tw_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    snprintf(r->host, sizeof(r->host), "t%d-%d.example", thread, i);
    snprintf(r->ip, sizeof(r->ip), "10.%d.%d.%d", thread, (i >> 8) & 255, i & 255);
    r->port = 443;
    r->has_sni = 1;
    snprintf(r->sni, sizeof(r->sni), "%s", r->host);
    r->cls = TW_CLASS_OK;
    snprintf(r->tls_version, sizeof(r->tls_version), "%s", "TLSv1.3");
    r->chain = calloc(2, sizeof(*r->chain));
    assert_non_null(r->chain);
    r->n_chain = 2;
    snprintf(r->chain[0].sha256, sizeof(r->chain[0].sha256), "%032x%032x", thread + 1, i);
    r->chain[0].subject = strdup("CN=leaf");
    snprintf(r->chain[1].sha256, sizeof(r->chain[1].sha256), "%064x", 0xca);
    r->chain[1].subject = strdup("CN=Intermediate");
    return r;
}

struct pusher {
    struct tw_writer *w;
    int id;
    int n;
};

static void *
pusher_main(void *arg)
{
    struct pusher *p = arg;

    for (int i = 0; i < p->n; i++)
        tw_writer_push(p->w, make_result(p->id, i));
    return NULL;
}

struct committed_at_least {
    struct tw_writer *w;
    uint64_t n;
};

static int
cond_committed(void *arg)
{
    struct committed_at_least *c = arg;

    return tw_writer_committed(c->w) >= c->n;
}

static void
test_writer_many_threads_exactly_once(void **state)
{
    struct fixture *f = *state;
    struct tw_writer_opts opts = {64, 500, 20}; /* a small queue: pushers block */
    struct tw_writer *w = NULL;
    struct pusher p[4];
    pthread_t th[4];
    char err[TW_ERRLEN] = "";
    struct committed_at_least c;

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &opts, &w, err), 0);
    for (int i = 0; i < 4; i++) {
        p[i].w = w;
        p[i].id = i;
        p[i].n = 2500;
        assert_int_equal(pthread_create(&th[i], NULL, pusher_main, &p[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* All 10,000 commit without a stop (the time window flushes the tail),
     * and no result is counted twice. */
    c.w = w;
    c.n = 10000;
    assert_true(wait_for(cond_committed, &c));
    assert_int_equal(tw_writer_committed(w), 10000);
    assert_false(tw_writer_failed(w));
    assert_int_equal(tw_writer_stop(w, err), 0);

    assert_int_equal(peek_count(f), 10000);
    {
        sqlite3_stmt *s = NULL;

        assert_int_equal(sqlite3_prepare_v2(f->peek,
                                            "SELECT count(DISTINCT host), count(*),"
                                            " (SELECT count(*) FROM certs),"
                                            " (SELECT count(*) FROM result_chain)"
                                            " FROM results",
                                            -1, &s, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), 10000);
        assert_int_equal(sqlite3_column_int(s, 2), 10001); /* leaves + one intermediate */
        assert_int_equal(sqlite3_column_int(s, 3), 20000);
        sqlite3_finalize(s);
    }
}

static int
cond_committed_exactly(void *arg)
{
    struct committed_at_least *c = arg;

    return tw_writer_committed(c->w) == c->n;
}

static void
test_writer_batch_by_rows(void **state)
{
    struct fixture *f = *state;
    /* A one-hour window: only full batches can commit while running. */
    struct tw_writer_opts opts = {1000, 100, 3600000};
    struct tw_writer *w = NULL;
    char err[TW_ERRLEN] = "";
    struct committed_at_least c;

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &opts, &w, err), 0);
    for (int i = 0; i < 250; i++)
        tw_writer_push(w, make_result(0, i));
    c.w = w;
    c.n = 200;
    assert_true(wait_for(cond_committed_exactly, &c));
    /* Two batches of 100 are visible to another connection; the last 50
     * wait for their batch to fill (or for the stop). */
    assert_int_equal(peek_count(f), 200);
    assert_int_equal(tw_writer_committed(w), 200);
    assert_int_equal(tw_writer_stop(w, err), 0);
    assert_int_equal(peek_count(f), 250);
}

static int
cond_visible_one(void *arg)
{
    return peek_count(arg) == 1;
}

static void
test_writer_batch_by_time(void **state)
{
    struct fixture *f = *state;
    struct tw_writer_opts opts = {1000, 1000, 50};
    struct tw_writer *w = NULL;
    char err[TW_ERRLEN] = "";

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &opts, &w, err), 0);
    tw_writer_push(w, make_result(0, 0));
    /* One result never fills a batch of 1000: only the window commits it. */
    assert_true(wait_for(cond_visible_one, f));
    assert_int_equal(tw_writer_committed(w), 1);
    /* And again: the window restarts with the next result. */
    tw_writer_push(w, make_result(0, 1));
    {
        struct committed_at_least c = {w, 2};

        assert_true(wait_for(cond_committed, &c));
    }
    assert_int_equal(peek_count(f), 2);
    assert_int_equal(tw_writer_stop(w, err), 0);
}

static void
test_writer_stop_drains(void **state)
{
    struct fixture *f = *state;
    struct tw_writer_opts opts = {100000, 50000, 3600000};
    struct tw_writer *w = NULL;
    char err[TW_ERRLEN] = "";

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &opts, &w, err), 0);
    for (int i = 0; i < 3000; i++)
        tw_writer_push(w, make_result(1, i));
    tw_writer_push(w, NULL); /* a no-op */
    assert_int_equal(tw_writer_stop(w, err), 0);
    assert_int_equal(peek_count(f), 3000);
    assert_int_equal(tw_writer_stop(NULL, err), 0);
}

/* Issue 13: a graded result's compliance verdicts become one row per
 * profile, with the failed checks and warnings by name; an ungraded result
 * gets none; compliance_latest shows them once the scan is done. */
static void
test_writer_compliance_rows(void **state)
{
    struct fixture *f = *state;
    struct tw_writer *w = NULL;
    char err[TW_ERRLEN] = "";
    struct tw_result *r = make_result(3, 0);
    sqlite3_stmt *s = NULL;
    const char *want[] = {"modern|6.0|0|tls_versions,ciphers|", "intermediate|6.0|1||tls_curves",
                          "old|5.8|1||server_preferred_order"};
    int n = 0;

    r->grading = calloc(1, sizeof(*r->grading));
    assert_non_null(r->grading);
    r->grading->has_compliance = 1;
    r->grading->compliance[TW_MOZILLA_MODERN].failed =
        TW_MZ_BIT(TW_MZ_TLS_VERSIONS) | TW_MZ_BIT(TW_MZ_CIPHERS);
    r->grading->compliance[TW_MOZILLA_INTERMEDIATE].pass = 1;
    r->grading->compliance[TW_MOZILLA_INTERMEDIATE].warned = TW_MZ_BIT(TW_MZ_TLS_CURVES);
    r->grading->compliance[TW_MOZILLA_OLD].pass = 1;
    r->grading->compliance[TW_MOZILLA_OLD].warned = TW_MZ_BIT(TW_MZ_SERVER_PREF_ORDER);
    assert_int_equal(tw_writer_start(f->fx->st, f->scan, NULL, &w, err), 0);
    tw_writer_push(w, r);
    tw_writer_push(w, make_result(3, 1)); /* not graded: no rows */
    assert_int_equal(tw_writer_stop(w, err), 0);
    assert_int_equal(tw_store_scan_finish(f->fx->st, f->scan, "done", err), 0);
    assert_int_equal(
        sqlite3_prepare_v2(f->peek,
                           "SELECT profile || '|' || guideline || '|' || pass || '|' ||"
                           " failed_checks || '|' || warnings, host"
                           " FROM compliance_latest ORDER BY pass, profile",
                           -1, &s, NULL),
        SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        assert_true(n < 3);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), want[n]);
        assert_string_equal((const char *)sqlite3_column_text(s, 1), "t3-0.example");
        n++;
    }
    sqlite3_finalize(s);
    assert_int_equal(n, 3);
}

static void
test_writer_defaults(void **state)
{
    struct fixture *f = *state;
    struct tw_writer *w = NULL;
    char err[TW_ERRLEN] = "";
    struct tw_writer_opts bad = {1, 1, 999999999};

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, NULL, &w, err), 0);
    tw_writer_push(w, make_result(2, 0));
    assert_int_equal(tw_writer_stop(w, err), 0);
    assert_int_equal(peek_count(f), 1);
    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &bad, &w, err), -1);
    assert_null(w);
    assert_true(strlen(err) > 0);
}

static int
cond_failed(void *arg)
{
    return tw_writer_failed(arg);
}

static void
test_writer_error_readonly(void **state)
{
    struct fixture *f = *state;
    struct tw_store *ro = NULL;
    struct tw_writer *w = NULL;
    struct tw_writer_opts opts = {8, 4, 20};
    char err[TW_ERRLEN] = "";

    assert_int_equal(tw_store_open(f->fx->db, TW_STORE_READONLY, &ro, err), 0);
    assert_int_equal(tw_writer_start(ro, f->scan, &opts, &w, err), 0);
    tw_writer_push(w, make_result(0, 0));
    assert_true(wait_for(cond_failed, w));
    /* Later pushes are dropped (and freed), never block, even past the
     * queue's capacity. */
    for (int i = 1; i < 100; i++)
        tw_writer_push(w, make_result(0, i));
    assert_int_equal(tw_writer_committed(w), 0);
    assert_int_equal(tw_writer_stop(w, err), -1);
    assert_non_null(strstr(err, f->fx->db));
    assert_non_null(strstr(err, "readonly"));
    assert_int_equal(peek_count(f), 0);
    tw_store_close(ro);
}

/* Another process holds the write lock: the writer's busy handler says
 * "give up" at once (so SQLite returns SQLITE_BUSY), the writer backs off
 * and retries, and the lock holder lets go after seeing a few attempts. */
static atomic_int busy_calls;

static int
busy_handler(void *arg, int n)
{
    (void)arg;
    (void)n;
    atomic_fetch_add(&busy_calls, 1);
    return 0;
}

static int
cond_busy_retried(void *arg)
{
    (void)arg;
    return atomic_load(&busy_calls) >= 3;
}

static void
test_writer_busy_retried(void **state)
{
    struct fixture *f = *state;
    struct tw_writer_opts opts = {100, 10, 10};
    struct tw_writer *w = NULL;
    sqlite3 *holder = NULL;
    char err[TW_ERRLEN] = "";
    struct committed_at_least c;

    assert_int_equal(sqlite3_open_v2(f->fx->db, &holder, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    atomic_store(&busy_calls, 0);
    sqlite3_busy_handler(tw_store_db(f->fx->st), busy_handler, NULL);

    assert_int_equal(tw_writer_start(f->fx->st, f->scan, &opts, &w, err), 0);
    for (int i = 0; i < 25; i++)
        tw_writer_push(w, make_result(3, i));
    assert_true(wait_for(cond_busy_retried, NULL));
    assert_false(tw_writer_failed(w));
    assert_int_equal(tw_writer_committed(w), 0);
    assert_int_equal(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    c.w = w;
    c.n = 25;
    assert_true(wait_for(cond_committed, &c));
    assert_int_equal(tw_writer_stop(w, err), 0);
    assert_int_equal(peek_count(f), 25);
    sqlite3_close(holder);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_many_threads_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_batch_by_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_batch_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_stop_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_compliance_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_error_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_busy_retried, setup, teardown),
    };

    tw_log_set_level(TW_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
