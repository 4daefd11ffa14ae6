/*
 * tlsctx.c - SSL_CTX construction per probe setting (see tlsctx.h).
 *
 * Three contexts suffice (broad, all, modern): the protocol range is per SSL (the version probes
 * narrow it with SSL_set_min/max_proto_version), so only the cipher list
 * needs a context of its own.  What each probe kind takes from them (the
 * context, the version range, status_request) is its row in probekind.c.
 *
 * Performance settings (measured in bench/RESULTS.md): read-ahead, so that
 * a record's header and body come in one read(2) (13 reads per handshake
 * become 2; the socket BIO's callback in conn.c still sees every byte in
 * order, so the first-bytes capture and the byte budget are unchanged);
 * SSL_MODE_RELEASE_BUFFERS, so that a connection waiting for its peer holds
 * no record buffers.  A library context per worker (tlsctx.h): at -j 2 the
 * shared context's read locks took 11 % of the samples against 6 % at -j 1.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>

#include "scanner/probekind.h"
#include "scanner/tlsctx.h"
#include "tls/clients.h"
#include "base/log.h"

/* Every TLS 1.3 suite OpenSSL 3 implements, for the ALL_CIPHERS probe. */
#define TW_TLS13_ALL                                                                               \
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"                  \
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"

/*
 * The handshake's chain check.  With SSL_VERIFY_NONE OpenSSL 3.0 still runs
 * X509_verify_cert on the sent chain against the context's (empty) store
 * and then ignores the result; certinfo verifies the chain itself after the
 * handshake (through the verification cache).  This callback replaces only
 * that chain check: the server's CertificateVerify (TLS 1.3) and
 * ServerKeyExchange (TLS 1.2) signatures are checked by the state machine
 * on every handshake, with the leaf's key, as before.
 */
static int
tlsctx_skip_chain_check(X509_STORE_CTX *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 1;
}

/* Load into the worker's context every provider the default context has
 * loaded (the distribution's openssl.cnf may add some: the same algorithms
 * either way). */
static int
tlsctx_copy_provider(OSSL_PROVIDER *prov, void *arg)
{
    struct tw_tlsctx *t = arg;
    OSSL_PROVIDER *mine;

    if (t->n_prov >= TW_TLSCTX_PROVIDERS_MAX)
        return 0;
    mine = OSSL_PROVIDER_load(t->libctx, OSSL_PROVIDER_get0_name(prov));
    if (mine == NULL)
        return 0;
    t->prov[t->n_prov++] = mine; /* our reference, dropped in tw_tlsctx_cleanup */
    return 1;
}

static SSL_CTX *
tlsctx_build(OSSL_LIB_CTX *libctx, const char *ciphers, const char *suites13, char *err)
{
    SSL_CTX *ctx = NULL;
    SSL_CTX *ret = NULL;
    char buf[256];

    ERR_clear_error();
    ctx = SSL_CTX_new_ex(libctx, NULL, TLS_client_method());
    if (ctx == NULL)
        goto fail;
    /* The distribution's openssl.cnf may raise the floor to TLS 1.2 and
     * SECLEVEL 2; a scanner has to see what old servers offer. */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        goto fail;
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        goto fail;
    if (suites13 != NULL && SSL_CTX_set_ciphersuites(ctx, suites13) != 1)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, tlsctx_skip_chain_check, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* No tickets (nothing is resumed), talk to servers that lack RFC 5746,
     * and keep SSL_OP_IGNORE_UNEXPECTED_EOF off so that an EOF in the middle
     * of a handshake stays visible as an error. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_clear_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Buffers are freed while idle: most of a connection's life is waiting. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    ret = ctx;
    ctx = NULL;
    goto out;
fail:
    ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
    tw_errf(err, "cannot build a TLS context (%s): %s", ciphers, buf);
out:
    SSL_CTX_free(ctx);
    return ret;
}

int
tw_tlsctx_init(struct tw_tlsctx *t, char *err)
{
    int rc = -1;

    memset(t, 0, sizeof(*t));
    t->libctx = OSSL_LIB_CTX_new();
    if (t->libctx == NULL || OSSL_PROVIDER_do_all(NULL, tlsctx_copy_provider, t) != 1) {
        tw_errf(err, "cannot make a TLS library context");
        goto out;
    }
    t->broad = tlsctx_build(t->libctx, "DEFAULT:@SECLEVEL=0", NULL, err);
    if (t->broad == NULL)
        goto out;
    t->all = tlsctx_build(t->libctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0", TW_TLS13_ALL, err);
    if (t->all == NULL)
        goto out;
    /* Security level 0 like the others: the probe asks about suites only,
     * the key and the chain are judged apart. */
    t->modern = tlsctx_build(t->libctx, TW_CLIENTS_MODERN_OPENSSL_TLS12 ":@SECLEVEL=0",
                             TW_CLIENTS_MODERN_OPENSSL_TLS13, err);
    if (t->modern == NULL)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        tw_tlsctx_cleanup(t);
    return rc;
}

void
tw_tlsctx_cleanup(struct tw_tlsctx *t)
{
    SSL_CTX_free(t->broad);
    SSL_CTX_free(t->all);
    SSL_CTX_free(t->modern);
    t->broad = NULL;
    t->all = NULL;
    t->modern = NULL;
    for (int i = 0; i < t->n_prov; i++)
        OSSL_PROVIDER_unload(t->prov[i]);
    t->n_prov = 0;
    OSSL_LIB_CTX_free(t->libctx);
    t->libctx = NULL;
}

SSL *
tw_tlsctx_ssl_new(const struct tw_tlsctx *t, enum tw_probe_kind kind, const char *sni)
{
    const struct tw_probe_kind_info *pk = tw_probe_kind_info(kind);
    SSL *ssl = NULL;
    SSL *ret = NULL;

    ERR_clear_error();
    if (pk == NULL)
        goto out;
    ssl = SSL_new(pk->ctx == TW_PK_CTX_ALL      ? t->all
                  : pk->ctx == TW_PK_CTX_MODERN ? t->modern
                                                : t->broad);
    if (ssl == NULL)
        goto out;
    if (pk->min_version != 0 && SSL_set_min_proto_version(ssl, pk->min_version) != 1)
        goto out;
    if (pk->max_version != 0 && SSL_set_max_proto_version(ssl, pk->max_version) != 1)
        goto out;
    if (sni != NULL && sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, sni) != 1)
        goto out;
    if (pk->status_request && SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp) != 1)
        goto out;
    ret = ssl;
    ssl = NULL;
out:
    SSL_free(ssl);
    return ret;
}
