/*
 * robot.c - the ROBOT probe's padded blocks, records and verdict (see robot.h).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "scanner/robot.h"

#define ROBOT_PMS_LEN 48 /* a TLS premaster secret: version and 46 random bytes */

/* The i-th filler byte: rnd cycled, a 0 turned into another value. */
static uint8_t
robot_nonzero(const uint8_t *rnd, size_t rnd_len, size_t i)
{
    uint8_t b = rnd[i % rnd_len];

    return b != 0 ? b : (uint8_t)(0x5a + (i & 0x1f));
}

int
tw_robot_block(enum tw_robot_variant variant, size_t k, uint16_t version, const uint8_t *rnd,
               size_t rnd_len, uint8_t *out)
{
    size_t sep = k - ROBOT_PMS_LEN - 1; /* where the 00 separator goes */

    if (k < 64 || k > TW_ROBOT_MAX_KEY_BYTES || rnd == NULL || rnd_len == 0)
        return -1;
    /* Everything nonzero first, then the structure of the variant. */
    for (size_t i = 0; i < k; i++)
        out[i] = robot_nonzero(rnd, rnd_len, i);
    out[0] = 0x00;
    out[1] = 0x02;
    out[sep] = 0x00;
    out[sep + 1] = (uint8_t)(version >> 8);
    out[sep + 2] = (uint8_t)(version & 0xff);
    switch (variant) {
    case TW_ROBOT_V_GOOD:
        break;
    case TW_ROBOT_V_BAD_PREFIX:
        out[0] = 0x41;
        out[1] = 0x17;
        break;
    case TW_ROBOT_V_ZERO_EARLY:
        /* The first 00 sits in the middle of the padding (at least 8 bytes
         * after the prefix): a well-formed PKCS#1 message, too long for a
         * premaster; the one where the separator belongs is gone. */
        out[sep] = robot_nonzero(rnd, rnd_len, sep);
        out[2 + (sep - 2) / 2] = 0x00;
        break;
    case TW_ROBOT_V_NO_ZERO:
        out[sep] = robot_nonzero(rnd, rnd_len, sep);
        break;
    case TW_ROBOT_V_BAD_VERSION:
        out[sep + 1] = 0x02;
        out[sep + 2] = 0x02;
        break;
    default:
        return -1;
    }
    return 0;
}

/* Raw RSA: c = m^e mod n for the k-byte block m.  0 or -1. */
static int
robot_encrypt(EVP_PKEY *pk, const uint8_t *m, size_t k, uint8_t *c, size_t *clen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    int ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_encrypt(ctx, c, clen, m, k) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

static size_t
robot_header(uint8_t *out, uint8_t type, uint16_t version, size_t len)
{
    out[0] = type;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)(version & 0xff);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)(len & 0xff);
    return 5;
}

