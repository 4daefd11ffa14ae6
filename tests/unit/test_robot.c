/*
 * test_robot.c - unit tests for the ROBOT probe's pieces (scanner/robot.[ch])
 * and the lab's oracle (lab/robot.c).
 *
 * The padded blocks are checked byte by byte against PKCS#1 v1.5's rules;
 * the records are decrypted again with the private key; the verdict is
 * checked on reaction tables.  Then the same records go to two servers: a
 * real OpenSSL TLS 1.2 server in memory (memory BIOs, no socket), which must
 * react the same way to every variant (no oracle), and the lab's scripted
 * oracle, which must not.  The RSA key is generated when the test starts.
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lab/lab_int.h"
#include "scanner/hello.h"
#include "scanner/robot.h"
#include "scanner/vuln.h"
#include "tests/unit/testcert.h"

#define K 256 /* bytes of the test's RSA-2048 modulus */

static EVP_PKEY *test_key;
static X509 *test_cert;
static uint8_t spki[TW_ROBOT_SPKI_MAX];
static size_t spki_len;

static int
setup(void **state)
{
    unsigned char *p = spki;
    int n;

    (void)state;
    test_key = EVP_RSA_gen(2048);
    test_cert = tx_self_signed(test_key, "robot.test", -3600, 3600);
    if (test_key == NULL || test_cert == NULL)
        return -1;
    n = i2d_PUBKEY(test_key, NULL);
    if (n <= 0 || (size_t)n > sizeof(spki) || i2d_PUBKEY(test_key, &p) != n)
        return -1;
    spki_len = (size_t)n;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    X509_free(test_cert);
    EVP_PKEY_free(test_key);
    return 0;
}

/* Random bytes with zeros in them: the filler must never be 0. */
static void
fill_rnd(uint8_t *rnd, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rnd[i] = (uint8_t)(i % 5 == 0 ? 0 : i * 37 + 11);
}

/* The index of the first 0 at or after byte 2, or 0 when there is none. */
static size_t
first_zero(const uint8_t *b, size_t k)
{
    for (size_t i = 2; i < k; i++)
        if (b[i] == 0)
            return i;
    return 0;
}

static void
test_block_variants(void **state)
{
    uint8_t rnd[96], b[K];
    size_t sep = K - 49, z;

    (void)state;
    fill_rnd(rnd, sizeof(rnd));
    /* Conforming: 00 02, 8+ nonzero, 00, version, 46 nonzero. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_GOOD, K, 0x0303, rnd, sizeof(rnd), b), 0);
    assert_int_equal(b[0], 0x00);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(first_zero(b, K), sep);
    assert_int_equal(K - sep - 1, 48);
    assert_int_equal(b[sep + 1], 0x03);
    assert_int_equal(b[sep + 2], 0x03);
    for (size_t i = sep + 1; i < K; i++)
        assert_int_not_equal(b[i], 0);
    /* Wrong first two bytes, the rest conforming. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_BAD_PREFIX, K, 0x0303, rnd, sizeof(rnd), b), 0);
    assert_int_equal(b[0], 0x41);
    assert_int_equal(b[1], 0x17);
    assert_int_equal(first_zero(b, K), sep);
    /* The 00 in the padding, past its 8 bytes: a message of the wrong length. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_ZERO_EARLY, K, 0x0303, rnd, sizeof(rnd), b), 0);
    assert_int_equal(b[0], 0x00);
    assert_int_equal(b[1], 0x02);
    z = first_zero(b, K);
    assert_true(z >= 10 && z < sep);
    assert_int_not_equal(K - z - 1, 48);
    assert_int_not_equal(b[sep], 0);
    /* No separator at all. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_NO_ZERO, K, 0x0303, rnd, sizeof(rnd), b), 0);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(first_zero(b, K), 0);
    /* A conforming block whose premaster names another version. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_BAD_VERSION, K, 0x0301, rnd, sizeof(rnd), b), 0);
    assert_int_equal(first_zero(b, K), sep);
    assert_int_equal(b[sep + 1], 0x02);
    assert_int_equal(b[sep + 2], 0x02);
    /* Bad sizes and variants. */
    assert_int_equal(tw_robot_block(TW_ROBOT_V_GOOD, 32, 0x0303, rnd, sizeof(rnd), b), -1);
    assert_int_equal(
        tw_robot_block(TW_ROBOT_V_GOOD, TW_ROBOT_MAX_KEY_BYTES + 1, 0x0303, rnd, sizeof(rnd), b),
        -1);
    assert_int_equal(tw_robot_block((enum tw_robot_variant)9, K, 0x0303, rnd, sizeof(rnd), b), -1);
}

