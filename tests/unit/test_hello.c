/*
 * test_hello.c - unit tests for the raw ClientHello builder and the server
 * first-flight parser (scanner/hello.[ch]).
 *
 * Built hellos are checked by parsing them back with a small, strict,
 * test-side ClientHello parser.  Server flights are not recorded files: each
 * test runs a real OpenSSL server in memory (memory BIOs, no socket), feeds
 * it the bytes tw_hello_build() made, and parses what the server wrote back.
 * Expected values come from the server object itself (its random, its
 * chosen cipher) or from the configuration the test gave it.  The RSA key
 * and certificate are generated when the test starts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scanner/hello.h"
#include "scanner/vuln.h"
#include "scanner/simreal.h"
#include "tests/unit/testcert.h"

#define FLIGHT_CAP 65536

static EVP_PKEY *test_key;
static X509 *test_cert;
static uint8_t test_random[32];

/* ------------------------------------------------------------------------
 * A strict test-side ClientHello parser: every length must match exactly.
 */
struct ch {
    int is_v2;
    uint8_t rec_type;
    uint16_t rec_version;
    size_t rec_len;
    size_t hs_len;
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t sid_len;
    size_t n_suites;
    uint16_t suites[TW_HELLO_MAX_SUITES + 8];
    size_t n_v2_specs;
    uint32_t v2_specs[TW_HELLO_MAX_SUITES + 8];
    size_t challenge_len;
    size_t n_comp;
    uint8_t comp[8];
    int has_exts;
    size_t n_ext;
    uint16_t ext[64];
    char sni[256];
    size_t n_sv;
    uint16_t sv[8];
    int has_key_share;
    size_t n_ks;
    uint16_t ks_group[4];
    size_t n_groups;
    size_t n_alpn_bytes;
};

static uint16_t
be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static int
ch_has_ext(const struct ch *c, uint16_t type)
{
    size_t i;

    for (i = 0; i < c->n_ext; i++)
        if (c->ext[i] == type)
            return 1;
    return 0;
}

static int
ch_parse_v2(const uint8_t *b, size_t n, struct ch *c)
{
    size_t rlen, specs, sid, chal, i;

    if (n < 2)
        return -1;
    rlen = (size_t)(b[0] & 0x7f) << 8 | b[1];
    if (rlen != n - 2 || rlen < 9 || b[2] != 1)
        return -1;
    c->is_v2 = 1;
    c->rec_len = rlen;
    c->legacy_version = be16(b + 3);
    specs = be16(b + 5);
    sid = be16(b + 7);
    chal = be16(b + 9);
    if (specs % 3 != 0 || 9 + specs + sid + chal != rlen)
        return -1;
    for (i = 0; i < specs; i += 3)
        c->v2_specs[c->n_v2_specs++] = (uint32_t)b[11 + i] << 16 | be16(b + 12 + i);
    c->challenge_len = chal;
    return 0;
}

static int
ch_parse_ext(struct ch *c, uint16_t type, const uint8_t *e, size_t n)
{
    size_t i;

    switch (type) {
    case 0:
        if (n < 5 || be16(e) != n - 2 || e[2] != 0 || be16(e + 3) != n - 5)
            return -1;
        memcpy(c->sni, e + 5, n - 5);
        c->sni[n - 5] = '\0';
        break;
    case 10:
        if (n < 2 || be16(e) != n - 2 || (n - 2) % 2 != 0)
            return -1;
        c->n_groups = (n - 2) / 2;
        break;
    case 16:
        if (n < 2 || be16(e) != n - 2)
            return -1;
        c->n_alpn_bytes = n - 2;
        break;
    case 43:
        if (n < 1 || e[0] != n - 1 || (n - 1) % 2 != 0 || (n - 1) / 2 > 8)
            return -1;
        for (i = 0; i < (n - 1) / 2; i++)
            c->sv[c->n_sv++] = be16(e + 1 + 2 * i);
        break;
    case 51:
        if (n < 2 || be16(e) != n - 2)
            return -1;
        c->has_key_share = 1;
        for (i = 2; i < n;) {
            size_t kl;

            if (n - i < 4)
                return -1;
            kl = be16(e + i + 2);
            if (kl > n - i - 4 || c->n_ks >= 4)
                return -1;
            c->ks_group[c->n_ks++] = be16(e + i);
            i += 4 + kl;
        }
        break;
    default:
        break;
    }
    return 0;
}

static int
ch_parse(const uint8_t *b, size_t n, struct ch *c)
{
    const uint8_t *m, *end;
    size_t l, i;

    memset(c, 0, sizeof(*c));
    if (n >= 1 && (b[0] & 0x80))
        return ch_parse_v2(b, n, c);
    if (n < 9 || b[0] != 22)
        return -1;
    c->rec_type = b[0];
    c->rec_version = be16(b + 1);
    c->rec_len = be16(b + 3);
    if (c->rec_len != n - 5 || b[5] != 1)
        return -1;
    c->hs_len = (size_t)b[6] << 16 | (size_t)b[7] << 8 | b[8];
    if (c->hs_len != n - 9)
        return -1;
    m = b + 9;
    end = b + n;
    if (end - m < 35)
        return -1;
    c->legacy_version = be16(m);
    memcpy(c->random, m + 2, 32);
    m += 34;
    c->sid_len = *m++;
    if ((size_t)(end - m) < c->sid_len + 2u)
        return -1;
    m += c->sid_len;
    l = be16(m);
    m += 2;
    if (l % 2 != 0 || (size_t)(end - m) < l + 1)
        return -1;
    for (i = 0; i < l; i += 2)
        c->suites[c->n_suites++] = be16(m + i);
    m += l;
    c->n_comp = *m++;
    if (c->n_comp > 8 || (size_t)(end - m) < c->n_comp)
        return -1;
    memcpy(c->comp, m, c->n_comp);
    m += c->n_comp;
    if (m == end)
        return 0;
    c->has_exts = 1;
    if (end - m < 2 || be16(m) != (size_t)(end - m - 2))
        return -1;
    m += 2;
    while (m < end) {
        uint16_t type;

        if (end - m < 4)
            return -1;
        type = be16(m);
        l = be16(m + 2);
        m += 4;
        if (l > (size_t)(end - m) || c->n_ext >= 64)
            return -1;
        if (ch_has_ext(c, type))
            return -1; /* duplicate extension */
        c->ext[c->n_ext++] = type;
        if (ch_parse_ext(c, type, m, l) < 0)
            return -1;
        m += l;
    }
    return 0;
}

