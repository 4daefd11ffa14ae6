/*
 * test_summary.c - scan selection ("latest", ids, the interrupted
 * fallback), the estate roll-up counts, the --where/--expiring filters and
 * the read-only authorizer, on a database made at test time.
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

#include "report/query.h"
#include "report/summary.h"
#include "base/log.h"
#include "store/store.h"
#include "tls/grade.h"

static char db_path[64];

static int
make_db(const char *sql)
{
    struct tw_store *st = NULL;
    char err[TW_ERRLEN];
    char p[96];
    int fd;

    snprintf(db_path, sizeof(db_path), "/tmp/test_summary.XXXXXX");
    fd = mkstemp(db_path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    if (tw_store_open(db_path, 0, &st, err) < 0)
        return -1;
    if (sqlite3_exec(tw_store_db(st), sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s\n", sqlite3_errmsg(tw_store_db(st)));
        tw_store_close(st);
        return -1;
    }
    tw_store_close(st);
    return 0;
}

static int
teardown(void **state)
{
    char p[96];

    (void)state;
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
    return 0;
}

static int
setup_estate(void **state)
{
    (void)state;
    return make_db(
        "INSERT INTO scans(id, label, started_at, finished_at, status) VALUES"
        " (1, 'a', '2026-03-01T00:00:00Z', '2026-03-01T00:01:00Z', 'done'),"
        " (2, 'b', '2026-03-02T00:00:00Z', '2026-03-02T00:01:00Z', 'done'),"
        " (3, 'c', '2026-03-03T00:00:00Z', NULL, 'interrupted'),"
        " (4, 'd', '2026-03-04T00:00:00Z', NULL, 'running');"
        "INSERT INTO certs(sha256, not_after) VALUES ('exp', '2026-03-01T00:00:00Z'),"
        " ('d3', '2026-03-05T00:00:00Z'), ('d20', '2026-03-22T00:00:00Z'),"
        " ('d100', '2026-06-10T00:00:00Z');"
        "INSERT INTO results(scan_id, host, ip, port, sni, class, issues, tls_version, grade,"
        " cert_sha256) VALUES"
        " (2, 'a', '1', 443, 'a', 'ok', 'ok', 'TLSv1.3', 'A+', 'd100'),"
        " (2, 'b', '2', 443, 'b', 'ok', 'ok', 'TLSv1', 'C', 'd20'),"
        " (2, 'c', '3', 443, 'c', 'ok', 'ok', 'TLSv1.1', 'B', 'd3'),"
        " (2, 'd', '4', 443, 'd', 'cert_expired', 'cert_expired', 'TLSv1.2', 'T', 'exp'),"
        " (2, 'e', '5', 443, 'e', 'tcp_timeout', 'tcp_timeout', NULL, NULL, NULL),"
        " (2, 'f', '6', 443, 'f', 'made_up', 'made_up', NULL, NULL, NULL),"
        " (1, 'a', '1', 443, 'a', 'ok', 'ok', 'TLSv1.3', 'A', 'd100');"
        /* Issue 16: a negotiates TLSv1.3 but accepts SSLv3 (result 1). */
        "INSERT INTO protocols(result_id, protocol, accepted) VALUES (1, 'SSLv3', 1),"
        " (1, 'TLSv1', 0), (1, 'TLSv1.3', 1);");
}

static struct tw_store *
open_ro(void)
{
    struct tw_store *st = NULL;
    char err[TW_ERRLEN];

    assert_int_equal(tw_store_open(db_path, TW_STORE_READONLY, &st, err), 0);
    assert_int_equal(tw_report_db_prepare(tw_store_db(st), err), 0);
    return st;
}

