/*
 * reneg.c - the lab's scripted TLS 1.2 server without RFC 5746 that accepts
 * a client-initiated renegotiation (issue 14, TW_LAB_F_LEGACY_RENEG).
 *
 * OpenSSL 3 always answers a client's renegotiation_info (or its SCSV) with
 * its own, so no Debian 12 stack serves this.  The script does one real
 * handshake: TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 over X25519, the
 * endpoint's own certificate and key, and a ServerHello with no extensions
 * at all (no renegotiation_info, no extended master secret).  After both
 * Finished messages it reads the client's records: an HTTP request gets a
 * short response and the connection ends; a ClientHello (a renegotiation)
 * is answered with a new ServerHello, Certificate and ServerHelloDone under
 * the current keys, which is the wire behaviour of a pre-2009 server that
 * renegotiates on the client's demand; the script stops there and only
 * drains (TW_LAB_F_LEGACY_NORENEG: a no_renegotiation warning alert
 * instead, and the connection stays open).  Anything unexpected gets the alert a fixed server
 * sends: unexpected_message for an early ChangeCipherSpec (so the CCS injection probe sees a fixed
 * server), handshake_failure for a hello it cannot serve.
 *
 * Bytes in, bytes out (tw_lab_reneg_feed); the caller owns the socket.
 * Every length of the client's input is checked before it is read.  One
 * object per connection, used by one thread.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/xalloc.h"
#include "lab/lab_int.h"

#define RN_SUITE 0xc02f   /* TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
#define RN_IN_MAX 20000   /* bytes of client input kept before a record is whole */
#define RN_HS_MAX 16384   /* transcript bytes kept */
#define RN_OUT_MAX 8192   /* one answer */
#define RN_SIGALG 0x0401  /* rsa_pkcs1_sha256 */
#define RN_CERTS_MAX 6000 /* the certificate_list: leaf and chain */

enum rn_state { RN_HELLO = 0, RN_CKE, RN_CCS, RN_FINISHED, RN_OPEN, RN_DONE };

struct tw_lab_reneg {
    enum rn_state st;
    EVP_PKEY *key; /* borrowed: the endpoint's leaf key (RSA) */
    uint8_t *cert; /* the certificate_list: (3-byte length, DER) per certificate */
    size_t cert_len;
    uint8_t in[RN_IN_MAX];
    size_t n_in;
    uint8_t hs[RN_HS_MAX]; /* the handshake transcript */
    size_t n_hs;
    uint8_t cr[32], sr[32];
    EVP_PKEY *eph; /* our X25519 share */
    uint8_t ms[48];
    uint8_t ckey[16], skey[16], civ[4], siv[4];
    uint64_t cseq, sseq;
    int refuse; /* answer a renegotiation with a no_renegotiation warning instead */
};

static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static int
rn_hs_add(struct tw_lab_reneg *r, const uint8_t *m, size_t len)
{
    if (len > sizeof(r->hs) - r->n_hs)
        return -1;
    memcpy(r->hs + r->n_hs, m, len);
    r->n_hs += len;
    return 0;
}

/* The TLS 1.2 PRF with SHA-256 (RFC 5246 5). */
static int
rn_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *s1, size_t l1,
       const uint8_t *s2, size_t l2, uint8_t *out, size_t olen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    uint8_t seed[128];
    size_t ll = strlen(label);
    OSSL_PARAM params[4];
    int ok;

    EVP_KDF_free(kdf);
    if (kc == NULL || ll + l1 + l2 > sizeof(seed)) {
        EVP_KDF_CTX_free(kc);
        return -1;
    }
    memcpy(seed, label, ll);
    memcpy(seed + ll, s1, l1);
    if (l2 > 0)
        memcpy(seed + ll + l1, s2, l2);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + l1 + l2);
    params[3] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(kc, out, olen, params) == 1;
    EVP_KDF_CTX_free(kc);
    return ok ? 0 : -1;
}

