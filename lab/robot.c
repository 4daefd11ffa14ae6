/*
 * robot.c - the lab's Bleichenbacher oracle (issue 14, TW_LAB_F_ROBOT_ORACLE).
 *
 * The robot-oracle endpoint answers hellos that offer only its RSA
 * key-exchange suites by script (legacy.c's first flight, the endpoint's own
 * certificate).  What the client sends after that flight comes here: the
 * ClientKeyExchange is decrypted with the endpoint's private key (raw RSA,
 * no padding) and its PKCS#1 v1.5 structure checked by hand, and the answer
 * depends on what was wrong, which is the oracle of a vulnerable stack
 * (ROBOT, 2017):
 *   a conforming block (00 02, 8+ nonzero bytes, 00, a 48-byte premaster
 *   whose version is the hello's): the handshake goes on and the garbage
 *   Finished that follows fails: bad_record_mac (20);
 *   a block not starting with 00 02: handshake_failure (40) at once;
 *   00 02 but no separator, a separator in the wrong place or the wrong
 *   version: the connection is closed without an alert.
 * A fixed server gives one reaction to all of them.
 *
 * Pure but for the RSA decryption: bytes in, an action out; no state kept
 * between calls (the caller passes all bytes read since the flight).  Every
 * length of the client's input is checked before it is read.  Any thread.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "lab/lab_int.h"

#define RB_PMS_LEN 48
#define RB_KEY_MAX 1024 /* modulus bytes */

/* What the decrypted premaster block looks like. */
enum rb_block { RB_GOOD = 0, RB_BAD_PREFIX, RB_BAD_BODY };

static enum rb_block
rb_judge(const uint8_t *em, size_t k, uint16_t version)
{
    size_t zero = 0;

    if (k < 11 || em[0] != 0x00 || em[1] != 0x02)
        return RB_BAD_PREFIX;
    for (size_t i = 2; i < k && zero == 0; i++)
        if (em[i] == 0x00)
            zero = i;
    if (zero == 0 || zero < 10 || k - zero - 1 != RB_PMS_LEN)
        return RB_BAD_BODY;
    if (em[zero + 1] != (uint8_t)(version >> 8) || em[zero + 2] != (uint8_t)(version & 0xff))
        return RB_BAD_BODY;
    return RB_GOOD;
}

/* Decrypt the EncryptedPreMasterSecret ct[len] and judge it. */
static enum rb_block
rb_decrypt(EVP_PKEY *key, const uint8_t *ct, size_t len, uint16_t version)
{
    uint8_t em[RB_KEY_MAX];
    size_t k = sizeof(em);
    EVP_PKEY_CTX *ctx;
    enum rb_block b = RB_BAD_PREFIX;
    int bits = EVP_PKEY_get_bits(key);

    if (bits <= 0 || ((size_t)bits + 7) / 8 != len || len > sizeof(em))
        return RB_BAD_PREFIX;
    ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
        EVP_PKEY_decrypt(ctx, em, &k, ct, len) == 1 && k == len)
        b = rb_judge(em, k, version);
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_cleanse(em, sizeof(em));
    return b;
}

enum tw_lab_robot_action
tw_lab_robot_answer(EVP_PKEY *key, uint16_t version, const uint8_t *in, size_t len, uint8_t *alert)
{
    size_t off = 0;
    int good = 0, ccs = 0;

    while (len >= 5 && off <= len - 5) {
        const uint8_t *r = in + off;
        size_t rl = ((size_t)r[3] << 8) | r[4];

        if (rl > 16384 + 2048)
            return TW_LAB_ROBOT_CLOSE;
        if (rl > len - off - 5)
            return TW_LAB_ROBOT_MORE;
        if (r[0] == 20) {
            ccs = 1;
        } else if (r[0] == 22 && ccs) {
            /* The Finished under keys we derived (or would have): it never
             * decrypts, as a real server's MAC check would find. */
            if (good) {
                *alert = 20; /* bad_record_mac */
                return TW_LAB_ROBOT_ALERT;
            }
            return TW_LAB_ROBOT_CLOSE;
        } else if (r[0] == 22 && rl >= 6 && r[5] == 16) {
            size_t hl = ((size_t)r[6] << 16) | ((size_t)r[7] << 8) | r[8];
            size_t ctl = ((size_t)r[9] << 8) | r[10];

            if (hl + 4 > rl || ctl + 2 != hl)
                return TW_LAB_ROBOT_CLOSE;
            switch (rb_decrypt(key, r + 11, ctl, version)) {
            case RB_GOOD:
                good = 1;
                break;
            case RB_BAD_PREFIX:
                *alert = 40; /* handshake_failure */
                return TW_LAB_ROBOT_ALERT;
            case RB_BAD_BODY:
                return TW_LAB_ROBOT_CLOSE;
            }
        } else if (r[0] == 22 && rl >= 1 && r[5] == 1) {
            /* The ClientHello, still in the stream (it was only peeked). */
        } else {
            return TW_LAB_ROBOT_CLOSE;
        }
        off += 5 + rl;
    }
    return TW_LAB_ROBOT_MORE;
}
