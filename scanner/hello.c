/*
 * hello.c - raw ClientHello builder and server first-flight parser.
 *
 * Big picture.  A probe writes tw_hello_build()'s bytes to a plain socket and
 * feeds everything it reads to tw_hello_parse() until that returns DONE or
 * ERROR.  The parser never keeps state between calls: it re-walks the whole
 * buffer (at most TW_HELLO_FLIGHT_MAX bytes) each time, which costs a few
 * microseconds and makes "append and call again" impossible to get wrong.
 *
 * The walk has two passes.  The first checks every TLS record header (type,
 * version major 3, length <= 2^14 + 2048) and finds the complete handshake
 * records up to the first record of another type (alert, CCS, ...), which
 * ends the flight.  The second walks the handshake messages of the
 * concatenated handshake payloads (messages may span records and records may
 * hold several messages); when there is more than one handshake record the
 * payloads are gathered into one bounded heap copy first.  Every message is
 * parsed with (p, end) and each length is checked before it is used.
 *
 * The facts come from tls/suites.h: the default supported_groups, and the
 * key exchange of the suite a server chose (which decides how its
 * ServerKeyExchange is read).  The suites and SSLv2 specs to offer are the
 * caller's, usually tw_suites_offer_*().
 */
#include <stdlib.h>
#include <string.h>

#include "scanner/hello.h"
#include "base/xalloc.h"

/* ---------------------------------------------------------------------------
 * Tables (the suites, specs and groups are tls/suites.h's)
 */

/* The default signature_algorithms: every scheme a server might insist on. */
static const uint16_t hello_default_sigalgs[] = {
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c, 0x0804,
    0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601, 0x0303,
    0x0301, 0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202,
};

/* SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3. */
static const uint8_t hello_hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* "DOWNGRD" + 01 / 00: the last 8 bytes of a TLS 1.3 server's random when it
 * negotiates TLS 1.2 / TLS 1.1 or below. */
static const uint8_t hello_downgrade[7] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};

/* ---------------------------------------------------------------------------
 * Builder
 */

/* A bounded writer: any write past cap sets err and writes nothing more. */
struct hello_w {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err;
};

