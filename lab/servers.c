/*
 * servers.c - the lab's listeners and their connection state machines.
 *
 * Big picture: one listening socket per served row of the estate (lab.c,
 * tw_lab_estate[]: the row says where it listens, which state machine below
 * it runs and with which certificate, versions and ciphers; BASE+N:PORT, or
 * [::1]:PORT+1) and N_THREADS worker threads, each owning one ev_loop that
 * watches every listener (whoever accepts first gets the connection;
 * accept4 is non-blocking so the losers see EAGAIN).  Each accepted connection stays on
 * the worker that accepted it and is a small state machine (G8):
 *
 *   TLS endpoints:  TLS_HANDSHAKE -> TLS_REQUEST (read an HTTP request) ->
 *                   TLS_RESPONSE (200, with HSTS on `hsts`) -> DRAIN -> close
 *   raw endpoints:  RAW_HELLO (read one TLS record: the ClientHello) ->
 *                   alert / HTTP 400 -> RAW_WRITE -> DRAIN -> close,
 *                   or (reset) SO_LINGER 0 + close = RST
 *   garbage:        RAW_WRITE (random non-TLS bytes at once) -> DRAIN
 *   stall:          HOLD (read and discard, never write, until the peer leaves)
 *   legacy:         PEEK (wait for the whole ClientHello record, unread; legacy.c
 *                   decides) -> TLS_HANDSHAKE as above when the OpenSSL side
 *                   serves it, else the scripted first flight (SSLv3, RC4,
 *                   3DES) or a handshake_failure alert -> RAW_WRITE -> DRAIN
 *   STARTTLS:       STLS_PLAIN (the pure responder of starttls_servers.h: flush
 *                   its output, feed it what we read) -> on UPGRADE, once
 *                   flushed, TLS_HANDSHAKE on the same fd as above; on CLOSE,
 *                   DRAIN once flushed
 *
 * Bounds: every connection but HOLD has a 30 s deadline; each worker takes
 * at most LAB_CONN_CAP connections per endpoint and stops accepting on that
 * listener (the kernel backlog queues the rest) until one closes; reads are
 * into fixed buffers; a ClientHello record longer than 16 KiB + 2 KiB is not
 * waited for.  The connect-timeout endpoint is a listener with backlog 0
 * whose accept queue is filled at start by our own never-accepted
 * connections, so the kernel drops further SYNs; nothing ever accepts it.
 * The closed endpoint has no socket at all.
 *
 * Threads: SSL_CTXs, certificates and the OCSP response are built before
 * the workers start and only read afterwards.  Workers share nothing
 * mutable; tw_lab_servers_stop wakes each loop with ev_async, joins, then
 * frees the connections from the calling thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include <ev.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "lab/lab.h"
#include "lab/lab_int.h"
#include "lab/starttls_servers.h"

#define DAY (24L * 3600L)
#define LAB_MAX_SRV 128
#define LAB_CONN_CAP 512    /* connections per endpoint per worker */
#define LAB_DEADLINE 30.0   /* seconds a non-stall connection may live */
#define LAB_ACCEPT_BATCH 64 /* accepts per wake-up */
#define LAB_BACKLOG 1024
#define LAB_HELLO_MAX (16384 + 2048) /* longest ClientHello record waited for */
#define LAB_FILLERS_MAX 8

#define LAB_DRIP_EVERY 0.1     /* seconds between two bytes of a slow flight (TW_LAB_F_SLOW) */
#define LAB_PEEK_RETRY 0.005   /* first wait before peeking again at an incomplete ClientHello */
#define LAB_PEEK_RETRY_MAX 0.2 /* the wait doubles up to this */
#define LAB_NATIVE_MAX 128     /* IANA codes of one endpoint's OpenSSL side */

/* The certificate a client without SNI gets from no-sni-different-cert. */
#define SNI_DEFAULT_NAME "default.other-host.example"

/* protocol_version (70) in an SSLv3 record: what an SSLv3-only server says. */
static const uint8_t alert_proto_version[] = {0x15, 0x03, 0x00, 0x00, 0x02, 0x02, 70};
/* internal_error (80) in a TLS 1.0 record. */
static const uint8_t alert_internal_error[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 80};
/* hostile-truncated: a record announcing 100 bytes, of which 10 come. */
static const uint8_t truncated_record[] = {0x16, 0x03, 0x03, 0x00, 0x64, 0x02, 0x00, 0x00,
                                           0x5c, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44};
/* hostile-absurdlen: a handshake record of 65535 bytes (the limit is 16 KiB + 2 KiB). */
static const uint8_t absurd_record[] = {0x16, 0x03, 0x03, 0xff, 0xff, 0x02, 0x00, 0xff, 0xfb,
                                        0x03, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
/* hostile-endless: one full record of 4096 HelloRequests (a client skips
 * them during its handshake), written again and again. */
#define ENDLESS_LEN (5 + 16384)
static uint8_t endless_record[ENDLESS_LEN];

static const char http_400[] = "HTTP/1.1 400 Bad Request\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 33\r\n"
                               "Connection: close\r\n"
                               "\r\n"
                               "tlsweep lab: this port is no TLS\n";

struct srv {
    const struct tw_lab_endpoint *def;    /* its row of the estate */
    int ipv6;                             /* listens on [::1]:PORT+1 (a TW_LAB_T_IPV6 line) */
    char host[128];                       /* NAME.lab.tlsweep.test */
    char where[80];                       /* "127.77.0.N:PORT" for messages */
    const struct tw_lab_hostile *hostile; /* shared hostile material (borrowed) */
    const char *aia_base;                 /* "http://BASE+91:PORT" (tw_lab_servers, borrowed) */
    int fd;                               /* listener, -1 when none */
    SSL_CTX *ctx;                         /* the main context */
    SSL_CTX *ctx_named;                   /* TW_LAB_F_SNI_SWITCH: the context for the right name */
    unsigned char *ocsp;                  /* TW_LAB_F_STAPLE_REVOKED: DER response */
    size_t ocsp_len;
    unsigned char *crl; /* TW_LAB_F_CRL: the DER CRL that lists the leaf */
    size_t crl_len;
    int fillers[LAB_FILLERS_MAX]; /* TW_LAB_K_BLACKHOLE: our queued connections */
    int n_fillers;
    struct tw_lab_legacy_params legacy; /* def->legacy: what legacy.c needs */
    uint16_t native[LAB_NATIVE_MAX];    /* the suites the OpenSSL side can serve */
    uint8_t *chain;                     /* def->legacy: the Certificate message body */
};

enum conn_state {
    CS_TLS_HANDSHAKE = 0,
    CS_TLS_REQUEST,
    CS_TLS_RESPONSE,
    CS_RAW_HELLO,
    CS_RAW_WRITE,
    CS_DRAIN,
    CS_HOLD,
    CS_STLS_PLAIN,
    CS_PEEK,   /* legacy endpoints: peek at the ClientHello, then script or OpenSSL */
    CS_HIJACK, /* TW_LAB_F_CCS_EARLY / _HEARTBLEED: the script took the connection over */
    CS_RENEG,  /* TW_LAB_F_LEGACY_RENEG: reneg.c's scripted TLS 1.2 server */
    CS_ROBOT,  /* TW_LAB_F_ROBOT_ORACLE: robot.c judges the key exchange */
    CS_CBC,    /* TW_LAB_F_CBC_ORACLE: cbc.c checks the records after the handshake */
};

struct worker;

struct conn {
    ev_io io; /* first member: the watcher maps back to the conn */
    ev_timer timer;
    struct conn *prev, *next;
    struct worker *w;
    struct srv *srv;
    size_t si;
    int fd;
    SSL *ssl;
    enum conn_state st;
    int has_timer;
    uint8_t hdr[5]; /* the first record header */
    size_t n_hdr;
    size_t body_left; /* ClientHello bytes still to read and discard */
    char req[2048];   /* the HTTP request over TLS */
    size_t n_req;
    const uint8_t *out; /* what RAW_WRITE / TLS_RESPONSE still sends */
    size_t out_len, out_off;
    uint8_t outbuf[512];
    ev_timer drip; /* TW_LAB_F_SLOW: one byte of the flight per tick */
    int has_drip;
    uint8_t *hello; /* TW_LAB_K_HELLO_ALERT: the ClientHello record, LAB_HELLO_MAX */
    size_t n_hello;
    struct tw_lab_starttls *stls; /* TW_LAB_K_STARTTLS, during STLS_PLAIN */
    int stls_verdict;             /* TW_LAB_STLS_CONTINUE / _UPGRADE / _CLOSE */
    ev_timer retry;               /* CS_PEEK: look again once more bytes may be in */
    int has_retry;
    double retry_after; /* CS_PEEK: the next wait (doubles, bounded) */
    uint8_t *rawout;    /* CS_PEEK: the scripted answer */
    ev_timer delay;     /* TW_LAB_F_DELAY: the handshake resumes when it fires */
    int has_delay;
    int delay_done; /* TW_LAB_F_DELAY: the certificate callback lets it go on */
    /* TW_LAB_F_CCS_EARLY / TW_LAB_F_HEARTBLEED: the record tracker of the read
     * BIO (hijack_read) and the scripted part after the first flight. */
    size_t rec_left;  /* bytes of the current record OpenSSL has not read yet */
    int n_recs;       /* records handed to OpenSSL */
    int track_off;    /* an SSLv2-style hello: no record framing to follow */
    int hijack;       /* the content type that made the script take over, 0 = none */
    int ccs_accepted; /* CCS_EARLY: the early ChangeCipherSpec was swallowed */
    uint8_t *hj;      /* CS_HIJACK: records read, LAB_HELLO_MAX */
    size_t n_hj;
    uint8_t *hjout;          /* CS_HIJACK: the scripted answer */
    struct tw_lab_reneg *rn; /* CS_RENEG: the script's state */
    uint8_t *rb;             /* TW_LAB_F_ROBOT_ORACLE: bytes read after a scripted flight */
    size_t n_rb;
    uint16_t rb_version;    /* ... and the hello's client_version */
    struct tw_lab_cbc *cbc; /* CS_CBC: the script's state */
};

struct worker {
    struct tw_lab_servers *lab;
    int id;
    struct ev_loop *loop;
    pthread_t thread;
    int started;
    ev_async stop;
    ev_io accept_io[LAB_MAX_SRV];
    int watching[LAB_MAX_SRV]; /* accept_io started */
    int paused[LAB_MAX_SRV];   /* stopped because of the cap or EMFILE */
    int n_conns[LAB_MAX_SRV];
    ev_io dns_io;       /* worker 0 only */
    struct conn *conns; /* every live connection of this worker */
};

struct tw_lab_servers {
    struct srv srv[LAB_MAX_SRV];
    size_t n_srv;
    struct worker *w;
    int n_w;
    int dns_fd;
    uint32_t base;
    struct tw_lab_aia_http *aia; /* the caIssuers responder (issue 14) */
    char aia_base[64];           /* its URL's scheme, address and port */
    struct tw_lab_hostile *hostile;
    BIO_METHOD *hijack_method; /* the read BIO of CCS_EARLY / HEARTBLEED endpoints */
};

/* ---- connections ---- */

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents);

