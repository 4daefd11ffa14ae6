/*
 * test_certinfo.c - the certificate side, against real OpenSSL.
 *
 * Every key and certificate is generated here at run time (nothing is
 * committed): a root, an intermediate, and leaves that are valid, expired,
 * not yet valid, for the wrong name, self-signed, SHA-1-signed or RSA-1024.
 * tw_certinfo_collect() takes an SSL*, so each case runs a real handshake in
 * memory: a client and a server SSL over a BIO pair in this one thread, the
 * server serving the chain the case chooses (and, for OCSP, a stapled
 * response made here).  The evidence is then also fed to tw_classify() to
 * check the class end to end.
 *
 * Time: a fixed NOW; CA certificates span 2000-2099 so OpenSSL's own
 * real-clock checks (the OCSP responder) pass too.
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "scanner/aia.h"
#include "scanner/certinfo.h"
#include "scanner/classify.h"
#include "scanner/vcache.h"
#include "base/log.h"

#define NOW ((int64_t)1700000000)
#define DAY ((int64_t)86400)
#define Y2000 ((int64_t)946684800)
#define Y2099 ((int64_t)4070908800)

struct pki {
    EVP_PKEY *root_key, *int_key, *leaf_key;
    X509 *root, *inter;
    X509_STORE *store;       /* holds the root */
    X509_STORE *empty_store; /* holds nothing */
};

static struct pki P;
static long next_serial = 1;
static int64_t run_now = NOW; /* the time run() judges at */
/* The AIA extension mk_cert adds, and whether run() completes through AIA. */
static char aia_ext[160] = "caIssuers;URI:http://ca.test/int.crt";
static int run_aia, run_revocation;
/* A CRL distribution point mk_cert adds to leaves, "" for none. */
static char crl_ext[160] = "";

/* ---- building certificates ---- */

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* An unsigned certificate; issuer NULL = self-issued.  san may be NULL. */
static X509 *
mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, int64_t nb, int64_t na, int ca,
        const char *san, int aia)
{
    X509 *x = X509_new();
    X509_NAME *n;
    X509V3_CTX ctx;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
    n = X509_get_subject_name(x);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0),
        1);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (ca) {
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
    }
    if (issuer != NULL)
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (san != NULL)
        add_ext(x, &ctx, NID_subject_alt_name, san);
    if (aia)
        add_ext(x, &ctx, NID_info_access, aia_ext);
    if (!ca && crl_ext[0] != '\0')
        add_ext(x, &ctx, NID_crl_distribution_points, crl_ext);
    return x;
}

static X509 *
signed_by(X509 *x, EVP_PKEY *key, const EVP_MD *md)
{
    assert_true(X509_sign(x, key, md) > 0);
    return x;
}

/* A leaf for good.test issued by the intermediate, with the given dates. */
static X509 *
leaf_dates(int64_t nb, int64_t na)
{
    X509 *x =
        mk_cert("good.test", P.leaf_key, P.inter, nb, na, 0, "DNS:good.test,DNS:*.good.test", 1);
    return signed_by(x, P.int_key, EVP_sha256());
}

static X509 *
leaf_valid(void)
{
    return leaf_dates(NOW - 30 * DAY, NOW + 60 * DAY);
}

static int
pki_setup(void **state)
{
    (void)state;
    P.root_key = EVP_EC_gen("P-256");
    P.int_key = EVP_EC_gen("P-256");
    P.leaf_key = EVP_EC_gen("P-256");
    assert_non_null(P.root_key);
    P.root = signed_by(mk_cert("Test Root", P.root_key, NULL, Y2000, Y2099, 1, NULL, 0), P.root_key,
                       EVP_sha256());
    P.inter = signed_by(mk_cert("Test Intermediate", P.int_key, P.root, Y2000, Y2099, 1, NULL, 0),
                        P.root_key, EVP_sha256());
    P.store = X509_STORE_new();
    X509_STORE_add_cert(P.store, P.root);
    P.empty_store = X509_STORE_new();
    return 0;
}

static int
pki_teardown(void **state)
{
    (void)state;
    X509_STORE_free(P.store);
    X509_STORE_free(P.empty_store);
    X509_free(P.root);
    X509_free(P.inter);
    EVP_PKEY_free(P.root_key);
    EVP_PKEY_free(P.int_key);
    EVP_PKEY_free(P.leaf_key);
    return 0;
}

/* ---- an in-memory handshake ---- */

struct staple {
    unsigned char *der;
    int len;
};

