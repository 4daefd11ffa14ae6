/*
 * aia.h - fetch a missing intermediate named in AIA caIssuers (issue 14).
 *
 * When the chain a server sent does not reach a trusted root and the leaf
 * names its issuer's certificate by an http URL in its Authority
 * Information Access extension, browsers fetch that certificate and build
 * the chain with it; and when no OCSP response is stapled, the OCSP
 * responder AIA names can be asked (tw_aia_post).  This module does the
 * exchanges: an HTTP/1.0 GET straight
 * to the URL's host (a literal address or a name resolved with the
 * system resolver), no proxy, http only, bounded to TW_AIA_TIMEOUT_MS in
 * all and TW_AIA_MAX_BYTES of response; the body is read as DER or PEM.
 *
 * An exchange blocks the calling thread for at most the bound.  Every URL
 * (and POST body) is asked once per thread: a small thread-local cache
 * keyed by them keeps the answer (or the failure), so one broken URL costs a worker
 * the bound once per scan, not once per endpoint.
 *
 * Threading: each thread has its own cache (thread-local, freed when the
 * thread ends).  Ownership: returned certificates are new references.
 */
#ifndef TW_SCANNER_AIA_H
#define TW_SCANNER_AIA_H

#include <stddef.h>

#include <openssl/x509.h>

#define TW_AIA_TIMEOUT_MS 5000
#define TW_AIA_MAX_BYTES 65536
#define TW_AIA_URL_MAX 256

/* The first http caIssuers URL of x into url[TW_AIA_URL_MAX].  Returns 1,
 * or 0 when there is none (or it is too long or holds bytes other than
 * printable ASCII). */
int tw_aia_issuer_url(X509 *x, char url[TW_AIA_URL_MAX]);

/* The first http OCSP responder URL of x (AIA id-ad-ocsp), as above. */
int tw_aia_ocsp_url(X509 *x, char url[TW_AIA_URL_MAX]);

/* POST body[body_len] (Content-Type ctype) to url with the same bounds,
 * cached per thread by the URL and the body's SHA-256.  Returns the 200
 * response's body (malloc'ed, *len bytes; free) or NULL. */
unsigned char *tw_aia_post(const char *url, const char *ctype, const unsigned char *body,
                           size_t body_len, size_t *len);

/* Fetch the certificate at url (cached per thread, see the file comment).
 * Returns a new reference (X509_free), or NULL when the fetch failed or
 * the body is neither a DER nor a PEM certificate. */
X509 *tw_aia_fetch(const char *url);

/* Parse a response body as one DER certificate or the first PEM one
 * (exposed for the unit tests).  Returns a new reference or NULL. */
X509 *tw_aia_parse(const unsigned char *body, size_t len);

#endif /* TW_SCANNER_AIA_H */
