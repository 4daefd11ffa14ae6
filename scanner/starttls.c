/*
 * starttls.c - the plaintext phase of STARTTLS endpoints (see starttls.h).
 *
 * Big picture.  Each protocol is a small table-free step function over one
 * unit of input: a line (SMTP, IMAP, POP3, FTP), a tag (XMPP), a BER message
 * (LDAP) or a byte (PostgreSQL).  tw_starttls_input() cuts the input into
 * units in s->buf (one unit at most TW_STARTTLS_LINE_MAX bytes), calls the
 * step, and stops at the first final status.  A step queues the next
 * command with st_send() and returns SEND; the caller writes it and reads
 * again.  Nothing here blocks, allocates or keeps a pointer.
 *
 * Decisions worth knowing:
 *   - Lines end at '\n'; a '\r' before it is dropped; bare '\n' is accepted.
 *   - Bytes left over after a unit that returned SEND are processed in the
 *     next phase (a server may pipeline untagged IMAP data); bytes left over
 *     after READY are a PROTOCOL_ERROR (see starttls.h).
 *   - The first byte of the whole dialogue being 0x15/0x16 (a TLS alert or
 *     handshake record) is named in the detail: the port speaks direct TLS.
 *   - EHLO's argument is "tlsweep.invalid" (RFC 6761 reserved, never a real
 *     host), IMAP tags are A001/A002.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scanner/starttls.h"

#define ST_SHOW 48 /* bytes of server text quoted in a detail */

/* Protocol phases (s->phase). */
enum {
    PH_GREETING = 0,
    PH_EHLO,      /* smtp: waiting for the EHLO reply */
    PH_CAPA,      /* imap: CAPABILITY; pop3: CAPA status line */
    PH_CAPA_LIST, /* pop3: the CAPA list */
    PH_UPGRADE,   /* waiting for the answer to STARTTLS / STLS / AUTH TLS / <starttls/> */
    PH_STREAM,    /* xmpp: waiting for the stream header */
    PH_FEATURES,  /* xmpp: inside the stream, before/inside <stream:features> */
    PH_IN_FEATURES,
    PH_STREAM_ERROR, /* xmpp: after <stream:error>, the next tag names the condition */
    PH_REPLY,        /* ldap, postgres: waiting for the one answer */
};

static const char *const st_names[] = {"need_more",   "send",    "ready",
                                       "unsupported", "refused", "protocol_error"};

/* ---- small helpers -------------------------------------------------------- */

