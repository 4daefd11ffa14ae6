/*
 * test_suites.c - the one table of protocol facts (tls/suites.[ch]): the
 * cipher suite rows against their own IANA names (key exchange, bits,
 * flags), the table's invariants (sorted, unique, SCSV and GREASE), the
 * lists a ClientHello offers, the SSLv2 cipher specs and the named groups.
 *
 * Every suite OpenSSL knows is also checked against OpenSSL's standard
 * name, so a typo in a row cannot hide.  The cases marked "issue 12" pin
 * what the merge of grade.c's and hello.c's tables decided.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "tls/suites.h"

/* TW_HELLO_MAX_SUITES of scanner/hello.h: one hello offers at most this many. */
#define HELLO_MAX_SUITES 512

/* ---- helpers: what a suite's name says ---- */

static int
has(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

/* The TLS 1.3 suites outside 0x13xx: RFC 8998 SM4, RFC 9150 integrity-only,
 * RFC 9367 GOST MGM. */
static int
tls13_outside_13xx(uint16_t code)
{
    return code == 0x00C6 || code == 0x00C7 || code == 0xC0B4 || code == 0xC0B5 ||
           (code >= 0xC103 && code <= 0xC106);
}

/* The bulk cipher bits a name implies, or -1. */
static int
name_bits(const char *n)
{
    if (has(n, "_WITH_NULL_") || strcmp(n, "TLS_NULL_WITH_NULL_NULL") == 0 ||
        strcmp(n, "TLS_SHA256_SHA256") == 0 || strcmp(n, "TLS_SHA384_SHA384") == 0)
        return 0;
    if (has(n, "RC4_40") || has(n, "RC2_CBC_40") || has(n, "DES40") || has(n, "DES_CBC_40"))
        return 40;
    if (has(n, "RC4_56") || has(n, "RC2_CBC_56"))
        return 56;
    if (has(n, "3DES"))
        return 168;
    if (has(n, "_DES_CBC_"))
        return 56;
    if (has(n, "IDEA") || has(n, "SEED") || has(n, "_128") || has(n, "SM4"))
        return 128;
    if (has(n, "_256") || has(n, "CHACHA20"))
        return 256;
    return -1;
}

/* The key exchange a name implies (anonymous DH is ephemeral DH). */
static enum tw_kx
name_kx(const char *n)
{
    const char *kx = n + 4; /* after "TLS_" or "SSL_" */
    const char *with = strstr(kx, "_WITH_");
    char part[64];
    size_t len;

    if (has(n, "_MGM_L") || has(n, "_MGM_S") || with == NULL)
        return TW_KX_TLS13;
    len = (size_t)(with - kx);
    assert_true(len < sizeof(part));
    memcpy(part, kx, len);
    part[len] = '\0';
    if (has(part, "PSK")) {
        if (has(part, "ECDHE"))
            return TW_KX_ECDHE_PSK;
        if (has(part, "DHE"))
            return TW_KX_DHE_PSK; /* also TLS_PSK_DHE_WITH_AES_128_CCM_8 */
        if (has(part, "RSA"))
            return TW_KX_RSA_PSK;
        return TW_KX_PSK;
    }
    if (strncmp(part, "ECDHE_", 6) == 0 || strcmp(part, "ECDH_anon") == 0)
        return TW_KX_ECDHE;
    if (strncmp(part, "ECDH_", 5) == 0)
        return TW_KX_ECDH;
    if (strncmp(part, "DHE_", 4) == 0 || strcmp(part, "DH_anon") == 0 ||
        strncmp(part, "DH_anon_EXPORT", 14) == 0)
        return TW_KX_DHE;
    if (strncmp(part, "DH_", 3) == 0)
        return TW_KX_DH;
    if (strncmp(part, "RSA", 3) == 0)
        return TW_KX_RSA;
    if (strncmp(part, "SRP", 3) == 0)
        return TW_KX_SRP;
    if (strncmp(part, "KRB5", 4) == 0)
        return TW_KX_KRB5;
    if (strcmp(part, "ECCPWD") == 0)
        return TW_KX_ECCPWD;
    if (strncmp(part, "GOSTR", 5) == 0)
        return TW_KX_GOST;
    if (strcmp(part, "NULL") == 0)
        return TW_KX_NULL;
    fail_msg("no key exchange in %s", n);
    return TW_KX_NULL;
}

static int
is_grease(uint16_t code)
{
    return (code & 0x0f0f) == 0x0a0a && (code >> 12) == ((code >> 4) & 0xf);
}

/* ---- the suite table ---- */

static void
test_suites_table_order(void **state)
{
    (void)state;
    assert_true(tw_suites_count() > 300);
    for (size_t i = 1; i < tw_suites_count(); i++)
        if (tw_suites_at(i - 1)->code >= tw_suites_at(i)->code)
            fail_msg("suite table not sorted (or a duplicate) at 0x%04X", tw_suites_at(i)->code);
    for (size_t i = 0; i < tw_suites_count(); i++)
        assert_ptr_equal(tw_suites_find(tw_suites_at(i)->code), tw_suites_at(i));
    assert_null(tw_suites_at(tw_suites_count()));
}

static void
test_suites_names_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_suites_count(); i++) {
        const struct tw_suite *s = tw_suites_at(i);

        /* IANA names start with TLS_; Netscape's FIPS suites keep SSL_. */
        if (strncmp(s->name, "TLS_", 4) != 0 &&
            !(s->is_unofficial && strncmp(s->name, "SSL_", 4) == 0))
            fail_msg("0x%04X: name %s", s->code, s->name);
        for (size_t j = i + 1; j < tw_suites_count(); j++)
            if (strcmp(s->name, tw_suites_at(j)->name) == 0)
                fail_msg("name %s twice", s->name);
    }
}

