/*
 * conn.c - the per-connection state machine (see conn.h, STYLE G8).
 *
 * Every event goes through conn_dispatch(), which switches on the state and
 * calls conn_on_<state>().  Only conn_done() ends a conn, and it is the last
 * thing that runs on it.  The first bytes the server sends are seen by a
 * callback on the socket BIO, so that "not TLS" is decided on the raw bytes
 * and not on OpenSSL's interpretation of them.
 *
 * STARTTLS probes (params.starttls != 0) pass through WAIT_STARTTLS between
 * connect and handshake: conn_on_starttls() pumps bytes between the socket
 * and the pure dialogue of scanner/starttls.h (one struct tw_starttls on the
 * heap, only for these probes), bounded by its own handshake deadline and by
 * the dialogue's byte limits.  On READY the same fd goes on to SSL_connect
 * (or to the raw exchange) with a fresh deadline; any other end is recorded
 * in the probe result's starttls fields and the conn is done.  Plaintext bytes after the server's
 * go-ahead are never handed to OpenSSL (starttls.h: response injection).
 *
 * The grading connections use the same machine (conn.h modes): TLS_HTTP
 * continues a completed handshake with WAIT_SEND / WAIT_RECV over the SSL
 * (conn_on_send, conn_on_recv), RAW goes from the connect or the dialogue's
 * READY straight to them on the bare socket.  What the answer must look
 * like is the caller's complete() callback; the conn only moves and bounds
 * the bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <netinet/in.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <ev.h>

#include "scanner/conn.h"
#include "scanner/starttls.h"
#include "base/log.h"
#include "base/xalloc.h"

#define TW_CONN_POOL_KEEP 1024 /* free conns kept for reuse per worker */
#define TW_CONN_EX_FIRST 4096  /* the exchange buffer's first size; it doubles up to max */

/* Why the socket BIO refused a read (the handshake was cut by us). */
enum tw_conn_cut {
    TW_CUT_NONE = 0,
    TW_CUT_TIME,  /* the deadline passed inside one SSL_connect() / SSL_read() */
    TW_CUT_BYTES, /* TW_CONN_HANDSHAKE_BYTES_MAX exceeded */
};

enum tw_conn_state {
    TW_CONN_WAIT_CONNECT = 0,
    TW_CONN_WAIT_STARTTLS, /* STARTTLS probes: the plaintext dialogue */
    TW_CONN_WAIT_HANDSHAKE,
    TW_CONN_WAIT_SEND,   /* TLS_HTTP, RAW: writing ex->req */
    TW_CONN_WAIT_RECV,   /* TLS_HTTP, RAW: reading the answer into ex->buf */
    TW_CONN_WAIT_POSTHS, /* TLS after a TLS 1.3 CertificateRequest: the server's verdict */
    TW_CONN_DONE,
};

struct tw_conn {
    ev_io io;       /* first: the io callback maps back with a cast */
    ev_timer timer; /* the state's deadline */
    struct tw_conn_pool *pool;
    struct tw_conn *next_free;
    SSL *ssl;
    struct tw_starttls *st; /* WAIT_STARTTLS only (heap), else NULL */
    const char *starttls_host;
    struct tw_probe_result *pr;
    struct tw_conn_exchange *ex; /* TLS_HTTP and RAW only, else NULL */
    size_t sent;                 /* bytes of ex->req written (RAW) */
    const struct tw_tlsctx *tls;
    const char *sni;
    char **ca_names;             /* OUT (optional): the CertificateRequest's CA names */
    struct tw_conn_reneg *reneg; /* TLS_HTTP (optional): renegotiate first */
    tw_conn_done_cb *done_cb;
    void *arg;
    double handshake_timeout;
    double deadline; /* ev_time() at which the handshake (and exchange) must be over */
    int fd;
    int pending_errno; /* connect() failed at once: reported from the timer */
    uint8_t state;
    uint8_t kind;
    uint8_t cut;           /* enum tw_conn_cut */
    uint8_t starttls;      /* enum tw_starttls_proto, 0 = direct TLS */
    uint8_t mode;          /* enum tw_conn_mode */
    uint32_t posths_bytes; /* bytes_in when the read after the handshake began */
};

struct tw_conn_pool {
    struct ev_loop *loop;
    struct tw_conn *free_list;
    int n_free;
};

static void conn_dispatch(struct tw_conn *c, int revents);

size_t
tw_conn_size(void)
{
    return sizeof(struct tw_conn);
}

struct tw_conn_pool *
tw_conn_pool_new(struct ev_loop *loop)
{
    struct tw_conn_pool *p = tw_xcalloc(1, sizeof(*p));

    p->loop = loop;
    return p;
}

void
tw_conn_pool_free(struct tw_conn_pool *p)
{
    struct tw_conn *c, *next;

    if (p == NULL)
        return;
    for (c = p->free_list; c != NULL; c = next) {
        next = c->next_free;
        free(c);
    }
    free(p);
}