/* verify_data of label over the transcript so far. */
static int
rn_finished(struct tw_lab_reneg *r, const char *label, uint8_t out[12])
{
    uint8_t h[32];
    unsigned hl = 0;

    if (EVP_Digest(r->hs, r->n_hs, h, &hl, EVP_sha256(), NULL) != 1 || hl != 32)
        return -1;
    return rn_prf(r->ms, sizeof(r->ms), label, h, 32, NULL, 0, out, 12);
}

/* AES-128-GCM record protection (RFC 5288): nonce = iv(4) || explicit(8);
 * ours is the sequence number, the client's is whatever it sent. */
static int
rn_gcm(int enc, const uint8_t key[16], const uint8_t iv[4], const uint8_t explicit_nonce[8],
       uint64_t seq, uint8_t type, const uint8_t *in, size_t len, uint8_t *out,
       const uint8_t *tag_in, uint8_t *tag_out, size_t plain_len)
{
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    uint8_t nonce[12], aad[13];
    int n = 0, ok;

    if (cc == NULL)
        return -1;
    memcpy(nonce, iv, 4);
    memcpy(nonce + 4, explicit_nonce, 8);
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    put16(aad + 11, (unsigned)plain_len);
    ok = EVP_CipherInit_ex(cc, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
         EVP_CipherInit_ex(cc, NULL, NULL, key, nonce, enc) == 1 &&
         EVP_CipherUpdate(cc, NULL, &n, aad, sizeof(aad)) == 1 &&
         (len == 0 || EVP_CipherUpdate(cc, out, &n, in, (int)len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag_in) == 1;
    ok = ok && EVP_CipherFinal_ex(cc, out + (len > 0 ? (size_t)n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, tag_out) == 1;
    EVP_CIPHER_CTX_free(cc);
    return ok ? 0 : -1;
}

/* Append one record of type holding m[len] to out, protected when keyed. */
static int
rn_record(struct tw_lab_reneg *r, int keyed, uint8_t type, const uint8_t *m, size_t len,
          uint8_t *out, size_t cap, size_t *off)
{
    size_t body = keyed ? 8 + len + 16 : len;
    uint8_t *p = out + *off;

    if (body > 16384 + 256 || 5 + body > cap - *off)
        return -1;
    p[0] = type;
    p[1] = 3;
    p[2] = 3;
    put16(p + 3, (unsigned)body);
    if (!keyed) {
        memcpy(p + 5, m, len);
    } else {
        for (int i = 0; i < 8; i++)
            p[5 + i] = (uint8_t)(r->sseq >> (56 - 8 * i));
        if (rn_gcm(1, r->skey, r->siv, p + 5, r->sseq, type, m, len, p + 13, NULL, p + 13 + len,
                   len) < 0)
            return -1;
        r->sseq++;
    }
    *off += 5 + body;
    return 0;
}

static int
rn_alert(struct tw_lab_reneg *r, int keyed, uint8_t desc, uint8_t *out, size_t cap, size_t *off)
{
    uint8_t a[2] = {2, desc};

    r->st = RN_DONE;
    return rn_record(r, keyed, 21, a, 2, out, cap, off);
}

/* ServerHello (no extensions), Certificate, ServerKeyExchange (X25519,
 * signed), ServerHelloDone, into m[cap]; returns the length or 0. */
static size_t
rn_flight(struct tw_lab_reneg *r, uint8_t *m, size_t cap)
{
    size_t off = 0, pl = 32, sl = 0;
    uint8_t params[4 + 32], tbs[64 + sizeof(params)];
    EVP_MD_CTX *md = NULL;
    uint8_t *sig;

    if (cap < 4 + 38 + 4 + 3 + r->cert_len + 4 + sizeof(params) + 4 + 512 + 4)
        return 0;
    if (RAND_bytes(r->sr, sizeof(r->sr)) != 1)
        return 0;
    m[off] = 2;
    put24(m + off + 1, 38);
    put16(m + off + 4, 0x0303);
    memcpy(m + off + 6, r->sr, 32);
    m[off + 38] = 0; /* no session id: nothing to resume */
    put16(m + off + 39, RN_SUITE);
    m[off + 41] = 0; /* null compression; no extensions block */
    off += 42;
    m[off] = 11;
    put24(m + off + 1, 3 + r->cert_len);
    put24(m + off + 4, r->cert_len);
    memcpy(m + off + 7, r->cert, r->cert_len);
    off += 7 + r->cert_len;
    /* A fresh X25519 share per flight (the renegotiation's too). */
    EVP_PKEY_free(r->eph);
    r->eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (r->eph == NULL || EVP_PKEY_get_raw_public_key(r->eph, params + 4, &pl) != 1 || pl != 32)
        return 0;
    params[0] = 3; /* named_curve */
    put16(params + 1, 29);
    params[3] = 32;
    memcpy(tbs, r->cr, 32);
    memcpy(tbs + 32, r->sr, 32);
    memcpy(tbs + 64, params, sizeof(params));
    sig = m + off + 4 + sizeof(params) + 4;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, r->key) != 1 ||
        EVP_DigestSign(md, NULL, &sl, tbs, sizeof(tbs)) != 1 || sl > 512 ||
        EVP_DigestSign(md, sig, &sl, tbs, sizeof(tbs)) != 1) {
        EVP_MD_CTX_free(md);
        return 0;
    }
    EVP_MD_CTX_free(md);
    m[off] = 12;
    put24(m + off + 1, sizeof(params) + 4 + sl);
    memcpy(m + off + 4, params, sizeof(params));
    put16(m + off + 4 + sizeof(params), RN_SIGALG);
    put16(m + off + 4 + sizeof(params) + 2, (unsigned)sl);
    off += 4 + sizeof(params) + 4 + sl;
    m[off] = 14;
    put24(m + off + 1, 0);
    off += 4;
    return off;
}

/* Append x's DER with its 3-byte length to r->cert (RN_CERTS_MAX bytes). */
static int
rn_add_cert(struct tw_lab_reneg *r, X509 *x)
{
    unsigned char *der = NULL;
    int n = x != NULL ? i2d_X509(x, &der) : -1;

    if (n <= 0 || (size_t)n + 3 > RN_CERTS_MAX - r->cert_len) {
        OPENSSL_free(der);
        return -1;
    }
    put24(r->cert + r->cert_len, (size_t)n);
    memcpy(r->cert + r->cert_len + 3, der, (size_t)n);
    r->cert_len += 3 + (size_t)n;
    OPENSSL_free(der);
    return 0;
}

struct tw_lab_reneg *
tw_lab_reneg_new(SSL_CTX *ctx, int refuse)
{
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx);
    STACK_OF(X509) *chain = NULL;
    struct tw_lab_reneg *r;

    if (leaf == NULL || key == NULL)
        return NULL;
    r = tw_xcalloc(1, sizeof(*r));
    r->cert = tw_xmalloc(RN_CERTS_MAX);
    r->key = key;
    r->refuse = refuse;
    if (rn_add_cert(r, leaf) < 0 || SSL_CTX_get0_chain_certs(ctx, &chain) != 1) {
        tw_lab_reneg_free(r);
        return NULL;
    }
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        if (rn_add_cert(r, sk_X509_value(chain, i)) < 0) {
            tw_lab_reneg_free(r);
            return NULL;
        }
    }
    return r;
}

