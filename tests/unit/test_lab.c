/*
 * test_lab.c - the lab's pure parts: the estate table is a valid fixture
 * (DESIGN §3 names, precedence order), the DNS responder's answers and its
 * handling of hostile packets, the target list and lab.env parsing.
 */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "scanner/hello.h"
#include "store/model.h"
#include "lab/lab.h"
#include "lab/lab_int.h"
#include "lab/starttls_servers.h"

#define BASE 0x7f4d0000u /* 127.77.0.0 */

/* ---- the estate ---- */

/* The number of target lines of row e. */
static size_t
n_lines(const struct tw_lab_endpoint *e)
{
    size_t n = 0;

    while (n < TW_LAB_MAX_LINES && e->lines[n].cls != NULL)
        n++;
    return n;
}

static void
test_lab_table_classes_are_design_names(void **state)
{
    (void)state;
    assert_true(tw_lab_count_targets(TW_LAB_G_MAIN) >= 30);
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        for (size_t k = 0; k < n_lines(&tw_lab_estate[i]); k++) {
            const struct tw_lab_line *l = &tw_lab_estate[i].lines[k];
            enum tw_class cls;
            tw_issue_set set;
            char back[512];

            assert_int_equal(tw_class_from_name(l->cls, &cls), 0);
            assert_int_equal(tw_issues_parse(l->issues, &set), 0);
            /* The primary class is the first issue by precedence ... */
            assert_int_equal(tw_issues_primary(set), cls);
            /* ... and the issues string is in canonical (precedence) order. */
            tw_issues_format(set, back, sizeof(back));
            assert_string_equal(back, l->issues);
        }
    }
}

static void
test_lab_table_addresses_are_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        const struct tw_lab_endpoint *a = &tw_lab_estate[i];

        assert_true(a->addr == 0 || (a->addr >= 2 && a->addr <= 127));
        /* One name may have several target lines, in different forms. */
        assert_true(n_lines(a) >= 1);
        for (size_t k = 1; k < n_lines(a); k++)
            assert_int_not_equal(a->lines[k].form, a->lines[0].form);
        for (size_t j = i + 1; j < tw_lab_n_estate; j++) {
            const struct tw_lab_endpoint *b = &tw_lab_estate[j];

            /* One row per name, and one address never serves two names. */
            assert_string_not_equal(a->name, b->name);
            if (a->addr > 0)
                assert_int_not_equal(a->addr, b->addr);
        }
    }
}

/* Where each row's server listens: an IPv4 slot, or [::1] for the one row
 * whose line is the address target; the DNS-only names have neither. */
static void
test_lab_table_served_rows_have_a_place(void **state)
{
    int n_ipv6 = 0;

    (void)state;
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_estate[i];
        int ipv6 = e->lines[0].form == TW_LAB_T_IPV6;

        n_ipv6 += ipv6;
        if (!tw_lab_is_served(e))
            assert_int_equal(e->addr, 0);
        else
            assert_true((e->addr > 0) != ipv6);
        for (size_t k = 1; k < n_lines(e); k++)
            assert_int_not_equal(e->lines[k].form, TW_LAB_T_IPV6);
    }
    assert_int_equal(n_ipv6, 1);
}

