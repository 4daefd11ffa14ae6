/*
 * conn.h - one connection to one address: the single connection state
 * machine of the scanner, used by the classification probes (worker.c)
 * and by the grading connections (grader.c).
 *
 * A conn is the per-connection state machine of STYLE G8:
 *   WAIT_CONNECT   ev_io(EV_WRITE) + connect timer  -> SO_ERROR
 *   WAIT_STARTTLS  ev_io(dir) + handshake timer     -> (STARTTLS only) the
 *                  plaintext dialogue of scanner/starttls.h until READY / a verdict
 *   then, by params.mode:
 *   TW_CONN_TLS       WAIT_HANDSHAKE: SSL_new, SSL_connect until 1 / error
 *   TW_CONN_TLS_HTTP  WAIT_HANDSHAKE, then WAIT_SEND (SSL_write the request)
 *                     and WAIT_RECV (SSL_read until the exchange's complete()
 *                     says so, ex->max bytes, EOF or an error), all under the
 *                     handshake's one deadline
 *   TW_CONN_RAW       WAIT_SEND (the request's bytes as they are, a hand-built
 *                     ClientHello) and WAIT_RECV (read until complete(),
 *                     ex->max bytes, EOF, reset), under a fresh deadline
 *   WAIT_POSTHS    TW_CONN_TLS after a TLS 1.3 handshake in which the server
 *                  sent a CertificateRequest: read until its first bytes, for
 *                  1 s or twice the handshake's time, whichever is longer
 *                  (never past the handshake deadline), to
 *                  catch the alert (certificate_required) that a server which
 *                  requires a certificate sends after the client's Finished;
 *                  the result's post_hs says what came (issue 13)
 *   DONE           report once through done_cb, free SSL, close, recycle.
 * Its ev_io and ev_timer are embedded (no second allocation).  It fills the
 * caller's struct tw_probe_result as it goes: errno, alerts received vs
 * sent, bytes received and the first 8 of them, OpenSSL's reason string,
 * and for a STARTTLS probe where its plaintext phase ended (starttls_*).
 * The plaintext phase has its own handshake deadline; the TLS handshake or
 * the raw exchange after it gets a fresh one, and bytes_in / first_bytes
 * then count that phase alone (the plaintext bytes are in
 * starttls_bytes_in).  Every read of a TLS conn is bounded by
 * TW_CONN_HANDSHAKE_BYTES_MAX in all (handshake and HTTP response) and by
 * the deadline, checked inside OpenSSL's reads.
 *
 * The outcome of a TW_CONN_RAW conn is how its read ended: TW_PROBE_OK
 * when complete() said so or ex->max bytes came, else EOF, RESET (also a
 * failed send), TIMEOUT, or the connect failure.  A TW_CONN_TLS_HTTP
 * conn's outcome is its handshake's; ex->reading says whether the request
 * went out (the response, possibly empty, is then in ex->buf).
 *
 * Threading: a conn lives on the worker thread whose loop and pool created
 * it and is touched only there.  Ownership: it owns its socket and SSL; it
 * borrows the params' strings, context, result and exchange, which must
 * outlive it; it grows ex->buf, which the caller frees.  done_cb is called
 * exactly once, never from inside tw_conn_start(), with the SSL when the
 * handshake completed or failed after a CertificateRequest (out->
 * cert_requested: the server's Certificate came first, so its chain can be
 * read) (valid only during the callback), or NULL; the conn is
 * recycled right after done_cb returns (done_cb may start new conns and
 * free the exchange, not the pool).
 */
#ifndef TW_SCANNER_CONN_H
#define TW_SCANNER_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "scanner/evidence.h"
#include "scanner/tlsctx.h"

struct ev_loop;
struct tw_conn;
struct tw_conn_pool;

typedef void tw_conn_done_cb(void *arg, SSL *ssl);

/* What a conn does once connected and past the optional STARTTLS dialogue. */
enum tw_conn_mode {
    TW_CONN_TLS = 0,  /* the OpenSSL handshake (the classification probes) */
    TW_CONN_TLS_HTTP, /* the handshake, then write ex->req and read the response */
    TW_CONN_RAW,      /* write ex->req as it is and read the answer (no OpenSSL) */
};

/* Is the answer in buf[0, len) complete?  0: read on; else stop reading. */
typedef int tw_conn_complete_fn(const uint8_t *buf, size_t len);