static int
server_staple_cb(SSL *s, void *arg)
{
    struct staple *st = arg;
    unsigned char *copy;

    if (st == NULL || st->der == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    copy = OPENSSL_memdup(st->der, (size_t)st->len);
    SSL_set_tlsext_status_ocsp_resp(s, copy, st->len);
    return SSL_TLSEXT_ERR_OK;
}

/*
 * Handshake a client against a server that serves leaf (key) plus the
 * extra certificates chain[0..n-1] as sent; collect the evidence with the
 * given store, name and NOW; optionally staple.
 */
static void
run(X509 *leaf, EVP_PKEY *key, X509 **chain, int n, X509_STORE *store, const char *name,
    struct staple *st, struct tw_cert_evidence *ev, struct tw_result *r)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *c, *s;
    BIO *bc = NULL, *bs = NULL;
    int done_c = 0, done_s = 0;

    assert_non_null(sctx);
    assert_non_null(cctx);
    /* Level 0 so SHA-1 and RSA-1024 certificates can be served and taken. */
    SSL_CTX_set_security_level(sctx, 0);
    SSL_CTX_set_security_level(cctx, 0);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    assert_int_equal(SSL_CTX_use_certificate(sctx, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sctx, key), 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(SSL_CTX_add1_chain_cert(sctx, chain[i]), 1);
    if (st != NULL) {
        SSL_CTX_set_tlsext_status_cb(sctx, server_staple_cb);
        SSL_CTX_set_tlsext_status_arg(sctx, st);
    }
    c = SSL_new(cctx);
    s = SSL_new(sctx);
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (name != NULL)
        SSL_set_tlsext_host_name(c, name);
    if (st != NULL)
        SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
    for (int i = 0; i < 50 && !(done_c && done_s); i++) {
        int rc = SSL_do_handshake(c);
        int rs = SSL_do_handshake(s);
        done_c = rc == 1;
        done_s = rs == 1;
        if (rc <= 0) {
            int e = SSL_get_error(c, rc);
            assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        }
        if (rs <= 0) {
            int e = SSL_get_error(s, rs);
            assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        }
    }
    assert_true(done_c && done_s);

    memset(r, 0, sizeof(*r));
    assert_int_equal(tw_certinfo_collect(c, store, name, "127.0.0.1", run_now, ev, r), 0);
    if (run_aia)
        tw_certinfo_complete_aia(c, store, run_now, ev, r);
    if (run_revocation)
        tw_certinfo_check_revocation(c, store, run_now, ev);

    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void
free_chain(struct tw_result *r)
{
    for (size_t i = 0; i < r->n_chain; i++)
        tw_cert_cleanup(&r->chain[i]);
    free(r->chain);
    free(r->detail);
    r->chain = NULL;
    r->n_chain = 0;
    r->detail = NULL;
}

/* Classify evidence from a completed MAIN probe; returns the issues text. */
static const char *
classify(const struct tw_cert_evidence *cev, const char *name, struct tw_result *r)
{
    static char issues[256];
    struct tw_evidence ev;

    memset(&ev, 0, sizeof(ev));
    ev.dns = TW_DNS_OK;
    ev.sent_sni = 1;
    ev.probe[TW_PK_MAIN].outcome = TW_PROBE_OK;
    ev.probe[TW_PK_MAIN].alert = -1;
    ev.probe[TW_PK_MAIN].version = 0x0304;
    ev.cert = *cev;
    r->has_sni = 1;
    snprintf(r->sni, sizeof(r->sni), "%s", name);
    tw_classify(&ev, r);
    tw_issues_format(r->issues, issues, sizeof(issues));
    return issues;
}

static int
has_error(const struct tw_cert_evidence *ev, int depth, int code)
{
    for (int i = 0; i < ev->n_verify; i++)
        if (ev->verify[i].depth == depth && ev->verify[i].code == code)
            return 1;
    return 0;
}

/* ---- the cases ---- */

static void
test_certinfo_valid_chain(void **state)
{
    X509 *leaf = leaf_valid();
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;
    char iso[21];

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "www.good.test", NULL, &ev, &r);
    assert_int_equal(ev.has_chain, 1);
    assert_int_equal(ev.n_sent, 2);
    assert_int_equal(ev.n_verify, 0);
    assert_int_equal(ev.verify_truncated, 0);
    assert_int_equal(ev.hostname_checked, 1);
    assert_int_equal(ev.hostname_ok, 1);
    assert_int_equal(ev.leaf_self_issued, 0);
    assert_int_equal(ev.chain_complete, 0);
    assert_int_equal(ev.leaf_has_aia_issuer, 1);
    assert_int_equal(ev.not_before, NOW - 30 * DAY);
    assert_int_equal(ev.not_after, NOW + 60 * DAY);
    assert_int_equal(ev.now, NOW);
    assert_string_equal(ev.key_type, "EC");
    assert_int_equal(ev.key_bits, 256);
    assert_int_equal(ev.weak_key, 0);
    assert_int_equal(ev.weak_signature, 0);
    assert_int_equal(ev.ocsp, TW_OCSP_NONE);

    /* The records, leaf first, as sent. */
    assert_int_equal(r.n_chain, 2);
    assert_string_equal(r.chain[0].subject, "CN=good.test");
    assert_string_equal(r.chain[0].issuer, "CN=Test Intermediate");
    assert_string_equal(r.chain[1].subject, "CN=Test Intermediate");
    assert_string_equal(r.chain[0].san, "DNS:good.test,DNS:*.good.test");
    tw_time_iso(NOW + 60 * DAY, iso);
    assert_string_equal(r.chain[0].not_after, iso);
    tw_time_iso(NOW - 30 * DAY, iso);
    assert_string_equal(r.chain[0].not_before, iso);
    assert_string_equal(r.chain[0].key_type, "EC");
    assert_string_equal(r.chain[0].sig_alg, "ecdsa-with-SHA256");
    assert_int_equal(strlen(r.chain[0].sha256), 64);
    assert_int_equal(strspn(r.chain[0].sha256, "0123456789abcdef"), 64);
    assert_string_not_equal(r.chain[0].sha256, r.chain[1].sha256);
    assert_true(strncmp(r.chain[0].pem, "-----BEGIN CERTIFICATE-----", 27) == 0);

    assert_string_equal(classify(&ev, "www.good.test", &r), "ok");
    assert_non_null(strstr(r.detail, "expires in 60 days"));
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_expired(void **state)
{
    X509 *leaf = leaf_dates(NOW - 400 * DAY, NOW - 5 * DAY);
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_true(has_error(&ev, 0, X509_V_ERR_CERT_HAS_EXPIRED));
    assert_string_equal(classify(&ev, "good.test", &r), "cert_expired");
    assert_non_null(strstr(r.detail, "expired 5 days ago"));
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_expired_and_wrong_name(void **state)
{
    X509 *leaf = leaf_dates(NOW - 400 * DAY, NOW - 2 * DAY);
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    /* a partial wildcard-like name must not match *.good.test's siblings */
    run(leaf, P.leaf_key, chain, 1, P.store, "other.test", NULL, &ev, &r);
    assert_int_equal(ev.hostname_checked, 1);
    assert_int_equal(ev.hostname_ok, 0);
    assert_string_equal(classify(&ev, "other.test", &r), "cert_expired,hostname_mismatch");
    assert_int_equal(r.cls, TW_CLASS_CERT_EXPIRED);
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_not_yet_valid(void **state)
{
    X509 *leaf = leaf_dates(NOW + 3 * DAY, NOW + 90 * DAY);
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_true(has_error(&ev, 0, X509_V_ERR_CERT_NOT_YET_VALID));
    assert_string_equal(classify(&ev, "good.test", &r), "cert_not_yet_valid");
    assert_non_null(strstr(r.detail, "notBefore is 3 days ahead"));
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_wrong_name(void **state)
{
    X509 *leaf = leaf_valid();
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "a.b.good.test", NULL, &ev, &r);
    assert_int_equal(ev.hostname_ok, 0); /* a wildcard covers one label only */
    assert_int_equal(ev.n_verify, 0);
    assert_string_equal(classify(&ev, "a.b.good.test", &r), "hostname_mismatch");
    free_chain(&r);
    X509_free(leaf);
}

/* The name only in the subject CN, no subjectAltName: X509_check_host would
 * fall back to the CN, browsers do not (issue 13): hostname_mismatch, and
 * the detail says why. */
static void
test_certinfo_cn_only_is_a_mismatch(void **state)
{
    X509 *leaf =
        signed_by(mk_cert("cn.good.test", P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, NULL, 0),
                  P.int_key, EVP_sha256());
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "cn.good.test", NULL, &ev, &r);
    assert_int_equal(ev.hostname_checked, 1);
    assert_int_equal(ev.hostname_ok, 0);
    assert_int_equal(ev.leaf_no_san, 1);
    assert_int_equal(ev.n_verify, 0);
    assert_string_equal(classify(&ev, "cn.good.test", &r), "hostname_mismatch");
    assert_non_null(strstr(r.detail, "no subjectAltName: clients ignore the subject CN"));
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_ip_checked_without_name(void **state)
{
    X509 *leaf = signed_by(
        mk_cert("ip", P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, "IP:127.0.0.1,IP:::1", 0),
        P.int_key, EVP_sha256());
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, NULL, NULL, &ev, &r);
    assert_int_equal(ev.hostname_checked, 1);
    assert_int_equal(ev.hostname_ok, 1);
    assert_string_equal(r.chain[0].san, "IP:127.0.0.1,IP:::1");
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_self_signed(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *leaf =
        signed_by(mk_cert("good.test", k, NULL, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0), k,
                  EVP_sha256());
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, k, NULL, 0, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.n_sent, 1);
    assert_int_equal(ev.leaf_self_issued, 1);
    assert_int_equal(ev.chain_complete, 1);
    assert_true(has_error(&ev, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
    assert_string_equal(classify(&ev, "good.test", &r), "self_signed");
    free_chain(&r);

    /* The same certificate, trusted on purpose (--ca-file): no issue. */
    {
        X509_STORE *own = X509_STORE_new();
        X509_STORE_add_cert(own, leaf);
        run(leaf, k, NULL, 0, own, "good.test", NULL, &ev, &r);
        assert_int_equal(ev.n_verify, 0);
        assert_string_equal(classify(&ev, "good.test", &r), "ok");
        free_chain(&r);
        X509_STORE_free(own);
    }
    X509_free(leaf);
    EVP_PKEY_free(k);
}

static void
test_certinfo_untrusted_root(void **state)
{
    X509 *leaf = leaf_valid();
    X509 *chain2[2] = {P.inter, P.root};
    X509 *chain1[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    /* The root is sent but not trusted. */
    run(leaf, P.leaf_key, chain2, 2, P.empty_store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.chain_complete, 1);
    assert_true(has_error(&ev, 2, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN));
    assert_string_equal(classify(&ev, "good.test", &r), "untrusted_root");
    free_chain(&r);

    /* The root is not sent and not trusted: the chain stops at the intermediate. */
    run(leaf, P.leaf_key, chain1, 1, P.empty_store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.chain_complete, 0);
    assert_true(has_error(&ev, 1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
    assert_string_equal(classify(&ev, "good.test", &r), "untrusted_root");
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_incomplete_chain(void **state)
{
    X509 *leaf = leaf_valid();
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, NULL, 0, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.n_sent, 1);
    assert_int_equal(ev.chain_complete, 0);
    assert_int_equal(ev.leaf_self_issued, 0);
    assert_true(ev.n_verify >= 1);
    assert_int_equal(ev.verify[0].depth, 0);
    assert_string_equal(classify(&ev, "good.test", &r), "incomplete_chain");
    assert_non_null(strstr(r.detail, "AIA caIssuers"));
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_sha1_signed(void **state)
{
    X509 *leaf = signed_by(
        mk_cert("good.test", P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0),
        P.int_key, EVP_sha1());
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.weak_signature, 1);
    assert_string_equal(r.chain[0].sig_alg, "ecdsa-with-SHA1");
    assert_string_equal(classify(&ev, "good.test", &r), "weak_signature");
    free_chain(&r);
    X509_free(leaf);
}

static void
test_certinfo_rsa1024(void **state)
{
    EVP_PKEY *k = EVP_RSA_gen(1024);
    X509 *leaf =
        signed_by(mk_cert("good.test", k, P.inter, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0),
                  P.int_key, EVP_sha256());
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    assert_non_null(k);
    run(leaf, k, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_string_equal(ev.key_type, "RSA");
    assert_int_equal(ev.key_bits, 1024);
    assert_int_equal(ev.weak_key, 1);
    assert_string_equal(r.chain[0].key_type, "RSA");
    assert_int_equal(r.chain[0].key_bits, 1024);
    assert_string_equal(classify(&ev, "good.test", &r), "weak_key");
    free_chain(&r);
    X509_free(leaf);
    EVP_PKEY_free(k);
}

static void
test_certinfo_long_chain_bounded(void **state)
{
    X509 *leaf = leaf_valid();
    X509 *chain[TW_CHAIN_MAX + 4];
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    for (int i = 0; i < TW_CHAIN_MAX + 4; i++)
        chain[i] = P.inter;
    run(leaf, P.leaf_key, chain, TW_CHAIN_MAX + 4, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.n_sent, TW_CHAIN_MAX + 5);
    assert_int_equal(r.n_chain, TW_CHAIN_MAX);
    assert_int_equal(ev.n_verify, 0);
    free_chain(&r);
    X509_free(leaf);
}

/* ---- stapled OCSP ---- */

static struct staple
mk_ocsp(X509 *leaf, int status, X509 *signer, EVP_PKEY *skey, const EVP_MD *id_md)
{
    struct staple st = {NULL, 0};
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *cid = OCSP_cert_to_id(id_md, leaf, P.inter);
    ASN1_TIME *thisupd = ASN1_TIME_set(NULL, (time_t)(NOW - DAY));
    ASN1_TIME *nextupd = ASN1_TIME_set(NULL, (time_t)(NOW + 6 * DAY));
    ASN1_TIME *rev = ASN1_TIME_set(NULL, (time_t)(NOW - 2 * DAY));
    OCSP_RESPONSE *resp;

    assert_non_null(OCSP_basic_add1_status(
        bs, cid, status,
        status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
        status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, thisupd, nextupd));
    assert_int_equal(OCSP_basic_sign(bs, signer, skey, EVP_sha256(), NULL, 0), 1);
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    st.len = i2d_OCSP_RESPONSE(resp, &st.der);
    assert_true(st.len > 0);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(cid);
    ASN1_TIME_free(thisupd);
    ASN1_TIME_free(nextupd);
    ASN1_TIME_free(rev);
    return st;
}

static enum tw_ocsp_status
ocsp_case(X509 *leaf, struct staple *st, X509_STORE *store)
{
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;

    run(leaf, P.leaf_key, chain, 1, store, "good.test", st, &ev, &r);
    free_chain(&r);
    return ev.ocsp;
}

static void
test_certinfo_ocsp(void **state)
{
    X509 *leaf = leaf_valid();
    struct staple good = mk_ocsp(leaf, V_OCSP_CERTSTATUS_GOOD, P.inter, P.int_key, EVP_sha1());
    struct staple good256 = mk_ocsp(leaf, V_OCSP_CERTSTATUS_GOOD, P.inter, P.int_key, EVP_sha256());
    struct staple revoked =
        mk_ocsp(leaf, V_OCSP_CERTSTATUS_REVOKED, P.inter, P.int_key, EVP_sha1());
    struct staple unknown =
        mk_ocsp(leaf, V_OCSP_CERTSTATUS_UNKNOWN, P.inter, P.int_key, EVP_sha1());
    EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
    X509 *rogue = signed_by(mk_cert("Test Intermediate", rogue_key, NULL, Y2000, Y2099, 1, NULL, 0),
                            rogue_key, EVP_sha256());
    struct staple forged = mk_ocsp(leaf, V_OCSP_CERTSTATUS_REVOKED, rogue, rogue_key, EVP_sha1());
    unsigned char junk[] = {0x30, 0x03, 0x0a, 0x01, 0x00, 0xff};
    struct staple garbage = {junk, sizeof(junk)};
    struct tw_cert_evidence ev;
    struct tw_result r;

    (void)state;
    assert_int_equal(ocsp_case(leaf, NULL, P.store), TW_OCSP_NONE);
    assert_int_equal(ocsp_case(leaf, &good, P.store), TW_OCSP_GOOD);
    assert_int_equal(ocsp_case(leaf, &good256, P.store), TW_OCSP_GOOD);
    assert_int_equal(ocsp_case(leaf, &revoked, P.store), TW_OCSP_REVOKED);
    assert_int_equal(ocsp_case(leaf, &unknown, P.store), TW_OCSP_UNKNOWN);
    /* Untrusted chain: GOOD is not believed; REVOKED signed by the issuer is. */
    assert_int_equal(ocsp_case(leaf, &good, P.empty_store), TW_OCSP_INVALID);
    assert_int_equal(ocsp_case(leaf, &revoked, P.empty_store), TW_OCSP_REVOKED);
    /* Signed by someone else with the issuer's name: invalid. */
    assert_int_equal(ocsp_case(leaf, &forged, P.store), TW_OCSP_INVALID);
    assert_int_equal(ocsp_case(leaf, &forged, P.empty_store), TW_OCSP_INVALID);
    assert_int_equal(ocsp_case(leaf, &garbage, P.store), TW_OCSP_INVALID);

    /* End to end: revoked is the primary class. */
    {
        X509 *chain[1] = {P.inter};
        run(leaf, P.leaf_key, chain, 1, P.store, "good.test", &revoked, &ev, &r);
        assert_string_equal(classify(&ev, "good.test", &r), "cert_revoked");
        free_chain(&r);
    }
    OPENSSL_free(good.der);
    OPENSSL_free(good256.der);
    OPENSSL_free(revoked.der);
    OPENSSL_free(unknown.der);
    OPENSSL_free(forged.der);
    X509_free(rogue);
    EVP_PKEY_free(rogue_key);
    X509_free(leaf);
}

/* ---- bounds on hostile certificates ---- */

static void
add_raw_dns(GENERAL_NAMES *gens, const char *bytes, int len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    assert_int_equal(ASN1_STRING_set(s, bytes, len), 1);
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    sk_GENERAL_NAME_push(gens, gn);
}

static void
test_certinfo_record_bounds(void **state)
{
    const char cn[] = "bad\x01\x1b[31m\n<script>alert(1)</script>";
    X509 *x = mk_cert(cn, P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, NULL, 0);
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    X509_NAME *iss = X509_get_issuer_name(x);
    struct tw_cert c;
    char name[64];
    size_t commas = 0;

    (void)state;
    add_raw_dns(gens, "evil.test\0.good.test", 20);
    add_raw_dns(gens, "a.test,DNS:forged.test", 22);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "host-%04d.example.com", i);
        add_raw_dns(gens, name, (int)strlen(name));
    }
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT), 1);
    /* an issuer name far longer than TW_CERT_FIELD_MAX */
    for (int i = 0; i < 200; i++)
        X509_NAME_add_entry_by_txt(
            iss, "OU", MBSTRING_UTF8,
            (const unsigned char *)"0123456789012345678901234567890123456789", -1, -1, 0);
    signed_by(x, P.int_key, EVP_sha256());

    tw_certinfo_record(x, &c);
    assert_true(strlen(c.issuer) == TW_CERT_FIELD_MAX - 1); /* cut at the cap */
    /* kept (RFC 2253 escapes '<' and '>' with a backslash); renderers escape the rest */
    assert_non_null(strstr(c.subject, "\\<script\\>alert(1)\\</script\\>"));
    for (const char *p = c.subject; *p; p++)
        assert_true((unsigned char)*p >= 0x20); /* control bytes escaped by RFC 2253 */
    assert_true(strlen(c.san) < TW_CERT_FIELD_MAX);
    assert_true(strncmp(c.san, "DNS:evil.test?.good.test,DNS:a.test?DNS:forged.test,", 52) == 0);
    assert_non_null(strstr(c.san, "host-0000.example.com"));
    assert_null(strstr(c.san, "host-1999.example.com"));
    assert_string_equal(c.san + strlen(c.san) - 4, ",..."); /* the truncation flag */
    for (const char *p = c.san; *p; p++)
        commas += *p == ',';
    assert_true(commas <= 1000);
    /* Its PEM would pass TW_CERT_PEM_MAX: stored empty, never cut. */
    assert_true((size_t)i2d_X509(x, NULL) * 4 / 3 > TW_CERT_PEM_MAX);
    assert_string_equal(c.pem, "");
    tw_cert_cleanup(&c);
    GENERAL_NAMES_free(gens);
    X509_free(x);
}

static void
test_certinfo_load_store(void **state)
{
    char err[TW_ERRLEN] = "";
    char path[] = "/tmp/test_certinfo_XXXXXX";
    X509_STORE *st;
    int fd;
    FILE *f;

    (void)state;
    st = tw_certinfo_load_store("/nonexistent/ca-bundle.pem", err);
    assert_null(st);
    assert_non_null(strstr(err, "/nonexistent/ca-bundle.pem"));

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fflush(f);
    err[0] = '\0';
    st = tw_certinfo_load_store(path, err);
    assert_null(st);
    assert_non_null(strstr(err, path));

    rewind(f);
    assert_int_equal(ftruncate(fd, 0), 0);
    PEM_write_X509(f, P.root);
    fclose(f);
    st = tw_certinfo_load_store(path, err);
    assert_non_null(st);
    {
        /* the loaded store really trusts the root */
        X509 *leaf = leaf_valid();
        X509 *chain[1] = {P.inter};
        struct tw_cert_evidence ev;
        struct tw_result r;
        run(leaf, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r);
        assert_int_equal(ev.n_verify, 0);
        free_chain(&r);
        X509_free(leaf);
    }
    X509_STORE_free(st);
    unlink(path);

    st = tw_certinfo_load_store(NULL, err); /* the system paths; may be empty, never fails */
    assert_non_null(st);
    X509_STORE_free(st);
}

static void
assert_cert_equal(const struct tw_cert *a, const struct tw_cert *b)
{
    assert_string_equal(a->sha256, b->sha256);
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->issuer, b->issuer);
    assert_string_equal(a->not_before, b->not_before);
    assert_string_equal(a->not_after, b->not_after);
    assert_string_equal(a->key_type, b->key_type);
    assert_int_equal(a->key_bits, b->key_bits);
    assert_string_equal(a->sig_alg, b->sig_alg);
    assert_string_equal(a->san, b->san);
    assert_string_equal(a->pem, b->pem);
}

/* The per-thread records cache: a certificate recorded again (a hit) gets
 * the record it got the first time, in memory of its own; distinct
 * certificates, however many and whatever slot they share, never get
 * another's record. */
static void
test_certinfo_record_cache(void **state)
{
    enum { N = 150 }; /* more than the cache holds: slots are reused */
    X509 *x[N];
    struct tw_cert first[N], again, late;
    char cn[32];

    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(cn, sizeof(cn), "cache-%03d.test", i);
        x[i] = signed_by(mk_cert(cn, P.leaf_key, P.inter, NOW - DAY, NOW + i * DAY, 0, NULL, 0),
                         P.int_key, EVP_sha256());
        tw_certinfo_record(x[i], &first[i]);
        tw_certinfo_record(x[i], &again); /* a hit: just recorded */
        assert_cert_equal(&first[i], &again);
        assert_ptr_not_equal(first[i].pem, again.pem);
        assert_ptr_not_equal(first[i].subject, again.subject);
        tw_cert_cleanup(&again);
        snprintf(cn, sizeof(cn), "CN=cache-%03d.test", i);
        assert_string_equal(first[i].subject, cn);
    }
    for (int i = 0; i < N; i++) { /* hits and misses (evicted) alike */
        tw_certinfo_record(x[i], &late);
        assert_cert_equal(&first[i], &late);
        for (int j = 0; j < N; j++)
            if (j != i)
                assert_string_not_equal(first[j].sha256, late.sha256);
        tw_cert_cleanup(&late);
    }
    for (int i = 0; i < N; i++) {
        tw_cert_cleanup(&first[i]);
        X509_free(x[i]);
    }
}

/* ---- the verification cache (scanner/vcache.h) ---- */

/* A store with the root, marked complete: outcomes are cached against it. */
static X509_STORE *
marked_store(int with_root)
{
    X509_STORE *st = X509_STORE_new();

    assert_non_null(st);
    if (with_root)
        assert_int_equal(X509_STORE_add_cert(st, P.root), 1);
    assert_int_equal(tw_vcache_mark_store(st), 0);
    assert_int_equal(tw_vcache_mark_store(st), 0); /* idempotent */
    return st;
}

static struct tw_vcache_stats
vstats(void)
{
    struct tw_vcache_stats s;

    tw_vcache_get_stats(&s);
    return s;
}

/* The evidence of one case with the unmarked store (never cached), then
 * twice with a marked store of the same content (a miss, then a hit): all
 * three identical, byte for byte, and the third served from the cache. */
static void
vcache_same(X509 *leaf, EVP_PKEY *key, X509 **chain, int n, int with_root, struct staple *st)
{
    X509_STORE *plain = with_root ? P.store : P.empty_store;
    X509_STORE *marked = marked_store(with_root);
    struct tw_cert_evidence ev0, ev1, ev2;
    struct tw_result r;
    struct tw_vcache_stats a, b, c;

    a = vstats();
    run(leaf, key, chain, n, plain, "good.test", st, &ev0, &r);
    free_chain(&r);
    b = vstats();
    assert_int_equal(b.hits + b.misses + b.stored, a.hits + a.misses + a.stored);
    run(leaf, key, chain, n, marked, "good.test", st, &ev1, &r);
    free_chain(&r);
    c = vstats();
    assert_int_equal(c.misses, b.misses + 1);
    assert_int_equal(c.stored, b.stored + 1);
    run(leaf, key, chain, n, marked, "good.test", st, &ev2, &r);
    free_chain(&r);
    b = vstats();
    assert_int_equal(b.hits, c.hits + 1);
    assert_memory_equal(&ev0, &ev1, sizeof(ev0));
    assert_memory_equal(&ev0, &ev2, sizeof(ev0));
    X509_STORE_free(marked);
}

/* Cached outcomes are the outcomes: valid, incomplete, untrusted, self-signed,
 * SHA-1, long chains, and stapled OCSP (which needs the cached issuer). */
static void
test_certinfo_vcache_identical(void **state)
{
    X509 *leaf = leaf_valid();
    X509 *chain1[1] = {P.inter};
    X509 *chain2[2] = {P.inter, P.root};
    X509 *many[TW_CHAIN_MAX + 4];
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *self =
        signed_by(mk_cert("good.test", k, NULL, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0), k,
                  EVP_sha256());
    X509 *sha1 = signed_by(
        mk_cert("good.test", P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0),
        P.int_key, EVP_sha1());
    struct staple good = mk_ocsp(leaf, V_OCSP_CERTSTATUS_GOOD, P.inter, P.int_key, EVP_sha1());
    struct staple revoked =
        mk_ocsp(leaf, V_OCSP_CERTSTATUS_REVOKED, P.inter, P.int_key, EVP_sha1());

    (void)state;
    for (int i = 0; i < TW_CHAIN_MAX + 4; i++)
        many[i] = P.inter;
    vcache_same(leaf, P.leaf_key, chain1, 1, 1, NULL);
    vcache_same(leaf, P.leaf_key, NULL, 0, 1, NULL);   /* incomplete */
    vcache_same(leaf, P.leaf_key, chain2, 2, 0, NULL); /* untrusted root */
    vcache_same(leaf, P.leaf_key, chain1, 1, 0, NULL); /* nothing trusted */
    vcache_same(self, k, NULL, 0, 1, NULL);            /* self-signed */
    vcache_same(sha1, P.leaf_key, chain1, 1, 1, NULL); /* SHA-1 */
    vcache_same(leaf, P.leaf_key, many, TW_CHAIN_MAX + 4, 1, NULL);
    vcache_same(leaf, P.leaf_key, chain1, 1, 1, &good);
    vcache_same(leaf, P.leaf_key, chain1, 1, 1, &revoked);
    vcache_same(leaf, P.leaf_key, chain1, 1, 0, &revoked);
    OPENSSL_free(good.der);
    OPENSSL_free(revoked.der);
    X509_free(sha1);
    X509_free(self);
    EVP_PKEY_free(k);
    X509_free(leaf);
}

/* A chain that changes between two connections (same key, same name, a
 * different certificate) is verified again, never served the old outcome. */
static void
test_certinfo_vcache_chain_changes(void **state)
{
    X509_STORE *st = marked_store(1);
    X509 *good = leaf_valid();
    X509 *good2 = leaf_valid(); /* same key and dates, another serial */
    EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
    X509 *rogue =
        signed_by(mk_cert("Test Intermediate", rogue_key, P.root, Y2000, Y2099, 1, NULL, 0),
                  rogue_key, EVP_sha256()); /* the intermediate's name, not signed by the root */
    X509 *bad = signed_by(
        mk_cert("good.test", P.leaf_key, rogue, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0),
        rogue_key, EVP_sha256());
    X509 *chain[1] = {P.inter};
    X509 *rchain[1] = {rogue};
    struct tw_cert_evidence ev;
    struct tw_result r;
    struct tw_vcache_stats a, b;

    (void)state;
    run(good, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r);
    free_chain(&r);
    assert_int_equal(ev.n_verify, 0);
    a = vstats();
    run(good, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r); /* a hit */
    free_chain(&r);
    b = vstats();
    assert_int_equal(b.hits, a.hits + 1);
    assert_int_equal(ev.n_verify, 0);

    /* Same key, a forged chain: a miss, and its own errors. */
    run(bad, P.leaf_key, rchain, 1, st, "good.test", NULL, &ev, &r);
    free_chain(&r);
    a = vstats();
    assert_int_equal(a.hits, b.hits);
    assert_int_equal(a.misses, b.misses + 1);
    assert_true(ev.n_verify > 0);
    assert_true(has_error(&ev, 1, X509_V_ERR_CERT_SIGNATURE_FAILURE));
    assert_string_equal(classify(&ev, "good.test", &r), "untrusted_root");
    free_chain(&r);

    /* Same key, another valid certificate: a miss too (different DER). */
    run(good2, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r);
    free_chain(&r);
    b = vstats();
    assert_int_equal(b.hits, a.hits);
    assert_int_equal(b.misses, a.misses + 1);
    assert_int_equal(ev.n_verify, 0);

    /* The same leaf with the intermediate left out: another chain. */
    run(good, P.leaf_key, NULL, 0, st, "good.test", NULL, &ev, &r);
    free_chain(&r);
    a = vstats();
    assert_int_equal(a.hits, b.hits);
    assert_true(has_error(&ev, 0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));

    X509_free(bad);
    X509_free(rogue);
    EVP_PKEY_free(rogue_key);
    X509_free(good2);
    X509_free(good);
    X509_STORE_free(st);
}

/* A time outside a certificate's validity is never served from the cache
 * (and nothing judged there is stored), whatever was cached before. */
static void
test_certinfo_vcache_outside_window(void **state)
{
    X509_STORE *st = marked_store(1);
    X509 *leaf = leaf_dates(NOW - 30 * DAY, NOW + 60 * DAY);
    X509 *chain[1] = {P.inter};
    struct tw_cert_evidence ev;
    struct tw_result r;
    struct tw_vcache_stats a, b;
    unsigned char key[TW_VCACHE_KEY_LEN];
    unsigned char md[1][32];
    struct tw_vcache_outcome o, got;

    (void)state;
    run(leaf, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r); /* stored at NOW */
    free_chain(&r);
    assert_int_equal(ev.n_verify, 0);
    for (int round = 0; round < 2; round++) {
        a = vstats();
        run_now = NOW + 61 * DAY; /* expired */
        run(leaf, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r);
        free_chain(&r);
        b = vstats();
        assert_int_equal(b.hits, a.hits);
        assert_int_equal(b.refused, a.refused + 1);
        assert_true(has_error(&ev, 0, X509_V_ERR_CERT_HAS_EXPIRED));
        run_now = NOW - 31 * DAY; /* not yet valid */
        run(leaf, P.leaf_key, chain, 1, st, "good.test", NULL, &ev, &r);
        free_chain(&r);
        a = vstats();
        assert_int_equal(a.hits, b.hits);
        assert_int_equal(a.refused, b.refused + 1);
        assert_true(has_error(&ev, 0, X509_V_ERR_CERT_NOT_YET_VALID));
        run_now = NOW;
    }

    /* The window is checked on the way out too, whatever the key. */
    memset(md, 7, sizeof(md));
    assert_int_equal(tw_vcache_key(key, st, NOW, 1, (const unsigned char(*)[32])md, 1), 0);
    memset(&o, 0, sizeof(o));
    o.n_verify = 1;
    o.verify[0].code = X509_V_ERR_CERT_REVOKED;
    tw_vcache_put(key, NOW, NOW - DAY, NOW + DAY, &o);
    assert_int_equal(tw_vcache_get(key, NOW + 2 * DAY, &got), 0);
    assert_int_equal(tw_vcache_get(key, NOW - 2 * DAY, &got), 0);
    assert_int_equal(tw_vcache_get(key, NOW, &got), 1);
    assert_int_equal(got.n_verify, 1);
    assert_null(got.issuer);
    a = vstats();
    tw_vcache_put(key, NOW + 2 * DAY, NOW - DAY, NOW + DAY, &o); /* now outside: refused */
    b = vstats();
    assert_int_equal(b.refused, a.refused + 1);
    /* An unmarked store has no key. */
    assert_int_equal(tw_vcache_key(key, P.store, NOW, 1, (const unsigned char(*)[32])md, 1), -1);

    X509_free(leaf);
    X509_STORE_free(st);
}

/* ---- remembered signatures (tw_vcache_verify_chain) ---- */

/* Everything the verify callback is told, in order. */
struct vrec {
    int stop; /* answer 0 to the first error */
    int n, depth[32], code[32];
    X509 *cur[32];
    int n_ok, ok_depth[32];
    X509 *ok_cur[32];
    int ret, final_code, final_depth;
};

static int
vrec_cb(int ok, X509_STORE_CTX *ctx)
{
    struct vrec *r = X509_STORE_CTX_get_app_data(ctx);

    if (ok) {
        if (r->n_ok < 32) {
            r->ok_depth[r->n_ok] = X509_STORE_CTX_get_error_depth(ctx);
            r->ok_cur[r->n_ok++] = X509_STORE_CTX_get_current_cert(ctx);
        }
        return 1;
    }
    if (r->n < 32) {
        r->depth[r->n] = X509_STORE_CTX_get_error_depth(ctx);
        r->code[r->n] = X509_STORE_CTX_get_error(ctx);
        r->cur[r->n++] = X509_STORE_CTX_get_current_cert(ctx);
    }
    return !r->stop;
}

/* One X509_verify_cert of leaf + chain[0..n-1] (untrusted) against st at
 * `at`, with OpenSSL's own signature step (ours = 0) or the cache's. */
static void
vrun(X509_STORE *st, X509 *leaf, X509 **chain, int n, int64_t at, unsigned long flags, int ours,
     int stop, struct vrec *r)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *un = sk_X509_new_null();

    memset(r, 0, sizeof(*r));
    r->stop = stop;
    assert_non_null(ctx);
    assert_non_null(un);
    for (int i = 0; i < n; i++)
        assert_true(sk_X509_push(un, chain[i]) > 0);
    assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, un), 1);
    if (at != 0) /* else the clock's time */
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
    if (flags != 0)
        X509_STORE_CTX_set_flags(ctx, flags);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_STORE_CTX_set_verify_cb(ctx, vrec_cb);
    X509_STORE_CTX_set_app_data(ctx, r);
    if (ours)
        X509_STORE_CTX_set_verify(ctx, tw_vcache_verify_chain);
    r->ret = X509_verify_cert(ctx);
    r->final_code = X509_STORE_CTX_get_error(ctx);
    r->final_depth = X509_STORE_CTX_get_error_depth(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(un);
    ERR_clear_error();
}

/* OpenSSL's step, then ours twice (signatures computed, then remembered):
 * the same return, the same final error, the same callback calls with the
 * same depths, codes and certificates; both when the callback carries on
 * and when it stops at the first error.  Returns the first run's record. */
static struct vrec
vsame(X509_STORE *st, X509 *leaf, X509 **chain, int n, int64_t at, unsigned long flags)
{
    struct vrec a, b, c;

    for (int stop = 1; stop >= 0; stop--) {
        vrun(st, leaf, chain, n, at, flags, 0, stop, &a);
        vrun(st, leaf, chain, n, at, flags, 1, stop, &b);
        vrun(st, leaf, chain, n, at, flags, 1, stop, &c);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_memory_equal(&a, &c, sizeof(a));
    }
    return a;
}

static int
vrec_has(const struct vrec *r, int depth, int code)
{
    for (int i = 0; i < r->n; i++)
        if (r->depth[i] == depth && r->code[i] == code)
            return 1;
    return 0;
}

/* A CA certificate for the intermediate's key whose keyUsage is ku. */
static X509 *
inter_with_ku(const char *ku)
{
    X509 *x = mk_cert("Test Intermediate", P.int_key, P.root, Y2000, Y2099, 1, NULL, 0);
    X509V3_CTX v3;
    int at = X509_get_ext_by_NID(x, NID_key_usage, -1);

    assert_true(at >= 0);
    X509_EXTENSION_free(X509_delete_ext(x, at));
    X509V3_set_ctx(&v3, P.root, x, NULL, NULL, 0);
    add_ext(x, &v3, NID_key_usage, ku);
    return signed_by(x, P.root_key, EVP_sha256());
}

/* x with one bit of its signature flipped: the same TBS, a bad signature. */
static X509 *
bad_signature(X509 *x)
{
    unsigned char *der = NULL, *q;
    const unsigned char *p;
    int len = i2d_X509(x, &der);
    X509 *y;

    assert_true(len > 10);
    q = der;
    q[len - 3] ^= 0x01; /* inside the signature BIT STRING, the DER's last field */
    p = der;
    y = d2i_X509(NULL, &p, len);
    assert_non_null(y);
    OPENSSL_free(der);
    return y;
}

/* The signature step with remembered signatures says what OpenSSL's says,
 * on good and broken chains, and remembers only good signatures. */
static void
test_certinfo_sigcache_same_as_openssl(void **state)
{
    X509 *leaf = leaf_valid(), *forged = bad_signature(leaf);
    X509 *inter_exp =
        signed_by(mk_cert("Test Intermediate", P.int_key, P.root, Y2000, NOW - DAY, 1, NULL, 0),
                  P.root_key, EVP_sha256());
    X509 *inter_nosign = inter_with_ku("critical,digitalSignature");
    X509 *inter_noku =
        signed_by(mk_cert("Test Intermediate", P.int_key, P.root, Y2000, Y2099, 0, NULL, 0),
                  P.root_key, EVP_sha256()); /* CA:FALSE */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *self =
        signed_by(mk_cert("good.test", k, NULL, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0), k,
                  EVP_sha256());
    X509 *rogue_leaf = signed_by(
        mk_cert("good.test", P.leaf_key, P.inter, NOW - DAY, NOW + DAY, 0, "DNS:good.test", 0), k,
        EVP_sha256()); /* names the intermediate, signed by another key */
    X509 *c1[1] = {P.inter}, *c_exp[1] = {inter_exp}, *c_ns[1] = {inter_nosign};
    X509 *c_nk[1] = {inter_noku}, *c_root[2] = {P.inter, P.root};
    X509_STORE *inter_store = X509_STORE_new();
    struct tw_vcache_stats s0, s1;
    struct vrec r;

    (void)state;
    assert_non_null(inter_store);
    assert_int_equal(X509_STORE_add_cert(inter_store, P.inter), 1);

    r = vsame(P.store, leaf, c1, 1, NOW, 0); /* good */
    assert_int_equal(r.ret, 1);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_ok, 3);
    r = vsame(P.store, leaf, c1, 1, NOW + 61 * DAY, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_HAS_EXPIRED));
    r = vsame(P.store, leaf, c1, 1, NOW - 31 * DAY, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_NOT_YET_VALID));
    r = vsame(P.store, leaf, c1, 1, Y2099 + DAY, 0); /* every certificate expired */
    assert_true(vrec_has(&r, 2, X509_V_ERR_CERT_HAS_EXPIRED));
    assert_true(vrec_has(&r, 1, X509_V_ERR_CERT_HAS_EXPIRED));
    /* The clock's time (the leaf expired in 2023): expired, unless told not
     * to check times. */
    r = vsame(P.store, leaf, c1, 1, 0, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_HAS_EXPIRED));
    r = vsame(P.store, leaf, c1, 1, 0, X509_V_FLAG_NO_CHECK_TIME);
    assert_int_equal(r.n, 0);
    r = vsame(P.store, leaf, c_exp, 1, NOW, 0);
    assert_true(vrec_has(&r, 1, X509_V_ERR_CERT_HAS_EXPIRED));
    r = vsame(P.store, forged, c1, 1, NOW, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_SIGNATURE_FAILURE));
    r = vsame(P.store, rogue_leaf, c1, 1, NOW, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_SIGNATURE_FAILURE));
    r = vsame(P.store, leaf, c_ns, 1, NOW, 0);
    assert_true(vrec_has(&r, 1, X509_V_ERR_KEYUSAGE_NO_CERTSIGN));
    r = vsame(P.store, leaf, c_nk, 1, NOW, 0);
    assert_true(r.n > 0);
    r = vsame(P.store, leaf, NULL, 0, NOW, 0); /* incomplete */
    assert_true(vrec_has(&r, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE));
    r = vsame(P.store, self, NULL, 0, NOW, 0);
    assert_true(vrec_has(&r, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
    r = vsame(P.empty_store, leaf, c_root, 2, NOW, 0); /* untrusted root sent */
    assert_true(vrec_has(&r, 2, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN));
    r = vsame(P.store, leaf, c1, 1, NOW, X509_V_FLAG_CHECK_SS_SIGNATURE);
    assert_int_equal(r.n, 0);
    r = vsame(inter_store, leaf, NULL, 0, NOW, X509_V_FLAG_PARTIAL_CHAIN);
    assert_int_equal(r.ret, 1);
    r = vsame(inter_store, leaf, NULL, 0, Y2099 + DAY, X509_V_FLAG_PARTIAL_CHAIN);
    assert_true(vrec_has(&r, 1, X509_V_ERR_CERT_HAS_EXPIRED));

    /* A good signature is computed once; a bad one every time, even right
     * after the good certificate with the same TBS was remembered. */
    vrun(P.store, leaf, c1, 1, NOW, 0, 1, 0, &r);
    tw_vcache_get_stats(&s0);
    vrun(P.store, leaf, c1, 1, NOW, 0, 1, 0, &r);
    tw_vcache_get_stats(&s1);
    assert_int_equal(s1.sig_hits, s0.sig_hits + 2);
    assert_int_equal(s1.sig_verified, s0.sig_verified);
    vrun(P.store, forged, c1, 1, NOW, 0, 1, 0, &r);
    tw_vcache_get_stats(&s0);
    assert_int_equal(s0.sig_hits, s1.sig_hits + 1);         /* the intermediate */
    assert_int_equal(s0.sig_verified, s1.sig_verified + 1); /* the forged leaf */
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_SIGNATURE_FAILURE));
    vrun(P.store, forged, c1, 1, NOW, 0, 1, 0, &r);
    tw_vcache_get_stats(&s1);
    assert_int_equal(s1.sig_verified, s0.sig_verified + 1);
    assert_true(vrec_has(&r, 0, X509_V_ERR_CERT_SIGNATURE_FAILURE));

    X509_STORE_free(inter_store);
    X509_free(rogue_leaf);
    X509_free(self);
    EVP_PKEY_free(k);
    X509_free(inter_noku);
    X509_free(inter_nosign);
    X509_free(inter_exp);
    X509_free(forged);
    X509_free(leaf);
}

