/*
 * test_lab.c - the lab's pure parts: the endpoint table is a valid fixture
 * (DESIGN §3 names, precedence order), the DNS responder's answers and its
 * handling of hostile packets, the target list and lab.env parsing.
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

#include "store/base/log.h"
#include "store/model.h"
#include "tests/lab/lab.h"
#include "tests/lab/lab_int.h"
#include "tests/lab/starttls_servers.h"

#define BASE 0x7f4d0000u /* 127.77.0.0 */

/* ---- the endpoint table ---- */

static void
test_lab_table_classes_are_design_names(void **state)
{
    (void)state;
    assert_true(tw_lab_n_endpoints >= 30);
    for (size_t i = 0; i < tw_lab_n_endpoints; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_endpoints[i];
        enum tw_class cls;
        tw_issue_set set;
        char back[512];

        assert_int_equal(tw_class_from_name(e->cls, &cls), 0);
        assert_int_equal(tw_issues_parse(e->issues, &set), 0);
        /* The primary class is the first issue by precedence ... */
        assert_int_equal(tw_issues_primary(set), cls);
        /* ... and the issues string is in canonical (precedence) order. */
        tw_issues_format(set, back, sizeof(back));
        assert_string_equal(back, e->issues);
    }
}

static void
test_lab_table_addresses_are_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_lab_n_endpoints; i++) {
        const struct tw_lab_endpoint *a = &tw_lab_endpoints[i];

        assert_true(a->addr == 0 || (a->addr >= 2 && a->addr <= 54));
        for (size_t j = i + 1; j < tw_lab_n_endpoints; j++) {
            const struct tw_lab_endpoint *b = &tw_lab_endpoints[j];

            /* One name may have several target lines, but one address
             * never serves two names. */
            if (a->addr > 0 && a->addr == b->addr)
                assert_string_equal(a->name, b->name);
            if (strcmp(a->name, b->name) == 0)
                assert_int_equal(a->addr, b->addr);
            if (strcmp(a->name, b->name) == 0)
                assert_int_not_equal(a->form, b->form);
        }
    }
}

static void
test_lab_table_covers_every_class(void **state)
{
    tw_issue_set seen = 0;

    (void)state;
    for (size_t i = 0; i < tw_lab_n_endpoints; i++) {
        tw_issue_set set;

        assert_int_equal(tw_issues_parse(tw_lab_endpoints[i].issues, &set), 0);
        seen |= set;
    }
    /* Everything but tcp_unreachable, which loopback cannot produce. */
    for (int c = 0; c < TW_CLASS_OK; c++)
        if (c != TW_CLASS_TCP_UNREACHABLE && !(seen & TW_ISSUE(c)))
            fail_msg("no lab endpoint for %s", tw_class_name((enum tw_class)c));
}

/* Every STARTTLS responder kind has one row "starttls-KIND" whose scheme and
 * expectation are the responder's own (starttls_servers.h), on an address. */
static void
test_lab_table_starttls_rows(void **state)
{
    (void)state;
    for (int k = 0; k < TW_LAB_STLS__COUNT; k++) {
        char name[64], target[80];
        int found = 0;

        snprintf(name, sizeof(name), "starttls-%s",
                 tw_lab_starttls_kind_name((enum tw_lab_starttls_kind)k));
        for (size_t i = 0; i < tw_lab_n_endpoints; i++) {
            const struct tw_lab_endpoint *e = &tw_lab_endpoints[i];

            if (strcmp(e->name, name) != 0)
                continue;
            found++;
            assert_int_equal(e->form, TW_LAB_T_STARTTLS);
            assert_true(e->addr > 0);
            assert_non_null(e->scheme);
            assert_string_equal(e->scheme, tw_lab_starttls_scheme((enum tw_lab_starttls_kind)k));
            assert_string_equal(e->cls, tw_lab_starttls_expected((enum tw_lab_starttls_kind)k));
            /* The scheme names a protocol the scanner speaks. */
            snprintf(target, sizeof(target), "%s://x", e->scheme);
            assert_string_equal(tw_starttls_name(tw_starttls_from_target(target)), e->scheme);
        }
        assert_int_equal(found, 1);
    }
    for (size_t i = 0; i < tw_lab_n_endpoints; i++)
        assert_true((tw_lab_endpoints[i].form == TW_LAB_T_STARTTLS) ==
                    (tw_lab_endpoints[i].scheme != NULL));
}

