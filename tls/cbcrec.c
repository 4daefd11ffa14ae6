/*
 * cbcrec.c - TLS 1.1/1.2 CBC records by hand (cbcrec.h).
 */
#include "tls/cbcrec.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#define CR_BODY_MAX (16384 + 2048) /* RFC 5246 6.2.3: TLSCiphertext.length */

static void
cr_put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The TLS PRF (RFC 5246 5; TLS 1.1: MD5 and SHA-1 halves) into out[olen]. */
static int
cr_prf(const char *md, const uint8_t *secret, size_t slen, const char *label, const uint8_t *s1,
       const uint8_t *s2, uint8_t *out, size_t olen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    uint8_t seed[13 + 64];
    size_t ll = strlen(label);
    OSSL_PARAM params[4];
    int ok;

    EVP_KDF_free(kdf);
    if (kc == NULL || ll > 13) {
        EVP_KDF_CTX_free(kc);
        return -1;
    }
    memcpy(seed, label, ll);
    memcpy(seed + ll, s1, 32);
    memcpy(seed + ll + 32, s2, 32);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + 64);
    params[3] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(kc, out, olen, params) == 1;
    EVP_KDF_CTX_free(kc);
    return ok ? 0 : -1;
}

static size_t
cr_md_len(const char *md)
{
    if (strcmp(md, "SHA1") == 0)
        return 20;
    if (strcmp(md, "SHA256") == 0)
        return 32;
    if (strcmp(md, "SHA384") == 0)
        return 48;
    return 0;
}

int
tw_cbcrec_derive(struct tw_cbcrec_keys *k, uint16_t version, const char *mac_md, const char *prf_md,
                 size_t key_len, const uint8_t *ms, size_t ms_len, const uint8_t client_random[32],
                 const uint8_t server_random[32])
{
    uint8_t kb[2 * TW_CBCREC_MAC_MAX + 2 * TW_CBCREC_KEY_MAX];
    size_t ml = cr_md_len(mac_md);
    int rc;

    memset(k, 0, sizeof(*k));
    if ((version != 0x0302 && version != 0x0303) || ml == 0 || (key_len != 16 && key_len != 32))
        return -1;
    if (version == 0x0302)
        prf_md = "MD5-SHA1";
    else if (prf_md == NULL || cr_md_len(prf_md) == 0)
        return -1;
    k->version = version;
    snprintf(k->mac_md, sizeof(k->mac_md), "%s", mac_md);
    k->mac_len = ml;
    k->key_len = key_len;
    /* The key block: the server random first in the seed (RFC 5246 6.3). */
    rc = cr_prf(prf_md, ms, ms_len, "key expansion", server_random, client_random, kb,
                2 * ml + 2 * key_len);
    if (rc == 0) {
        memcpy(k->client.mac_key, kb, ml);
        memcpy(k->server.mac_key, kb + ml, ml);
        memcpy(k->client.enc_key, kb + 2 * ml, key_len);
        memcpy(k->server.enc_key, kb + 2 * ml + key_len, key_len);
        k->client.seq = k->server.seq = 1;
    }
    OPENSSL_cleanse(kb, sizeof(kb));
    if (rc != 0)
        tw_cbcrec_wipe(k);
    return rc;
}

int
tw_cbcrec_from_ssl(SSL *ssl, struct tw_cbcrec_keys *k)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    const SSL_SESSION *s = SSL_get_session(ssl);
    uint8_t ms[48], cr[32], sr[32];
    const char *mac, *prf = NULL;
    size_t ml, kl;
    int v = SSL_version(ssl), rc;

    memset(k, 0, sizeof(*k));
    if (c == NULL || s == NULL || (v != TLS1_1_VERSION && v != TLS1_2_VERSION) ||
        !(SSL_get_options(ssl) & SSL_OP_NO_ENCRYPT_THEN_MAC))
        return -1;
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_cbc:
        kl = 16;
        break;
    case NID_aes_256_cbc:
        kl = 32;
        break;
    default:
        return -1;
    }
    switch (SSL_CIPHER_get_digest_nid(c)) {
    case NID_sha1:
        mac = "SHA1";
        break;
    case NID_sha256:
        mac = "SHA256";
        break;
    case NID_sha384:
        mac = "SHA384";
        break;
    default:
        return -1;
    }
    if (v == TLS1_2_VERSION) {
        const EVP_MD *h = SSL_CIPHER_get_handshake_digest(c);
        int nid = h != NULL ? EVP_MD_get_type(h) : NID_undef;

        /* The SHA-1 suites name the default (MD5+SHA-1) handshake digest,
         * which TLS 1.2 replaces with SHA-256 (RFC 5246 5). */
        prf = nid == NID_sha384 ? "SHA384" : "SHA256";
    }
    ml = SSL_SESSION_get_master_key(s, ms, sizeof(ms));
    if (ml != sizeof(ms) || SSL_get_client_random(ssl, cr, sizeof(cr)) != sizeof(cr) ||
        SSL_get_server_random(ssl, sr, sizeof(sr)) != sizeof(sr)) {
        OPENSSL_cleanse(ms, sizeof(ms));
        return -1;
    }
    rc = tw_cbcrec_derive(k, (uint16_t)v, mac, prf, kl, ms, ml, cr, sr);
    OPENSSL_cleanse(ms, sizeof(ms));
    return rc;
}

