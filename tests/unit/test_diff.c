/*
 * test_diff.c - the change rules for one endpoint across two scans: every
 * kind, and which of them are regressions; the diff format table; the
 * vanished threshold and the warnings two scans' fingerprints give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/diff.h"
#include "report/query.h"
#include "report/diff_render.h"

static struct tw_diff_ep
ep(const char *cls, const char *grade, const char *ver, const char *cipher, const char *sha,
   int days)
{
    struct tw_diff_ep e;

    memset(&e, 0, sizeof(e));
    e.host = "h.example";
    e.ip = "10.0.0.1";
    e.sni = "h.example";
    e.port = 443;
    e.class_name = cls;
    e.grade = grade;
    e.tls_version = ver;
    e.cipher = cipher;
    e.cert_sha256 = sha;
    e.not_after = sha ? "2026-01-01T00:00:00Z" : NULL;
    e.has_expiry = sha != NULL;
    e.days_left = days;
    return e;
}

/* The changes as "kind!,kind" (! = regression). */
static void
expect(const struct tw_diff_ep *o, const struct tw_diff_ep *n, int64_t thr, const char *want)
{
    struct tw_diff_change ch[TW_DIFF__COUNT];
    size_t k = tw_diff_compare(o, n, thr, ch);
    char got[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < k && used < sizeof(got); i++) {
        int w = snprintf(got + used, sizeof(got) - used, "%s%s%s", i ? "," : "",
                         tw_diff_kind_name(ch[i].kind), ch[i].is_regression ? "!" : "");

        if (w < 0)
            break;
        used += (size_t)w;
    }
    assert_string_equal(got, want);
}

static void
test_diff_unchanged(void **state)
{
    struct tw_diff_ep a = ep("ok", "A", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "aa", 100);

    (void)state;
    expect(&a, &a, 14, "");
}

/* Issue 14: a vulnerability probe that newly fires is a regression where
 * OLD tested it; one that stops firing, or keeps firing, is not a change of
 * this kind.  A probe OLD did not test (a scan from before the probe) or a
 * note (no grade effect) is reported but is no regression. */
static void
test_diff_vuln_new(void **state)
{
    struct tw_diff_ep a = ep("ok", "A", "TLSv1.3", "X", "aa", 100);
    struct tw_diff_ep b, c, d, u, e1, e2;
    const char *o, *n;

    (void)state;
    a.vulns_tested = "beast,ccs_injection,heartbleed,heartbleed_extension";
    b = a, c = a, d = a;
    u = ep("ok", "A", "TLSv1.3", "X", "aa", 100); /* OLD without vulns rows */
    e1 = a;
    e1.vulns = "beast"; /* a note */
    expect(&a, &e1, 14, "vuln_new");
    e2 = a;
    e2.vulns = "sweet32"; /* OLD did not test it */
    expect(&a, &e2, 14, "vuln_new");
    expect(&u, &e2, 14, "vuln_new");
    e2.vulns = "beast,heartbleed"; /* one regression among the new names */
    expect(&a, &e2, 14, "vuln_new!");
    expect(NULL, &e1, 14, "new,vuln_new");
    b.vulns = "heartbleed";
    c.vulns = "ccs_injection,heartbleed";
    d.vulns = "heartbleed_extension"; /* a longer name is not the same name */
    expect(&a, &b, 14, "vuln_new!");
    expect(&b, &b, 14, "");
    expect(&b, &a, 14, "");
    expect(&b, &c, 14, "vuln_new!");
    expect(&c, &b, 14, "");
    expect(&b, &d, 14, "vuln_new!");
    expect(NULL, &b, 14, "new,vuln_new!");
    tw_diff_values(TW_DIFF_VULN_NEW, &a, &c, &o, &n);
    assert_null(o);
    assert_string_equal(n, "ccs_injection,heartbleed");
}

/* Issue 13: a Mozilla profile newly failed is its own kind, not a
 * regression; per profile, a verdict missing in OLD counts as passing. */
