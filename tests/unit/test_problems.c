/*
 * test_problems.c - the fix-first grouping (report/problems.c): endpoints
 * with one root cause fold into one problem, the ranking by tier and
 * count, the sample bound, membership ranks, and hostile titles escaped by
 * each format's escaper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/escape.h"
#include "report/problems.h"
#include "report/query.h"
#include "store/model.h"

/* A row as the iterator fills it; strings borrowed (never freed here). */
static struct tw_report_row
mkrow(int64_t id, const char *host, const char *cls, const char *detail, const char *sha,
      int has_expiry, int64_t days)
{
    struct tw_report_row r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.host = (char *)host;
    r.ip = (char *)"10.0.0.1";
    r.sni = (char *)host;
    r.port = 443;
    r.class_name = (char *)cls;
    r.detail = (char *)detail;
    r.cert_sha256 = (char *)sha;
    r.leaf_subject = (char *)(sha != NULL ? "CN=x" : NULL);
    r.leaf_issuer = (char *)"CN=Issuer";
    r.has_expiry = has_expiry;
    r.days_left = days;
    r.cls_known = tw_class_from_name(cls, &r.cls) == 0;
    if (!r.cls_known)
        r.cls = TW_CLASS_TLS_ALERT;
    r.repro = r.cls_known && r.cls == TW_CLASS_OK ? NULL : (char *)"openssl s_client";
    return r;
}

static const struct tw_problem *
find_kind(const struct tw_problems *p, const char *kind)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->list[i]->kind, kind) == 0)
            return p->list[i];
    return NULL;
}

/* 711 refused endpoints with the same detail are one problem; one
 * certificate expired on 3 hosts is one; ok endpoints are in none. */
