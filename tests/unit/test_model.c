/*
 * test_model.c - the shared vocabulary: class names and precedence, the
 * issues text format, and the time helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/model.h"

static void
test_model_class_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < TW_CLASS__COUNT; i++) {
        enum tw_class c;
        const char *name = tw_class_name((enum tw_class)i);

        assert_non_null(name);
        assert_true(strlen(name) > 0);
        assert_int_equal(tw_class_from_name(name, &c), 0);
        assert_int_equal(c, i);
        assert_non_null(tw_class_info((enum tw_class)i)->why);
        assert_non_null(tw_class_info((enum tw_class)i)->fix);
    }
    /* DESIGN §3 spellings are stable: check some at the edges. */
    assert_string_equal(tw_class_name(TW_CLASS_DNS_NXDOMAIN), "dns_nxdomain");
    assert_string_equal(tw_class_name(TW_CLASS_HANDSHAKE_TIMEOUT), "handshake_timeout");
    assert_string_equal(tw_class_name(TW_CLASS_CERT_NOT_YET_VALID), "cert_not_yet_valid");
    assert_string_equal(tw_class_name(TW_CLASS_WEAK_SIGNATURE), "weak_signature");
    assert_string_equal(tw_class_name(TW_CLASS_OK), "ok");
}

static void
test_model_class_unknown(void **state)
{
    enum tw_class c = TW_CLASS_OK;

    (void)state;
    assert_int_equal(tw_class_from_name("expired", &c), -1);
    assert_int_equal(tw_class_from_name("", &c), -1);
    assert_int_equal(tw_class_from_name("OK", &c), -1);
    assert_int_equal(c, TW_CLASS_OK);
    /* Out-of-range values still give a usable entry, never a crash. */
    assert_non_null(tw_class_info((enum tw_class)999)->name);
}

static void
test_model_failure_flags(void **state)
{
    (void)state;
    assert_true(tw_class_info(TW_CLASS_TCP_REFUSED)->is_failure);
    assert_true(tw_class_info(TW_CLASS_TLS_ALERT)->is_failure);
    assert_false(tw_class_info(TW_CLASS_CERT_EXPIRED)->is_failure);
    assert_false(tw_class_info(TW_CLASS_OK)->is_failure);
}

static void
test_model_precedence(void **state)
{
    (void)state;
    assert_int_equal(tw_issues_primary(0), TW_CLASS_OK);
    assert_int_equal(
        tw_issues_primary(TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH) | TW_ISSUE(TW_CLASS_CERT_EXPIRED)),
        TW_CLASS_CERT_EXPIRED);
    /* Network failures hide certificate problems. */
    assert_int_equal(tw_issues_primary(TW_ISSUE(TW_CLASS_WEAK_KEY) | TW_ISSUE(TW_CLASS_TCP_RESET) |
                                       TW_ISSUE(TW_CLASS_SELF_SIGNED)),
                     TW_CLASS_TCP_RESET);
    assert_int_equal(
        tw_issues_primary(TW_ISSUE(TW_CLASS_SNI_REQUIRED) | TW_ISSUE(TW_CLASS_DNS_TIMEOUT)),
        TW_CLASS_DNS_TIMEOUT);
    /* "ok" in a set means nothing. */
    assert_int_equal(tw_issues_primary(TW_ISSUE(TW_CLASS_OK)), TW_CLASS_OK);
    assert_int_equal(tw_issues_primary(TW_ISSUE(TW_CLASS_OK) | TW_ISSUE(TW_CLASS_WEAK_KEY)),
                     TW_CLASS_WEAK_KEY);
}

static void
test_model_issues_format(void **state)
{
    char buf[512];

    (void)state;
    assert_int_equal(tw_issues_format(0, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "ok");
    tw_issues_format(TW_ISSUE(TW_CLASS_OK), buf, sizeof(buf));
    assert_string_equal(buf, "ok");
    /* Precedence order, whatever order the bits were set in. */
    tw_issues_format(TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH) | TW_ISSUE(TW_CLASS_CERT_EXPIRED), buf,
                     sizeof(buf));
    assert_string_equal(buf, "cert_expired,hostname_mismatch");
    /* Truncation (len - 1 bytes at most) always terminates. */
    assert_int_equal(
        tw_issues_format(TW_ISSUE(TW_CLASS_CERT_EXPIRED) | TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH),
                         buf, 16),
        15);
    assert_int_equal(strlen(buf), 15);
    assert_memory_equal(buf, "cert_expired,", 13);
    assert_int_equal(tw_issues_format(0, buf, 0), 0);
}