static void
test_lab_endpoint_addr_lookup(void **state)
{
    (void)state;
    assert_int_equal(tw_lab_endpoint_addr("valid-rsa", 9), 2);
    assert_int_equal(tw_lab_endpoint_addr("VALID-RSA", 9), 2);
    assert_int_equal(tw_lab_endpoint_addr("valid-rsax", 9), 2); /* length-bounded */
    assert_int_equal(tw_lab_endpoint_addr("valid", 5), 0);
    assert_int_equal(tw_lab_endpoint_addr("nxdomain", 8), 0);
    assert_int_equal(tw_lab_endpoint_addr("valid-ipv6", 10), 0);
    assert_int_equal(tw_lab_endpoint_addr("", 0), 0);
}

/* ---- targets ---- */

static void
test_lab_targets_each_line_has_an_expectation(void **state)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0, n_targets = 0;
    FILE *f;
    int expect_next = 0;

    (void)state;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(tw_lab_write_targets(f, 9443), 0);
    fclose(f);
    assert_non_null(
        strstr(buf, "# expect: cert_expired cert_expired\nexpired.lab.tlsweep.test:9443\n"));
    assert_non_null(strstr(buf, "\nno-sni-different-cert.lab.tlsweep.test:9443 -\n"));
    assert_non_null(strstr(buf, "# expect: ok ok\n[::1]:9444\n"));
    /* STARTTLS endpoints keep their scheme; the failure variants expect their class. */
    assert_non_null(strstr(buf, "# expect: ok ok\nsmtp://starttls-smtp.lab.tlsweep.test:9443\n"));
    assert_non_null(strstr(buf, "# expect: starttls_unsupported starttls_unsupported\n"
                                "smtp://starttls-smtp-unsupported.lab.tlsweep.test:9443\n"));
    assert_non_null(strstr(buf, "# expect: starttls_refused starttls_refused\n"
                                "smtp://starttls-smtp-refused.lab.tlsweep.test:9443\n"));
    assert_non_null(strstr(buf, "\npostgres://starttls-postgres.lab.tlsweep.test:9443\n"));
    for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# expect: ", 10) == 0) {
            assert_false(expect_next);
            expect_next = 1;
        } else {
            assert_true(expect_next);
            expect_next = 0;
            n_targets++;
        }
    }
    assert_int_equal(n_targets, tw_lab_n_endpoints);
    free(buf);
}

/* ---- DNS ---- */

/* Build a query for name/qtype into q; returns its length. */
static size_t
dns_query(uint8_t *q, const char *name, unsigned qtype)
{
    size_t off = 12;
    const char *p = name;

    memset(q, 0, 12);
    q[0] = 0xab;
    q[1] = 0xcd;
    q[2] = 0x01; /* RD */
    q[5] = 1;    /* QDCOUNT */
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);

        q[off++] = (uint8_t)l;
        memcpy(q + off, p, l);
        off += l;
        p += l;
        if (*p == '.')
            p++;
    }
    q[off++] = 0;
    q[off++] = (uint8_t)(qtype >> 8);
    q[off++] = (uint8_t)qtype;
    q[off++] = 0;
    q[off++] = 1;
    return off;
}

static void
test_lab_dns_a_record(void **state)
{
    uint8_t q[512], a[TW_LAB_DNS_MAX];
    size_t ql = dns_query(q, "expired.lab.tlsweep.test", 1), n;

    (void)state;
    n = tw_lab_dns_answer(q, ql, a, sizeof(a), BASE);
    assert_int_equal(n, ql + 16);
    assert_int_equal(a[0], 0xab); /* id echoed */
    assert_int_equal(a[1], 0xcd);
    assert_int_equal(a[2], 0x85);     /* QR, AA, RD */
    assert_int_equal(a[3] & 0x0f, 0); /* NOERROR */
    assert_int_equal(a[7], 1);        /* ANCOUNT */
    assert_memory_equal(a + 12, q + 12, ql - 12);
    assert_int_equal(a[ql], 0xc0); /* name pointer to offset 12 */
    assert_int_equal(a[ql + 1], 12);
    assert_int_equal(a[ql + 11], 4); /* RDLENGTH */
    assert_int_equal(a[ql + 12], 127);
    assert_int_equal(a[ql + 13], 77);
    assert_int_equal(a[ql + 14], 0);
    assert_int_equal(a[ql + 15], 5); /* expired is BASE+5 */
}