static void
conn_resume_accepts(struct worker *w, size_t si)
{
    if (w->paused[si] && w->n_conns[si] < LAB_CONN_CAP) {
        w->paused[si] = 0;
        ev_io_start(w->loop, &w->accept_io[si]);
    }
}

/* The single exit of every connection.  rst: abort with an RST. */
static void
conn_close(struct conn *c, int rst)
{
    struct worker *w = c->w;

    ev_io_stop(w->loop, &c->io);
    if (c->has_timer)
        ev_timer_stop(w->loop, &c->timer);
    if (c->has_drip)
        ev_timer_stop(w->loop, &c->drip);
    if (c->has_retry)
        ev_timer_stop(w->loop, &c->retry);
    if (c->has_delay)
        ev_timer_stop(w->loop, &c->delay);
    free(c->hello);
    free(c->rawout);
    free(c->hj);
    free(c->hjout);
    free(c->rb);
    free(c->stls);
    tw_lab_reneg_free(c->rn);
    tw_lab_cbc_free(c->cbc);
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    if (rst) {
        struct linger lg = {1, 0};

        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->n_conns[c->si]--;
    conn_resume_accepts(w, c->si);
    free(c);
}

static void
conn_wait(struct conn *c, int events)
{
    if ((c->io.events & (EV_READ | EV_WRITE)) == events && ev_is_active(&c->io))
        return;
    ev_io_stop(c->w->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(c->w->loop, &c->io);
}

static void
conn_on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));

    (void)loop;
    (void)revents;
    conn_close(c, 0);
}

/* What a plaintext read or send returned, as conn_recv and conn_send report
 * it: the byte count, 0 when the socket is not ready (EAGAIN), -1 when the
 * peer is gone (EOF) or the socket failed. */
static ssize_t
conn_io_result(ssize_t n)
{
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return -1;
}

/* One plaintext read, retried on EINTR.  Every plaintext read of this file
 * goes through it. */
static ssize_t
conn_recv(struct conn *c, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = read(c->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return conn_io_result(n);
}

/* One plaintext send, never raising SIGPIPE, retried on EINTR.  Every
 * plaintext write of this file goes through it. */
static ssize_t
conn_send(struct conn *c, const void *buf, size_t len)
{
    ssize_t n;

    do {
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return conn_io_result(n);
}

/* A script's answer (reneg.c, cbc.c): all of out[0, n), or the connection
 * is closed (-1; c is gone).  0 when it all went out. */
static int
conn_send_script(struct conn *c, const uint8_t *out, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = send(c->fd, out + off, n - off, MSG_NOSIGNAL);

        if (w <= 0) {
            conn_close(c, 0);
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* After our last byte: half-close and read until the peer closes, so that
 * unread input never turns our FIN into an RST that could overtake the
 * bytes we sent. */
static void
conn_start_drain(struct conn *c)
{
    (void)shutdown(c->fd, SHUT_WR);
    c->st = CS_DRAIN;
    conn_wait(c, EV_READ);
}

/* Read and discard; returns 1 when the peer is gone (EOF or error). */
static int
conn_discard(struct conn *c)
{
    uint8_t scratch[4096];

    for (int i = 0; i < 16; i++) {
        ssize_t n = conn_recv(c, scratch, sizeof(scratch));

        if (n == 0)
            return 0;
        if (n < 0)
            return 1;
    }
    return 0;
}

/* Write c->out; returns 1 when all was sent, 0 to wait, -1 on error. */
static int
conn_write_raw(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);

        if (n <= 0)
            return (int)n;
        c->out_off += (size_t)n;
    }
    return 1;
}

static void
conn_set_out(struct conn *c, const void *p, size_t len)
{
    c->out = p;
    c->out_len = len;
    c->out_off = 0;
}

/* The ClientHello has been read (or the first bytes were no TLS record):
 * do what this endpoint does. */
static void
conn_on_hello(struct conn *c)
{
    switch (c->srv->def->kind) {
    case TW_LAB_K_PROTO_ALERT:
        conn_set_out(c, alert_proto_version, sizeof(alert_proto_version));
        break;
    case TW_LAB_K_ALERT:
        conn_set_out(c, alert_internal_error, sizeof(alert_internal_error));
        break;
    case TW_LAB_K_HTTP:
        conn_set_out(c, http_400, sizeof(http_400) - 1);
        break;
    case TW_LAB_K_RESET:
        conn_close(c, 1);
        return;
    case TW_LAB_K_TRUNCATED:
        conn_set_out(c, truncated_record, sizeof(truncated_record));
        break;
    case TW_LAB_K_ABSURD:
        conn_set_out(c, absurd_record, sizeof(absurd_record));
        break;
    case TW_LAB_K_ENDLESS:
        conn_set_out(c, endless_record, sizeof(endless_record));
        break;
    case TW_LAB_K_HELLO_ALERT: {
        size_t n = tw_lab_hostile_hello_alert(c->hello, c->n_hello, c->outbuf, sizeof(c->outbuf));

        if (n == 0) {
            conn_set_out(c, alert_internal_error, sizeof(alert_internal_error));
            break;
        }
        conn_set_out(c, c->outbuf, n);
        break;
    }
    case TW_LAB_K_TLS:
    case TW_LAB_K_STALL:
    case TW_LAB_K_GARBAGE:
    case TW_LAB_K_BLACKHOLE:
    case TW_LAB_K_CLOSED:
    case TW_LAB_K_STARTTLS:
    case TW_LAB_K_DNS_NXDOMAIN:
    case TW_LAB_K_DNS_SERVFAIL:
    case TW_LAB_K_DNS_TIMEOUT:
        conn_close(c, 0); /* not reached: these never read a hello */
        return;
    }
    c->st = CS_RAW_WRITE;
    conn_wait(c, EV_WRITE);
}

/* RAW_HELLO: read the record header, then discard the record body. */
static void
conn_on_raw_hello(struct conn *c)
{
    uint8_t scratch[4096];

    for (int i = 0; i < 16; i++) {
        ssize_t n;

        if (c->n_hdr < sizeof(c->hdr))
            n = conn_recv(c, c->hdr + c->n_hdr, sizeof(c->hdr) - c->n_hdr);
        else
            n = conn_recv(c, scratch,
                          c->body_left < sizeof(scratch) ? c->body_left : sizeof(scratch));
        if (n == 0)
            return;
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        if (c->hello != NULL) {
            const uint8_t *src = c->n_hdr < sizeof(c->hdr) ? c->hdr + c->n_hdr : scratch;
            size_t take =
                LAB_HELLO_MAX - c->n_hello < (size_t)n ? LAB_HELLO_MAX - c->n_hello : (size_t)n;

            memcpy(c->hello + c->n_hello, src, take);
            c->n_hello += take;
        }
        if (c->n_hdr < sizeof(c->hdr)) {
            c->n_hdr += (size_t)n;
            if (c->hdr[0] != 0x16) {
                conn_on_hello(c); /* not a handshake record: answer now */
                return;
            }
            if (c->n_hdr == sizeof(c->hdr)) {
                c->body_left = ((size_t)c->hdr[3] << 8) | c->hdr[4];
                if (c->body_left > LAB_HELLO_MAX)
                    c->body_left = 0;
            }
        } else {
            c->body_left -= (size_t)n;
        }
        if (c->n_hdr == sizeof(c->hdr) && c->body_left == 0) {
            conn_on_hello(c);
            return;
        }
    }
}

static void
conn_build_response(struct conn *c)
{
    const char *hsts = (c->srv->def->flags & TW_LAB_F_HSTS)
                           ? "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
                       : (c->srv->def->flags & TW_LAB_F_HSTS_2Y)
                           ? "Strict-Transport-Security: max-age=63072000\r\n"
                           : "";
    char body[192];
    int blen, n;

    blen = snprintf(body, sizeof(body), "tlsweep lab: %s\n", c->srv->host);
    if (blen < 0 || (size_t)blen >= sizeof(body))
        blen = 0;
    n = snprintf((char *)c->outbuf, sizeof(c->outbuf),
                 "HTTP/1.1 200 OK\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 "Connection: close\r\n\r\n%.*s",
                 hsts, blen, blen, body);
    if (n < 0 || (size_t)n >= sizeof(c->outbuf))
        n = 0;
    conn_set_out(c, c->outbuf, (size_t)n);
}

/* Map an SSL result to waiting; returns 1 when waiting, 0 when the
 * connection must end. */
static int
conn_ssl_wait(struct conn *c, int r)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        conn_wait(c, EV_READ);
        return 1;
    case SSL_ERROR_WANT_WRITE:
        conn_wait(c, EV_WRITE);
        return 1;
    default:
        ERR_clear_error();
        return 0;
    }
}

