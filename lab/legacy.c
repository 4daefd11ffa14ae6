/*
 * legacy.c - the scripted answers of the lab's legacy endpoints: SSLv3,
 * RC4 and 3DES, which this machine's OpenSSL 3 can no longer offer.
 *
 * A legacy endpoint reads (peeks) the ClientHello record and asks
 * tw_lab_legacy_answer what to do with it.  When the hello offers one of
 * the endpoint's scripted suites at a scripted version, and nothing the
 * OpenSSL side of the endpoint could serve, the answer is written here: a
 * ServerHello with that suite, the lab's certificates and ServerHelloDone,
 * all in one handshake record.  The handshake never goes further (no key is
 * ever exchanged): a scanner's raw probe needs only this first flight.
 * Otherwise the connection goes to OpenSSL (a hybrid endpoint, whose main
 * handshake then completes as usual) or, for a raw-only endpoint, gets a
 * handshake_failure alert.
 *
 * Pure (bytes in, bytes out, randomness passed in); every length of the
 * hostile hello is checked before it is read.
 */
#include <string.h>

#include "lab/lab_int.h"

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11
#define HS_SERVER_HELLO_DONE 14
#define ALERT_HANDSHAKE_FAILURE 40

static unsigned
get16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

static size_t
put16(uint8_t *p, size_t o, unsigned v)
{
    p[o] = (uint8_t)(v >> 8);
    p[o + 1] = (uint8_t)(v & 0xff);
    return o + 2;
}

static size_t
put24(uint8_t *p, size_t o, size_t v)
{
    p[o] = (uint8_t)(v >> 16);
    p[o + 1] = (uint8_t)(v >> 8);
    p[o + 2] = (uint8_t)(v & 0xff);
    return o + 3;
}

