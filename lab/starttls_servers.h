/*
 * starttls_servers.h - lab responders for STARTTLS endpoints (issue 9): a
 * minimal server side of SMTP, IMAP, POP3, FTP, XMPP, LDAP and PostgreSQL
 * that speaks just enough plaintext to be asked for TLS, then hands the same
 * socket to SSL_accept(); plus two SMTP variants for the two STARTTLS
 * failure classes (no STARTTLS in EHLO, and STARTTLS answered 454).
 *
 * Two layers:
 *   - struct tw_lab_starttls: a pure responder (bytes in, bytes out, no
 *     sockets, no clock), bounded (one command line of at most
 *     TW_LAB_STLS_LINE_MAX bytes, replies of at most TW_LAB_STLS_OUT_MAX).
 *     A non-blocking server loop drives it.
 *   - tw_lab_starttls_serve(): a blocking driver for one accepted socket
 *     (used by the unit tests over a socketpair, and usable from a thread).
 *
 * Wiring into the lab's libev servers (servers.c), per connection:
 *   accept: tw_lab_starttls_init(&r, kind); flush (below); state PLAIN.
 *   flush:  while tw_lab_starttls_output(&r, &p, &n): write(fd, p, n);
 *           tw_lab_starttls_sent(&r, written); on EAGAIN wait for EV_WRITE.
 *   PLAIN readable: n = read(fd, buf, sizeof buf); n <= 0 -> close;
 *           v = tw_lab_starttls_input(&r, buf, n); flush;
 *           v == TW_LAB_STLS_UPGRADE -> once the output is flushed, go to the
 *             existing TLS state exactly as for a fresh TLS connection
 *             (SSL_new(ctx), SSL_set_fd(fd), SSL_accept until done);
 *           v == TW_LAB_STLS_CLOSE -> close once flushed;
 *           else stay in PLAIN.
 * The lab table rows (lab.c) would be, e.g. for port 2525 on BASE+N:
 *   smtp://starttls-smtp.lab.tlsweep.test:PORT           ok
 *   smtp://starttls-unsupported.lab.tlsweep.test:PORT    starttls_unsupported
 *   smtp://starttls-refused.lab.tlsweep.test:PORT        starttls_refused
 * (tw_lab_starttls_expected() gives the class of each kind).
 *
 * Threading: a struct tw_lab_starttls belongs to one connection; the
 * functions keep no state elsewhere and may run on any thread.
 */
#ifndef TW_LAB_STARTTLS_SERVERS_H
#define TW_LAB_STARTTLS_SERVERS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TW_LAB_STLS_LINE_MAX 512
#define TW_LAB_STLS_OUT_MAX 1024

enum tw_lab_starttls_kind {
    TW_LAB_STLS_SMTP = 0,         /* EHLO lists STARTTLS, STARTTLS -> 220 */
    TW_LAB_STLS_SMTP_UNSUPPORTED, /* EHLO without STARTTLS; STARTTLS -> 502 */
    TW_LAB_STLS_SMTP_REFUSED,     /* EHLO lists STARTTLS, STARTTLS -> 454 */
    TW_LAB_STLS_IMAP,             /* greeting without capabilities; CAPABILITY lists STARTTLS */
    TW_LAB_STLS_POP3,             /* CAPA lists STLS */
    TW_LAB_STLS_FTP,              /* multi-line 220 greeting; AUTH TLS -> 234 */
    TW_LAB_STLS_XMPP,             /* features with <starttls><required/></starttls> */
    TW_LAB_STLS_LDAP,             /* StartTLS extended operation -> success */
    TW_LAB_STLS_POSTGRES,         /* SSLRequest -> 'S' */
    TW_LAB_STLS__COUNT
};

/* tw_lab_starttls_input() results. */
enum {
    TW_LAB_STLS_CONTINUE = 0, /* flush the output, keep reading plaintext */
    TW_LAB_STLS_UPGRADE = 1,  /* flush the output, then SSL_accept on this socket */
    TW_LAB_STLS_CLOSE = -1,   /* flush the output, then close */
};

struct tw_lab_starttls {
    int kind;
    int phase;
    size_t blen;
    size_t out_len;
    size_t out_off;
    uint8_t buf[TW_LAB_STLS_LINE_MAX];
    uint8_t out[TW_LAB_STLS_OUT_MAX];
};

/* Start a connection of this kind; server-first protocols queue their
 * greeting at once. */
void tw_lab_starttls_init(struct tw_lab_starttls *r, enum tw_lab_starttls_kind kind);
/* Pending output: 1 with *out and *len (borrowed from r), 0 when none. */
int tw_lab_starttls_output(struct tw_lab_starttls *r, const uint8_t **out, size_t *len);
/* n bytes of the pending output were written. */
void tw_lab_starttls_sent(struct tw_lab_starttls *r, size_t n);
/* Feed bytes from the client: TW_LAB_STLS_CONTINUE, _UPGRADE or _CLOSE.
 * Bytes after the command that triggers the upgrade are dropped (a client
 * must wait for the go-ahead before it sends its ClientHello). */
int tw_lab_starttls_input(struct tw_lab_starttls *r, const uint8_t *in, size_t len);

/* The kind's name ("smtp", "smtp-unsupported", ...) and the primary class a
 * correct scanner reports for it with a valid certificate ("ok",
 * "starttls_unsupported", "starttls_refused"). */
const char *tw_lab_starttls_kind_name(enum tw_lab_starttls_kind kind);
const char *tw_lab_starttls_expected(enum tw_lab_starttls_kind kind);
/* The target scheme for the kind ("smtp", "imap", ...). */
const char *tw_lab_starttls_scheme(enum tw_lab_starttls_kind kind);

/*
 * Blocking driver for one accepted socket (blocking or not): the plaintext
 * dialogue, then SSL_accept() with ctx on the same fd.  Each wait is bounded
 * by timeout_ms.  Returns the SSL after a completed handshake (the caller
 * SSL_free()s it and closes fd), or NULL when the dialogue ended without an
 * upgrade (the expected end for the failure variants), on a timeout, or
 * when the handshake failed.  Never closes fd.
 */
SSL *tw_lab_starttls_serve(int fd, enum tw_lab_starttls_kind kind, SSL_CTX *ctx, int timeout_ms);

#endif /* TW_LAB_STARTTLS_SERVERS_H */
