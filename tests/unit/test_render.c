/*
 * test_render.c - the renderer table, ranks, the
 * CSP hash (SHA-256/base64 vectors) and every renderer end to end on a
 * small database made at test time (hostile values included).
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
#include "report/render.h"
#include "report/sha256.h"
#include "base/log.h"
#include "store/store.h"
#include "tls/grade.h"

static void
hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
test_render_sha256_vectors(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } vec[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        /* 55, 56 and 64 bytes: the padding edges. */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    uint8_t d[32];
    char h[65];

    (void)state;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        tw_sha256(vec[i].in, strlen(vec[i].in), d);
        hex(d, 32, h);
        assert_string_equal(h, vec[i].want);
    }
}

static void
test_render_base64(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(tw_base64((const uint8_t *)"f", 1, out, sizeof(out)), 4);
    assert_string_equal(out, "Zg==");
    tw_base64((const uint8_t *)"fo", 2, out, sizeof(out));
    assert_string_equal(out, "Zm8=");
    tw_base64((const uint8_t *)"foobar", 6, out, sizeof(out));
    assert_string_equal(out, "Zm9vYmFy");
    assert_int_equal(tw_base64((const uint8_t *)"foobar", 6, out, 8), 0); /* too small */
}

static void
test_render_table(void **state)
{
    static const char *const names[] = {"text", "json", "csv", "md", "html", "prom"};

    (void)state;
    assert_int_equal(tw_n_renderers, 6);
    for (size_t i = 0; i < 6; i++) {
        const struct tw_renderer *r = tw_renderer_find(names[i]);
        assert_non_null(r);
        assert_string_equal(r->name, names[i]);
        assert_non_null(r->help);
        assert_non_null(r->begin);
        assert_non_null(r->row);
        assert_non_null(r->end);
    }
    assert_null(tw_renderer_find("xml"));
    assert_null(tw_renderer_find(""));
}

/* The severity rank the reports sort and colour grades by. */
static int
sev(const char *grade)
{
    return tw_grade_severity(tw_grade_from_name(grade));
}

static void
test_render_ranks(void **state)
{
    (void)state;
    assert_int_equal(sev("A+"), 0);
    assert_true(sev("A") < sev("B"));
    assert_true(sev("E") < sev("M"));
    assert_true(sev("T") < sev("F"));
    assert_int_equal(sev(NULL), TW_GRADE_NONE);
    assert_int_equal(sev("Z"), TW_GRADE_NONE);
    assert_true(tw_class_rank("dns_nxdomain") < tw_class_rank("tcp_refused"));
    assert_true(tw_class_rank("weak_signature") < tw_class_rank("ok"));
    assert_true(tw_class_rank("bogus") < tw_class_rank("ok"));
    assert_true(tw_class_rank("bogus") > tw_class_rank("weak_signature"));
}

/* ---- end to end on a database made here ---- */

static char db_path[64];

