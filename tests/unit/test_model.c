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
        {"@-10", -10},
    };
    static const char *const bad[] = {
        "",  "tomorrow", "2026-11-25T20:06", "2026-11-25T20:06:24Zjunk",
        "@", "@12x",     "2026-11",          "2026-11-25X",
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