static void
test_model_issues_round_trip(void **state)
{
    char buf[1024];
    tw_issue_set all = 0, got = 0;

    (void)state;
    for (int i = 0; i < TW_CLASS_OK; i++) {
        tw_issue_set one = TW_ISSUE(i);

        tw_issues_format(one, buf, sizeof(buf));
        assert_string_equal(buf, tw_class_name((enum tw_class)i));
        assert_int_equal(tw_issues_parse(buf, &got), 0);
        assert_true(got == one);
        all |= one;
    }
    tw_issues_format(all, buf, sizeof(buf));
    assert_int_equal(tw_issues_parse(buf, &got), 0);
    assert_true(got == all);
    assert_int_equal(tw_issues_parse("ok", &got), 0);
    assert_true(got == 0);

    /* name_unchecked is an issue but no class: last, never primary. */
    tw_issues_format(TW_ISSUE_NAME_UNCHECKED, buf, sizeof(buf));
    assert_string_equal(buf, "name_unchecked");
    tw_issues_format(TW_ISSUE_NAME_UNCHECKED | TW_ISSUE(TW_CLASS_WEAK_KEY), buf, sizeof(buf));
    assert_string_equal(buf, "weak_key,name_unchecked");
    assert_int_equal(tw_issues_parse(buf, &got), 0);
    assert_true(got == (TW_ISSUE_NAME_UNCHECKED | TW_ISSUE(TW_CLASS_WEAK_KEY)));
    assert_int_equal(tw_issues_primary(TW_ISSUE_NAME_UNCHECKED), TW_CLASS_OK);
    assert_int_equal(tw_issues_primary(got), TW_CLASS_WEAK_KEY);
}

static void
test_model_issues_parse_rejects(void **state)
{
    tw_issue_set got = 42;

    (void)state;
    assert_int_equal(tw_issues_parse("cert_expired,bogus", &got), -1);
    assert_int_equal(tw_issues_parse("cert_expired,,weak_key", &got), -1);
    assert_int_equal(tw_issues_parse(",", &got), -1);
    assert_int_equal(tw_issues_parse("cert_expired ", &got), -1);
    assert_true(got == 42); /* untouched on failure */
}

