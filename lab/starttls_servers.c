/*
 * starttls_servers.c - the lab's STARTTLS responders (see starttls_servers.h).
 *
 * Line protocols collect one command line in r->buf and answer it; XMPP
 * waits for the client's stream header and then for its <starttls/>; LDAP
 * waits for one BER message and checks it carries the StartTLS OID;
 * PostgreSQL waits for the 8-byte SSLRequest.  A client line longer than
 * TW_LAB_STLS_LINE_MAX closes the connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/socket.h>

#include <openssl/err.h>

#include "lab/starttls_servers.h"

enum {
    LPH_START = 0,
    LPH_FEATURES, /* xmpp: features sent, waiting for <starttls/> */
};

static const struct {
    const char *name;
    const char *scheme;
    const char *expected;
} lab_stls_kinds[TW_LAB_STLS__COUNT] = {
    [TW_LAB_STLS_SMTP] = {"smtp", "smtp", "ok"},
    [TW_LAB_STLS_SMTP_UNSUPPORTED] = {"smtp-unsupported", "smtp", "starttls_unsupported"},
    [TW_LAB_STLS_SMTP_REFUSED] = {"smtp-refused", "smtp", "starttls_refused"},
    [TW_LAB_STLS_IMAP] = {"imap", "imap", "ok"},
    [TW_LAB_STLS_POP3] = {"pop3", "pop3", "ok"},
    [TW_LAB_STLS_FTP] = {"ftp", "ftp", "ok"},
    [TW_LAB_STLS_XMPP] = {"xmpp", "xmpp", "ok"},
    [TW_LAB_STLS_LDAP] = {"ldap", "ldap", "ok"},
    [TW_LAB_STLS_POSTGRES] = {"postgres", "postgres", "ok"},
};

static const uint8_t lab_ldap_oid[] = "1.3.6.1.4.1.1466.20037";
static const uint8_t lab_pg_sslrequest[8] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};

const char *
tw_lab_starttls_kind_name(enum tw_lab_starttls_kind kind)
{
    return (unsigned)kind < TW_LAB_STLS__COUNT ? lab_stls_kinds[kind].name : "?";
}

const char *
tw_lab_starttls_expected(enum tw_lab_starttls_kind kind)
{
    return (unsigned)kind < TW_LAB_STLS__COUNT ? lab_stls_kinds[kind].expected : "?";
}

const char *
tw_lab_starttls_scheme(enum tw_lab_starttls_kind kind)
{
    return (unsigned)kind < TW_LAB_STLS__COUNT ? lab_stls_kinds[kind].scheme : "?";
}

/* Append text to the pending output (truncated at the buffer's end). */
static void
lab_stls_say(struct tw_lab_starttls *r, const void *p, size_t n)
{
    if (r->out_off == r->out_len) {
        r->out_off = 0;
        r->out_len = 0;
    }
    if (n > sizeof(r->out) - r->out_len)
        n = sizeof(r->out) - r->out_len;
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
}

static void
lab_stls_says(struct tw_lab_starttls *r, const char *text)
{
    lab_stls_say(r, text, strlen(text));
}

void
tw_lab_starttls_init(struct tw_lab_starttls *r, enum tw_lab_starttls_kind kind)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    switch (kind) {
    case TW_LAB_STLS_SMTP:
    case TW_LAB_STLS_SMTP_UNSUPPORTED:
    case TW_LAB_STLS_SMTP_REFUSED:
        lab_stls_says(r, "220 lab.tlsweep.test ESMTP tlsweep-lab\r\n");
        break;
    case TW_LAB_STLS_IMAP:
        lab_stls_says(r, "* OK tlsweep-lab IMAP4rev1 ready\r\n");
        break;
    case TW_LAB_STLS_POP3:
        lab_stls_says(r, "+OK tlsweep-lab POP3 ready\r\n");
        break;
    case TW_LAB_STLS_FTP:
        lab_stls_says(r, "220-tlsweep-lab FTP\r\n free text line of a multi-line reply\r\n"
                         "220 ready\r\n");
        break;
    default:
        break; /* client-first protocols */
    }
}