static void
test_diff_noncompliant_new(void **state)
{
    struct tw_diff_ep a = ep("ok", "A", "TLSv1.3", "X", "aa", 100);
    struct tw_diff_ep b = a, c = a, d = a;

    (void)state;
    b.noncompliant = "modern";
    c.noncompliant = "modern,intermediate";
    d.noncompliant = ""; /* judged, every profile passed */
    expect(&d, &b, 14, "noncompliant_new");
    expect(&b, &c, 14, "noncompliant_new");
    expect(&c, &b, 14, "");
    expect(&c, &c, 14, "");
    expect(&a, &b, 14, "noncompliant_new");
    expect(NULL, &c, 14, "new,noncompliant_new");
    assert_true(tw_diff_newly_noncompliant(&b, &c, "intermediate"));
    assert_false(tw_diff_newly_noncompliant(&b, &c, "modern"));
    assert_false(tw_diff_newly_noncompliant(&b, &c, "old"));
    assert_true(tw_diff_newly_noncompliant(NULL, &c, "modern"));
    assert_false(tw_diff_newly_noncompliant(&c, NULL, "modern"));
    assert_false(tw_diff_newly_noncompliant(&b, &c, "inter")); /* a prefix is no name */
    assert_false(tw_diff_newly_noncompliant(&b, &c, NULL));
}

static void
test_diff_new_and_vanished(void **state)
{
    struct tw_diff_ep ok = ep("ok", "A", "TLSv1.3", "X", "aa", 100);
    struct tw_diff_ep bad = ep("tcp_refused", NULL, NULL, NULL, NULL, 0);
    struct tw_diff_ep soon = ep("ok", "A", "TLSv1.3", "X", "aa", 3);

    (void)state;
    expect(NULL, &ok, 14, "new");
    expect(&ok, NULL, 14, "vanished");
    expect(NULL, &bad, 14, "new,failure_new!");
    expect(NULL, &soon, 14, "new,expiring!");
    expect(NULL, NULL, 14, "");
}

static void
test_diff_failures(void **state)
{
    struct tw_diff_ep ok = ep("ok", "A", "TLSv1.3", "X", "aa", 100);
    struct tw_diff_ep refused = ep("tcp_refused", NULL, NULL, NULL, NULL, 0);
    struct tw_diff_ep timeout = ep("tcp_timeout", NULL, NULL, NULL, NULL, 0);
    struct tw_diff_ep expired = ep("cert_expired", "T", "TLSv1.3", "X", "aa", -1);

    (void)state;
    expect(&ok, &refused, 14, "failure_new!");
    expect(&refused, &ok, 14, "failure_fixed");
    /* failure -> failure: a class change; tcp_refused precedes tcp_timeout. */
    expect(&timeout, &refused, 14, "class_changed!");
    expect(&refused, &timeout, 14, "class_changed");
    /* A certificate problem is not a failure (a session was established). */
    expect(&ok, &expired, 14, "class_changed!,grade_down!,expiring!");
    expect(&expired, &refused, 14, "failure_new!");
}

static void
test_diff_class_precedence(void **state)
{
    struct tw_diff_ep self = ep("self_signed", "T", "TLSv1.2", "X", "aa", 100);
    struct tw_diff_ep weak = ep("weak_signature", "T", "TLSv1.2", "X", "aa", 100);
    struct tw_diff_ep ok = ep("ok", "T", "TLSv1.2", "X", "aa", 100);

    (void)state;
    expect(&self, &weak, 14, "class_changed");
    expect(&weak, &self, 14, "class_changed!");
    expect(&ok, &weak, 14, "class_changed!");
    expect(&weak, &ok, 14, "class_changed");
}

static void
test_diff_grades(void **state)
{
    static const char *const order[] = {"A+", "A", "A-", "B", "C", "D", "E", "M", "T", "F"};
    struct tw_diff_ep a = ep("ok", NULL, "TLSv1.3", "X", "aa", 100);
    struct tw_diff_ep b = a;

    (void)state;
    for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
        a.grade = order[i];
        b.grade = order[i + 1];
        expect(&a, &b, 14, "grade_down!");
        expect(&b, &a, 14, "grade_up");
    }
    a.grade = "A";
    b.grade = NULL; /* not graded (--quick): no verdict */
    expect(&a, &b, 14, "");
    expect(&b, &a, 14, "");
}

static void
test_diff_cert_protocol_cipher(void **state)
{
    struct tw_diff_ep a = ep("ok", "A", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "aa", 100);
    struct tw_diff_ep b = ep("ok", "A", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "bb", 200);

    (void)state;
    expect(&a, &b, 14, "cert_rotated,protocol_changed,cipher_changed");
}