static void conn_on_tls(struct conn *c);
static void conn_start_hijack(struct conn *c);
static void conn_start_cbc(struct conn *c);

/* TW_LAB_F_DELAY: the wait is over; the certificate callback now says go. */
static void
conn_on_delay(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, delay));

    (void)loop;
    (void)revents;
    c->delay_done = 1;
    conn_wait(c, EV_READ);
    conn_on_tls(c);
}

static void
conn_on_tls(struct conn *c)
{
    int r;

    if (c->st == CS_TLS_HANDSHAKE) {
        ERR_clear_error();
        r = SSL_do_handshake(c->ssl);
        if (r != 1 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_X509_LOOKUP && !c->has_delay) {
            /* srv_on_cert_delay suspended the handshake: sit on it. */
            ERR_clear_error();
            ev_io_stop(c->w->loop, &c->io);
            ev_timer_init(&c->delay, conn_on_delay, TW_LAB_DELAY_SECS, 0.0);
            ev_timer_start(c->w->loop, &c->delay);
            c->has_delay = 1;
            return;
        }
        if (r != 1 && c->hijack != 0) {
            ERR_clear_error();
            conn_start_hijack(c);
            return;
        }
        if (r != 1) {
            if (!conn_ssl_wait(c, r))
                conn_close(c, 0);
            return;
        }
        c->st = CS_TLS_REQUEST;
        if (c->srv->def->flags & TW_LAB_F_CBC_ORACLE) {
            conn_start_cbc(c);
            return;
        }
        if (c->srv->def->flags & TW_LAB_F_RENEG) {
            /* A HelloRequest right after our Finished. */
            ERR_clear_error();
            if (SSL_renegotiate(c->ssl) == 1)
                (void)SSL_do_handshake(c->ssl);
            ERR_clear_error();
        }
    }
    if (c->st == CS_TLS_REQUEST) {
        for (;;) {
            if (c->n_req + 1 >= sizeof(c->req))
                break; /* enough of a request: answer it */
            ERR_clear_error();
            r = SSL_read(c->ssl, c->req + c->n_req, (int)(sizeof(c->req) - 1 - c->n_req));
            if (r <= 0) {
                if (!conn_ssl_wait(c, r))
                    conn_close(c, 0);
                return;
            }
            c->n_req += (size_t)r;
            c->req[c->n_req] = '\0';
            if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL)
                break;
        }
        conn_build_response(c);
        c->st = CS_TLS_RESPONSE;
    }
    if (c->st == CS_TLS_RESPONSE) {
        while (c->out_off < c->out_len) {
            ERR_clear_error();
            r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
            if (r <= 0) {
                if (!conn_ssl_wait(c, r))
                    conn_close(c, 0);
                return;
            }
            c->out_off += (size_t)r;
        }
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* one close_notify, not waited for */
        ERR_clear_error();
        conn_start_drain(c);
    }
}

static int conn_set_bios(struct conn *c);

/* Hand the socket to OpenSSL as the server side and run the handshake as
 * far as the bytes at hand allow.  The one TLS start of a plain endpoint,
 * a legacy endpoint that answers natively and a STARTTLS upgrade. */
static void
conn_start_tls(struct conn *c)
{
    c->ssl = SSL_new(c->srv->ctx);
    if (c->ssl == NULL || conn_set_bios(c) < 0) {
        ERR_clear_error();
        conn_close(c, 0);
        return;
    }
    SSL_set_accept_state(c->ssl);
    SSL_set_app_data(c->ssl, c);
    c->st = CS_TLS_HANDSHAKE;
    conn_on_tls(c);
}

/* STLS_PLAIN: flush the responder's output, act on its verdict once
 * flushed, else read and feed.  Bounded: 16 reads per wake-up into a fixed
 * buffer; the responder bounds its own line and output buffers. */
static void
conn_on_stls(struct conn *c)
{
    uint8_t buf[1024];

    for (int i = 0; i < 16; i++) {
        const uint8_t *p;
        size_t len;
        ssize_t n;

        while (tw_lab_starttls_output(c->stls, &p, &len)) {
            n = conn_send(c, p, len);
            if (n > 0) {
                tw_lab_starttls_sent(c->stls, (size_t)n);
                continue;
            }
            if (n == 0) {
                conn_wait(c, EV_WRITE);
                return;
            }
            conn_close(c, 0);
            return;
        }
        if (c->stls_verdict == TW_LAB_STLS_CLOSE) {
            conn_start_drain(c);
            return;
        }
        if (c->stls_verdict == TW_LAB_STLS_UPGRADE) {
            free(c->stls);
            c->stls = NULL;
            conn_wait(c, EV_READ);
            conn_start_tls(c);
            return;
        }
        n = conn_recv(c, buf, sizeof(buf));
        if (n == 0) {
            conn_wait(c, EV_READ);
            return;
        }
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        c->stls_verdict = tw_lab_starttls_input(c->stls, buf, (size_t)n);
    }
    conn_wait(c, EV_READ); /* more on the next wake-up */
}

/* CS_PEEK: the ClientHello stays in the socket until we know who answers
 * it, so that OpenSSL reads it itself when the endpoint's OpenSSL side
 * serves it; a scripted answer or alert goes out through RAW_WRITE. */