size_t
tw_robot_records(const uint8_t *spki, size_t spki_len, enum tw_robot_variant variant,
                 uint16_t version, const uint8_t *rnd, size_t rnd_len, uint8_t *out, size_t cap)
{
    uint8_t block[TW_ROBOT_MAX_KEY_BYTES];
    const unsigned char *p = spki;
    EVP_PKEY *pk = NULL;
    size_t k, clen, o = 0;
    int bits;

    if (spki == NULL || spki_len == 0 || spki_len > TW_ROBOT_SPKI_MAX)
        return 0;
    pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
        goto fail;
    bits = EVP_PKEY_get_bits(pk);
    k = bits > 0 ? ((size_t)bits + 7) / 8 : 0;
    if (k < 64 || k > TW_ROBOT_MAX_KEY_BYTES || cap < TW_ROBOT_RECORDS_MAX ||
        tw_robot_block(variant, k, version, rnd, rnd_len, block) < 0)
        goto fail;
    /* ClientKeyExchange: record, handshake header (type 16), the 2-byte
     * length of EncryptedPreMasterSecret (TLS 1.0 and later), the bytes. */
    o += robot_header(out, 22, version, 4 + 2 + k);
    out[o++] = 16;
    out[o++] = (uint8_t)((2 + k) >> 16);
    out[o++] = (uint8_t)((2 + k) >> 8);
    out[o++] = (uint8_t)((2 + k) & 0xff);
    out[o++] = (uint8_t)(k >> 8);
    out[o++] = (uint8_t)(k & 0xff);
    clen = k;
    if (robot_encrypt(pk, block, k, out + o, &clen) < 0) {
        /* A modulus whose top byte is below 0x41 (a size not a multiple of
         * 8 bits): keep the prefix wrong but the block below n. */
        if (variant != TW_ROBOT_V_BAD_PREFIX)
            goto fail;
        ERR_clear_error();
        block[0] = 0x00;
        block[1] = 0x17;
        clen = k;
        if (robot_encrypt(pk, block, k, out + o, &clen) < 0)
            goto fail;
    }
    if (clen != k)
        goto fail;
    o += k;
    /* ChangeCipherSpec, then a Finished that no key decrypts. */
    o += robot_header(out + o, 20, version, 1);
    out[o++] = 1;
    o += robot_header(out + o, 22, version, TW_ROBOT_FINISHED_LEN);
    for (size_t i = 0; i < TW_ROBOT_FINISHED_LEN; i++)
        out[o++] = rnd[(i * 7 + 3) % rnd_len];
    OPENSSL_cleanse(block, sizeof(block));
    EVP_PKEY_free(pk);
    return o;
fail:
    ERR_clear_error();
    OPENSSL_cleanse(block, sizeof(block));
    EVP_PKEY_free(pk);
    return 0;
}

static int
robot_same(const struct tw_robot_reaction *a, const struct tw_robot_reaction *b)
{
    return a->kind == b->kind && (a->kind != TW_ROBOT_R_ALERT || a->alert == b->alert);
}

/* A reaction in a few words into buf[cap]. */
static void
robot_say(const struct tw_robot_reaction *r, char *buf, size_t cap)
{
    switch (r->kind) {
    case TW_ROBOT_R_ALERT:
        snprintf(buf, cap, "alert %u", (unsigned)r->alert);
        break;
    case TW_ROBOT_R_EOF:
        snprintf(buf, cap, "FIN");
        break;
    case TW_ROBOT_R_RESET:
        snprintf(buf, cap, "RST");
        break;
    case TW_ROBOT_R_TIMEOUT:
        snprintf(buf, cap, "silence");
        break;
    case TW_ROBOT_R_OTHER:
        snprintf(buf, cap, "no alert");
        break;
    case TW_ROBOT_R_NONE:
    default:
        snprintf(buf, cap, "none");
        break;
    }
}

enum tw_robot_result
tw_robot_verdict(const struct tw_robot_reaction *r, char *detail, size_t cap)
{
    static const char *const names[TW_ROBOT_N_VARIANTS] = {"good", "bad prefix", "00 early",
                                                           "no 00", "bad version"};
    char w[TW_ROBOT_N_VARIANTS][16];
    int same = 1;
    enum tw_robot_result res;

    for (int i = 0; i < TW_ROBOT_N_VARIANTS; i++) {
        robot_say(&r[i], w[i], sizeof(w[i]));
        if (r[i].kind == TW_ROBOT_R_NONE) {
            snprintf(detail, cap, "no verdict: no answer to the %s variant", names[i]);
            return TW_ROBOT_NO_VERDICT;
        }
        if (!robot_same(&r[0], &r[i]))
            same = 0;
    }
    if (same) {
        snprintf(detail, cap, "the same reaction to all %d padding variants: %s",
                 TW_ROBOT_N_VARIANTS, w[0]);
        return TW_ROBOT_SAFE;
    }
    res = robot_same(&r[TW_ROBOT_V_BAD_PREFIX], &r[TW_ROBOT_V_ZERO_EARLY]) &&
                  robot_same(&r[TW_ROBOT_V_BAD_PREFIX], &r[TW_ROBOT_V_NO_ZERO])
              ? TW_ROBOT_WEAK
              : TW_ROBOT_STRONG;
    snprintf(detail, cap,
             "%s oracle: good %s, bad prefix %s, 00 early %s, no 00 %s, bad version %s",
             res == TW_ROBOT_WEAK ? "weak" : "strong", w[0], w[1], w[2], w[3], w[4]);
    return res;
}
