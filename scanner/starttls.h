/*
 * starttls.h - the plaintext phase of a STARTTLS endpoint (issue 9): speak
 * just enough SMTP, IMAP, POP3, FTP, XMPP, LDAP or PostgreSQL to ask for TLS,
 * then hand the socket to the TLS handshake.
 *
 * The module is pure (STYLE G6): bytes in, bytes out, no sockets, no clock,
 * no globals but const tables.  One struct tw_starttls per connection, owned
 * by its caller (about 4.8 KiB: allocate it only for STARTTLS probes); it
 * holds no pointers, so it may be freed at any time.  Every byte it is fed
 * is hostile: a line longer than TW_STARTTLS_LINE_MAX, a reply of more than
 * TW_STARTTLS_REPLY_LINES_MAX lines or more than TW_STARTTLS_TOTAL_MAX bytes
 * in all ends the dialogue with TW_STARTTLS_PROTOCOL_ERROR.
 *
 * What is sent and what decides (UNSUPPORTED: the service does not offer
 * STARTTLS; REFUSED: it offers it, or refuses us, but the upgrade fails):
 *
 *   smtp     S: 220 greeting (421/554 greeting: REFUSED)
 *            C: EHLO tlsweep.invalid   S: 250 reply; no STARTTLS keyword, or
 *            EHLO answered 5xx: UNSUPPORTED (4xx: REFUSED)
 *            C: STARTTLS   S: 220 READY, 4xx/5xx REFUSED
 *   imap     S: * OK greeting (* PREAUTH: UNSUPPORTED, * BYE: REFUSED); when
 *            its [CAPABILITY ...] lists STARTTLS the CAPABILITY command is
 *            skipped; C: A001 CAPABILITY  S: * CAPABILITY ... A001 OK; no
 *            STARTTLS (or NO/BAD): UNSUPPORTED
 *            C: A002 STARTTLS  S: A002 OK READY, NO/BAD or * BYE REFUSED
 *   pop3     S: +OK (-ERR: REFUSED)   C: CAPA  S: +OK list "." without STLS,
 *            or -ERR: UNSUPPORTED   C: STLS  S: +OK READY, -ERR REFUSED
 *   ftp      S: 220 (1xx preliminary replies are waited through; 4xx/5xx:
 *            REFUSED)   C: AUTH TLS  S: 234 READY, 500/502/504 UNSUPPORTED,
 *            other 4xx/5xx REFUSED (RFC 959 multi-line replies)
 *   xmpp     C: <stream:stream to='HOST' ...> (client-to-server)
 *            S: stream header, <stream:features> without <starttls>:
 *            UNSUPPORTED; C: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
 *            S: <proceed/> READY, <failure/>, <stream:error> or a closed
 *            stream REFUSED.  Minimal XML scanning, no XML library: tags are
 *            found by '<' .. '>' outside quotes, comments and <? ?> skipped,
 *            element names compared on their local part.
 *   ldap     C: ExtendedRequest 1.3.6.1.4.1.1466.20037 (messageID 1)
 *            S: ExtendedResponse: resultCode 0 READY, 2 (protocolError: the
 *            operation is unknown, RFC 4511 4.12) UNSUPPORTED, any other code
 *            or a Notice of Disconnection REFUSED.  Definite BER lengths only,
 *            one message of at most TW_STARTTLS_LINE_MAX bytes.
 *   postgres C: SSLRequest 00 00 00 08 04 d2 16 2f
 *            S: 'S' READY, 'N' UNSUPPORTED, 'E' (ErrorResponse) REFUSED.
 *
 * PROTOCOL_ERROR means the peer does not speak the protocol (garbage, a
 * banner of another service, a TLS record from a direct-TLS port, bounds
 * exceeded).  It maps to the class not_tls: "the peer speaks something
 * else" (tw_starttls_classify).  Bytes that follow the server's go-ahead
 * (220 / OK / 234 / <proceed/> / 'S') in the same read are a PROTOCOL_ERROR
 * too: a real server waits for our ClientHello, and plaintext that would be
 * taken for the TLS stream is a response-injection attempt (CVE-2021-23222
 * style), so it is never passed on.
 *
 * ---- How the engine drives it (scanner/conn.c, scanner/grader.c) ---------
 *
 * 1. struct tw_conn_params carries `int starttls;` (enum tw_starttls_proto,
 *    from struct tw_target.starttls) and `const char *starttls_host;` (the
 *    XMPP domain: the SNI name, else the target host).  conn gets a
 *    `struct tw_starttls *st` pointer (heap, only when starttls != 0, freed
 *    in conn_done()/tw_conn_abort()) and a state TW_CONN_WAIT_STARTTLS
 *    between WAIT_CONNECT and WAIT_HANDSHAKE.
 * 2. tw_conn_start(): after the memset of *pr, set pr->starttls = starttls.
 * 3. conn_on_connect(), when connected and starttls != 0: instead of
 *    conn_start_tls(): c->st = tw_xmalloc(sizeof *c->st);
 *    tw_starttls_init(c->st, proto, host); state = WAIT_STARTTLS;
 *    conn_deadline(c, handshake_timeout) (the plaintext phase has its own
 *    --handshake-timeout; conn_start_tls() restarts it for TLS);
 *    then run the step below once.
 * 4. conn_on_starttls(c, revents) (the step):
 *      EV_TIMER: pr->outcome = TW_PROBE_TIMEOUT; record (5); done.
 *      while tw_starttls_output(st, &p, &n): send(fd, p, n, MSG_NOSIGNAL);
 *        > 0: tw_starttls_sent(st, sent); EAGAIN: conn_want(EV_WRITE),
 *        return 0; EPIPE/ECONNRESET: outcome RESET (+ sys_errno); record;
 *        done.
 *      recv(fd, buf, 4096, 0) (a stack buffer): EAGAIN -> conn_want(EV_READ),
 *        return 0; 0 -> outcome EOF; ECONNRESET -> outcome RESET; record; done.
 *        n > 0: pr->starttls_bytes_in += n; copy the first plaintext bytes
 *        into pr->first_bytes/n_first (the not_tls evidence if it ends so);
 *        r = tw_starttls_input(st, buf, n), then
 *        NEED_MORE -> read again (loop until EAGAIN);
 *        SEND      -> loop to the output step;
 *        READY     -> record; free st; reset pr->n_first and pr->bytes_in
 *                     to 0; return conn_start_next(c) (the handshake, or
 *                     a raw exchange's hello; the same fd; the BIO
 *                     callback then counts only TLS bytes, so first_bytes
 *                     and not_tls judge the TLS phase alone);
 *        UNSUPPORTED / REFUSED -> pr->outcome = TW_PROBE_LOCAL_ERROR, err =
 *                     "starttls: " + detail; record; done;
 *        PROTOCOL_ERROR -> pr->outcome = TW_PROBE_NOT_TLS with the first
 *                     plaintext bytes in first_bytes/n_first; record; done.
 * 5. "record": pr->starttls_result = the last status returned (or
 *    TW_STARTTLS_NEED_MORE when the phase was cut by EOF/reset/timeout), and
 *    tw_strlcpy(pr->starttls_detail, tw_starttls_detail(st), sizeof ...).
 * 6. classify.c: at the top of tw_classify_next_probe(), `if
 *    (tw_starttls_classify(m, &c, NULL, 0)) return -1;` (no follow-up probe
 *    can explain a plaintext failure); in tw_classify(), before the MAIN
 *    outcome switch: `if (tw_starttls_classify(m, &c, buf, sizeof buf)) {
 *    db_part(d, "%s", buf); set |= TW_ISSUE(c); }` instead of the
 *    network/TLS failure branches.  tw_class_repro() (store/model.h)
 *    appends " -starttls " + tw_starttls_name(proto) for every STARTTLS
 *    endpoint (r->starttls, or tw_starttls_from_target() on the stored
 *    target text), whatever the class.
 * 7. Follow-up probes (NO_SNI, TLSxx, ALL_CIPHERS) run the same plaintext
 *    phase (the params carry starttls).  The raw-hello grading probes
 *    (grader.c) are conns too (TW_CONN_RAW): the same phase runs before
 *    their ClientHello; a dialogue that does not reach READY stops the
 *    grading (the endpoint stays ungraded, the detail says why).
 */
