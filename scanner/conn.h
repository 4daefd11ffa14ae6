/*
 * conn.h - one TCP+TLS attempt (probe) against one address.
 *
 * A conn is the per-connection state machine of STYLE G8:
 *   WAIT_CONNECT   ev_io(EV_WRITE) + connect timer  -> SO_ERROR, SSL_new
 *   WAIT_STARTTLS  ev_io(dir) + handshake timer     -> (STARTTLS probes only) the
 *                  plaintext dialogue of scanner/starttls.h until READY / a verdict
 *   WAIT_HANDSHAKE ev_io(dir) + handshake timer     -> SSL_connect until 1 / error
 *   DONE           report once through done_cb, free SSL, close, recycle.
 * Its ev_io and ev_timer are embedded (no second allocation).  It fills the
 * caller's struct tw_probe_result as it goes: errno, alerts received vs
 * sent, bytes received and the first 8 of them, OpenSSL's reason string,
 * and for a STARTTLS probe where its plaintext phase ended (starttls_*).
 * The plaintext phase has its own handshake deadline; the TLS handshake
 * after it gets a fresh one, and bytes_in / first_bytes then count the TLS
 * phase alone (the plaintext bytes are in starttls_bytes_in).
 *
 * Threading: a conn lives on the worker thread whose loop and pool created
 * it and is touched only there.  Ownership: it owns its socket and SSL; it
 * borrows the params' strings, context and result, which must outlive it.
 * done_cb is called exactly once, never from inside tw_conn_start(), with
 * the SSL when the handshake completed (valid only during the callback) or
 * NULL; the conn is recycled right after done_cb returns.
 */
#ifndef TW_SCANNER_CONN_H
#define TW_SCANNER_CONN_H

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "scanner/evidence.h"
#include "scanner/tlsctx.h"

struct ev_loop;
struct tw_conn;
struct tw_conn_pool;

typedef void tw_conn_done_cb(void *arg, SSL *ssl);

struct tw_conn_params {
    const struct sockaddr *sa; /* the address to connect to (copied) */
    socklen_t salen;
    const struct tw_tlsctx *tls; /* borrowed */
    enum tw_probe_kind kind;
    const char *sni;        /* server name to send, NULL = none (copied by OpenSSL) */
    double connect_timeout; /* seconds */
    double handshake_timeout;
    int starttls;                /* enum tw_starttls_proto (store/model.h); 0 = direct TLS */
    const char *starttls_host;   /* XMPP stream domain (SNI, else the target host); may be NULL */
    struct tw_probe_result *out; /* OUT: reset and filled; borrowed until done */
    tw_conn_done_cb *done_cb;
    void *arg;
};

/* A per-worker pool: the loop the conns run on and a bounded free list. */
struct tw_conn_pool *tw_conn_pool_new(struct ev_loop *loop);
/* Free the pool and its free list (every conn must be done or aborted). */
void tw_conn_pool_free(struct tw_conn_pool *p);

/*
 * Start one probe.  Returns 0 with *out set, or -errno when no socket could
 * be made (EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL: our resources, not the
 * peer's); then done_cb is never called and the caller may retry later.
 */
int tw_conn_start(struct tw_conn_pool *p, const struct tw_conn_params *params,
                  struct tw_conn **out);

/* Stop a conn that has not reported yet, without calling done_cb (scan
 * interrupted).  Its result is left as it was. */
void tw_conn_abort(struct tw_conn *c);

/* Bytes of one struct tw_conn, for the memory budget (README, tests). */
size_t tw_conn_size(void);

#endif /* TW_SCANNER_CONN_H */