void
tw_lab_reneg_free(struct tw_lab_reneg *r)
{
    if (r == NULL)
        return;
    EVP_PKEY_free(r->eph);
    OPENSSL_cleanse(r->ms, sizeof(r->ms));
    free(r->cert);
    free(r);
}

/* The first ClientHello (plaintext record rec[len]). */
static int
rn_on_hello(struct tw_lab_reneg *r, const uint8_t *rec, size_t len, uint8_t *out, size_t cap,
            size_t *off)
{
    struct tw_lab_client_hello ch;
    uint8_t m[RN_OUT_MAX];
    size_t ml, hl;
    int offered = 0;

    if (tw_lab_legacy_parse(rec, len, &ch) < 0)
        return rn_alert(r, 0, 40, out, cap, off);
    if (ch.version < 0x0303)
        return rn_alert(r, 0, 70, out, cap, off); /* protocol_version: TLS 1.2 only */
    for (size_t i = 0; i + 1 < ch.suites_len; i += 2)
        if (((unsigned)ch.suites[i] << 8 | ch.suites[i + 1]) == RN_SUITE)
            offered = 1;
    if (!offered)
        return rn_alert(r, 0, 40, out, cap, off);
    hl = 4 + (((size_t)rec[6] << 16) | ((size_t)rec[7] << 8) | rec[8]);
    memcpy(r->cr, rec + 11, 32);
    r->n_hs = 0;
    if (rn_hs_add(r, rec + 5, hl) < 0 || (ml = rn_flight(r, m, sizeof(m))) == 0 ||
        rn_hs_add(r, m, ml) < 0)
        return rn_alert(r, 0, 80, out, cap, off);
    r->st = RN_CKE;
    return rn_record(r, 0, 22, m, ml, out, cap, off);
}