/* Every row's kx, bits and flags agree with what its name says. */
static void
test_suites_rows_match_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < tw_suites_count(); i++) {
        const struct tw_suite *s = tw_suites_at(i);
        const char *n = s->name;
        int anon = has(n, "_anon_") || s->code == 0x0000;
        int ephemeral = s->kx == TW_KX_DHE || s->kx == TW_KX_ECDHE || s->kx == TW_KX_DHE_PSK ||
                        s->kx == TW_KX_ECDHE_PSK || s->kx == TW_KX_TLS13 || s->kx == TW_KX_ECCPWD;

        if (s->is_scsv) {
            assert_true(has(n, "_SCSV"));
            continue;
        }
        assert_false(has(n, "_SCSV"));
        if (s->bits != name_bits(n))
            fail_msg("0x%04X %s: bits %d, the name says %d", s->code, n, s->bits, name_bits(n));
        if (s->kx != name_kx(n))
            fail_msg("0x%04X %s: kx %d, the name says %d", s->code, n, s->kx, name_kx(n));
        assert_int_equal(s->is_null, s->bits == 0);
        assert_int_equal(s->is_export, has(n, "EXPORT"));
        assert_int_equal(s->is_rc4, has(n, "RC4"));
        assert_int_equal(s->is_cbc, has(n, "CBC"));
        assert_int_equal(s->is_aead, has(n, "GCM") || has(n, "CCM") || has(n, "POLY1305") ||
                                         has(n, "AEGIS") || has(n, "MGM"));
        assert_int_equal(s->is_64bit_block, has(n, "DES") || has(n, "IDEA") || has(n, "RC2") ||
                                                has(n, "MAGMA") || has(n, "28147"));
        assert_int_equal(s->is_anon, anon);
        assert_int_equal(s->auth == TW_AUTH_ANON, has(n, "_anon_"));
        assert_int_equal(s->is_psk, s->kx == TW_KX_PSK || s->kx == TW_KX_RSA_PSK ||
                                        s->kx == TW_KX_DHE_PSK || s->kx == TW_KX_ECDHE_PSK);
        assert_int_equal(s->is_fs, ephemeral && !anon);
        assert_false(s->is_cbc && s->is_aead);
        assert_false(s->is_fs && s->is_anon);
        /* TLS 1.3: 0x13xx and the few registered elsewhere. */
        assert_int_equal(s->is_tls13, s->kx == TW_KX_TLS13);
        if ((s->code >> 8) == 0x13)
            assert_true(s->is_tls13);
        if (s->is_tls13 && (s->code >> 8) != 0x13 && !tls13_outside_13xx(s->code))
            fail_msg("0x%04X %s: TLS 1.3 outside 0x13xx", s->code, n);
        assert_non_null(tw_suites_kx_name(s->kx));
    }
}

