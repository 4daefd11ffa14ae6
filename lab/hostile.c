/*
 * hostile.c - certificates and raw messages for the lab's hostile-* endpoints.
 *
 * These endpoints attack the scanner rather than misconfigure TLS (issue 8):
 * a 10,000-SAN leaf, a chain of over 1 MiB, a chain 50 certificates deep,
 * certificate fields full of NULs, control characters, invalid UTF-8, HTML
 * and SQL, and a ServerHello followed by an alert.  The connection state
 * machines that send them live in servers.c; this file makes the bytes.
 *
 * Everything is built in memory at `lab up` (like pki.c): the deep chain
 * shares one P-256 key among its 49 intermediates, so it costs a few
 * milliseconds; the hostile names are written as raw ASN.1 strings (no
 * charset conversion) so that the bytes reach the scanner exactly as here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "lab/lab_int.h"

#define DAY (24L * 3600L)
#define HOSTILE_SANS 10000
#define HOSTILE_BIGCHAIN_COPIES 15 /* x ~70 KB: over 1 MiB of certificates */
#define HOSTILE_DEEP 49            /* intermediates: 50 certificates with the leaf */

struct tw_lab_hostile {
    EVP_PKEY *deep_key;       /* shared by the deep intermediates */
    X509 *deep[HOSTILE_DEEP]; /* deep[0] is issued by the lab root */
};

void
tw_lab_hostile_free(struct tw_lab_hostile *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < HOSTILE_DEEP; i++)
        X509_free(h->deep[i]);
    EVP_PKEY_free(h->deep_key);
    free(h);
}

struct tw_lab_hostile *
tw_lab_hostile_new(const struct tw_lab_pki *pki, char *err)
{
    struct tw_lab_hostile *h = calloc(1, sizeof(*h));
    struct tw_lab_hostile *ret = NULL;
    char cn[64];

    if (h == NULL) {
        tw_errf(err, "hostile: out of memory");
        goto out;
    }
    h->deep_key = EVP_EC_gen("P-256");
    if (h->deep_key == NULL) {
        tw_lab_ssl_err(err, "hostile", "deep chain key");
        goto out;
    }
    for (int i = 0; i < HOSTILE_DEEP; i++) {
        X509 *issuer = i == 0 ? pki->root : h->deep[i - 1];
        EVP_PKEY *signer = i == 0 ? pki->root_key : h->deep_key;
        X509 *x;

        snprintf(cn, sizeof(cn), "tlsweep lab deep intermediate %d", i + 1);
        x = tw_lab_pki_new_cert(cn, issuer, h->deep_key, -DAY, 3650 * DAY);
        h->deep[i] = x;
        if (x == NULL ||
            tw_lab_pki_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            tw_lab_pki_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
            tw_lab_pki_add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
            tw_lab_pki_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0 ||
            X509_sign(x, signer, EVP_sha256()) <= 0) {
            tw_lab_ssl_err(err, "hostile", cn);
            goto out;
        }
    }
    ret = h;
    h = NULL;
out:
    tw_lab_hostile_free(h);
    return ret;
}

/* Append one dNSName with these exact bytes (no charset check). */
static int
san_push_raw(GENERAL_NAMES *gens, const char *bytes, size_t len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn == NULL || s == NULL || ASN1_STRING_set(s, bytes, (int)len) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return -1;
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return -1;
    }
    return 0;
}

/* One raw name entry of ASN.1 type `type` (bytes as given, NULs included).
 * A UTF8String must be valid UTF-8 (OpenSSL re-encodes names); a
 * TeletexString carries any bytes. */
static int
name_push_raw(X509_NAME *nm, int nid, int type, const char *bytes, size_t len)
{
    return X509_NAME_add_entry_by_NID(nm, nid, type, (const unsigned char *)bytes, (int)len, -1,
                                      0) == 1
               ? 0
               : -1;
}

#define RAW(s) s, sizeof(s) - 1