static int
ch_has_suite(const struct ch *c, uint16_t code)
{
    size_t i;

    for (i = 0; i < c->n_suites; i++)
        if (c->suites[i] == code)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------
 * An in-memory OpenSSL server.
 */
struct srv {
    int min_version, max_version;
    const char *ciphers;      /* TLS <= 1.2 cipher list */
    const char *ciphersuites; /* TLS 1.3 */
    int dh_ffdhe2048;         /* set an explicit 2048-bit DH group */
    const char *groups;
    /* filled by srv_run */
    uint8_t server_random[32];
    int cipher_id; /* IANA code of the server's chosen suite, -1 when none */
};

static size_t
srv_run(struct srv *s, const uint8_t *hello, size_t hello_len, uint8_t *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl;
    BIO *rb, *wb;
    const SSL_CIPHER *c;
    size_t n = 0;
    int r;

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, test_cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, test_key), 1);
    assert_int_equal(SSL_CTX_set_min_proto_version(ctx, s->min_version), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(ctx, s->max_version), 1);
    if (s->ciphers != NULL)
        assert_int_equal(SSL_CTX_set_cipher_list(ctx, s->ciphers), 1);
    if (s->ciphersuites != NULL)
        assert_int_equal(SSL_CTX_set_ciphersuites(ctx, s->ciphersuites), 1);
    if (s->groups != NULL)
        assert_int_equal(SSL_CTX_set1_groups_list(ctx, s->groups), 1);
    if (s->dh_ffdhe2048) {
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
        EVP_PKEY *dh = NULL;

        assert_non_null(pc);
        assert_int_equal(EVP_PKEY_paramgen_init(pc), 1);
        assert_true(EVP_PKEY_CTX_set_dh_nid(pc, NID_ffdhe2048) > 0);
        assert_int_equal(EVP_PKEY_paramgen(pc, &dh), 1);
        assert_int_equal(SSL_CTX_set0_tmp_dh_pkey(ctx, dh), 1);
        EVP_PKEY_CTX_free(pc);
    }
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    rb = BIO_new(BIO_s_mem());
    wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rb, wb);
    SSL_set_accept_state(ssl);
    assert_int_equal(BIO_write(rb, hello, (int)hello_len), (int)hello_len);
    r = SSL_do_handshake(ssl);
    assert_true(r <= 0); /* never completes: we send no second flight */
    while (n < cap) {
        r = BIO_read(wb, out + n, (int)(cap - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    SSL_get_server_random(ssl, s->server_random, sizeof(s->server_random));
    /* TLS <= 1.2 makes the suite current only at ChangeCipherSpec. */
    c = SSL_get_pending_cipher(ssl);
    if (c == NULL)
        c = SSL_get_current_cipher(ssl);
    s->cipher_id = c ? (int)SSL_CIPHER_get_protocol_id(c) : -1;
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return n;
}

static size_t
build(const struct tw_hello_params *p, uint8_t *out, size_t cap)
{
    size_t len = 0;

    assert_int_equal(tw_hello_build(p, out, cap, &len), 0);
    assert_true(len > 0 && len <= TW_HELLO_MAX_OUT);
    return len;
}

/*
 * Every proper prefix of a flight must give NEED_MORE, or DONE once the
 * prefix holds the whole flight; never ERROR, never DONE then NEED_MORE.
 * Returns the length of the shortest DONE prefix.
 */
static size_t
check_prefixes(const uint8_t *fl, size_t n)
{
    struct tw_server_flight f;
    size_t k, first_done = 0;
    int rc;

    for (k = 0; k <= n; k++) {
        uint8_t *copy = malloc(k ? k : 1); /* exact-size copy: ASan sees any overread */

        assert_non_null(copy);
        memcpy(copy, fl, k);
        rc = tw_hello_parse(copy, k, &f);
        free(copy);
        if (first_done == 0) {
            if (rc == TW_HELLO_DONE)
                first_done = k;
            else
                assert_int_equal(rc, TW_HELLO_NEED_MORE);
        } else {
            assert_int_equal(rc, TW_HELLO_DONE);
        }
    }
    assert_true(first_done > 0);
    return first_done;
}

/*
 * Rewrite a TLS flight so that the handshake bytes travel in records of at
 * most `frag` bytes; the records after the handshake are kept as they are.
 */
static size_t
refragment(const uint8_t *in, size_t n, size_t frag, uint8_t *out, size_t cap)
{
    uint8_t *hs = malloc(n);
    size_t off = 0, hs_len = 0, o = 0, i, rlen;
    uint16_t ver = be16(in + 1);

    assert_non_null(hs);
    while (off + 5 <= n && in[off] == 22) {
        rlen = be16(in + off + 3);
        assert_true(off + 5 + rlen <= n);
        memcpy(hs + hs_len, in + off + 5, rlen);
        hs_len += rlen;
        off += 5 + rlen;
    }
    for (i = 0; i < hs_len; i += frag) {
        size_t c = hs_len - i < frag ? hs_len - i : frag;

        assert_true(o + 5 + c <= cap);
        out[o] = 22;
        out[o + 1] = (uint8_t)(ver >> 8);
        out[o + 2] = (uint8_t)ver;
        out[o + 3] = (uint8_t)(c >> 8);
        out[o + 4] = (uint8_t)c;
        memcpy(out + o + 5, hs + i, c);
        o += 5 + c;
    }
    assert_true(o + (n - off) <= cap);
    memcpy(out + o, in + off, n - off);
    free(hs);
    return o + (n - off);
}

/* The test certificate's DER, for comparing with the parsed leaf. */
static int
cert_der(uint8_t **der)
{
    int n = i2d_X509(test_cert, der);

    assert_true(n > 0);
    return n;
}

/* ------------------------------------------------------------------------
 * Builder tests
 */

static void
test_hello_build_each_version(void **state)
{
    static const uint16_t versions[] = {TW_VERSION_SSL3, TW_VERSION_TLS10, TW_VERSION_TLS11,
                                        TW_VERSION_TLS12, TW_VERSION_TLS13};
    static const uint16_t suites[] = {0xc02f, 0x0005, 0x000a, 0x1301};
    uint8_t share[32], buf[TW_HELLO_MAX_OUT];
    struct tw_hello_params p;
    struct ch c;
    size_t i, len;

    (void)state;
    memset(share, 0x5a, sizeof(share));
    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        uint16_t v = versions[i];

        tw_hello_params_init(&p, v, test_random);
        p.suites = suites;
        p.n_suites = 4;
        p.sni = "www.example.test";
        if (v == TW_VERSION_TLS13)
            p.x25519_share = share;
        len = build(&p, buf, sizeof(buf));
        assert_int_equal(ch_parse(buf, len, &c), 0);
        assert_int_equal(c.rec_version, v == TW_VERSION_SSL3 ? 0x0300 : 0x0301);
        assert_int_equal(c.legacy_version, v == TW_VERSION_TLS13 ? 0x0303 : v);
        assert_memory_equal(c.random, test_random, 32);
        assert_int_equal(c.sid_len, 0);
        assert_int_equal(c.n_comp, 1);
        assert_int_equal(c.comp[0], 0);
        assert_true(ch_has_suite(&c, 0xc02f) && ch_has_suite(&c, 0x0005) &&
                    ch_has_suite(&c, 0x000a) && ch_has_suite(&c, 0x1301));
        assert_int_equal(c.suites[0], 0xc02f);
        if (v == TW_VERSION_SSL3) {
            /* SSLv3 defaults: no extensions, the renegotiation SCSV instead. */
            assert_false(c.has_exts);
            assert_int_equal(c.n_suites, 5);
            assert_int_equal(c.suites[4], TW_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);
            continue;
        }
        assert_int_equal(c.n_suites, 4);
        assert_true(c.has_exts);
        assert_string_equal(c.sni, "www.example.test");
        assert_true(ch_has_ext(&c, 0xff01)); /* renegotiation_info */
        assert_true(ch_has_ext(&c, 10));     /* supported_groups */
        assert_true(c.n_groups >= 5);
        assert_true(ch_has_ext(&c, 11));                             /* ec_point_formats */
        assert_true(ch_has_ext(&c, 23));                             /* extended_master_secret */
        assert_true(ch_has_ext(&c, 5));                              /* status_request */
        assert_int_equal(ch_has_ext(&c, 13), v >= TW_VERSION_TLS12); /* signature_algorithms */
        assert_int_equal(ch_has_ext(&c, 43), v == TW_VERSION_TLS13); /* supported_versions */
        assert_int_equal(ch_has_ext(&c, 51), v == TW_VERSION_TLS13); /* key_share */
        /* RFC 7685 padding keeps the message out of 256..511 bytes. */
        assert_false(c.hs_len + 4 >= 256 && c.hs_len + 4 < 512);
        if (v == TW_VERSION_TLS13) {
            assert_int_equal(c.n_sv, 1);
            assert_int_equal(c.sv[0], 0x0304);
            assert_int_equal(c.n_ks, 1);
            assert_int_equal(c.ks_group[0], TW_GROUP_X25519);
        }
    }
}

static void
test_hello_build_options(void **state)
{
    static const uint16_t suites[] = {0x1301, 0x1302};
    static const uint16_t groups[] = {TW_GROUP_SECP384R1};
    static const char *const alpn[] = {"h2", "http/1.1"};
    uint8_t sid[32], buf[TW_HELLO_MAX_OUT];
    struct tw_hello_params p;
    struct ch c;
    size_t len;

    (void)state;
    memset(sid, 0x11, sizeof(sid));
    /* TLS 1.3 offering down to TLS 1.0, no key share entries, session id, ALPN. */
    tw_hello_params_init(&p, TW_VERSION_TLS13, test_random);
    p.min_version = TW_VERSION_TLS10;
    p.suites = suites;
    p.n_suites = 2;
    p.groups = groups;
    p.n_groups = 1;
    p.session_id = sid;
    p.alpn = alpn;
    p.n_alpn = 2;
    p.flags |= TW_HELLO_F_DEFLATE | TW_HELLO_F_FALLBACK_SCSV | TW_HELLO_F_RENEG_SCSV |
               TW_HELLO_F_HEARTBEAT | TW_HELLO_F_SESSION_TICKET | TW_HELLO_F_ETM;
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_int_equal(c.n_sv, 4);
    assert_int_equal(c.sv[0], 0x0304);
    assert_int_equal(c.sv[3], 0x0301);
    assert_true(c.has_key_share);
    assert_int_equal(c.n_ks, 0); /* empty client_shares: asks for an HRR */
    assert_int_equal(c.n_groups, 1);
    assert_int_equal(c.sid_len, 32);
    assert_int_equal(c.n_comp, 2);
    assert_int_equal(c.comp[0], 1);
    assert_int_equal(c.comp[1], 0);
    assert_int_equal(c.n_suites, 4);
    assert_int_equal(c.suites[2], 0x00ff);
    assert_int_equal(c.suites[3], 0x5600);
    assert_int_equal(c.n_alpn_bytes, 1 + 2 + 1 + 8);
    assert_true(ch_has_ext(&c, 15) && ch_has_ext(&c, 35) && ch_has_ext(&c, 22));
    assert_string_equal(c.sni, "");

    /* Without key_share at all, without groups and signature algorithms. */
    p.flags |= TW_HELLO_F_NO_KEY_SHARE | TW_HELLO_F_NO_GROUPS | TW_HELLO_F_NO_SIGALGS;
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_false(ch_has_ext(&c, 51));
    assert_false(ch_has_ext(&c, 10));
    assert_false(ch_has_ext(&c, 13));
    assert_true(ch_has_ext(&c, 43));

    /* A TLS 1.2 hello with extensions switched off altogether. */
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.flags = TW_HELLO_F_NO_EXTENSIONS;
    p.suites = suites;
    p.n_suites = 1;
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_false(c.has_exts);
    assert_int_equal(len, 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2);
}

/* Issue 14, Ticketbleed: a hello resuming a ticket with a 1-byte session
 * ID, and a resumption answer whose 32-byte ID keeps only its first byte. */
static void
test_hello_ticketbleed(void **state)
{
    static const uint8_t ticket[5] = {0xde, 0xad, 0xbe, 0xef, 0x01};
    static const uint8_t ext[] = {0x00, 0x23, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x01};
    uint16_t suites[] = {0xc02f};
    uint8_t buf[TW_HELLO_MAX_OUT], sh[5 + 4 + 2 + 32 + 1 + 32 + 3 + 6];
    struct tw_hello_params p;
    struct tw_server_flight f;
    struct ch c;
    size_t len, o = 0;

    (void)state;
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = suites;
    p.n_suites = 1;
    p.session_id = test_random + 7;
    p.session_id_len = 1;
    p.flags |= TW_HELLO_F_SESSION_TICKET;
    p.ticket = ticket;
    p.ticket_len = sizeof(ticket);
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_int_equal(c.sid_len, 1);
    assert_int_equal(buf[5 + 4 + 2 + 32], 1);
    assert_int_equal(buf[5 + 4 + 2 + 32 + 1], test_random[7]);
    assert_non_null(memmem(buf, len, ext, sizeof(ext)));

    /* ServerHello (32-byte session ID: 0x42, then "memory") + CCS. */
    sh[o++] = 22;
    sh[o++] = 3;
    sh[o++] = 3;
    sh[o++] = 0;
    sh[o++] = 4 + 2 + 32 + 1 + 32 + 3;
    sh[o++] = 2;
    sh[o++] = 0;
    sh[o++] = 0;
    sh[o++] = 2 + 32 + 1 + 32 + 3;
    sh[o++] = 3;
    sh[o++] = 3;
    memset(sh + o, 0x33, 32);
    o += 32;
    sh[o++] = 32;
    sh[o++] = 0x42;
    memset(sh + o, 0xee, 31);
    o += 31;
    sh[o++] = 0xc0;
    sh[o++] = 0x2f;
    sh[o++] = 0;
    memcpy(sh + o, (const uint8_t[]){20, 3, 3, 0, 1, 1}, 6);
    o += 6;
    assert_int_equal(o, sizeof(sh));
    assert_int_equal(tw_hello_parse(sh, sizeof(sh), &f), TW_HELLO_DONE);
    assert_true(f.has_server_hello && f.has_ccs && !f.has_certificate);
    assert_int_equal(f.session_id_len, 32);
    assert_int_equal(f.session_id_first, 0x42);
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 0x42), TW_VULN_TB_VULNERABLE);
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 0x43), TW_VULN_TB_OTHER_ID);
}