static void
test_diff_expiry_threshold(void **state)
{
    struct tw_diff_ep far = ep("ok", "A", "TLSv1.3", "X", "aa", 20);
    struct tw_diff_ep near = ep("ok", "A", "TLSv1.3", "X", "aa", 13);
    struct tw_diff_ep nearer = ep("ok", "A", "TLSv1.3", "X", "aa", 2);
    struct tw_diff_ep nocert = ep("tcp_refused", NULL, NULL, NULL, NULL, 0);

    (void)state;
    expect(&far, &near, 14, "expiring!");
    expect(&near, &nearer, 14, ""); /* already within: not new */
    expect(&far, &near, 10, "");    /* threshold respected */
    far.days_left = 14;
    expect(&far, &near, 14, "expiring!"); /* 14 is not within 14 days, 13 is */
    expect(&nocert, &near, 14, "failure_fixed,expiring!");
}

static void
test_diff_values(void **state)
{
    struct tw_diff_ep a = ep("ok", "A", "TLSv1.2", "C1", "aa", 100);
    struct tw_diff_ep b = ep("cert_expired", "T", "TLSv1.3", "C2", "bb", 200);
    const char *o;
    const char *n;

    (void)state;
    tw_diff_values(TW_DIFF_CERT_ROTATED, &a, &b, &o, &n);
    assert_string_equal(o, "aa");
    assert_string_equal(n, "bb");
    tw_diff_values(TW_DIFF_GRADE_DOWN, &a, &b, &o, &n);
    assert_string_equal(o, "A");
    assert_string_equal(n, "T");
    tw_diff_values(TW_DIFF_NEW, NULL, &b, &o, &n);
    assert_null(o);
    assert_string_equal(n, "cert_expired");
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        assert_non_null(tw_diff_kind_name((enum tw_diff_kind)k));
        assert_string_not_equal(tw_diff_kind_name((enum tw_diff_kind)k), "unknown");
    }
}

/* The diff formats are a table looked up by name (STYLE G5). */
static void
test_diff_renderer_table(void **state)
{
    static const char *const names[] = {"text", "json", "csv", "md", "html"};

    (void)state;
    assert_int_equal(tw_n_diff_renderers, 5);
    for (size_t i = 0; i < 5; i++) {
        const struct tw_diff_renderer *r = tw_diff_renderer_find(names[i]);

        assert_non_null(r);
        assert_ptr_equal(r, &tw_diff_renderers[i]);
        assert_non_null(r->help);
        assert_non_null(r->begin);
        assert_non_null(r->section);
        assert_non_null(r->change);
        assert_non_null(r->end);
    }
    assert_null(tw_diff_renderer_find("xml"));
    assert_null(tw_diff_renderer_find(""));
}

/* Issue 16: the diff's HTML page shows hostile hosts, SNIs, classes,
 * grades, ciphers and scan labels as text: no markup, no attribute break-out,
 * and no script at all (script-src 'none'). */
static void
test_diff_html_escapes(void **state)
{
    static const char hostile[] = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&";
    const struct tw_diff_renderer *r = tw_diff_renderer_find("html");
    struct tw_scan_info old_scan, new_scan;
    struct tw_diff_report d;
    struct tw_diff_ep o = ep("ok", "A", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "aa", 100);
    struct tw_diff_ep n = ep(hostile, hostile, hostile, hostile, hostile, 3);
    struct tw_diff_change c[TW_DIFF__COUNT];
    size_t nc;
    char *out = NULL;
    size_t len = 0;
    FILE *m;

    (void)state;
    memset(&old_scan, 0, sizeof(old_scan));
    memset(&new_scan, 0, sizeof(new_scan));
    memset(&d, 0, sizeof(d));
    old_scan.id = 1;
    new_scan.id = 2;
    old_scan.label = (char *)hostile;
    snprintf(old_scan.status, sizeof(old_scan.status), "done");
    snprintf(new_scan.status, sizeof(new_scan.status), "<b>x</b>");
    n.host = hostile;
    n.sni = hostile;
    n.ip = hostile;
    n.not_after = hostile;
    o.host = hostile;
    o.sni = hostile;
    nc = tw_diff_compare(&o, &n, 30, c);
    assert_true(nc >= 4);
    m = open_memstream(&out, &len);
    assert_non_null(m);
    d.out = m;
    d.old = &old_scan;
    d.new_ = &new_scan;
    d.threshold = 30;
    for (size_t i = 0; i < nc; i++)
        d.counts[c[i].kind]++;
    r->begin(&d);
    for (size_t i = 0; i < nc; i++) {
        r->section(&d, c[i].kind);
        r->change(m, &d, 0, &c[i], &o, &n);
        d.n_sections++;
    }
    r->end(&d);
    assert_int_equal(fclose(m), 0);
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "<img"));
    assert_null(strstr(out, "<b>x"));
    assert_null(strstr(out, "\"'>"));
    assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img"));
    assert_non_null(strstr(out, "script-src 'none'"));
    assert_non_null(strstr(out, "</table>\n</body></html>\n"));
    free(out);
}