static void
conn_on_peek(struct conn *c)
{
    const struct srv *s = c->srv;
    enum tw_lab_legacy_verdict v;
    uint8_t rnd[32];
    size_t need, n_out = 0;
    ssize_t n;

    n = recv(c->fd, c->hello, LAB_HELLO_MAX, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        conn_wait(c, EV_READ);
        return;
    }
    if (n <= 0) {
        conn_close(c, 0);
        return;
    }
    /* A handshake record is waited for whole; anything else is judged now. */
    need = (size_t)n;
    if (c->hello[0] == 0x16)
        need = n < 5 ? 5 : 5 + (((size_t)c->hello[3] << 8) | c->hello[4]);
    else if (s->legacy.sslv2 && (c->hello[0] & 0x80)) /* an SSLv2 record (DROWN endpoint) */
        need = n < 2 ? 2 : 2 + (((size_t)(c->hello[0] & 0x7f) << 8) | c->hello[1]);
    if (need > LAB_HELLO_MAX)
        need = (size_t)n; /* too long to be one: legacy.c refuses it */
    if ((size_t)n < need) {
        /* The io watcher is level-triggered and the bytes stay unread: it
         * would fire at once.  Look again a moment later instead. */
        ev_io_stop(c->w->loop, &c->io);
        ev_timer_set(&c->retry, c->retry_after, 0.0);
        ev_timer_start(c->w->loop, &c->retry);
        if (c->retry_after < LAB_PEEK_RETRY_MAX)
            c->retry_after *= 2;
        return;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        memset(rnd, 0x5a, sizeof(rnd));
    v = tw_lab_legacy_answer(&s->legacy, c->hello, (size_t)n, rnd, c->rawout,
                             s->legacy.chain_len + 128, &n_out);
    if (v == TW_LAB_LEGACY_RAW && (s->def->flags & TW_LAB_F_ROBOT_ORACLE)) {
        struct tw_lab_client_hello ch;

        if (tw_lab_legacy_parse(c->hello, (size_t)n, &ch) == 0) {
            c->rb = tw_xmalloc(LAB_HELLO_MAX);
            c->n_rb = 0;
            c->rb_version = ch.version;
        }
    }
    free(c->hello);
    c->hello = NULL;
    if (v == TW_LAB_LEGACY_NATIVE) {
        conn_start_tls(c);
        return;
    }
    conn_set_out(c, c->rawout, n_out);
    c->st = CS_RAW_WRITE;
    conn_wait(c, EV_WRITE);
}

/* ---- the scripted vulnerabilities (issue 14) ---- */

/* CS_RENEG: feed what came to reneg.c and send its answer (a few KB at
 * most, written at once: the socket buffer takes it). */
static void
conn_on_reneg(struct conn *c)
{
    uint8_t in[4096];
    uint8_t out[16384];

    for (int i = 0; i < 16; i++) {
        ssize_t n = conn_recv(c, in, sizeof(in));
        size_t n_out = 0;
        int rc;

        if (n == 0)
            return;
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        rc = tw_lab_reneg_feed(c->rn, in, (size_t)n, out, sizeof(out), &n_out);
        if (conn_send_script(c, out, n_out) < 0)
            return;
        if (rc != 0) {
            conn_start_drain(c);
            return;
        }
    }
}

/* CS_ROBOT: read what follows the scripted flight (the hello is still
 * unread in front of it) until robot.c decides, then its alert or a bare
 * close. */
static void
conn_on_robot(struct conn *c)
{
    EVP_PKEY *key = SSL_CTX_get0_privatekey(c->srv->ctx);
    enum tw_lab_robot_action a = TW_LAB_ROBOT_MORE;
    uint8_t alert = 0;

    for (int i = 0; i < 16 && a == TW_LAB_ROBOT_MORE; i++) {
        ssize_t n;

        if (c->n_rb >= LAB_HELLO_MAX || key == NULL) {
            a = TW_LAB_ROBOT_CLOSE;
            break;
        }
        n = conn_recv(c, c->rb + c->n_rb, LAB_HELLO_MAX - c->n_rb);
        if (n == 0)
            return;
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        c->n_rb += (size_t)n;
        a = tw_lab_robot_answer(key, c->rb_version, c->rb, c->n_rb, &alert);
    }
    if (a == TW_LAB_ROBOT_MORE)
        return;
    if (a == TW_LAB_ROBOT_ALERT) {
        uint8_t rec[7] = {21, 0x03, 0x03, 0, 2, 2, alert};

        rec[2] = (uint8_t)(c->rb_version <= 0x0303 ? c->rb_version & 0xff : 3);
        (void)conn_send(c, rec, sizeof(rec));
    }
    conn_start_drain(c);
}

/* CS_CBC: feed the client's records to cbc.c and send its answer (a few
 * records, written at once: the socket buffer takes them). */
static void
conn_on_cbc(struct conn *c)
{
    uint8_t in[4096];
    uint8_t out[2048];

    for (int i = 0; i < 16; i++) {
        ssize_t n = conn_recv(c, in, sizeof(in));
        size_t n_out = 0;
        int rc;

        if (n == 0)
            return;
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        if (c->outbuf[0] == '\0')
            conn_build_response(c);
        rc = tw_lab_cbc_feed(c->cbc, in, (size_t)n, out, sizeof(out), &n_out,
                             (const char *)c->outbuf);
        if (rc < 0) {
            conn_close(c, 0);
            return;
        }
        if (conn_send_script(c, out, n_out) < 0)
            return;
        if (rc != 0) {
            conn_start_drain(c);
            return;
        }
    }
}

/* The handshake is over: the script takes the records from here. */
static void
conn_start_cbc(struct conn *c)
{
    c->cbc = tw_lab_cbc_new(c->ssl, c->srv->def->cbc);
    if (c->cbc == NULL) {
        conn_close(c, 0);
        return;
    }
    c->st = CS_CBC;
    conn_wait(c, EV_READ);
    conn_on_cbc(c);
}

/* What a vulnerable server has in memory after a heartbeat request: fixed,
 * non-secret lab bytes, so that an over-read shows and leaks nothing. */
static const char lab_memory[] = "tlsweep-lab-memory:not-a-secret;";

/* Would the vulnerable server take this record type, arriving now? Only
 * right after our TLS <= 1.2 first flight (ServerHelloDone sent, no key
 * exchange yet), which is where the real bugs were reachable pre-handshake. */
static int
hijack_wanted(const struct conn *c, uint8_t type)
{
    int flags = c->srv->def->flags;

    if (c->ssl == NULL || SSL_get_state(c->ssl) != TLS_ST_SW_SRVR_DONE ||
        SSL_version(c->ssl) > TLS1_2_VERSION)
        return 0;
    return ((flags & TW_LAB_F_CCS_EARLY) && type == 20) ||
           ((flags & TW_LAB_F_HEARTBLEED) && type == 24);
}

/* The read BIO: hands OpenSSL the socket's bytes one record at a time, and
 * stops (retry, the bytes unread) at a record the script takes over. */
static int
hijack_read(BIO *b, char *out, int outl)
{
    struct conn *c = BIO_get_data(b);
    size_t want;
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (c == NULL || outl <= 0)
        return 0;
    if (c->hijack != 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    if (!c->track_off && c->rec_left == 0) {
        uint8_t h[5];

        do {
            n = recv(c->fd, h, sizeof(h), MSG_PEEK);
        } while (n < 0 && errno == EINTR);
        if (n == 0)
            return 0;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (n > 0 && c->n_recs == 0 && (h[0] & 0x80)) {
            c->track_off = 1; /* an SSLv2-style hello: pass everything through */
        } else if (n < (ssize_t)sizeof(h)) {
            BIO_set_retry_read(b);
            return -1;
        } else if (c->n_recs > 0 && hijack_wanted(c, h[0])) {
            c->hijack = h[0];
            BIO_set_retry_read(b);
            return -1;
        } else {
            c->rec_left = 5 + (((size_t)h[3] << 8) | h[4]);
            c->n_recs++;
        }
    }
    want = (size_t)outl;
    if (!c->track_off && want > c->rec_left)
        want = c->rec_left;
    do {
        n = read(c->fd, out, want);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (!c->track_off)
            c->rec_left -= (size_t)n;
        return (int)n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return n == 0 ? 0 : -1;
}

static long
hijack_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
hijack_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *
hijack_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tlsweep-lab-hijack");

    if (m == NULL || BIO_meth_set_read(m, hijack_read) != 1 ||
        BIO_meth_set_ctrl(m, hijack_ctrl) != 1 || BIO_meth_set_create(m, hijack_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* The answer to one whole record in the script's hands; 0 = read on. */
static size_t
hijack_answer(struct conn *c, const uint8_t *rec, size_t len)
{
    uint8_t *o = c->hjout;

    if (c->srv->def->flags & TW_LAB_F_CCS_EARLY) {
        if (rec[0] == 20 && !c->ccs_accepted) {
            c->ccs_accepted = 1; /* the bug: no check that keys exist */
            return 0;
        }
        /* Any next record is "decrypted" with keys from an empty master
         * secret: its MAC fails, and the alert goes out in the clear. */
        memcpy(o, (const uint8_t[]){21, 3, 3, 0, 2, 2, 20}, 7);
        o[2] = rec[2];
        return 7;
    }
    if (rec[0] == 24 && len >= 5 + 3 && rec[5] == 1) {
        /* The bug: payload_length is trusted; the echo reads past the request
         * into memory, here the lab's fixed bytes.  Capped at one record. */
        size_t claim = ((size_t)rec[6] << 8) | rec[7];
        size_t have = len - 5 - 3;

        if (claim > 16384 - 3 - 16)
            claim = 16384 - 3 - 16;
        o[0] = 24;
        o[1] = rec[1];
        o[2] = rec[2];
        o[3] = (uint8_t)((3 + claim + 16) >> 8);
        o[4] = (uint8_t)((3 + claim + 16) & 0xff);
        o[5] = 2; /* heartbeat_response */
        o[6] = rec[6];
        o[7] = rec[7];
        for (size_t i = 0; i < claim; i++)
            o[8 + i] =
                i < have ? rec[8 + i] : (uint8_t)lab_memory[(i - have) % (sizeof(lab_memory) - 1)];
        memset(o + 8 + claim, 0x5a, 16); /* padding */
        return 8 + claim + 16;
    }
    memcpy(o, (const uint8_t[]){21, 3, 3, 0, 2, 2, 10}, 7); /* unexpected_message */
    return 7;
}

/* CS_HIJACK: read whole records and answer them by script. */
static void
conn_on_hijack(struct conn *c)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = conn_recv(c, c->hj + c->n_hj, LAB_HELLO_MAX - c->n_hj);
        size_t rl, out;

        if (n == 0)
            return;
        if (n < 0) {
            conn_close(c, 0);
            return;
        }
        c->n_hj += (size_t)n;
        while (c->n_hj >= 5) {
            rl = 5 + (((size_t)c->hj[3] << 8) | c->hj[4]);
            if (rl > LAB_HELLO_MAX) {
                conn_close(c, 0);
                return;
            }
            if (c->n_hj < rl)
                break;
            out = hijack_answer(c, c->hj, rl);
            memmove(c->hj, c->hj + rl, c->n_hj - rl);
            c->n_hj -= rl;
            if (out > 0) {
                conn_set_out(c, c->hjout, out);
                c->st = CS_RAW_WRITE;
                conn_wait(c, EV_WRITE);
                return;
            }
        }
        if (c->n_hj == LAB_HELLO_MAX) {
            conn_close(c, 0);
            return;
        }
    }
}

/* OpenSSL stopped at a record the script takes: from here on it is ours. */
static void
conn_start_hijack(struct conn *c)
{
    c->hj = tw_xmalloc(LAB_HELLO_MAX);
    c->hjout = tw_xmalloc(16384 + 64);
    c->n_hj = 0;
    c->st = CS_HIJACK;
    conn_wait(c, EV_READ);
    conn_on_hijack(c);
}

static void
conn_on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, retry));

    (void)loop;
    (void)revents;
    conn_on_peek(c);
}