/* The leaf for host, issued by issuer/signer, with the SANs of `what`. */
static X509 *
hostile_leaf(const struct tw_lab_pki *pki, X509 *issuer, EVP_PKEY *signer,
             enum tw_lab_hostile_cert what, const char *host, char *err)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    X509 *x = NULL;
    char name[16];
    int ok = 0;

    x = tw_lab_pki_new_cert(host, issuer, pki->leaf_rsa, -DAY, 365 * DAY);
    if (x == NULL || gens == NULL)
        goto out;
    if (what == TW_LAB_HC_MANYSANS || what == TW_LAB_HC_BIGCHAIN) {
        /* 9,999 short names first: a name check must walk all of them. */
        for (int i = 0; i < HOSTILE_SANS - 1; i++) {
            snprintf(name, sizeof(name), "s%04d", i);
            if (san_push_raw(gens, name, strlen(name)) < 0)
                goto out;
        }
    }
    if (what == TW_LAB_HC_FIELDS) {
        X509_NAME *nm = X509_get_subject_name(x);

        if (name_push_raw(nm, NID_organizationalUnitName, V_ASN1_UTF8STRING,
                          RAW("<script>alert(1)</script>\0'); DROP TABLE results;--")) < 0 ||
            name_push_raw(nm, NID_localityName, V_ASN1_UTF8STRING,
                          RAW("\x1b[31mred\x1b[0m\a\r\nX-Injected: 1\t")) < 0 ||
            name_push_raw(nm, NID_stateOrProvinceName, V_ASN1_T61STRING,
                          RAW("bad utf8 \xff\xfe\xc0\xaf\xed\xa0\x80")) < 0 ||
            name_push_raw(nm, NID_commonName, V_ASN1_UTF8STRING,
                          RAW("\xe2\x80\xae"
                              "moc.live\" onmouseover=\"x")) < 0)
            goto out;
        if (san_push_raw(gens, RAW("evil\0.example.com")) < 0 ||
            san_push_raw(gens, RAW("<img src=x onerror=alert(1)>")) < 0 ||
            san_push_raw(gens, RAW("a.example,DNS:forged.example")) < 0 ||
            san_push_raw(gens, RAW("'); DROP TABLE certs;--")) < 0 ||
            san_push_raw(gens, RAW("\x1b]0;pwned\a\x7f\x9b")) < 0 ||
            san_push_raw(gens, RAW("=cmd|' /C calc'!A0")) < 0 ||
            san_push_raw(gens, RAW("bad-utf8-\xff\xfe\xc0\xaf.example")) < 0)
            goto out;
    }
    if (san_push_raw(gens, host, strlen(host)) < 0)
        goto out;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1 ||
        tw_lab_pki_add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") < 0 ||
        tw_lab_pki_add_ext(x, x, NID_ext_key_usage, "serverAuth") < 0 ||
        tw_lab_pki_add_ext(x, x, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
        tw_lab_pki_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0)
        goto out;
    if (X509_sign(x, signer, EVP_sha256()) <= 0)
        goto out;
    ok = 1;
out:
    GENERAL_NAMES_free(gens);
    if (!ok) {
        tw_lab_ssl_err(err, "hostile", host);
        X509_free(x);
        x = NULL;
    }
    return x;
}

int
tw_lab_hostile_ctx(SSL_CTX *ctx, const struct tw_lab_hostile *h, const struct tw_lab_pki *pki,
                   enum tw_lab_hostile_cert what, const char *host, char *err)
{
    X509 *issuer = what == TW_LAB_HC_DEEP ? h->deep[HOSTILE_DEEP - 1] : pki->inter;
    EVP_PKEY *signer = what == TW_LAB_HC_DEEP ? h->deep_key : pki->inter_key;
    X509 *leaf = NULL;
    int rc = -1;