#ifndef TW_SCANNER_STARTTLS_H
#define TW_SCANNER_STARTTLS_H

#include <stddef.h>
#include <stdint.h>

#include "scanner/evidence.h"
#include "store/model.h"

#define TW_STARTTLS_LINE_MAX 4096         /* one line, XML tag or BER message */
#define TW_STARTTLS_TOTAL_MAX (64 * 1024) /* plaintext bytes accepted in all */
#define TW_STARTTLS_REPLY_LINES_MAX 1000  /* lines in one multi-line reply */
#define TW_STARTTLS_OUT_MAX 512           /* one command we send */
#define TW_STARTTLS_DETAIL_MAX TW_PROBE_STARTTLS_DETAIL

/* What tw_starttls_input() returns; the last four are final. */
enum tw_starttls_status {
    TW_STARTTLS_NEED_MORE = 0, /* read more */
    TW_STARTTLS_SEND,          /* output is pending: send it, then read */
    TW_STARTTLS_READY,         /* start the TLS handshake on this socket now */
    TW_STARTTLS_UNSUPPORTED,   /* the service does not offer STARTTLS */
    TW_STARTTLS_REFUSED,       /* it offers it, but the upgrade (or the session) was refused */
    TW_STARTTLS_PROTOCOL_ERROR /* not this protocol, or bounds exceeded */
};

