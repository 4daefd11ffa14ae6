/*
 * test_refclients.c - the reference client table (tls/refclients.[ch]):
 * enough rows, every client the issue names, every suite, group and
 * signature algorithm known to tls/suites, unique names, sane versions, a
 * source on every row; and the client file loader, which accepts a good
 * file and rejects each kind of bad input with a "file:line" message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "tls/clients.h"
#include "tls/refclients.h"
#include "tls/suites.h"

/* ---- the table ---- */

static void
test_row_count(void **state)
{
    (void)state;
    assert_true(tw_refclients_count() >= 30);
    assert_null(tw_refclients_at(tw_refclients_count()));
    assert_int_equal(TW_REFCLIENTS_VERSION, 2);
}

static void
test_required_clients(void **state)
{
    static const char *const required[] = {
        "Chrome",
        "Firefox",
        "Safari",
        "Edge",
        "Android 4.4",
        "Android 7",
        "Android 14",
        "iOS 12",
        "iOS 17",
        "Java 8",
        "Java 11",
        "Java 17",
        "Java 21",
        "OpenSSL 1.0.2",
        "OpenSSL 1.1.1",
        "OpenSSL 3",
        "curl",
        "Python",
        "Go",
        ".NET on Windows 7",
        ".NET on Windows 10",
        ".NET on Windows 11",
        "IE 11 on Windows 7",
    };
    (void)state;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const struct tw_refclient *c = tw_refclients_find(required[i]);

        if (c == NULL)
            fail_msg("missing client %s", required[i]);
        assert_string_equal(c->name, required[i]);
    }
    /* Lookup ignores ASCII case; unknown names are NULL. */
    assert_non_null(tw_refclients_find("chrome"));
    assert_null(tw_refclients_find("Netscape"));
    assert_null(tw_refclients_find(NULL));
}

static void
test_rows_known_and_sane(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_refclients_count(); i++) {
        const struct tw_refclient *c = tw_refclients_at(i);
        int has13 = 0, has_legacy = 0;

        assert_non_null(c->name);
        assert_true(strlen(c->name) > 0);
        assert_non_null(c->version);
        assert_true(strlen(c->version) > 0);
        if (c->source == NULL || strlen(c->source) < 10)
            fail_msg("%s: no source", c->name);
        assert_non_null(c->note);
        assert_non_null(tw_suites_version_name(c->min_version));
        assert_non_null(tw_suites_version_name(c->max_version));
        assert_true(c->min_version <= c->max_version);
        assert_true(c->n_suites > 0);
        assert_true(c->n_groups > 0);
        assert_true(c->n_sigalgs > 0);
        for (size_t j = 0; j < c->n_suites; j++) {
            const struct tw_suite *s = tw_suites_find(c->suites[j]);

            if (s == NULL || s->is_scsv)
                fail_msg("%s: suite 0x%04x not in tls/suites", c->name, c->suites[j]);
            if (s->is_tls13)
                has13 = 1;
            else
                has_legacy = 1;
            for (size_t k = 0; k < j; k++)
                if (c->suites[k] == c->suites[j])
                    fail_msg("%s: suite 0x%04x twice", c->name, c->suites[j]);
        }
        /* min_dh is 0 exactly when the client offers no DHE suite. */
        {
            int dhe = 0;

            for (size_t j = 0; j < c->n_suites; j++)
                if (tw_suites_find(c->suites[j])->kx == TW_KX_DHE)
                    dhe = 1;
            if (dhe != (c->min_dh != 0))
                fail_msg("%s: min_dh %u but DHE offered: %d", c->name, c->min_dh, dhe);
        }
        /* TLS 1.3 suites exactly when the client speaks TLS 1.3. */
        assert_int_equal(has13, c->max_version == TW_VERSION_TLS13);
        assert_int_equal(has_legacy, c->min_version <= TW_VERSION_TLS12);
        for (size_t j = 0; j < c->n_groups; j++)
            if (tw_suites_group_find(c->groups[j]) == NULL)
                fail_msg("%s: group %u not in tls/suites", c->name, c->groups[j]);
        for (size_t j = 0; j < c->n_sigalgs; j++)
            if (tw_refclients_sigalg_name(c->sigalgs[j]) == NULL)
                fail_msg("%s: sigalg 0x%04x unknown", c->name, c->sigalgs[j]);
        assert_true(c->sni <= 1 && c->cn_fallback <= 1 && c->aia <= 1);
        assert_true(c->min_rsa >= 512 && c->min_rsa <= 4096);
        assert_true(c->min_ec >= 160 && c->min_ec <= 521);
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(tw_refclients_at(k)->name, c->name) == 0)
                fail_msg("name %s twice", c->name);
    }
}