static int
legacy_in(const uint16_t *a, size_t n, unsigned x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

int
tw_lab_legacy_parse(const uint8_t *rec, size_t len, struct tw_lab_client_hello *ch)
{
    size_t off, end, sid;

    memset(ch, 0, sizeof(*ch));
    /* record header, handshake header, version, random, session id length */
    if (len < 5 + 4 + 2 + 32 + 1 || rec[0] != 0x16 || rec[1] != 0x03)
        return -1;
    end = 5 + get16(rec + 3);
    if (end > len)
        return -1; /* the record is not all here */
    if (rec[5] != HS_CLIENT_HELLO)
        return -1;
    /* A ClientHello split over records is not parsed: no scanner does that. */
    if (9 + (((size_t)rec[6] << 16) | ((size_t)rec[7] << 8) | rec[8]) > end)
        return -1;
    end = 9 + (((size_t)rec[6] << 16) | ((size_t)rec[7] << 8) | rec[8]);
    ch->version = (uint16_t)get16(rec + 9);
    off = 9 + 2 + 32;
    sid = rec[off];
    if (sid > 32 || off + 1 + sid + 2 > end)
        return -1;
    off += 1 + sid;
    ch->suites_len = get16(rec + off);
    off += 2;
    if (ch->suites_len % 2 != 0 || ch->suites_len == 0 || off + ch->suites_len > end)
        return -1;
    ch->suites = rec + off;
    off += ch->suites_len;
    /* Compression methods (RFC 5246 7.4.1.2): only DEFLATE (1) matters here. */
    if (off < end && off + 1 + rec[off] <= end)
        for (size_t i = 0; i < rec[off]; i++)
            if (rec[off + 1 + i] == 1)
                ch->offers_deflate = 1;
    return 0;
}

/* Does the hello offer suite code? */
static int
legacy_offers(const struct tw_lab_client_hello *ch, unsigned code)
{
    for (size_t i = 0; i + 1 < ch->suites_len; i += 2)
        if (get16(ch->suites + i) == code)
            return 1;
    return 0;
}

/* The alert that ends every hello the endpoint cannot serve. */
static size_t
legacy_alert(uint16_t version, uint8_t *out, size_t cap)
{
    if (cap < 7)
        return 0;
    out[0] = 0x15;
    out[1] = 0x03;
    out[2] = (uint8_t)(version >= TW_LAB_SSL3 && version <= 0x0303 ? version & 0xff : 0x01);
    out[3] = 0x00;
    out[4] = 0x02;
    out[5] = 0x02; /* fatal */
    out[6] = ALERT_HANDSHAKE_FAILURE;
    return 7;
}

/* The SSLv2 cipher specs the DROWN endpoint answers (the SSL 2.0 draft):
 * RC4_128_WITH_MD5 and DES_192_EDE3_CBC_WITH_MD5. */
static const uint32_t legacy_v2_specs[] = {0x010080, 0x0700c0};

/*
 * An SSLv2 CLIENT-HELLO (2-byte header, msg type 1, version 0x0002) offering
 * one of legacy_v2_specs: an SSLv2 SERVER-HELLO with the leaf (the first
 * certificate of p->chain), the common specs and a fixed connection id.
 * Returns the bytes written, or 0 when the hello is not such a hello.
 */
static size_t
legacy_v2_answer(const struct tw_lab_legacy_params *p, const uint8_t *rec, size_t len, uint8_t *out,
                 size_t cap)
{
    size_t rlen, specs_len, sid_len, chal_len, cert_len, body, o = 0;
    uint32_t common[2];
    size_t n_common = 0;
    const uint8_t *specs;

    if (len < 2 + 9 || !(rec[0] & 0x80))
        return 0;
    rlen = ((size_t)(rec[0] & 0x7f) << 8) | rec[1];
    if (rlen < 9 || 2 + rlen > len || rec[2] != 1 || get16(rec + 3) != 0x0002)
        return 0;
    specs_len = get16(rec + 5);
    sid_len = get16(rec + 7);
    chal_len = get16(rec + 9);
    if (specs_len % 3 != 0 || 9 + specs_len + sid_len + chal_len > rlen)
        return 0;
    specs = rec + 11;
    for (size_t k = 0; k < sizeof(legacy_v2_specs) / sizeof(legacy_v2_specs[0]); k++)
        for (size_t i = 0; i < specs_len; i += 3)
            if (((uint32_t)specs[i] << 16 | get16(specs + i + 1)) == legacy_v2_specs[k]) {
                common[n_common++] = legacy_v2_specs[k];
                break;
            }
    if (n_common == 0 || p->chain_len < 3)
        return 0;
    cert_len = ((size_t)p->chain[0] << 16) | ((size_t)p->chain[1] << 8) | p->chain[2];
    if (cert_len > p->chain_len - 3)
        return 0;
    body = 11 + cert_len + 3 * n_common + 16;
    if (body > 0x7fff || cap < 2 + body)
        return 0;
    out[o++] = (uint8_t)(0x80 | (body >> 8));
    out[o++] = (uint8_t)(body & 0xff);
    out[o++] = 4; /* SERVER-HELLO */
    out[o++] = 0; /* session id hit: no */
    out[o++] = 1; /* certificate type: X.509 */
    o = put16(out, o, 0x0002);
    o = put16(out, o, (unsigned)cert_len);
    o = put16(out, o, (unsigned)(3 * n_common));
    o = put16(out, o, 16);
    memcpy(out + o, p->chain + 3, cert_len);
    o += cert_len;
    for (size_t i = 0; i < n_common; i++) {
        out[o++] = (uint8_t)(common[i] >> 16);
        o = put16(out, o, common[i] & 0xffff);
    }
    memset(out + o, 0x2a, 16); /* connection id */
    return o + 16;
}

enum tw_lab_legacy_verdict
tw_lab_legacy_answer(const struct tw_lab_legacy_params *p, const uint8_t *rec, size_t len,
                     const uint8_t random[32], uint8_t *out, size_t cap, size_t *out_len)
{
    struct tw_lab_client_hello ch;
    unsigned pick = 0;
    uint16_t v;
    size_t o = 0, body, hs_len;
    int native = p->native_min != 0;
    int deflate = 0;

    *out_len = 0;
    if (p->sslv2 && len > 0 && (rec[0] & 0x80)) {
        *out_len = legacy_v2_answer(p, rec, len, out, cap);
        if (*out_len > 0)
            return TW_LAB_LEGACY_V2;
    }
    if (tw_lab_legacy_parse(rec, len, &ch) < 0)
        goto refuse;
    /* A compressing server chooses DEFLATE whenever it is offered: that
     * hello is the script's (the OpenSSL side has no zlib). */
    deflate = p->deflate && ch.offers_deflate && ch.version >= p->raw_min && ch.version <= 0x0303;
    /* The OpenSSL side serves the hello when it can: a version it speaks and
     * one of its suites. */
    if (native && !deflate && ch.version >= p->native_min) {
        for (size_t i = 0; i + 1 < ch.suites_len; i += 2)
            if (legacy_in(p->native, p->n_native, get16(ch.suites + i)))
                return TW_LAB_LEGACY_NATIVE;
    }
    if (ch.version < p->raw_min)
        goto refuse;
    for (size_t i = 0; i < p->n_raw_suites && pick == 0; i++)
        if (legacy_offers(&ch, p->raw_suites[i]))
            pick = p->raw_suites[i];
    if (pick == 0)
        goto refuse;
    v = ch.version < p->raw_max ? ch.version : p->raw_max;
    /* ServerHello: version, random, empty session id, suite, null
     * compression; from TLS 1.0 on an empty renegotiation_info (RFC 5746),
     * SSLv3 without extensions. */
    body = 2 + 32 + 1 + 2 + 1 + (v >= TW_LAB_TLS10 ? 2 + 5 : 0);
    hs_len = (4 + body) + (4 + 3 + p->chain_len) + 4;
    if (hs_len > 16384 || cap < 5 + hs_len)
        goto refuse;
    out[o++] = 0x16;
    o = put16(out, o, v);
    o = put16(out, o, (unsigned)hs_len);
    out[o++] = HS_SERVER_HELLO;
    o = put24(out, o, body);
    o = put16(out, o, v);
    memcpy(out + o, random, 32);
    /* Never the TLS 1.3 downgrade sentinel ("DOWNGRD" in the last 8 bytes). */
    out[o + 24] = 0;
    o += 32;
    out[o++] = 0; /* no session id */
    o = put16(out, o, pick);
    out[o++] = deflate ? 1 : 0; /* DEFLATE or null compression */
    if (v >= TW_LAB_TLS10) {
        o = put16(out, o, 5);
        o = put16(out, o, 0xff01); /* renegotiation_info */
        o = put16(out, o, 1);
        out[o++] = 0;
    }
    out[o++] = HS_CERTIFICATE;
    o = put24(out, o, 3 + p->chain_len);
    o = put24(out, o, p->chain_len);
    if (p->chain_len > 0)
        memcpy(out + o, p->chain, p->chain_len);
    o += p->chain_len;
    out[o++] = HS_SERVER_HELLO_DONE;
    o = put24(out, o, 0);
    *out_len = o;
    return TW_LAB_LEGACY_RAW;
refuse:
    if (native)
        return TW_LAB_LEGACY_NATIVE; /* OpenSSL refuses it in its own words */
    *out_len = legacy_alert(ch.version, out, cap);
    return TW_LAB_LEGACY_ALERT;
}