static void
conn_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct conn *c = (struct conn *)io;
    int r;

    (void)loop;
    (void)revents;
    switch (c->st) {
    case CS_TLS_HANDSHAKE:
    case CS_TLS_REQUEST:
    case CS_TLS_RESPONSE:
        conn_on_tls(c);
        break;
    case CS_RAW_HELLO:
        conn_on_raw_hello(c);
        break;
    case CS_RAW_WRITE:
        r = conn_write_raw(c);
        if (r < 0)
            conn_close(c, 0);
        else if (r > 0 && c->srv->def->kind == TW_LAB_K_ENDLESS)
            c->out_off = 0; /* once more, on the next writable event */
        else if (r > 0 && c->rb != NULL) {
            c->st = CS_ROBOT;
            conn_wait(c, EV_READ);
            conn_on_robot(c);
        } else if (r > 0)
            conn_start_drain(c);
        break;
    case CS_DRAIN:
    case CS_HOLD:
        if (conn_discard(c))
            conn_close(c, 0);
        break;
    case CS_STLS_PLAIN:
        conn_on_stls(c);
        break;
    case CS_PEEK:
        conn_on_peek(c);
        break;
    case CS_HIJACK:
        conn_on_hijack(c);
        break;
    case CS_RENEG:
        conn_on_reneg(c);
        break;
    case CS_ROBOT:
        conn_on_robot(c);
        break;
    case CS_CBC:
        conn_on_cbc(c);
        break;
    }
}

/* TW_LAB_F_SLOW: one byte of what OpenSSL wrote into the memory BIO per tick. */
static void
conn_on_drip(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, drip));
    BIO *wbio = SSL_get_wbio(c->ssl);
    uint8_t b;

    (void)loop;
    (void)revents;
    if (BIO_ctrl_pending(wbio) == 0 || BIO_read(wbio, &b, 1) != 1)
        return;
    if (send(c->fd, &b, 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
        errno != EINTR)
        conn_close(c, 0);
}

/* The socket for both directions, or (TW_LAB_F_SLOW) the socket for reading and a
 * memory BIO for writing, drained by conn_on_drip.  0 or -1. */
static int
conn_set_bios(struct conn *c)
{
    BIO *rbio, *wbio;

    if (c->srv->def->flags & (TW_LAB_F_CCS_EARLY | TW_LAB_F_HEARTBLEED)) {
        rbio = BIO_new(c->w->lab->hijack_method);
        wbio = BIO_new_socket(c->fd, BIO_NOCLOSE);
        if (rbio == NULL || wbio == NULL) {
            BIO_free(rbio);
            BIO_free(wbio);
            return -1;
        }
        BIO_set_data(rbio, c);
        SSL_set_bio(c->ssl, rbio, wbio);
        return 0;
    }
    if (!(c->srv->def->flags & TW_LAB_F_SLOW))
        return SSL_set_fd(c->ssl, c->fd) == 1 ? 0 : -1;
    rbio = BIO_new_socket(c->fd, BIO_NOCLOSE);
    wbio = BIO_new(BIO_s_mem());
    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        return -1;
    }
    SSL_set_bio(c->ssl, rbio, wbio);
    ev_timer_init(&c->drip, conn_on_drip, LAB_DRIP_EVERY, LAB_DRIP_EVERY);
    ev_timer_start(c->w->loop, &c->drip);
    c->has_drip = 1;
    return 0;
}

static void
conn_start(struct worker *w, size_t si, int fd)
{
    struct srv *srv = &w->lab->srv[si];
    struct conn *c = tw_xcalloc(1, sizeof(*c));
    int one = 1;

    c->w = w;
    c->srv = srv;
    c->si = si;
    c->fd = fd;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns[si]++;
    ev_io_init(&c->io, conn_cb, fd, EV_READ);
    if (srv->def->kind != TW_LAB_K_STALL) {
        ev_timer_init(&c->timer, conn_on_deadline, LAB_DEADLINE, 0.0);
        ev_timer_start(w->loop, &c->timer);
        c->has_timer = 1;
    }
    switch (srv->def->kind) {
    case TW_LAB_K_TLS:
        if (srv->def->flags & (TW_LAB_F_LEGACY_RENEG | TW_LAB_F_LEGACY_NORENEG)) {
            c->rn = tw_lab_reneg_new(srv->ctx, (srv->def->flags & TW_LAB_F_LEGACY_NORENEG) != 0);
            if (c->rn == NULL)
                break;
            c->st = CS_RENEG;
            ev_io_start(w->loop, &c->io);
            return;
        }
        if (srv->def->legacy != NULL) {
            c->hello = tw_xmalloc(LAB_HELLO_MAX);
            c->rawout = tw_xmalloc(srv->legacy.chain_len + 128);
            ev_timer_init(&c->retry, conn_on_retry, LAB_PEEK_RETRY, 0.0);
            c->has_retry = 1;
            c->retry_after = LAB_PEEK_RETRY;
            c->st = CS_PEEK;
            conn_on_peek(c); /* the ClientHello is often already here */
            return;
        }
        conn_start_tls(c); /* the ClientHello is often already here */
        return;
    case TW_LAB_K_STALL:
        c->st = CS_HOLD;
        ev_io_start(w->loop, &c->io);
        return;
    case TW_LAB_K_STARTTLS:
        c->stls = tw_xmalloc(sizeof(*c->stls));
        tw_lab_starttls_init(c->stls, srv->def->stls);
        c->st = CS_STLS_PLAIN;
        conn_on_stls(c); /* server-first protocols greet now */
        return;
    case TW_LAB_K_GARBAGE:
        if (RAND_bytes(c->outbuf, 96) != 1)
            memset(c->outbuf, 'x', 96);
        /* No record type (0x14-0x18), no SSLv2 length byte (high bit). */
        c->outbuf[0] = (uint8_t)(0x40 | (c->outbuf[0] & 0x0f));
        conn_set_out(c, c->outbuf, 96);
        c->st = CS_RAW_WRITE;
        ev_io_set(&c->io, fd, EV_WRITE);
        ev_io_start(w->loop, &c->io);
        return;
    case TW_LAB_K_HELLO_ALERT:
        c->hello = tw_xmalloc(LAB_HELLO_MAX);
        /* fall through */
    case TW_LAB_K_PROTO_ALERT:
    case TW_LAB_K_ALERT:
    case TW_LAB_K_RESET:
    case TW_LAB_K_HTTP:
    case TW_LAB_K_TRUNCATED:
    case TW_LAB_K_ABSURD:
    case TW_LAB_K_ENDLESS:
        c->st = CS_RAW_HELLO;
        ev_io_start(w->loop, &c->io);
        return;
    case TW_LAB_K_BLACKHOLE:
    case TW_LAB_K_CLOSED:
    case TW_LAB_K_DNS_NXDOMAIN:
    case TW_LAB_K_DNS_SERVFAIL:
    case TW_LAB_K_DNS_TIMEOUT:
        break; /* never accepted: no listener, or one nobody accepts on */
    }
    conn_close(c, 0);
}

static void
worker_on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    struct worker *w = ev_userdata(loop);
    size_t si = (size_t)(io - w->accept_io);

    (void)revents;
    for (int i = 0; i < LAB_ACCEPT_BATCH; i++) {
        int fd;

        if (w->n_conns[si] >= LAB_CONN_CAP) {
            ev_io_stop(loop, io);
            w->paused[si] = 1;
            return;
        }
        fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: wait until one of ours closes. */
                if (w->n_conns[si] > 0) {
                    ev_io_stop(loop, io);
                    w->paused[si] = 1;
                }
            }
            return; /* EAGAIN: another worker won, or the queue is empty */
        }
        conn_start(w, si, fd);
    }
}

