/*
 * benchpki.h - the bench fleet's certificates, built in memory at start.
 *
 * Two hierarchies, one per key type: root -> intermediate -> leaf, all
 * ECDSA P-256 or all RSA-2048.  The server sends leaf + intermediate, the
 * client trusts both roots (one PEM bundle): the same work a real chain
 * costs a verifying client.  fleet.c and inmem.c use the same code, so the
 * in-memory limit and the fleet scan do the same handshakes.
 *
 * Variants: a (TLS version, key type) pair.  Each has a server SSL_CTX with
 * no session cache and no tickets, so every handshake is a full one.
 */
#ifndef TW_BENCH_BENCHPKI_H
#define TW_BENCH_BENCHPKI_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

enum bench_key { BENCH_KEY_EC = 0, BENCH_KEY_RSA = 1, BENCH_KEY__COUNT };

enum bench_variant {
    BENCH_V13_EC = 0, /* TLS 1.3, ECDSA P-256 */
    BENCH_V13_RSA,    /* TLS 1.3, RSA-2048 */
    BENCH_V12_EC,     /* TLS 1.2, ECDSA P-256 */
    BENCH_V12_RSA,    /* TLS 1.2, RSA-2048 */
    BENCH_V__COUNT
};

struct bench_hier {
    EVP_PKEY *root_key, *int_key, *leaf_key;
    X509 *root, *inter, *leaf;
};

struct bench_pki {
    struct bench_hier h[BENCH_KEY__COUNT];
};

/* "tls13-ec", "tls13-rsa", "tls12-ec", "tls12-rsa". */
const char *bench_variant_name(enum bench_variant v);
/* Returns 0 and *out, or -1 for an unknown name. */
int bench_variant_parse(const char *s, enum bench_variant *out);

/* Build both hierarchies.  Returns 0, or -1 with a message on stderr. */
int bench_pki_init(struct bench_pki *p);
void bench_pki_cleanup(struct bench_pki *p);
/* Another leaf of hierarchy k: the same key, name and issuer as h[k].leaf,
 * its own serial (so its own DER).  The caller frees it; NULL on error. */
X509 *bench_pki_leaf(const struct bench_pki *p, enum bench_key k, long serial);
/* Write both roots (the client's trust store) as one PEM bundle. */
int bench_pki_write_ca(const struct bench_pki *p, const char *path);
/* A trust store holding both roots. */
X509_STORE *bench_pki_store(const struct bench_pki *p);
/* The server context of one variant (NULL on error, message on stderr). */
SSL_CTX *bench_pki_server_ctx(const struct bench_pki *p, enum bench_variant v);

#endif /* TW_BENCH_BENCHPKI_H */