static void
conn_recycle(struct tw_conn *c)
{
    struct tw_conn_pool *p = c->pool;

    if (p->n_free >= TW_CONN_POOL_KEEP) {
        free(c);
        return;
    }
    c->next_free = p->free_list;
    p->free_list = c;
    p->n_free++;
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    conn_dispatch((struct tw_conn *)w, revents);
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    conn_dispatch((struct tw_conn *)((char *)w - offsetof(struct tw_conn, timer)), revents);
}

/* Arm the io watcher for one direction (no-op when already so). */
static void
conn_want(struct tw_conn *c, int events)
{
    if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(c->pool->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(c->pool->loop, &c->io);
}

/* An SSL_get_error() code that means "not finished yet": arm the direction
 * OpenSSL waits for and return 1; any other code returns 0. */
static int
conn_ssl_want(struct tw_conn *c, int e)
{
    if (e == SSL_ERROR_WANT_READ) {
        conn_want(c, EV_READ);
        return 1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        conn_want(c, EV_WRITE);
        return 1;
    }
    return 0;
}

/* Restart the one timer with the new state's deadline (G9). */
static void
conn_deadline(struct tw_conn *c, double seconds)
{
    ev_timer_stop(c->pool->loop, &c->timer);
    ev_timer_set(&c->timer, seconds > 0 ? seconds : 0.001, 0.);
    ev_timer_start(c->pool->loop, &c->timer);
}

/* n bytes came from the server: keep the first ones (the not_tls evidence)
 * and add n to *counter (bytes_in or starttls_bytes_in), saturating. */
static void
conn_count(struct tw_probe_result *pr, uint32_t *counter, const uint8_t *buf, size_t n)
{
    size_t take = sizeof(pr->first_bytes) - pr->n_first;

    if (take > n)
        take = n;
    memcpy(pr->first_bytes + pr->n_first, buf, take);
    pr->n_first = (uint8_t)(pr->n_first + take);
    if (n > UINT32_MAX - *counter)
        *counter = UINT32_MAX;
    else
        *counter += (uint32_t)n;
}

/*
 * The socket's reads, seen before OpenSSL parses them.  Before each read the
 * total budget is checked: OpenSSL may loop inside one SSL_connect() for as
 * long as the peer keeps bytes coming (it skips HelloRequests during the
 * handshake), so neither the ev_timer nor the event loop would ever get a
 * turn.  A read refused here fails the handshake; c->cut says why.
 */
static long
conn_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
            size_t *processed)
{
    struct tw_conn *c = (struct tw_conn *)BIO_get_callback_arg(b);
    size_t n;

    (void)len;
    (void)argi;
    (void)argl;
    if (c == NULL)
        return ret;
    if (oper == BIO_CB_READ) {
        if (c->pr->bytes_in >= TW_CONN_HANDSHAKE_BYTES_MAX) {
            c->cut = TW_CUT_BYTES;
            return -1;
        }
        /* An HTTP exchange is cut at its deadline even before a byte came
         * (the grading runner's rule); a probe only once bytes came. */
        if ((c->pr->bytes_in > 0 || c->mode == TW_CONN_TLS_HTTP) && ev_time() >= c->deadline) {
            c->cut = TW_CUT_TIME;
            return -1;
        }
        return ret;
    }
    if (oper != (BIO_CB_READ | BIO_CB_RETURN) || ret <= 0 || processed == NULL)
        return ret;
    n = *processed;
    if (n == 0 || argp == NULL)
        return ret;
    conn_count(c->pr, &c->pr->bytes_in, (const uint8_t *)argp, n);
    return ret;
}

/* Alerts, keeping who sent them: the server's fatal alert wins over ours. */
static void
conn_info_cb(const SSL *ssl, int where, int ret)
{
    struct tw_conn *c = SSL_get_app_data(ssl);
    int level = (ret >> 8) & 0xff;
    int desc = ret & 0xff;

    if (c == NULL || !(where & SSL_CB_ALERT))
        return;
    if (where & SSL_CB_READ) {
        /* The server's fatal alert overrides anything; a warning (e.g.
         * unrecognized_name) is kept only while nothing else was seen. */
        if (level == SSL3_AL_FATAL || (c->pr->alert < 0 && desc != SSL3_AD_CLOSE_NOTIFY)) {
            c->pr->alert = desc;
            c->pr->alert_sent_by_us = 0;
        }
    } else if (c->pr->alert < 0 && level == SSL3_AL_FATAL) {
        c->pr->alert = desc;
        c->pr->alert_sent_by_us = 1;
    }
}

/* A TLS record starts with a content type 20..24; an SSLv2 header has the top bit set. */
static int
conn_looks_tls(const struct tw_probe_result *pr)
{
    uint8_t b;

    if (pr->n_first == 0)
        return 1;
    b = pr->first_bytes[0];
    return (b >= 0x14 && b <= 0x18) || (b & 0x80);
}