static void
test_hello_build_sslv2(void **state)
{
    uint32_t specs[16];
    uint8_t buf[TW_HELLO_MAX_OUT];
    struct tw_hello_params p;
    struct ch c;
    size_t n, len, i;

    (void)state;
    n = tw_suites_offer_sslv2(specs, 16);
    assert_true(n >= 7 && n <= 16);
    tw_hello_params_init(&p, TW_VERSION_SSL2, test_random);
    assert_int_equal(p.flags, 0);
    p.sslv2_specs = specs;
    p.n_sslv2_specs = n;
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_true(c.is_v2);
    assert_int_equal(c.legacy_version, 0x0002);
    assert_int_equal(c.n_v2_specs, n);
    for (i = 0; i < n; i++)
        assert_int_equal(c.v2_specs[i], specs[i]);
    assert_int_equal(c.challenge_len, 16);
    assert_memory_equal(buf + len - 16, test_random, 16);
}

static void
test_hello_build_limits(void **state)
{
    uint16_t suites[TW_HELLO_MAX_SUITES + 1];
    uint8_t buf[TW_HELLO_MAX_OUT], small[TW_HELLO_MAX_OUT];
    char longname[300];
    struct tw_hello_params p;
    struct ch c;
    size_t len, k, i;

    (void)state;
    for (i = 0; i <= TW_HELLO_MAX_SUITES; i++)
        suites[i] = (uint16_t)(0xc000 + i);
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = suites;
    p.n_suites = TW_HELLO_MAX_SUITES;
    len = build(&p, buf, sizeof(buf));
    assert_int_equal(ch_parse(buf, len, &c), 0);
    assert_int_equal(c.n_suites, TW_HELLO_MAX_SUITES);

    /* Every capacity short of the need fails cleanly. */
    for (k = 0; k < len; k++) {
        size_t got = 99;

        assert_int_equal(tw_hello_build(&p, small, k, &got), -1);
        assert_int_equal(got, 0);
    }
    p.n_suites = TW_HELLO_MAX_SUITES + 1;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    p.n_suites = 1;
    memset(longname, 'a', sizeof(longname));
    longname[256] = '\0';
    p.sni = longname;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    longname[255] = '\0';
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), 0);
    p.sni = NULL;
    p.version = 0x0305;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    p.version = TW_VERSION_TLS12;
    p.random = NULL;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    p.random = test_random;
    /* Issue 14, Ticketbleed: a session ID of 33 bytes does not exist, a
     * ticket needs its bytes. */
    p.session_id = test_random;
    p.session_id_len = 33;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    p.session_id_len = 1;
    p.flags |= TW_HELLO_F_SESSION_TICKET;
    p.ticket_len = 4;
    assert_int_equal(tw_hello_build(&p, buf, sizeof(buf), &len), -1);
    assert_int_equal(tw_hello_build(NULL, buf, sizeof(buf), &len), -1);
}