/* The request/response of a TW_CONN_TLS_HTTP or TW_CONN_RAW conn. */
struct tw_conn_exchange {
    const uint8_t *req; /* the bytes to write (borrowed until done) */
    size_t req_len;
    size_t max;                    /* read at most this many bytes */
    tw_conn_complete_fn *complete; /* NULL: read until max, EOF or the deadline */
    /* IN/OUT: the caller's buffer, grown by the conn (tw_xrealloc) up to max
     * bytes plus a NUL after them; the caller frees it. */
    uint8_t *buf;
    size_t cap;
    size_t len;  /* OUT: bytes read (reset by tw_conn_start) */
    int reading; /* OUT: 1 once the request was written and reading began */
};

/* A TW_CONN_TLS_HTTP conn that renegotiates (issue 14, the insecure
 * renegotiation probe): the handshake is capped at max_version, accepts a
 * server without RFC 5746 and allows unsafe legacy renegotiation; once it
 * completes, SSL_renegotiate() is called and the request's SSL_write sends
 * the new ClientHello.  The OUT fields come from a message callback. */
struct tw_conn_reneg {
    int max_version;   /* IN: OpenSSL constant (TLS1_2_VERSION ...) */
    int started;       /* OUT: the first handshake completed, the renegotiation began */
    int server_hellos; /* OUT: ServerHello messages received (2: the new hello was answered) */
    int alert;         /* OUT: the description of the last alert received, -1 none */
};

struct tw_conn_params {
    const struct sockaddr *sa; /* the address to connect to (copied) */
    socklen_t salen;
    const struct tw_tlsctx *tls; /* borrowed */
    enum tw_conn_mode mode;
    struct tw_conn_exchange *ex; /* TW_CONN_TLS_HTTP, TW_CONN_RAW: borrowed until done */
    enum tw_probe_kind kind;     /* the TLS settings (probekind.h); not used by RAW */
    const char *sni;             /* server name to send, NULL = none (copied by OpenSSL) */
    double connect_timeout;      /* seconds */
    double handshake_timeout;
    int starttls;                /* enum tw_starttls_proto (store/model.h); 0 = direct TLS */
    const char *starttls_host;   /* XMPP stream domain (SNI, else the target host); may be NULL */
    struct tw_probe_result *out; /* OUT: reset and filled; borrowed until done */
    /* OUT, optional: when the server sends a CertificateRequest, *ca_names is
     * freed and replaced by its CA names as one bounded, escaped line
     * (TW_CA_NAMES_MAX, store/model.h; NULL when it lists none).  The
     * caller owns and frees it. */
    char **ca_names;
    struct tw_conn_reneg *reneg; /* optional, TW_CONN_TLS_HTTP only: borrowed until done */
    tw_conn_done_cb *done_cb;
    void *arg;
};

/* A per-worker pool: the loop the conns run on and a bounded free list. */
struct tw_conn_pool *tw_conn_pool_new(struct ev_loop *loop);
/* Free the pool and its free list (every conn must be done or aborted). */
void tw_conn_pool_free(struct tw_conn_pool *p);

/* Bytes a server may send on one TLS conn (handshake and response).  OpenSSL
 * already refuses a certificate list over 100 KiB and any single message
 * over its limits, so a real handshake is far below this; a server that
 * streams records OpenSSL skips (HelloRequest, empty records) is cut here
 * instead of holding the worker inside one SSL_connect() or SSL_read(). */
#define TW_CONN_HANDSHAKE_BYTES_MAX (1024u * 1024u)

/*
 * Start one conn.  Returns 0 with *out set, or -errno when no socket could
 * be made (EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL: our resources, not the
 * peer's); then done_cb is never called and the caller may retry later.
 * -EINVAL: an exchange mode without params->ex.
 */
int tw_conn_start(struct tw_conn_pool *p, const struct tw_conn_params *params,
                  struct tw_conn **out);

/* Stop a conn that has not reported yet, without calling done_cb (scan
 * interrupted, grader freed).  Its result is left as it was. */
void tw_conn_abort(struct tw_conn *c);

/* Bytes of one struct tw_conn, for the memory budget (README, tests). */
size_t tw_conn_size(void);

#endif /* TW_SCANNER_CONN_H */