/* More than N %: strictly more, integer exact, 100 % never, 0 % any. */
static void
test_diff_vanished_threshold(void **state)
{
    (void)state;
    assert_int_equal(tw_diff_vanished_over(1, 10, 10), 0);  /* 10 % is not more than 10 % */
    assert_int_equal(tw_diff_vanished_over(2, 10, 10), 1);  /* 20 % */
    assert_int_equal(tw_diff_vanished_over(1, 11, 9), 1);   /* 9.09 % > 9 % */
    assert_int_equal(tw_diff_vanished_over(1, 11, 10), 0);  /* 9.09 % */
    assert_int_equal(tw_diff_vanished_over(11, 11, 99), 1); /* all of them */
    assert_int_equal(tw_diff_vanished_over(11, 11, 100), 0);
    assert_int_equal(tw_diff_vanished_over(1, 1000000, 0), 1);
    assert_int_equal(tw_diff_vanished_over(0, 10, 0), 0);
    assert_int_equal(tw_diff_vanished_over(0, 0, 10), 0); /* nothing to lose */
    assert_int_equal(tw_diff_vanished_over(3000000000LL, 3000000000LL, 10), 1);
}

static void
scan(struct tw_scan_info *s, int64_t id, const char *targets, const char *trust)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    snprintf(s->targets_sha256, sizeof(s->targets_sha256), "%s", targets);
    snprintf(s->trust_sha256, sizeof(s->trust_sha256), "%s", trust);
}

/* The codes tw_diff_scan_warnings gives for two scans, "a,b". */
static void
expect_codes(const struct tw_scan_info *o, const struct tw_scan_info *n, const char *want)
{
    struct tw_report_warnings ws;
    char got[256] = "";
    size_t off = 0;

    memset(&ws, 0, sizeof(ws));
    tw_diff_scan_warnings(o, n, &ws);
    for (size_t i = 0; i < ws.n; i++) {
        off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", i ? "," : "",
                                tw_report_warn_name(ws.w[i].code));
        assert_int_equal(ws.w[i].scan_id, n->id);
        assert_int_equal(ws.w[i].other_id, o->id);
    }
    assert_string_equal(got, want);
}

static void
test_diff_scan_warnings(void **state)
{
    const char *a64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *b64 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    struct tw_scan_info o, n;

    (void)state;
    scan(&o, 1, a64, a64);
    scan(&n, 2, a64, a64);
    expect_codes(&o, &n, "");
    scan(&n, 2, b64, a64);
    expect_codes(&o, &n, "targets_differ");
    scan(&n, 2, b64, b64);
    expect_codes(&o, &n, "targets_differ,trust_differs");
    /* A 16-digit fingerprint (before schema 5) is not compared with a full one. */
    scan(&o, 1, "aaaaaaaaaaaaaaaa", "");
    scan(&n, 2, b64, "");
    expect_codes(&o, &n, "");
    scan(&n, 2, "bbbbbbbbbbbbbbbb", b64);
    expect_codes(&o, &n, "targets_differ"); /* trust unknown on one side */
    scan(&o, 1, "", a64);
    scan(&n, 2, "", b64);
    expect_codes(&o, &n, "trust_differs");
}