static int
setup_db(void **state)
{
    static const char *const sql =
        "INSERT INTO scans(id, label, started_at, finished_at, status) VALUES"
        " (1, 'unit', '2026-03-01T00:00:00Z', '2026-03-01T00:01:00Z', 'done');"
        "INSERT INTO certs(sha256, subject, issuer, not_after) VALUES"
        " ('c1', 'CN=<script>alert(1)</script>', 'CN=\x1b[31mCA', '2026-03-11T00:00:00Z'),"
        " ('c2', 'CN=ok.example', 'CN=CA', '2027-03-01T00:00:00Z');"
        "INSERT INTO results(id, scan_id, host, ip, port, sni, class, issues, tls_version,"
        " cipher, grade, cert_sha256, detail) VALUES"
        " (1, 1, 'ok.example', '10.0.0.1', 443, 'ok.example', 'ok', 'ok', 'TLSv1.3', 'S', 'A+',"
        "  'c2', NULL),"
        " (2, 1, 'evil.example', '10.0.0.2', 443, '=evil', 'self_signed', 'self_signed',"
        "  'TLSv1.2', 'S', 'T', 'c1', 'a,\"b\"\nc'),"
        " (3, 1, 'down.example', '10.0.0.3', 443, NULL, 'tcp_refused', 'tcp_refused', NULL,"
        "  NULL, NULL, NULL, NULL);"
        "INSERT INTO result_chain(result_id, depth, cert_sha256) VALUES (2, 0, 'c1'), (2, 1, "
        "'c2');"
        "INSERT INTO grade_reasons(result_id, code, text, cap) VALUES"
        " (1, 'no_fs', 'no forward secrecy', 'B'), (1, 'no_aead', 'no AEAD', 'B');";
    struct tw_store *st = NULL;
    char err[TW_ERRLEN];
    int fd;

    (void)state;
    snprintf(db_path, sizeof(db_path), "/tmp/test_render.XXXXXX");
    fd = mkstemp(db_path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(db_path);
    if (tw_store_open(db_path, 0, &st, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (sqlite3_exec(tw_store_db(st), sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s\n", sqlite3_errmsg(tw_store_db(st)));
        tw_store_close(st);
        return -1;
    }
    tw_store_close(st);
    return 0;
}

static int
teardown_db(void **state)
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

/* Render scan 1 with format into a heap string. */
static char *
render(const char *format, const char *where)
{
    struct tw_store *st = NULL;
    struct tw_scan_info scan;
    struct tw_report_opts opts;
    char err[TW_ERRLEN];
    char *buf = NULL;
    size_t len = 0;
    FILE *m;

    assert_int_equal(tw_store_open(db_path, TW_STORE_READONLY, &st, err), 0);
    assert_int_equal(tw_report_db_prepare(tw_store_db(st), err), 0);
    assert_int_equal(tw_report_scan_find(tw_store_db(st), "latest", INT64_MIN, &scan, err), 0);
    memset(&opts, 0, sizeof(opts));
    opts.group_none = 1; /* the flat per-endpoint list (issue 16: not the default) */
    opts.where = where;
    opts.has_reasons = tw_report_has_table(tw_store_db(st), "grade_reasons");
    m = open_memstream(&buf, &len);
    assert_int_equal(tw_report_run(tw_store_db(st), &scan, &opts, tw_renderer_find(format), m, err),
                     0);
    fclose(m);
    tw_report_scan_cleanup(&scan);
    tw_store_close(st);
    return buf;
}

static void
test_render_text_end_to_end(void **state)
{
    char *out = render("text", NULL);
    const char *down;
    const char *evil;
    const char *ok;

    (void)state;
    /* Worst first: failure, certificate issue, ok. */
    down = strstr(out, "down.example:443");
    evil = strstr(out, "\nT      self_signed");
    ok = strstr(out, "\nA+     ok");
    assert_non_null(down);
    assert_non_null(evil);
    assert_non_null(ok);
    assert_true(strstr(out, "Endpoints, worst first") < down);
    assert_true(down < evil && evil < ok);
    assert_null(strchr(out, '\x1b'));
    assert_non_null(strstr(out, "openssl s_client -connect 10.0.0.3:443 -noservername"));
    assert_non_null(strstr(out, "1 within 30 days"));
    assert_non_null(strstr(out, "capped: no forward secrecy; no AEAD\n"));
    free(out);
}

static void
test_render_html_escapes(void **state)
{
    char *out = render("html", NULL);

    (void)state;
    assert_null(strstr(out, "<script>alert"));
    assert_non_null(strstr(out, "CN=&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(out, "script-src 'sha256-"));
    /* one endpoint row per result */
    {
        int n = 0;
        for (const char *p = out; (p = strstr(p, "<tr class=\"ep\"")) != NULL; p++)
            n++;
        assert_int_equal(n, 3);
    }
    free(out);
}

static void
test_render_json_csv_prom(void **state)
{
    char *j = render("json", NULL);
    char *c = render("csv", NULL);
    char *p = render("prom", NULL);
    char *w = render("json", "class = 'ok'");

    (void)state;
    assert_non_null(
        strstr(j, "\"cert_subject\":\"CN=\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\""));
    assert_non_null(strstr(j, "\"detail\":\"a,\\\"b\\\"\\nc\""));
    assert_non_null(strstr(j, "\"grade_reasons\":[\"no_fs\",\"no_aead\"],"));
    assert_non_null(strstr(c, ",\"'=evil\","));
    assert_non_null(strstr(c, ",\"a,\"\"b\"\"\nc\","));
    assert_non_null(strstr(p, "tlsweep_cert_expiry_seconds{host=\"evil.example\",ip=\"10.0.0.2\","
                              "port=\"443\",sni=\"=evil\"} 864000\n"));
    assert_non_null(strstr(p, "tlsweep_endpoints{class=\"tcp_refused\"} 1\n"));
    assert_non_null(strstr(w, "\"endpoints\":1,"));
    assert_null(strstr(w, "evil.example"));
    free(j);
    free(c);
    free(p);
    free(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_sha256_vectors),
        cmocka_unit_test(test_render_base64),
        cmocka_unit_test(test_render_table),
        cmocka_unit_test(test_render_ranks),
        cmocka_unit_test_setup_teardown(test_render_text_end_to_end, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_render_html_escapes, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_render_json_csv_prom, setup_db, teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