/* Per-connection state.  Fields are private to starttls.c. */
struct tw_starttls {
    uint8_t proto;  /* enum tw_starttls_proto */
    uint8_t phase;  /* protocol step (starttls.c) */
    uint8_t status; /* enum tw_starttls_status, final once >= READY */
    uint8_t offered;
    uint8_t in_multi;  /* inside a multi-line reply */
    uint8_t seen_byte; /* any byte received yet */
    uint16_t code;     /* the multi-line reply's code */
    uint32_t n_lines;  /* lines of the current reply */
    uint32_t total_in;
    uint32_t out_len;
    uint32_t out_off;
    uint32_t blen;
    uint8_t out[TW_STARTTLS_OUT_MAX];
    uint8_t buf[TW_STARTTLS_LINE_MAX];
    char detail[TW_STARTTLS_DETAIL_MAX];
};

/*
 * Start the dialogue for proto p (not TW_STARTTLS_NONE).  hostname is the
 * XMPP stream's 'to' domain (the SNI name or the target host; characters
 * outside [A-Za-z0-9.:_-] are dropped); other protocols ignore it; NULL is
 * allowed.  For client-first protocols (XMPP, LDAP, PostgreSQL) output is
 * pending right away.
 */
void tw_starttls_init(struct tw_starttls *s, enum tw_starttls_proto p, const char *hostname);

/* Bytes to send now: 1 with *out and *len set (borrowed from s, valid until the
 * next call on s), 0 when nothing is pending. */
int tw_starttls_output(struct tw_starttls *s, const uint8_t **out, size_t *len);

/* n bytes of the pending output were written (partial writes allowed). */
void tw_starttls_sent(struct tw_starttls *s, size_t n);

/* Feed bytes received (len > 0).  Returns enum tw_starttls_status; once a
 * final status is returned, later calls return it again and change nothing. */
int tw_starttls_input(struct tw_starttls *s, const uint8_t *in, size_t len);

/* A short human text of the exchange so far ("smtp: EHLO reply (7 lines)
 * has no STARTTLS"), printable ASCII, always NUL-terminated, at most
 * TW_STARTTLS_DETAIL_MAX - 1 bytes.  Server text in it is sanitised. */
const char *tw_starttls_detail(const struct tw_starttls *s);

/* "need_more", "send", "ready", "unsupported", "refused", "protocol_error". */
const char *tw_starttls_status_name(int status);

/* The `openssl s_client -starttls` name of p ("smtp", ...), "" for none. */
const char *tw_starttls_sclient_name(enum tw_starttls_proto p);

/* --starttls auto: the protocol usually spoken on port (25/587 smtp, 143
 * imap, 110 pop3, 21 ftp, 5222 xmpp, 389 ldap, 5432 postgres); 0 for every
 * other port, including the direct-TLS ones (465, 993, 995, 636, 5223). */
enum tw_starttls_proto tw_starttls_for_port(uint16_t port);

/*
 * The class the plaintext phase of probe m decides, for classify.c.
 * Returns 1 with *cls (and a detail line in buf[len] when buf is not NULL)
 * when it decides: UNSUPPORTED -> starttls_unsupported, REFUSED ->
 * starttls_refused, PROTOCOL_ERROR -> not_tls, a phase cut by a timeout
 * -> handshake_timeout, by EOF or reset -> tcp_reset.  Returns 0 when the
 * probe was direct TLS, when the upgrade was READY (the TLS phase is
 * classified as usual) or when the connection never got that far.
 */
int tw_starttls_classify(const struct tw_probe_result *m, enum tw_class *cls, char *buf,
                         size_t len);

#endif /* TW_SCANNER_STARTTLS_H */
