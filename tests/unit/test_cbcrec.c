/*
 * test_cbcrec.c - the hand-made CBC records of the padding-oracle probes
 * (tls/cbcrec.h, issue 14): each malformed form opens as what it claims,
 * the reactions read from a server's bytes, and a real OpenSSL server (in
 * memory) accepts our correct record and refuses the malformed ones with
 * bad_record_mac, which proves the keys are derived as OpenSSL derives them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls/cbcrec.h"
#include "tests/unit/testcert.h"

static const uint8_t msg[] = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";

static void
keys_fixed(struct tw_cbcrec_keys *k, uint16_t version, const char *mac)
{
    uint8_t ms[48], cr[32], sr[32];

    memset(ms, 0x11, sizeof(ms));
    memset(cr, 0x22, sizeof(cr));
    memset(sr, 0x33, sizeof(sr));
    assert_int_equal(tw_cbcrec_derive(k, version, mac, "SHA256", 16, ms, 48, cr, sr), 0);
}

/* Seal m as form with the client's keys, open it with the server's copy. */
static void
seal_open(const struct tw_cbcrec_keys *k0, enum tw_cbcrec_form form, struct tw_cbcrec_opened *o,
          uint8_t *plain)
{
    struct tw_cbcrec_keys k = *k0;
    struct tw_cbcrec_dir rd = k0->client;
    uint8_t rec[TW_CBCREC_REC_MAX], iv[16];
    size_t n;

    memset(iv, 0x44, sizeof(iv));
    n = tw_cbcrec_seal(&k, &k.client, 23, msg, sizeof(msg) - 1, form, iv, rec, sizeof(rec));
    assert_true(n > 5 + 16);
    assert_int_equal((n - 5) % 16, 0);
    assert_int_equal(k.client.seq, 2); /* the sequence number moved on */
    assert_int_equal(tw_cbcrec_open(&k, &rd, rec, n, plain, sizeof(rec), o), 0);
    assert_int_equal(rd.seq, 2);
}

static void
test_forms(void **state)
{
    static const char *const macs[] = {"SHA1", "SHA256", "SHA384"};
    uint8_t plain[TW_CBCREC_REC_MAX];
    struct tw_cbcrec_keys k;
    struct tw_cbcrec_opened o;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        for (uint16_t v = 0x0302; v <= 0x0303; v++) {
            keys_fixed(&k, v, macs[i]);
            assert_int_equal(k.client.seq, 1);
            assert_memory_not_equal(k.client.enc_key, k.server.enc_key, 16);
            seal_open(&k, TW_CBCREC_GOOD, &o, plain);
            assert_true(o.length_ok && o.padding_ok && o.mac_ok);
            assert_int_equal(o.data_len, sizeof(msg) - 1);
            assert_memory_equal(plain, msg, sizeof(msg) - 1);
            seal_open(&k, TW_CBCREC_BAD_PAD, &o, plain);
            assert_true(o.length_ok && !o.padding_ok && o.mac_ok);
            seal_open(&k, TW_CBCREC_BAD_MAC, &o, plain);
            assert_true(o.length_ok && o.padding_ok && !o.mac_ok);
            seal_open(&k, TW_CBCREC_BAD_BOTH, &o, plain);
            assert_true(o.length_ok && !o.padding_ok && !o.mac_ok);
            seal_open(&k, TW_CBCREC_ZERO_LEN, &o, plain);
            assert_true(o.length_ok && o.padding_ok && !o.mac_ok);
            assert_int_equal(o.data_len, 0);
            tw_cbcrec_wipe(&k);
        }
    }
    /* Unsupported inputs. */
    assert_int_equal(tw_cbcrec_derive(&k, 0x0301, "SHA1", NULL, 16, plain, 48, plain, plain), -1);
    assert_int_equal(tw_cbcrec_derive(&k, 0x0303, "MD5", "SHA256", 16, plain, 48, plain, plain),
                     -1);
    assert_int_equal(tw_cbcrec_derive(&k, 0x0303, "SHA1", "SHA256", 24, plain, 48, plain, plain),
                     -1);
}