static void
test_lab_dns_case_insensitive(void **state)
{
    uint8_t q[512], a[TW_LAB_DNS_MAX];
    size_t ql = dns_query(q, "Valid-ECDSA.LAB.TLSweep.test", 1), n;

    (void)state;
    n = tw_lab_dns_answer(q, ql, a, sizeof(a), BASE);
    assert_int_equal(n, ql + 16);
    assert_int_equal(a[ql + 15], 3);
}

static void
test_lab_dns_rcodes(void **state)
{
    static const struct {
        const char *name;
        unsigned qtype;
        int rcode; /* -1: no answer */
        int ancount;
    } v[] = {
        {"valid-rsa.lab.tlsweep.test", 28, 0, 0},  /* AAAA: no data */
        {"valid-rsa.lab.tlsweep.test", 16, 0, 0},  /* TXT: no data */
        {"valid-rsa.lab.tlsweep.test", 255, 0, 1}, /* ANY: the A */
        {"nxdomain.lab.tlsweep.test", 1, 3, 0},
        {"servfail.lab.tlsweep.test", 1, 2, 0},
        {"dnstimeout.lab.tlsweep.test", 1, -1, 0},
        {"dnstimeout.lab.tlsweep.test", 28, -1, 0},
        {"no-such-endpoint.lab.tlsweep.test", 1, 3, 0},
        {"valid-ipv6.lab.tlsweep.test", 1, 3, 0},
        {"lab.tlsweep.test", 1, 0, 0},
        {"a.valid-rsa.lab.tlsweep.test", 1, 3, 0},
        {"example.com", 1, 5, 0},
        {"xlab.tlsweep.test", 1, 5, 0},
        {"closed.lab.tlsweep.test", 1, 0, 1},
        {"connect-timeout.lab.tlsweep.test", 1, 0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t q[512], a[TW_LAB_DNS_MAX];
        size_t ql = dns_query(q, v[i].name, v[i].qtype);
        size_t n = tw_lab_dns_answer(q, ql, a, sizeof(a), BASE);

        if (v[i].rcode < 0) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_int_equal(n, ql + (v[i].ancount ? 16u : 0u));
        assert_int_equal(a[3] & 0x0f, v[i].rcode);
        assert_int_equal(a[7], v[i].ancount);
    }
}

static void
test_lab_dns_drops_hostile_packets(void **state)
{
    uint8_t q[512], a[TW_LAB_DNS_MAX], m[512];
    size_t ql = dns_query(q, "valid-rsa.lab.tlsweep.test", 1);

    (void)state;
    /* Every truncation of a good query is dropped. */
    for (size_t l = 0; l < ql; l++)
        assert_int_equal(tw_lab_dns_answer(q, l, a, sizeof(a), BASE), 0);
    /* A response (QR set). */
    memcpy(m, q, ql);
    m[2] |= 0x80;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    /* Not a standard query (opcode 2). */
    memcpy(m, q, ql);
    m[2] = 0x10;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    /* Zero or two questions. */
    memcpy(m, q, ql);
    m[5] = 0;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    m[5] = 2;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    /* A compression pointer in the question. */
    memcpy(m, q, ql);
    m[12] = 0xc0;
    m[13] = 12;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    /* A label length running past the end. */
    memcpy(m, q, ql);
    m[12] = 63;
    assert_int_equal(tw_lab_dns_answer(m, 40, a, sizeof(a), BASE), 0);
    /* A name longer than 255 bytes: 5 labels of 63. */
    memset(m, 0, sizeof(m));
    m[5] = 1;
    for (int i = 0; i < 5; i++) {
        m[12 + i * 64] = 63;
        memset(m + 13 + i * 64, 'a', 63);
    }
    assert_int_equal(tw_lab_dns_answer(m, 12 + 5 * 64 + 5, a, sizeof(a), BASE), 0);
    /* A NUL or a dot inside a label would fake another name. */
    memcpy(m, q, ql);
    m[13 + 5] = '.';
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    m[13 + 5] = 0;
    assert_int_equal(tw_lab_dns_answer(m, ql, a, sizeof(a), BASE), 0);
    /* No room for the answer. */
    assert_int_equal(tw_lab_dns_answer(q, ql, a, ql + 15, BASE), 0);
    /* Trailing bytes (an EDNS OPT record, say) are ignored. */
    memcpy(m, q, ql);
    memset(m + ql, 0, 11);
    m[11] = 1;
    assert_int_equal(tw_lab_dns_answer(m, ql + 11, a, sizeof(a), BASE), ql + 16);
    assert_int_equal(a[11], 0); /* ARCOUNT 0 in the answer */
}

static void
test_lab_dns_random_packets_never_overflow(void **state)
{
    uint8_t q[600], a[TW_LAB_DNS_MAX];
    unsigned seed = 12345;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        size_t l = (size_t)(rand_r(&seed) % sizeof(q)), n;

        for (size_t k = 0; k < l; k++)
            q[k] = (uint8_t)rand_r(&seed);
        if (l > 5) {
            q[2] &= 0x07; /* mostly look like queries */
            q[4] = 0;
            q[5] = 1;
        }
        n = tw_lab_dns_answer(q, l, a, sizeof(a), BASE);
        assert_true(n <= sizeof(a));
    }
}

