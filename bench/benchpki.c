/*
 * benchpki.c - in-memory PKI and server contexts for the bench (see
 * benchpki.h).  Keys are generated at every start; nothing is written but
 * the public roots.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "bench/benchpki.h"

#define BENCH_DAY (24L * 3600L)

static const char *const variant_names[BENCH_V__COUNT] = {"tls13-ec", "tls13-rsa", "tls12-ec",
                                                          "tls12-rsa"};

const char *
bench_variant_name(enum bench_variant v)
{
    return (unsigned)v < BENCH_V__COUNT ? variant_names[v] : "?";
}

int
bench_variant_parse(const char *s, enum bench_variant *out)
{
    for (int i = 0; i < BENCH_V__COUNT; i++) {
        if (strcmp(s, variant_names[i]) == 0) {
            *out = (enum bench_variant)i;
            return 0;
        }
    }
    return -1;
}

static void
pki_err(const char *what)
{
    char buf[256] = "unknown error";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "benchpki: %s: %s\n", what, buf);
    ERR_clear_error();
}

static EVP_PKEY *
pki_key(enum bench_key k)
{
    return k == BENCH_KEY_EC ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
}

static int
pki_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* One certificate: subject CN=cn, signed by issuer (self when NULL). */
static X509 *
pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int is_ca, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name = NULL;
    X509 *ret = NULL;

    if (x == NULL || X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1)
        goto out;
    name = X509_NAME_new();
    if (name == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tlsweep bench",
                                   -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto out;
    if (X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1)
        goto out;
    if (X509_gmtime_adj(X509_getm_notBefore(x), -BENCH_DAY) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 365 * BENCH_DAY) == NULL ||
        X509_set_pubkey(x, key) != 1)
        goto out;
    if (is_ca) {
        if (pki_ext(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            pki_ext(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0)
            goto out;
    } else if (pki_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
               pki_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
               pki_ext(x, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
               pki_ext(x, issuer, NID_subject_alt_name,
                       "DNS:*.fleet.test,DNS:fleet.test,IP:127.0.0.1") < 0) {
        goto out;
    }
    if (pki_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash") < 0)
        goto out;
    if (issuer != NULL && pki_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0)
        goto out;
    if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
        goto out;
    ret = x;
    x = NULL;
out:
    X509_NAME_free(name);
    X509_free(x);
    return ret;
}

int
bench_pki_init(struct bench_pki *p)
{
    static const char *const tag[BENCH_KEY__COUNT] = {"ECDSA", "RSA"};
    char cn[64];

    memset(p, 0, sizeof(*p));
    for (int k = 0; k < BENCH_KEY__COUNT; k++) {
        struct bench_hier *h = &p->h[k];

        h->root_key = pki_key((enum bench_key)k);
        h->int_key = pki_key((enum bench_key)k);
        h->leaf_key = pki_key((enum bench_key)k);
        if (h->root_key == NULL || h->int_key == NULL || h->leaf_key == NULL) {
            pki_err("key generation");
            return -1;
        }
        snprintf(cn, sizeof(cn), "tlsweep bench %s root", tag[k]);
        h->root = pki_cert(cn, h->root_key, NULL, NULL, 1, 1);
        snprintf(cn, sizeof(cn), "tlsweep bench %s intermediate", tag[k]);
        h->inter = h->root ? pki_cert(cn, h->int_key, h->root, h->root_key, 1, 2) : NULL;
        h->leaf = h->inter ? pki_cert("fleet.test", h->leaf_key, h->inter, h->int_key, 0, 3) : NULL;
        if (h->leaf == NULL) {
            pki_err("certificate");
            return -1;
        }
    }
    return 0;
}

X509 *
bench_pki_leaf(const struct bench_pki *p, enum bench_key k, long serial)
{
    const struct bench_hier *h = &p->h[k];
    X509 *x = pki_cert("fleet.test", h->leaf_key, h->inter, h->int_key, 0, serial);

    if (x == NULL)
        pki_err("leaf");
    return x;
}

void
bench_pki_cleanup(struct bench_pki *p)
{
    for (int k = 0; k < BENCH_KEY__COUNT; k++) {
        struct bench_hier *h = &p->h[k];

        X509_free(h->root);
        X509_free(h->inter);
        X509_free(h->leaf);
        EVP_PKEY_free(h->root_key);
        EVP_PKEY_free(h->int_key);
        EVP_PKEY_free(h->leaf_key);
    }
    memset(p, 0, sizeof(*p));
}

int
bench_pki_write_ca(const struct bench_pki *p, const char *path)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (int k = 0; k < BENCH_KEY__COUNT; k++)
        if (PEM_write_X509(f, p->h[k].root) != 1)
            rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "benchpki: cannot write %s\n", path);
    return rc;
}

X509_STORE *
bench_pki_store(const struct bench_pki *p)
{
    X509_STORE *st = X509_STORE_new();

    for (int k = 0; st != NULL && k < BENCH_KEY__COUNT; k++) {
        if (X509_STORE_add_cert(st, p->h[k].root) != 1) {
            X509_STORE_free(st);
            return NULL;
        }
    }
    return st;
}

SSL_CTX *
bench_pki_server_ctx(const struct bench_pki *p, enum bench_variant v)
{
    const struct bench_hier *h =
        &p->h[v == BENCH_V13_EC || v == BENCH_V12_EC ? BENCH_KEY_EC : BENCH_KEY_RSA];
    int ver = v == BENCH_V13_EC || v == BENCH_V13_RSA ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL)
        goto fail;
    if (SSL_CTX_set_min_proto_version(ctx, ver) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, ver) != 1 ||
        SSL_CTX_use_certificate(ctx, h->leaf) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, h->leaf_key) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_add1_chain_cert(ctx, h->inter) != 1)
        goto fail;
    /* Every handshake is a full one: no cache, no tickets. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
fail:
    pki_err(bench_variant_name(v));
    SSL_CTX_free(ctx);
    return NULL;
}
