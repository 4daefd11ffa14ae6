/*
 * cbcrec.h - TLS 1.1/1.2 CBC records sealed and opened by hand, for the CBC
 * padding-oracle probes of issue 14 (POODLE against TLS, Zombie POODLE,
 * GOLDENDOODLE, the 0-length padding oracle CVE-2019-1559).
 *
 * A probe completes a TLS 1.1 or 1.2 handshake with OpenSSL on an AES-CBC
 * suite (MAC-then-encrypt: encrypt_then_mac is turned off), then takes over
 * the record layer: the key block is derived again from the session's master
 * secret and both randoms (RFC 5246 6.3), and records are written with the
 * next sequence number (1: the Finished was 0) and an explicit IV.  The
 * record can be correct or malformed in one chosen way (enum
 * tw_cbcrec_form); opening a record tells each check apart (padding length,
 * padding bytes, MAC), which the lab's scripted vulnerable servers use to
 * answer in the vulnerable way of each oracle, and tw_cbcrec_reaction turns
 * a server's answer into a comparable reaction.
 *
 * Pure (STYLE G6): no sockets, no clock; the caller passes the IV.  Every
 * length of the hostile input is checked before it is read.  Any thread; a
 * struct tw_cbcrec_keys holds secrets: wipe it with tw_cbcrec_wipe.
 */
#ifndef TW_TLS_CBCREC_H
#define TW_TLS_CBCREC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TW_CBCREC_MAC_MAX 48 /* HMAC-SHA384 */
#define TW_CBCREC_KEY_MAX 32 /* AES-256 */
#define TW_CBCREC_BLOCK 16
#define TW_CBCREC_REC_MAX 1024 /* the largest record a probe writes */
/* The suites a probe offers: AES-CBC with HMAC-SHA1/256/384, any key exchange. */
#define TW_CBCREC_CIPHERS "AES+SHA1:AES+SHA256:AES+SHA384:!aNULL:!eNULL:!PSK:!SRP:!DSS"

/* How a sealed record is malformed. */
enum tw_cbcrec_form {
    TW_CBCREC_GOOD = 0, /* correct */
    TW_CBCREC_BAD_PAD,  /* valid MAC; the padding length byte fits, the other padding bytes do not
                           equal it */
    TW_CBCREC_BAD_MAC,  /* valid padding; the MAC's last byte flipped */
    TW_CBCREC_BAD_BOTH, /* BAD_PAD's padding and BAD_MAC's MAC */
    TW_CBCREC_ZERO_LEN, /* no data at all: MAC (flipped) and valid padding fill the record */
};

/* One direction's keys and sequence number. */
struct tw_cbcrec_dir {
    uint8_t mac_key[TW_CBCREC_MAC_MAX];
    uint8_t enc_key[TW_CBCREC_KEY_MAX];
    uint64_t seq;
};

struct tw_cbcrec_keys {
    uint16_t version; /* 0x0302 (TLS 1.1) or 0x0303 (TLS 1.2) */
    char mac_md[8];   /* "SHA1", "SHA256", "SHA384" */
    size_t mac_len, key_len;
    struct tw_cbcrec_dir client, server;
};

/*
 * The key block of RFC 5246 6.3 (TLS 1.1: RFC 4346, PRF over MD5 and SHA-1;
 * TLS 1.2: prf_md), split into the MAC and encryption keys of both
 * directions; both sequence numbers start at 1 (after the Finished).
 * 0, or -1 for an unsupported version, digest or key length.
 */
int tw_cbcrec_derive(struct tw_cbcrec_keys *k, uint16_t version, const char *mac_md,
                     const char *prf_md, size_t key_len, const uint8_t *ms, size_t ms_len,
                     const uint8_t client_random[32], const uint8_t server_random[32]);

/* The same from a TLS 1.1/1.2 connection whose handshake just completed on
 * an AES-CBC suite without encrypt_then_mac (either side).  0 or -1. */
int tw_cbcrec_from_ssl(SSL *ssl, struct tw_cbcrec_keys *k);

void tw_cbcrec_wipe(struct tw_cbcrec_keys *k);

/*
 * Seal m[len] as one record of type under d (d->seq used, then incremented),
 * malformed as form says, with the explicit IV iv into out[cap].  Returns the
 * record's length (header included), or 0 when it does not fit.
 */
size_t tw_cbcrec_seal(const struct tw_cbcrec_keys *k, struct tw_cbcrec_dir *d, uint8_t type,
                      const uint8_t *m, size_t len, enum tw_cbcrec_form form,
                      const uint8_t iv[TW_CBCREC_BLOCK], uint8_t *out, size_t cap);

/* What opening one record found. */
struct tw_cbcrec_opened {
    int length_ok;   /* the padding length byte fits in the record beside a MAC */
    int padding_ok;  /* ... and every padding byte equals it */
    int mac_ok;      /* the MAC over the data the length byte leaves is right */
    size_t data_len; /* that data's length (0 when !length_ok) */
};

/*
 * Open the whole record rec[len] (header included) under d (d->seq used,
 * then incremented): the data goes to plain[cap] (cap >= len).  0 with *o
 * filled, or -1 when it is no CBC record at all (not a whole number of
 * blocks, shorter than IV + one block, too long).
 */
int tw_cbcrec_open(const struct tw_cbcrec_keys *k, struct tw_cbcrec_dir *d, const uint8_t *rec,
                   size_t len, uint8_t *plain, size_t cap, struct tw_cbcrec_opened *o);

/* How a server answered one probe record. */
enum tw_cbcrec_react {
    TW_CBCREC_R_NONE = 0, /* no answer read (the probe did not run) */
    TW_CBCREC_R_DATA,     /* an application data record: the record was accepted */
    TW_CBCREC_R_ALERT,    /* an alert (desc: its description, -1 when it did not open) */
    TW_CBCREC_R_CLOSED,   /* EOF or reset without an alert */
    TW_CBCREC_R_SILENT,   /* nothing until the deadline */
    TW_CBCREC_R_OTHER,    /* another record type, or bytes that are no record */
};

struct tw_cbcrec_reaction {
    enum tw_cbcrec_react kind;
    int desc; /* TW_CBCREC_R_ALERT: the alert description, -1 unknown */
};

/*
 * The reaction in the server's bytes p[len] after the probe record (k's
 * server direction opens an alert; k may be NULL); timed_out: the read
 * ended at the deadline.  Only the first record counts.
 */
void tw_cbcrec_reaction(const struct tw_cbcrec_keys *k, const uint8_t *p, size_t len, int timed_out,
                        struct tw_cbcrec_reaction *r);
/* 1 when two reactions are the same (kind, and the description of alerts). */
int tw_cbcrec_same(const struct tw_cbcrec_reaction *a, const struct tw_cbcrec_reaction *b);
/* A short text: "alert 20 (bad_record_mac)", "data", "closed", ... into out[cap]. */
void tw_cbcrec_reaction_text(const struct tw_cbcrec_reaction *r, char *out, size_t cap);
/* A conn complete(): 1 once a whole record is in p[0, len). */
int tw_cbcrec_answer_complete(const uint8_t *p, size_t len);

#endif /* TW_TLS_CBCREC_H */