/* ClientKeyExchange: the X25519 share, then the keys (RFC 5246 8.1, 6.3). */
static int
rn_on_cke(struct tw_lab_reneg *r, const uint8_t *m, size_t len)
{
    EVP_PKEY *peer;
    EVP_PKEY_CTX *dc = NULL;
    uint8_t pms[32], kb[40];
    size_t pl = sizeof(pms);
    int ok;

    if (len != 4 + 1 + 32 || m[0] != 16 || m[4] != 32)
        return -1;
    peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, m + 5, 32);
    ok = peer != NULL && (dc = EVP_PKEY_CTX_new(r->eph, NULL)) != NULL &&
         EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
         EVP_PKEY_derive(dc, pms, &pl) == 1 && pl == 32;
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_free(peer);
    ok = ok && rn_hs_add(r, m, len) == 0 &&
         rn_prf(pms, 32, "master secret", r->cr, 32, r->sr, 32, r->ms, 48) == 0 &&
         rn_prf(r->ms, 48, "key expansion", r->sr, 32, r->cr, 32, kb, sizeof(kb)) == 0;
    OPENSSL_cleanse(pms, sizeof(pms));
    if (!ok)
        return -1;
    memcpy(r->ckey, kb, 16);
    memcpy(r->skey, kb + 16, 16);
    memcpy(r->civ, kb + 32, 4);
    memcpy(r->siv, kb + 36, 4);
    OPENSSL_cleanse(kb, sizeof(kb));
    return 0;
}

/* Decrypt the client's protected record body b[len] of type into p[cap];
 * returns the plaintext length or -1. */
static long
rn_open(struct tw_lab_reneg *r, uint8_t type, const uint8_t *b, size_t len, uint8_t *p, size_t cap)
{
    size_t pl;

    if (len < 8 + 16 || len - 8 - 16 > cap)
        return -1;
    pl = len - 8 - 16;
    if (rn_gcm(0, r->ckey, r->civ, b, r->cseq, type, b + 8, pl, p, b + 8 + pl, NULL, pl) < 0)
        return -1;
    r->cseq++;
    return (long)pl;
}