static void
test_policies(void **state)
{
    uint32_t mask = 99;
    size_t n_modern = 0;

    (void)state;
    assert_int_equal(tw_refclients_policy_parse("modern", &mask), 0);
    assert_int_equal(mask, TW_REFCLIENTS_POLICY_MODERN);
    for (size_t i = 0; i < tw_refclients_count(); i++) {
        const struct tw_refclient *c = tw_refclients_at(i);

        if (tw_refclients_in_policy(c, mask)) {
            n_modern++;
            /* Every modern client speaks TLS 1.2 at least and never below. */
            assert_int_equal(c->min_version, TW_VERSION_TLS12);
            /* Browsers ignore the CN; only OpenSSL's X509_check_host, which
             * an application calls itself, still falls back to it. */
            if (strncmp(c->name, "OpenSSL", 7) != 0)
                assert_int_equal(c->cn_fallback, 0);
        }
    }
    assert_true(tw_refclients_in_policy(tw_refclients_find("Chrome"), mask));
    assert_true(tw_refclients_in_policy(tw_refclients_find("OpenSSL 3"), mask));
    assert_false(tw_refclients_in_policy(tw_refclients_find("Java 8"), mask));
    assert_true(n_modern >= 5);
    assert_int_equal(tw_refclients_policy_parse("all", &mask), 0);
    assert_int_equal(mask, 0);
    assert_true(tw_refclients_in_policy(tw_refclients_find("Java 8"), mask));
    assert_int_equal(tw_refclients_policy_parse("bogus", &mask), -1);
}

/* Rows checked against the clients' documented behaviour while reviewing
 * tests/golden/lab_sims.expected: Node.js's tls.checkServerIdentity still
 * falls back to the subject CN when a certificate has no subjectAltName (the
 * table said SAN only), and Android 5 (API 21) offers no X25519 (Conscrypt
 * gained it in API 24; the table gave it Android 7's groups). */
static void
test_reviewed_facts(void **state)
{
    const struct tw_refclient *node = tw_refclients_find("Node.js");
    const struct tw_refclient *a5 = tw_refclients_find("Android 5");
    const struct tw_refclient *a7 = tw_refclients_find("Android 7");
    int a7_x25519 = 0;

    (void)state;
    assert_non_null(node);
    assert_non_null(a5);
    assert_non_null(a7);
    assert_int_equal(node->cn_fallback, 1);
    for (size_t i = 0; i < a5->n_groups; i++)
        assert_int_not_equal(a5->groups[i], 29);
    for (size_t i = 0; i < a7->n_groups; i++)
        a7_x25519 |= a7->groups[i] == 29;
    assert_true(a7_x25519);
}

/* tls/clients.c's modern suites are "the ones every modern client offers":
 * the modern rows here must bear that out, and speak no version below its
 * floor. */
static void
test_modern_agrees_with_clients(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_refclients_count(); i++) {
        const struct tw_refclient *c = tw_refclients_at(i);

        if (!tw_refclients_in_policy(c, TW_REFCLIENTS_POLICY_MODERN))
            continue;
        assert_int_equal(c->min_version, TW_CLIENTS_MODERN_MIN_VERSION);
        for (size_t k = 0; k < tw_suites_count(); k++) {
            uint16_t code = tw_suites_at(k)->code;
            int offered = 0;

            if (!tw_clients_modern_suite(code))
                continue;
            for (size_t j = 0; j < c->n_suites; j++)
                if (c->suites[j] == code)
                    offered = 1;
            if (!offered)
                fail_msg("%s does not offer modern suite 0x%04x", c->name, code);
        }
    }
}