static void st_detail(struct tw_starttls *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replace the detail with "proto: " + text. */
static void
st_detail(struct tw_starttls *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(s->detail, sizeof(s->detail), "%s: ", tw_starttls_name(s->proto));
    if (n < 0 || (size_t)n >= sizeof(s->detail))
        return;
    va_start(ap, fmt);
    vsnprintf(s->detail + n, sizeof(s->detail) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Printable copy of at most ST_SHOW bytes of hostile text. */
static const char *
st_show(const uint8_t *p, size_t n, char *buf, size_t buflen)
{
    size_t i, k = n > ST_SHOW ? ST_SHOW : n;

    if (k + 4 > buflen)
        k = buflen - 4;
    for (i = 0; i < k; i++)
        buf[i] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? (char)p[i] : '.';
    buf[k] = '\0';
    if (k < n)
        memcpy(buf + k, "...", 4);
    return buf;
}

static int
st_final(struct tw_starttls *s, int status)
{
    s->status = (uint8_t)status;
    return status;
}

static int
st_send(struct tw_starttls *s, const void *p, size_t n)
{
    if (n > sizeof(s->out))
        n = sizeof(s->out);
    memcpy(s->out, p, n);
    s->out_len = (uint32_t)n;
    s->out_off = 0;
    return TW_STARTTLS_SEND;
}

static int
st_send_str(struct tw_starttls *s, const char *text)
{
    return st_send(s, text, strlen(text));
}

static int
st_is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static uint8_t
st_upper(uint8_t c)
{
    return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

/* Does line[0..n) start with word (case-insensitive), followed by a space
 * or the end? */
static int
st_word_is(const uint8_t *p, size_t n, const char *word)
{
    size_t k = strlen(word), i;

    if (n < k)
        return 0;
    for (i = 0; i < k; i++)
        if (st_upper(p[i]) != (uint8_t)word[i])
            return 0;
    return n == k || p[k] == ' ' || p[k] == '\t';
}

/* Is token (upper case) one of the space-separated words of p[0..n)?
 * Tokens end at a space, ']' or '('; "STARTTLS" does not match "XSTARTTLS". */
static int
st_has_token(const uint8_t *p, size_t n, const char *token)
{
    size_t i = 0, k = strlen(token);

    while (i < n) {
        size_t j;

        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '[' || p[i] == '('))
            i++;
        j = i;
        while (j < n && p[j] != ' ' && p[j] != '\t' && p[j] != ']' && p[j] != ')')
            j++;
        if (j - i == k) {
            size_t m;

            for (m = 0; m < k; m++)
                if (st_upper(p[i + m]) != (uint8_t)token[m])
                    break;
            if (m == k)
                return 1;
        }
        i = j + 1;
    }
    return 0;
}

/* Three digits then ' ', '-' or the end.  Returns the code or -1. */
static int
st_reply_code(const uint8_t *p, size_t n, uint8_t *sep)
{
    if (n < 3 || !st_is_digit(p[0]) || !st_is_digit(p[1]) || !st_is_digit(p[2]))
        return -1;
    if (n > 3 && p[3] != ' ' && p[3] != '-')
        return -1;
    *sep = n > 3 ? p[3] : ' ';
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* The detail for a PROTOCOL_ERROR on a unit that is not this protocol. */
static int
st_garbage(struct tw_starttls *s, const char *expected, const uint8_t *p, size_t n)
{
    char show[ST_SHOW + 4];

    if (n > 0 && (p[0] == 0x15 || p[0] == 0x16))
        st_detail(s, "expected %s, got a TLS record: this port speaks direct TLS", expected);
    else
        st_detail(s, "expected %s, got '%s'", expected, st_show(p, n, show, sizeof(show)));
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* Count a line of a multi-line reply against the cap. */
static int
st_count_line(struct tw_starttls *s)
{
    if (++s->n_lines > TW_STARTTLS_REPLY_LINES_MAX) {
        st_detail(s, "reply longer than %d lines", TW_STARTTLS_REPLY_LINES_MAX);
        return -1;
    }
    return 0;
}

/* ---- SMTP --------------------------------------------------------------- */

static int
smtp_line(struct tw_starttls *s, const uint8_t *p, size_t n)
{
    char show[ST_SHOW + 4];
    uint8_t sep;
    int code = st_reply_code(p, n, &sep);

    if (code < 0)
        return st_garbage(s, "an SMTP reply", p, n);
    if (s->in_multi && code != s->code) {
        st_detail(s, "reply code changed from %u to %d inside a multi-line reply",
                  (unsigned)s->code, code);
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    }
    if (st_count_line(s) < 0)
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    if (s->phase == PH_EHLO && code == 250 && n > 4 && st_word_is(p + 4, n - 4, "STARTTLS"))
        s->offered = 1;
    if (sep == '-') {
        s->in_multi = 1;
        s->code = (uint16_t)code;
        return TW_STARTTLS_NEED_MORE;
    }
    s->in_multi = 0;
    st_show(n > 4 ? p + 4 : p + n, n > 4 ? n - 4 : 0, show, sizeof(show));
    switch (s->phase) {
    case PH_GREETING:
        if (code == 220) {
            s->phase = PH_EHLO;
            s->n_lines = 0;
            st_detail(s, "greeting 220, EHLO sent");
            return st_send_str(s, "EHLO tlsweep.invalid\r\n");
        }
        if (code >= 400 && code < 600) {
            st_detail(s, "greeting %d '%s': the server refuses the session", code, show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        break;
    case PH_EHLO:
        if (code == 250) {
            if (!s->offered) {
                st_detail(s, "EHLO reply (%u lines) does not offer STARTTLS", (unsigned)s->n_lines);
                return st_final(s, TW_STARTTLS_UNSUPPORTED);
            }
            s->phase = PH_UPGRADE;
            st_detail(s, "EHLO offers STARTTLS, STARTTLS sent");
            return st_send_str(s, "STARTTLS\r\n");
        }
        if (code >= 500 && code < 600) {
            st_detail(s, "EHLO answered %d '%s': no ESMTP, no STARTTLS", code, show);
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        if (code >= 400 && code < 500) {
            st_detail(s, "EHLO answered %d '%s'", code, show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        break;
    case PH_UPGRADE:
        if (code == 220) {
            st_detail(s, "STARTTLS answered 220, TLS handshake next");
            return st_final(s, TW_STARTTLS_READY);
        }
        if (code >= 400 && code < 600) {
            st_detail(s, "STARTTLS answered %d '%s'", code, show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        break;
    default:
        break;
    }
    st_detail(s, "unexpected reply %d '%s'", code, show);
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* ---- IMAP --------------------------------------------------------------- */

static int
imap_line(struct tw_starttls *s, const uint8_t *p, size_t n)
{
    char show[ST_SHOW + 4];

    if (st_count_line(s) < 0)
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    if (s->phase == PH_GREETING) {
        if (n < 2 || p[0] != '*' || p[1] != ' ')
            return st_garbage(s, "an IMAP greeting", p, n);
        p += 2;
        n -= 2;
        if (st_word_is(p, n, "OK")) {
            if (st_has_token(p, n, "CAPABILITY") && st_has_token(p, n, "STARTTLS")) {
                s->phase = PH_UPGRADE;
                s->n_lines = 0;
                st_detail(s, "greeting capabilities offer STARTTLS, STARTTLS sent");
                return st_send_str(s, "A002 STARTTLS\r\n");
            }
            s->phase = PH_CAPA;
            s->n_lines = 0;
            st_detail(s, "greeting OK, CAPABILITY sent");
            return st_send_str(s, "A001 CAPABILITY\r\n");
        }
        if (st_word_is(p, n, "PREAUTH")) {
            st_detail(s, "PREAUTH greeting: already authenticated, STARTTLS not allowed");
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        if (st_word_is(p, n, "BYE")) {
            st_detail(s, "greeting BYE '%s'", st_show(p, n, show, sizeof(show)));
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        return st_garbage(s, "an IMAP greeting", p - 2, n + 2);
    }
    if (n >= 2 && p[0] == '*' && p[1] == ' ') {
        if (st_word_is(p + 2, n - 2, "BYE")) {
            st_detail(s, "server said BYE '%s'", st_show(p + 2, n - 2, show, sizeof(show)));
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        if (s->phase == PH_CAPA && st_word_is(p + 2, n - 2, "CAPABILITY") &&
            st_has_token(p + 2, n - 2, "STARTTLS"))
            s->offered = 1;
        return TW_STARTTLS_NEED_MORE; /* other untagged data is ignored */
    }
    if (s->phase == PH_CAPA && n >= 5 && memcmp(p, "A001 ", 5) == 0) {
        p += 5;
        n -= 5;
        if (st_word_is(p, n, "OK")) {
            if (!s->offered) {
                st_detail(s, "CAPABILITY does not list STARTTLS");
                return st_final(s, TW_STARTTLS_UNSUPPORTED);
            }
            s->phase = PH_UPGRADE;
            s->n_lines = 0;
            st_detail(s, "CAPABILITY lists STARTTLS, STARTTLS sent");
            return st_send_str(s, "A002 STARTTLS\r\n");
        }
        if (st_word_is(p, n, "NO") || st_word_is(p, n, "BAD")) {
            st_detail(s, "CAPABILITY failed '%s'", st_show(p, n, show, sizeof(show)));
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        return st_garbage(s, "an IMAP tagged reply", p, n);
    }
    if (s->phase == PH_UPGRADE && n >= 5 && memcmp(p, "A002 ", 5) == 0) {
        p += 5;
        n -= 5;
        if (st_word_is(p, n, "OK")) {
            st_detail(s, "STARTTLS answered OK, TLS handshake next");
            return st_final(s, TW_STARTTLS_READY);
        }
        if (st_word_is(p, n, "NO") || st_word_is(p, n, "BAD")) {
            st_detail(s, "STARTTLS answered '%s'", st_show(p, n, show, sizeof(show)));
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        return st_garbage(s, "an IMAP tagged reply", p, n);
    }
    if (n >= 2 && p[0] == '+' && p[1] == ' ')
        return TW_STARTTLS_NEED_MORE; /* a continuation request: nothing to continue */
    return st_garbage(s, "an IMAP response", p, n);
}

/* ---- POP3 --------------------------------------------------------------- */

static int
pop3_line(struct tw_starttls *s, const uint8_t *p, size_t n)
{
    char show[ST_SHOW + 4];
    int ok = n >= 3 && memcmp(p, "+OK", 3) == 0 && (n == 3 || p[3] == ' ');
    int err = n >= 4 && memcmp(p, "-ERR", 4) == 0 && (n == 4 || p[4] == ' ');

    if (s->phase == PH_CAPA_LIST) {
        if (st_count_line(s) < 0)
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        if (n == 1 && p[0] == '.') {
            if (!s->offered) {
                st_detail(s, "CAPA (%u lines) does not list STLS", (unsigned)s->n_lines - 1);
                return st_final(s, TW_STARTTLS_UNSUPPORTED);
            }
            s->phase = PH_UPGRADE;
            st_detail(s, "CAPA lists STLS, STLS sent");
            return st_send_str(s, "STLS\r\n");
        }
        if (st_word_is(p, n, "STLS"))
            s->offered = 1;
        return TW_STARTTLS_NEED_MORE;
    }
    if (!ok && !err)
        return st_garbage(s, "a POP3 status (+OK/-ERR)", p, n);
    st_show(p, n, show, sizeof(show));
    switch (s->phase) {
    case PH_GREETING:
        if (err) {
            st_detail(s, "greeting '%s'", show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        s->phase = PH_CAPA;
        st_detail(s, "greeting +OK, CAPA sent");
        return st_send_str(s, "CAPA\r\n");
    case PH_CAPA:
        if (err) {
            st_detail(s, "CAPA answered '%s': no capabilities, no STLS", show);
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        s->phase = PH_CAPA_LIST;
        s->n_lines = 0;
        return TW_STARTTLS_NEED_MORE;
    case PH_UPGRADE:
        if (err) {
            st_detail(s, "STLS answered '%s'", show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        st_detail(s, "STLS answered +OK, TLS handshake next");
        return st_final(s, TW_STARTTLS_READY);
    default:
        break;
    }
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* ---- FTP ---------------------------------------------------------------- */

static int
ftp_line(struct tw_starttls *s, const uint8_t *p, size_t n)
{
    char show[ST_SHOW + 4];
    uint8_t sep;
    int code;

    if (st_count_line(s) < 0)
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    code = st_reply_code(p, n, &sep);
    if (s->in_multi) {
        /* RFC 959: inner lines are free text; "CODE " (or "CODE" alone) ends it. */
        if (code != s->code || sep != ' ')
            return TW_STARTTLS_NEED_MORE;
        s->in_multi = 0;
    } else if (code < 0) {
        return st_garbage(s, "an FTP reply", p, n);
    } else if (sep == '-') {
        s->in_multi = 1;
        s->code = (uint16_t)code;
        return TW_STARTTLS_NEED_MORE;
    }
    s->n_lines = 0;
    st_show(n > 4 ? p + 4 : p + n, n > 4 ? n - 4 : 0, show, sizeof(show));
    if (code >= 100 && code < 200)
        return TW_STARTTLS_NEED_MORE; /* preliminary: the real reply follows */
    if (s->phase == PH_GREETING) {
        if (code == 220) {
            s->phase = PH_UPGRADE;
            st_detail(s, "greeting 220, AUTH TLS sent");
            return st_send_str(s, "AUTH TLS\r\n");
        }
        if (code >= 400 && code < 600) {
            st_detail(s, "greeting %d '%s': the server refuses the session", code, show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
    } else if (s->phase == PH_UPGRADE) {
        if (code == 234) {
            st_detail(s, "AUTH TLS answered 234, TLS handshake next");
            return st_final(s, TW_STARTTLS_READY);
        }
        if (code == 500 || code == 502 || code == 504) {
            st_detail(s, "AUTH TLS answered %d '%s': not supported", code, show);
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        if (code >= 400 && code < 600) {
            st_detail(s, "AUTH TLS answered %d '%s'", code, show);
            return st_final(s, TW_STARTTLS_REFUSED);
        }
    }
    st_detail(s, "unexpected reply %d '%s'", code, show);
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* ---- XMPP --------------------------------------------------------------- */

/* The local name of a tag "<a:b ...>" / "</a:b>" into name[len]; *closing
 * and *selfclose describe the tag. */
static void
xmpp_tag_name(const uint8_t *t, size_t n, char *name, size_t len, int *closing, int *selfclose)
{
    size_t i = 1, start, k = 0;

    *closing = n > 1 && t[1] == '/';
    *selfclose = n >= 2 && t[n - 2] == '/';
    if (*closing)
        i = 2;
    start = i;
    while (i < n && t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n' && t[i] != '/' &&
           t[i] != '>') {
        if (t[i] == ':')
            start = i + 1;
        i++;
    }
    for (; start < i && k + 1 < len; start++)
        name[k++] = (char)t[start];
    name[k] = '\0';
}

/* One complete tag t[0..n) ('<' .. '>'). */
static int
xmpp_tag(struct tw_starttls *s, const uint8_t *t, size_t n)
{
    char name[64], show[ST_SHOW + 4];
    int closing, selfclose;

    if (n >= 2 && (t[1] == '?' || t[1] == '!'))
        return TW_STARTTLS_NEED_MORE; /* XML declaration, comment, doctype */
    xmpp_tag_name(t, n, name, sizeof(name), &closing, &selfclose);
    if (s->phase == PH_STREAM_ERROR) {
        st_detail(s, "stream error '%s'",
                  st_show((const uint8_t *)name, strlen(name), show, sizeof(show)));
        return st_final(s, TW_STARTTLS_REFUSED);
    }
    if (strcmp(name, "error") == 0 && s->phase != PH_STREAM) {
        if (selfclose || closing) {
            st_detail(s, "stream error");
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        s->phase = PH_STREAM_ERROR;
        st_detail(s, "stream error");
        return TW_STARTTLS_NEED_MORE;
    }
    if (strcmp(name, "stream") == 0 && closing && s->phase != PH_STREAM) {
        st_detail(s, "server closed the stream before TLS");
        return st_final(s, TW_STARTTLS_REFUSED);
    }
    switch (s->phase) {
    case PH_STREAM:
        if (strcmp(name, "stream") != 0 || closing)
            return st_garbage(s, "an XMPP stream header", t, n);
        s->phase = PH_FEATURES;
        st_detail(s, "stream opened, waiting for features");
        return TW_STARTTLS_NEED_MORE;
    case PH_FEATURES:
        if (strcmp(name, "features") != 0 || closing)
            return TW_STARTTLS_NEED_MORE; /* anything before the features is ignored */
        if (selfclose) {
            st_detail(s, "empty stream features: no STARTTLS");
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        s->phase = PH_IN_FEATURES;
        return TW_STARTTLS_NEED_MORE;
    case PH_IN_FEATURES:
        if (strcmp(name, "starttls") == 0 && !closing)
            s->offered = 1;
        if (strcmp(name, "features") != 0 || !closing)
            return TW_STARTTLS_NEED_MORE;
        if (!s->offered) {
            st_detail(s, "stream features do not offer <starttls/>");
            return st_final(s, TW_STARTTLS_UNSUPPORTED);
        }
        s->phase = PH_UPGRADE;
        st_detail(s, "features offer <starttls/>, <starttls/> sent");
        return st_send_str(s, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    case PH_UPGRADE:
        if (strcmp(name, "proceed") == 0) {
            st_detail(s, "<proceed/>, TLS handshake next");
            return st_final(s, TW_STARTTLS_READY);
        }
        if (strcmp(name, "failure") == 0) {
            st_detail(s, "<starttls/> answered <failure/>");
            return st_final(s, TW_STARTTLS_REFUSED);
        }
        return st_garbage(s, "<proceed/> or <failure/>", t, n);
    default:
        break;
    }
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* Where the tag starting at b[0] = '<' ends (index of its '>'), or -1 when
 * it is not complete in b[0..n). */
static long
xmpp_tag_end(const uint8_t *b, size_t n)
{
    uint8_t quote = 0;
    size_t i;

    if (n >= 4 && memcmp(b, "<!--", 4) == 0) {
        for (i = 4; i + 2 < n; i++)
            if (b[i] == '-' && b[i + 1] == '-' && b[i + 2] == '>')
                return (long)(i + 2);
        return -1;
    }
    for (i = 1; i < n; i++) {
        if (quote) {
            if (b[i] == quote)
                quote = 0;
        } else if (b[i] == '"' || b[i] == '\'') {
            quote = b[i];
        } else if (b[i] == '>') {
            return (long)i;
        }
    }
    return -1;
}

/* ---- LDAP --------------------------------------------------------------- */

/* One BER TLV at b[*pos..n): tag, definite length.  Returns 1 with *tag,
 * *vlen and *pos at the value, 0 when incomplete, -1 when malformed. */
static int
ber_tlv(const uint8_t *b, size_t n, size_t *pos, uint8_t *tag, size_t *vlen)
{
    size_t i = *pos, len = 0, k;

    if (i + 2 > n)
        return 0;
    *tag = b[i++];
    if ((*tag & 0x1f) == 0x1f)
        return -1; /* high tag numbers: not in LDAP's messages */
    if (b[i] < 0x80) {
        len = b[i++];
    } else {
        k = b[i++] & 0x7f;
        if (k == 0 || k > 3)
            return -1; /* indefinite, or absurdly long */
        if (i + k > n)
            return 0;
        while (k-- > 0)
            len = (len << 8) | b[i++];
    }
    *pos = i;
    *vlen = len;
    return 1;
}

static const char *
ldap_result_name(long code)
{
    switch (code) {
    case 0:
        return "success";
    case 1:
        return "operationsError";
    case 2:
        return "protocolError";
    case 3:
        return "timeLimitExceeded";
    case 10:
        return "referral";
    case 50:
        return "insufficientAccessRights";
    case 51:
        return "busy";
    case 52:
        return "unavailable";
    case 53:
        return "unwillingToPerform";
    case 80:
        return "other";
    default:
        return "resultCode";
    }
}

static int
ldap_parse(struct tw_starttls *s)
{
    const uint8_t *b = s->buf;
    size_t n = s->blen, pos = 0, vlen, end, opend, i;
    uint8_t tag;
    long msgid = 0, code = 0;
    char show[ST_SHOW + 4] = "";
    int r;

    r = ber_tlv(b, n, &pos, &tag, &vlen);
    if (r == 0 && (n < 1 || b[0] == 0x30))
        return TW_STARTTLS_NEED_MORE;
    if (r <= 0 || tag != 0x30)
        return st_garbage(s, "an LDAP message", b, n);
    if (pos + vlen > TW_STARTTLS_LINE_MAX) {
        st_detail(s, "LDAP message of %zu bytes (max %d)", pos + vlen, TW_STARTTLS_LINE_MAX);
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    }
    if (pos + vlen > n)
        return TW_STARTTLS_NEED_MORE;
    end = pos + vlen;
    /* messageID */
    if (ber_tlv(b, end, &pos, &tag, &vlen) != 1 || tag != 0x02 || vlen < 1 || vlen > 4 ||
        pos + vlen > end)
        goto bad;
    for (i = 0; i < vlen; i++)
        msgid = (msgid << 8) | b[pos + i];
    pos += vlen;
    /* protocolOp: ExtendedResponse [APPLICATION 24] */
    if (ber_tlv(b, end, &pos, &tag, &vlen) != 1 || pos + vlen > end)
        goto bad;
    if (tag != 0x78) {
        st_detail(s, "answer is LDAP operation 0x%02x, not an ExtendedResponse", tag);
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    }
    opend = pos + vlen;
    /* resultCode ENUMERATED */
    if (ber_tlv(b, opend, &pos, &tag, &vlen) != 1 || tag != 0x0a || vlen < 1 || vlen > 4 ||
        pos + vlen > opend)
        goto bad;
    for (i = 0; i < vlen; i++)
        code = (code << 8) | b[pos + i];
    pos += vlen;
    /* matchedDN, then diagnosticMessage (both OCTET STRING) */
    if (ber_tlv(b, opend, &pos, &tag, &vlen) == 1 && tag == 0x04 && pos + vlen <= opend) {
        pos += vlen;
        if (ber_tlv(b, opend, &pos, &tag, &vlen) == 1 && tag == 0x04 && pos + vlen <= opend)
            st_show(b + pos, vlen, show, sizeof(show));
    }
    if (msgid == 0) {
        st_detail(s, "notice of disconnection: %s (%ld) '%s'", ldap_result_name(code), code, show);
        return st_final(s, TW_STARTTLS_REFUSED);
    }
    if (msgid != 1) {
        st_detail(s, "answer to message %ld, we sent 1", msgid);
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    }
    if (code == 0) {
        if (end != n) {
            st_detail(s, "%zu bytes after the StartTLS success response", n - end);
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        }
        st_detail(s, "StartTLS success, TLS handshake next");
        return st_final(s, TW_STARTTLS_READY);
    }
    st_detail(s, "StartTLS answered %s (%ld) '%s'", ldap_result_name(code), code, show);
    return st_final(s, code == 2 ? TW_STARTTLS_UNSUPPORTED : TW_STARTTLS_REFUSED);
bad:
    st_detail(s, "malformed LDAP response");
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* ---- PostgreSQL ----------------------------------------------------------- */

static int
pg_input(struct tw_starttls *s, const uint8_t *in, size_t len)
{
    char show[ST_SHOW + 4] = "";
    size_t i;

    switch (in[0]) {
    case 'S':
        if (len > 1) {
            st_detail(s, "%zu bytes after 'S' (response injection?)", len - 1);
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        }
        st_detail(s, "SSLRequest answered 'S', TLS handshake next");
        return st_final(s, TW_STARTTLS_READY);
    case 'N':
        st_detail(s, "SSLRequest answered 'N': the server has SSL off");
        return st_final(s, TW_STARTTLS_UNSUPPORTED);
    case 'E':
        /* ErrorResponse: 'E' int32 length, then fields "Xtext\0"; 'M' is the message. */
        for (i = 5; i + 1 < len && in[i] != 0;) {
            const uint8_t *z = memchr(in + i + 1, 0, len - i - 1);
            size_t fl = z != NULL ? (size_t)(z - (in + i + 1)) : len - i - 1;

            if (in[i] == 'M') {
                st_show(in + i + 1, fl, show, sizeof(show));
                break;
            }
            if (z == NULL)
                break;
            i += fl + 2;
        }
        st_detail(s, "SSLRequest answered with an error '%s'", show);
        return st_final(s, TW_STARTTLS_REFUSED);
    default:
        break;
    }
    return st_garbage(s, "'S' or 'N'", in, len);
}

/* ---- the driver ------------------------------------------------------------ */

static int
st_line(struct tw_starttls *s, const uint8_t *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    switch (s->proto) {
    case TW_STARTTLS_SMTP:
        return smtp_line(s, p, n);
    case TW_STARTTLS_IMAP:
        return imap_line(s, p, n);
    case TW_STARTTLS_POP3:
        return pop3_line(s, p, n);
    case TW_STARTTLS_FTP:
        return ftp_line(s, p, n);
    default:
        break;
    }
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

/* Line protocols: cut at '\n'.  Returns the last status. */
static int
st_lines(struct tw_starttls *s, const uint8_t *in, size_t len)
{
    int r = TW_STARTTLS_NEED_MORE;
    size_t i = 0;

    while (i < len) {
        const uint8_t *nl = memchr(in + i, '\n', len - i);
        size_t take = nl != NULL ? (size_t)(nl - (in + i)) : len - i;

        if (s->blen + take > sizeof(s->buf) - 1) {
            char show[ST_SHOW + 4];

            st_detail(s, "line over %d bytes without a newline: '%s'", TW_STARTTLS_LINE_MAX - 1,
                      st_show(s->blen > 0 ? s->buf : in + i, s->blen > 0 ? s->blen : take, show,
                              sizeof(show)));
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        }
        memcpy(s->buf + s->blen, in + i, take);
        s->blen += (uint32_t)take;
        i += take;
        if (nl == NULL)
            break;
        i++; /* the '\n' */
        r = st_line(s, s->buf, s->blen);
        s->blen = 0;
        if (r >= TW_STARTTLS_READY) {
            if (r == TW_STARTTLS_READY && i < len) {
                st_detail(s, "%zu bytes after the go-ahead (response injection?)", len - i);
                return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
            }
            return r;
        }
    }
    if (s->out_off < s->out_len)
        return TW_STARTTLS_SEND;
    return r == TW_STARTTLS_SEND ? TW_STARTTLS_SEND : TW_STARTTLS_NEED_MORE;
}

/* XMPP: cut into tags; text between tags is skipped. */
static int
st_xml(struct tw_starttls *s, const uint8_t *in, size_t len)
{
    size_t i = 0;
    int r;

    while (i < len) {
        if (s->blen == 0) {
            /* Outside a tag: skip text up to the next '<'. */
            const uint8_t *lt = memchr(in + i, '<', len - i);
            size_t k;

            if (s->phase == PH_STREAM) {
                for (k = i; k < (lt != NULL ? (size_t)(lt - in) : len); k++) {
                    if (in[k] != ' ' && in[k] != '\t' && in[k] != '\r' && in[k] != '\n')
                        return st_garbage(s, "an XMPP stream", in + k, len - k);
                }
            }
            if (lt == NULL)
                break;
            i = (size_t)(lt - in);
        }
        /* Inside a tag: collect it up to its '>'. */
        {
            size_t room = sizeof(s->buf) - s->blen;
            size_t take = len - i < room ? len - i : room;
            long end;

            memcpy(s->buf + s->blen, in + i, take);
            end = xmpp_tag_end(s->buf, s->blen + take);
            if (end < 0) {
                s->blen += (uint32_t)take;
                i += take;
                if (s->blen == sizeof(s->buf)) {
                    st_detail(s, "XML tag over %d bytes", TW_STARTTLS_LINE_MAX);
                    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
                }
                break;
            }
            /* The tag is buf[0..end]; bytes of 'in' used: end + 1 - blen. */
            i += (size_t)end + 1 - s->blen;
            s->blen = 0;
            r = xmpp_tag(s, s->buf, (size_t)end + 1);
            if (r >= TW_STARTTLS_READY) {
                if (r == TW_STARTTLS_READY && i < len) {
                    st_detail(s, "%zu bytes after <proceed/> (response injection?)", len - i);
                    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
                }
                return r;
            }
        }
    }
    return s->out_off < s->out_len ? TW_STARTTLS_SEND : TW_STARTTLS_NEED_MORE;
}

static int
st_ldap(struct tw_starttls *s, const uint8_t *in, size_t len)
{
    size_t room = sizeof(s->buf) - s->blen;
    int r;

    if (len > room) {
        /* More than one bounded message: parse what fits, then judge. */
        memcpy(s->buf + s->blen, in, room);
        s->blen = sizeof(s->buf);
        r = ldap_parse(s);
        if (r == TW_STARTTLS_READY) {
            st_detail(s, "bytes after the StartTLS success response");
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        }
        if (r == TW_STARTTLS_NEED_MORE) {
            st_detail(s, "LDAP message over %d bytes", TW_STARTTLS_LINE_MAX);
            return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
        }
        return r;
    }
    memcpy(s->buf + s->blen, in, len);
    s->blen += (uint32_t)len;
    r = ldap_parse(s);
    if (r == TW_STARTTLS_NEED_MORE && s->out_off < s->out_len)
        return TW_STARTTLS_SEND;
    return r;
}

void
tw_starttls_init(struct tw_starttls *s, enum tw_starttls_proto p, const char *hostname)
{
    static const uint8_t ldap_req[] = {
        0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
        '.',  '4',  '.',  '1',  '.',  '1',  '4',  '6',  '6',  '.', '2', '0', '0', '3', '7'};
    static const uint8_t pg_req[] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};

    memset(s, 0, sizeof(*s));
    s->proto = (uint8_t)p;
    s->phase = PH_GREETING;
    switch (p) {
    case TW_STARTTLS_SMTP:
    case TW_STARTTLS_IMAP:
    case TW_STARTTLS_POP3:
    case TW_STARTTLS_FTP:
        st_detail(s, "waiting for the greeting");
        break;
    case TW_STARTTLS_XMPP: {
        char host[TW_HOST_MAX + 1];
        size_t k = 0;
        int n;

        for (const char *h = hostname; h != NULL && *h != '\0' && k + 1 < sizeof(host); h++) {
            unsigned char c = (unsigned char)*h;

            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_' || c == ':')
                host[k++] = (char)c;
        }
        host[k] = '\0';
        n = snprintf((char *)s->out, sizeof(s->out),
                     "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams'%s%s%s version='1.0'>",
                     k ? " to='" : "", host, k ? "'" : "");
        s->out_len = n < 0 ? 0 : (uint32_t)n;
        s->phase = PH_STREAM;
        st_detail(s, "stream header sent, waiting for the server's");
        break;
    }
    case TW_STARTTLS_LDAP:
        st_send(s, ldap_req, sizeof(ldap_req));
        s->phase = PH_REPLY;
        st_detail(s, "StartTLS extended request sent");
        break;
    case TW_STARTTLS_POSTGRES:
        st_send(s, pg_req, sizeof(pg_req));
        s->phase = PH_REPLY;
        st_detail(s, "SSLRequest sent");
        break;
    default:
        st_detail(s, "no STARTTLS protocol");
        s->status = TW_STARTTLS_PROTOCOL_ERROR;
        break;
    }
}

int
tw_starttls_output(struct tw_starttls *s, const uint8_t **out, size_t *len)
{
    if (s->out_off >= s->out_len) {
        *out = NULL;
        *len = 0;
        return 0;
    }
    *out = s->out + s->out_off;
    *len = s->out_len - s->out_off;
    return 1;
}

void
tw_starttls_sent(struct tw_starttls *s, size_t n)
{
    if (n > s->out_len - s->out_off)
        n = s->out_len - s->out_off;
    s->out_off += (uint32_t)n;
}

int
tw_starttls_input(struct tw_starttls *s, const uint8_t *in, size_t len)
{
    if (s->status >= TW_STARTTLS_READY)
        return s->status;
    if (in == NULL || len == 0)
        return s->out_off < s->out_len ? TW_STARTTLS_SEND : TW_STARTTLS_NEED_MORE;
    if (len > TW_STARTTLS_TOTAL_MAX - s->total_in) {
        st_detail(s, "over %d bytes of plaintext without the upgrade", TW_STARTTLS_TOTAL_MAX);
        return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
    }
    s->total_in += (uint32_t)len;
    if (!s->seen_byte) {
        s->seen_byte = 1;
        if (in[0] == 0x15 || in[0] == 0x16)
            return st_garbage(s, "plaintext", in, len);
    }
    switch (s->proto) {
    case TW_STARTTLS_SMTP:
    case TW_STARTTLS_IMAP:
    case TW_STARTTLS_POP3:
    case TW_STARTTLS_FTP:
        return st_lines(s, in, len);
    case TW_STARTTLS_XMPP:
        return st_xml(s, in, len);
    case TW_STARTTLS_LDAP:
        return st_ldap(s, in, len);
    case TW_STARTTLS_POSTGRES:
        return pg_input(s, in, len);
    default:
        break;
    }
    return st_final(s, TW_STARTTLS_PROTOCOL_ERROR);
}

const char *
tw_starttls_detail(const struct tw_starttls *s)
{
    return s->detail;
}

const char *
tw_starttls_status_name(int status)
{
    if (status < 0 || (size_t)status >= sizeof(st_names) / sizeof(st_names[0]))
        return "unknown";
    return st_names[status];
}

const char *
tw_starttls_sclient_name(enum tw_starttls_proto p)
{
    return tw_starttls_name(p);
}

enum tw_starttls_proto
tw_starttls_for_port(uint16_t port)
{
    switch (port) {
    case 25:
    case 587:
        return TW_STARTTLS_SMTP;
    case 143:
        return TW_STARTTLS_IMAP;
    case 110:
        return TW_STARTTLS_POP3;
    case 21:
        return TW_STARTTLS_FTP;
    case 5222:
        return TW_STARTTLS_XMPP;
    case 389:
        return TW_STARTTLS_LDAP;
    case 5432:
        return TW_STARTTLS_POSTGRES;
    default:
        return TW_STARTTLS_NONE;
    }
}

int
tw_starttls_classify(const struct tw_probe_result *m, enum tw_class *cls, char *buf, size_t len)
{
    char d[TW_PROBE_STARTTLS_DETAIL + 1];
    const char *name;
    size_t i;
    enum tw_class c;

    if (m->starttls == TW_STARTTLS_NONE)
        return 0;
    name = tw_starttls_name(m->starttls);
    /* The detail came from the state machine: re-clean it, it is evidence. */
    for (i = 0; i < sizeof(m->starttls_detail) && m->starttls_detail[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)m->starttls_detail[i];
        d[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
    }
    d[i] = '\0';
    switch (m->starttls_result) {
    case TW_STARTTLS_UNSUPPORTED:
        c = TW_CLASS_STARTTLS_UNSUPPORTED;
        break;
    case TW_STARTTLS_REFUSED:
        c = TW_CLASS_STARTTLS_REFUSED;
        break;
    case TW_STARTTLS_PROTOCOL_ERROR:
        c = TW_CLASS_NOT_TLS;
        break;
    case TW_STARTTLS_READY:
        return 0;
    default:
        /* The plaintext phase was cut before a verdict. */
        if (m->outcome == TW_PROBE_TIMEOUT) {
            c = TW_CLASS_HANDSHAKE_TIMEOUT;
            if (buf != NULL)
                snprintf(buf, len, "%s dialogue timed out after %u bytes (%s)", name,
                         (unsigned)m->starttls_bytes_in, d);
        } else if (m->outcome == TW_PROBE_EOF || m->outcome == TW_PROBE_RESET) {
            c = TW_CLASS_TCP_RESET;
            if (buf != NULL)
                snprintf(buf, len, "connection %s during the %s dialogue after %u bytes (%s)",
                         m->outcome == TW_PROBE_EOF ? "closed" : "reset", name,
                         (unsigned)m->starttls_bytes_in, d);
        } else {
            return 0;
        }
        *cls = c;
        return 1;
    }
    if (buf != NULL)
        snprintf(buf, len, "%s", d);
    *cls = c;
    return 1;
}