/* Hostile records: every length is checked before it is read. */
static void
test_open_hostile(void **state)
{
    struct tw_cbcrec_keys k;
    struct tw_cbcrec_opened o;
    uint8_t rec[64], plain[64];

    (void)state;
    keys_fixed(&k, 0x0303, "SHA1");
    memset(rec, 0, sizeof(rec));
    rec[0] = 23;
    rec[1] = 3;
    rec[2] = 3;
    rec[4] = 31; /* not a whole number of blocks */
    assert_int_equal(tw_cbcrec_open(&k, &k.client, rec, 5 + 31, plain, sizeof(plain), &o), -1);
    rec[4] = 16; /* only an IV */
    assert_int_equal(tw_cbcrec_open(&k, &k.client, rec, 5 + 16, plain, sizeof(plain), &o), -1);
    rec[4] = 48; /* the header claims more than there is */
    assert_int_equal(tw_cbcrec_open(&k, &k.client, rec, 5 + 32, plain, sizeof(plain), &o), -1);
    assert_int_equal(tw_cbcrec_open(&k, &k.client, rec, 3, plain, sizeof(plain), &o), -1);
    /* Two blocks of garbage: opens, and the checks fail or pass by chance
     * (a random length byte); the seal of the MAC needs more than 32 bytes. */
    rec[4] = 32;
    assert_int_equal(tw_cbcrec_open(&k, &k.client, rec, 5 + 32, plain, sizeof(plain), &o), 0);
    assert_false(o.mac_ok);
    assert_int_equal(k.client.seq, 2);
}

static void
test_reactions(void **state)
{
    struct tw_cbcrec_keys k;
    struct tw_cbcrec_reaction r, r2;
    uint8_t rec[TW_CBCREC_REC_MAX], iv[16];
    static const uint8_t alert[2] = {2, 20};
    static const uint8_t plain_alert[7] = {21, 3, 3, 0, 2, 2, 40};
    static const uint8_t data[9] = {23, 3, 3, 0, 4, 'a', 'b', 'c', 'd'};
    char text[48];
    size_t n;

    (void)state;
    keys_fixed(&k, 0x0303, "SHA256");
    memset(iv, 7, sizeof(iv));
    {
        struct tw_cbcrec_dir d = k.server;

        n = tw_cbcrec_seal(&k, &d, 21, alert, 2, TW_CBCREC_GOOD, iv, rec, sizeof(rec));
    }
    assert_true(n > 0);
    tw_cbcrec_reaction(&k, rec, n, 0, &r);
    assert_int_equal(r.kind, TW_CBCREC_R_ALERT);
    assert_int_equal(r.desc, 20);
    tw_cbcrec_reaction_text(&r, text, sizeof(text));
    assert_string_equal(text, "alert 20 (bad_record_mac)");
    /* Without the keys the description stays unknown. */
    tw_cbcrec_reaction(NULL, rec, n, 0, &r2);
    assert_int_equal(r2.kind, TW_CBCREC_R_ALERT);
    assert_int_equal(r2.desc, -1);
    assert_false(tw_cbcrec_same(&r, &r2));
    tw_cbcrec_reaction(&k, plain_alert, sizeof(plain_alert), 0, &r);
    assert_int_equal(r.kind, TW_CBCREC_R_ALERT);
    assert_int_equal(r.desc, 40);
    tw_cbcrec_reaction(&k, data, sizeof(data), 0, &r);
    assert_int_equal(r.kind, TW_CBCREC_R_DATA);
    tw_cbcrec_reaction(&k, data, 7, 0, &r); /* cut short */
    assert_int_equal(r.kind, TW_CBCREC_R_OTHER);
    assert_false(tw_cbcrec_answer_complete(data, 7));
    assert_true(tw_cbcrec_answer_complete(data, 9));
    tw_cbcrec_reaction(&k, NULL, 0, 0, &r);
    assert_int_equal(r.kind, TW_CBCREC_R_CLOSED);
    tw_cbcrec_reaction(&k, NULL, 0, 1, &r2);
    assert_int_equal(r2.kind, TW_CBCREC_R_SILENT);
    assert_false(tw_cbcrec_same(&r, &r2));
    tw_cbcrec_reaction(&k, (const uint8_t *)"HTTP/1.1", 8, 0, &r);
    assert_int_equal(r.kind, TW_CBCREC_R_OTHER);
}

/* ---- a real OpenSSL pair in memory ---- */

static SSL_CTX *
server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = tx_self_signed(key, "cbcrec.test", 0, 3600);

    assert_non_null(ctx);
    assert_non_null(key);
    assert_non_null(x);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
    return ctx;
}