static void
test_grouping(void **state)
{
    struct tw_problems p;
    int64_t id = 1;
    char ranks[64];

    (void)state;
    tw_problems_init(&p);
    for (int i = 0; i < 711; i++) {
        struct tw_report_row r =
            mkrow(id++, "refused", "tcp_refused", "connect: Connection refused", NULL, 0, 0);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    for (int i = 0; i < 3; i++) {
        struct tw_report_row r = mkrow(id++, "exp", "cert_expired", NULL, "ab12", 1, -3);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    for (int i = 0; i < 5; i++) {
        struct tw_report_row r = mkrow(id++, "fine", "ok", NULL, "cd34", 1, 200);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    tw_problems_finish(&p);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.n_endpoints, 714);
    assert_int_equal(p.list[0]->count, 711);
    assert_string_equal(p.list[0]->kind, "tcp_refused");
    assert_string_equal(p.list[0]->title, "tcp_refused: connect: Connection refused");
    assert_int_equal(p.list[0]->n_sample, TW_PROBLEMS_SAMPLE);
    assert_non_null(p.list[0]->why);
    assert_non_null(p.list[0]->try_cmd);
    assert_int_equal(p.list[1]->count, 3);
    assert_string_equal(p.list[1]->kind, "cert_expired");
    tw_problems_ranks(&p, 1, ranks, sizeof(ranks));
    assert_string_equal(ranks, "1");
    tw_problems_ranks(&p, 712, ranks, sizeof(ranks));
    assert_string_equal(ranks, "2");
    tw_problems_ranks(&p, 715, ranks, sizeof(ranks));
    assert_string_equal(ranks, "");
    assert_int_equal(tw_problems_shown(&p, 1), 1);
    assert_int_equal(tw_problems_shown(&p, 0), 2);
    assert_int_equal(tw_problems_shown(&p, 99), 2);
    tw_problems_free(&p);
}

/* Tier first (broken, 14 days, 30 days, cap, hygiene), then the count:
 * one expired certificate outranks 50 NXDOMAIN rows only by count within
 * its tier, and any broken problem outranks 1,000 hygiene ones. */
static void
test_ranking(void **state)
{
    struct tw_problems p;
    int64_t id = 1;

    (void)state;
    tw_problems_init(&p);
    for (int i = 0; i < 1000; i++) {
        struct tw_report_row r = mkrow(id++, "old", "ok", NULL, "ee", 1, 300);
        tw_problems_add(&p, &r, "TLSv1", NULL);
    }
    for (int i = 0; i < 40; i++) {
        struct tw_report_row r = mkrow(id++, "capd", "ok", NULL, "ff", 1, 300);
        tw_problems_add(&p, &r, "TLSv1",
                        "tls10_or_11\x1f"
                        "B\x1f"
                        "TLS 1.0 or TLS 1.1 is supported");
    }
    for (int i = 0; i < 7; i++) {
        struct tw_report_row r = mkrow(id++, "soon", "ok", NULL, "aa", 1, 20);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    for (int i = 0; i < 2; i++) {
        struct tw_report_row r = mkrow(id++, "sooner", "ok", NULL, "bb", 1, 3);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    for (int i = 0; i < 50; i++) {
        struct tw_report_row r = mkrow(id++, "nx", "dns_nxdomain", "NXDOMAIN", NULL, 0, 0);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    {
        struct tw_report_row r = mkrow(id++, "exp", "cert_expired", NULL, "cc", 1, -1);
        tw_problems_add(&p, &r, NULL, NULL);
    }
    tw_problems_finish(&p);
    assert_int_equal(p.n, 6);
    assert_string_equal(p.list[0]->kind, "dns_nxdomain");
    assert_string_equal(p.list[1]->kind, "cert_expired");
    assert_string_equal(p.list[2]->kind, "expires_14d");
    assert_int_equal(p.list[2]->count, 2);
    assert_string_equal(p.list[3]->kind, "expires_30d");
    assert_string_equal(p.list[4]->kind, "grade_cap");
    assert_int_equal(p.list[4]->count, 40);
    /* The 40 capped endpoints are not counted again as "TLSv1 accepted". */
    assert_string_equal(p.list[5]->kind, "protocol");
    assert_string_equal(p.list[5]->title, "TLSv1 accepted");
    assert_int_equal(p.list[5]->count, 1000);
    for (size_t i = 0; i < p.n; i++)
        assert_int_equal(p.list[i]->rank, (int)i + 1);
    assert_string_equal(tw_problem_severity(p.list[0]->tier), "critical");
    assert_string_equal(tw_problem_severity(p.list[5]->tier), "info");
    assert_null(find_kind(&p, "ok"));
    tw_problems_free(&p);
}

/* An endpoint joins a problem once even when two of its facts lead to it
 * (class cert_expired and a past notAfter); an incomplete chain groups by
 * issuer, whatever the leaf. */
static void
test_once_and_issuer(void **state)
{
    struct tw_problems p;
    struct tw_report_row a = mkrow(1, "a", "cert_expired", NULL, "11", 1, -5);
    struct tw_report_row b = mkrow(2, "b", "incomplete_chain", NULL, "22", 1, 100);
    struct tw_report_row c = mkrow(3, "c", "incomplete_chain", NULL, "33", 1, 100);
    char ranks[64];

    (void)state;
    tw_problems_init(&p);
    tw_problems_add(&p, &a, NULL, NULL);
    tw_problems_add(&p, &b, NULL, NULL);
    tw_problems_add(&p, &c, NULL, NULL);
    tw_problems_finish(&p);
    assert_int_equal(p.n, 2);
    assert_int_equal(find_kind(&p, "cert_expired")->count, 1);
    assert_int_equal(find_kind(&p, "incomplete_chain")->count, 2);
    assert_string_equal(find_kind(&p, "incomplete_chain")->title,
                        "incomplete_chain: certificates issued by CN=Issuer");
    tw_problems_ranks(&p, 1, ranks, sizeof(ranks));
    assert_string_equal(ranks, "2");
    tw_problems_ranks(&p, 2, ranks, 1); /* too small for "1": empty, not cut */
    assert_string_equal(ranks, "");
    tw_problems_free(&p);
}

static char *
escaped(tw_escape_fn *esc, const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);

    assert_non_null(m);
    esc(m, s);
    fclose(m);
    return buf;
}

/* A hostile detail and cap text end up in titles as data: long values are
 * cut, and each format's escaper neutralises them. */
static void
test_hostile(void **state)
{
    struct tw_problems p;
    char detail[2000];
    const char *evil = "<script>alert(1)</script>\x1b[31m\x07|a|\n=cmd; per-endpoint facts";
    struct tw_report_row a = mkrow(1, "h<b>", "tls_alert", evil, NULL, 0, 0);
    struct tw_report_row b;
    char *s;

    (void)state;
    memset(detail, 'd', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    b = mkrow(2, "long", "tcp_reset", detail, NULL, 0, 0);
    tw_problems_init(&p);
    tw_problems_add(&p, &a, "bogus,TLSv1",
                    "x\x1f"
                    "B\x1f"
                    "<img src=x>\x1ey");
    tw_problems_add(&p, &b, NULL, NULL);
    tw_problems_finish(&p);
    assert_non_null(find_kind(&p, "tls_alert"));
    /* A failure groups by the first clause of its detail. */
    assert_null(strstr(find_kind(&p, "tls_alert")->title, "per-endpoint"));
    /* "bogus" is not a protocol we know: only TLSv1 became a problem. */
    assert_string_equal(find_kind(&p, "protocol")->title, "TLSv1 accepted");
    assert_true(strlen(find_kind(&p, "tcp_reset")->title) < TW_PROBLEMS_KEY_MAX + 64);
    /* The cap without text takes its code as text. */
    assert_int_equal(p.n, 5);

    s = escaped(tw_escape_html, find_kind(&p, "tls_alert")->title);
    assert_null(strstr(s, "<script>"));
    assert_non_null(strstr(s, "&lt;script&gt;"));
    free(s);
    s = escaped(tw_escape_term, find_kind(&p, "tls_alert")->title);
    assert_null(strchr(s, '\x1b'));
    assert_null(strchr(s, '\x07'));
    assert_null(strchr(s, '\n'));
    free(s);
    s = escaped(tw_escape_md, find_kind(&p, "tls_alert")->title);
    assert_non_null(strstr(s, "\\|a\\|"));
    assert_null(strchr(s, '\n'));
    free(s);
    s = escaped(tw_escape_json, find_kind(&p, "tls_alert")->title);
    assert_null(strchr(s, '<'));
    assert_non_null(strstr(s, "\\n"));
    free(s);
    s = escaped(tw_escape_csv, find_kind(&p, "grade_cap")->why);
    assert_null(strchr(s, '\x1f'));
    free(s);
    tw_problems_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_once_and_issuer),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