/* ---- AIA chain completion (issue 14) ---- */

/* A one-thread HTTP server on 127.0.0.1 (a kernel-chosen port): /der gives
 * the intermediate in DER, /pem in PEM, /leaf a certificate that is not
 * the issuer, anything else 404.  Counts the requests it answered. */
static struct staple http_ocsp; /* what POST /ocsp answers */
static struct staple http_crl;  /* what GET /crl answers */

struct http_srv {
    int fd;
    unsigned port;
    volatile int stop;
    int served;
    pthread_t th;
};

/* A decimal prefix of s (bounded, for Content-Length). */
static ssize_t
dec_prefix(const char *s)
{
    ssize_t v = 0;

    while (*s >= '0' && *s <= '9' && v < 100000)
        v = v * 10 + (*s++ - '0');
    return v;
}

static void *
http_main(void *arg)
{
    struct http_srv *h = arg;

    while (!h->stop) {
        struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
        char req[1024], head[128];
        unsigned char *body = NULL;
        int c, len = 0, n;
        ssize_t got;

        if (poll(&pfd, 1, 100) != 1)
            continue;
        c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        got = 0;
        /* The whole request: the headers and Content-Length bytes of body. */
        for (;;) {
            ssize_t rd = recv(c, req + got, sizeof(req) - 1 - (size_t)got, 0);
            const char *end, *cl;

            if (rd <= 0)
                break;
            got += rd;
            req[got] = '\0';
            end = strstr(req, "\r\n\r\n");
            if (end == NULL)
                continue;
            cl = strstr(req, "Content-Length: ");
            if (cl == NULL || got >= (end + 4 - req) + dec_prefix(cl + 16))
                break;
        }
        req[got > 0 ? got : 0] = '\0';
        if (strncmp(req, "POST /ocsp ", 11) == 0 && http_ocsp.der != NULL) {
            body = OPENSSL_memdup(http_ocsp.der, (size_t)http_ocsp.len);
            len = http_ocsp.len;
        } else if (strncmp(req, "GET /crl", 8) == 0 && http_crl.der != NULL) {
            body = OPENSSL_memdup(http_crl.der, (size_t)http_crl.len);
            len = http_crl.len;
        } else if (strncmp(req, "GET /slow ", 10) == 0) {
            /* Answered late, so that fetch threads asking at once overlap. */
            poll(NULL, 0, 300);
            len = i2d_X509(P.inter, &body);
        } else if (strncmp(req, "GET /der ", 9) == 0) {
            len = i2d_X509(P.inter, &body);
        } else if (strncmp(req, "GET /pem ", 9) == 0) {
            BIO *b = BIO_new(BIO_s_mem());
            char *p = NULL;

            PEM_write_bio_X509(b, P.inter);
            len = (int)BIO_get_mem_data(b, &p);
            body = OPENSSL_memdup(p, (size_t)len);
            BIO_free(b);
        } else if (strncmp(req, "GET /leaf ", 10) == 0) {
            len = i2d_X509(P.root, &body); /* a certificate, but not the issuer sought */
        }
        if (body != NULL)
            n = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n", len);
        else
            n = snprintf(head, sizeof(head), "HTTP/1.0 404 Not Found\r\n\r\n");
        assert_true(send(c, head, (size_t)n, MSG_NOSIGNAL) == n);
        if (body != NULL)
            assert_true(send(c, body, (size_t)len, MSG_NOSIGNAL) == len);
        OPENSSL_free(body);
        h->served++;
        close(c);
    }
    return NULL;
}