static void
worker_on_dns(struct ev_loop *loop, ev_io *io, int revents)
{
    struct worker *w = ev_userdata(loop);

    (void)revents;
    tw_lab_dns_serve(io->fd, w->lab->base);
}

static void
worker_on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    ev_run(w->loop, 0);
    return NULL;
}

/* ---- start-up ---- */

static int
srv_on_servername(SSL *ssl, int *al, void *arg)
{
    struct srv *s = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    if (s->def->flags & TW_LAB_F_SNI_REQUIRED) {
        if (sni == NULL) {
            *al = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return SSL_TLSEXT_ERR_OK;
    }
    if ((s->def->flags & TW_LAB_F_SNI_SWITCH) && sni != NULL && strcasecmp(sni, s->host) == 0) {
        if (SSL_set_SSL_CTX(ssl, s->ctx_named) == NULL) {
            *al = SSL_AD_INTERNAL_ERROR;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

/* Called only when the client sent status_request. */
static int
srv_on_status(SSL *ssl, void *arg)
{
    struct srv *s = arg;
    unsigned char *copy;

    copy = OPENSSL_memdup(s->ocsp, s->ocsp_len);
    if (copy == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)s->ocsp_len) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* The 1024-bit MODP group of RFC 2409 (Oakley group 2), generator 2, as a
 * DH key-parameter object for SSL_CTX_set0_tmp_dh_pkey.  NULL on failure. */
static EVP_PKEY *
srv_dh1024(void)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *p = BN_get_rfc2409_prime_1024(NULL), *g = BN_new();

    if (bld == NULL || p == NULL || g == NULL || BN_set_word(g, 2) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) != 1)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEY_PARAMETERS, params) != 1)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(p);
    BN_free(g);
    return pkey;
}

/* TW_LAB_F_HEARTBLEED: acknowledge the heartbeat extension (RFC 6520,
 * mode peer_allowed_to_send) in a TLS <= 1.2 ServerHello. */
static int
srv_heartbeat_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
                  size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
    static const unsigned char mode = 1;

    (void)ssl;
    (void)type;
    (void)context;
    (void)x;
    (void)chainidx;
    (void)al;
    (void)arg;
    *out = &mode;
    *outlen = 1;
    return 1;
}

static int
srv_heartbeat_parse(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *in,
                    size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
    (void)ssl;
    (void)type;
    (void)context;
    (void)in;
    (void)inlen;
    (void)x;
    (void)chainidx;
    (void)al;
    (void)arg;
    return 1;
}

/* TW_LAB_F_DELAY: suspend the handshake (-1) until conn_on_delay fired. */
static int
srv_on_cert_delay(SSL *ssl, void *arg)
{
    const struct conn *c = SSL_get_app_data(ssl);

    (void)arg;
    return c == NULL || c->delay_done ? 1 : -1;
}

/* One context serving a leaf for dns (NULL = the endpoint's name). */
/* TW_LAB_F_DUAL_CERT: a P-256 leaf for the same name and issuer beside the
 * RSA one, with its own chain (OpenSSL keeps one per key type and picks by
 * the client's suites and signature algorithms).  Returns 0, or -1 with err. */
static int
srv_add_ec_leaf(struct srv *s, SSL_CTX *ctx, const struct tw_lab_pki *pki,
                const struct tw_lab_leaf_spec *rsa_spec, char *err)
{
    struct tw_lab_leaf_spec spec = *rsa_spec;
    EVP_PKEY *key = NULL;
    X509 *leaf;
    int rc = -1;

    spec.key = TW_LAB_KEY_EC;
    leaf = tw_lab_pki_leaf(pki, &spec, &key, err);
    if (leaf == NULL)
        return -1;
    if (SSL_CTX_use_certificate(ctx, leaf) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
        SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_add1_chain_cert(ctx, pki->inter) == 1)
        rc = 0;
    else
        tw_lab_ssl_err(err, s->def->name, "second (ECDSA) certificate");
    X509_free(leaf);
    return rc;
}

static SSL_CTX *
srv_make_ctx(struct srv *s, const struct tw_lab_pki *pki, const char *dns, X509 **leaf_out,
             char *err)
{
    const struct tw_lab_endpoint *d = s->def;
    struct tw_lab_leaf_spec spec;
    char aia_url[128], ocsp_url[128], crl_url[128];
    SSL_CTX *ctx = NULL;
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    int ok = 0;

    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tw_lab_ssl_err(err, s->def->name, "SSL_CTX_new");
        goto out;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!(d->flags & TW_LAB_F_RENEG))
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (d->flags & TW_LAB_F_CBC_ORACLE)
        SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* Before the certificate: SHA-1 and RSA-1024 leaves, TLS 1.0 and NULL
     * ciphers are refused at OpenSSL 3.0's default level 1. */
    if (d->flags & TW_LAB_F_SECLEVEL0)
        SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_min_proto_version(ctx, d->min_version) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, d->max_version) != 1) {
        tw_lab_ssl_err(err, s->def->name, "protocol versions");
        goto out;
    }
    if (SSL_CTX_set_cipher_list(ctx, d->ciphers) != 1) {
        tw_lab_ssl_err(err, s->def->name, "cipher list");
        goto out;
    }
    if (d->flags & TW_LAB_F_EARLY_DATA) {
        SSL_CTX_set_num_tickets(ctx, 1);
        if (SSL_CTX_set_max_early_data(ctx, TW_LAB_EARLY_DATA_MAX) != 1) {
            tw_lab_ssl_err(err, s->def->name, "max_early_data");
            goto out;
        }
    }
    if (d->flags & TW_LAB_F_DELAY) {
        if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384") != 1 ||
            SSL_CTX_set1_groups_list(ctx, "X25519") != 1) {
            tw_lab_ssl_err(err, s->def->name, "slow server's suite and group");
            goto out;
        }
        SSL_CTX_set_cert_cb(ctx, srv_on_cert_delay, NULL);
    }
    if ((d->flags & TW_LAB_F_RSA_PSS_ONLY) &&
        SSL_CTX_set1_sigalgs_list(ctx, "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
                                       "rsa_pss_rsae_sha512") != 1) {
        tw_lab_ssl_err(err, s->def->name, "RSA-PSS signature algorithms");
        goto out;
    }
    if ((d->flags & TW_LAB_F_X25519_ONLY) && SSL_CTX_set1_groups_list(ctx, "X25519") != 1) {
        tw_lab_ssl_err(err, s->def->name, "X25519 group");
        goto out;
    }
    if ((d->flags & TW_LAB_F_HEARTBLEED) &&
        SSL_CTX_add_custom_ext(ctx, 15,
                               SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO |
                                   SSL_EXT_TLS1_2_AND_BELOW_ONLY,
                               srv_heartbeat_add, NULL, NULL, srv_heartbeat_parse, NULL) != 1) {
        tw_lab_ssl_err(err, s->def->name, "heartbeat extension");
        goto out;
    }
    if (d->flags & TW_LAB_F_DH1024) {
        EVP_PKEY *dh = srv_dh1024();

        if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
            EVP_PKEY_free(dh);
            tw_lab_ssl_err(err, s->def->name, "DH group");
            goto out;
        }
    }
    if (d->hcert != TW_LAB_HC_NONE) {
        ok = tw_lab_hostile_ctx(ctx, s->hostile, pki, d->hcert, s->host, err) == 0;
        goto out;
    }
    memset(&spec, 0, sizeof(spec));
    spec.dns = dns != NULL ? dns : (d->san_dns != NULL ? d->san_dns : s->host);
    spec.ip = s->ipv6 ? "::1" : NULL;
    spec.key = d->key;
    spec.issuer = d->issuer;
    switch (d->validity) {
    case TW_LAB_VALID:
        spec.not_before = -DAY;
        spec.not_after = 365 * DAY;
        break;
    case TW_LAB_EXPIRED:
        spec.not_before = -730 * DAY;
        spec.not_after = -365 * DAY;
        break;
    case TW_LAB_NOT_YET_VALID:
        spec.not_before = 365 * DAY;
        spec.not_after = 730 * DAY;
        break;
    }
    spec.sha1 = (d->flags & TW_LAB_F_SHA1) != 0;
    if (d->flags & TW_LAB_F_AIA) {
        snprintf(aia_url, sizeof(aia_url), "%s/%s", s->aia_base,
                 d->aia_path != NULL             ? d->aia_path
                 : (d->flags & TW_LAB_F_AIA_404) ? "missing.crt"
                                                 : "intermediate.crt");
        spec.aia_url = aia_url;
    }
    if (d->flags & TW_LAB_F_OCSP_ONLINE) {
        snprintf(ocsp_url, sizeof(ocsp_url), "%s/ocsp", s->aia_base);
        spec.ocsp_url = ocsp_url;
    }
    if (d->flags & TW_LAB_F_CRL) {
        snprintf(crl_url, sizeof(crl_url), "%s/revoked.crl", s->aia_base);
        spec.crl_url = crl_url;
    }
    spec.no_san = (d->flags & TW_LAB_F_NO_SAN) != 0;
    leaf = tw_lab_pki_leaf(pki, &spec, &key, err);
    if (leaf == NULL)
        goto out;
    if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tw_lab_ssl_err(err, s->def->name, "certificate");
        goto out;
    }
    switch (d->chain) {
    case TW_LAB_CH_INTER:
        ok = SSL_CTX_add1_chain_cert(ctx, pki->inter) == 1;
        break;
    case TW_LAB_CH_NONE:
        ok = 1;
        break;
    case TW_LAB_CH_UNTRUSTED:
        ok = SSL_CTX_add1_chain_cert(ctx, pki->uinter) == 1 &&
             SSL_CTX_add1_chain_cert(ctx, pki->uroot) == 1;
        break;
    case TW_LAB_CH_WRONG:
        ok = SSL_CTX_add1_chain_cert(ctx, pki->uinter) == 1;
        break;
    }
    if (!ok) {
        tw_lab_ssl_err(err, s->def->name, "chain");
        goto out;
    }
    if ((d->flags & TW_LAB_F_DUAL_CERT) && srv_add_ec_leaf(s, ctx, pki, &spec, err) < 0) {
        ok = 0;
        goto out;
    }
    if (leaf_out != NULL) {
        *leaf_out = leaf;
        leaf = NULL;
    }