static void
test_lab_table_covers_every_class(void **state)
{
    tw_issue_set seen = 0;

    (void)state;
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        for (size_t k = 0; k < n_lines(&tw_lab_estate[i]); k++) {
            tw_issue_set set;

            if (tw_lab_estate[i].group != TW_LAB_G_MAIN)
                continue;
            assert_int_equal(tw_issues_parse(tw_lab_estate[i].lines[k].issues, &set), 0);
            seen |= set;
        }
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
        for (size_t i = 0; i < tw_lab_n_estate; i++) {
            const struct tw_lab_endpoint *e = &tw_lab_estate[i];

            if (strcmp(e->name, name) != 0)
                continue;
            found++;
            assert_int_equal(e->lines[0].form, TW_LAB_T_STARTTLS);
            assert_true(e->addr > 0);
            assert_int_equal(e->kind, TW_LAB_K_STARTTLS);
            assert_int_equal(e->stls, k);
            assert_string_equal(e->lines[0].cls,
                                tw_lab_starttls_expected((enum tw_lab_starttls_kind)k));
            /* The scheme names a protocol the scanner speaks. */
            snprintf(target, sizeof(target), "%s://x", tw_lab_starttls_scheme(e->stls));
            assert_string_equal(tw_starttls_name(tw_starttls_from_target(target)),
                                tw_lab_starttls_scheme(e->stls));
        }
        assert_int_equal(found, 1);
    }
    /* A STARTTLS line is exactly a line of a STARTTLS server. */
    for (size_t i = 0; i < tw_lab_n_estate; i++)
        for (size_t k = 0; k < n_lines(&tw_lab_estate[i]); k++)
            assert_true((tw_lab_estate[i].lines[k].form == TW_LAB_T_STARTTLS) ==
                        (tw_lab_estate[i].kind == TW_LAB_K_STARTTLS));
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

/* Issue 13 item 8: the dual-certificate, RSA-PSS-only and X25519-only
 * endpoints, each ok for the default client policy, at BASE+68..70. */
static void
test_lab_table_issue13_clients_rows(void **state)
{
    static const struct {
        const char *name;
        int addr;
        int flag;
    } want[] = {{"dual-cert", 68, TW_LAB_F_DUAL_CERT | TW_LAB_F_HSTS_2Y},
                {"rsa-pss-only", 69, TW_LAB_F_RSA_PSS_ONLY},
                {"x25519-only", 70, TW_LAB_F_X25519_ONLY}};

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct tw_lab_endpoint *e = tw_lab_estate_find(want[i].name, strlen(want[i].name));

        assert_non_null(e);
        assert_int_equal(e->addr, want[i].addr);
        assert_int_equal(e->flags, want[i].flag);
        assert_int_equal(e->kind, TW_LAB_K_TLS);
        assert_string_equal(e->lines[0].cls, "ok");
    }
    /* The first leaf is RSA; TW_LAB_F_DUAL_CERT adds the ECDSA one. */
    assert_int_equal(tw_lab_estate_find("dual-cert", 9)->key, TW_LAB_KEY_RSA);
    assert_int_equal(tw_lab_estate_find("rsa-pss-only", 12)->max_version, TLS1_2_VERSION);
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
    assert_int_equal(n_targets, tw_lab_count_targets(TW_LAB_G_MAIN));
    free(buf);
}