static void
http_start(struct http_srv *h)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);

    memset(h, 0, sizeof(*h));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(h->fd >= 0);
    assert_int_equal(bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(h->fd, 8), 0);
    assert_int_equal(getsockname(h->fd, (struct sockaddr *)&sa, &sl), 0);
    h->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&h->th, NULL, http_main, h), 0);
}

static void
http_stop(struct http_srv *h)
{
    h->stop = 1;
    pthread_join(h->th, NULL);
    close(h->fd);
}

/* A leaf whose caIssuers URL is http://127.0.0.1:PORT/path; run with AIA. */
static void
run_with_aia(const struct http_srv *h, const char *path, X509 **chain, int n,
             struct tw_cert_evidence *ev, struct tw_result *r)
{
    X509 *leaf;

    snprintf(aia_ext, sizeof(aia_ext), "caIssuers;URI:http://127.0.0.1:%u%s", h->port, path);
    leaf = leaf_valid();
    snprintf(aia_ext, sizeof(aia_ext), "caIssuers;URI:http://ca.test/int.crt");
    run_aia = 1;
    run(leaf, P.leaf_key, chain, n, P.store, "good.test", NULL, ev, r);
    run_aia = 0;
    X509_free(leaf);
}

static void
test_certinfo_aia_completes(void **state)
{
    struct http_srv h;
    struct tw_cert_evidence ev;
    struct tw_result r;
    char url[96];
    int served;

    (void)state;
    http_start(&h);
    /* DER: completed, the fetched intermediate appended and marked. */
    run_with_aia(&h, "/der", NULL, 0, &ev, &r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/der", h.port);
    assert_int_equal(ev.aia_completed, 1);
    assert_string_equal(ev.aia_url, url);
    assert_int_equal(ev.n_sent, 1);
    assert_int_equal(r.n_chain, 2);
    assert_int_equal(r.chain[0].via_aia, 0);
    assert_int_equal(r.chain[1].via_aia, 1);
    assert_string_equal(r.chain[1].subject, "CN=Test Intermediate");
    /* The class stays incomplete_chain; the detail names the URL. */
    assert_string_equal(classify(&ev, "good.test", &r), "incomplete_chain");
    assert_non_null(strstr(r.detail, "completed by AIA (http://127.0.0.1:"));
    free_chain(&r);
    /* The same URL again: served from this thread's cache, no request. */
    served = h.served;
    run_with_aia(&h, "/der", NULL, 0, &ev, &r);
    assert_int_equal(ev.aia_completed, 1);
    assert_int_equal(h.served, served);
    free_chain(&r);
    /* A host name (resolved within the bound, each address tried). */
    {
        char named[96];
        X509 *x;

        snprintf(named, sizeof(named), "http://localhost:%u/der", h.port);
        x = tw_aia_fetch(named);
        assert_non_null(x);
        assert_int_equal(X509_cmp(x, P.inter), 0);
        X509_free(x);
    }
    /* PEM works too. */
    run_with_aia(&h, "/pem", NULL, 0, &ev, &r);
    assert_int_equal(ev.aia_completed, 1);
    assert_int_equal(r.n_chain, 2);
    free_chain(&r);
    /* The wrong intermediate sent (another CA under the same root): completed
     * all the same, and still incomplete_chain. */
    {
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *wrong[1];

        assert_non_null(k);
        wrong[0] = signed_by(mk_cert("Other Intermediate", k, P.root, Y2000, Y2099, 1, NULL, 0),
                             P.root_key, EVP_sha256());
        run_with_aia(&h, "/der", wrong, 1, &ev, &r);
        assert_int_equal(ev.aia_completed, 1);
        assert_int_equal(r.n_chain, 3);
        assert_int_equal(r.chain[2].via_aia, 1);
        assert_string_equal(classify(&ev, "good.test", &r), "incomplete_chain");
        free_chain(&r);
        X509_free(wrong[0]);
        EVP_PKEY_free(k);
    }
    http_stop(&h);
}

static void
test_certinfo_aia_not_completed(void **state)
{
    struct http_srv h;
    struct tw_cert_evidence ev;
    struct tw_result r;
    X509 *chain[1] = {P.inter};

    (void)state;
    http_start(&h);
    /* 404: nothing fetched, the old verdict. */
    run_with_aia(&h, "/missing", NULL, 0, &ev, &r);
    assert_int_equal(ev.aia_completed, 0);
    assert_int_equal(r.n_chain, 1);
    assert_string_equal(classify(&ev, "good.test", &r), "incomplete_chain");
    assert_non_null(strstr(r.detail, "AIA caIssuers"));
    assert_null(strstr(r.detail, "completed by AIA"));
    free_chain(&r);
    /* A certificate that is not the issuer: not completed. */
    run_with_aia(&h, "/leaf", NULL, 0, &ev, &r);
    assert_int_equal(ev.aia_completed, 0);
    assert_int_equal(r.n_chain, 1);
    free_chain(&r);
    /* A complete chain: nothing is fetched at all. */
    h.served = 0;
    run_with_aia(&h, "/pem-unused", chain, 1, &ev, &r);
    assert_int_equal(ev.n_verify, 0);
    assert_int_equal(ev.aia_completed, 0);
    assert_int_equal(h.served, 0);
    free_chain(&r);
    http_stop(&h);
    /* Nobody listening any more: a refused connection, not completed. */
    run_with_aia(&h, "/der-gone", NULL, 0, &ev, &r);
    assert_int_equal(ev.aia_completed, 0);
    free_chain(&r);
}

static void
test_certinfo_online_ocsp(void **state)
{
    struct http_srv h;
    struct tw_cert_evidence ev;
    struct tw_result r;
    X509 *chain[1] = {P.inter};
    X509 *leaf;
    char url[96];

    (void)state;
    http_start(&h);
    snprintf(aia_ext, sizeof(aia_ext),
             "caIssuers;URI:http://ca.test/int.crt,OCSP;URI:http://127.0.0.1:%u/ocsp", h.port);
    leaf = leaf_valid();
    snprintf(aia_ext, sizeof(aia_ext), "caIssuers;URI:http://ca.test/int.crt");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/ocsp", h.port);
    http_ocsp = mk_ocsp(leaf, V_OCSP_CERTSTATUS_REVOKED, P.inter, P.int_key, EVP_sha1());

    /* Nothing stapled, the responder says revoked: cert_revoked, named. */
    run_revocation = 1;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.ocsp, TW_OCSP_NONE);
    assert_int_equal(ev.ocsp_online, TW_OCSP_REVOKED);
    assert_string_equal(ev.ocsp_url, url);
    assert_int_equal(h.served, 1);
    assert_string_equal(classify(&ev, "good.test", &r), "cert_revoked");
    assert_non_null(strstr(r.detail, "OCSP responder (http://127.0.0.1:"));
    free_chain(&r);
    /* Asked again: the per-thread cache answers. */
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.ocsp_online, TW_OCSP_REVOKED);
    assert_int_equal(h.served, 1);
    free_chain(&r);
    /* A stapled response: the responder is not asked. */
    {
        struct staple good = mk_ocsp(leaf, V_OCSP_CERTSTATUS_GOOD, P.inter, P.int_key, EVP_sha1());

        run(leaf, P.leaf_key, chain, 1, P.store, "good.test", &good, &ev, &r);
        assert_int_equal(ev.ocsp, TW_OCSP_GOOD);
        assert_int_equal(ev.ocsp_online, TW_OCSP_NONE);
        assert_string_equal(classify(&ev, "good.test", &r), "ok");
        free_chain(&r);
        OPENSSL_free(good.der);
    }
    /* Without the check (--no-revocation): ok. */
    run_revocation = 0;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.ocsp_online, TW_OCSP_NONE);
    assert_string_equal(classify(&ev, "good.test", &r), "ok");
    free_chain(&r);
    http_stop(&h);
    OPENSSL_free(http_ocsp.der);
    memset(&http_ocsp, 0, sizeof(http_ocsp));
    X509_free(leaf);
}