/* Pump bytes between the two until both handshakes are done. */
static void
handshake(SSL *c, SSL *s, BIO *c_out, BIO *s_in, BIO *s_out, BIO *c_in)
{
    uint8_t buf[16384];

    for (int i = 0; i < 20 && (!SSL_is_init_finished(c) || !SSL_is_init_finished(s)); i++) {
        int n;

        (void)SSL_do_handshake(c);
        while ((n = BIO_read(c_out, buf, sizeof(buf))) > 0)
            BIO_write(s_in, buf, n);
        (void)SSL_do_handshake(s);
        while ((n = BIO_read(s_out, buf, sizeof(buf))) > 0)
            BIO_write(c_in, buf, n);
    }
    assert_true(SSL_is_init_finished(c) && SSL_is_init_finished(s));
}

/* One connection on suite: our record of form goes to the OpenSSL server;
 * returns what SSL_read gave (> 0: accepted) and the alert it sent. */
static int
openssl_takes(const char *suite, int version, enum tw_cbcrec_form form, int *alert_desc)
{
    SSL_CTX *sctx = server_ctx(), *cctx = SSL_CTX_new(TLS_client_method());
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    struct tw_cbcrec_keys kc, ks;
    struct tw_cbcrec_reaction r;
    uint8_t rec[TW_CBCREC_REC_MAX], iv[16], got[256], out[256];
    size_t n;
    int rc, on;

    SSL_set_security_level(c, 0);
    SSL_set_security_level(s, 0);
    assert_int_equal(SSL_set_cipher_list(c, suite), 1);
    assert_int_equal(SSL_set_cipher_list(s, suite), 1);
    SSL_set_options(c, SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_TICKET);
    assert_int_equal(SSL_set_max_proto_version(c, version), 1);
    assert_int_equal(SSL_set_min_proto_version(c, version), 1);
    SSL_set_bio(c, c_in, c_out);
    SSL_set_bio(s, s_in, s_out);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    handshake(c, s, c_out, s_in, s_out, c_in);
    /* Both sides derive the same keys. */
    assert_int_equal(tw_cbcrec_from_ssl(c, &kc), 0);
    assert_int_equal(tw_cbcrec_from_ssl(s, &ks), 0);
    assert_memory_equal(&kc, &ks, sizeof(kc));
    memset(iv, 0x5c, sizeof(iv));
    n = tw_cbcrec_seal(&kc, &kc.client, 23, msg, sizeof(msg) - 1, form, iv, rec, sizeof(rec));
    assert_true(n > 0);
    BIO_write(s_in, rec, (int)n);
    rc = SSL_read(s, got, sizeof(got));
    if (rc > 0) {
        assert_int_equal(rc, (int)sizeof(msg) - 1);
        assert_memory_equal(got, msg, sizeof(msg) - 1);
    }
    /* The server's alert, read back as the probe reads it. */
    on = BIO_read(s_out, out, sizeof(out));
    tw_cbcrec_reaction(&kc, out, on > 0 ? (size_t)on : 0, 0, &r);
    *alert_desc = r.kind == TW_CBCREC_R_ALERT ? r.desc : -1;
    tw_cbcrec_wipe(&kc);
    tw_cbcrec_wipe(&ks);
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return rc;
}

static void
test_openssl_peer(void **state)
{
    static const char *const suites[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                                         "ECDHE-ECDSA-AES128-SHA256"};
    int desc;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_true(openssl_takes(suites[i], TLS1_2_VERSION, TW_CBCREC_GOOD, &desc) > 0);
        assert_int_equal(desc, -1);
        /* A correct server: bad_record_mac to every malformed record. */
        assert_true(openssl_takes(suites[i], TLS1_2_VERSION, TW_CBCREC_BAD_PAD, &desc) <= 0);
        assert_int_equal(desc, 20);
        assert_true(openssl_takes(suites[i], TLS1_2_VERSION, TW_CBCREC_BAD_MAC, &desc) <= 0);
        assert_int_equal(desc, 20);
        assert_true(openssl_takes(suites[i], TLS1_2_VERSION, TW_CBCREC_BAD_BOTH, &desc) <= 0);
        assert_int_equal(desc, 20);
        assert_true(openssl_takes(suites[i], TLS1_2_VERSION, TW_CBCREC_ZERO_LEN, &desc) <= 0);
        assert_int_equal(desc, 20);
    }
    /* TLS 1.1: the MD5+SHA-1 PRF. */
    assert_true(openssl_takes("ECDHE-ECDSA-AES128-SHA", TLS1_1_VERSION, TW_CBCREC_GOOD, &desc) > 0);
    assert_true(openssl_takes("ECDHE-ECDSA-AES128-SHA", TLS1_1_VERSION, TW_CBCREC_BAD_PAD, &desc) <=
                0);
    assert_int_equal(desc, 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_open_hostile),
        cmocka_unit_test(test_reactions),
        cmocka_unit_test(test_openssl_peer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