/* The hostile list: its own rows only, each after its expectation. */
static void
test_lab_targets_hostile(void **state)
{
    char *buf = NULL, *p;
    size_t len = 0, n_expect = 0;
    FILE *f;

    (void)state;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(tw_lab_write_hostile_targets(f, 9443), 0);
    fclose(f);
    assert_non_null(strstr(buf, "# expect: tls_alert tls_alert\n"
                                "hostile-bigchain.lab.tlsweep.test:9443\n"));
    assert_null(strstr(buf, "valid-rsa"));
    for (p = buf; (p = strstr(p, "# expect: ")) != NULL; p++)
        n_expect++;
    assert_int_equal(n_expect, tw_lab_count_targets(TW_LAB_G_HOSTILE));
    assert_int_equal(n_expect, 10);
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

/* ---- legacy.c: the scripted SSLv3 / RC4 / 3DES answers ---- */

static const uint16_t rc4_suites[] = {0x0005, 0x0004};
static const uint16_t des3_suites[] = {0x000A};
static const uint16_t native_b0[] = {0x1302, 0x1303, 0x1301, 0xC02F, 0xC030, 0xCCA8};
/* A Certificate body with two "certificates" (any bytes: nothing decodes them). */
static const uint8_t chain2[] = {0, 0, 4, 0x30, 0x02, 0xaa, 0xbb, 0, 0, 3, 0x30, 0x01, 0xcc};

static void
legacy_raw_only(struct tw_lab_legacy_params *p)
{
    memset(p, 0, sizeof(*p));
    p->raw_min = 0x0300;
    p->raw_max = 0x0301;
    p->raw_suites = rc4_suites;
    p->n_raw_suites = 2;
    p->chain = chain2;
    p->chain_len = sizeof(chain2);
}

static void
legacy_3des(struct tw_lab_legacy_params *p)
{
    memset(p, 0, sizeof(*p));
    p->raw_min = p->raw_max = 0x0303;
    p->raw_suites = des3_suites;
    p->n_raw_suites = 1;
    p->native_min = 0x0303;
    p->native = native_b0;
    p->n_native = sizeof(native_b0) / sizeof(native_b0[0]);
    p->chain = chain2;
    p->chain_len = sizeof(chain2);
}

/* A ClientHello record the way the scanner's raw probes build it. */
static size_t
legacy_hello(uint16_t version, const uint16_t *suites, size_t n, uint8_t *out, size_t cap)
{
    static uint8_t rnd[96];
    struct tw_hello_params hp;
    size_t len = 0;

    tw_hello_params_init(&hp, version, rnd);
    hp.suites = suites;
    hp.n_suites = n;
    hp.sni = "legacy-raw.lab.tlsweep.test";
    if (version == TW_VERSION_TLS13) {
        hp.min_version = TW_VERSION_TLS13;
        hp.x25519_share = rnd + 32;
    }
    assert_int_equal(tw_hello_build(&hp, out, cap, &len), 0);
    return len;
}

/* Answer hello with p; on RAW, parse the answer with the scanner's parser. */
static enum tw_lab_legacy_verdict
legacy_run(const struct tw_lab_legacy_params *p, const uint8_t *hello, size_t hlen,
           struct tw_server_flight *f)
{
    uint8_t rnd[32], out[1024];
    size_t n = 99;
    enum tw_lab_legacy_verdict v;

    memset(rnd, 0x44, sizeof(rnd));
    memset(f, 0, sizeof(*f));
    v = tw_lab_legacy_answer(p, hello, hlen, rnd, out, sizeof(out), &n);
    if (v == TW_LAB_LEGACY_NATIVE) {
        assert_int_equal(n, 0);
        return v;
    }
    assert_true(n > 0 && n <= sizeof(out));
    assert_int_equal(tw_hello_parse(out, n, f), TW_HELLO_DONE);
    assert_int_equal(f->consumed, n); /* nothing after the flight */
    if (v == TW_LAB_LEGACY_RAW) {
        uint8_t leaf[16];

        assert_true(f->has_server_hello && f->has_certificate && f->has_server_hello_done);
        assert_int_equal(f->n_certs, 2);
        assert_int_equal(tw_hello_copy_leaf(out, n, f, leaf, sizeof(leaf)), 4);
        assert_memory_equal(leaf, chain2 + 3, 4);
        assert_int_equal(f->compression, 0);
        assert_int_equal(f->downgrade, 0);
        assert_false(f->has_ske); /* RSA key transport: no ServerKeyExchange */
    } else {
        assert_true(f->has_alert && f->is_alert_first);
        assert_int_equal(f->alert_level, 2);
        assert_int_equal(f->alert_desc, 40); /* handshake_failure */
    }
    return v;
}

/* legacy-raw: SSLv3 and TLS 1.0 hellos offering RC4 get a first flight
 * with RC4-SHA (RC4-MD5 when only that is offered); the version follows the
 * client's up to TLS 1.0. */
static void
test_lab_legacy_rc4_answers(void **state)
{
    struct tw_lab_legacy_params p;
    struct tw_server_flight f;
    uint8_t h[TW_HELLO_MAX_OUT];
    const uint16_t both[] = {0x002F, 0x0004, 0x0005, 0x000A};
    const uint16_t md5[] = {0x0035, 0x0004};
    size_t n;

    (void)state;
    legacy_raw_only(&p);
    n = legacy_hello(TW_VERSION_SSL3, both, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.version, 0x0300);
    assert_int_equal(f.record_version, 0x0300);
    assert_int_equal(f.cipher_suite, 0x0005); /* server preference, not the client's */
    assert_false(f.has_reneg_info);           /* SSLv3: no extensions */

    n = legacy_hello(TW_VERSION_SSL3, md5, 2, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.cipher_suite, 0x0004);

    n = legacy_hello(TW_VERSION_TLS10, both, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.version, 0x0301);
    assert_true(f.has_reneg_info);

    /* A TLS 1.2 client is answered at the server's best, TLS 1.0. */
    n = legacy_hello(TW_VERSION_TLS12, both, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.version, 0x0301);
    assert_int_equal(f.cipher_suite, 0x0005);
}

/* drown-sslv2 (issue 14): the scanner's SSLv2 CLIENT-HELLO gets an SSLv2
 * SERVER-HELLO carrying the leaf (the first certificate of the chain) and
 * the common specs; a hello without a common spec, or a TLS hello, goes to
 * the OpenSSL side; a params without sslv2 never answers SSLv2. */
static void
test_lab_legacy_sslv2_answer(void **state)
{
    struct tw_lab_legacy_params p;
    struct tw_server_flight f;
    struct tw_hello_params hp;
    static uint8_t rnd[32];
    const uint32_t specs[] = {0x0700c0, 0x060040, 0x010080};
    const uint32_t des[] = {0x060040};
    const uint16_t b0[] = {0xC02F};
    uint8_t h[TW_HELLO_MAX_OUT], out[1024];
    size_t n = 0, n_out = 0;

    (void)state;
    legacy_3des(&p);
    p.raw_suites = NULL;
    p.n_raw_suites = 0;
    p.sslv2 = 1;
    tw_hello_params_init(&hp, TW_VERSION_SSL2, rnd);
    hp.sslv2_specs = specs;
    hp.n_sslv2_specs = 3;
    assert_int_equal(tw_hello_build(&hp, h, sizeof(h), &n), 0);
    assert_int_equal(tw_lab_legacy_answer(&p, h, n, rnd, out, sizeof(out), &n_out),
                     TW_LAB_LEGACY_V2);
    memset(&f, 0, sizeof(f));
    assert_int_equal(tw_hello_parse(out, n_out, &f), TW_HELLO_DONE);
    assert_int_equal(f.consumed, n_out);
    assert_true(f.is_sslv2 && !f.has_v2_error);
    assert_int_equal(f.v2_cert_type, 1);
    assert_int_equal(f.v2_cert_len, 4);
    assert_memory_equal(out + f.v2_cert_off, chain2 + 3, 4);
    assert_int_equal(f.n_v2_specs, 2); /* server preference: RC4_128_WITH_MD5 first */
    assert_int_equal(f.v2_specs[0], 0x010080);
    assert_int_equal(f.v2_specs[1], 0x0700c0);
    /* A cut hello is not answered by script. */
    assert_int_equal(tw_lab_legacy_answer(&p, h, n - 1, rnd, out, sizeof(out), &n_out),
                     TW_LAB_LEGACY_NATIVE);

    hp.sslv2_specs = des;
    hp.n_sslv2_specs = 1;
    assert_int_equal(tw_hello_build(&hp, h, sizeof(h), &n), 0);
    assert_int_equal(tw_lab_legacy_answer(&p, h, n, rnd, out, sizeof(out), &n_out),
                     TW_LAB_LEGACY_NATIVE);
    n = legacy_hello(TW_VERSION_TLS12, b0, 1, h, sizeof(h));
    assert_int_equal(tw_lab_legacy_answer(&p, h, n, rnd, out, sizeof(out), &n_out),
                     TW_LAB_LEGACY_NATIVE);
    p.sslv2 = 0;
    hp.sslv2_specs = specs;
    hp.n_sslv2_specs = 3;
    assert_int_equal(tw_hello_build(&hp, h, sizeof(h), &n), 0);
    assert_int_equal(tw_lab_legacy_answer(&p, h, n, rnd, out, sizeof(out), &n_out),
                     TW_LAB_LEGACY_NATIVE);
}

/* legacy-raw: everything else is a handshake_failure alert. */
static void
test_lab_legacy_rc4_refusals(void **state)
{
    struct tw_lab_legacy_params p;
    struct tw_server_flight f;
    uint8_t h[TW_HELLO_MAX_OUT];
    const uint16_t no_rc4[] = {0x002F, 0x0035, 0x000A, 0xC02F};
    const uint16_t tls13[] = {0x1301, 0x1302};
    size_t n;

    (void)state;
    legacy_raw_only(&p);
    n = legacy_hello(TW_VERSION_SSL3, no_rc4, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_ALERT);
    assert_int_equal(f.record_version, 0x0300);
    n = legacy_hello(TW_VERSION_TLS12, no_rc4, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_ALERT);
    n = legacy_hello(TW_VERSION_TLS13, tls13, 2, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_ALERT);
    /* An SSLv2 hello is no TLS handshake record. */
    {
        uint32_t specs[8];
        size_t ns = tw_suites_offer_sslv2(specs, 8);
        struct tw_hello_params hp;
        static const uint8_t rnd[32];

        tw_hello_params_init(&hp, TW_VERSION_SSL2, rnd);
        hp.sslv2_specs = specs;
        hp.n_sslv2_specs = ns < 8 ? ns : 8;
        assert_int_equal(tw_hello_build(&hp, h, sizeof(h), &n), 0);
        assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_ALERT);
    }
    /* The raw range starts at SSLv3: nothing older. */
    p.raw_min = 0x0301;
    n = legacy_hello(TW_VERSION_SSL3, rc4_suites, 2, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_ALERT);
}