/* The audited facts (session 3): current Java updates disable the static
 * ECDH suites (jdk.tls.disabledAlgorithms "ECDH", JDK-8279164), old 8u202
 * still offers them; Go offers its signature schemes in defaults.go order. */
static int
offers(const struct tw_refclient *c, uint16_t code)
{
    for (size_t i = 0; i < c->n_suites; i++)
        if (c->suites[i] == code)
            return 1;
    return 0;
}

static void
test_audited_facts(void **state)
{
    static const char *const current_java[] = {"Java 8u441", "Java 11", "Java 17", "Java 21"};
    static const uint16_t static_ecdh[] = {0xC02E, 0xC032, 0xC02D, 0xC031, 0xC026, 0xC02A,
                                           0xC025, 0xC029, 0xC005, 0xC00F, 0xC004, 0xC00E};
    static const uint16_t go_sigalgs[] = {0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401,
                                          0x0501, 0x0601, 0x0503, 0x0603, 0x0201, 0x0203};
    const struct tw_refclient *c;

    (void)state;
    for (size_t i = 0; i < sizeof(current_java) / sizeof(current_java[0]); i++) {
        c = tw_refclients_find(current_java[i]);
        assert_non_null(c);
        for (size_t k = 0; k < sizeof(static_ecdh) / sizeof(static_ecdh[0]); k++)
            assert_false(offers(c, static_ecdh[k]));
    }
    c = tw_refclients_find("Java 8");
    assert_non_null(c);
    assert_true(offers(c, 0xC02E));
    c = tw_refclients_find("Go");
    assert_non_null(c);
    assert_int_equal(c->n_sigalgs, sizeof(go_sigalgs) / sizeof(go_sigalgs[0]));
    for (size_t i = 0; i < c->n_sigalgs; i++)
        assert_int_equal(c->sigalgs[i], go_sigalgs[i]);
}

static void
test_sigalg_names(void **state)
{
    uint16_t code = 0;

    (void)state;
    assert_string_equal(tw_refclients_sigalg_name(0x0804), "rsa_pss_rsae_sha256");
    assert_int_equal(tw_refclients_sigalg_parse("ecdsa_secp256r1_sha256", &code), 0);
    assert_int_equal(code, 0x0403);
    assert_int_equal(tw_refclients_sigalg_parse("rsa_sha999", &code), -1);
    assert_null(tw_refclients_sigalg_name(0x1234));
}

/* ---- the file loader ---- */

static const char good[] = "# A corporate Java agent.\n"
                           "name = Acme agent\n"
                           "version = 2.3\n"
                           "versions = TLSv1.2, TLSv1.3\n"
                           "suites = 0x1301, TLS_AES_256_GCM_SHA384, 0xC02F,\r\n"
                           "  \n"
                           "groups = x25519, secp256r1, P-384\n"
                           "sigalgs = rsa_pss_rsae_sha256, 0x0403\n"
                           "sni = no\n"
                           "min_rsa = 3072\n"
                           "min_dh = 0\n"
                           "min_ec = 384\n"
                           "cn_fallback = yes\n"
                           "aia = yes\n"
                           "source = vendor manual, chapter 7\n";