int
tw_lab_starttls_output(struct tw_lab_starttls *r, const uint8_t **out, size_t *len)
{
    if (r->out_off >= r->out_len)
        return 0;
    *out = r->out + r->out_off;
    *len = r->out_len - r->out_off;
    return 1;
}

void
tw_lab_starttls_sent(struct tw_lab_starttls *r, size_t n)
{
    if (n > r->out_len - r->out_off)
        n = r->out_len - r->out_off;
    r->out_off += n;
}

/* Is line (without CRLF) the command cmd, case-insensitive, alone or
 * followed by a space? */
static int
lab_stls_cmd(const uint8_t *line, size_t n, const char *cmd)
{
    size_t k = strlen(cmd);

    return n >= k && strncasecmp((const char *)line, cmd, k) == 0 && (n == k || line[k] == ' ');
}

static int
lab_stls_smtp(struct tw_lab_starttls *r, const uint8_t *l, size_t n)
{
    if (lab_stls_cmd(l, n, "EHLO")) {
        lab_stls_says(r, "250-lab.tlsweep.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n");
        if (r->kind != TW_LAB_STLS_SMTP_UNSUPPORTED)
            lab_stls_says(r, "250-STARTTLS\r\n");
        lab_stls_says(r, "250 8BITMIME\r\n");
    } else if (lab_stls_cmd(l, n, "HELO")) {
        lab_stls_says(r, "250 lab.tlsweep.test\r\n");
    } else if (lab_stls_cmd(l, n, "STARTTLS")) {
        if (r->kind == TW_LAB_STLS_SMTP_UNSUPPORTED) {
            lab_stls_says(r, "502 5.5.1 STARTTLS not available\r\n");
        } else if (r->kind == TW_LAB_STLS_SMTP_REFUSED) {
            lab_stls_says(r, "454 4.7.0 TLS not available due to temporary reason\r\n");
        } else {
            lab_stls_says(r, "220 2.0.0 Ready to start TLS\r\n");
            return TW_LAB_STLS_UPGRADE;
        }
    } else if (lab_stls_cmd(l, n, "QUIT")) {
        lab_stls_says(r, "221 2.0.0 Bye\r\n");
        return TW_LAB_STLS_CLOSE;
    } else {
        lab_stls_says(r, "500 5.5.2 Error: command not recognized\r\n");
    }
    return TW_LAB_STLS_CONTINUE;
}

static int
lab_stls_imap(struct tw_lab_starttls *r, const uint8_t *l, size_t n)
{
    const uint8_t *sp = memchr(l, ' ', n);
    size_t tl = sp != NULL ? (size_t)(sp - l) : n;
    char tag[32];

    if (sp == NULL || tl == 0 || tl >= sizeof(tag)) {
        lab_stls_says(r, "* BAD missing tag\r\n");
        return TW_LAB_STLS_CONTINUE;
    }
    memcpy(tag, l, tl);
    tag[tl] = '\0';
    l += tl + 1;
    n -= tl + 1;
    if (lab_stls_cmd(l, n, "CAPABILITY")) {
        lab_stls_says(r, "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n");
        lab_stls_says(r, tag);
        lab_stls_says(r, " OK CAPABILITY completed\r\n");
    } else if (lab_stls_cmd(l, n, "STARTTLS")) {
        lab_stls_says(r, tag);
        lab_stls_says(r, " OK Begin TLS negotiation now\r\n");
        return TW_LAB_STLS_UPGRADE;
    } else if (lab_stls_cmd(l, n, "LOGOUT")) {
        lab_stls_says(r, "* BYE logging out\r\n");
        lab_stls_says(r, tag);
        lab_stls_says(r, " OK LOGOUT completed\r\n");
        return TW_LAB_STLS_CLOSE;
    } else {
        lab_stls_says(r, tag);
        lab_stls_says(r, " BAD unknown command\r\n");
    }
    return TW_LAB_STLS_CONTINUE;
}