static void
test_model_time_iso(void **state)
{
    char buf[21];

    (void)state;
    tw_time_iso(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    tw_time_iso(1795637184, buf);
    assert_string_equal(buf, "2026-11-25T20:06:24Z");
    tw_time_iso(951868799, buf);
    assert_string_equal(buf, "2000-02-29T23:59:59Z");
}

static void
test_model_time_parse(void **state)
{
    static const struct {
        const char *text;
        int64_t want;
    } good[] = {
        {"2026-11-25T20:06:24Z", 1795637184},
        {"2026-11-25T20:06:24", 1795637184},
        {"2026-11-25 20:06:24", 1795637184},
        {"2026-11-25", 1795564800},
        {"2000-02-29T23:59:59Z", 951868799},
        {"@1795637184", 1795637184},
        {"@0", 0},
        {"2027-02-28", 1803772800},
        {"2028-02-29", 1835395200},
        {"2000-02-29", 951782400},
        {"1970-01-01T00:00:00Z", 0},
        {"9999-12-31T23:59:59Z", 253402300799},
        {"@253402300799", 253402300799},
    };
    static const char *const bad[] = {
        "",
        "tomorrow",
        "2026-11-25T20:06",
        "2026-11-25T20:06:24Zjunk",
        "@",
        "@12x",
        "2026-11",
        "2026-11-25X",
        /* Impossible calendar dates and times (issue 15): timegm would carry
         * them into the next day or month. */
        "2027-02-29",
        "2027-02-30",
        "2027-13-01",
        "2027-00-10",
        "2027-04-31",
        "1900-02-29",
        "2027-01-00",
        "2027-01-32",
        "2027-01-01T24:00:00Z",
        "2027-01-01T23:60:00Z",
        "2027-01-01T23:59:60Z",
        /* Out of 1970..9999, or not a plain number of seconds (issue 15:
         * @99999999999999 was stored as 1970). */
        "@99999999999999",
        "@253402300800",
        "@-1",
        "@-10",
        "@+5",
        "@ 5",
        "@99999999999999999999",
        "1969-12-31T23:59:59Z",
    };
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        t = -1;
        assert_int_equal(tw_time_parse(good[i].text, &t), 0);
        assert_true(t == good[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tw_time_parse(bad[i], &t), -1);
    assert_int_equal(tw_time_parse(NULL, &t), -1);
}

static void
test_model_time_round_trip(void **state)
{
    char buf[21];
    int64_t t;

    (void)state;
    for (int64_t v = 0; v < 4102444800; v += 86400 * 97 + 3661) {
        tw_time_iso(v, buf);
        assert_int_equal(tw_time_parse(buf, &t), 0);
        assert_true(t == v);
    }
}

static void
test_model_result_detail_bounded(void **state)
{
    struct tw_result *r = calloc(1, sizeof(*r));
    char *big = malloc(TW_DETAIL_MAX * 2 + 1);

    (void)state;
    assert_non_null(r);
    assert_non_null(big);
    memset(big, 'x', TW_DETAIL_MAX * 2);
    big[TW_DETAIL_MAX * 2] = '\0';
    tw_result_set_detail(r, big);
    assert_int_equal(strlen(r->detail), TW_DETAIL_MAX);
    tw_result_set_detail(r, NULL);
    assert_null(r->detail);
    free(big);
    tw_result_free(r);
    tw_result_free(NULL);
}

/* The reproduce command from plain fields, as a report row holds them. */
static const char *
repro(const char *host, const char *ip, int port, const char *sni, enum tw_class cls)
{
    static char buf[512];
    struct tw_repro_in in = {.host = host, .ip = ip, .port = port, .sni = sni, .cls = cls};
    size_t n = tw_class_repro(&in, buf, sizeof(buf));

    assert_int_equal(n, strlen(buf));
    return buf;
}

static void
test_model_repro(void **state)
{
    char buf[512];
    struct tw_repro_in in;

    (void)state;
    /* Certificate classes fail the command the way they failed the scan. */
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_CERT_EXPIRED),
                        "openssl s_client -connect 10.0.0.1:443 -servername h.example "
                        "-verify_return_error");
    assert_string_equal(repro("h.example", "2001:db8::1", 8443, NULL, TW_CLASS_TCP_RESET),
                        "openssl s_client -connect '[2001:db8::1]:8443' -noservername");
    /* sni_required reproduces without SNI even when SNI was sent. */
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_SNI_REQUIRED),
                        "openssl s_client -connect 10.0.0.1:443 -noservername");
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "", TW_CLASS_SNI_REQUIRED),
                        "openssl s_client -connect 10.0.0.1:443 -noservername");
    /* client_cert_required: the command with a certificate's placeholders
     * (issue 13); it is a failure class, after sni_required. */
    assert_string_equal(
        repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_CLIENT_CERT_REQUIRED),
        "openssl s_client -connect 10.0.0.1:443 -servername h.example "
        "-cert client.pem -key client.key");
    assert_true(TW_CLASS_CLIENT_CERT_REQUIRED == TW_CLASS_SNI_REQUIRED + 1);
    assert_true(tw_class_info(TW_CLASS_CLIENT_CERT_REQUIRED)->is_failure);
    assert_string_equal(tw_class_name(TW_CLASS_CLIENT_CERT_REQUIRED), "client_cert_required");
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_INCOMPLETE_CHAIN),
                        "openssl s_client -connect 10.0.0.1:443 -servername h.example -showcerts "
                        "-verify_return_error");
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_CERT_REVOKED),
                        "openssl s_client -connect 10.0.0.1:443 -servername h.example -status "
                        "-verify_return_error");
    assert_string_equal(repro("h.example", "10.0.0.1", 443, "h.example", TW_CLASS_WEAK_SIGNATURE),
                        "openssl s_client -connect 10.0.0.1:443 -servername h.example "
                        "-verify_return_error");
    /* hostname_mismatch checks the name asked for: the SNI, else the host,
     * else the address. */
    assert_string_equal(
        repro("h.example", "10.0.0.1", 443, "b.example", TW_CLASS_HOSTNAME_MISMATCH),
        "openssl s_client -connect 10.0.0.1:443 -servername b.example -verify_return_error "
        "-verify_hostname b.example");
    assert_string_equal(repro("h.example", "10.0.0.1", 443, NULL, TW_CLASS_HOSTNAME_MISMATCH),
                        "openssl s_client -connect 10.0.0.1:443 -noservername "
                        "-verify_return_error -verify_hostname h.example");
    assert_string_equal(repro("", "10.0.0.1", 443, NULL, TW_CLASS_HOSTNAME_MISMATCH),
                        "openssl s_client -connect 10.0.0.1:443 -noservername "
                        "-verify_return_error -verify_ip 10.0.0.1");
    /* DNS failures have no address: connect to the name. */
    assert_string_equal(repro("gone.example", "", 443, "gone.example", TW_CLASS_DNS_NXDOMAIN),
                        "openssl s_client -connect gone.example:443 -servername gone.example");
    assert_string_equal(repro("gone.example", NULL, 443, "gone.example", TW_CLASS_DNS_NXDOMAIN),
                        "openssl s_client -connect gone.example:443 -servername gone.example");
    /* Hostile SNI is quoted for the shell. */
    assert_string_equal(repro("h", "10.0.0.1", 443, "x'; touch /tmp/p; '", TW_CLASS_TLS_ALERT),
                        "openssl s_client -connect 10.0.0.1:443 -servername "
                        "'x'\\''; touch /tmp/p; '\\'''");
    /* An unknown class reproduces as tls_alert (no flags). */
    assert_string_equal(repro("h", "10.0.0.1", 443, "h", (enum tw_class)99),
                        "openssl s_client -connect 10.0.0.1:443 -servername h");

    /* protocol_mismatch pins the version the server speaks. */
    memset(&in, 0, sizeof(in));
    in.ip = "10.0.0.1";
    in.port = 443;
    in.cls = TW_CLASS_PROTOCOL_MISMATCH;
    in.detail = "server sent alert protocol_version (70); server speaks TLSv1.1 only";
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 10.0.0.1:443 -noservername -tls1_1 "
                             "-cipher DEFAULT@SECLEVEL=0");
    in.tls_version = "TLSv1.2"; /* the negotiated version wins over the detail */
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 10.0.0.1:443 -noservername -tls1_2");
    in.tls_version = "TLSv1.3";
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 10.0.0.1:443 -noservername -tls1_3");
    in.tls_version = "TLSv1";
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 10.0.0.1:443 -noservername -tls1 "
                             "-cipher DEFAULT@SECLEVEL=0");
    in.tls_version = NULL;
    in.detail = "no single version probe worked";
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 10.0.0.1:443 -noservername");

    /* STARTTLS endpoints speak their protocol, whatever the class. */
    memset(&in, 0, sizeof(in));
    in.ip = "192.0.2.25";
    in.port = 25;
    in.sni = "mail.example";
    in.starttls = TW_STARTTLS_SMTP;
    in.cls = TW_CLASS_INCOMPLETE_CHAIN;
    tw_class_repro(&in, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 192.0.2.25:25 -servername mail.example "
                             "-showcerts -verify_return_error -starttls smtp");
    in.starttls = TW_STARTTLS__COUNT; /* out of range: no flag */
    tw_class_repro(&in, buf, sizeof(buf));
    assert_null(strstr(buf, "-starttls"));
}

