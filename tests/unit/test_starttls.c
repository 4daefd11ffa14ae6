/*
 * test_starttls.c - the STARTTLS plaintext phase (scanner/starttls.h) and
 * the lab's STARTTLS responders (lab/starttls_servers.h).
 *
 * The pure state machine is driven through scripted server transcripts:
 * each script is a list of server chunks; the driver collects what the
 * machine sends between chunks, so every test checks both the verdict and
 * the exact commands on the wire.  Every script is also replayed one byte
 * at a time, which must not change anything.  Hostile inputs (endless
 * lines, floods of continuation lines, binary garbage, a 1 MiB banner) must
 * end in a bounded PROTOCOL_ERROR.  Finally, every lab responder is run in
 * a thread on one end of a socketpair and the state machine plus a real
 * OpenSSL client handshake on the other: no network, no files.
 */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scanner/starttls.h"
#include "lab/starttls_servers.h"
#include "tests/unit/testcert.h"

/* ---- the script driver -------------------------------------------------- */

struct sent {
    uint8_t b[8192];
    size_t n;
};

static void
drain(struct tw_starttls *s, struct sent *out)
{
    const uint8_t *p;
    size_t n;

    while (tw_starttls_output(s, &p, &n)) {
        /* Partial writes: take at most 5 bytes at a time. */
        size_t k = n > 5 ? 5 : n;

        assert_true(out->n + k <= sizeof(out->b));
        memcpy(out->b + out->n, p, k);
        out->n += k;
        tw_starttls_sent(s, k);
    }
}

static void
check_detail(const struct tw_starttls *s)
{
    const char *d = tw_starttls_detail(s);
    size_t i, n = strlen(d);

    assert_true(n > 0);
    assert_true(n < TW_STARTTLS_DETAIL_MAX);
    for (i = 0; i < n; i++)
        assert_true(d[i] >= 0x20 && d[i] < 0x7f);
}

/*
 * Run proto against the server chunks (NULL-terminated; lengths from
 * strlen unless lens is given).  bytewise: feed one byte per call.
 * Returns the final status (or the last one when the script ran out).
 */
static int
run_script_n(struct tw_starttls *s, enum tw_starttls_proto proto, const char *host,
             const char *const *chunks, const size_t *lens, int bytewise, struct sent *out)
{
    int st = TW_STARTTLS_NEED_MORE;

    memset(out, 0, sizeof(*out));
    tw_starttls_init(s, proto, host);
    drain(s, out);
    for (size_t c = 0; chunks[c] != NULL; c++) {
        size_t len = lens != NULL ? lens[c] : strlen(chunks[c]);
        const uint8_t *p = (const uint8_t *)chunks[c];

        if (bytewise) {
            for (size_t i = 0; i < len; i++) {
                st = tw_starttls_input(s, p + i, 1);
                drain(s, out);
                if (st >= TW_STARTTLS_READY)
                    break;
            }
        } else {
            st = tw_starttls_input(s, p, len);
            drain(s, out);
        }
        check_detail(s);
        if (st >= TW_STARTTLS_READY)
            break;
    }
    return st;
}

struct script {
    enum tw_starttls_proto proto;
    const char *chunks[8];
    int expect;
    const char *sent;   /* exactly what the client sent */
    const char *detail; /* a substring of the final detail, or NULL */
    int bytewise_same;  /* replaying byte by byte gives the same result */
};

#define EHLO "EHLO tlsweep.invalid\r\n"