/* SCSVs have rows (for their names) but are no suites; GREASE has no row. */
static void
test_suites_scsv_grease(void **state)
{
    const struct tw_suite *s;
    size_t n_scsv = 0;

    (void)state;
    for (size_t i = 0; i < tw_suites_count(); i++)
        n_scsv += tw_suites_at(i)->is_scsv;
    assert_int_equal(n_scsv, 2);
    s = tw_suites_find(TW_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);
    assert_non_null(s);
    assert_true(s->is_scsv);
    assert_string_equal(s->name, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    s = tw_suites_find(TW_SUITE_FALLBACK_SCSV);
    assert_non_null(s);
    assert_true(s->is_scsv);
    assert_string_equal(s->name, "TLS_FALLBACK_SCSV");
    for (unsigned hi = 0; hi < 16; hi++) {
        uint16_t g = (uint16_t)(hi << 12 | 0x0a00 | hi << 4 | 0x0a);

        assert_true(is_grease(g));
        assert_null(tw_suites_find(g));
        assert_null(tw_suites_group_find(g));
    }
    assert_null(tw_suites_find(0x1337));
    assert_null(tw_suites_find(0xFFFE));
}

/* Known rows, with the assertions that test_grade and test_hello held. */
static void
test_suites_known_rows(void **state)
{
    const struct tw_suite *s;

    (void)state;
    s = tw_suites_find(0xC02F);
    assert_non_null(s);
    assert_string_equal(s->name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_int_equal(s->kx, TW_KX_ECDHE);
    assert_int_equal(s->auth, TW_AUTH_RSA);
    assert_int_equal(s->bits, 128);
    assert_true(s->is_aead && s->is_fs && !s->is_cbc && !s->is_tls13);

    s = tw_suites_find(0x000A);
    assert_non_null(s);
    assert_string_equal(s->name, "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    assert_int_equal(s->bits, 168);
    assert_true(s->is_64bit_block && s->is_cbc && !s->is_fs);

    s = tw_suites_find(0x0003);
    assert_non_null(s);
    assert_string_equal(s->name, "TLS_RSA_EXPORT_WITH_RC4_40_MD5");
    assert_true(s->is_export && s->is_rc4 && s->bits == 40);
    assert_int_equal(s->kx, TW_KX_RSA);
    s = tw_suites_find(0x0005);
    assert_string_equal(s->name, "TLS_RSA_WITH_RC4_128_SHA");
    s = tw_suites_find(0x00A6);
    assert_true(s->is_anon && !s->is_fs && s->is_aead);
    s = tw_suites_find(0x1303);
    assert_string_equal(s->name, "TLS_CHACHA20_POLY1305_SHA256");
    assert_true(s->is_tls13 && s->is_fs && s->is_aead && s->bits == 256);
    assert_int_equal(s->kx, TW_KX_TLS13);
    s = tw_suites_find(0xCCA8);
    assert_string_equal(s->name, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    s = tw_suites_find(0xCCAC);
    assert_string_equal(s->name, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256");
    assert_int_equal(s->kx, TW_KX_ECDHE_PSK);
    assert_true(s->is_psk);
    s = tw_suites_find(0x0096);
    assert_true(s->enc == TW_ENC_SEED && s->is_cbc && !s->is_64bit_block);
    s = tw_suites_find(0x0007);
    assert_true(s->enc == TW_ENC_IDEA && s->is_64bit_block);
    s = tw_suites_find(0xC061);
    assert_string_equal(s->name, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384");
    s = tw_suites_find(0xC08B);
    assert_string_equal(s->name, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384");
    s = tw_suites_find(0xC0AF);
    assert_string_equal(s->name, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8");
    /* The key exchange decides how a ServerKeyExchange is read (hello.c). */
    assert_int_equal(tw_suites_find(0x009E)->kx, TW_KX_DHE);
    s = tw_suites_find(0x0018);
    assert_string_equal(s->name, "TLS_DH_anon_WITH_RC4_128_MD5");
    assert_true(s->kx == TW_KX_DHE && s->auth == TW_AUTH_ANON && s->is_anon);
    s = tw_suites_find(0xC018);
    assert_true(s->kx == TW_KX_ECDHE && s->auth == TW_AUTH_ANON && s->is_anon);
    assert_string_equal(tw_suites_kx_name(TW_KX_ECDHE), "ECDHE");
    assert_string_equal(tw_suites_kx_name(TW_KX_TLS13), "TLS13");
    assert_string_equal(tw_suites_kx_name(TW_KX_RSA_PSK), "RSA_PSK");
}

/* Every suite this OpenSSL knows has OpenSSL's standard name in the table. */
static void
test_suites_match_openssl(void **state)
{
    STACK_OF(SSL_CIPHER) * sk;
    SSL_CTX *ctx;
    SSL *ssl;
    int checked = 0;

    (void)state;
    ctx = SSL_CTX_new(TLS_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0"), 1);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    sk = SSL_get_ciphers(ssl);
    for (int j = 0; j < sk_SSL_CIPHER_num(sk); j++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, j);
        const struct tw_suite *s = tw_suites_find((uint16_t)SSL_CIPHER_get_protocol_id(c));

        assert_non_null(s);
        assert_string_equal(s->name, SSL_CIPHER_standard_name(c));
        assert_int_equal(s->is_aead, SSL_CIPHER_is_aead(c));
        checked++;
    }
    assert_true(checked > 100);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

/*
 * Issue 12: the codes on which grade.c's and hello.c's tables differed.
 * hello.c offered the SCSVs' names, ECCPWD, GOST and the FIPS suites that
 * grading did not know; grading knew the AEGIS suites that no hello
 * offered; the old ChaCha20 code points had two names.
 */
static void
test_suites_merge_decisions(void **state)
{
    static const struct {
        uint16_t code;
        const char *name;
        enum tw_kx kx;
        int bits, is_tls13, is_unofficial;
    } rows[] = {
        {0x1306, "TLS_AEGIS_256_SHA512", TW_KX_TLS13, 256, 1, 0},
        {0x1307, "TLS_AEGIS_128L_SHA256", TW_KX_TLS13, 128, 1, 0},
        {0xC0B0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256", TW_KX_ECCPWD, 128, 0, 0},
        {0xC0B1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384", TW_KX_ECCPWD, 256, 0, 0},
        {0xC0B2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256", TW_KX_ECCPWD, 128, 0, 0},
        {0xC0B3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384", TW_KX_ECCPWD, 256, 0, 0},
        {0xC100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", TW_KX_GOST, 256, 0, 0},
        {0xC101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC", TW_KX_GOST, 256, 0, 0},
        {0xC102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT", TW_KX_GOST, 256, 0, 0},
        {0xC103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L", TW_KX_TLS13, 256, 1, 0},
        {0xC104, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L", TW_KX_TLS13, 256, 1, 0},
        {0xC105, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S", TW_KX_TLS13, 256, 1, 0},
        {0xC106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S", TW_KX_TLS13, 256, 1, 0},
        {0xCC13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_OLD", TW_KX_ECDHE, 256, 0, 1},
        {0xCC14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_OLD", TW_KX_ECDHE, 256, 0, 1},
        {0xCC15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_OLD", TW_KX_DHE, 256, 0, 1},
        {0xFEFE, "SSL_RSA_FIPS_WITH_DES_CBC_SHA", TW_KX_RSA, 56, 0, 1},
        {0xFEFF, "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA", TW_KX_RSA, 168, 0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct tw_suite *s = tw_suites_find(rows[i].code);

        if (s == NULL)
            fail_msg("0x%04X has no row", rows[i].code);
        assert_string_equal(s->name, rows[i].name);
        assert_int_equal(s->kx, rows[i].kx);
        assert_int_equal(s->bits, rows[i].bits);
        assert_int_equal(s->is_tls13, rows[i].is_tls13);
        assert_int_equal(s->is_unofficial, rows[i].is_unofficial);
        assert_false(s->is_scsv);
    }
    /* The EXPORT1024 draft and DHE_DSS_WITH_RC4_128_SHA were never registered. */
    for (uint16_t c = 0x0060; c <= 0x0066; c++)
        assert_true(tw_suites_find(c)->is_unofficial);
    assert_false(tw_suites_find(0xC02F)->is_unofficial);
}

/* ---- the offered lists ---- */

static void
test_suites_offer_lists(void **state)
{
    static uint16_t legacy[1024], tls13[64];
    size_t n, n13, n_rows13 = 0, n_scsv = 0;
    int has_aegis256 = 0, has_aegis128l = 0;

    (void)state;
    n = tw_suites_offer_legacy(legacy, 1024);
    assert_true(n > 300 && n <= HELLO_MAX_SUITES);
    assert_int_equal(tw_suites_offer_legacy(NULL, 0), n);
    n13 = tw_suites_offer_tls13(tls13, 64);
    assert_true(n13 >= 5 && n13 <= 64);
    assert_int_equal(tw_suites_offer_tls13(NULL, 0), n13);
    for (size_t i = 0; i < n; i++) {
        const struct tw_suite *s = tw_suites_find(legacy[i]);

        assert_non_null(s); /* only table codes */
        assert_true(legacy[i] != 0x0000 && !s->is_scsv && !s->is_tls13);
        if (i > 0)
            assert_true(legacy[i] > legacy[i - 1]); /* table order, no duplicates */
    }
    for (size_t i = 0; i < n13; i++) {
        const struct tw_suite *s = tw_suites_find(tls13[i]);

        assert_non_null(s);
        assert_true(s->is_tls13 && s->kx == TW_KX_TLS13 && !s->is_scsv);
        if (i > 0)
            assert_true(tls13[i] > tls13[i - 1]);
        has_aegis256 |= tls13[i] == 0x1306;
        has_aegis128l |= tls13[i] == 0x1307;
    }
    /* Together the two lists hold every row but NULL_WITH_NULL_NULL and the SCSVs. */
    for (size_t i = 0; i < tw_suites_count(); i++) {
        n_rows13 += tw_suites_at(i)->is_tls13;
        n_scsv += tw_suites_at(i)->is_scsv;
    }
    assert_int_equal(n13, n_rows13);
    assert_int_equal(n + n13 + n_scsv + 1, tw_suites_count());
    /* Issue 12: the TLS 1.3 hello offers the AEGIS suites that grading knew
     * and the hello did not, so a server that accepts them is found.  The
     * legacy hello is the one the scanner sent before the merge: the same
     * 346 codes from 0x0001 to 0xFEFF. */
    assert_true(has_aegis256 && has_aegis128l);
    assert_int_equal(n13, 15);
    assert_int_equal(n, 346);
    assert_int_equal(legacy[0], 0x0001);
    assert_int_equal(legacy[n - 1], 0xFEFF);
}

/* ---- SSLv2 cipher specs ---- */

static void
test_suites_sslv2(void **state)
{
    uint32_t specs[16];
    size_t n;

    (void)state;
    n = tw_suites_offer_sslv2(specs, 16);
    assert_int_equal(n, 8);
    assert_int_equal(tw_suites_offer_sslv2(NULL, 0), n);
    assert_int_equal(specs[0], 0x010080); /* the order the SSLv2 hello offers them */
    for (size_t i = 0; i < n; i++) {
        const struct tw_sslv2_spec *s = tw_suites_sslv2_find(specs[i]);

        assert_non_null(s);
        assert_int_equal(strncmp(s->name, "SSL_CK_", 7), 0);
        assert_int_equal(s->is_export, has(s->name, "EXPORT40"));
        assert_true(s->bits >= 40 && s->bits <= 168);
        for (size_t j = i + 1; j < n; j++) {
            assert_true(specs[i] != specs[j]);
            assert_true(strcmp(s->name, tw_suites_sslv2_find(specs[j])->name) != 0);
        }
    }
    assert_string_equal(tw_suites_sslv2_find(0x0700c0)->name, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5");
    assert_int_equal(tw_suites_sslv2_find(0x0700c0)->bits, 168);
    assert_int_equal(tw_suites_sslv2_find(0x020080)->bits, 40);
    assert_null(tw_suites_sslv2_find(0x123456));
}

/* ---- named groups ---- */

static void
test_suites_groups(void **state)
{
    const struct tw_group *g;
    const uint16_t *offer;
    size_t n;

    (void)state;
    assert_true(tw_suites_group_count() > 30);
    for (size_t i = 0; i < tw_suites_group_count(); i++) {
        g = tw_suites_group_at(i);
        if (i > 0 && tw_suites_group_at(i - 1)->code >= g->code)
            fail_msg("group table not sorted at %u", g->code);
        assert_ptr_equal(tw_suites_group_find(g->code), g);
        assert_true(g->rsa_equiv >= 1024);
        if (g->kind == TW_GROUP_KIND_FFDHE)
            assert_int_equal(g->rsa_equiv, strtol(g->name + 5, NULL, 10)); /* ffdheNNNN */
        for (size_t j = i + 1; j < tw_suites_group_count(); j++)
            assert_true(strcmp(g->name, tw_suites_group_at(j)->name) != 0);
    }
    assert_null(tw_suites_group_at(tw_suites_group_count()));
    g = tw_suites_group_find(TW_GROUP_X25519);
    assert_string_equal(g->name, "x25519");
    assert_int_equal(g->rsa_equiv, 3072);
    assert_string_equal(tw_suites_group_find(TW_GROUP_SECP256R1)->name, "secp256r1");
    assert_int_equal(tw_suites_group_find(TW_GROUP_SECP384R1)->rsa_equiv, 7680);
    assert_int_equal(tw_suites_group_find(TW_GROUP_FFDHE2048)->kind, TW_GROUP_KIND_FFDHE);
    assert_string_equal(tw_suites_group_find(0x11EC)->name, "X25519MLKEM768");
    assert_int_equal(tw_suites_group_find(0x11EC)->kind, TW_GROUP_KIND_HYBRID);
    assert_null(tw_suites_group_find(0xFF01)); /* arbitrary explicit prime curves */

    /* The default supported_groups: table groups only, no duplicates,
     * x25519 first, the order the hellos sent before the merge. */
    offer = tw_suites_offer_groups(&n);
    assert_int_equal(n, 35);
    assert_int_equal(offer[0], TW_GROUP_X25519);
    assert_int_equal(offer[n - 1], 260);
    for (size_t i = 0; i < n; i++) {
        g = tw_suites_group_find(offer[i]);
        assert_non_null(g);
        assert_true(g->kind == TW_GROUP_KIND_EC || g->kind == TW_GROUP_KIND_FFDHE);
        for (size_t j = i + 1; j < n; j++)
            assert_true(offer[i] != offer[j]);
    }
}

/* The spelling results.tls_version and the grading tables use, from the
 * one table of wire versions; anything else has no name. */
static void
test_suites_version_names(void **state)
{
    static const struct {
        uint16_t version;
        const char *name;
    } t[] = {
        {TW_VERSION_SSL2, "SSLv2"},    {TW_VERSION_SSL3, "SSLv3"},    {TW_VERSION_TLS10, "TLSv1"},
        {TW_VERSION_TLS11, "TLSv1.1"}, {TW_VERSION_TLS12, "TLSv1.2"}, {TW_VERSION_TLS13, "TLSv1.3"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(tw_suites_version_name(t[i].version), t[i].name);
    assert_null(tw_suites_version_name(0x0000));
    assert_null(tw_suites_version_name(0x0305));
    assert_null(tw_suites_version_name(0x7f1c)); /* a TLS 1.3 draft */
    assert_null(tw_suites_version_name(0xfefd)); /* DTLS 1.2 */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suites_table_order),
        cmocka_unit_test(test_suites_names_unique),
        cmocka_unit_test(test_suites_rows_match_names),
        cmocka_unit_test(test_suites_scsv_grease),
        cmocka_unit_test(test_suites_known_rows),
        cmocka_unit_test(test_suites_match_openssl),
        cmocka_unit_test(test_suites_merge_decisions),
        cmocka_unit_test(test_suites_offer_lists),
        cmocka_unit_test(test_suites_sslv2),
        cmocka_unit_test(test_suites_groups),
        cmocka_unit_test(test_suites_version_names),
    };

    return cmocka_run_group_tests_name("suites", tests, NULL, NULL);
}