static void
test_summary_scan_find(void **state)
{
    struct tw_store *st = open_ro();
    sqlite3 *db = tw_store_db(st);
    struct tw_scan_info s;
    char err[TW_ERRLEN];

    (void)state;
    /* latest = newest done, never the newer interrupted or running ones. */
    assert_int_equal(tw_report_scan_find(db, "latest", INT64_MIN, &s, err), 0);
    assert_int_equal(s.id, 2);
    assert_int_equal(s.is_fallback, 0);
    assert_int_equal(s.n_results, 6);
    assert_string_equal(s.label, "b");
    assert_int_equal(s.finished_unix - s.started_unix, 60);
    assert_int_equal(s.ref_time, s.started_unix);
    tw_report_scan_cleanup(&s);
    assert_int_equal(tw_report_scan_find(db, "3", INT64_MIN, &s, err), 0);
    assert_string_equal(s.status, "interrupted");
    assert_string_equal(s.finished_at, "");
    tw_report_scan_cleanup(&s);
    assert_int_equal(tw_report_scan_find(db, "1", 12345, &s, err), 0);
    assert_int_equal(s.ref_time, 12345);
    tw_report_scan_cleanup(&s);
    assert_int_equal(tw_report_scan_find(db, "9", INT64_MIN, &s, err), 1);
    assert_non_null(strstr(err, "no scan with id 9"));
    assert_int_equal(tw_report_scan_find(db, "1x", INT64_MIN, &s, err), 1);
    assert_int_equal(tw_report_scan_find(db, "-1", INT64_MIN, &s, err), 1);
    assert_int_equal(tw_report_scan_done_nth(db, 1, &s, err), 0);
    assert_int_equal(s.id, 1);
    tw_report_scan_cleanup(&s);
    assert_int_equal(tw_report_scan_done_nth(db, 2, &s, err), 1);
    tw_store_close(st);
}

static void
test_summary_counts(void **state)
{
    struct tw_store *st = open_ro();
    sqlite3 *db = tw_store_db(st);
    struct tw_scan_info s;
    struct tw_report_opts opts;
    struct tw_summary sum;
    char err[TW_ERRLEN];

    (void)state;
    memset(&opts, 0, sizeof(opts));
    assert_int_equal(tw_report_scan_find(db, "2", INT64_MIN, &s, err), 0);
    assert_int_equal(tw_report_summarize(db, &s, &opts, &sum, err), 0);
    assert_int_equal(sum.total, 6);
    assert_int_equal(sum.n_ok, 3);
    assert_int_equal(sum.n_failures, 1);
    assert_int_equal(sum.n_issues, 2); /* cert_expired + the unknown class */
    assert_int_equal(sum.n_unknown_class, 1);
    assert_int_equal(sum.by_class[TW_CLASS_TCP_TIMEOUT], 1);
    assert_int_equal(sum.by_grade[TW_GRADE_A_PLUS], 1);
    assert_int_equal(sum.by_grade[TW_GRADE_NONE], 2);
    /* ref = 2026-03-02: exp expired, d3 in 3 days, d20 in 20, d100 in 100. */
    assert_int_equal(sum.n_expired, 1);
    assert_int_equal(sum.n_exp7, 1);
    assert_int_equal(sum.n_exp30, 2);
    assert_int_equal(sum.n_no_cert, 2);
    assert_int_equal(sum.expiry_days[3], 1);
    assert_int_equal(sum.expiry_days[20], 1);
    /* Issue 16: accepted counts (a: SSLv3), not only negotiated (b, c). */
    assert_int_equal(sum.n_legacy_tls, 3);
    assert_int_equal(sum.n_legacy, 3);
    assert_string_equal(sum.legacy[0].host, "a");
    assert_string_equal(sum.legacy_accepted[0], "SSLv3");
    assert_string_equal(sum.legacy[0].tls_version, "TLSv1.3");
    assert_string_equal(sum.legacy[1].host, "b");
    assert_null(sum.legacy_accepted[1]);
    assert_string_equal(sum.legacy[2].host, "c");
    /* The fix-first problems of the same rows, ranked. */
    assert_int_equal(sum.problems.n, 6);
    assert_string_equal(sum.problems.list[0]->kind, "cert_expired");
    assert_string_equal(sum.problems.list[1]->kind, "tcp_timeout");
    assert_string_equal(sum.problems.list[2]->kind, "made_up");
    assert_string_equal(sum.problems.list[3]->kind, "expires_14d");
    assert_string_equal(sum.problems.list[3]->sample[0].host, "c");
    assert_string_equal(sum.problems.list[4]->kind, "expires_30d");
    assert_string_equal(sum.problems.list[5]->title, "SSLv3 accepted");
    assert_string_equal(sum.problems.list[5]->sample[0].host, "a");
    /* weakest: B and worse, worst first. */
    assert_int_equal(sum.n_weakest, 3);
    assert_string_equal(sum.weakest[0].grade, "T");
    assert_string_equal(sum.weakest[1].grade, "C");
    assert_string_equal(sum.weakest[2].grade, "B");
    tw_summary_cleanup(&sum);

    opts.has_expiring = 1;
    opts.expiring_days = 7;
    assert_int_equal(tw_report_summarize(db, &s, &opts, &sum, err), 0);
    assert_int_equal(sum.total, 2); /* expired + 3 days */
    tw_summary_cleanup(&sum);
    opts.has_expiring = 0;
    opts.where = "grade IS NULL OR port <> 443";
    assert_int_equal(tw_report_summarize(db, &s, &opts, &sum, err), 0);
    assert_int_equal(sum.total, 2);
    tw_summary_cleanup(&sum);
    opts.where = "no_such_column";
    assert_int_equal(tw_report_summarize(db, &s, &opts, &sum, err), 1);
    assert_non_null(strstr(err, "no_such_column"));
    tw_report_scan_cleanup(&s);
    tw_store_close(st);
}