/* Free what the attempt holds (dialogue state, SSL*, socket) and return the
 * conn to its pool; the watchers must already be stopped.  The one teardown
 * that conn_done and tw_conn_abort share. */
static void
conn_release(struct tw_conn *c)
{
    free(c->st);
    c->st = NULL;
    if (c->ssl != NULL) {
        SSL_set_app_data(c->ssl, NULL);
        BIO_set_callback_ex(SSL_get_rbio(c->ssl), NULL);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = TW_CONN_DONE;
    conn_recycle(c);
}

static void
conn_done(struct tw_conn *c)
{
    struct ev_loop *loop = c->pool->loop;
    /* A handshake that failed after the server's CertificateRequest still
     * got its Certificate (it comes first): the caller may read the chain. */
    SSL *ok_ssl = c->pr->outcome == TW_PROBE_OK || c->pr->cert_requested ? c->ssl : NULL;

    c->state = TW_CONN_DONE;
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->timer);
    c->done_cb(c->arg, ok_ssl);
    conn_release(c);
}

static void
conn_fail_local(struct tw_conn *c, const char *what)
{
    c->pr->outcome = TW_PROBE_LOCAL_ERROR;
    tw_strlcpy(c->pr->err, what, sizeof(c->pr->err));
}

/* Drain OpenSSL's error queue: the first error's text goes to the evidence. */
static unsigned long
conn_drain_errors(struct tw_conn *c, int keep_text)
{
    unsigned long first = 0, e;
    char buf[sizeof(c->pr->err)];

    while ((e = ERR_get_error()) != 0) {
        if (first == 0) {
            first = e;
            if (keep_text) {
                ERR_error_string_n(e, buf, sizeof(buf));
                tw_strlcpy(c->pr->err, buf, sizeof(c->pr->err));
            }
        }
    }
    return first;
}

static void
conn_handshake_failed(struct tw_conn *c, int ssl_err, int sys_errno)
{
    struct tw_probe_result *pr = c->pr;
    unsigned long e = conn_drain_errors(c, 1);

    if (ssl_err == SSL_ERROR_SYSCALL && sys_errno == 0 && e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS)
        sys_errno = ERR_GET_REASON(e);
    if (c->cut == TW_CUT_TIME) {
        /* As if the timer had fired: the deadline bounds the total time. */
        pr->outcome = conn_looks_tls(pr) ? TW_PROBE_TIMEOUT : TW_PROBE_NOT_TLS;
        pr->err[0] = '\0';
    } else if (c->cut == TW_CUT_BYTES) {
        pr->outcome = conn_looks_tls(pr) ? TW_PROBE_LOCAL_ERROR : TW_PROBE_NOT_TLS;
        snprintf(pr->err, sizeof(pr->err),
                 "server sent over %u bytes without completing the handshake",
                 TW_CONN_HANDSHAKE_BYTES_MAX);
    } else if (!conn_looks_tls(pr)) {
        pr->outcome = TW_PROBE_NOT_TLS;
    } else if (pr->alert >= 0 && !pr->alert_sent_by_us) {
        pr->outcome = TW_PROBE_ALERT_RECEIVED;
    } else if (ssl_err == SSL_ERROR_ZERO_RETURN) {
        pr->outcome = TW_PROBE_EOF;
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        if (sys_errno == ECONNRESET || sys_errno == EPIPE || sys_errno == ECONNABORTED) {
            pr->outcome = TW_PROBE_RESET;
            pr->sys_errno = sys_errno;
        } else if (sys_errno == 0) {
            pr->outcome = TW_PROBE_EOF;
        } else {
            pr->outcome = TW_PROBE_LOCAL_ERROR;
            pr->sys_errno = sys_errno;
            tw_strlcpy(pr->err, strerror(sys_errno), sizeof(pr->err));
        }
    } else if (ssl_err == SSL_ERROR_SSL && e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
               ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        pr->outcome = TW_PROBE_EOF;
    } else {
        pr->outcome = TW_PROBE_LOCAL_ERROR;
        if (pr->err[0] == '\0')
            tw_strlcpy(pr->err, "handshake failed", sizeof(pr->err));
    }
}

static int
conn_step_handshake(struct tw_conn *c)
{
    int r, e, sys_errno;

    ERR_clear_error();
    errno = 0;
    r = SSL_connect(c->ssl);
    sys_errno = errno;
    if (r == 1) {
        c->pr->outcome = TW_PROBE_OK;
        c->pr->version = SSL_version(c->ssl);
        tw_strlcpy(c->pr->cipher, SSL_get_cipher_name(c->ssl), sizeof(c->pr->cipher));
        if (SSL_get_current_cipher(c->ssl) != NULL)
            c->pr->cipher_id = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(c->ssl));
        conn_drain_errors(c, 0);
        return 1;
    }
    e = SSL_get_error(c->ssl, r);
    if (conn_ssl_want(c, e))
        return 0;
    conn_handshake_failed(c, e, sys_errno);
    return 1;
}