/* The warning sentences and their JSON. */
static void
test_diff_warning_text(void **state)
{
    struct tw_report_warnings ws;
    struct tw_report_warning w;
    char buf[512];
    char *json = NULL;
    size_t len = 0;
    FILE *m;

    (void)state;
    memset(&w, 0, sizeof(w));
    w.code = TW_REPORT_WARN_NEWER_INTERRUPTED;
    w.scan_id = 12;
    w.other_id = 11;
    tw_report_warning_text(&w, "report", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "scan 12 (newer than scan 11 shown) is interrupted: its results are "
                             "not in this report; finish it with: tlsweep scan --resume=12");
    tw_report_warning_text(&w, "diff", "/var/lib/it's here.db", buf, sizeof(buf));
    assert_non_null(strstr(buf, "not in this diff; finish it with: tlsweep scan --resume=12 "
                                "--db '/var/lib/it'\\''s here.db'"));
    tw_report_warning_text(&w, "diff", "/var/lib/tlsweep.db", buf, sizeof(buf));
    assert_non_null(strstr(buf, "--resume=12 --db /var/lib/tlsweep.db"));
    w.code = TW_REPORT_WARN_VANISHED;
    w.scan_id = 4;
    w.other_id = 2;
    w.count = 14;
    w.total = 16;
    w.threshold_pct = 10;
    tw_report_warning_text(&w, "diff", NULL, buf, sizeof(buf));
    assert_non_null(strstr(buf, "14 of the 16 endpoints of scan 2 (87.5 %) are missing from scan "
                                "4, more than 10 %"));

    memset(&ws, 0, sizeof(ws));
    tw_report_warnings_add(&ws, &w);
    w.code = TW_REPORT_WARN_TRUST_DIFFERS;
    w.old_value = "\"<x>";
    w.new_value = NULL;
    tw_report_warnings_add(&ws, &w);
    m = open_memstream(&json, &len);
    assert_non_null(m);
    tw_report_warnings_json(m, &ws, "diff");
    fclose(m);
    assert_non_null(strstr(json, "[{\"code\":\"vanished\",\"message\":"));
    assert_non_null(strstr(json,
                           ",\"old_scan\":2,\"new_scan\":4,\"vanished\":14,"
                           "\"old_endpoints\":16,\"percent\":87.5,\"threshold_percent\":10}"));
    /* A fingerprint from the database is escaped like any string. */
    assert_non_null(strstr(json, "\"old_sha256\":\"\\\"\\u003cx\\u003e\",\"new_sha256\":null}]"));
    free(json);
    m = open_memstream(&json, &len);
    tw_report_warnings_json(m, NULL, "diff");
    fclose(m);
    assert_string_equal(json, "[]");
    free(json);
    /* The list is bounded. */
    memset(&ws, 0, sizeof(ws));
    for (int i = 0; i < TW_REPORT_WARN_MAX + 5; i++)
        tw_report_warnings_add(&ws, &w);
    assert_int_equal(ws.n, TW_REPORT_WARN_MAX);
}

/* The immutable URI: everything but unreserved bytes and '/' escaped. */
static void
test_diff_report_uri(void **state)
{
    char buf[256];

    (void)state;
    assert_int_equal(tw_report_uri("/srv/a b/x%41?y#z.db", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "file:///srv/a%20b/x%2541%3Fy%23z.db");
    assert_int_equal(tw_report_uri("//net/share.db", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "file:////net/share.db"); /* an empty authority, never "net" */
    assert_int_equal(tw_report_uri("rel/t.db", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "file:rel/t.db");
    assert_int_equal(tw_report_uri("\xc3\xa9&=.db", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "file:%C3%A9%26%3D.db");
    assert_int_equal(tw_report_uri("/abcdef", buf, 10), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_unchanged),
        cmocka_unit_test(test_diff_vuln_new),
        cmocka_unit_test(test_diff_new_and_vanished),
        cmocka_unit_test(test_diff_noncompliant_new),
        cmocka_unit_test(test_diff_failures),
        cmocka_unit_test(test_diff_class_precedence),
        cmocka_unit_test(test_diff_grades),
        cmocka_unit_test(test_diff_cert_protocol_cipher),
        cmocka_unit_test(test_diff_expiry_threshold),
        cmocka_unit_test(test_diff_values),
        cmocka_unit_test(test_diff_renderer_table),
        cmocka_unit_test(test_diff_html_escapes),
        cmocka_unit_test(test_diff_vanished_threshold),
        cmocka_unit_test(test_diff_scan_warnings),
        cmocka_unit_test(test_diff_warning_text),
        cmocka_unit_test(test_diff_report_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