static void
w_bytes(struct hello_w *w, const void *src, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = 1;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void
w_u8(struct hello_w *w, unsigned v)
{
    uint8_t b = (uint8_t)v;

    w_bytes(w, &b, 1);
}

static void
w_u16(struct hello_w *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    w_bytes(w, b, 2);
}

static void
w_u24(struct hello_w *w, size_t v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

    w_bytes(w, b, 3);
}

/* Reserve an n-byte length field; returns its position. */
static size_t
w_mark(struct hello_w *w, int n)
{
    size_t at = w->len;

    if (n == 3)
        w_u24(w, 0);
    else
        w_u16(w, 0);
    return at;
}

/* Fill the n-byte length field at `at` with the number of bytes after it. */
static void
w_fill(struct hello_w *w, size_t at, int n)
{
    size_t v;

    if (w->err)
        return;
    v = w->len - at - (size_t)n;
    if ((n == 2 && v > 0xffff) || (n == 3 && v > 0xffffff)) {
        w->err = 1;
        return;
    }
    if (n == 3)
        w->p[at++] = (uint8_t)(v >> 16);
    w->p[at] = (uint8_t)(v >> 8);
    w->p[at + 1] = (uint8_t)v;
}

void
tw_hello_params_init(struct tw_hello_params *p, uint16_t version, const uint8_t *random)
{
    memset(p, 0, sizeof(*p));
    p->version = version;
    p->random = random;
    if (version == TW_VERSION_SSL2)
        p->flags = 0; /* SSLv2 has no extensions and knows no SCSV */
    else if (version == TW_VERSION_SSL3)
        p->flags = TW_HELLO_F_NO_EXTENSIONS | TW_HELLO_F_RENEG_SCSV;
    else
        p->flags = TW_HELLO_F_RENEG_INFO | TW_HELLO_F_EC_POINT_FORMATS | TW_HELLO_F_EMS |
                   TW_HELLO_F_STATUS_REQUEST | TW_HELLO_F_PADDING;
}

static int
hello_version_ok(uint16_t v)
{
    return v == TW_VERSION_SSL2 || (v >= TW_VERSION_SSL3 && v <= TW_VERSION_TLS13);
}

/* SSLv2 CLIENT-HELLO (2-byte record header), optionally offering TLS. */
static void
hello_build_v2(const struct tw_hello_params *p, uint16_t legacy, struct hello_w *w)
{
    size_t rec, i, body_len;

    rec = w->len;
    w_u16(w, 0);      /* record header, filled below */
    w_u8(w, 1);       /* CLIENT-HELLO */
    w_u16(w, legacy); /* 0x0002, or a TLS version for an SSLv2-compatible hello */
    w_u16(w, (unsigned)(3 * (p->n_sslv2_specs + p->n_suites + !!(p->flags & TW_HELLO_F_RENEG_SCSV) +
                             !!(p->flags & TW_HELLO_F_FALLBACK_SCSV))));
    w_u16(w, 0);  /* session id length */
    w_u16(w, 16); /* challenge length */
    for (i = 0; i < p->n_sslv2_specs; i++) {
        w_u8(w, p->sslv2_specs[i] >> 16);
        w_u16(w, p->sslv2_specs[i] & 0xffff);
    }
    for (i = 0; i < p->n_suites; i++) {
        w_u8(w, 0);
        w_u16(w, p->suites[i]);
    }
    if (p->flags & TW_HELLO_F_RENEG_SCSV) {
        w_u8(w, 0);
        w_u16(w, TW_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);
    }
    if (p->flags & TW_HELLO_F_FALLBACK_SCSV) {
        w_u8(w, 0);
        w_u16(w, TW_SUITE_FALLBACK_SCSV);
    }
    w_bytes(w, p->random, 16);
    if (w->err)
        return;
    body_len = w->len - rec - 2;
    if (body_len > 0x7fff) {
        w->err = 1;
        return;
    }
    w->p[rec] = (uint8_t)(0x80 | (body_len >> 8));
    w->p[rec + 1] = (uint8_t)body_len;
}

static void
hello_ext_begin(struct hello_w *w, unsigned type, size_t *at)
{
    w_u16(w, type);
    *at = w_mark(w, 2);
}

/* The extensions block of a TLS ClientHello; hs is where the message starts. */
static void
hello_build_exts(const struct tw_hello_params *p, struct hello_w *w, size_t hs)
{
    const uint16_t *groups = p->groups, *sigalgs = p->sigalgs;
    size_t n_groups = p->n_groups, n_sigalgs = p->n_sigalgs;
    size_t exts, at, at2, i, n;

    exts = w_mark(w, 2);
    if (p->sni != NULL && p->sni[0] != '\0') {
        n = strlen(p->sni);
        hello_ext_begin(w, 0, &at);
        at2 = w_mark(w, 2);
        w_u8(w, 0); /* host_name */
        w_u16(w, (unsigned)n);
        w_bytes(w, p->sni, n);
        w_fill(w, at2, 2);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_STATUS_REQUEST) {
        hello_ext_begin(w, 5, &at);
        w_u8(w, 1);  /* ocsp */
        w_u16(w, 0); /* no responder ids */
        w_u16(w, 0); /* no request extensions */
        w_fill(w, at, 2);
    }
    if (!(p->flags & TW_HELLO_F_NO_GROUPS)) {
        if (groups == NULL) {
            groups = tw_suites_offer_groups(&n_groups);
        }
        hello_ext_begin(w, 10, &at);
        at2 = w_mark(w, 2);
        for (i = 0; i < n_groups; i++)
            w_u16(w, groups[i]);
        w_fill(w, at2, 2);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_EC_POINT_FORMATS) {
        hello_ext_begin(w, 11, &at);
        w_u8(w, 3);
        w_u8(w, 0); /* uncompressed */
        w_u8(w, 1); /* ansiX962_compressed_prime */
        w_u8(w, 2); /* ansiX962_compressed_char2 */
        w_fill(w, at, 2);
    }
    /* RFC 5246: clients offering less than TLS 1.2 do not send signature_algorithms
     * (some old servers reject hellos that do). */
    if (p->version >= TW_VERSION_TLS12 && !(p->flags & TW_HELLO_F_NO_SIGALGS)) {
        if (sigalgs == NULL) {
            sigalgs = hello_default_sigalgs;
            n_sigalgs = sizeof(hello_default_sigalgs) / sizeof(hello_default_sigalgs[0]);
        }
        hello_ext_begin(w, 13, &at);
        at2 = w_mark(w, 2);
        for (i = 0; i < n_sigalgs; i++)
            w_u16(w, sigalgs[i]);
        w_fill(w, at2, 2);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_HEARTBEAT) {
        hello_ext_begin(w, 15, &at);
        w_u8(w, 1); /* peer_allowed_to_send */
        w_fill(w, at, 2);
    }
    if (p->alpn != NULL && p->n_alpn > 0) {
        hello_ext_begin(w, 16, &at);
        at2 = w_mark(w, 2);
        for (i = 0; i < p->n_alpn; i++) {
            n = strlen(p->alpn[i]);
            w_u8(w, (unsigned)n);
            w_bytes(w, p->alpn[i], n);
        }
        w_fill(w, at2, 2);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_ETM) {
        hello_ext_begin(w, 22, &at);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_EMS) {
        hello_ext_begin(w, 23, &at);
        w_fill(w, at, 2);
    }
    if (p->flags & TW_HELLO_F_SESSION_TICKET) {
        hello_ext_begin(w, 35, &at);
        if (p->ticket != NULL)
            w_bytes(w, p->ticket, p->ticket_len);
        w_fill(w, at, 2);
    }
    if (p->version == TW_VERSION_TLS13) {
        uint16_t v, lo = p->min_version ? p->min_version : p->version;

        hello_ext_begin(w, 43, &at);
        at2 = w->len;
        w_u8(w, 0); /* one-byte list length, filled below */
        for (v = p->version; v >= lo; v--)
            w_u16(w, v);
        if (!w->err)
            w->p[at2] = (uint8_t)(w->len - at2 - 1);
        w_fill(w, at, 2);
        hello_ext_begin(w, 45, &at); /* psk_key_exchange_modes: psk_dhe_ke */
        w_u8(w, 1);
        w_u8(w, 1);
        w_fill(w, at, 2);
        if (!(p->flags & TW_HELLO_F_NO_KEY_SHARE)) {
            hello_ext_begin(w, 51, &at);
            at2 = w_mark(w, 2);
            if (p->n_shares > 0) {
                for (size_t k = 0; k < p->n_shares; k++) {
                    w_u16(w, p->shares[k].group);
                    w_u16(w, (unsigned)p->shares[k].len);
                    w_bytes(w, p->shares[k].data, p->shares[k].len);
                }
            } else if (p->x25519_share != NULL) {
                w_u16(w, TW_GROUP_X25519);
                w_u16(w, 32);
                w_bytes(w, p->x25519_share, 32);
            }
            w_fill(w, at2, 2);
            w_fill(w, at, 2);
        }
    }
    if (p->flags & TW_HELLO_F_RENEG_INFO) {
        hello_ext_begin(w, 0xff01, &at);
        w_u8(w, 0); /* empty renegotiated_connection */
        w_fill(w, at, 2);
    }
    /*
     * RFC 7685: some servers (F5 BIG-IP) hang on hellos of 256..511 bytes;
     * pad the handshake message to 512.  The padding extension goes last.
     */
    if ((p->flags & TW_HELLO_F_PADDING) && !w->err) {
        size_t msg = w->len - hs;

        if (msg >= 256 && msg < 512) {
            n = msg + 4 <= 512 ? 512 - msg - 4 : 0;
            hello_ext_begin(w, 21, &at);
            for (i = 0; i < n; i++)
                w_u8(w, 0);
            w_fill(w, at, 2);
        }
    }
    w_fill(w, exts, 2);
}

static void
hello_build_tls(const struct tw_hello_params *p, uint16_t legacy, uint16_t recv, struct hello_w *w)
{
    size_t rec, hs, at, i;

    w_u8(w, 22); /* handshake */
    w_u16(w, recv);
    rec = w_mark(w, 2);
    hs = w->len;
    w_u8(w, 1); /* client_hello */
    at = w_mark(w, 3);
    w_u16(w, legacy);
    w_bytes(w, p->random, 32);
    if (p->session_id != NULL) {
        size_t sid = p->session_id_len != 0 ? p->session_id_len : 32;

        w_u8(w, (unsigned)sid);
        w_bytes(w, p->session_id, sid);
    } else {
        w_u8(w, 0);
    }
    {
        size_t suites = w_mark(w, 2);

        for (i = 0; i < p->n_suites; i++)
            w_u16(w, p->suites[i]);
        if (p->flags & TW_HELLO_F_RENEG_SCSV)
            w_u16(w, TW_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV);
        if (p->flags & TW_HELLO_F_FALLBACK_SCSV)
            w_u16(w, TW_SUITE_FALLBACK_SCSV);
        w_fill(w, suites, 2);
    }
    if (p->flags & TW_HELLO_F_DEFLATE) {
        w_u8(w, 2);
        w_u8(w, 1); /* DEFLATE */
        w_u8(w, 0); /* null */
    } else {
        w_u8(w, 1);
        w_u8(w, 0);
    }
    if (!(p->flags & TW_HELLO_F_NO_EXTENSIONS))
        hello_build_exts(p, w, hs);
    w_fill(w, at, 3);
    w_fill(w, rec, 2);
    if (!w->err && w->len - rec - 2 > 16384)
        w->err = 1; /* one record carries at most 2^14 bytes */
}

int
tw_hello_build(const struct tw_hello_params *p, uint8_t *out, size_t cap, size_t *len)
{
    struct hello_w w = {out, 0, cap < TW_HELLO_MAX_OUT ? cap : TW_HELLO_MAX_OUT, 0};
    uint16_t legacy, recv;
    size_t i;
    int rc = -1;

    if (len != NULL)
        *len = 0;
    if (p == NULL || out == NULL || len == NULL || p->random == NULL)
        goto out;
    if (!hello_version_ok(p->version))
        goto out;
    if (p->n_suites > TW_HELLO_MAX_SUITES || (p->n_suites > 0 && p->suites == NULL))
        goto out;
    if (p->n_sslv2_specs > TW_HELLO_MAX_SUITES || (p->n_sslv2_specs > 0 && p->sslv2_specs == NULL))
        goto out;
    if (p->n_suites + p->n_sslv2_specs > TW_HELLO_MAX_SUITES)
        goto out;
    if (p->groups != NULL && p->n_groups > TW_HELLO_MAX_GROUPS)
        goto out;
    if (p->sigalgs != NULL && p->n_sigalgs > TW_HELLO_MAX_SIGALGS)
        goto out;
    if (p->sni != NULL && strnlen(p->sni, 256) > 255)
        goto out;
    if (p->n_shares > TW_HELLO_MAX_SHARES || (p->n_shares > 0 && p->shares == NULL))
        goto out;
    for (i = 0; i < p->n_shares; i++)
        if (p->shares[i].len == 0 || p->shares[i].len > TW_HELLO_MAX_SHARE ||
            p->shares[i].data == NULL)
            goto out;
    if (p->n_alpn > TW_HELLO_MAX_ALPN || (p->n_alpn > 0 && p->alpn == NULL))
        goto out;
    for (i = 0; i < p->n_alpn; i++) {
        size_t n;

        if (p->alpn[i] == NULL)
            goto out;
        n = strnlen(p->alpn[i], 256);
        if (n == 0 || n > 255)
            goto out;
    }
    if (p->session_id_len > 32 || (p->ticket_len > 0 && p->ticket == NULL) ||
        p->ticket_len > 0xffff)
        goto out;
    if (p->version == TW_VERSION_TLS13 && p->min_version != 0 &&
        (p->min_version < TW_VERSION_SSL3 || p->min_version > TW_VERSION_TLS13))
        goto out;

    legacy = p->legacy_version;
    if (legacy == 0)
        legacy = p->version == TW_VERSION_TLS13 ? TW_VERSION_TLS12 : p->version;
    recv = p->record_version;
    if (recv == 0)
        recv = p->version == TW_VERSION_SSL3 ? TW_VERSION_SSL3 : TW_VERSION_TLS10;

    if (p->version == TW_VERSION_SSL2)
        hello_build_v2(p, legacy, &w);
    else
        hello_build_tls(p, legacy, recv, &w);
    if (w.err)
        goto out;
    *len = w.len;
    rc = 0;
out:
    return rc;
}

/* ---------------------------------------------------------------------------
 * Parser
 */

#define HELLO_MAX_MESSAGES 32 /* a first flight has at most ~7; more is hostile */

static uint16_t
rd16(const uint8_t *b)
{
    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static size_t
rd24(const uint8_t *b)
{
    return (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2];
}

static int
flight_fail(struct tw_server_flight *f, const char *why)
{
    f->is_malformed = 1;
    if (f->error == NULL)
        f->error = why;
    return TW_HELLO_ERROR;
}

/* Significant bits of a big-endian unsigned integer. */
static int
hello_bits(const uint8_t *b, size_t n)
{
    size_t i = 0;
    int bits;
    unsigned top;

    while (i < n && b[i] == 0)
        i++;
    if (i == n)
        return 0;
    bits = (int)((n - i - 1) * 8);
    for (top = b[i]; top != 0; top >>= 1)
        bits++;
    return bits;
}

/*
 * SSLv2 reply, 2-byte record header (RFC 6101 appendix E / the SSL 2.0
 * draft): SERVER-HELLO (4) or ERROR (0).  p[0] has its high bit set.
 */
static int
flight_parse_v2(const uint8_t *p, size_t len, struct tw_server_flight *f)
{
    const uint8_t *m, *end;
    size_t rlen, cert_len, specs_len, connid_len, i;

    if (len < 3)
        return TW_HELLO_NEED_MORE;
    rlen = (size_t)(p[0] & 0x7f) << 8 | p[1];
    if ((p[2] != 4 && p[2] != 0) || (p[2] == 4 && rlen < 11) || (p[2] == 0 && rlen < 3)) {
        f->is_not_tls = 1;
        f->error = "not TLS (no TLS record, no SSLv2 reply)";
        return TW_HELLO_ERROR;
    }
    if (len - 2 < rlen)
        return TW_HELLO_NEED_MORE;
    m = p + 2;
    end = m + rlen;
    f->is_sslv2 = 1;
    f->consumed = 2 + rlen;
    if (m[0] == 0) {
        f->has_v2_error = 1;
        f->v2_error = rd16(m + 1);
        return TW_HELLO_DONE;
    }
    m++;
    f->v2_session_id_hit = m[0];
    f->v2_cert_type = m[1];
    f->v2_version = rd16(m + 2);
    cert_len = rd16(m + 4);
    specs_len = rd16(m + 6);
    connid_len = rd16(m + 8);
    m += 10;
    if (specs_len % 3 != 0)
        return flight_fail(f, "SSLv2 cipher specs length not a multiple of 3");
    if (cert_len > (size_t)(end - m))
        return flight_fail(f, "SSLv2 certificate length");
    f->v2_cert_off = (size_t)(m - p);
    f->v2_cert_len = cert_len;
    m += cert_len;
    if (specs_len > (size_t)(end - m))
        return flight_fail(f, "SSLv2 cipher specs length");
    for (i = 0; i < specs_len; i += 3) {
        if (f->n_v2_specs < TW_FLIGHT_MAX_V2_SPECS)
            f->v2_specs[f->n_v2_specs] = (uint32_t)m[i] << 16 | rd16(m + i + 1);
        f->n_v2_specs++;
    }
    m += specs_len;
    if (connid_len > (size_t)(end - m))
        return flight_fail(f, "SSLv2 connection id length");
    return TW_HELLO_DONE;
}

/* What the record walk found. */
struct flight_walk {
    size_t hs_len; /* handshake payload bytes in complete records */
    int n_hs_records;
    size_t first_hs_payload; /* input offset of the first handshake payload */
    int term_type;           /* the non-handshake record that ended the flight, 0 = none */
    size_t term_off;         /* its payload offset and length */
    size_t term_len;
    size_t consumed;
    const char *bad; /* a bad record header ended the walk */
    int is_absurd;   /* ... because of its length */
};

/*
 * Check every complete record header up to the first non-handshake record.
 * A bad header ends the walk like a terminator does: it is an error only if
 * the records before it did not already complete the flight, so that bytes
 * after the end of a flight never change the answer.
 */
static void
flight_walk_records(const uint8_t *p, size_t len, struct flight_walk *wk)
{
    size_t off = 0, rlen;
    uint8_t type;

    while (len - off >= 5) {
        type = p[off];
        rlen = rd16(p + off + 3);
        if (type < 20 || type > 24) {
            wk->bad = "bad record type";
            break;
        }
        if (p[off + 1] != 3) {
            wk->bad = "bad record version";
            break;
        }
        if (rlen > TW_HELLO_RECORD_ABSURD) {
            wk->bad = "absurd record length";
            wk->is_absurd = 1;
            break;
        }
        if (rlen > len - off - 5)
            break;
        if (type != 22) {
            wk->term_type = type;
            wk->term_off = off + 5;
            wk->term_len = rlen;
            off += 5 + rlen;
            break;
        }
        if (wk->n_hs_records == 0)
            wk->first_hs_payload = off + 5;
        wk->n_hs_records++;
        wk->hs_len += rlen;
        off += 5 + rlen;
    }
    wk->consumed = off;
}

/*
 * Copy the handshake-stream bytes [soff, soff + n) into dst (NULL: copy
 * nothing).  Returns 0 when they are not all present, 1 when they lie in one
 * record (*in_off is then their input offset), 2 when they span records.
 */
static int
flight_gather(const uint8_t *p, size_t len, size_t soff, size_t n, uint8_t *dst, size_t *in_off)
{
    size_t off = 0, s = 0, got = 0, rlen, a, b;
    int pieces = 0;

    if (soff > len || n > len)
        return 0;
    while (len - off >= 5 && got < n) {
        rlen = rd16(p + off + 3);
        if (p[off] != 22 || rlen > len - off - 5)
            break;
        if (s + rlen > soff && s < soff + n) {
            a = soff > s ? soff - s : 0;
            b = soff + n < s + rlen ? soff + n - s : rlen;
            if (dst != NULL)
                memcpy(dst + (s + a - soff), p + off + 5 + a, b - a);
            if (pieces == 0 && in_off != NULL)
                *in_off = off + 5 + a;
            pieces++;
            got += b - a;
        }
        s += rlen;
        off += 5 + rlen;
    }
    if (got != n)
        return 0;
    return pieces <= 1 ? 1 : 2;
}

static int
flight_extension(unsigned type, const uint8_t *e, const uint8_t *end, struct tw_server_flight *f)
{
    size_t elen = (size_t)(end - e), n, i;

    if (f->n_ext < TW_FLIGHT_MAX_EXT)
        f->ext[f->n_ext] = (uint16_t)type;
    f->n_ext++;
    switch (type) {
    case 43: /* supported_versions */
        if (elen != 2)
            return flight_fail(f, "supported_versions length");
        f->has_supported_versions = 1;
        f->version = rd16(e);
        break;
    case 51: /* key_share: HRR names a group, a ServerHello carries a share */
        if (f->is_hrr) {
            if (elen != 2)
                return flight_fail(f, "HRR key_share length");
        } else if (elen < 4 || rd16(e + 2) != elen - 4) {
            return flight_fail(f, "key_share length");
        }
        f->has_key_share = 1;
        f->key_share_group = rd16(e);
        break;
    case 0xff01: /* renegotiation_info */
        if (elen < 1 || e[0] != elen - 1)
            return flight_fail(f, "renegotiation_info length");
        f->has_reneg_info = 1;
        break;
    case 23:
        f->has_ems = 1;
        break;
    case 5:
        f->has_status_request = 1;
        break;
    case 35:
        f->has_session_ticket = 1;
        break;
    case 22:
        f->has_etm = 1;
        break;
    case 11:
        f->has_ec_point_formats = 1;
        break;
    case 44:
        f->has_cookie = 1;
        break;
    case 15: /* heartbeat */
        if (elen < 1)
            return flight_fail(f, "heartbeat length");
        f->has_heartbeat = 1;
        f->heartbeat_mode = e[0];
        break;
    case 16: /* ALPN: exactly one protocol name */
        if (elen < 3 || rd16(e) != elen - 2 || e[2] == 0 || e[2] != elen - 3)
            return flight_fail(f, "ALPN length");
        n = e[2] < sizeof(f->alpn) - 1 ? e[2] : sizeof(f->alpn) - 1;
        for (i = 0; i < n; i++) /* hostile bytes: keep printable ASCII only */
            f->alpn[i] = (e[3 + i] >= 0x20 && e[3 + i] < 0x7f) ? (char)e[3 + i] : '?';
        f->alpn[n] = '\0';
        break;
    default:
        break;
    }
    return 0;
}

static int
flight_server_hello(const uint8_t *m, const uint8_t *end, struct tw_server_flight *f)
{
    size_t sid, xlen, elen;
    unsigned type;
    int rc;

    if (end - m < 35)
        return flight_fail(f, "ServerHello too short");
    f->has_server_hello = 1;
    f->legacy_version = rd16(m);
    f->version = f->legacy_version;
    memcpy(f->random, m + 2, 32);
    f->is_hrr = memcmp(f->random, hello_hrr_random, 32) == 0;
    if (memcmp(f->random + 24, hello_downgrade, 7) == 0 && f->random[31] <= 1)
        f->downgrade = f->random[31] == 1 ? 12 : 11;
    m += 34;
    sid = *m++;
    if (sid > 32)
        return flight_fail(f, "ServerHello session id length");
    if ((size_t)(end - m) < sid + 3)
        return flight_fail(f, "ServerHello too short");
    f->session_id_len = (uint8_t)sid;
    f->session_id_first = sid > 0 ? m[0] : 0;
    m += sid;
    f->cipher_suite = rd16(m);
    f->compression = m[2];
    m += 3;
    if (m == end)
        return 0; /* no extensions */
    if (end - m < 2)
        return flight_fail(f, "ServerHello extensions length");
    xlen = rd16(m);
    m += 2;
    if (xlen != (size_t)(end - m))
        return flight_fail(f, "ServerHello extensions length");
    while (m < end) {
        if (end - m < 4)
            return flight_fail(f, "ServerHello extension header");
        type = rd16(m);
        elen = rd16(m + 2);
        m += 4;
        if (elen > (size_t)(end - m))
            return flight_fail(f, "ServerHello extension length");
        rc = flight_extension(type, m, m + elen, f);
        if (rc < 0)
            return rc;
        m += elen;
    }
    return 0;
}

/* TLS <= 1.2 Certificate: the count and where the leaf is (hs_off: stream offset of m). */
static int
flight_certificate(const uint8_t *m, const uint8_t *end, size_t hs_off, struct tw_server_flight *f)
{
    const uint8_t *start = m;
    size_t clen;

    if (end - m < 3 || rd24(m) != (size_t)(end - m - 3))
        return flight_fail(f, "Certificate list length");
    m += 3;
    while (m < end) {
        if (end - m < 3)
            return flight_fail(f, "Certificate entry header");
        clen = rd24(m);
        m += 3;
        if (clen > (size_t)(end - m))
            return flight_fail(f, "Certificate entry length");
        if (f->n_certs == 0) {
            f->leaf_hs_off = hs_off + (size_t)(m - start);
            f->leaf_len = clen;
        }
        f->n_certs++;
        m += clen;
    }
    f->has_certificate = 1;
    return 0;
}

/* One opaque<1..2^16-1> vector; sets *v / *vlen and advances *m. */
static int
flight_vec16(const uint8_t **m, const uint8_t *end, const uint8_t **v, size_t *vlen)
{
    size_t n;

    if (end - *m < 2)
        return -1;
    n = rd16(*m);
    if (n > (size_t)(end - *m - 2))
        return -1;
    *v = *m + 2;
    *vlen = n;
    *m += 2 + n;
    return 0;
}

static int
flight_ske(const uint8_t *m, const uint8_t *end, struct tw_server_flight *f)
{
    const struct tw_suite *s = tw_suites_find(f->cipher_suite);
    const uint8_t *v;
    size_t vlen;
    enum { FORM_EC, FORM_DH, FORM_RSA, FORM_OTHER } form = FORM_OTHER;

    f->has_ske = 1;
    if (s == NULL) { /* an unknown suite: guess from the shape */
        form = (end - m >= 4 && m[0] == 3) ? FORM_EC : FORM_DH;
    } else {
        switch (s->kx) {
        case TW_KX_ECDHE: /* also ECDH_anon */
            form = FORM_EC;
            break;
        case TW_KX_DHE: /* also DH_anon */
            form = FORM_DH;
            break;
        case TW_KX_RSA: /* only EXPORT suites send a temporary RSA key */
            form = FORM_RSA;
            break;
        case TW_KX_PSK: /* psk_identity_hint, then the (EC)DH params if any */
        case TW_KX_RSA_PSK:
        case TW_KX_DHE_PSK:
        case TW_KX_ECDHE_PSK:
            if (flight_vec16(&m, end, &v, &vlen) < 0)
                return flight_fail(f, "ServerKeyExchange PSK hint");
            form = s->kx == TW_KX_ECDHE_PSK ? FORM_EC
                   : s->kx == TW_KX_DHE_PSK ? FORM_DH
                                            : FORM_OTHER;
            break;
        case TW_KX_NULL:
        case TW_KX_DH:
        case TW_KX_ECDH:
        case TW_KX_SRP:
        case TW_KX_KRB5:
        case TW_KX_TLS13:
        case TW_KX_ECCPWD:
        case TW_KX_GOST:
            form = FORM_OTHER;
            break;
        }
    }
    switch (form) {
    case FORM_EC:
        if (end - m < 1)
            return flight_fail(f, "ServerKeyExchange curve type");
        if (m[0] == 3) { /* named_curve */
            if (end - m < 4 || m[3] > (size_t)(end - m - 4))
                return flight_fail(f, "ServerKeyExchange ECDH params");
            f->ecdh_group = rd16(m + 1);
        } else if (m[0] == 1 || m[0] == 2) { /* explicit prime / char2: the registry's codes */
            f->ecdh_group = m[0] == 1 ? 0xff01 : 0xff02;
        } else {
            return flight_fail(f, "ServerKeyExchange curve type");
        }
        f->kx = TW_FLIGHT_KX_ECDHE;
        break;
    case FORM_DH:
        if (flight_vec16(&m, end, &v, &vlen) < 0)
            return flight_fail(f, "ServerKeyExchange DH p");
        f->dh_p_bits = hello_bits(v, vlen);
        if (flight_vec16(&m, end, &v, &vlen) < 0)
            return flight_fail(f, "ServerKeyExchange DH g");
        f->dh_g_bits = hello_bits(v, vlen);
        if (flight_vec16(&m, end, &v, &vlen) < 0)
            return flight_fail(f, "ServerKeyExchange DH Ys");
        f->kx = TW_FLIGHT_KX_DHE;
        break;
    case FORM_RSA:
        if (flight_vec16(&m, end, &v, &vlen) < 0)
            return flight_fail(f, "ServerKeyExchange RSA modulus");
        f->rsa_bits = hello_bits(v, vlen);
        if (flight_vec16(&m, end, &v, &vlen) < 0)
            return flight_fail(f, "ServerKeyExchange RSA exponent");
        f->kx = TW_FLIGHT_KX_RSA;
        break;
    case FORM_OTHER:
        f->kx = TW_FLIGHT_KX_OTHER;
        break;
    }
    return 0;
}

/*
 * Walk the handshake messages in hs[hs_len] (stream offset 0).  Sets *done
 * when the flight is complete.  An incomplete last message is not an error.
 */
static int
flight_parse_messages(const uint8_t *hs, size_t hs_len, struct tw_server_flight *f, int *done)
{
    const uint8_t *m, *end;
    size_t pos = 0, mlen;
    uint8_t type;
    int rc = 0;

    while (hs_len - pos >= 4) {
        type = hs[pos];
        mlen = rd24(hs + pos + 1);
        if (mlen > hs_len - pos - 4)
            break;
        m = hs + pos + 4;
        end = m + mlen;
        if (++f->n_messages > HELLO_MAX_MESSAGES)
            return flight_fail(f, "too many handshake messages");
        if (type == 0) { /* HelloRequest: meaningless here, skipped */
            pos += 4 + mlen;
            continue;
        }
        if (!f->has_server_hello && type != 2)
            return flight_fail(f, "first handshake message is not a ServerHello");
        switch (type) {
        case 2:
            if (f->has_server_hello)
                return flight_fail(f, "second ServerHello");
            rc = flight_server_hello(m, end, f);
            if (rc < 0)
                return rc;
            /* After a TLS 1.3 ServerHello everything is encrypted; an HRR waits for us. */
            if (f->is_hrr || f->version >= TW_VERSION_TLS13) {
                *done = 1;
                return 0;
            }
            break;
        case 11:
            rc = flight_certificate(m, end, pos + 4, f);
            break;
        case 12:
            rc = flight_ske(m, end, f);
            break;
        case 13:
            f->has_cert_request = 1;
            break;
        case 14:
            f->has_server_hello_done = 1;
            *done = 1;
            return 0;
        case 22: /* CertificateStatus: status_type, opaque<1..2^24-1> */
            if (mlen < 4 || rd24(m + 1) != mlen - 4)
                return flight_fail(f, "CertificateStatus length");
            f->has_cert_status = 1;
            f->cert_status_len = mlen - 4;
            break;
        default:
            return flight_fail(f, "unexpected handshake message");
        }
        if (rc < 0)
            return rc;
        pos += 4 + mlen;
    }
    return 0;
}

int
tw_hello_parse(const uint8_t *p, size_t len, struct tw_server_flight *f)
{
    struct flight_walk wk;
    uint8_t *scratch = NULL;
    const uint8_t *hs = NULL;
    size_t in_off = 0;
    int done = 0, capped, rc = TW_HELLO_ERROR;

    memset(f, 0, sizeof(*f));
    memset(&wk, 0, sizeof(wk));
    if (p == NULL)
        len = 0;
    capped = len >= TW_HELLO_FLIGHT_MAX;
    if (capped)
        len = TW_HELLO_FLIGHT_MAX;
    f->n_first = (uint8_t)(len < sizeof(f->first_bytes) ? len : sizeof(f->first_bytes));
    if (f->n_first > 0)
        memcpy(f->first_bytes, p, f->n_first);
    if (len == 0) {
        rc = TW_HELLO_NEED_MORE;
        goto out;
    }
    if (p[0] & 0x80) {
        rc = flight_parse_v2(p, len, f);
        goto out;
    }
    if (p[0] < 20 || p[0] > 24 || (len >= 2 && p[1] != 3)) {
        f->is_not_tls = 1;
        f->error = "not TLS (no TLS record, no SSLv2 reply)";
        goto out;
    }
    if (len < 5) {
        rc = TW_HELLO_NEED_MORE;
        goto out;
    }
    f->record_version = rd16(p + 1);
    flight_walk_records(p, len, &wk);
    f->consumed = wk.consumed;
    if (wk.n_hs_records == 1) {
        hs = p + wk.first_hs_payload;
    } else if (wk.n_hs_records > 1) {
        scratch = tw_xmalloc(wk.hs_len);
        if (flight_gather(p, len, 0, wk.hs_len, scratch, NULL) == 0) {
            flight_fail(f, "internal: handshake gather");
            goto out;
        }
        hs = scratch;
    }
    if (hs != NULL && wk.hs_len > 0 && flight_parse_messages(hs, wk.hs_len, f, &done) < 0)
        goto out;
    if (f->has_certificate && f->n_certs > 0 && f->leaf_len > 0) {
        if (flight_gather(p, len, f->leaf_hs_off, f->leaf_len, NULL, &in_off) == 1)
            f->leaf_off = in_off;
        else
            f->is_leaf_split = 1;
    }
    if (done) {
        rc = TW_HELLO_DONE;
        goto out;
    }
    if (wk.bad != NULL) {
        if (wk.is_absurd) {
            f->is_absurd_record = 1;
            f->error = wk.bad;
        } else {
            flight_fail(f, wk.bad);
        }
        goto out;
    }
    switch (wk.term_type) {
    case 0:
        if (capped) {
            f->is_too_long = 1;
            f->error = "flight too long";
            goto out;
        }
        rc = TW_HELLO_NEED_MORE;
        break;
    case 21: /* alert */
        if (wk.term_len < 2) {
            flight_fail(f, "alert record too short");
            goto out;
        }
        f->has_alert = 1;
        f->is_alert_first = wk.n_hs_records == 0;
        f->alert_level = p[wk.term_off];
        f->alert_desc = p[wk.term_off + 1];
        rc = TW_HELLO_DONE;
        break;
    case 20: /* ChangeCipherSpec: the flight is over (resumption, or a confused server) */
        f->has_ccs = 1;
        rc = TW_HELLO_DONE;
        break;
    default:
        flight_fail(f, "unexpected record type in the first flight");
        break;
    }
out:
    free(scratch);
    return rc;
}

size_t
tw_hello_copy_leaf(const uint8_t *p, size_t len, const struct tw_server_flight *f, uint8_t *dst,
                   size_t cap)
{
    if (p == NULL || f == NULL || dst == NULL || !f->has_certificate || f->n_certs == 0 ||
        f->leaf_len == 0 || f->leaf_len > cap)
        return 0;
    if (len > TW_HELLO_FLIGHT_MAX)
        len = TW_HELLO_FLIGHT_MAX;
    if (!f->is_leaf_split) {
        if (f->leaf_off > len || f->leaf_len > len - f->leaf_off)
            return 0;
        memcpy(dst, p + f->leaf_off, f->leaf_len);
        return f->leaf_len;
    }
    return flight_gather(p, len, f->leaf_hs_off, f->leaf_len, dst, NULL) ? f->leaf_len : 0;
}