/* ---- the exchange: TLS_HTTP after the handshake, RAW after the connect ---- */

/* Room for more of the answer: grow ex->buf up to ex->max.  0 when full. */
static size_t
conn_ex_room(struct tw_conn *c)
{
    struct tw_conn_exchange *ex = c->ex;

    if (ex->len >= ex->max)
        return 0;
    if (ex->len >= ex->cap) {
        size_t cap = ex->cap == 0 ? TW_CONN_EX_FIRST : ex->cap * 2;

        if (cap > ex->max)
            cap = ex->max;
        ex->buf = tw_xrealloc(ex->buf, cap + 1);
        ex->cap = cap;
    }
    return ex->cap - ex->len;
}

/* n more bytes of the answer are in: 1 when the read is over. */
static int
conn_ex_got(struct tw_conn *c, size_t n)
{
    struct tw_conn_exchange *ex = c->ex;

    ex->len += n;
    ex->buf[ex->len] = '\0';
    return ex->complete != NULL && ex->complete(ex->buf, ex->len);
}

/* The exchange's deadline passed: a RAW conn times out; a TLS_HTTP conn
 * keeps its handshake's outcome (ex->reading tells the rest). */
static int
conn_ex_timeout(struct tw_conn *c)
{
    if (c->ssl == NULL)
        c->pr->outcome = TW_PROBE_TIMEOUT;
    return 1;
}

/* An SSL_write/SSL_read that did not succeed: wait (0) or end (1). */
static int
conn_ex_ssl_error(struct tw_conn *c, int r)
{
    if (conn_ssl_want(c, SSL_get_error(c->ssl, r)))
        return 0;
    conn_drain_errors(c, 0);
    return 1;
}

static int conn_on_recv(struct tw_conn *c, int revents);

/*
 * WAIT_SEND: write the request.  TLS: one SSL_write of all of it (no
 * partial writes in OpenSSL's default mode).  RAW: send() what is left.
 */
static int
conn_on_send(struct tw_conn *c, int revents)
{
    struct tw_conn_exchange *ex = c->ex;

    if (revents & EV_TIMER)
        return conn_ex_timeout(c);
    if (c->ssl != NULL) {
        int r;

        ERR_clear_error();
        r = SSL_write(c->ssl, ex->req, (int)ex->req_len);
        if (r <= 0)
            return conn_ex_ssl_error(c, r);
    } else {
        while (c->sent < ex->req_len) {
            ssize_t n = send(c->fd, ex->req + c->sent, ex->req_len - c->sent, MSG_NOSIGNAL);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                conn_want(c, EV_WRITE);
                return 0;
            }
            if (n <= 0) {
                c->pr->outcome = TW_PROBE_RESET;
                c->pr->sys_errno = n < 0 ? errno : EPIPE;
                return 1;
            }
            c->sent += (size_t)n;
        }
    }
    c->state = TW_CONN_WAIT_RECV;
    ex->reading = 1;
    return conn_on_recv(c, 0);
}

/*
 * WAIT_RECV: read into ex->buf until complete() says so, ex->max bytes,
 * EOF, an error or the deadline.  TLS reads also stop at the socket BIO's
 * byte budget and deadline (conn_bio_cb).
 */
static int
conn_on_recv(struct tw_conn *c, int revents)
{
    if (revents & EV_TIMER)
        return conn_ex_timeout(c);
    for (;;) {
        size_t room = conn_ex_room(c);

        if (room == 0) {
            if (c->ssl == NULL)
                c->pr->outcome = TW_PROBE_OK;
            return 1;
        }
        if (c->ssl != NULL) {
            int r;

            ERR_clear_error();
            r = SSL_read(c->ssl, c->ex->buf + c->ex->len, room > INT32_MAX ? INT32_MAX : (int)room);
            if (r <= 0)
                return conn_ex_ssl_error(c, r);
            if (conn_ex_got(c, (size_t)r))
                return 1;
        } else {
            ssize_t n = recv(c->fd, c->ex->buf + c->ex->len, room, 0);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                conn_want(c, EV_READ);
                return 0;
            }
            if (n == 0) {
                c->pr->outcome = TW_PROBE_EOF;
                return 1;
            }
            if (n < 0) {
                c->pr->outcome = TW_PROBE_RESET;
                c->pr->sys_errno = errno;
                return 1;
            }
            conn_count(c->pr, &c->pr->bytes_in, c->ex->buf + c->ex->len, (size_t)n);
            if (conn_ex_got(c, (size_t)n)) {
                c->pr->outcome = TW_PROBE_OK;
                return 1;
            }
        }
    }
}

