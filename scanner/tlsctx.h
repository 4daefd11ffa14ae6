/*
 * tlsctx.h - the SSL_CTXs of one worker, one per distinct probe setting.
 *
 * Built once per worker (on the main thread, before the worker starts) and
 * then used only by that worker's thread.  Verification is off during the
 * handshake (SSL_VERIFY_NONE): certinfo verifies the chain afterwards, so a
 * bad certificate never hides the protocol and cipher.  The contexts accept
 * everything this OpenSSL can still speak (TLS 1.0-1.3, @SECLEVEL=0, legacy
 * servers without secure renegotiation) so that old servers are classified,
 * not just failed; the third context offers only what modern clients offer
 * (tls/clients.h), for the client policy's one extra probe.  No session
 * cache, no tickets: every probe is a fresh full handshake.  No client
 * certificate is ever sent (conn.c records a server's request for one).
 *
 * Each worker's contexts live in a library context of their own (libctx,
 * with the providers the default context has), so that the algorithm and
 * decoder lookups OpenSSL 3.0 makes on every handshake (a certificate's
 * public key alone takes dozens of read locks on the decoder and name
 * tables) use locks and tables no other worker touches: with one shared
 * context the two workers of -j 2 bounced those lock words between the
 * cores (bench/RESULTS.md, issue 18).  Objects made from these SSLs (the
 * peer's certificates) belong to it; it outlives them (freed last).
 */
#ifndef TW_SCANNER_TLSCTX_H
#define TW_SCANNER_TLSCTX_H

#include <openssl/provider.h>
#include <openssl/ssl.h>

#include "scanner/evidence.h"

#define TW_TLSCTX_PROVIDERS_MAX 8 /* providers copied from the default context */

struct tw_tlsctx {
    OSSL_LIB_CTX *libctx;                         /* this worker's; NULL = the default context */
    OSSL_PROVIDER *prov[TW_TLSCTX_PROVIDERS_MAX]; /* loaded into libctx (unloaded at cleanup) */
    int n_prov;
    SSL_CTX *broad;  /* "DEFAULT:@SECLEVEL=0": MAIN, SNI and version probes */
    SSL_CTX *all;    /* "ALL:COMPLEMENTOFALL:@SECLEVEL=0": ALL_CIPHERS */
    SSL_CTX *modern; /* the modern clients' suites (tls/clients.h): MODERN */
};

/* Build the contexts.  Returns 0, or -1 with err (t is then cleaned up). */
int tw_tlsctx_init(struct tw_tlsctx *t, char *err);
/* Free the contexts; safe on a zeroed or already cleaned struct. */
void tw_tlsctx_cleanup(struct tw_tlsctx *t);

/*
 * A new SSL for one probe of the given kind, as its row of probekind.h
 * says: the kind's context, its protocol range, status_request, and sni as
 * the server name (NULL or "" = send none).  Returns the SSL (the caller
 * frees it with SSL_free) or NULL when OpenSSL cannot make one.
 */
SSL *tw_tlsctx_ssl_new(const struct tw_tlsctx *t, enum tw_probe_kind kind, const char *sni);

#endif /* TW_SCANNER_TLSCTX_H */
