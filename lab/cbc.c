/*
 * cbc.c - the lab's scripted CBC padding oracles (issue 14,
 * TW_LAB_F_CBC_ORACLE): after a real OpenSSL TLS 1.2 handshake on an
 * AES-CBC suite without encrypt_then_mac, the script takes over the record
 * layer with the session's keys (tls/cbcrec.h) and checks each record of
 * the client the way one vulnerable stack did:
 *
 *   POODLE_TLS    only the padding length byte is checked, never the other
 *                 padding bytes (POODLE against TLS, CVE-2014-8730): a
 *                 record with a valid MAC and spoiled padding is accepted;
 *   ZOMBIE        padding is checked, but a record with bad padding whose
 *                 MAC is still valid closes the connection without an alert
 *                 (the MAC's validity shows through bad padding);
 *   GOLDENDOODLE  bad padding gets decryption_failed, a bad MAC behind good
 *                 padding bad_record_mac (the padding's validity shows);
 *   ZERO_LEN      a record with no data (only a MAC and valid padding) and
 *                 a bad MAC closes the connection without an alert, as
 *                 OpenSSL 1.0.2's CVE-2019-1559 did; other bad records get
 *                 bad_record_mac.
 *
 * A correct record gets the lab's short HTTP answer and a close_notify;
 * every other bad record gets bad_record_mac, as a correct server answers.
 * Bytes in, bytes out (tw_lab_cbc_feed); the caller owns the socket.  Every
 * length of the client's input is checked.  One object per connection,
 * used by one thread.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/xalloc.h"
#include "lab/lab_int.h"
#include "tls/cbcrec.h"

#define CB_IN_MAX (5 + 16384 + 2048) /* one whole record of the client */

struct tw_lab_cbc {
    enum tw_lab_cbc_oracle variant;
    struct tw_cbcrec_keys keys;
    uint8_t in[CB_IN_MAX];
    size_t n_in;
    uint8_t plain[CB_IN_MAX];
};

struct tw_lab_cbc *
tw_lab_cbc_new(SSL *ssl, enum tw_lab_cbc_oracle variant)
{
    struct tw_lab_cbc *s = tw_xcalloc(1, sizeof(*s));

    s->variant = variant;
    if (tw_cbcrec_from_ssl(ssl, &s->keys) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

void
tw_lab_cbc_free(struct tw_lab_cbc *s)
{
    if (s == NULL)
        return;
    tw_cbcrec_wipe(&s->keys);
    OPENSSL_cleanse(s->plain, sizeof(s->plain));
    free(s);
}

/* One record of ours (type, m[len]) appended to out[cap] at *off. */
static int
cb_send(struct tw_lab_cbc *s, uint8_t type, const uint8_t *m, size_t len, uint8_t *out, size_t cap,
        size_t *off)
{
    uint8_t iv[TW_CBCREC_BLOCK];
    size_t n;

    if (RAND_bytes(iv, sizeof(iv)) != 1)
        return -1;
    n = tw_cbcrec_seal(&s->keys, &s->keys.server, type, m, len, TW_CBCREC_GOOD, iv, out + *off,
                       cap - *off);
    if (n == 0)
        return -1;
    *off += n;
    return 0;
}

/* How the variant answers a record that opened as o: 'a' accept, 'c' close
 * without an alert, else the alert description. */
static int
cb_verdict(enum tw_lab_cbc_oracle v, const struct tw_cbcrec_opened *o)
{
    switch (v) {
    case TW_LAB_CBC_POODLE_TLS:
        if (o->length_ok && o->mac_ok)
            return 'a';
        break;
    case TW_LAB_CBC_ZOMBIE:
        if (o->length_ok && !o->padding_ok && o->mac_ok)
            return 'c';
        break;
    case TW_LAB_CBC_GOLDENDOODLE:
        if (!o->padding_ok)
            return 21; /* decryption_failed */
        break;
    case TW_LAB_CBC_ZERO_LEN:
        if (o->padding_ok && !o->mac_ok && o->data_len == 0)
            return 'c';
        break;
    case TW_LAB_CBC_NONE:
        break;
    }
    return o->padding_ok && o->mac_ok ? 'a' : 20; /* bad_record_mac */
}

int
tw_lab_cbc_feed(struct tw_lab_cbc *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                size_t *out_len, const char *answer)
{
    struct tw_cbcrec_opened o;
    size_t rl;
    int v;

    *out_len = 0;
    if (len > sizeof(s->in) - s->n_in)
        return -1;
    memcpy(s->in + s->n_in, in, len);
    s->n_in += len;
    if (s->n_in < 5)
        return 0;
    rl = 5 + (((size_t)s->in[3] << 8) | s->in[4]);
    if (rl > sizeof(s->in))
        return -1;
    if (s->n_in < rl)
        return 0;
    if (s->in[0] != 23 ||
        tw_cbcrec_open(&s->keys, &s->keys.client, s->in, rl, s->plain, sizeof(s->plain), &o) < 0) {
        uint8_t a[2] = {2, 10}; /* unexpected_message: not what the script takes */

        return cb_send(s, 21, a, 2, out, cap, out_len) < 0 ? -1 : 1;
    }
    v = cb_verdict(s->variant, &o);
    if (v == 'c')
        return -1;
    if (v == 'a') {
        static const uint8_t close_notify[2] = {1, 0};

        if (cb_send(s, 23, (const uint8_t *)answer, strlen(answer), out, cap, out_len) < 0 ||
            cb_send(s, 21, close_notify, 2, out, cap, out_len) < 0)
            return -1;
        return 1;
    }
    {
        uint8_t a[2] = {2, (uint8_t)v};

        return cb_send(s, 21, a, 2, out, cap, out_len) < 0 ? -1 : 1;
    }
}