/* RAW: write the request and read the answer, under a fresh deadline. */
static int
conn_start_raw(struct tw_conn *c)
{
    c->state = TW_CONN_WAIT_SEND;
    c->deadline = ev_time() + c->handshake_timeout;
    conn_deadline(c, c->handshake_timeout);
    return conn_on_send(c, 0);
}

/* At most this many CA names are written out (all are counted). */
#define TW_CONN_CA_NAMES_SHOWN 32

/*
 * The server's CA names as one bounded line: RFC 2253 form (OpenSSL escapes
 * controls, the bytes above 0x7f and the separators , + " \ < > ; inside
 * values, so "; " between names is unambiguous), any control byte left is
 * replaced, and the text stops at TW_CA_NAMES_MAX bytes.  NULL when none.
 */
static char *
conn_ca_names_text(const STACK_OF(X509_NAME) * names)
{
    int n = names != NULL ? sk_X509_NAME_num(names) : 0;
    char *out;
    size_t at = 0;
    BIO *b;

    if (n <= 0)
        return NULL;
    b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    out = tw_xmalloc(TW_CA_NAMES_MAX + 1);
    out[0] = '\0';
    for (int i = 0; i < n && i < TW_CONN_CA_NAMES_SHOWN; i++) {
        char *p = NULL;
        long len;

        (void)BIO_reset(b);
        if (X509_NAME_print_ex(b, sk_X509_NAME_value(names, i), 0, XN_FLAG_RFC2253) < 0)
            continue;
        len = BIO_get_mem_data(b, &p);
        if (len <= 0 || p == NULL)
            continue;
        if (at > 0 && at + 2 < TW_CA_NAMES_MAX) {
            memcpy(out + at, "; ", 2);
            at += 2;
        }
        for (long k = 0; k < len && at < TW_CA_NAMES_MAX; k++) {
            unsigned char ch = (unsigned char)p[k];

            out[at++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
        if (at >= TW_CA_NAMES_MAX)
            break;
    }
    out[at] = '\0';
    BIO_free(b);
    ERR_clear_error();
    return out;
}

/* OpenSSL asks for our certificate: the server sent a CertificateRequest.
 * Record it and its CA names, and go on without a certificate (1). */
static int
conn_cert_cb(SSL *ssl, void *arg)
{
    struct tw_conn *c = arg;
    const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(ssl);
    int n = names != NULL ? sk_X509_NAME_num(names) : 0;

    if (c == NULL)
        return 1;
    c->pr->cert_requested = 1;
    c->pr->n_ca_names = (uint16_t)(n > 0 ? (n > UINT16_MAX ? UINT16_MAX : n) : 0);
    if (c->ca_names != NULL) {
        free(*c->ca_names);
        *c->ca_names = conn_ca_names_text(names);
    }
    return 1;
}

/* The shortest bound on the read after a TLS 1.3 handshake that had a
 * CertificateRequest (conn_start_posths). */
#define TW_CONN_POSTHS_MAX 1.0

/*
 * WAIT_POSTHS: a TLS 1.3 client's handshake ends with its own Finished, so
 * a server that wanted a certificate says so afterwards (certificate_required,
 * 116).  Read until the server's first bytes or the bound: an alert, a close
 * or a reset is its verdict; anything else (a ticket, data) or silence means
 * it works without a certificate.  The handshake's outcome stays OK.
 */
static int
conn_on_posths(struct tw_conn *c, int revents)
{
    unsigned char byte;
    int r, e;

    if (revents & EV_TIMER) {
        c->pr->post_hs = TW_POST_HS_QUIET;
        return 1;
    }
    ERR_clear_error();
    errno = 0;
    r = SSL_peek(c->ssl, &byte, 1);
    if (r > 0) {
        c->pr->post_hs = TW_POST_HS_QUIET;
        return 1;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (c->pr->bytes_in > c->posths_bytes) {
            c->pr->post_hs = TW_POST_HS_QUIET; /* records that were not an alert */
            conn_drain_errors(c, 0);
            return 1;
        }
        return !conn_ssl_want(c, e);
    }
    conn_drain_errors(c, 0);
    if (c->cut == TW_CUT_TIME) {
        c->pr->post_hs = TW_POST_HS_QUIET;
    } else if (c->pr->alert >= 0 && !c->pr->alert_sent_by_us &&
               c->pr->alert != SSL3_AD_CLOSE_NOTIFY) {
        c->pr->post_hs = TW_POST_HS_ALERT;
        c->pr->post_hs_alert = (uint8_t)c->pr->alert;
    } else {
        c->pr->post_hs = TW_POST_HS_CLOSED;
    }
    return 1;
}

/* After a TLS 1.3 handshake with a CertificateRequest: read for the
 * server's verdict, bounded by the larger of TW_CONN_POSTHS_MAX and twice
 * the handshake's own time (a server or a machine that took 400 ms for the
 * handshake takes as long for its alert: a fixed 0.3 s read turned
 * client-cert-tls13 'ok' under load, and under ASan on a loaded machine
 * even 0.3 s beside a fast handshake did), and by the handshake's deadline.
 * A server that works without a certificate ends the wait at once with its
 * session ticket, so the longer floor costs only silent servers.
 * 1 when the conn is done. */
static int
conn_start_posths(struct tw_conn *c)
{
    double now = ev_time();
    double left = c->deadline - now;
    double took = now - (c->deadline - c->handshake_timeout);
    double bound = TW_CONN_POSTHS_MAX;

    if (left <= 0)
        return 1;
    if (2 * took > bound)
        bound = 2 * took;
    if (left > bound)
        left = bound;
    c->state = TW_CONN_WAIT_POSTHS;
    c->posths_bytes = c->pr->bytes_in;
    c->deadline = ev_time() + left;
    conn_deadline(c, left);
    return conn_on_posths(c, 0);
}

static int
conn_on_handshake(struct tw_conn *c, int revents)
{
    if (revents & EV_TIMER) {
        /* Silence is an outcome; bytes that were not TLS say more. */
        c->pr->outcome = conn_looks_tls(c->pr) ? TW_PROBE_TIMEOUT : TW_PROBE_NOT_TLS;
        return 1;
    }
    if (!conn_step_handshake(c))
        return 0;
    if (c->mode == TW_CONN_TLS && c->pr->outcome == TW_PROBE_OK && c->pr->cert_requested &&
        c->pr->version == TLS1_3_VERSION)
        return conn_start_posths(c);
    if (c->mode != TW_CONN_TLS_HTTP || c->pr->outcome != TW_PROBE_OK)
        return 1;
    /* The renegotiation probe: the request's SSL_write sends the new hello. */
    if (c->reneg != NULL) {
        ERR_clear_error();
        c->reneg->started = SSL_renegotiate(c->ssl) == 1;
        ERR_clear_error();
    }
    /* The exchange runs under the handshake's deadline (conn_start_tls). */
    c->state = TW_CONN_WAIT_SEND;
    return conn_on_send(c, 0);
}

/* The renegotiation probe's message callback: counts the ServerHellos
 * received and keeps the last alert's description (no other byte). */
static void
conn_reneg_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                  void *arg)
{
    struct tw_conn_reneg *rn = arg;
    const uint8_t *b = buf;

    (void)version;
    (void)ssl;
    if (write_p || rn == NULL || len < 2)
        return;
    if (content_type == SSL3_RT_HANDSHAKE && b[0] == SSL3_MT_SERVER_HELLO)
        rn->server_hellos++;
    else if (content_type == SSL3_RT_ALERT)
        rn->alert = b[1];
}

/* Connected: make the SSL and send the ClientHello.  1 = done. */
static int
conn_start_tls(struct tw_conn *c)
{
    BIO *b;

    c->ssl = tw_tlsctx_ssl_new(c->tls, (enum tw_probe_kind)c->kind, c->sni);
    if (c->ssl == NULL) {
        conn_fail_local(c, "SSL_new failed");
        conn_drain_errors(c, 0);
        return 1;
    }
    ERR_clear_error();
    if (SSL_set_fd(c->ssl, c->fd) != 1) {
        conn_fail_local(c, "SSL_set_fd failed");
        conn_drain_errors(c, 0);
        return 1;
    }
    /* An HTTP exchange reads past the handshake, where a server could keep
     * SSL_read() busy with HelloRequests: renegotiation is refused. */
    if (c->mode == TW_CONN_TLS_HTTP && c->reneg == NULL)
        SSL_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION);
    if (c->reneg != NULL) {
        /* Issue 14: a server without RFC 5746, renegotiated by us. */
        SSL_set_options(c->ssl,
                        SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION);
        if (c->reneg->max_version != 0)
            (void)SSL_set_max_proto_version(c->ssl, c->reneg->max_version);
        c->reneg->alert = -1;
        SSL_set_msg_callback(c->ssl, conn_reneg_msg_cb);
        SSL_set_msg_callback_arg(c->ssl, c->reneg);
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_info_callback(c->ssl, conn_info_cb);
    SSL_set_cert_cb(c->ssl, conn_cert_cb, c);
    b = SSL_get_rbio(c->ssl);
    BIO_set_callback_arg(b, (char *)c);
    BIO_set_callback_ex(b, conn_bio_cb);
    c->state = TW_CONN_WAIT_HANDSHAKE;
    /* One deadline for the whole handshake, however the bytes trickle in:
     * the timer is armed here, once, and never restarted per read. */
    c->deadline = ev_time() + c->handshake_timeout;
    conn_deadline(c, c->handshake_timeout);
    return conn_on_handshake(c, 0);
}

/* After the connect and the optional dialogue: the handshake or the raw exchange. */
static int
conn_start_next(struct tw_conn *c)
{
    return c->mode == TW_CONN_RAW ? conn_start_raw(c) : conn_start_tls(c);
}

/* ---- the STARTTLS plaintext phase ---------------------------------------- */

/* Where the plaintext phase ended (starttls.h step 5): the final status, or
 * NEED_MORE when EOF, a reset or the deadline cut it. */
static void
conn_starttls_record(struct tw_conn *c, int status)
{
    c->pr->starttls_result =
        (uint8_t)(status >= TW_STARTTLS_READY ? status : TW_STARTTLS_NEED_MORE);
    tw_strlcpy(c->pr->starttls_detail, tw_starttls_detail(c->st), sizeof(c->pr->starttls_detail));
}

static int conn_starttls_verdict(struct tw_conn *c, int status);

/*
 * The socket failed, closed or went silent during the dialogue.  For the
 * line protocols, a last line the server never ended is judged as if it
 * had: when those bytes are not the protocol at all (a banner of another
 * service, random bytes and a close) the verdict is the protocol error
 * (not_tls), not a cut that only says when it stopped.  Any other verdict
 * of that judgement is ignored: a cut stays a cut.
 */
static int
conn_starttls_cut(struct tw_conn *c, enum tw_probe_outcome outcome, int sys_errno)
{
    if (c->pr->starttls_bytes_in > 0 &&
        (c->starttls == TW_STARTTLS_SMTP || c->starttls == TW_STARTTLS_IMAP ||
         c->starttls == TW_STARTTLS_POP3 || c->starttls == TW_STARTTLS_FTP) &&
        tw_starttls_input(c->st, (const uint8_t *)"\r\n", 2) == TW_STARTTLS_PROTOCOL_ERROR)
        return conn_starttls_verdict(c, TW_STARTTLS_PROTOCOL_ERROR);
    c->pr->outcome = outcome;
    c->pr->sys_errno = sys_errno;
    conn_starttls_record(c, TW_STARTTLS_NEED_MORE);
    return 1;
}

/* A final status other than READY: record it and end the probe. */
static int
conn_starttls_verdict(struct tw_conn *c, int status)
{
    struct tw_probe_result *pr = c->pr;

    conn_starttls_record(c, status);
    if (status == TW_STARTTLS_PROTOCOL_ERROR) {
        pr->outcome = TW_PROBE_NOT_TLS;
    } else {
        pr->outcome = TW_PROBE_LOCAL_ERROR;
        snprintf(pr->err, sizeof(pr->err), "starttls: %s", tw_starttls_detail(c->st));
    }
    return 1;
}

/*
 * One step of the dialogue: write what is pending, read what is there, feed
 * it, until the socket would block (0) or the phase is over (1 = done, or
 * the result of conn_start_tls()).  Bounded: each read feeds the state
 * machine, which ends with PROTOCOL_ERROR past TW_STARTTLS_TOTAL_MAX bytes.
 */
static int
conn_on_starttls(struct tw_conn *c, int revents)
{
    uint8_t buf[4096];
    const uint8_t *out;
    size_t len;
    ssize_t n;
    int r;

    if (revents & EV_TIMER) {
        /* Silence, or a dialogue that never reached a verdict. */
        return conn_starttls_cut(c, TW_PROBE_TIMEOUT, 0);
    }
    for (;;) {
        while (tw_starttls_output(c->st, &out, &len)) {
            n = send(c->fd, out, len, MSG_NOSIGNAL);
            if (n > 0) {
                tw_starttls_sent(c->st, (size_t)n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                conn_want(c, EV_WRITE);
                return 0;
            }
            return conn_starttls_cut(c, TW_PROBE_RESET, n < 0 ? errno : EPIPE);
        }
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_want(c, EV_READ);
            return 0;
        }
        if (n == 0)
            return conn_starttls_cut(c, TW_PROBE_EOF, 0);
        if (n < 0)
            return conn_starttls_cut(c, TW_PROBE_RESET, errno);
        /* The first plaintext bytes are the not_tls evidence if the
         * dialogue ends with a protocol error. */
        conn_count(c->pr, &c->pr->starttls_bytes_in, buf, (size_t)n);
        r = tw_starttls_input(c->st, buf, (size_t)n);
        switch (r) {
        case TW_STARTTLS_NEED_MORE:
        case TW_STARTTLS_SEND:
            continue; /* write what is pending (if any), then read again */
        case TW_STARTTLS_READY:
            conn_starttls_record(c, r);
            free(c->st);
            c->st = NULL;
            /* The TLS phase is judged on its own bytes (starttls.h step 4). */
            c->pr->n_first = 0;
            c->pr->bytes_in = 0;
            return conn_start_next(c);
        default:
            return conn_starttls_verdict(c, r);
        }
    }
}

/* Connected to a STARTTLS endpoint: start the plaintext dialogue. */
static int
conn_start_starttls(struct tw_conn *c)
{
    c->st = tw_xmalloc(sizeof(*c->st));
    tw_starttls_init(c->st, (enum tw_starttls_proto)c->starttls, c->starttls_host);
    c->state = TW_CONN_WAIT_STARTTLS;
    /* The plaintext phase has a deadline of its own; conn_start_tls()
     * arms a fresh one for the TLS handshake. */
    conn_deadline(c, c->handshake_timeout);
    return conn_on_starttls(c, 0);
}

static int
conn_on_connect(struct tw_conn *c, int revents)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (revents & EV_TIMER) {
        if (c->pending_errno != 0) {
            c->pr->outcome = TW_PROBE_CONNECT_ERROR;
            c->pr->sys_errno = c->pending_errno;
        } else {
            c->pr->outcome = TW_PROBE_CONNECT_TIMEOUT;
        }
        return 1;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EALREADY)
        return 0;
    if (soerr != 0) {
        c->pr->outcome = TW_PROBE_CONNECT_ERROR;
        c->pr->sys_errno = soerr;
        return 1;
    }
    if (c->starttls != TW_STARTTLS_NONE)
        return conn_start_starttls(c);
    return conn_start_next(c);
}