out:
    X509_free(leaf);
    if (!ok) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/*
 * A legacy endpoint: the Certificate body its script sends (leaf and
 * intermediate, as the OpenSSL side sends them) and the suites its OpenSSL
 * side can serve with the RSA leaf (so that a hello offering only others,
 * e.g. ECDSA suites, gets the scripted answer).
 */
static int
srv_make_legacy(struct srv *s, const struct tw_lab_pki *pki, X509 *leaf, char *err)
{
    const struct tw_lab_legacy_def *ld = s->def->legacy;
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(s->ctx);
    X509 *certs[2] = {leaf, pki->inter};
    size_t n_native = 0, len = 0;

    for (int i = 0; i < 2; i++) {
        int n = i2d_X509(certs[i], NULL);

        if (n <= 0) {
            tw_lab_ssl_err(err, s->def->name, "certificate DER");
            return -1;
        }
        len += 3 + (size_t)n;
    }
    s->chain = tw_xmalloc(len);
    len = 0;
    for (int i = 0; i < 2; i++) {
        unsigned char *p = s->chain + len + 3;
        int n = i2d_X509(certs[i], &p);

        if (n <= 0) {
            tw_lab_ssl_err(err, s->def->name, "certificate DER");
            return -1;
        }
        s->chain[len] = (uint8_t)((unsigned)n >> 16);
        s->chain[len + 1] = (uint8_t)((unsigned)n >> 8);
        s->chain[len + 2] = (uint8_t)((unsigned)n & 0xff);
        len += 3 + (size_t)n;
    }
    for (int i = 0; !ld->raw_only && i < sk_SSL_CIPHER_num(sk) && n_native < LAB_NATIVE_MAX; i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        int auth = SSL_CIPHER_get_auth_nid(c);

        if (auth == NID_auth_rsa || auth == NID_auth_any)
            s->native[n_native++] = (uint16_t)SSL_CIPHER_get_protocol_id(c);
    }
    s->legacy.raw_min = ld->raw_min;
    s->legacy.raw_max = ld->raw_max;
    s->legacy.raw_suites = ld->suites;
    s->legacy.n_raw_suites = ld->n_suites;
    s->legacy.native_min = ld->raw_only ? 0 : (uint16_t)s->def->min_version;
    s->legacy.native = s->native;
    s->legacy.n_native = n_native;
    s->legacy.chain = s->chain;
    s->legacy.chain_len = len;
    s->legacy.deflate = ld->deflate;
    s->legacy.sslv2 = ld->sslv2;
    s->legacy.ticketbleed = (s->def->flags & TW_LAB_F_TICKETBLEED) != 0;
    return 0;
}

static int
srv_make_tls(struct srv *s, const struct tw_lab_pki *pki, char *err)
{
    const struct tw_lab_endpoint *d = s->def;
    X509 *leaf = NULL;
    int rc = -1;

    if (d->flags & TW_LAB_F_SNI_SWITCH) {
        /* Without the right SNI: a valid certificate for another name. */
        s->ctx = srv_make_ctx(s, pki, SNI_DEFAULT_NAME, NULL, err);
        s->ctx_named = s->ctx != NULL ? srv_make_ctx(s, pki, NULL, NULL, err) : NULL;
        if (s->ctx_named == NULL)
            goto out;
    } else {
        s->ctx = srv_make_ctx(s, pki, NULL, &leaf, err);
        if (s->ctx == NULL)
            goto out;
    }
    if (d->flags & (TW_LAB_F_CCERT_REQUIRED | TW_LAB_F_CCERT_OPTIONAL)) {
        /* A CertificateRequest naming the lab root and intermediate; without
         * a certificate the handshake fails (TLS 1.2: handshake_failure
         * after the client's empty Certificate; TLS 1.3: certificate_required
         * after its Finished) or, when optional, goes on. */
        int mode = SSL_VERIFY_PEER;

        if (d->flags & TW_LAB_F_CCERT_REQUIRED)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(s->ctx, mode, NULL);
        if (SSL_CTX_add_client_CA(s->ctx, pki->root) != 1 ||
            SSL_CTX_add_client_CA(s->ctx, pki->inter) != 1) {
            tw_lab_ssl_err(err, d->name, "client CA names");
            goto out;
        }
    }
    if (d->flags & (TW_LAB_F_SNI_REQUIRED | TW_LAB_F_SNI_SWITCH)) {
        SSL_CTX_set_tlsext_servername_callback(s->ctx, srv_on_servername);
        SSL_CTX_set_tlsext_servername_arg(s->ctx, s);
    }
    if (d->flags & (TW_LAB_F_STAPLE_REVOKED | TW_LAB_F_OCSP_ONLINE)) {
        if (tw_lab_ocsp_revoked(leaf, pki->inter, pki->inter_key, &s->ocsp, &s->ocsp_len, err) < 0)
            goto out;
    }
    if ((d->flags & TW_LAB_F_CRL) &&
        tw_lab_crl_revoked(leaf, pki->inter, pki->inter_key, &s->crl, &s->crl_len, err) < 0)
        goto out;
    if (d->flags & TW_LAB_F_STAPLE_REVOKED) {
        SSL_CTX_set_tlsext_status_cb(s->ctx, srv_on_status);
        SSL_CTX_set_tlsext_status_arg(s->ctx, s);
    }
    if (d->legacy != NULL && srv_make_legacy(s, pki, leaf, err) < 0)
        goto out;
    rc = 0;
out:
    X509_free(leaf);
    return rc;
}

static int
srv_listen(struct srv *s, uint32_t base, int addr, unsigned port, char *err)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    int fd = -1, one = 1, ipv6 = s->ipv6;
    int backlog = s->def->kind == TW_LAB_K_BLACKHOLE ? 0 : LAB_BACKLOG;

    memset(&ss, 0, sizeof(ss));
    if (ipv6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        sin6->sin6_port = htons((uint16_t)(port + 1));
        slen = sizeof(*sin6);
        snprintf(s->where, sizeof(s->where), "[::1]:%u", port + 1);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(base + (uint32_t)addr);
        sin->sin_port = htons((uint16_t)port);
        slen = sizeof(*sin);
        inet_ntop(AF_INET, &sin->sin_addr, s->where, sizeof(s->where));
        snprintf(s->where + strlen(s->where), sizeof(s->where) - strlen(s->where), ":%u", port);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tw_errf(err, "%s: socket: %s", s->def->name, strerror(errno));
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ipv6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, backlog) < 0) {
        int e = errno;

        tw_errf(err, "%s: bind/listen %s: %s%s", s->def->name, s->where, strerror(e),
                e == EADDRINUSE ? " (another lab, or a server listening on every address at "
                                  "that port? choose others with --port/--base)"
                                : "");
        close(fd);
        return -1;
    }
    s->fd = fd;
    return 0;
}

/*
 * Fill the backlog-0 listener's accept queue with our own connections.
 * Linux queues one connection beyond a backlog of 0 and then drops SYNs
 * (LISTENOVERFLOWS) instead of answering them, whatever tcp_syncookies says.
 * We connect until one attempt does not complete in 300 ms: that attempt
 * is the proof that SYNs are now dropped.  Returns 0 when proven.
 */