    leaf = hostile_leaf(pki, issuer, signer, what, host, err);
    if (leaf == NULL)
        goto out;
    if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, pki->leaf_rsa) != 1) {
        tw_lab_ssl_err(err, "hostile", "certificate");
        goto out;
    }
    if (what == TW_LAB_HC_DEEP) {
        for (int i = HOSTILE_DEEP - 1; i >= 0; i--)
            if (SSL_CTX_add1_chain_cert(ctx, h->deep[i]) != 1)
                goto chain_err;
    } else {
        if (SSL_CTX_add1_chain_cert(ctx, pki->inter) != 1)
            goto chain_err;
        for (int i = 0; what == TW_LAB_HC_BIGCHAIN && i < HOSTILE_BIGCHAIN_COPIES - 1; i++)
            if (SSL_CTX_add1_chain_cert(ctx, leaf) != 1)
                goto chain_err;
    }
    rc = 0;
    goto out;
chain_err:
    tw_lab_ssl_err(err, "hostile", "chain");
out:
    X509_free(leaf);
    return rc;
}

static unsigned
get16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

size_t
tw_lab_hostile_hello_alert(const uint8_t *rec, size_t len, uint8_t *out, size_t cap)
{
    /* Suites a TLS <= 1.2 client may accept, best first; GCM only at 1.2. */
    static const unsigned prefs[] = {0xC02F, 0xC030, 0x009C, 0xC013, 0xC014, 0x002F, 0x0035};
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 47};
    size_t off = 5 + 4, hs_end, n_suites, o = 0;
    const uint8_t *suites;
    unsigned version, pick = 0;

    if (len < off + 2 + 32 + 1 || rec[0] != 0x16 || rec[5] != 0x01)
        return 0;
    hs_end = off + (((size_t)rec[6] << 16) | ((size_t)rec[7] << 8) | rec[8]);
    if (hs_end > len)
        hs_end = len; /* fragmented: parse what came */
    version = get16(rec + off);
    if (version > 0x0303)
        version = 0x0303;
    if (version < 0x0301)
        return 0;
    off += 2 + 32;
    off += 1 + (size_t)rec[off]; /* session id */
    if (off + 2 > hs_end)
        return 0;
    n_suites = get16(rec + off) / 2;
    suites = rec + off + 2;
    if (off + 2 + n_suites * 2 > hs_end)
        return 0;
    for (size_t p = 0; p < sizeof(prefs) / sizeof(prefs[0]) && pick == 0; p++) {
        if (version < 0x0303 && (prefs[p] == 0xC02F || prefs[p] == 0xC030 || prefs[p] == 0x009C))
            continue;
        for (size_t i = 0; i < n_suites; i++)
            if (get16(suites + 2 * i) == prefs[p])
                pick = prefs[p];
    }
    if (pick == 0 || cap < 5 + 4 + 2 + 32 + 1 + 2 + 1 + 2 + 5 + sizeof(alert))
        return 0;
    /* record header, handshake header, ServerHello */
    out[o++] = 0x16;
    out[o++] = 0x03;
    out[o++] = (uint8_t)(version & 0xff);
    out[o++] = 0x00;
    out[o++] = 4 + 45;
    out[o++] = 0x02;
    out[o++] = 0x00;
    out[o++] = 0x00;
    out[o++] = 45; /* version 2, random 32, session id 1, suite 2, compression 1, extensions 2+5 */
    out[o++] = 0x03;
    out[o++] = (uint8_t)(version & 0xff);
    if (RAND_bytes(out + o, 32) != 1)
        memset(out + o, 0x5a, 32);
    out[o + 24] = 0; /* never the TLS 1.3 downgrade sentinel */
    o += 32;
    out[o++] = 0; /* no session id */
    out[o++] = (uint8_t)(pick >> 8);
    out[o++] = (uint8_t)(pick & 0xff);
    out[o++] = 0; /* null compression */
    out[o++] = 0x00;
    out[o++] = 0x05; /* extensions: renegotiation_info, empty */
    out[o++] = 0xff;
    out[o++] = 0x01;
    out[o++] = 0x00;
    out[o++] = 0x01;
    out[o++] = 0x00;
    memcpy(out + o, alert, sizeof(alert));
    o += sizeof(alert);
    return o;
}