/* A DER CRL of issuer, signed with key, listing serial (or none when NULL). */
static struct staple
mk_crl(X509 *issuer, EVP_PKEY *key, ASN1_INTEGER *serial)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = X509_gmtime_adj(NULL, -3600L);
    struct staple st = {NULL, 0};
    unsigned char *der = NULL;

    assert_non_null(crl);
    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    if (serial != NULL) {
        X509_REVOKED *rev = X509_REVOKED_new();

        assert_int_equal(X509_REVOKED_set_serialNumber(rev, serial), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
    }
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    st.len = i2d_X509_CRL(crl, &der);
    assert_true(st.len > 0);
    st.der = der;
    X509_CRL_free(crl);
    ASN1_TIME_free(t);
    return st;
}

/* Revocation by CRL (issue 14): no OCSP answer, the leaf's CRL lists it. */
static void
test_certinfo_online_crl(void **state)
{
    struct http_srv h;
    struct tw_cert_evidence ev;
    struct tw_result r;
    X509 *chain[1] = {P.inter};
    X509 *leaf;
    char url[96];
    EVP_PKEY *rogue_key = EVP_EC_gen("P-256");

    (void)state;
    assert_non_null(rogue_key);
    http_start(&h);
    snprintf(crl_ext, sizeof(crl_ext), "URI:http://127.0.0.1:%u/crl", h.port);
    leaf = leaf_valid();
    crl_ext[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/crl", h.port);
    {
        char got[TW_AIA_URL_MAX];

        assert_int_equal(tw_aia_crl_url(leaf, got), 1);
        assert_string_equal(got, url);
        assert_int_equal(tw_aia_crl_url(P.inter, got), 0);
    }
    /* Listed, signed by the issuer: cert_revoked, the CRL named. */
    http_crl = mk_crl(P.inter, P.int_key, X509_get_serialNumber(leaf));
    run_revocation = 1;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.ocsp_online, TW_OCSP_NONE);
    assert_int_equal(ev.crl_online, TW_OCSP_REVOKED);
    assert_string_equal(ev.crl_url, url);
    assert_string_equal(classify(&ev, "good.test", &r), "cert_revoked");
    assert_non_null(strstr(r.detail, "CRL (http://127.0.0.1:"));
    free_chain(&r);
    OPENSSL_free(http_crl.der);
    /* The parser; then each case with a leaf of its own URL (the cache is
     * keyed by URL). */
    {
        struct staple empty = mk_crl(P.inter, P.int_key, NULL);
        X509_CRL *c = tw_aia_parse_crl(empty.der, (size_t)empty.len);

        assert_non_null(c);
        /* The same CRL as PEM; a certificate's PEM is not a CRL. */
        {
            BIO *b = BIO_new(BIO_s_mem());
            BUF_MEM *bm;
            X509_CRL *c2;

            assert_int_equal(PEM_write_bio_X509_CRL(b, c), 1);
            BIO_get_mem_ptr(b, &bm);
            c2 = tw_aia_parse_crl((const unsigned char *)bm->data, bm->length);
            assert_non_null(c2);
            assert_int_equal(X509_CRL_cmp(c, c2), 0);
            X509_CRL_free(c2);
            BIO_free(b);
            b = BIO_new(BIO_s_mem());
            assert_int_equal(PEM_write_bio_X509(b, P.inter), 1);
            BIO_get_mem_ptr(b, &bm);
            assert_null(tw_aia_parse_crl((const unsigned char *)bm->data, bm->length));
            BIO_free(b);
        }
        X509_CRL_free(c);
        assert_null(tw_aia_parse_crl(empty.der, (size_t)empty.len - 1));
        assert_null(tw_aia_parse_crl((const unsigned char *)"junk", 4));
        /* A CRL not signed by the issuer's key: no usable answer, ok. */
        snprintf(crl_ext, sizeof(crl_ext), "URI:http://127.0.0.1:%u/crl?forged", h.port);
        X509_free(leaf);
        leaf = leaf_valid();
        crl_ext[0] = '\0';
        http_crl = mk_crl(P.inter, rogue_key, X509_get_serialNumber(leaf));
        h.served = 0;
        run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
        assert_int_equal(h.served, 1);
        assert_int_equal(ev.crl_online, TW_OCSP_INVALID);
        assert_string_equal(classify(&ev, "good.test", &r), "ok");
        free_chain(&r);
        OPENSSL_free(http_crl.der);
        /* Signed by the issuer, the leaf not listed: good, ok. */
        http_crl = empty;
        snprintf(crl_ext, sizeof(crl_ext), "URI:http://127.0.0.1:%u/crl?empty", h.port);
        X509_free(leaf);
        leaf = leaf_valid();
        crl_ext[0] = '\0';
        run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
        assert_int_equal(ev.crl_online, TW_OCSP_GOOD);
        assert_string_equal(classify(&ev, "good.test", &r), "ok");
        free_chain(&r);
    }
    /* Without the check (--no-revocation): not fetched. */
    run_revocation = 0;
    h.served = 0;
    run(leaf, P.leaf_key, chain, 1, P.store, "good.test", NULL, &ev, &r);
    assert_int_equal(ev.crl_online, TW_OCSP_NONE);
    assert_int_equal(h.served, 0);
    free_chain(&r);
    http_stop(&h);
    OPENSSL_free(http_crl.der);
    memset(&http_crl, 0, sizeof(http_crl));
    X509_free(leaf);
    EVP_PKEY_free(rogue_key);
}