/* ---- lab.env ---- */

static void
write_env(const char *dir, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/lab.env", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_lab_read_env(void **state)
{
    char dir[] = "/tmp/test_lab.XXXXXX", path[512];
    char r[64], ca[256], t[256], err[TW_ERRLEN];

    (void)state;
    assert_non_null(mkdtemp(dir));
    err[0] = '\0';
    assert_int_equal(tw_lab_read_env(dir, r, sizeof(r), ca, sizeof(ca), t, sizeof(t), err), -1);
    assert_non_null(strstr(err, "lab.env"));

    write_env(dir, "# lab\nTLSWEEP_LAB_RESOLVER=127.77.0.1:5353\nTLSWEEP_LAB_CA=/x/ca.pem\n"
                   "OTHER=1\nTLSWEEP_LAB_TARGETS=/x/targets.txt\n");
    assert_int_equal(tw_lab_read_env(dir, r, sizeof(r), ca, sizeof(ca), t, sizeof(t), err), 0);
    assert_string_equal(r, "127.77.0.1:5353");
    assert_string_equal(ca, "/x/ca.pem");
    assert_string_equal(t, "/x/targets.txt");

    write_env(dir, "TLSWEEP_LAB_RESOLVER=127.77.0.1:5353\nTLSWEEP_LAB_CA=/x/ca.pem\n");
    assert_int_equal(tw_lab_read_env(dir, r, sizeof(r), ca, sizeof(ca), t, sizeof(t), err), -1);
    assert_non_null(strstr(err, "TLSWEEP_LAB_TARGETS"));

    write_env(dir, "TLSWEEP_LAB_RESOLVER=\nTLSWEEP_LAB_CA=/x\nTLSWEEP_LAB_TARGETS=/y\n");
    assert_int_equal(tw_lab_read_env(dir, r, sizeof(r), ca, sizeof(ca), t, sizeof(t), err), -1);

    /* A value that does not fit the caller's buffer is an error, not a cut. */
    write_env(dir, "TLSWEEP_LAB_RESOLVER=127.77.0.1:5353\nTLSWEEP_LAB_CA=/a/very/long/path/ca.pem\n"
                   "TLSWEEP_LAB_TARGETS=/y\n");
    assert_int_equal(tw_lab_read_env(dir, r, sizeof(r), ca, 8, t, sizeof(t), err), -1);

    snprintf(path, sizeof(path), "%s/lab.env", dir);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lab_table_classes_are_design_names),
        cmocka_unit_test(test_lab_table_addresses_are_unique),
        cmocka_unit_test(test_lab_table_covers_every_class),
        cmocka_unit_test(test_lab_table_starttls_rows),
        cmocka_unit_test(test_lab_endpoint_addr_lookup),
        cmocka_unit_test(test_lab_targets_each_line_has_an_expectation),
        cmocka_unit_test(test_lab_dns_a_record),
        cmocka_unit_test(test_lab_dns_case_insensitive),
        cmocka_unit_test(test_lab_dns_rcodes),
        cmocka_unit_test(test_lab_dns_drops_hostile_packets),
        cmocka_unit_test(test_lab_dns_random_packets_never_overflow),
        cmocka_unit_test(test_lab_read_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