/* ------------------------------------------------------------------------
 * Parser against a real server
 */

static void
test_hello_parse_tls12_ecdhe(void **state)
{
    static const uint16_t suites[] = {0xc02f, 0x009c};
    static const uint16_t groups[] = {TW_GROUP_SECP256R1};
    struct srv s = {
        TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", NULL, 0, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP), *re = malloc(FLIGHT_CAP);
    uint8_t leaf[8192], *der = NULL;
    static const size_t frags[] = {1, 7, 100, 999};
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n, rn, i, done_at;
    int der_len;

    (void)state;
    assert_non_null(fl);
    assert_non_null(re);
    der_len = cert_der(&der);
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = suites;
    p.n_suites = 2;
    p.groups = groups;
    p.n_groups = 1;
    p.sni = "hello.test";
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_true(n > 0);

    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_true(f.has_server_hello);
    assert_false(f.is_hrr);
    assert_int_equal(f.version, 0x0303);
    assert_int_equal(f.legacy_version, 0x0303);
    assert_int_equal(f.cipher_suite, s.cipher_id);
    assert_int_equal(f.cipher_suite, 0xc02f);
    assert_memory_equal(f.random, s.server_random, 32);
    assert_int_equal(f.compression, 0);
    assert_true(f.has_reneg_info);
    assert_true(f.has_ems);
    assert_true(f.has_ec_point_formats);
    assert_false(f.has_supported_versions);
    assert_true(f.n_ext >= 3);
    assert_true(f.has_certificate);
    assert_int_equal(f.n_certs, 1);
    assert_int_equal((int)f.leaf_len, der_len);
    assert_false(f.is_leaf_split);
    assert_memory_equal(fl + f.leaf_off, der, (size_t)der_len);
    assert_true(f.has_ske);
    assert_int_equal(f.kx, TW_FLIGHT_KX_ECDHE);
    assert_int_equal(f.ecdh_group, TW_GROUP_SECP256R1);
    assert_true(f.has_server_hello_done);
    assert_false(f.has_alert);
    assert_null(f.error);
    assert_int_equal(f.consumed, n);

    /* Only the complete flight is DONE. */
    done_at = check_prefixes(fl, n);
    assert_int_equal(done_at, n);

    /* Bytes after the end of the flight do not change the answer. */
    memcpy(fl + n, "\x16\x41garbage", 9);
    assert_int_equal(tw_hello_parse(fl, n + 9, &f), TW_HELLO_DONE);
    assert_true(f.has_server_hello_done);
    assert_int_equal(f.consumed, n);

    /* The same flight cut into small records: same answers, the leaf is gathered. */
    for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
        rn = refragment(fl, n, frags[i], re, FLIGHT_CAP);
        assert_int_equal(tw_hello_parse(re, rn, &f), TW_HELLO_DONE);
        assert_int_equal(f.cipher_suite, 0xc02f);
        assert_int_equal(f.n_certs, 1);
        assert_int_equal(f.ecdh_group, TW_GROUP_SECP256R1);
        assert_true(f.has_server_hello_done);
        assert_int_equal(f.is_leaf_split, frags[i] < (size_t)der_len);
        assert_int_equal(tw_hello_copy_leaf(re, rn, &f, leaf, sizeof(leaf)), (size_t)der_len);
        assert_memory_equal(leaf, der, (size_t)der_len);
        assert_int_equal(tw_hello_copy_leaf(re, rn, &f, leaf, (size_t)der_len - 1), 0);
        if (frags[i] == 7)
            check_prefixes(re, rn);
    }
    OPENSSL_free(der);
    free(fl);
    free(re);
}