/* Every name is one shell word whatever it holds. */
static void
test_model_repro_shell(void **state)
{
    char small[8];
    struct tw_repro_in in = {.ip = "10.0.0.1", .port = 443, .cls = TW_CLASS_OK};

    (void)state;
    assert_string_equal(repro("h", "10.0.0.1", 443, "host.example:443", TW_CLASS_OK),
                        "openssl s_client -connect 10.0.0.1:443 -servername host.example:443");
    assert_string_equal(repro("h", "::1", 443, "h", TW_CLASS_OK),
                        "openssl s_client -connect '[::1]:443' -servername h");
    assert_string_equal(repro("h", "10.0.0.1", 443, "a'; rm -rf / #", TW_CLASS_OK),
                        "openssl s_client -connect 10.0.0.1:443 -servername 'a'\\''; rm -rf / #'");
    assert_string_equal(repro("h", "10.0.0.1", 443, "$(id)`id`", TW_CLASS_OK),
                        "openssl s_client -connect 10.0.0.1:443 -servername '$(id)`id`'");
    /* Control bytes never reach the command; an empty word stays a word. */
    assert_string_equal(repro("h", "10.0.0.1", 443, "a\n.exa\tmple\x1b", TW_CLASS_OK),
                        "openssl s_client -connect 10.0.0.1:443 -servername a.example");
    assert_string_equal(repro("h", "10.0.0.1", 443, "\x7f\x01", TW_CLASS_OK),
                        "openssl s_client -connect 10.0.0.1:443 -servername ''");
    /* Truncation is bounded and keeps the buffer terminated. */
    assert_int_equal(tw_class_repro(&in, small, sizeof(small)), sizeof(small) - 1);
    assert_string_equal(small, "openssl");
    assert_int_equal(tw_class_repro(&in, small, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_class_names_round_trip),
        cmocka_unit_test(test_model_class_unknown),
        cmocka_unit_test(test_model_failure_flags),
        cmocka_unit_test(test_model_precedence),
        cmocka_unit_test(test_model_issues_format),
        cmocka_unit_test(test_model_issues_round_trip),
        cmocka_unit_test(test_model_issues_parse_rejects),
        cmocka_unit_test(test_model_time_iso),
        cmocka_unit_test(test_model_time_parse),
        cmocka_unit_test(test_model_time_round_trip),
        cmocka_unit_test(test_model_result_detail_bounded),
        cmocka_unit_test(test_model_repro),
        cmocka_unit_test(test_model_repro_shell),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