static int
lab_stls_pop3(struct tw_lab_starttls *r, const uint8_t *l, size_t n)
{
    if (lab_stls_cmd(l, n, "CAPA")) {
        lab_stls_says(r, "+OK Capability list follows\r\nTOP\r\nUSER\r\nSTLS\r\n.\r\n");
    } else if (lab_stls_cmd(l, n, "STLS")) {
        lab_stls_says(r, "+OK Begin TLS negotiation\r\n");
        return TW_LAB_STLS_UPGRADE;
    } else if (lab_stls_cmd(l, n, "QUIT")) {
        lab_stls_says(r, "+OK bye\r\n");
        return TW_LAB_STLS_CLOSE;
    } else {
        lab_stls_says(r, "-ERR unknown command\r\n");
    }
    return TW_LAB_STLS_CONTINUE;
}

static int
lab_stls_ftp(struct tw_lab_starttls *r, const uint8_t *l, size_t n)
{
    if (lab_stls_cmd(l, n, "AUTH TLS") || lab_stls_cmd(l, n, "AUTH SSL")) {
        lab_stls_says(r, "234 AUTH TLS successful\r\n");
        return TW_LAB_STLS_UPGRADE;
    }
    if (lab_stls_cmd(l, n, "QUIT")) {
        lab_stls_says(r, "221 Goodbye.\r\n");
        return TW_LAB_STLS_CLOSE;
    }
    lab_stls_says(r, "500 Unknown command.\r\n");
    return TW_LAB_STLS_CONTINUE;
}

/* Line protocols: one command per line. */
static int
lab_stls_lines(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    size_t i = 0;

    while (i < len) {
        const uint8_t *nl = memchr(in + i, '\n', len - i);
        size_t take = nl != NULL ? (size_t)(nl - (in + i)) : len - i, n;
        int v;

        if (r->blen + take > sizeof(r->buf))
            return TW_LAB_STLS_CLOSE;
        memcpy(r->buf + r->blen, in + i, take);
        r->blen += take;
        i += take;
        if (nl == NULL)
            break;
        i++;
        n = r->blen;
        r->blen = 0;
        if (n > 0 && r->buf[n - 1] == '\r')
            n--;
        switch (r->kind) {
        case TW_LAB_STLS_IMAP:
            v = lab_stls_imap(r, r->buf, n);
            break;
        case TW_LAB_STLS_POP3:
            v = lab_stls_pop3(r, r->buf, n);
            break;
        case TW_LAB_STLS_FTP:
            v = lab_stls_ftp(r, r->buf, n);
            break;
        default:
            v = lab_stls_smtp(r, r->buf, n);
            break;
        }
        if (v != TW_LAB_STLS_CONTINUE)
            return v;
    }
    return TW_LAB_STLS_CONTINUE;
}

/* Collect bytes into r->buf; 0 when full (the client talks too much). */
static int
lab_stls_collect(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    if (len > sizeof(r->buf) - r->blen)
        return 0;
    memcpy(r->buf + r->blen, in, len);
    r->blen += len;
    return 1;
}

static int
lab_stls_find(const struct tw_lab_starttls *r, const char *needle)
{
    return memmem(r->buf, r->blen, needle, strlen(needle)) != NULL;
}