static void
test_summary_authorizer_read_only(void **state)
{
    struct tw_store *st = open_ro();
    sqlite3 *db = tw_store_db(st);
    sqlite3_stmt *q = NULL;
    static const char *const refused[] = {
        "DELETE FROM results",     "INSERT INTO scans(started_at) VALUES ('x')",
        "PRAGMA user_version = 9", "ATTACH DATABASE '/tmp/x.db' AS x",
        "CREATE TABLE t(x)",       "SELECT load_extension('x')",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_not_equal(sqlite3_prepare_v2(db, refused[i], -1, &q, NULL), SQLITE_OK);
        sqlite3_finalize(q);
        q = NULL;
    }
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM results", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 7);
    sqlite3_finalize(q);
    tw_store_close(st);
}

static int
setup_interrupted_only(void **state)
{
    (void)state;
    return make_db("INSERT INTO scans(id, started_at, status) VALUES"
                   " (1, '2026-03-01T00:00:00Z', 'interrupted'),"
                   " (2, '2026-03-02T00:00:00Z', 'interrupted'),"
                   " (3, '2026-03-03T00:00:00Z', 'running');");
}

static void
test_summary_latest_fallback(void **state)
{
    struct tw_store *st = open_ro();
    struct tw_scan_info s;
    char err[TW_ERRLEN];

    (void)state;
    assert_int_equal(tw_report_scan_find(tw_store_db(st), NULL, INT64_MIN, &s, err), 0);
    assert_int_equal(s.id, 2);
    assert_int_equal(s.is_fallback, 1);
    assert_int_equal(s.n_results, 0);
    tw_report_scan_cleanup(&s);
    assert_int_equal(tw_report_scan_done_nth(tw_store_db(st), 0, &s, err), 1);
    tw_store_close(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_summary_scan_find, setup_estate, teardown),
        cmocka_unit_test_setup_teardown(test_summary_counts, setup_estate, teardown),
        cmocka_unit_test_setup_teardown(test_summary_authorizer_read_only, setup_estate, teardown),
        cmocka_unit_test_setup_teardown(test_summary_latest_fallback, setup_interrupted_only,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