void
tw_cbcrec_wipe(struct tw_cbcrec_keys *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

/* HMAC(seq || type || version || length || data) into out (k->mac_len). */
static int
cr_mac(const struct tw_cbcrec_keys *k, const struct tw_cbcrec_dir *d, uint8_t type,
       const uint8_t *data, size_t len, uint8_t *out)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mc = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    uint8_t hdr[13];
    size_t ol = 0;
    int ok;

    EVP_MAC_free(mac);
    if (mc == NULL)
        return -1;
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(d->seq >> (56 - 8 * i));
    hdr[8] = type;
    cr_put16(hdr + 9, k->version);
    cr_put16(hdr + 11, len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->mac_md, 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_MAC_init(mc, d->mac_key, k->mac_len, params) == 1 &&
         EVP_MAC_update(mc, hdr, sizeof(hdr)) == 1 &&
         (len == 0 || EVP_MAC_update(mc, data, len) == 1) &&
         EVP_MAC_final(mc, out, &ol, TW_CBCREC_MAC_MAX) == 1 && ol == k->mac_len;
    EVP_MAC_CTX_free(mc);
    return ok ? 0 : -1;
}

/* AES-CBC without padding over in[len] (a whole number of blocks). */
static int
cr_cbc(int enc, const struct tw_cbcrec_keys *k, const struct tw_cbcrec_dir *d, const uint8_t *iv,
       const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    int n = 0, n2 = 0, ok;

    if (cc == NULL)
        return -1;
    ok = EVP_CipherInit_ex(cc, k->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL,
                           d->enc_key, iv, enc) == 1 &&
         EVP_CIPHER_CTX_set_padding(cc, 0) == 1 &&
         EVP_CipherUpdate(cc, out, &n, in, (int)len) == 1 &&
         EVP_CipherFinal_ex(cc, out + n, &n2) == 1 && (size_t)(n + n2) == len;
    EVP_CIPHER_CTX_free(cc);
    return ok ? 0 : -1;
}

size_t
tw_cbcrec_seal(const struct tw_cbcrec_keys *k, struct tw_cbcrec_dir *d, uint8_t type,
               const uint8_t *m, size_t len, enum tw_cbcrec_form form,
               const uint8_t iv[TW_CBCREC_BLOCK], uint8_t *out, size_t cap)
{
    uint8_t p[TW_CBCREC_REC_MAX];
    size_t ml = k->mac_len, pad, plen;
    int bad_pad = form == TW_CBCREC_BAD_PAD || form == TW_CBCREC_BAD_BOTH;
    int bad_mac =
        form == TW_CBCREC_BAD_MAC || form == TW_CBCREC_BAD_BOTH || form == TW_CBCREC_ZERO_LEN;

    if (form == TW_CBCREC_ZERO_LEN)
        len = 0;
    if (ml == 0 || len > sizeof(p) - ml - 2 * TW_CBCREC_BLOCK)
        return 0;
    /* pad: the padding bytes before the length byte, each equal to it. */
    pad = (TW_CBCREC_BLOCK - (len + ml + 1) % TW_CBCREC_BLOCK) % TW_CBCREC_BLOCK;
    if (bad_pad && pad == 0)
        pad = TW_CBCREC_BLOCK; /* a padding byte to spoil beside the length byte */
    plen = len + ml + pad + 1;
    if (plen > sizeof(p) || 5 + TW_CBCREC_BLOCK + plen > cap)
        return 0;
    if (len > 0)
        memcpy(p, m, len);
    if (cr_mac(k, d, type, p, len, p + len) < 0)
        return 0;
    if (bad_mac)
        p[len + ml - 1] ^= 0x01;
    memset(p + len + ml, (int)pad, pad + 1);
    if (bad_pad)
        p[len + ml] ^= 0x80; /* the first padding byte; the length byte stays right */
    out[0] = type;
    cr_put16(out + 1, k->version);
    cr_put16(out + 3, TW_CBCREC_BLOCK + plen);
    memcpy(out + 5, iv, TW_CBCREC_BLOCK);
    if (cr_cbc(1, k, d, iv, p, plen, out + 5 + TW_CBCREC_BLOCK) < 0) {
        OPENSSL_cleanse(p, sizeof(p));
        return 0;
    }
    OPENSSL_cleanse(p, sizeof(p));
    d->seq++;
    return 5 + TW_CBCREC_BLOCK + plen;
}

int
tw_cbcrec_open(const struct tw_cbcrec_keys *k, struct tw_cbcrec_dir *d, const uint8_t *rec,
               size_t len, uint8_t *plain, size_t cap, struct tw_cbcrec_opened *o)
{
    uint8_t mac[TW_CBCREC_MAC_MAX];
    size_t body, n, pl, ml = k->mac_len;

    memset(o, 0, sizeof(*o));
    if (len < 5 || ml == 0)
        return -1;
    body = ((size_t)rec[3] << 8) | rec[4];
    if (body != len - 5 || body < 2 * TW_CBCREC_BLOCK || body % TW_CBCREC_BLOCK != 0 ||
        body > CR_BODY_MAX || body - TW_CBCREC_BLOCK > cap)
        return -1;
    n = body - TW_CBCREC_BLOCK;
    if (cr_cbc(0, k, d, rec + 5, rec + 5 + TW_CBCREC_BLOCK, n, plain) < 0)
        return -1;
    pl = plain[n - 1];
    o->length_ok = pl + 1 + ml <= n;
    if (o->length_ok) {
        o->padding_ok = 1;
        for (size_t i = n - 1 - pl; i < n; i++)
            if (plain[i] != pl)
                o->padding_ok = 0;
        o->data_len = n - 1 - pl - ml;
        o->mac_ok = cr_mac(k, d, rec[0], plain, o->data_len, mac) == 0 &&
                    CRYPTO_memcmp(mac, plain + o->data_len, ml) == 0;
    }
    d->seq++;
    return 0;
}

void
tw_cbcrec_reaction(const struct tw_cbcrec_keys *k, const uint8_t *p, size_t len, int timed_out,
                   struct tw_cbcrec_reaction *r)
{
    size_t rl;

    r->desc = -1;
    if (len == 0) {
        r->kind = timed_out ? TW_CBCREC_R_SILENT : TW_CBCREC_R_CLOSED;
        return;
    }
    r->kind = TW_CBCREC_R_OTHER;
    if (len < 5 || p[1] != 3)
        return;
    rl = ((size_t)p[3] << 8) | p[4];
    if (len < 5 + rl)
        return;
    if (p[0] == 23) {
        r->kind = TW_CBCREC_R_DATA;
    } else if (p[0] == 21) {
        r->kind = TW_CBCREC_R_ALERT;
        if (rl == 2) {
            r->desc = p[6]; /* a plaintext alert */
        } else if (k != NULL && rl <= CR_BODY_MAX) {
            struct tw_cbcrec_dir d = k->server;
            struct tw_cbcrec_opened o;
            uint8_t plain[256];

            if (rl - TW_CBCREC_BLOCK <= sizeof(plain) &&
                tw_cbcrec_open(k, &d, p, 5 + rl, plain, sizeof(plain), &o) == 0 && o.mac_ok &&
                o.padding_ok && o.data_len == 2)
                r->desc = plain[1];
            OPENSSL_cleanse(&d, sizeof(d));
        }
    }
}

int
tw_cbcrec_same(const struct tw_cbcrec_reaction *a, const struct tw_cbcrec_reaction *b)
{
    return a->kind == b->kind && (a->kind != TW_CBCREC_R_ALERT || a->desc == b->desc);
}

void
tw_cbcrec_reaction_text(const struct tw_cbcrec_reaction *r, char *out, size_t cap)
{
    switch (r->kind) {
    case TW_CBCREC_R_DATA:
        snprintf(out, cap, "data");
        return;
    case TW_CBCREC_R_ALERT:
        snprintf(out, cap, "alert %d%s", r->desc,
                 r->desc == 20   ? " (bad_record_mac)"
                 : r->desc == 21 ? " (decryption_failed)"
                 : r->desc == 10 ? " (unexpected_message)"
                                 : "");
        return;
    case TW_CBCREC_R_CLOSED:
        snprintf(out, cap, "closed");
        return;
    case TW_CBCREC_R_SILENT:
        snprintf(out, cap, "silent");
        return;
    case TW_CBCREC_R_OTHER:
        snprintf(out, cap, "other bytes");
        return;
    case TW_CBCREC_R_NONE:
        break;
    }
    snprintf(out, cap, "not run");
}

int
tw_cbcrec_answer_complete(const uint8_t *p, size_t len)
{
    if (len < 5)
        return 0;
    return len >= 5 + (((size_t)p[3] << 8) | p[4]);
}