static void
conn_dispatch(struct tw_conn *c, int revents)
{
    int done = 0;

    switch ((enum tw_conn_state)c->state) {
    case TW_CONN_WAIT_CONNECT:
        done = conn_on_connect(c, revents);
        break;
    case TW_CONN_WAIT_STARTTLS:
        done = conn_on_starttls(c, revents);
        break;
    case TW_CONN_WAIT_HANDSHAKE:
        done = conn_on_handshake(c, revents);
        break;
    case TW_CONN_WAIT_SEND:
        done = conn_on_send(c, revents);
        break;
    case TW_CONN_WAIT_RECV:
        done = conn_on_recv(c, revents);
        break;
    case TW_CONN_WAIT_POSTHS:
        done = conn_on_posths(c, revents);
        break;
    case TW_CONN_DONE:
        break;
    }
    if (done)
        conn_done(c);
}

int
tw_conn_start(struct tw_conn_pool *p, const struct tw_conn_params *params, struct tw_conn **out)
{
    struct tw_conn *c = NULL;
    int fd = -1;
    int rc = -EINVAL;

    if (params->mode != TW_CONN_TLS && params->ex == NULL)
        goto out; /* an exchange needs its buffer */
    fd = socket(params->sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (p->free_list != NULL) {
        c = p->free_list;
        p->free_list = c->next_free;
        p->n_free--;
        memset(c, 0, sizeof(*c));
    } else {
        c = tw_xcalloc(1, sizeof(*c));
    }
    c->pool = p;
    c->fd = fd;
    c->pr = params->out;
    c->tls = params->tls;
    c->sni = params->sni;
    c->ca_names = params->ca_names;
    c->reneg = params->mode == TW_CONN_TLS_HTTP ? params->reneg : NULL;
    c->kind = (uint8_t)params->kind;
    c->mode = (uint8_t)params->mode;
    if (params->mode != TW_CONN_TLS) {
        c->ex = params->ex;
        c->ex->len = 0;
        c->ex->reading = 0;
    }
    c->done_cb = params->done_cb;
    c->arg = params->arg;
    c->handshake_timeout = params->handshake_timeout;
    c->state = TW_CONN_WAIT_CONNECT;
    if (params->starttls > TW_STARTTLS_NONE && params->starttls < TW_STARTTLS__COUNT) {
        c->starttls = (uint8_t)params->starttls;
        c->starttls_host = params->starttls_host;
    }
    memset(c->pr, 0, sizeof(*c->pr));
    c->pr->alert = -1;
    c->pr->starttls = c->starttls;
    ev_io_init(&c->io, conn_io_cb, fd, EV_WRITE);
    ev_timer_init(&c->timer, conn_timer_cb, 0., 0.);

    if (connect(fd, params->sa, params->salen) < 0 && errno != EINPROGRESS) {
        int e = errno;

        if (e == EADDRNOTAVAIL || e == ENOBUFS || e == EAGAIN || e == ENOMEM) {
            rc = -e; /* ours, not the peer's: the caller retries later */
            goto out;
        }
        /* Reported from the loop, never from inside tw_conn_start (conn.h). */
        c->pending_errno = e;
        conn_deadline(c, 0.);
    } else {
        ev_io_start(p->loop, &c->io);
        conn_deadline(c, params->connect_timeout);
    }
    fd = -1;
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (c != NULL) {
        c->fd = -1;
        conn_recycle(c);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

void
tw_conn_abort(struct tw_conn *c)
{
    struct ev_loop *loop = c->pool->loop;

    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->timer);
    conn_release(c);
}