static void
test_hello_parse_tls12_dhe(void **state)
{
    static const uint16_t suites[] = {0x009e};
    struct srv s = {
        TLS1_2_VERSION, TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256", NULL, 1, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP);
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n;

    (void)state;
    assert_non_null(fl);
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = suites;
    p.n_suites = 1;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_int_equal(f.cipher_suite, 0x009e);
    assert_int_equal(f.cipher_suite, s.cipher_id);
    assert_true(f.has_ske);
    assert_int_equal(f.kx, TW_FLIGHT_KX_DHE);
    assert_int_equal(f.dh_p_bits, 2048);
    assert_int_equal(f.dh_g_bits, 2); /* ffdhe2048's generator is 2 */
    assert_true(f.has_server_hello_done);
    check_prefixes(fl, n);
    free(fl);
}

/*
 * Anonymous suites: the ServerKeyExchange is read by the chosen suite's key
 * exchange in tls/suites (DH_anon is kx DHE, ECDH_anon is kx ECDHE), so its
 * group is found although no certificate comes first.
 */
static void
test_hello_parse_tls12_anon(void **state)
{
    static const uint16_t adh[] = {0x0034};   /* TLS_DH_anon_WITH_AES_128_CBC_SHA */
    static const uint16_t aecdh[] = {0xC018}; /* TLS_ECDH_anon_WITH_AES_128_CBC_SHA */
    struct srv s1 = {
        TLS1_2_VERSION, TLS1_2_VERSION, "ADH-AES128-SHA:@SECLEVEL=0", NULL, 1, NULL, {0}, 0};
    struct srv s2 = {
        TLS1_2_VERSION, TLS1_2_VERSION, "AECDH-AES128-SHA:@SECLEVEL=0", NULL, 0, "P-256", {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP);
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n;

    (void)state;
    assert_non_null(fl);
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = adh;
    p.n_suites = 1;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s1, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_int_equal(f.cipher_suite, 0x0034);
    assert_false(f.has_certificate);
    assert_true(f.has_ske);
    assert_int_equal(f.kx, TW_FLIGHT_KX_DHE);
    assert_int_equal(f.dh_p_bits, 2048);
    assert_true(f.has_server_hello_done);

    p.suites = aecdh;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s2, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_int_equal(f.cipher_suite, 0xC018);
    assert_false(f.has_certificate);
    assert_true(f.has_ske);
    assert_int_equal(f.kx, TW_FLIGHT_KX_ECDHE);
    assert_int_equal(f.ecdh_group, TW_GROUP_SECP256R1);
    free(fl);
}

static void
test_hello_parse_tls13(void **state)
{
    static const uint16_t suites[] = {0x1302, 0x1301, 0x1303};
    struct srv s = {TLS1_3_VERSION, TLS1_3_VERSION, NULL, NULL, 0, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP), share[32];
    size_t share_len = sizeof(share);
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n, done_at;

    (void)state;
    assert_non_null(fl);
    assert_non_null(x);
    assert_int_equal(EVP_PKEY_get_raw_public_key(x, share, &share_len), 1);
    assert_int_equal(share_len, 32);
    tw_hello_params_init(&p, TW_VERSION_TLS13, test_random);
    p.suites = suites;
    p.n_suites = 3;
    p.x25519_share = share;
    p.sni = "hello.test";
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_false(f.is_hrr);
    assert_int_equal(f.legacy_version, 0x0303);
    assert_true(f.has_supported_versions);
    assert_int_equal(f.version, 0x0304);
    assert_true(f.has_key_share);
    assert_int_equal(f.key_share_group, TW_GROUP_X25519);
    assert_int_equal(f.cipher_suite, s.cipher_id);
    assert_int_equal(tw_suites_find(f.cipher_suite)->kx, TW_KX_TLS13);
    assert_memory_equal(f.random, s.server_random, 32);
    assert_false(f.has_certificate); /* encrypted in TLS 1.3 */
    assert_int_equal(f.downgrade, 0);
    /* DONE as soon as the ServerHello record is complete; the rest is encrypted. */
    done_at = check_prefixes(fl, n);
    assert_true(done_at < n);
    assert_int_equal(done_at, 5 + (size_t)be16(fl + 3));
    EVP_PKEY_free(x);
    free(fl);
}

static void
test_hello_parse_tls13_hrr(void **state)
{
    static const uint16_t suites[] = {0x1301};
    static const uint16_t groups[] = {TW_GROUP_SECP384R1};
    struct srv s = {TLS1_3_VERSION, TLS1_3_VERSION, NULL, NULL, 0, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP);
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n;

    (void)state;
    assert_non_null(fl);
    tw_hello_params_init(&p, TW_VERSION_TLS13, test_random);
    p.suites = suites;
    p.n_suites = 1;
    p.groups = groups;
    p.n_groups = 1;
    p.x25519_share = NULL; /* empty client_shares */
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_true(f.is_hrr);
    assert_true(f.has_server_hello);
    assert_int_equal(f.version, 0x0304);
    assert_true(f.has_key_share);
    assert_int_equal(f.key_share_group, TW_GROUP_SECP384R1);
    assert_int_equal(f.cipher_suite, 0x1301);
    check_prefixes(fl, n);
    free(fl);
}

static void
test_hello_parse_tls10_seclevel0(void **state)
{
    static const uint16_t suites[] = {0xc013, 0x002f};
    struct srv s = {TLS1_VERSION,
                    TLS1_VERSION,
                    "ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0",
                    NULL,
                    0,
                    NULL,
                    {0},
                    0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP);
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n;

    (void)state;
    assert_non_null(fl);
    tw_hello_params_init(&p, TW_VERSION_TLS10, test_random);
    p.suites = suites;
    p.n_suites = 2;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_int_equal(f.version, 0x0301);
    assert_int_equal(f.cipher_suite, 0xc013);
    assert_int_equal(f.cipher_suite, s.cipher_id);
    assert_int_equal(f.kx, TW_FLIGHT_KX_ECDHE);
    assert_true(f.has_server_hello_done);
    check_prefixes(fl, n);

    /* An SSLv2-format hello offering TLS 1.0 reaches the same server. */
    tw_hello_params_init(&p, TW_VERSION_SSL2, test_random);
    p.legacy_version = TW_VERSION_TLS10;
    p.suites = suites;
    p.n_suites = 2;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_int_equal(f.version, 0x0301);
    assert_int_equal(f.cipher_suite, s.cipher_id);
    assert_true(f.has_server_hello_done);
    free(fl);
}

static void
test_hello_parse_refused_alerts(void **state)
{
    static const uint16_t suites[] = {0xc02f};
    struct srv s = {TLS1_2_VERSION, TLS1_2_VERSION, "AES256-GCM-SHA384", NULL, 0, NULL, {0}, 0};
    struct srv s2 = {TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], *fl = malloc(FLIGHT_CAP);
    struct tw_hello_params p;
    struct tw_server_flight f;
    size_t chl, n;

    (void)state;
    assert_non_null(fl);
    /* No shared suite: handshake_failure. */
    tw_hello_params_init(&p, TW_VERSION_TLS12, test_random);
    p.suites = suites;
    p.n_suites = 1;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_true(f.has_alert);
    assert_true(f.is_alert_first);
    assert_int_equal(f.alert_level, 2);
    assert_int_equal(f.alert_desc, 40); /* handshake_failure */
    assert_false(f.has_server_hello);
    check_prefixes(fl, n);

    /* TLS 1.0 offered to a TLS 1.2+ server: protocol_version. */
    tw_hello_params_init(&p, TW_VERSION_TLS10, test_random);
    p.suites = suites;
    p.n_suites = 1;
    chl = build(&p, ch, sizeof(ch));
    n = srv_run(&s2, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
    assert_true(f.has_alert);
    assert_int_equal(f.alert_desc, 70); /* protocol_version */
    free(fl);
}

/* ------------------------------------------------------------------------
 * Parser against hand-made bytes
 */

static void
test_hello_parse_not_tls(void **state)
{
    static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    static const uint8_t junk[] = {0x16, 0x41, 0x42, 0x43, 0x44, 0x45};
    static const uint8_t v2junk[] = {0x85, 0x00, 0x07, 0x00, 0x00};
    struct tw_server_flight f;

    (void)state;
    assert_int_equal(tw_hello_parse((const uint8_t *)http, strlen(http), &f), TW_HELLO_ERROR);
    assert_true(f.is_not_tls);
    assert_non_null(f.error);
    assert_int_equal(f.n_first, 8);
    assert_memory_equal(f.first_bytes, "HTTP/1.1", 8);
    assert_int_equal(tw_hello_parse((const uint8_t *)http, 1, &f), TW_HELLO_ERROR);
    assert_true(f.is_not_tls);
    assert_int_equal(tw_hello_parse((const uint8_t *)ssh, strlen(ssh), &f), TW_HELLO_ERROR);
    assert_true(f.is_not_tls);
    assert_int_equal(tw_hello_parse(junk, sizeof(junk), &f), TW_HELLO_ERROR);
    assert_true(f.is_not_tls);
    assert_int_equal(tw_hello_parse(v2junk, sizeof(v2junk), &f), TW_HELLO_ERROR);
    assert_true(f.is_not_tls);
    assert_int_equal(tw_hello_parse(NULL, 0, &f), TW_HELLO_NEED_MORE);
}

static void
test_hello_parse_absurd_record(void **state)
{
    uint8_t rec[5] = {0x16, 0x03, 0x03, 0xff, 0xff};
    struct tw_server_flight f;

    (void)state;
    assert_int_equal(tw_hello_parse(rec, 5, &f), TW_HELLO_ERROR);
    assert_true(f.is_absurd_record);
    assert_false(f.is_not_tls);
    rec[3] = 0x48; /* 18433 */
    rec[4] = 0x01;
    assert_int_equal(tw_hello_parse(rec, 5, &f), TW_HELLO_ERROR);
    assert_true(f.is_absurd_record);
    rec[4] = 0x00; /* 18432: allowed, and incomplete */
    assert_int_equal(tw_hello_parse(rec, 5, &f), TW_HELLO_NEED_MORE);
    assert_false(f.is_absurd_record);
}

/* Append a TLS record. */
static size_t
put_record(uint8_t *b, size_t o, uint8_t type, const uint8_t *payload, size_t n)
{
    b[o] = type;
    b[o + 1] = 3;
    b[o + 2] = 3;
    b[o + 3] = (uint8_t)(n >> 8);
    b[o + 4] = (uint8_t)n;
    memcpy(b + o + 5, payload, n);
    return o + 5 + n;
}

static void
test_hello_parse_malformed(void **state)
{
    /* A minimal TLS 1.2 ServerHello without extensions. */
    static const uint8_t sh_ok[] = {2, 0, 0, 38, 3, 3, 1, 1, 1, 1, 1, 1,    1,    1,
                                    1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    1,    1,
                                    1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 0, 0xc0, 0x2f, 0};
    uint8_t msg[64], *b = malloc(FLIGHT_CAP + 16016), big[4 + 4];
    struct tw_server_flight f;
    size_t n;

    (void)state;
    assert_non_null(b);
    /* The valid one waits for more (no ServerHelloDone yet). */
    n = put_record(b, 0, 22, sh_ok, sizeof(sh_ok));
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_NEED_MORE);
    assert_true(f.has_server_hello);
    assert_int_equal(f.cipher_suite, 0xc02f);
    assert_int_equal(f.n_ext, 0);

    /* Session id length 33. */
    memcpy(msg, sh_ok, sizeof(sh_ok));
    msg[38] = 33;
    n = put_record(b, 0, 22, msg, sizeof(sh_ok));
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_malformed);

    /* An extensions block longer than the message. */
    memcpy(msg, sh_ok, sizeof(sh_ok));
    msg[3] = 40;
    msg[42] = 0;
    msg[43] = 9;
    n = put_record(b, 0, 22, msg, sizeof(sh_ok) + 2);
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_malformed);

    /* A Certificate before any ServerHello. */
    msg[0] = 11;
    msg[1] = 0;
    msg[2] = 0;
    msg[3] = 3;
    msg[4] = msg[5] = msg[6] = 0;
    n = put_record(b, 0, 22, msg, 7);
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_malformed);

    /* Application data in a TLS 1.2 flight. */
    n = put_record(b, 0, 22, sh_ok, sizeof(sh_ok));
    n = put_record(b, n, 23, sh_ok, 4);
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_malformed);

    /* An alert after the ServerHello ends the flight; it is not "first". */
    n = put_record(b, 0, 22, sh_ok, sizeof(sh_ok));
    n = put_record(b, n, 21, (const uint8_t *)"\x02\x28", 2);
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_DONE);
    assert_true(f.has_alert);
    assert_false(f.is_alert_first);
    assert_int_equal(f.alert_desc, 40);

    /* A Certificate that claims more than the flight cap: too long. */
    n = put_record(b, 0, 22, sh_ok, sizeof(sh_ok));
    big[0] = 11;
    big[1] = 0x01; /* 0x010000 + ... bytes */
    big[2] = 0x10;
    big[3] = 0x00;
    memset(big + 4, 0, 4);
    n = put_record(b, n, 22, big, sizeof(big));
    while (n < FLIGHT_CAP) {
        static uint8_t zeros[16000];

        n = put_record(b, n, 22, zeros, sizeof(zeros));
    }
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_too_long);
    free(b);
}

