/*
 * aia.h - fetch a missing intermediate named in AIA caIssuers (issue 14).
 *
 * When the chain a server sent does not reach a trusted root and the leaf
 * names its issuer's certificate by an http URL in its Authority
 * Information Access extension, browsers fetch that certificate and build
 * the chain with it; and when no OCSP response is stapled, the OCSP
 * responder AIA names can be asked (tw_aia_post), and failing an answer
 * the CRL of the leaf's CRL distribution point fetched (tw_aia_fetch_crl,
 * body up to TW_AIA_CRL_MAX_BYTES).  This module does the exchanges: an
 * HTTP/1.0 GET (or POST) straight
 * to the URL's host (a literal address or a name resolved with the
 * system resolver), no proxy, http only, bounded to TW_AIA_TIMEOUT_MS in
 * all and TW_AIA_MAX_BYTES of response; the body is read as DER or PEM.
 *
 * An exchange blocks the calling thread for at most the bound, so the
 * scanner never runs one on a worker's event loop: each scan has a
 * struct tw_aia_svc, a few fetch threads (started on demand, at most 4)
 * that run the jobs workers submit and share one cache keyed by method,
 * URL and POST body.  A URL is asked once per scan: a thread that wants
 * one another thread is fetching waits for that answer (coalesced), and a
 * failure is remembered too, so one broken URL costs the bound once.
 * Outside a fetch thread (the unit tests) each thread has its own cache.
 *
 * Threading: tw_aia_svc_submit may be called from any thread; the job runs
 * on a fetch thread and must hand its result back itself (the worker posts
 * it to its loop with ev_async).  Ownership: returned certificates are new
 * references; the service is freed after every job it ran has finished
 * (tw_aia_svc_free waits for the running ones).
 */
#ifndef TW_SCANNER_AIA_H
#define TW_SCANNER_AIA_H

#include <stddef.h>

#include <openssl/x509.h>

#define TW_AIA_TIMEOUT_MS 5000
#define TW_AIA_MAX_BYTES 65536
#define TW_AIA_URL_MAX 256
#define TW_AIA_CRL_MAX_BYTES (1024 * 1024) /* a CRL may be longer than a certificate */

/* The first http caIssuers URL of x into url[TW_AIA_URL_MAX].  Returns 1,
 * or 0 when there is none (or it is too long or holds bytes other than
 * printable ASCII). */
int tw_aia_issuer_url(X509 *x, char url[TW_AIA_URL_MAX]);

/* The first http OCSP responder URL of x (AIA id-ad-ocsp), as above. */
int tw_aia_ocsp_url(X509 *x, char url[TW_AIA_URL_MAX]);

/* The first http URI of x's CRL distribution points (a full name, for
 * every reason), as above. */
int tw_aia_crl_url(X509 *x, char url[TW_AIA_URL_MAX]);

/* Fetch the CRL at url (GET, the same bounds but TW_AIA_CRL_MAX_BYTES of
 * body, cached apart from a certificate at the same URL).  Returns a new
 * reference (X509_CRL_free) or NULL; its signature is not checked here. */
X509_CRL *tw_aia_fetch_crl(const char *url);

/* Parse a body as one DER CRL or the first PEM one (for the unit tests). */
X509_CRL *tw_aia_parse_crl(const unsigned char *body, size_t len);

/* POST body[body_len] (Content-Type ctype) to url with the same bounds,
 * cached (see the file comment) by the URL and the body's SHA-256.  Returns the 200
 * response's body (malloc'ed, *len bytes; free) or NULL. */
unsigned char *tw_aia_post(const char *url, const char *ctype, const unsigned char *body,
                           size_t body_len, size_t *len);

/* Fetch the certificate at url (cached, see the file comment).
 * Returns a new reference (X509_free), or NULL when the fetch failed or
 * the body is neither a DER nor a PEM certificate. */
X509 *tw_aia_fetch(const char *url);

/* Parse a response body as one DER certificate or the first PEM one
 * (exposed for the unit tests).  Returns a new reference or NULL. */
X509 *tw_aia_parse(const unsigned char *body, size_t len);

/* The scan's fetch service (see the file comment). */
struct tw_aia_svc;
typedef void tw_aia_job_fn(void *arg);

/* A service with no thread yet.  Never fails (aborts on OOM). */
struct tw_aia_svc *tw_aia_svc_new(void);

/* Run run(arg) on one of svc's threads (a new one while none is idle, up to
 * 4); inside it, tw_aia_fetch and tw_aia_post use the scan's shared cache.
 * When no thread can be started at all, run(arg) runs here. */
void tw_aia_svc_submit(struct tw_aia_svc *svc, tw_aia_job_fn *run, void *arg);

/* Run what is queued, wait for it, join the threads and free svc (NULL: no-op). */
void tw_aia_svc_free(struct tw_aia_svc *svc);

#endif /* TW_SCANNER_AIA_H */