/* 3des (hybrid): OpenSSL serves every hello it can; the scripted 3DES
 * answer comes only for a TLS 1.2 hello that offers none of its suites. */
static void
test_lab_legacy_3des_hybrid(void **state)
{
    struct tw_lab_legacy_params p;
    struct tw_server_flight f;
    uint8_t h[TW_HELLO_MAX_OUT];
    const uint16_t mixed[] = {0x000A, 0xC02B, 0xC02F};
    const uint16_t no_native[] = {0xC02B, 0x009C, 0x000A, 0x0005};
    const uint16_t none[] = {0xC02B, 0x009C};
    const uint16_t tls13[] = {0x1301};
    uint16_t all[TW_HELLO_MAX_SUITES];
    size_t n, n_all = tw_suites_offer_legacy(all, TW_HELLO_MAX_SUITES);

    (void)state;
    legacy_3des(&p);
    n = legacy_hello(TW_VERSION_TLS12, mixed, 3, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_NATIVE);
    n = legacy_hello(TW_VERSION_TLS13, tls13, 1, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_NATIVE);
    n = legacy_hello(TW_VERSION_TLS12, no_native, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.version, 0x0303);
    assert_int_equal(f.cipher_suite, 0x000A);
    assert_true(f.has_reneg_info);
    /* Not the scripted version, or no scripted suite: OpenSSL refuses it. */
    n = legacy_hello(TW_VERSION_TLS11, no_native, 4, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_NATIVE);
    n = legacy_hello(TW_VERSION_TLS12, none, 2, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_NATIVE);
    /* The scanner's enumeration hello: every known suite, OpenSSL's first. */
    assert_true(n_all > 100 && n_all <= TW_HELLO_MAX_SUITES);
    n = legacy_hello(TW_VERSION_TLS12, all, n_all, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_NATIVE);
    for (size_t i = 0; i < sizeof(native_b0) / sizeof(native_b0[0]); i++)
        for (size_t k = 0; k < n_all; k++)
            if (all[k] == native_b0[i])
                all[k] = 0x0035; /* one more AES256-SHA instead */
    n = legacy_hello(TW_VERSION_TLS12, all, n_all, h, sizeof(h));
    assert_int_equal(legacy_run(&p, h, n, &f), TW_LAB_LEGACY_RAW);
    assert_int_equal(f.cipher_suite, 0x000A);
}