static void
test_hello_parse_sslv2(void **state)
{
    static const uint32_t specs[] = {0x010080, 0x0700c0, 0x060040};
    uint8_t *der = NULL, *b;
    struct tw_server_flight f;
    size_t o = 0, body, n, i;
    int der_len;

    (void)state;
    der_len = cert_der(&der);
    b = malloc((size_t)der_len + 64);
    assert_non_null(b);
    body = 11 + (size_t)der_len + 9 + 16;
    b[o++] = (uint8_t)(0x80 | (body >> 8));
    b[o++] = (uint8_t)body;
    b[o++] = 4;    /* SERVER-HELLO */
    b[o++] = 0;    /* session id hit */
    b[o++] = 1;    /* SSL_X509_CERTIFICATE */
    b[o++] = 0x00; /* version 0x0002 */
    b[o++] = 0x02;
    b[o++] = (uint8_t)(der_len >> 8);
    b[o++] = (uint8_t)der_len;
    b[o++] = 0;
    b[o++] = 9;
    b[o++] = 0;
    b[o++] = 16;
    memcpy(b + o, der, (size_t)der_len);
    o += (size_t)der_len;
    for (i = 0; i < 3; i++) {
        b[o++] = (uint8_t)(specs[i] >> 16);
        b[o++] = (uint8_t)(specs[i] >> 8);
        b[o++] = (uint8_t)specs[i];
    }
    memset(b + o, 0xab, 16);
    o += 16;
    n = o;
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_DONE);
    assert_true(f.is_sslv2);
    assert_int_equal(f.v2_version, 2);
    assert_int_equal(f.v2_cert_type, 1);
    assert_int_equal(f.n_v2_specs, 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(f.v2_specs[i], specs[i]);
    assert_int_equal(f.v2_cert_len, (size_t)der_len);
    assert_memory_equal(b + f.v2_cert_off, der, (size_t)der_len);
    assert_int_equal(check_prefixes(b, n), n);

    /* Specs length not a multiple of 3. */
    b[10] = 8;
    assert_int_equal(tw_hello_parse(b, n, &f), TW_HELLO_ERROR);
    assert_true(f.is_malformed);

    /* SSLv2 ERROR: NO-CIPHER-ERROR. */
    b[0] = 0x80;
    b[1] = 3;
    b[2] = 0;
    b[3] = 0;
    b[4] = 1;
    assert_int_equal(tw_hello_parse(b, 5, &f), TW_HELLO_DONE);
    assert_true(f.has_v2_error);
    assert_int_equal(f.v2_error, 1);
    free(b);
    OPENSSL_free(der);
}