static int
lab_stls_xmpp(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    if (!lab_stls_collect(r, in, len))
        return TW_LAB_STLS_CLOSE;
    if (r->phase == LPH_START) {
        const uint8_t *st = memmem(r->buf, r->blen, "<stream:stream", 14);

        if (st == NULL || memchr(st, '>', r->blen - (size_t)(st - r->buf)) == NULL)
            return TW_LAB_STLS_CONTINUE;
        lab_stls_says(r, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams' id='lab1' "
                         "from='lab.tlsweep.test' version='1.0' xml:lang='en'>"
                         "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                         "<required/></starttls><mechanisms "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
                         "</mechanisms></stream:features>");
        r->phase = LPH_FEATURES;
        r->blen = 0;
        return TW_LAB_STLS_CONTINUE;
    }
    if (lab_stls_find(r, "<starttls")) {
        lab_stls_says(r, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        return TW_LAB_STLS_UPGRADE;
    }
    return TW_LAB_STLS_CONTINUE;
}

static int
lab_stls_ldap(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    size_t need;
    uint8_t resp[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07,
                      0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};

    if (!lab_stls_collect(r, in, len))
        return TW_LAB_STLS_CLOSE;
    if (r->blen < 2)
        return TW_LAB_STLS_CONTINUE;
    if (r->buf[0] != 0x30 || r->buf[1] >= 0x80)
        return TW_LAB_STLS_CLOSE; /* our client's request is short-form */
    need = 2 + (size_t)r->buf[1];
    if (r->blen < need)
        return TW_LAB_STLS_CONTINUE;
    /* messageID must be one byte (02 01 ID) for this responder. */
    if (need < 5 || r->buf[2] != 0x02 || r->buf[3] != 0x01 ||
        memmem(r->buf, need, lab_ldap_oid, sizeof(lab_ldap_oid) - 1) == NULL) {
        resp[9] = 0x02; /* protocolError: not the operation we serve */
        resp[4] = need >= 5 ? r->buf[4] : 1;
        lab_stls_say(r, resp, sizeof(resp));
        return TW_LAB_STLS_CLOSE;
    }
    resp[4] = r->buf[4];
    lab_stls_say(r, resp, sizeof(resp));
    return TW_LAB_STLS_UPGRADE;
}

static int
lab_stls_pg(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    if (!lab_stls_collect(r, in, len))
        return TW_LAB_STLS_CLOSE;
    if (r->blen < sizeof(lab_pg_sslrequest))
        return TW_LAB_STLS_CONTINUE;
    if (memcmp(r->buf, lab_pg_sslrequest, sizeof(lab_pg_sslrequest)) != 0)
        return TW_LAB_STLS_CLOSE;
    lab_stls_say(r, "S", 1);
    return TW_LAB_STLS_UPGRADE;
}

int
tw_lab_starttls_input(struct tw_lab_starttls *r, const uint8_t *in, size_t len)
{
    switch (r->kind) {
    case TW_LAB_STLS_XMPP:
        return lab_stls_xmpp(r, in, len);
    case TW_LAB_STLS_LDAP:
        return lab_stls_ldap(r, in, len);
    case TW_LAB_STLS_POSTGRES:
        return lab_stls_pg(r, in, len);
    default:
        return lab_stls_lines(r, in, len);
    }
}

/* ---- the blocking driver --------------------------------------------------- */

static int
lab_stls_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;

    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

static int
lab_stls_flush(struct tw_lab_starttls *r, int fd, int timeout_ms)
{
    const uint8_t *p;
    size_t n;

    while (tw_lab_starttls_output(r, &p, &n)) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w > 0) {
            tw_lab_starttls_sent(r, (size_t)w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (lab_stls_wait(fd, POLLOUT, timeout_ms) < 0)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

SSL *
tw_lab_starttls_serve(int fd, enum tw_lab_starttls_kind kind, SSL_CTX *ctx, int timeout_ms)
{
    struct tw_lab_starttls r;
    SSL *ssl = NULL;
    int v = TW_LAB_STLS_CONTINUE;

    tw_lab_starttls_init(&r, kind);
    while (v == TW_LAB_STLS_CONTINUE) {
        uint8_t buf[1024];
        ssize_t n;

        if (lab_stls_flush(&r, fd, timeout_ms) < 0)
            return NULL;
        if (lab_stls_wait(fd, POLLIN, timeout_ms) < 0)
            return NULL;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (n <= 0)
            return NULL;
        v = tw_lab_starttls_input(&r, buf, (size_t)n);
    }
    if (lab_stls_flush(&r, fd, timeout_ms) < 0 || v != TW_LAB_STLS_UPGRADE)
        return NULL;
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        goto fail;
    for (;;) {
        int rc, e;

        ERR_clear_error();
        rc = SSL_accept(ssl);
        if (rc == 1)
            return ssl;
        e = SSL_get_error(ssl, rc);
        if (e == SSL_ERROR_WANT_READ && lab_stls_wait(fd, POLLIN, timeout_ms) == 0)
            continue;
        if (e == SSL_ERROR_WANT_WRITE && lab_stls_wait(fd, POLLOUT, timeout_ms) == 0)
            continue;
        goto fail;
    }
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
}