static const struct script scripts[] = {
    /* SMTP */
    {TW_STARTTLS_SMTP,
     {"220 mx.example ESMTP\r\n",
      "250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n", "220 2.0.0 Ready\r\n",
      NULL},
     TW_STARTTLS_READY,
     EHLO "STARTTLS\r\n",
     "220",
     1},
    {TW_STARTTLS_SMTP,
     {"220-mx.example\r\n220-second line\r\n220 ready\r\n", "250-mx\r\n250 STARTTLS\r\n",
      "220 go\r\n", NULL},
     TW_STARTTLS_READY,
     EHLO "STARTTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\n", "250-mx\n250-starttls\n250 SIZE\n", "220 go\n", NULL},
     TW_STARTTLS_READY,
     EHLO "STARTTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250-mx\r\n250-SIZE 100\r\n250 8BITMIME\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     EHLO,
     "does not offer STARTTLS",
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250-mx\r\n250-XSTARTTLS\r\n250 X-STARTTLS\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     EHLO,
     NULL,
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "502 5.5.1 EHLO not implemented\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     EHLO,
     "502",
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 TLS not available\r\n", NULL},
     TW_STARTTLS_REFUSED,
     EHLO "STARTTLS\r\n",
     "454 '4.7.0 TLS not available'",
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250 STARTTLS\r\n", "554 5.7.0 no\r\n", NULL},
     TW_STARTTLS_REFUSED,
     EHLO "STARTTLS\r\n",
     "554",
     1},
    {TW_STARTTLS_SMTP,
     {"554 5.7.1 no service for you\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "",
     "greeting 554",
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250 STARTTLS\r\n", "220 go\r\n\x16\x03\x01", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     EHLO "STARTTLS\r\n",
     "injection",
     0},
    {TW_STARTTLS_SMTP,
     {"220-mx\r\n250 mx\r\n", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "",
     "code changed",
     1},
    {TW_STARTTLS_SMTP,
     {"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "",
     "SSH-2.0-OpenSSH",
     1},
    {TW_STARTTLS_SMTP,
     {"HTTP/1.1 400 Bad Request\r\n\r\n", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "",
     "HTTP/1.1",
     1},
    {TW_STARTTLS_SMTP,
     {"\x15\x03\x03\x00\x02\x02\x46", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "",
     "direct TLS",
     1},
    {TW_STARTTLS_SMTP,
     {"220 mx\r\n", "250 STARTTLS\r\n", "334 what\r\n", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     EHLO "STARTTLS\r\n",
     "unexpected reply 334",
     1},
    /* IMAP */
    {TW_STARTTLS_IMAP,
     {"* OK IMAP ready\r\n", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA001 OK done\r\n",
      "A002 OK Begin TLS\r\n", NULL},
     TW_STARTTLS_READY,
     "A001 CAPABILITY\r\nA002 STARTTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_IMAP,
     {"* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS] Dovecot ready.\r\n", "A002 OK go\r\n", NULL},
     TW_STARTTLS_READY,
     "A002 STARTTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_IMAP,
     {"* OK ready\r\n", "* 3 EXISTS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA001 OK\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "A001 CAPABILITY\r\n",
     "does not list STARTTLS",
     1},
    {TW_STARTTLS_IMAP,
     {"* OK [CAPABILITY IMAP4rev1] hi\r\n", "* CAPABILITY IMAP4rev1\r\nA001 OK\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "A001 CAPABILITY\r\n",
     NULL,
     1},
    {TW_STARTTLS_IMAP,
     {"* OK hi\r\n", "* CAPABILITY STARTTLS\r\nA001 OK\r\n", "A002 NO TLS broken\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "A001 CAPABILITY\r\nA002 STARTTLS\r\n",
     "NO TLS broken",
     1},
    {TW_STARTTLS_IMAP,
     {"* OK hi\r\n", "* CAPABILITY STARTTLS\r\nA001 OK\r\n", "A002 BAD\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "A001 CAPABILITY\r\nA002 STARTTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_IMAP,
     {"* PREAUTH logged in\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "",
     "PREAUTH",
     1},
    {TW_STARTTLS_IMAP,
     {"* BYE too many connections\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "",
     "too many",
     1},
    {TW_STARTTLS_IMAP, {"220 this is smtp\r\n", NULL}, TW_STARTTLS_PROTOCOL_ERROR, "", "IMAP", 1},
    /* POP3 */
    {TW_STARTTLS_POP3,
     {"+OK POP3 ready\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n", "+OK go\r\n", NULL},
     TW_STARTTLS_READY,
     "CAPA\r\nSTLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_POP3,
     {"+OK POP3 ready\r\n", "+OK\r\nUSER\r\nTOP\r\n.\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "CAPA\r\n",
     "does not list STLS",
     1},
    {TW_STARTTLS_POP3,
     {"+OK POP3 ready\r\n", "-ERR unknown command\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "CAPA\r\n",
     NULL,
     1},
    {TW_STARTTLS_POP3,
     {"+OK\r\n", "+OK\r\nSTLS\r\n.\r\n", "-ERR TLS unavailable\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "CAPA\r\nSTLS\r\n",
     "TLS unavailable",
     1},
    {TW_STARTTLS_POP3, {"-ERR go away\r\n", NULL}, TW_STARTTLS_REFUSED, "", NULL, 1},
    {TW_STARTTLS_POP3, {"* OK imap\r\n", NULL}, TW_STARTTLS_PROTOCOL_ERROR, "", NULL, 1},
    /* FTP */
    {TW_STARTTLS_FTP,
     {"220-Welcome\r\n free text\r\n220x not the end\r\n220 ready\r\n", "234 go\r\n", NULL},
     TW_STARTTLS_READY,
     "AUTH TLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_FTP,
     {"120 wait 1 minute\r\n", "220 ready\r\n", "234 go\r\n", NULL},
     TW_STARTTLS_READY,
     "AUTH TLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_FTP,
     {"220 ready\r\n", "502 Command not implemented\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "AUTH TLS\r\n",
     "502",
     1},
    {TW_STARTTLS_FTP,
     {"220 ready\r\n", "500 AUTH not understood\r\n", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "AUTH TLS\r\n",
     NULL,
     1},
    {TW_STARTTLS_FTP,
     {"220 ready\r\n", "534 Policy denied\r\n", NULL},
     TW_STARTTLS_REFUSED,
     "AUTH TLS\r\n",
     "534",
     1},
    {TW_STARTTLS_FTP, {"421 Too many users\r\n", NULL}, TW_STARTTLS_REFUSED, "", NULL, 1},
    /* PostgreSQL */
    {TW_STARTTLS_POSTGRES,
     {"S", NULL},
     TW_STARTTLS_READY,
     "\x00\x00\x00\x08\x04\xd2\x16\x2f",
     NULL,
     1},
    {TW_STARTTLS_POSTGRES,
     {"N", NULL},
     TW_STARTTLS_UNSUPPORTED,
     "\x00\x00\x00\x08\x04\xd2\x16\x2f",
     "'N'",
     1},
    {TW_STARTTLS_POSTGRES,
     {"SX", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "\x00\x00\x00\x08\x04\xd2\x16\x2f",
     "injection",
     0},
    {TW_STARTTLS_POSTGRES,
     {"HTTP/1.0 400\r\n", NULL},
     TW_STARTTLS_PROTOCOL_ERROR,
     "\x00\x00\x00\x08\x04\xd2\x16\x2f",
     NULL,
     1},
};

static void
sent_equals(const struct sent *got, const char *want, size_t wantlen, size_t idx)
{
    if (got->n != wantlen || memcmp(got->b, want, wantlen) != 0)
        fail_msg("script %zu: sent %zu bytes '%.*s', want '%s'", idx, got->n, (int)got->n,
                 (const char *)got->b, want);
}

static void
test_starttls_scripts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        const struct script *sc = &scripts[i];
        struct tw_starttls s;
        struct sent out;
        size_t wantlen = sc->proto == TW_STARTTLS_POSTGRES ? 8 : strlen(sc->sent);
        int st;

        st = run_script_n(&s, sc->proto, "example.com", sc->chunks, NULL, 0, &out);
        if (st != sc->expect)
            fail_msg("script %zu: got %s, want %s (%s)", i, tw_starttls_status_name(st),
                     tw_starttls_status_name(sc->expect), tw_starttls_detail(&s));
        sent_equals(&out, sc->sent, wantlen, i);
        if (sc->detail != NULL && strstr(tw_starttls_detail(&s), sc->detail) == NULL)
            fail_msg("script %zu: detail '%s' lacks '%s'", i, tw_starttls_detail(&s), sc->detail);
        /* Final statuses stick. */
        assert_int_equal(tw_starttls_input(&s, (const uint8_t *)"220 x\r\n", 7), st);
        if (!sc->bytewise_same)
            continue;
        st = run_script_n(&s, sc->proto, "example.com", sc->chunks, NULL, 1, &out);
        if (st != sc->expect)
            fail_msg("script %zu bytewise: got %s (%s)", i, tw_starttls_status_name(st),
                     tw_starttls_detail(&s));
        sent_equals(&out, sc->sent, wantlen, i);
    }
}

/* Bytes after the go-ahead in a later read are the TLS stream's business. */
static void
test_starttls_injection_needs_same_read(void **state)
{
    static const char *const chunks[] = {"S", NULL};
    struct tw_starttls s;
    struct sent out;

    (void)state;
    assert_int_equal(run_script_n(&s, TW_STARTTLS_POSTGRES, NULL, chunks, NULL, 0, &out),
                     TW_STARTTLS_READY);
    /* The state machine is done: more input changes nothing. */
    assert_int_equal(tw_starttls_input(&s, (const uint8_t *)"X", 1), TW_STARTTLS_READY);
}

static void
test_starttls_postgres_error(void **state)
{
    /* 'E', length, S FATAL, M message, terminator. */
    static const char pg_err[] = "E\x00\x00\x00\x2eSFATAL\0C08P01\0Mno pg_hba.conf entry\0\0";
    const char *chunks[] = {pg_err, NULL};
    size_t lens[] = {sizeof(pg_err) - 1};
    struct tw_starttls s;
    struct sent out;

    (void)state;
    assert_int_equal(run_script_n(&s, TW_STARTTLS_POSTGRES, NULL, chunks, lens, 0, &out),
                     TW_STARTTLS_REFUSED);
    assert_non_null(strstr(tw_starttls_detail(&s), "no pg_hba.conf entry"));
}

/* ---- XMPP ------------------------------------------------------------------ */

#define XMPP_HDR                                                                                   \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='example.com' version='1.0'>"
#define XMPP_STARTTLS "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

static void
test_starttls_xmpp(void **state)
{
    static const struct {
        const char *chunks[4];
        int expect;
        int sends_starttls;
        const char *detail;
    } cases[] = {
        {{XMPP_HDR "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                   "<required/></starttls><mechanisms><mechanism>PLAIN</mechanism></mechanisms>"
                   "</stream:features>",
          "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", NULL},
         TW_STARTTLS_READY,
         1,
         "proceed"},
        /* Split anywhere, a comment, '>' inside an attribute value. */
        {{XMPP_HDR "<!-- a > comment --><stream:feat", "ures a='x>y'><starttls/></stream:features>",
          " <proceed/>", NULL},
         TW_STARTTLS_READY,
         1,
         NULL},
        {{XMPP_HDR "<stream:features><mechanisms><mechanism>STARTTLS</mechanism></mechanisms>"
                   "</stream:features>",
          NULL},
         TW_STARTTLS_UNSUPPORTED,
         0,
         "do not offer"},
        {{XMPP_HDR "<stream:features/>", NULL}, TW_STARTTLS_UNSUPPORTED, 0, "empty"},
        {{XMPP_HDR "<stream:features><starttls/></stream:features>",
          "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>", NULL},
         TW_STARTTLS_REFUSED,
         1,
         "failure"},
        {{XMPP_HDR "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                   "</stream:error></stream:stream>",
          NULL},
         TW_STARTTLS_REFUSED,
         0,
         "host-unknown"},
        {{XMPP_HDR "</stream:stream>", NULL}, TW_STARTTLS_REFUSED, 0, "closed the stream"},
        {{"220 smtp.example ESMTP\r\n", NULL},
         TW_STARTTLS_PROTOCOL_ERROR,
         0,
         "expected an XMPP stream"},
        {{"<html><body>", NULL}, TW_STARTTLS_PROTOCOL_ERROR, 0, "stream header"},
        {{XMPP_HDR "<stream:features><starttls/></stream:features>", "<proceed/>junk", NULL},
         TW_STARTTLS_PROTOCOL_ERROR,
         1,
         "injection"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int bw = 0; bw < 2; bw++) {
            struct tw_starttls s;
            struct sent out;
            const char *hdr_end;
            int st;

            if (bw && cases[i].expect == TW_STARTTLS_PROTOCOL_ERROR && cases[i].sends_starttls)
                continue; /* injection is only seen within one read */
            st =
                run_script_n(&s, TW_STARTTLS_XMPP, "chat.example", cases[i].chunks, NULL, bw, &out);
            if (st != cases[i].expect)
                fail_msg("xmpp case %zu/%d: got %s (%s)", i, bw, tw_starttls_status_name(st),
                         tw_starttls_detail(&s));
            out.b[out.n < sizeof(out.b) ? out.n : sizeof(out.b) - 1] = '\0';
            assert_non_null(strstr((char *)out.b, "<stream:stream"));
            assert_non_null(strstr((char *)out.b, " to='chat.example'"));
            hdr_end = strchr(strstr((char *)out.b, "<stream:stream"), '>');
            assert_non_null(hdr_end);
            if (cases[i].sends_starttls)
                assert_string_equal(hdr_end + 1, XMPP_STARTTLS);
            else
                assert_string_equal(hdr_end + 1, "");
            if (cases[i].detail != NULL && strstr(tw_starttls_detail(&s), cases[i].detail) == NULL)
                fail_msg("xmpp case %zu: detail '%s'", i, tw_starttls_detail(&s));
        }
    }
}

static void
test_starttls_xmpp_hostile_hostname(void **state)
{
    struct tw_starttls s;
    const uint8_t *p;
    size_t n;
    char buf[TW_STARTTLS_OUT_MAX + 1];

    (void)state;
    tw_starttls_init(&s, TW_STARTTLS_XMPP, "a'/><evil x='\"\n.example");
    assert_int_equal(tw_starttls_output(&s, &p, &n), 1);
    memcpy(buf, p, n);
    buf[n] = '\0';
    assert_non_null(strstr(buf, " to='aevilx.example'"));
    assert_null(strstr(buf, "<evil"));
    /* No host at all: no 'to' attribute. */
    tw_starttls_init(&s, TW_STARTTLS_XMPP, NULL);
    assert_int_equal(tw_starttls_output(&s, &p, &n), 1);
    memcpy(buf, p, n);
    buf[n] = '\0';
    assert_null(strstr(buf, " to="));
}

/* ---- LDAP ------------------------------------------------------------------ */

static const uint8_t ldap_request[] = {
    0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
    '.',  '4',  '.',  '1',  '.',  '1',  '4',  '6',  '6',  '.', '2', '0', '0', '3', '7'};

static int
ldap_run(const uint8_t *resp, size_t n, int bytewise, struct tw_starttls *s)
{
    const char *chunks[] = {(const char *)resp, NULL};
    size_t lens[] = {n};
    struct sent out;
    int st = run_script_n(s, TW_STARTTLS_LDAP, NULL, chunks, lens, bytewise, &out);

    assert_int_equal(out.n, sizeof(ldap_request));
    assert_memory_equal(out.b, ldap_request, sizeof(ldap_request));
    return st;
}

static void
test_starttls_ldap(void **state)
{
    static const uint8_t ok[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07,
                                 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
    /* protocolError with a diagnostic message and a responseName. */
    static const uint8_t unsup[] = {0x30, 0x16, 0x02, 0x01, 0x01, 0x78, 0x11, 0x0a,
                                    0x01, 0x02, 0x04, 0x00, 0x04, 0x0a, 'u',  'n',
                                    'k',  'n',  'o',  'w',  'n',  ' ',  'o',  'p'};
    static const uint8_t unavail[] = {0x30, 0x81, 0x12, 0x02, 0x01, 0x01, 0x78,
                                      0x0d, 0x0a, 0x01, 0x34, 0x04, 0x00, 0x04,
                                      0x06, 'n',  'o',  ' ',  'c',  'r',  't'};
    /* Notice of Disconnection: messageID 0, resultCode unavailable. */
    static const uint8_t notice[] = {0x30, 0x0c, 0x02, 0x01, 0x00, 0x78, 0x07,
                                     0x0a, 0x01, 0x34, 0x04, 0x00, 0x04, 0x00};
    static const uint8_t other_op[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x65, 0x07,
                                       0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
    static const uint8_t huge[] = {0x30, 0x83, 0x10, 0x00, 0x00, 0x02, 0x01, 0x01};
    static const uint8_t indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x01};
    static const uint8_t trailing[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a,
                                       0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x16, 0x03};
    static const uint8_t bad_inner[] = {0x30, 0x05, 0x02, 0x09, 0x01, 0x78, 0x00};
    struct tw_starttls s;

    (void)state;
    for (int bw = 0; bw < 2; bw++) {
        assert_int_equal(ldap_run(ok, sizeof(ok), bw, &s), TW_STARTTLS_READY);
        assert_int_equal(ldap_run(unsup, sizeof(unsup), bw, &s), TW_STARTTLS_UNSUPPORTED);
        assert_non_null(strstr(tw_starttls_detail(&s), "protocolError (2) 'unknown op'"));
        assert_int_equal(ldap_run(unavail, sizeof(unavail), bw, &s), TW_STARTTLS_REFUSED);
        assert_non_null(strstr(tw_starttls_detail(&s), "unavailable (52) 'no crt'"));
        assert_int_equal(ldap_run(notice, sizeof(notice), bw, &s), TW_STARTTLS_REFUSED);
        assert_non_null(strstr(tw_starttls_detail(&s), "disconnection"));
        assert_int_equal(ldap_run(other_op, sizeof(other_op), bw, &s), TW_STARTTLS_PROTOCOL_ERROR);
        assert_int_equal(ldap_run(huge, sizeof(huge), bw, &s), TW_STARTTLS_PROTOCOL_ERROR);
        assert_int_equal(ldap_run(indefinite, sizeof(indefinite), bw, &s),
                         TW_STARTTLS_PROTOCOL_ERROR);
        assert_int_equal(ldap_run(bad_inner, sizeof(bad_inner), bw, &s),
                         TW_STARTTLS_PROTOCOL_ERROR);
        assert_int_equal(ldap_run((const uint8_t *)"220 smtp\r\n", 10, bw, &s),
                         TW_STARTTLS_PROTOCOL_ERROR);
    }
    assert_int_equal(ldap_run(trailing, sizeof(trailing), 0, &s), TW_STARTTLS_PROTOCOL_ERROR);
    /* Incomplete stays NEED_MORE, not a verdict. */
    assert_int_equal(ldap_run(ok, sizeof(ok) - 1, 0, &s), TW_STARTTLS_NEED_MORE);
}

/* ---- hostile input ----------------------------------------------------------- */

/* Feed chunks of data until a final status; returns it and the bytes fed. */
static int
feed_until_final(struct tw_starttls *s, const uint8_t *data, size_t len, size_t chunk, size_t *fed)
{
    int st = TW_STARTTLS_NEED_MORE;
    struct sent out;

    memset(&out, 0, sizeof(out));
    *fed = 0;
    while (*fed < len) {
        size_t k = len - *fed < chunk ? len - *fed : chunk;

        st = tw_starttls_input(s, data + *fed, k);
        *fed += k;
        out.n = 0;
        drain(s, &out);
        if (st >= TW_STARTTLS_READY)
            break;
    }
    check_detail(s);
    return st;
}

static void
test_starttls_hostile_endless_line(void **state)
{
    static const enum tw_starttls_proto line_protos[] = {TW_STARTTLS_SMTP, TW_STARTTLS_IMAP,
                                                         TW_STARTTLS_POP3, TW_STARTTLS_FTP};
    size_t len = 1024 * 1024, fed;
    uint8_t *data = malloc(len);
    struct tw_starttls s;

    (void)state;
    assert_non_null(data);
    memset(data, 'A', len);
    for (size_t i = 0; i < sizeof(line_protos) / sizeof(line_protos[0]); i++) {
        tw_starttls_init(&s, line_protos[i], NULL);
        assert_int_equal(feed_until_final(&s, data, len, 1000, &fed), TW_STARTTLS_PROTOCOL_ERROR);
        assert_true(fed <= TW_STARTTLS_LINE_MAX + 1000);
        assert_non_null(strstr(tw_starttls_detail(&s), "without a newline"));
    }
    /* An XML tag that never closes. */
    memcpy(data, "<stream:stream a='", 18);
    tw_starttls_init(&s, TW_STARTTLS_XMPP, "x");
    assert_int_equal(feed_until_final(&s, data, len, 777, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    assert_true(fed <= TW_STARTTLS_LINE_MAX + 777);
    free(data);
}

static void
test_starttls_hostile_continuations(void **state)
{
    const char *line = "250-X\r\n";
    size_t ll = strlen(line), len = 10000 * ll, fed;
    uint8_t *data = malloc(len);
    struct tw_starttls s;
    static const char greet[] = "220 mx\r\n";

    (void)state;
    assert_non_null(data);
    for (size_t i = 0; i < 10000; i++)
        memcpy(data + i * ll, line, ll);
    tw_starttls_init(&s, TW_STARTTLS_SMTP, NULL);
    assert_int_equal(tw_starttls_input(&s, (const uint8_t *)greet, sizeof(greet) - 1),
                     TW_STARTTLS_SEND);
    assert_int_equal(feed_until_final(&s, data, len, 4096, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    assert_true(fed < len);
    assert_non_null(strstr(tw_starttls_detail(&s), "1000 lines"));
    /* The same flood of untagged IMAP data and of POP3 CAPA lines. */
    for (size_t i = 0; i < 10000; i++)
        memcpy(data + i * ll, "* X Y\r\n", ll);
    tw_starttls_init(&s, TW_STARTTLS_IMAP, NULL);
    assert_int_equal(tw_starttls_input(&s, (const uint8_t *)"* OK x\r\n", 8), TW_STARTTLS_SEND);
    assert_int_equal(feed_until_final(&s, data, len, 4096, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    /* FTP multi-line reply whose end never comes: bounded by lines too. */
    tw_starttls_init(&s, TW_STARTTLS_FTP, NULL);
    assert_int_equal(tw_starttls_input(&s, (const uint8_t *)"220-x\r\n", 7), TW_STARTTLS_NEED_MORE);
    assert_int_equal(feed_until_final(&s, data, len, 4096, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    free(data);
}

static void
test_starttls_hostile_big_banner(void **state)
{
    size_t len = 1024 * 1024 + 6, fed;
    uint8_t *data = malloc(len);
    struct tw_starttls s;

    (void)state;
    assert_non_null(data);
    /* One 1 MiB line. */
    memcpy(data, "220 ", 4);
    memset(data + 4, 'x', len - 6);
    memcpy(data + len - 2, "\r\n", 2);
    tw_starttls_init(&s, TW_STARTTLS_SMTP, NULL);
    assert_int_equal(feed_until_final(&s, data, len, 65536, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    /* 1 MiB in 100-byte lines: the total cap ends it. */
    for (size_t i = 0; i + 100 <= len; i += 100) {
        memset(data + i, 'y', 100);
        memcpy(data + i, "220-", 4);
        memcpy(data + i + 98, "\r\n", 2);
    }
    tw_starttls_init(&s, TW_STARTTLS_SMTP, NULL);
    assert_int_equal(feed_until_final(&s, data, len, 1000, &fed), TW_STARTTLS_PROTOCOL_ERROR);
    assert_true(fed <= TW_STARTTLS_TOTAL_MAX + 1000);
    assert_non_null(strstr(tw_starttls_detail(&s), "65536"));
    /* In one call. */
    tw_starttls_init(&s, TW_STARTTLS_SMTP, NULL);
    assert_int_equal(tw_starttls_input(&s, data, len), TW_STARTTLS_PROTOCOL_ERROR);
    free(data);
}

static void
test_starttls_hostile_garbage(void **state)
{
    size_t len = 256 * 1024, fed;
    uint8_t *data = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    struct tw_starttls s;

    (void)state;
    assert_non_null(data);
    for (int seed = 0; seed < 8; seed++) {
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data[i] = (uint8_t)x;
        }
        for (int p = TW_STARTTLS_SMTP; p < TW_STARTTLS__COUNT; p++) {
            int st;

            tw_starttls_init(&s, (enum tw_starttls_proto)p, "h.example");
            st = feed_until_final(&s, data, len, 1 + (size_t)seed * 997, &fed);
            if (st < TW_STARTTLS_READY || st == TW_STARTTLS_READY)
                fail_msg("%s seed %d: garbage gave %s (%s)", tw_starttls_name(p), seed,
                         tw_starttls_status_name(st), tw_starttls_detail(&s));
            assert_true(fed <= TW_STARTTLS_TOTAL_MAX + 1 + (size_t)seed * 997);
        }
    }
    free(data);
}

/* ---- small tables and the classifier hook ------------------------------------ */

static void
test_starttls_ports_and_names(void **state)
{
    (void)state;
    assert_int_equal(tw_starttls_for_port(25), TW_STARTTLS_SMTP);
    assert_int_equal(tw_starttls_for_port(587), TW_STARTTLS_SMTP);
    assert_int_equal(tw_starttls_for_port(143), TW_STARTTLS_IMAP);
    assert_int_equal(tw_starttls_for_port(110), TW_STARTTLS_POP3);
    assert_int_equal(tw_starttls_for_port(21), TW_STARTTLS_FTP);
    assert_int_equal(tw_starttls_for_port(5222), TW_STARTTLS_XMPP);
    assert_int_equal(tw_starttls_for_port(389), TW_STARTTLS_LDAP);
    assert_int_equal(tw_starttls_for_port(5432), TW_STARTTLS_POSTGRES);
    assert_int_equal(tw_starttls_for_port(465), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_for_port(993), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_for_port(995), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_for_port(636), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_for_port(5223), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_for_port(443), TW_STARTTLS_NONE);
    assert_string_equal(tw_starttls_sclient_name(TW_STARTTLS_SMTP), "smtp");
    assert_string_equal(tw_starttls_sclient_name(TW_STARTTLS_POSTGRES), "postgres");
    assert_string_equal(tw_starttls_sclient_name(TW_STARTTLS_NONE), "");
    assert_string_equal(tw_starttls_sclient_name((enum tw_starttls_proto)99), "");
    /* Every protocol round-trips through a target text's scheme. */
    for (int p = TW_STARTTLS_SMTP; p < TW_STARTTLS__COUNT; p++) {
        char t[64];

        snprintf(t, sizeof(t), "%s://h.example:1", tw_starttls_name(p));
        assert_int_equal(tw_starttls_from_target(t), p);
    }
    assert_int_equal(tw_starttls_from_target("SUBMISSION://h:587"), TW_STARTTLS_SMTP);
    assert_int_equal(tw_starttls_from_target("https://h"), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_from_target("h.example:25"), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_from_target("smtpx://h"), TW_STARTTLS_NONE);
    assert_int_equal(tw_starttls_from_target(NULL), TW_STARTTLS_NONE);
    assert_string_equal(tw_class_name(TW_CLASS_STARTTLS_UNSUPPORTED), "starttls_unsupported");
    assert_string_equal(tw_class_name(TW_CLASS_STARTTLS_REFUSED), "starttls_refused");
    /* Precedence: after tcp_reset, before handshake_timeout. */
    assert_int_equal(TW_CLASS_STARTTLS_UNSUPPORTED, TW_CLASS_TCP_RESET + 1);
    assert_int_equal(TW_CLASS_HANDSHAKE_TIMEOUT, TW_CLASS_STARTTLS_REFUSED + 1);
    assert_true(tw_class_info(TW_CLASS_STARTTLS_REFUSED)->is_failure);
}

static void
test_starttls_classify(void **state)
{
    struct tw_probe_result m;
    enum tw_class c = TW_CLASS_OK;
    char buf[256];

    (void)state;
    memset(&m, 0, sizeof(m));
    m.alert = -1;
    m.outcome = TW_PROBE_LOCAL_ERROR;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 0); /* direct TLS */

    m.starttls = TW_STARTTLS_SMTP;
    m.starttls_result = TW_STARTTLS_UNSUPPORTED;
    snprintf(m.starttls_detail, sizeof(m.starttls_detail), "smtp: EHLO reply \x1b[31m");
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 1);
    assert_int_equal(c, TW_CLASS_STARTTLS_UNSUPPORTED);
    assert_string_equal(buf, "smtp: EHLO reply .[31m");

    m.starttls_result = TW_STARTTLS_REFUSED;
    assert_int_equal(tw_starttls_classify(&m, &c, NULL, 0), 1);
    assert_int_equal(c, TW_CLASS_STARTTLS_REFUSED);

    m.outcome = TW_PROBE_NOT_TLS;
    m.starttls_result = TW_STARTTLS_PROTOCOL_ERROR;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 1);
    assert_int_equal(c, TW_CLASS_NOT_TLS);

    m.starttls_result = TW_STARTTLS_NEED_MORE;
    m.outcome = TW_PROBE_TIMEOUT;
    m.starttls_bytes_in = 0;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 1);
    assert_int_equal(c, TW_CLASS_HANDSHAKE_TIMEOUT);
    assert_non_null(strstr(buf, "smtp dialogue timed out after 0 bytes"));

    m.outcome = TW_PROBE_EOF;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 1);
    assert_int_equal(c, TW_CLASS_TCP_RESET);
    assert_non_null(strstr(buf, "closed during the smtp dialogue"));

    m.outcome = TW_PROBE_RESET;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 1);
    assert_int_equal(c, TW_CLASS_TCP_RESET);

    /* Never got to the dialogue, or the upgrade worked: not this hook's call. */
    m.outcome = TW_PROBE_CONNECT_ERROR;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 0);
    m.outcome = TW_PROBE_ALERT_RECEIVED;
    m.starttls_result = TW_STARTTLS_READY;
    assert_int_equal(tw_starttls_classify(&m, &c, buf, sizeof(buf)), 0);
}

/* ---- the lab responders over a socketpair, with a real TLS handshake -------- */

struct srv {
    int fd;
    enum tw_lab_starttls_kind kind;
    SSL_CTX *ctx;
    int handshook;
};

static void *
srv_main(void *arg)
{
    struct srv *sv = arg;
    SSL *ssl = tw_lab_starttls_serve(sv->fd, sv->kind, sv->ctx, 10000);

    if (ssl != NULL) {
        sv->handshook = 1;
        SSL_write(ssl, "lab", 3);
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    return NULL;
}

static SSL_CTX *
server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = tx_self_signed(k, "lab.tlsweep.test", -60, 3600);

    assert_non_null(ctx);
    assert_non_null(k);
    assert_non_null(x);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
    X509_free(x);
    EVP_PKEY_free(k);
    return ctx;
}

/* Drive the client state machine on fd (blocking).  Returns the status. */
static int
client_dialogue(int fd, enum tw_starttls_proto proto, struct tw_starttls *s)
{
    int st = TW_STARTTLS_NEED_MORE;

    tw_starttls_init(s, proto, "lab.tlsweep.test");
    for (;;) {
        const uint8_t *p;
        size_t n;
        uint8_t buf[1500];
        ssize_t r;

        while (tw_starttls_output(s, &p, &n)) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

            assert_true(w > 0);
            tw_starttls_sent(s, (size_t)w);
        }
        r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0)
            return st; /* EOF before a verdict */
        st = tw_starttls_input(s, buf, (size_t)r);
        if (st >= TW_STARTTLS_READY)
            return st;
    }
}

static void
test_starttls_lab_socketpair(void **state)
{
    SSL_CTX *sctx = server_ctx(), *cctx = SSL_CTX_new(TLS_client_method());

    (void)state;
    assert_non_null(cctx);
    for (int k = 0; k < TW_LAB_STLS__COUNT; k++) {
        struct srv sv = {.kind = (enum tw_lab_starttls_kind)k, .ctx = sctx};
        const char *exp = tw_lab_starttls_expected((enum tw_lab_starttls_kind)k);
        enum tw_starttls_proto proto;
        struct tw_starttls s;
        pthread_t th;
        int sp[2], st;
        char target[64];

        snprintf(target, sizeof(target), "%s://lab.tlsweep.test", tw_lab_starttls_scheme(sv.kind));
        proto = (enum tw_starttls_proto)tw_starttls_from_target(target);

        assert_true(proto != TW_STARTTLS_NONE);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        sv.fd = sp[1];
        assert_int_equal(pthread_create(&th, NULL, srv_main, &sv), 0);
        st = client_dialogue(sp[0], proto, &s);
        if (strcmp(exp, "ok") == 0) {
            SSL *ssl;
            char got[4] = "";

            if (st != TW_STARTTLS_READY)
                fail_msg("lab %s: %s (%s)", tw_lab_starttls_kind_name(sv.kind),
                         tw_starttls_status_name(st), tw_starttls_detail(&s));
            ssl = SSL_new(cctx);
            assert_non_null(ssl);
            SSL_set_fd(ssl, sp[0]);
            SSL_set_tlsext_host_name(ssl, "lab.tlsweep.test");
            if (SSL_connect(ssl) != 1)
                fail_msg("lab %s: TLS handshake after STARTTLS failed",
                         tw_lab_starttls_kind_name(sv.kind));
            assert_true(SSL_version(ssl) >= TLS1_2_VERSION);
            assert_int_equal(SSL_read(ssl, got, 3), 3);
            assert_memory_equal(got, "lab", 3);
            SSL_free(ssl);
        } else {
            int want = strcmp(exp, "starttls_unsupported") == 0 ? TW_STARTTLS_UNSUPPORTED
                                                                : TW_STARTTLS_REFUSED;
            enum tw_class c;
            struct tw_probe_result m;

            if (st != want)
                fail_msg("lab %s: %s (%s)", tw_lab_starttls_kind_name(sv.kind),
                         tw_starttls_status_name(st), tw_starttls_detail(&s));
            /* What the engine would record, and the class it maps to. */
            memset(&m, 0, sizeof(m));
            m.outcome = TW_PROBE_LOCAL_ERROR;
            m.starttls = (uint8_t)proto;
            m.starttls_result = (uint8_t)st;
            snprintf(m.starttls_detail, sizeof(m.starttls_detail), "%s", tw_starttls_detail(&s));
            assert_int_equal(tw_starttls_classify(&m, &c, NULL, 0), 1);
            assert_string_equal(tw_class_name(c), exp);
        }
        close(sp[0]); /* the refusing servers wait for the next command: EOF ends them */
        assert_int_equal(pthread_join(th, NULL), 0);
        close(sp[1]);
        assert_int_equal(sv.handshook, strcmp(exp, "ok") == 0);
    }
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* The responders themselves: pure, bounded, and they drop pipelined bytes. */
static void
test_starttls_lab_responder(void **state)
{
    struct tw_lab_starttls r;
    const uint8_t *p;
    size_t n;
    uint8_t big[TW_LAB_STLS_LINE_MAX + 10];

    (void)state;
    tw_lab_starttls_init(&r, TW_LAB_STLS_SMTP_REFUSED);
    assert_int_equal(tw_lab_starttls_output(&r, &p, &n), 1);
    assert_memory_equal(p, "220 ", 4);
    tw_lab_starttls_sent(&r, n);
    assert_int_equal(tw_lab_starttls_input(&r, (const uint8_t *)"EHLO x\r\nSTARTTLS\r\n", 18),
                     TW_LAB_STLS_CONTINUE);
    assert_int_equal(tw_lab_starttls_output(&r, &p, &n), 1);
    assert_non_null(memmem(p, n, "250-STARTTLS", 12));
    assert_non_null(memmem(p, n, "\r\n454 ", 6));
    memset(big, 'a', sizeof(big));
    tw_lab_starttls_init(&r, TW_LAB_STLS_POP3);
    assert_int_equal(tw_lab_starttls_input(&r, big, sizeof(big)), TW_LAB_STLS_CLOSE);
    tw_lab_starttls_init(&r, TW_LAB_STLS_POSTGRES);
    assert_int_equal(tw_lab_starttls_output(&r, &p, &n), 0);
    assert_int_equal(tw_lab_starttls_input(&r, (const uint8_t *)"GET / HTTP/1.0\r\n", 16),
                     TW_LAB_STLS_CLOSE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_scripts),
        cmocka_unit_test(test_starttls_injection_needs_same_read),
        cmocka_unit_test(test_starttls_postgres_error),
        cmocka_unit_test(test_starttls_xmpp),
        cmocka_unit_test(test_starttls_xmpp_hostile_hostname),
        cmocka_unit_test(test_starttls_ldap),
        cmocka_unit_test(test_starttls_hostile_endless_line),
        cmocka_unit_test(test_starttls_hostile_continuations),
        cmocka_unit_test(test_starttls_hostile_big_banner),
        cmocka_unit_test(test_starttls_hostile_garbage),
        cmocka_unit_test(test_starttls_ports_and_names),
        cmocka_unit_test(test_starttls_classify),
        cmocka_unit_test(test_starttls_lab_socketpair),
        cmocka_unit_test(test_starttls_lab_responder),
    };

    /* The lab's servers run in this process: a peer that has closed must
     * not kill the test with SIGPIPE on a write (tlsweep scan and tlsweep
     * lab ignore it the same way). */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