/* The scan's fetch threads (tw_aia_svc): jobs that want one URL at once
 * are coalesced into one request, and each gets the certificate. */
struct svc_job {
    const char *url;
    X509 *got;
};

static void
svc_job_run(void *arg)
{
    struct svc_job *j = arg;

    j->got = tw_aia_fetch(j->url);
}

static void
test_certinfo_aia_svc_coalesces(void **state)
{
    struct http_srv h;
    struct svc_job jobs[8];
    struct tw_aia_svc *svc = tw_aia_svc_new();
    char url[96];

    (void)state;
    http_start(&h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", h.port);
    for (size_t i = 0; i < 8; i++) {
        jobs[i].url = url;
        jobs[i].got = NULL;
        tw_aia_svc_submit(svc, svc_job_run, &jobs[i]);
    }
    tw_aia_svc_free(svc); /* runs what is queued, then joins */
    for (size_t i = 0; i < 8; i++) {
        assert_non_null(jobs[i].got);
        assert_int_equal(X509_cmp(jobs[i].got, P.inter), 0);
        X509_free(jobs[i].got);
    }
    assert_int_equal(h.served, 1);
    http_stop(&h);
}

static void
test_certinfo_aia_parse(void **state)
{
    unsigned char *der = NULL;
    int len = i2d_X509(P.inter, &der);
    unsigned char junk[] = "not a certificate";
    X509 *x;
    char url[TW_AIA_URL_MAX];

    (void)state;
    x = tw_aia_parse(der, (size_t)len);
    assert_non_null(x);
    X509_free(x);
    /* PEM, with text before the block, as some CAs serve it. */
    {
        BIO *b = BIO_new(BIO_s_mem());
        BUF_MEM *bm;

        assert_true(BIO_puts(b, "Test Intermediate\n") > 0);
        assert_int_equal(PEM_write_bio_X509(b, P.inter), 1);
        BIO_get_mem_ptr(b, &bm);
        x = tw_aia_parse((const unsigned char *)bm->data, bm->length);
        assert_non_null(x);
        assert_int_equal(X509_cmp(x, P.inter), 0);
        X509_free(x);
        BIO_free(b);
    }
    /* DER with trailing bytes is not one certificate: neither DER nor PEM. */
    assert_null(tw_aia_parse(der, (size_t)len - 1));
    assert_null(tw_aia_parse(junk, sizeof(junk)));
    assert_null(tw_aia_parse(NULL, 0));
    OPENSSL_free(der);
    /* Only http URLs are fetched. */
    assert_null(tw_aia_fetch("https://127.0.0.1/x"));
    assert_null(tw_aia_fetch("ftp://127.0.0.1/x"));
    assert_null(tw_aia_fetch("http://127.0.0.1/a b"));
    /* A leaf's URL is read; a CA without one has none. */
    assert_int_equal(tw_aia_issuer_url(P.inter, url), 0);
    {
        X509 *leaf = leaf_valid();

        assert_int_equal(tw_aia_issuer_url(leaf, url), 1);
        assert_string_equal(url, "http://ca.test/int.crt");
        X509_free(leaf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certinfo_valid_chain),
        cmocka_unit_test(test_certinfo_expired),
        cmocka_unit_test(test_certinfo_expired_and_wrong_name),
        cmocka_unit_test(test_certinfo_not_yet_valid),
        cmocka_unit_test(test_certinfo_wrong_name),
        cmocka_unit_test(test_certinfo_cn_only_is_a_mismatch),
        cmocka_unit_test(test_certinfo_ip_checked_without_name),
        cmocka_unit_test(test_certinfo_self_signed),
        cmocka_unit_test(test_certinfo_untrusted_root),
        cmocka_unit_test(test_certinfo_incomplete_chain),
        cmocka_unit_test(test_certinfo_sha1_signed),
        cmocka_unit_test(test_certinfo_rsa1024),
        cmocka_unit_test(test_certinfo_long_chain_bounded),
        cmocka_unit_test(test_certinfo_ocsp),
        cmocka_unit_test(test_certinfo_record_bounds),
        cmocka_unit_test(test_certinfo_load_store),
        cmocka_unit_test(test_certinfo_record_cache),
        cmocka_unit_test(test_certinfo_vcache_identical),
        cmocka_unit_test(test_certinfo_vcache_chain_changes),
        cmocka_unit_test(test_certinfo_vcache_outside_window),
        cmocka_unit_test(test_certinfo_sigcache_same_as_openssl),
        cmocka_unit_test(test_certinfo_aia_completes),
        cmocka_unit_test(test_certinfo_aia_not_completed),
        cmocka_unit_test(test_certinfo_aia_parse),
        cmocka_unit_test(test_certinfo_online_ocsp),
        cmocka_unit_test(test_certinfo_online_crl),
        cmocka_unit_test(test_certinfo_aia_svc_coalesces),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