/* Hostile hellos: cut, lying lengths, random bytes.  Never a scripted
 * answer from a broken hello, never a write beyond cap. */
static void
test_lab_legacy_hostile_hellos(void **state)
{
    struct tw_lab_legacy_params p;
    struct tw_lab_client_hello ch;
    uint8_t h[TW_HELLO_MAX_OUT], out[256];
    unsigned seed = 4242;
    size_t n, full, on;

    (void)state;
    legacy_raw_only(&p);
    full = legacy_hello(TW_VERSION_SSL3, rc4_suites, 2, h, sizeof(h));
    assert_int_equal(tw_lab_legacy_parse(h, full, &ch), 0);
    assert_int_equal(ch.version, 0x0300);
    for (n = 0; n < full; n++) {
        assert_int_equal(tw_lab_legacy_parse(h, n, &ch), -1);
        assert_int_equal(tw_lab_legacy_answer(&p, h, n, h, out, sizeof(out), &on),
                         TW_LAB_LEGACY_ALERT);
        assert_int_equal(on, 7);
    }
    /* The answer does not fit: refused, not cut. */
    assert_int_equal(tw_lab_legacy_answer(&p, h, full, h, out, 40, &on), TW_LAB_LEGACY_ALERT);
    assert_int_equal(tw_lab_legacy_answer(&p, h, full, h, out, 6, &on), TW_LAB_LEGACY_ALERT);
    assert_int_equal(on, 0);
    /* Lying lengths: handshake longer than its record, session id of 33,
     * odd and empty suite lists. */
    h[8] = (uint8_t)(h[8] + 1);
    assert_int_equal(tw_lab_legacy_parse(h, full, &ch), -1);
    h[8] = (uint8_t)(h[8] - 1);
    h[5 + 4 + 2 + 32] = 33;
    assert_int_equal(tw_lab_legacy_parse(h, full, &ch), -1);
    h[5 + 4 + 2 + 32] = 0;
    h[5 + 4 + 2 + 32 + 1 + 1] = 3;
    assert_int_equal(tw_lab_legacy_parse(h, full, &ch), -1);
    h[5 + 4 + 2 + 32 + 1 + 1] = 0;
    assert_int_equal(tw_lab_legacy_parse(h, full, &ch), -1);
    for (int i = 0; i < 20000; i++) {
        size_t l = (size_t)(rand_r(&seed) % 300);

        for (size_t k = 0; k < l; k++)
            h[k] = (uint8_t)rand_r(&seed);
        if (l > 10 && i % 2 == 0) { /* mostly look like a ClientHello record */
            h[0] = 0x16;
            h[1] = 0x03;
            h[3] = 0;
            h[5] = 1;
        }
        on = 0;
        (void)tw_lab_legacy_answer(&p, h, l, h + 300, out, sizeof(out), &on);
        assert_true(on <= sizeof(out));
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

/* ---- reneg.c: the scripted TLS 1.2 server without RFC 5746 (issue 14) ---- */

struct rn_pump {
    SSL *cli;
    BIO *to_cli;   /* what the script wrote, for the client to read */
    BIO *from_cli; /* what the client wrote */
    struct tw_lab_reneg *rn;
    int server_hellos, alert;
    int rc; /* the script's last answer */
};

static void
rn_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
          void *arg)
{
    struct rn_pump *p = arg;
    const uint8_t *b = buf;

    (void)version;
    (void)ssl;
    if (write_p || len < 2)
        return;
    if (content_type == SSL3_RT_HANDSHAKE && b[0] == SSL3_MT_SERVER_HELLO)
        p->server_hellos++;
    else if (content_type == SSL3_RT_ALERT)
        p->alert = b[1];
}

/* Move the client's bytes to the script and its answer back, a few rounds. */
static void
rn_pump_round(struct rn_pump *p)
{
    static uint8_t out[32768];
    uint8_t in[4096];

    for (int round = 0; round < 8; round++) {
        int n;

        ERR_clear_error();
        (void)SSL_do_handshake(p->cli);
        while (p->rc == 0 && (n = BIO_read(p->from_cli, in, sizeof(in))) > 0) {
            size_t n_out = 0;

            p->rc = tw_lab_reneg_feed(p->rn, in, (size_t)n, out, sizeof(out), &n_out);
            if (n_out > 0)
                assert_int_equal(BIO_write(p->to_cli, out, (int)n_out), (int)n_out);
        }
    }
    ERR_clear_error();
}

/* A server context with a fresh RSA-2048 key and a self-signed leaf. */
static SSL_CTX *
rn_server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *x = X509_new();

    assert_non_null(ctx);
    assert_non_null(key);
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"reneg.test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

static void
rn_pump_init(struct rn_pump *p, SSL_CTX *cctx, SSL_CTX *sctx, int refuse)
{
    memset(p, 0, sizeof(*p));
    p->alert = -1;
    p->rn = tw_lab_reneg_new(sctx, refuse);
    assert_non_null(p->rn);
    p->cli = SSL_new(cctx);
    assert_non_null(p->cli);
    p->to_cli = BIO_new(BIO_s_mem());
    p->from_cli = BIO_new(BIO_s_mem());
    SSL_set_bio(p->cli, p->to_cli, p->from_cli);
    SSL_set_connect_state(p->cli);
    SSL_set_msg_callback(p->cli, rn_msg_cb);
    SSL_set_msg_callback_arg(p->cli, p);
}

static void
rn_pump_free(struct rn_pump *p)
{
    SSL_free(p->cli); /* frees both BIOs */
    tw_lab_reneg_free(p->rn);
}

/* A real OpenSSL client completes the handshake with no RFC 5746, and its
 * renegotiation gets a second ServerHello (or, refusing, no_renegotiation). */
static void
test_lab_reneg_script(void **state)
{
    SSL_CTX *sctx = rn_server_ctx();
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    struct rn_pump p;

    (void)state;
    assert_non_null(cctx);
    SSL_CTX_set_options(cctx, SSL_OP_LEGACY_SERVER_CONNECT |
                                  SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION | SSL_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);

    for (int refuse = 0; refuse <= 1; refuse++) {
        rn_pump_init(&p, cctx, sctx, refuse);
        rn_pump_round(&p);
        assert_int_equal(SSL_is_init_finished(p.cli), 1);
        assert_int_equal(SSL_version(p.cli), TLS1_2_VERSION);
        assert_string_equal(SSL_get_cipher_name(p.cli), "ECDHE-RSA-AES128-GCM-SHA256");
        assert_int_equal(SSL_get_secure_renegotiation_support(p.cli), 0);
        assert_int_equal(p.server_hellos, 1);
        assert_int_equal(SSL_renegotiate(p.cli), 1);
        rn_pump_round(&p);
        if (!refuse) {
            assert_int_equal(p.server_hellos, 2);
            assert_int_equal(p.rc, 1); /* the script ends after the new flight */
        } else {
            assert_int_equal(p.server_hellos, 1);
            assert_int_equal(p.alert, 100); /* no_renegotiation */
        }
        rn_pump_free(&p);
    }
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* Hostile input: no crash, no over-read or overflow, and the script ends. */
static void
test_lab_reneg_hostile(void **state)
{
    SSL_CTX *sctx = rn_server_ctx();
    static uint8_t out[32768];
    uint8_t big[5 + 18000];
    size_t n_out;
    struct tw_lab_reneg *rn;
    static const uint8_t sslv2[] = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15};
    static const uint8_t short_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t early_ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};

    (void)state;
    /* Not TLS at all. */
    rn = tw_lab_reneg_new(sctx, 0);
    assert_int_equal(tw_lab_reneg_feed(rn, sslv2, sizeof(sslv2), out, sizeof(out), &n_out), -1);
    tw_lab_reneg_free(rn);
    /* A hello too short to parse: handshake_failure, then the end. */
    rn = tw_lab_reneg_new(sctx, 0);
    assert_int_equal(
        tw_lab_reneg_feed(rn, short_hello, sizeof(short_hello), out, sizeof(out), &n_out), 1);
    assert_int_equal(n_out, 7);
    assert_int_equal(out[0], 21);
    assert_int_equal(out[6], 40);
    tw_lab_reneg_free(rn);
    /* A ChangeCipherSpec first: not a hello, handshake_failure. */
    rn = tw_lab_reneg_new(sctx, 0);
    assert_int_equal(tw_lab_reneg_feed(rn, early_ccs, sizeof(early_ccs), out, sizeof(out), &n_out),
                     1);
    tw_lab_reneg_free(rn);
    /* A record longer than any the script takes, and one byte at a time. */
    rn = tw_lab_reneg_new(sctx, 0);
    memset(big, 0x41, sizeof(big));
    big[0] = 0x16;
    big[1] = 0x03;
    big[2] = 0x03;
    big[3] = 0xff;
    big[4] = 0xff;
    assert_int_equal(tw_lab_reneg_feed(rn, big, 5, out, sizeof(out), &n_out), -1);
    tw_lab_reneg_free(rn);
    rn = tw_lab_reneg_new(sctx, 0);
    big[3] = (uint8_t)((sizeof(big) - 5) >> 8);
    big[4] = (uint8_t)(sizeof(big) - 5);
    {
        int rc = 0;

        for (size_t i = 0; i < sizeof(big) && rc == 0; i++)
            rc = tw_lab_reneg_feed(rn, big + i, 1, out, sizeof(out), &n_out);
        assert_int_not_equal(rc, 0);
    }
    tw_lab_reneg_free(rn);
    SSL_CTX_free(sctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lab_table_classes_are_design_names),
        cmocka_unit_test(test_lab_table_addresses_are_unique),
        cmocka_unit_test(test_lab_table_served_rows_have_a_place),
        cmocka_unit_test(test_lab_table_covers_every_class),
        cmocka_unit_test(test_lab_table_starttls_rows),
        cmocka_unit_test(test_lab_endpoint_addr_lookup),
        cmocka_unit_test(test_lab_table_issue13_clients_rows),
        cmocka_unit_test(test_lab_targets_each_line_has_an_expectation),
        cmocka_unit_test(test_lab_targets_hostile),
        cmocka_unit_test(test_lab_dns_a_record),
        cmocka_unit_test(test_lab_dns_case_insensitive),
        cmocka_unit_test(test_lab_dns_rcodes),
        cmocka_unit_test(test_lab_dns_drops_hostile_packets),
        cmocka_unit_test(test_lab_dns_random_packets_never_overflow),
        cmocka_unit_test(test_lab_read_env),
        cmocka_unit_test(test_lab_legacy_rc4_answers),
        cmocka_unit_test(test_lab_legacy_sslv2_answer),
        cmocka_unit_test(test_lab_legacy_rc4_refusals),
        cmocka_unit_test(test_lab_legacy_3des_hybrid),
        cmocka_unit_test(test_lab_legacy_hostile_hellos),
        cmocka_unit_test(test_lab_reneg_script),
        cmocka_unit_test(test_lab_reneg_hostile),
    };

    /* The lab's servers run in this process: a peer that has closed must
     * not kill the test with SIGPIPE on a write (tlsweep scan and tlsweep
     * lab ignore it the same way). */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