/* The records: CKE (decrypts back to the block), CCS, a 40-byte Finished. */
static void
test_records(void **state)
{
    uint8_t rnd[96], out[TW_ROBOT_RECORDS_MAX], want[K], got[K];
    size_t n, k = sizeof(got);
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *ec;

    (void)state;
    fill_rnd(rnd, sizeof(rnd));
    for (int v = 0; v < TW_ROBOT_N_VARIANTS; v++) {
        n = tw_robot_records(spki, spki_len, (enum tw_robot_variant)v, 0x0303, rnd, sizeof(rnd),
                             out, sizeof(out));
        assert_int_equal(n, 5 + 4 + 2 + K + 6 + 5 + TW_ROBOT_FINISHED_LEN);
        assert_memory_equal(out, "\x16\x03\x03\x01\x06\x10\x00\x01\x02\x01\x00", 11);
        assert_memory_equal(out + 11 + K, "\x14\x03\x03\x00\x01\x01\x16\x03\x03\x00\x28", 11);
        ctx = EVP_PKEY_CTX_new(test_key, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
        k = sizeof(got);
        assert_int_equal(EVP_PKEY_decrypt(ctx, got, &k, out + 11, K), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(k, K);
        assert_int_equal(
            tw_robot_block((enum tw_robot_variant)v, K, 0x0303, rnd, sizeof(rnd), want), 0);
        assert_memory_equal(got, want, K);
    }
    /* Too small a buffer, no key, a key that is not RSA: nothing. */
    assert_int_equal(
        tw_robot_records(spki, spki_len, TW_ROBOT_V_GOOD, 0x0303, rnd, sizeof(rnd), out, 100), 0);
    assert_int_equal(
        tw_robot_records(NULL, 0, TW_ROBOT_V_GOOD, 0x0303, rnd, sizeof(rnd), out, sizeof(out)), 0);
    ec = EVP_EC_gen("P-256");
    assert_non_null(ec);
    {
        uint8_t der[512];
        unsigned char *p = der;
        int m = i2d_PUBKEY(ec, &p);

        assert_true(m > 0);
        assert_int_equal(tw_robot_records(der, (size_t)m, TW_ROBOT_V_GOOD, 0x0303, rnd, sizeof(rnd),
                                          out, sizeof(out)),
                         0);
    }
    EVP_PKEY_free(ec);
}

static void
set(struct tw_robot_reaction *r, enum tw_robot_kind k, uint8_t alert)
{
    r->kind = k;
    r->alert = alert;
}

static void
test_verdict(void **state)
{
    struct tw_robot_reaction r[TW_ROBOT_N_VARIANTS];
    char d[128];

    (void)state;
    /* Constant: safe, whatever the reaction. */
    for (int i = 0; i < TW_ROBOT_N_VARIANTS; i++)
        set(&r[i], TW_ROBOT_R_ALERT, 20);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_SAFE);
    assert_string_equal(d, "the same reaction to all 5 padding variants: alert 20");
    for (int i = 0; i < TW_ROBOT_N_VARIANTS; i++)
        set(&r[i], TW_ROBOT_R_EOF, 0);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_SAFE);
    /* Only the conforming block stands out: weak. */
    set(&r[TW_ROBOT_V_GOOD], TW_ROBOT_R_ALERT, 20);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_WEAK);
    assert_string_equal(
        d, "weak oracle: good alert 20, bad prefix FIN, 00 early FIN, no 00 FIN, bad version FIN");
    /* Only the version check differs: still weak. */
    set(&r[TW_ROBOT_V_GOOD], TW_ROBOT_R_EOF, 0);
    set(&r[TW_ROBOT_V_BAD_VERSION], TW_ROBOT_R_RESET, 0);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_WEAK);
    /* 00 02 told from the rest: strong, also by alert description alone. */
    for (int i = 0; i < TW_ROBOT_N_VARIANTS; i++)
        set(&r[i], TW_ROBOT_R_ALERT, 51);
    set(&r[TW_ROBOT_V_BAD_PREFIX], TW_ROBOT_R_ALERT, 40);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_STRONG);
    set(&r[TW_ROBOT_V_BAD_PREFIX], TW_ROBOT_R_ALERT, 51);
    set(&r[TW_ROBOT_V_NO_ZERO], TW_ROBOT_R_TIMEOUT, 0);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_STRONG);
    assert_non_null(strstr(d, "no 00 silence"));
    /* A variant without an answer: no verdict, even if others differ. */
    set(&r[TW_ROBOT_V_ZERO_EARLY], TW_ROBOT_R_NONE, 0);
    assert_int_equal(tw_robot_verdict(r, d, sizeof(d)), TW_ROBOT_NO_VERDICT);
    assert_string_equal(d, "no verdict: no answer to the 00 early variant");
    /* A short detail buffer is cut, not overrun. */
    for (int i = 0; i < TW_ROBOT_N_VARIANTS; i++)
        set(&r[i], TW_ROBOT_R_OTHER, 0);
    set(&r[0], TW_ROBOT_R_ALERT, 20);
    assert_int_equal(tw_robot_verdict(r, d, 8), TW_ROBOT_WEAK);
    assert_int_equal(strlen(d), 7);
}