static int
srv_fill_backlog(struct srv *s, char *err)
{
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);

    if (getsockname(s->fd, (struct sockaddr *)&ss, &slen) < 0) {
        tw_errf(err, "%s: getsockname: %s", s->def->name, strerror(errno));
        return -1;
    }
    while (s->n_fillers < LAB_FILLERS_MAX) {
        struct pollfd pfd;
        int fd, soerr = 0, r;
        socklen_t elen = sizeof(soerr);

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            tw_errf(err, "%s: socket: %s", s->def->name, strerror(errno));
            return -1;
        }
        r = connect(fd, (struct sockaddr *)&ss, slen);
        if (r < 0 && errno != EINPROGRESS) {
            tw_errf(err, "%s: connect: %s", s->def->name, strerror(errno));
            close(fd);
            return -1;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        if (r == 0 || (poll(&pfd, 1, 300) == 1 &&
                       getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) == 0 && soerr == 0)) {
            s->fillers[s->n_fillers++] = fd; /* queued, never accepted */
            continue;
        }
        close(fd); /* SYN not answered: the queue is full */
        tw_debug("lab", "%s: accept queue full after %d connections, SYNs dropped", s->where,
                 s->n_fillers);
        return 0;
    }
    tw_errf(err, "%s: this kernel answers SYNs on a full backlog-0 queue", s->def->name);
    return -1;
}

void
tw_lab_servers_stop(struct tw_lab_servers *lab)
{
    if (lab == NULL)
        return;
    /* First: the responder borrows an endpoint's OCSP response. */
    tw_lab_aia_http_stop(lab->aia);
    lab->aia = NULL;
    for (int i = 0; i < lab->n_w; i++) {
        struct worker *w = &lab->w[i];

        if (w->started) {
            ev_async_send(w->loop, &w->stop);
            pthread_join(w->thread, NULL);
        }
    }
    for (int i = 0; i < lab->n_w; i++) {
        struct worker *w = &lab->w[i];

        if (w->loop == NULL)
            continue;
        while (w->conns != NULL)
            conn_close(w->conns, 0);
        for (size_t si = 0; si < lab->n_srv; si++)
            ev_io_stop(w->loop, &w->accept_io[si]);
        ev_io_stop(w->loop, &w->dns_io);
        ev_async_stop(w->loop, &w->stop);
        ev_loop_destroy(w->loop);
    }
    free(lab->w);
    for (size_t si = 0; si < lab->n_srv; si++) {
        struct srv *s = &lab->srv[si];

        if (s->fd >= 0)
            close(s->fd);
        for (int k = 0; k < s->n_fillers; k++)
            close(s->fillers[k]);
        SSL_CTX_free(s->ctx);
        SSL_CTX_free(s->ctx_named);
        OPENSSL_free(s->ocsp);
        OPENSSL_free(s->crl);
        free(s->chain);
    }
    tw_lab_hostile_free(lab->hostile);
    BIO_meth_free(lab->hijack_method);
    if (lab->dns_fd >= 0)
        close(lab->dns_fd);
    free(lab);
}

int
tw_lab_servers_start(const struct tw_lab_opts *opts, const struct tw_lab_pki *pki,
                     struct tw_lab_servers **out, char *err)
{
    struct tw_lab_servers *lab = NULL;
    struct in_addr dns_addr;
    int rc = -1;

    *out = NULL;
    lab = tw_xcalloc(1, sizeof(*lab));
    lab->dns_fd = -1;
    lab->base = opts->base;
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_estate[i];
        struct srv *s;

        if (!tw_lab_is_served(e))
            continue;
        if (lab->n_srv == LAB_MAX_SRV) {
            tw_errf(err, "%s: more than %d served endpoints", e->name, LAB_MAX_SRV);
            goto out;
        }
        s = &lab->srv[lab->n_srv++];
        s->def = e;
        s->ipv6 = e->lines[0].form == TW_LAB_T_IPV6;
        s->fd = -1;
        snprintf(s->host, sizeof(s->host), "%s.%s", e->name, TW_LAB_DOMAIN);
    }
    lab->hostile = tw_lab_hostile_new(pki, err);
    if (lab->hostile == NULL)
        goto out;
    lab->hijack_method = hijack_method_new();
    if (lab->hijack_method == NULL) {
        tw_lab_ssl_err(err, NULL, "BIO method");
        goto out;
    }
    {
        struct in_addr a;
        char ip[INET_ADDRSTRLEN];

        a.s_addr = htonl(opts->base + TW_LAB_AIA_ADDR);
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        snprintf(lab->aia_base, sizeof(lab->aia_base), "http://%s:%u", ip, opts->port);
    }
    for (size_t si = 0; si < lab->n_srv; si++) {
        lab->srv[si].hostile = lab->hostile;
        lab->srv[si].aia_base = lab->aia_base;
    }
    endless_record[0] = 0x16;
    endless_record[1] = 0x03;
    endless_record[2] = 0x03;
    endless_record[3] = (uint8_t)((ENDLESS_LEN - 5) >> 8);
    endless_record[4] = (uint8_t)((ENDLESS_LEN - 5) & 0xff);
    memset(endless_record + 5, 0, ENDLESS_LEN - 5); /* type 0, length 0: HelloRequest */
    /* Contexts first: a bad one fails before any socket is bound. */
    for (size_t si = 0; si < lab->n_srv; si++) {
        struct srv *s = &lab->srv[si];

        if ((s->def->kind == TW_LAB_K_TLS || s->def->kind == TW_LAB_K_STARTTLS) &&
            srv_make_tls(s, pki, err) < 0)
            goto out;
    }
    {
        const unsigned char *ocsp = NULL, *crl = NULL;
        size_t ocsp_len = 0, crl_len = 0;

        /* The OCSP responder answers for the one online-revocation endpoint. */
        for (size_t si = 0; si < lab->n_srv; si++) {
            if ((lab->srv[si].def->flags & TW_LAB_F_OCSP_ONLINE) && lab->srv[si].ocsp != NULL) {
                ocsp = lab->srv[si].ocsp;
                ocsp_len = lab->srv[si].ocsp_len;
            }
            if ((lab->srv[si].def->flags & TW_LAB_F_CRL) && lab->srv[si].crl != NULL) {
                crl = lab->srv[si].crl;
                crl_len = lab->srv[si].crl_len;
            }
        }
        lab->aia = tw_lab_aia_http_start(opts->base, opts->port, pki->inter, ocsp, ocsp_len, crl,
                                         crl_len, err);
    }
    if (lab->aia == NULL)
        goto out;
    dns_addr.s_addr = htonl(opts->base + 1);
    lab->dns_fd = tw_lab_dns_open(&dns_addr, opts->dns_port, err);
    if (lab->dns_fd < 0)
        goto out;
    for (size_t si = 0; si < lab->n_srv; si++) {
        struct srv *s = &lab->srv[si];

        if (s->def->kind == TW_LAB_K_CLOSED)
            continue;
        if (s->def->addr <= 0 && !s->ipv6) {
            tw_errf(err, "%s: no address in the estate", s->def->name);
            goto out;
        }
        if (srv_listen(s, opts->base, s->def->addr, opts->port, err) < 0)
            goto out;
        if (s->def->kind == TW_LAB_K_BLACKHOLE && srv_fill_backlog(s, err) < 0)
            goto out;
    }

    lab->n_w = opts->n_threads > 0 ? opts->n_threads : 2;
    lab->w = tw_xcalloc((size_t)lab->n_w, sizeof(*lab->w));
    for (int i = 0; i < lab->n_w; i++) {
        struct worker *w = &lab->w[i];

        w->lab = lab;
        w->id = i;
        w->loop = ev_loop_new(EVFLAG_AUTO);
        if (w->loop == NULL) {
            tw_errf(err, "ev_loop_new failed");
            goto out;
        }
        ev_set_userdata(w->loop, w);
        ev_async_init(&w->stop, worker_on_stop);
        ev_async_start(w->loop, &w->stop);
        ev_io_init(&w->dns_io, worker_on_dns, lab->dns_fd, EV_READ);
        if (i == 0)
            ev_io_start(w->loop, &w->dns_io);
        for (size_t si = 0; si < lab->n_srv; si++) {
            struct srv *s = &lab->srv[si];

            if (s->fd < 0 || s->def->kind == TW_LAB_K_BLACKHOLE)
                continue;
            ev_io_init(&w->accept_io[si], worker_on_accept, s->fd, EV_READ);
            ev_io_start(w->loop, &w->accept_io[si]);
        }
    }
    for (int i = 0; i < lab->n_w; i++) {
        int e = pthread_create(&lab->w[i].thread, NULL, worker_main, &lab->w[i]);

        if (e != 0) {
            tw_errf(err, "pthread_create: %s", strerror(e));
            goto out;
        }
        lab->w[i].started = 1;
    }
    for (size_t si = 0; si < lab->n_srv; si++)
        if (lab->srv[si].fd >= 0)
            tw_debug("lab", "%-22s %s", lab->srv[si].def->name, lab->srv[si].where);
    *out = lab;
    lab = NULL;
    rc = 0;
out:
    tw_lab_servers_stop(lab);
    return rc;
}