/* Write content to a temporary file; returns its path (static buffer). */
static const char *
write_tmp(const char *content, size_t len)
{
    static char path[64];
    int fd;
    FILE *f;

    snprintf(path, sizeof path, "/tmp/tw_refclients_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
    return path;
}

/* Load content from a file and return the loader's result; err gets the message. */
static int
load(const char *content, size_t len, char *err, size_t errlen, struct tw_refclient_loaded *out,
     char *path_out)
{
    const char *path = write_tmp(content, len);
    int rc = tw_refclients_load_file(path, out, err, errlen);

    snprintf(path_out, 64, "%s", path);
    unlink(path);
    return rc;
}

static void
test_load_good(void **state)
{
    struct tw_refclient_loaded o_buf, *o = &o_buf;
    char err[512], path[64];
    const struct tw_refclient *c;

    (void)state;
    /* The trailing comma on the suites line is an empty entry: drop it first. */
    {
        char buf[sizeof good];
        char *comma;

        memcpy(buf, good, sizeof good);
        comma = strstr(buf, ",\r\n");
        comma[0] = ' ';
        assert_int_equal(load(buf, strlen(buf), err, sizeof err, o, path), 0);
    }
    c = &o->client;
    assert_string_equal(c->name, "Acme agent");
    assert_string_equal(c->version, "2.3");
    assert_int_equal(c->min_version, TW_VERSION_TLS12);
    assert_int_equal(c->max_version, TW_VERSION_TLS13);
    assert_int_equal(c->n_suites, 3);
    assert_int_equal(c->suites[0], 0x1301);
    assert_int_equal(c->suites[1], 0x1302);
    assert_int_equal(c->suites[2], 0xC02F);
    assert_int_equal(c->n_groups, 3);
    assert_int_equal(c->groups[0], TW_GROUP_X25519);
    assert_int_equal(c->groups[2], TW_GROUP_SECP384R1);
    assert_int_equal(c->n_sigalgs, 2);
    assert_int_equal(c->sigalgs[1], 0x0403);
    assert_int_equal(c->sni, 0);
    assert_int_equal(c->min_rsa, 3072);
    assert_int_equal(c->min_dh, 0);
    assert_int_equal(c->min_ec, 384);
    assert_int_equal(c->cn_fallback, 1);
    assert_int_equal(c->aia, 1);
    assert_string_equal(c->source, "vendor manual, chapter 7");
    assert_string_equal(err, "");

    /* The example shipped in tls/clients.d loads too. */
    {
        /* __FILE__ is this file as the compiler saw it; the example sits two
         * folders up, then tls/clients.d/. */
        char ex[1024];
        const char *tail = strstr(__FILE__, "tests/unit/test_refclients.c");

        assert_non_null(tail);
        snprintf(ex, sizeof ex, "%.*stls/clients.d/example.conf", (int)(tail - __FILE__), __FILE__);
        if (tw_refclients_load_file(ex, o, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_string_equal(o->client.name, "Acme monitor");
    }
}

/* Expect the loader to reject content with "PATH:LINE: " + want as a prefix. */
static void
expect_error(const char *content, size_t len, int line, const char *want)
{
    struct tw_refclient_loaded o_buf, *o = &o_buf;
    char err[512], path[64], prefix[128];

    assert_int_equal(load(content, len, err, sizeof err, o, path), -1);
    snprintf(prefix, sizeof prefix, "%s:%d: %s", path, line, want);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("got '%s', want prefix '%s'", err, prefix);
    /* Nothing raw: the message is printable ASCII. */
    for (const char *p = err; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

#define HEAD "name = x\nversions = TLSv1.2\nsource = s\n"

static void
test_load_bad(void **state)
{
    char *big;

    (void)state;
    expect_error(HEAD "suites = 0xC02F\ncolour = blue\n",
                 strlen(HEAD "suites = 0xC02F\ncolour = blue\n"), 5, "unknown key 'colour'");
    expect_error(HEAD "suites = 0xC02F, 0xFFEE\n", strlen(HEAD "suites = 0xC02F, 0xFFEE\n"), 4,
                 "suites: unknown entry '0xFFEE'");
    expect_error(HEAD "suites = TLS_RSA_WITH_FANCY\n", strlen(HEAD "suites = TLS_RSA_WITH_FANCY\n"),
                 4, "suites: unknown entry 'TLS_RSA_WITH_FANCY'");
    expect_error(HEAD "suites = 0xC02F\ngroups = x25519, curve9\n",
                 strlen(HEAD "suites = 0xC02F\ngroups = x25519, curve9\n"), 5,
                 "groups: unknown entry 'curve9'");
    expect_error("versions = TLSv1.2\nsuites = 0xC02F\nsource = s\n",
                 strlen("versions = TLSv1.2\nsuites = 0xC02F\nsource = s\n"), 3,
                 "end of file: missing key 'name'");
    expect_error(HEAD "versions = TLSv1.3\n", strlen(HEAD "versions = TLSv1.3\n"), 4,
                 "key 'versions' given twice");
    expect_error("name = x\nversions = TLSv1, TLSv1.2\n",
                 strlen("name = x\nversions = TLSv1, TLSv1.2\n"), 2,
                 "versions: not a contiguous range");
    expect_error("name = Chrome\n", strlen("name = Chrome\n"), 1,
                 "name 'Chrome' is a built-in client");

    /* Binary bytes: reported by value, never echoed. */
    expect_error("name = a\x01\xff"
                 "b\n",
                 12, 1, "control or non-ASCII byte 0x01 at column 9");
    expect_error("name = ab\n\0suites = 1\n", 22, 2, "control or non-ASCII byte 0x00");
    /* A hostile key is escaped in the message. */
    expect_error("na\tme\x1b = x\n", 11, 1, "control or non-ASCII byte 0x1b");
    expect_error("n'me = x\n", 9, 1, "unknown key 'n\\x27me'");

    /* An overlong line. */
    big = malloc(4096);
    assert_non_null(big);
    memset(big, 'a', 4096);
    memcpy(big, "note = ", 7);
    big[4095] = '\n';
    expect_error(big, 4096, 1, "line longer than 1024 bytes");
    /* Exactly the limit is fine: the error is about the missing keys. */
    big[0] = '#';
    big[1024] = '\n';
    expect_error(big, 1025, 1, "end of file: missing key 'name'");
    /* Too many lines. */
    memset(big, '\n', 4096);
    memset(big, '#', 1);
    expect_error(big, 300, 201, "more than 200 lines");
    free(big);
}

static void
test_parse_buffer(void **state)
{
    struct tw_refclient_loaded o_buf, *o = &o_buf;
    char err[256];
    static const char text[] = "name=b\nversions=TLSv1.3\nsuites=TLS_AES_128_GCM_SHA256\nsource=x";

    (void)state;
    assert_int_equal(tw_refclients_parse("mem", text, strlen(text), o, err, sizeof err), 0);
    assert_int_equal(o->client.n_suites, 1);
    assert_int_equal(o->client.min_version, TW_VERSION_TLS13);
    assert_int_equal(o->client.sni, 1); /* default */
    /* A hostile label (a file name) is escaped like the input. */
    assert_int_equal(tw_refclients_parse("a\x1b[2Jb", "colour = 1\n", 11, o, err, sizeof err), -1);
    assert_string_equal(err, "a\\x1b[2Jb:1: unknown key 'colour'");
    /* An entry between two commas must not be empty. */
    assert_int_equal(tw_refclients_parse("m", "suites = 0x1301,,0x1302\n", 24, o, err, sizeof err),
                     -1);
    assert_string_equal(err, "m:1: suites: empty entry in the list");
    /* A missing file names the path. */
    assert_int_equal(tw_refclients_load_file("/nonexistent/x.conf", o, err, sizeof err), -1);
    assert_true(strncmp(err, "/nonexistent/x.conf:0: cannot open", 34) == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_count),
        cmocka_unit_test(test_required_clients),
        cmocka_unit_test(test_rows_known_and_sane),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_reviewed_facts),
        cmocka_unit_test(test_sigalg_names),
        cmocka_unit_test(test_audited_facts),
        cmocka_unit_test(test_modern_agrees_with_clients),
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_bad),
        cmocka_unit_test(test_parse_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
