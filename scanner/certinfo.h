/*
 * certinfo.h - the certificate side of one endpoint, after the handshake.
 *
 * The engine's SSL_CTX verifies nothing during the handshake
 * (SSL_VERIFY_NONE), so a bad certificate never aborts it.  Once a probe's
 * handshake completes, tw_certinfo_collect() takes the chain the server
 * sent, verifies it against the trust store itself with a callback that
 * records every error at every depth, checks the name and the stapled OCSP
 * response, and copies the certificates into bounded tw_cert records.
 *
 * Pure with respect to the network (no sockets, no clock: time comes in as
 * `now`), except the online checks (tw_certinfo_complete_aia*,
 * tw_certinfo_check_revocation*), which fetch through aia.h and block for
 * up to its bound: the worker runs their _chain forms on the scan's fetch
 * threads (tw_aia_svc), never on its event loop.  The SSL forms are called
 * on the thread that owns the SSL.
 */
#ifndef TW_SCANNER_CERTINFO_H
#define TW_SCANNER_CERTINFO_H

#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scanner/evidence.h"
#include "store/model.h"

/* Load the trust store once per worker: ca_file (PEM bundle) or, when NULL,
 * the system default paths.  Returns the store (caller frees with
 * X509_STORE_free) or NULL with err. */
X509_STORE *tw_certinfo_load_store(const char *ca_file, char *err);

/*
 * Examine the chain the server sent on ssl (after a completed handshake).
 *   store     the trust store (borrowed)
 *   name      the name to check (the SNI sent, else the target's host name);
 *             NULL or "" when none
 *   ip        the address text to check when name is NULL/empty (IP SAN); may be NULL
 *   now       the time to judge validity at (unix seconds)
 *   ev        OUT: filled (every field of struct tw_cert_evidence)
 *   r         OUT: r->chain / r->n_chain replaced with the sent chain (leaf
 *             first, at most TW_CHAIN_MAX, each field bounded)
 * Returns 0, or -1 when the server sent no certificate (ev->has_chain = 0).
 */
int tw_certinfo_collect(SSL *ssl, X509_STORE *store, const char *name, const char *ip, int64_t now,
                        struct tw_cert_evidence *ev, struct tw_result *r);

/*
 * AIA chain completion (issue 14), after tw_certinfo_collect on the same
 * ssl: when the verifier found no issuer for a certificate sent and the
 * leaf (or else the last certificate sent) names one by an http caIssuers
 * URL, fetch it (tw_aia_fetch: blocks this thread for at most
 * TW_AIA_TIMEOUT_MS, once per URL per scan) and verify again with it as
 * one more untrusted certificate.  When that reaches a trusted root,
 * ev->aia_completed and ev->aia_url are set and the fetched certificate is
 * appended to r->chain with via_aia set (while r->n_chain < TW_CHAIN_MAX).
 * ev->verify keeps the errors of the chain as sent: the class stays
 * incomplete_chain.  Returns 1 when completed, else 0.
 */
int tw_certinfo_complete_aia(SSL *ssl, X509_STORE *store, int64_t now, struct tw_cert_evidence *ev,
                             struct tw_result *r);

/*
 * Online revocation (issue 14), after tw_certinfo_collect (and
 * tw_certinfo_complete_aia) on the same ssl: when no OCSP response was
 * stapled and the leaf names an http OCSP responder in AIA, ask it (an
 * OCSP request for the leaf, POSTed through tw_aia_post: the same bounds
 * and cache) and judge the answer as a stapled one is judged.
 * Sets ev->ocsp_url and ev->ocsp_online (TW_OCSP_NONE when not asked,
 * TW_OCSP_INVALID when no usable answer came).  When that gave no answer
 * (no responder named, or none usable), the leaf's http CRL distribution
 * point is fetched (tw_aia_fetch_crl, 1 MiB), its issuer name and
 * signature checked against the leaf's issuer and the leaf's serial
 * looked up: ev->crl_url, ev->crl_online (REVOKED, GOOD, or INVALID when
 * no usable CRL came).  Returns 1 when either says revoked, else 0.
 */
int tw_certinfo_check_revocation(SSL *ssl, X509_STORE *store, int64_t now,
                                 struct tw_cert_evidence *ev);

/* The same two on the chain sent (SSL_get_peer_cert_chain; borrowed):
 * what a fetch thread runs once the SSL is gone. */
int tw_certinfo_complete_aia_chain(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                                   struct tw_cert_evidence *ev, struct tw_result *r);
int tw_certinfo_check_revocation_chain(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                                       struct tw_cert_evidence *ev);

/* 1 when the online checks would fetch anything for this chain (aia: a
 * caIssuers URL for a missing issuer; revocation: nothing stapled and an
 * OCSP URL), so that the worker parks only endpoints that need them. */
int tw_certinfo_online_wanted(STACK_OF(X509) * sent, const struct tw_cert_evidence *ev, int aia,
                              int revocation);

/* Fill one bounded record from a certificate (used by collect and tests).
 * A small per-thread cache of the last records made (by fingerprint) lets a
 * certificate seen again (a shared intermediate, one leaf on many
 * addresses) be copied instead of re-encoded: the record is the same. */
void tw_certinfo_record(X509 *x, struct tw_cert *out);

#endif /* TW_SCANNER_CERTINFO_H */