/* Hello + the variant's records, as the probe writes them. */
static size_t
probe_bytes(enum tw_robot_variant v, uint8_t *out, size_t cap)
{
    static const uint16_t suites[] = {0x009C, 0x002F};
    struct tw_hello_params hp;
    uint8_t rnd[96];
    size_t len = 0, n;

    fill_rnd(rnd, sizeof(rnd));
    tw_hello_params_init(&hp, TW_VERSION_TLS12, rnd);
    hp.suites = suites;
    hp.n_suites = 2;
    assert_int_equal(tw_hello_build(&hp, out, cap, &len), 0);
    n = tw_robot_records(spki, spki_len, v, TW_VERSION_TLS12, rnd, sizeof(rnd), out + len,
                         cap - len);
    assert_true(n > 0);
    return len + n;
}

/* A real OpenSSL 3 server: one reaction to every variant (bad_record_mac
 * from the Finished), so the records reach it whole and in order. */
static void
test_openssl_is_constant(void **state)
{
    static uint8_t in[TW_HELLO_MAX_OUT + TW_ROBOT_RECORDS_MAX];
    static uint8_t out[65536];

    (void)state;
    for (int v = 0; v < TW_ROBOT_N_VARIANTS; v++) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        SSL *ssl;
        BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
        size_t n = probe_bytes((enum tw_robot_variant)v, in, sizeof(in));
        struct tw_vuln_tail t;
        struct tw_server_flight f;
        int len;

        assert_non_null(ctx);
        assert_int_equal(SSL_CTX_use_certificate(ctx, test_cert), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(ctx, test_key), 1);
        assert_int_equal(SSL_CTX_set_cipher_list(ctx, "AES128-GCM-SHA256:AES128-SHA"), 1);
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
        ssl = SSL_new(ctx);
        assert_non_null(ssl);
        SSL_set_bio(ssl, rb, wb);
        SSL_set_accept_state(ssl);
        assert_int_equal(BIO_write(rb, in, (int)n), (int)n);
        for (int i = 0; i < 8 && SSL_do_handshake(ssl) != 1; i++)
            if (SSL_get_error(ssl, -1) != SSL_ERROR_WANT_READ)
                break;
        len = BIO_read(wb, out, sizeof(out));
        assert_true(len > 0);
        assert_int_equal(tw_hello_parse(out, (size_t)len, &f), TW_HELLO_DONE);
        assert_int_equal(f.cipher_suite, 0x009C);
        tw_vuln_tail(out, (size_t)len, &t);
        assert_true(t.has_alert);
        assert_int_equal(t.alert_desc, 20);
        ERR_clear_error();
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
}

/* The lab's oracle: what it answers to each variant, and that it waits for
 * whole records. */
static void
test_lab_oracle(void **state)
{
    static uint8_t in[TW_HELLO_MAX_OUT + TW_ROBOT_RECORDS_MAX];
    static const enum tw_lab_robot_action want[TW_ROBOT_N_VARIANTS] = {
        TW_LAB_ROBOT_ALERT, TW_LAB_ROBOT_ALERT, TW_LAB_ROBOT_CLOSE, TW_LAB_ROBOT_CLOSE,
        TW_LAB_ROBOT_CLOSE};
    uint8_t alert;

    (void)state;
    for (int v = 0; v < TW_ROBOT_N_VARIANTS; v++) {
        size_t n = probe_bytes((enum tw_robot_variant)v, in, sizeof(in));

        alert = 0;
        assert_int_equal(tw_lab_robot_answer(test_key, 0x0303, in, n, &alert), want[v]);
        if (v == TW_ROBOT_V_GOOD)
            assert_int_equal(alert, 20);
        if (v == TW_ROBOT_V_BAD_PREFIX)
            assert_int_equal(alert, 40);
        /* Cut inside the Finished: the conforming block waits for it. */
        if (v == TW_ROBOT_V_GOOD)
            assert_int_equal(tw_lab_robot_answer(test_key, 0x0303, in, n - 1, &alert),
                             TW_LAB_ROBOT_MORE);
        /* Any prefix of the records is never a decision made on missing bytes. */
        for (size_t cut = 0; cut < n && cut < 400; cut += 7) {
            enum tw_lab_robot_action a = tw_lab_robot_answer(test_key, 0x0303, in, cut, &alert);

            assert_true(a == TW_LAB_ROBOT_MORE || a == want[v]);
        }
    }
    /* Garbage is closed on. */
    memset(in, 0xff, 64);
    assert_int_equal(tw_lab_robot_answer(test_key, 0x0303, in, 64, &alert), TW_LAB_ROBOT_CLOSE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_variants), cmocka_unit_test(test_records),
        cmocka_unit_test(test_verdict),        cmocka_unit_test(test_openssl_is_constant),
        cmocka_unit_test(test_lab_oracle),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