/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * --simulate real (scanner/simreal.h): a client's own hello, with key shares
 * a real OpenSSL server takes, and the outcome compared with the simulation.
 */

/* A TLS 1.3 client whose first group is g (and x25519 second). */
static size_t
simreal_run(uint16_t g, const char *srv_groups, struct tw_server_flight *f, uint8_t *fl)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0xC02F};
    static const uint16_t sigalgs[] = {0x0804, 0x0401};
    uint16_t groups[] = {g, TW_GROUP_X25519};
    struct tw_refclient c;
    struct srv s = {TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0, srv_groups, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], rnd[TW_SIMREAL_RANDOM_LEN];
    size_t chl = 0, n;
    struct ch parsed;

    memset(&c, 0, sizeof(c));
    memset(rnd, 0x5a, sizeof(rnd));
    c.name = "t";
    c.min_version = TW_VERSION_TLS12;
    c.max_version = TW_VERSION_TLS13;
    c.suites = suites;
    c.n_suites = 3;
    c.groups = groups;
    c.n_groups = 2;
    c.sigalgs = sigalgs;
    c.n_sigalgs = 2;
    c.sni = 1;
    assert_int_equal(tw_simreal_build(&c, "hello.test", rnd, ch, sizeof(ch), &chl), 0);
    assert_int_equal(ch_parse(ch, chl, &parsed), 0);
    assert_true(ch_has_ext(&parsed, 0));  /* server_name */
    assert_true(ch_has_ext(&parsed, 51)); /* key_share */
    n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
    assert_int_equal(tw_hello_parse(fl, n, f), TW_HELLO_DONE);
    return n;
}

static void
test_simreal_key_shares(void **state)
{
    static const struct {
        uint16_t group;
        const char *server; /* the server's groups */
        uint16_t want;      /* the ServerHello's key_share group, no HRR */
    } cases[] = {
        {TW_GROUP_SECP256R1, "P-256", TW_GROUP_SECP256R1},
        {TW_GROUP_SECP384R1, "P-384", TW_GROUP_SECP384R1},
        {TW_GROUP_SECP521R1, "P-521", TW_GROUP_SECP521R1},
        {TW_GROUP_X448, "X448", TW_GROUP_X448},
        {TW_GROUP_FFDHE2048, "ffdhe2048", TW_GROUP_FFDHE2048},
        /* A hybrid first: its X25519 second share is taken as it is. */
        {0x11EC, "X25519", TW_GROUP_X25519},
    };
    uint8_t *fl = malloc(FLIGHT_CAP);
    struct tw_server_flight f;
    struct tw_grec_real r;

    (void)state;
    assert_non_null(fl);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        simreal_run(cases[i].group, cases[i].server, &f, fl);
        assert_true(f.has_server_hello);
        assert_false(f.is_hrr);
        assert_int_equal(f.version, TW_VERSION_TLS13);
        assert_int_equal(f.key_share_group, cases[i].want);
        tw_simreal_feed(&f, NULL, &r);
        assert_true(r.ran && r.ok && !r.hrr);
        assert_int_equal(r.group, cases[i].want);
        assert_int_equal(r.protocol, TW_VERSION_TLS13);
        assert_int_equal(r.suite, 0x1301);
    }
    /* A group the client shares second only: a HelloRetryRequest for it. */
    simreal_run(TW_GROUP_SECP256R1, "X25519", &f, fl);
    tw_simreal_feed(&f, NULL, &r);
    assert_true(r.ok && r.hrr);
    assert_int_equal(r.group, TW_GROUP_X25519);
    free(fl);
}

/* Every built-in client's hello builds, and a default OpenSSL server
 * answers it with a complete first flight. */