/* One whole record rec[len] (header included). */
static int
rn_on_record(struct tw_lab_reneg *r, const uint8_t *rec, size_t len, uint8_t *out, size_t cap,
             size_t *off)
{
    uint8_t type = rec[0];
    const uint8_t *b = rec + 5;
    size_t bl = len - 5;
    uint8_t p[16384 + 256], m[RN_OUT_MAX], vd[12];
    long pl;
    size_t ml;

    switch (r->st) {
    case RN_HELLO:
        return rn_on_hello(r, rec, len, out, cap, off);
    case RN_CKE:
        if (type == 20) /* an early ChangeCipherSpec: a fixed server refuses it */
            return rn_alert(r, 0, 10, out, cap, off);
        if (type != 22 || rn_on_cke(r, b, bl) < 0)
            return rn_alert(r, 0, 10, out, cap, off);
        r->st = RN_CCS;
        return 0;
    case RN_CCS:
        if (type != 20 || bl != 1 || b[0] != 1)
            return rn_alert(r, 0, 10, out, cap, off);
        r->st = RN_FINISHED;
        return 0;
    case RN_FINISHED:
        if (type != 22 || (pl = rn_open(r, type, b, bl, p, sizeof(p))) != 16 || p[0] != 20 ||
            rn_finished(r, "client finished", vd) < 0 || CRYPTO_memcmp(vd, p + 4, 12) != 0)
            return rn_alert(r, 0, 51, out, cap, off); /* decrypt_error */
        if (rn_hs_add(r, p, 16) < 0 || rn_finished(r, "server finished", vd) < 0)
            return rn_alert(r, 0, 80, out, cap, off);
        m[0] = 20;
        put24(m + 1, 12);
        memcpy(m + 4, vd, 12);
        r->st = RN_OPEN;
        {
            static const uint8_t ccs = 1;

            if (rn_record(r, 0, 20, &ccs, 1, out, cap, off) < 0)
                return -1;
        }
        return rn_record(r, 1, 22, m, 16, out, cap, off);
    case RN_OPEN:
        if ((pl = rn_open(r, type, b, bl, p, sizeof(p))) < 0)
            return rn_alert(r, 1, 20, out, cap, off); /* bad_record_mac */
        if (type == 22 && pl >= 4 + 2 + 32 && p[0] == 1) {
            /* A renegotiation: answered as a legacy server did, or refused
             * with the warning RFC 5246 7.2.2 describes. */
            if (r->refuse) {
                static const uint8_t no_reneg[2] = {1, 100};

                return rn_record(r, 1, 21, no_reneg, 2, out, cap, off);
            }
            memcpy(r->cr, p + 6, 32);
            r->n_hs = 0;
            if ((ml = rn_flight(r, m, sizeof(m))) == 0)
                return rn_alert(r, 1, 80, out, cap, off);
            r->st = RN_DONE;
            return rn_record(r, 1, 22, m, ml, out, cap, off);
        }
        if (type == 23) {
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            static const uint8_t close_notify[2] = {1, 0};

            r->st = RN_DONE;
            if (rn_record(r, 1, 23, (const uint8_t *)resp, sizeof(resp) - 1, out, cap, off) < 0)
                return -1;
            return rn_record(r, 1, 21, close_notify, 2, out, cap, off);
        }
        if (type == 21) {
            r->st = RN_DONE;
            return 0;
        }
        return rn_alert(r, 1, 10, out, cap, off);
    case RN_DONE:
        return 0;
    }
    return -1;
}

int
tw_lab_reneg_feed(struct tw_lab_reneg *r, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len)
{
    size_t used = 0;

    *out_len = 0;
    if (len > sizeof(r->in) - r->n_in)
        return -1;
    memcpy(r->in + r->n_in, in, len);
    r->n_in += len;
    while (r->st != RN_DONE && r->n_in - used >= 5) {
        const uint8_t *rec = r->in + used;
        size_t rl = ((size_t)rec[3] << 8) | rec[4];

        if (rec[1] != 3 || rl > 16384 + 2048) {
            r->st = RN_DONE;
            return -1;
        }
        if (r->n_in - used < 5 + rl)
            break;
        if (rn_on_record(r, rec, 5 + rl, out, cap, out_len) < 0) {
            r->st = RN_DONE;
            return -1;
        }
        used += 5 + rl;
    }
    memmove(r->in, r->in + used, r->n_in - used);
    r->n_in -= used;
    return r->st == RN_DONE ? 1 : 0;
}