static void
test_simreal_every_client(void **state)
{
    struct srv s = {TLS1_VERSION, TLS1_3_VERSION, "ALL:@SECLEVEL=0", NULL, 0, NULL, {0}, 0};
    uint8_t ch[TW_HELLO_MAX_OUT], rnd[TW_SIMREAL_RANDOM_LEN], *fl = malloc(FLIGHT_CAP);
    struct tw_server_flight f;
    struct ch parsed;

    (void)state;
    assert_non_null(fl);
    memset(rnd, 0x33, sizeof(rnd));
    for (size_t i = 0; i < tw_refclients_count(); i++) {
        const struct tw_refclient *c = tw_refclients_at(i);
        size_t chl = 0, n;

        assert_int_equal(tw_simreal_build(c, "hello.test", rnd, ch, sizeof(ch), &chl), 0);
        assert_int_equal(ch_parse(ch, chl, &parsed), 0);
        assert_int_equal(ch_has_ext(&parsed, 0), c->sni ? 1 : 0);
        n = srv_run(&s, ch, chl, fl, FLIGHT_CAP);
        assert_int_equal(tw_hello_parse(fl, n, &f), TW_HELLO_DONE);
        assert_true(f.has_server_hello);
        assert_true(f.version <= c->max_version && f.version >= c->min_version);
    }
    /* No name to send: no server_name even for a client that sends SNI. */
    {
        size_t chl = 0;

        assert_int_equal(tw_simreal_build(tw_refclients_at(0), NULL, rnd, ch, sizeof(ch), &chl), 0);
        assert_int_equal(ch_parse(ch, chl, &parsed), 0);
        assert_false(ch_has_ext(&parsed, 0));
    }
    free(fl);
}

static void
test_simreal_feed_agree(void **state)
{
    struct tw_server_flight f;
    struct tw_grec_real r;
    struct tw_grec_sim sim;
    struct tw_grade_record *rec = calloc(1, sizeof(*rec));

    (void)state;
    assert_non_null(rec);
    /* No answer, then an alert: refused. */
    tw_simreal_feed(NULL, NULL, &r);
    assert_true(r.ran && !r.ok);
    assert_int_equal(r.alert, -1);
    memset(&f, 0, sizeof(f));
    f.has_alert = 1;
    f.alert_desc = 70;
    tw_simreal_feed(&f, NULL, &r);
    assert_false(r.ok);
    assert_int_equal(r.alert, 70);
    assert_non_null(strstr(r.why, "protocol_version"));
    /* A TLS 1.2 ECDHE ServerHello: its curve from the ServerKeyExchange. */
    memset(&f, 0, sizeof(f));
    f.has_server_hello = 1;
    f.version = TW_VERSION_TLS12;
    f.cipher_suite = 0xC02F;
    f.kx = TW_FLIGHT_KX_ECDHE;
    f.ecdh_group = TW_GROUP_SECP256R1;
    tw_simreal_feed(&f, NULL, &r);
    assert_true(r.ok);
    assert_int_equal(r.group, TW_GROUP_SECP256R1);
    /* A client that did not offer P-256 would refuse that ServerKeyExchange. */
    {
        static const uint16_t su[] = {0xC02F};
        static const uint16_t gr[] = {TW_GROUP_X25519};
        struct tw_refclient c;
        struct tw_grec_real r2;

        memset(&c, 0, sizeof(c));
        c.min_version = TW_VERSION_TLS10;
        c.max_version = TW_VERSION_TLS12;
        c.suites = su;
        c.n_suites = 1;
        c.groups = gr;
        c.n_groups = 1;
        tw_simreal_feed(&f, &c, &r2);
        assert_false(r2.ok);
        assert_non_null(strstr(r2.why, "did not offer"));
        c.groups = &f.ecdh_group;
        tw_simreal_feed(&f, &c, &r2);
        assert_true(r2.ok);
    }

    memset(&sim, 0, sizeof(sim));
    sim.ok = 1;
    sim.protocol = TW_VERSION_TLS12;
    sim.suite = 0xC02F;
    sim.group = TW_GROUP_SECP256R1;
    assert_true(tw_simreal_agree(&sim, &r));
    sim.group = TW_GROUP_X25519;
    assert_false(tw_simreal_agree(&sim, &r));
    /* A failure after the ServerHello still reached it. */
    sim.group = TW_GROUP_SECP256R1;
    sim.ok = 0;
    sim.cls = "weak_key";
    assert_true(tw_simreal_agree(&sim, &r));
    sim.cls = "no_shared_cipher";
    assert_false(tw_simreal_agree(&sim, &r));
    tw_simreal_feed(NULL, NULL, &r);
    assert_true(tw_simreal_agree(&sim, &r));

    /* judge: in the order of sims; a client without a real outcome: -1. */
    rec->n_sims = 2;
    rec->sims[0] = sim;
    rec->sims[1] = sim;
    rec->sims[1].ok = 1;
    rec->n_reals = 3;
    rec->reals[0] = r;
    rec->reals[1] = r;
    rec->reals[2] = r;
    tw_simreal_judge(rec);
    assert_int_equal(rec->reals[0].agrees, 1);
    assert_int_equal(rec->reals[1].agrees, 0);
    assert_int_equal(rec->reals[2].agrees, -1);
    free(rec);
}

static int
group_setup(void **state)
{
    (void)state;
    memset(test_random, 0x42, sizeof(test_random));
    test_key = EVP_RSA_gen(2048);
    test_cert = tx_self_signed(test_key, "hello.test", -3600, 86400);
    if (test_key == NULL || test_cert == NULL)
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    X509_free(test_cert);
    EVP_PKEY_free(test_key);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_build_each_version),
        cmocka_unit_test(test_hello_build_options),
        cmocka_unit_test(test_hello_build_sslv2),
        cmocka_unit_test(test_hello_build_limits),
        cmocka_unit_test(test_hello_ticketbleed),
        cmocka_unit_test(test_hello_parse_tls12_ecdhe),
        cmocka_unit_test(test_hello_parse_tls12_dhe),
        cmocka_unit_test(test_hello_parse_tls12_anon),
        cmocka_unit_test(test_hello_parse_tls13),
        cmocka_unit_test(test_hello_parse_tls13_hrr),
        cmocka_unit_test(test_hello_parse_tls10_seclevel0),
        cmocka_unit_test(test_hello_parse_refused_alerts),
        cmocka_unit_test(test_hello_parse_not_tls),
        cmocka_unit_test(test_hello_parse_absurd_record),
        cmocka_unit_test(test_hello_parse_malformed),
        cmocka_unit_test(test_hello_parse_sslv2),
        cmocka_unit_test(test_simreal_key_shares),
        cmocka_unit_test(test_simreal_every_client),
        cmocka_unit_test(test_simreal_feed_agree),
    };

    return cmocka_run_group_tests_name("hello", tests, group_setup, group_teardown);
}
