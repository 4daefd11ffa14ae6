/*
 * robot.h - the ROBOT probe's wire pieces and verdict (issue 14): a
 * Bleichenbacher padding oracle (Return Of Bleichenbacher's Oracle Threat).
 *
 * The probe runs only where the enumeration found an RSA key-exchange suite
 * on TLS 1.0-1.2, and the leaf of such a flight gave an RSA public key.  Each
 * of its TW_ROBOT_N_VARIANTS connections writes, in one go, a ClientHello
 * offering only those RSA suites, then a ClientKeyExchange whose
 * EncryptedPreMasterSecret is one of the variants below (the server's key,
 * raw RSA on a block we padded ourselves), a ChangeCipherSpec and a garbage
 * Finished record.  What the server does then (an alert and its description,
 * a FIN, a reset, or silence until the deadline) is its reaction.  A server
 * without an oracle reacts the same way to all five (OpenSSL: bad_record_mac
 * from the Finished, the premaster having been replaced by a random one); a
 * server whose reaction depends on the padding leaks it: vulnerable.
 *
 *   TW_ROBOT_V_GOOD        00 02 | nonzero padding | 00 | version | 46 bytes
 *   TW_ROBOT_V_BAD_PREFIX  41 17 | ... (the first two bytes wrong)
 *   TW_ROBOT_V_ZERO_EARLY  00 02 | padding with its 00 in the middle (the
 *                          message is not 48 bytes long)
 *   TW_ROBOT_V_NO_ZERO     00 02 | padding without any 00 separator
 *   TW_ROBOT_V_BAD_VERSION 00 02 | padding | 00 | 02 02 | 46 bytes (the
 *                          premaster's version is not the hello's)
 *
 * Pure (STYLE G6): no sockets, no clock, no state.  OpenSSL only for the raw
 * RSA encryption with the server's public key.  Nothing the server sent is
 * kept: the reaction is a kind and an alert code.  Any thread.
 */
#ifndef TW_SCANNER_ROBOT_H
#define TW_SCANNER_ROBOT_H

#include <stddef.h>
#include <stdint.h>

#define TW_ROBOT_N_VARIANTS 5
#define TW_ROBOT_MAX_KEY_BYTES 1024 /* RSA moduli up to 8192 bits */
#define TW_ROBOT_SPKI_MAX 1200      /* DER SubjectPublicKeyInfo of such a key */
#define TW_ROBOT_FINISHED_LEN 40    /* bytes of the garbage Finished record's body */
/* Bytes tw_robot_records() writes at most: CKE record, CCS, Finished. */
#define TW_ROBOT_RECORDS_MAX (5 + 4 + 2 + TW_ROBOT_MAX_KEY_BYTES + 6 + 5 + TW_ROBOT_FINISHED_LEN)

enum tw_robot_variant {
    TW_ROBOT_V_GOOD = 0,
    TW_ROBOT_V_BAD_PREFIX,
    TW_ROBOT_V_ZERO_EARLY,
    TW_ROBOT_V_NO_ZERO,
    TW_ROBOT_V_BAD_VERSION,
};

/*
 * The padded block of `variant` for a k-byte modulus (k >= 64, at most
 * TW_ROBOT_MAX_KEY_BYTES) and the hello's version, into out[k].  Padding and
 * premaster bytes come from rnd[rnd_len] (rnd_len >= 1), cycled, never 0.
 * Returns 0, or -1 for a bad k or variant.
 */
int tw_robot_block(enum tw_robot_variant variant, size_t k, uint16_t version, const uint8_t *rnd,
                   size_t rnd_len, uint8_t *out);

/*
 * The records that follow the ClientHello: a ClientKeyExchange carrying the
 * variant's block encrypted with raw RSA under the public key spki (DER
 * SubjectPublicKeyInfo), a ChangeCipherSpec and a Finished record of
 * TW_ROBOT_FINISHED_LEN bytes from rnd.  Record versions are `version`.
 * Returns the bytes written to out[cap], or 0 when the key is not RSA, too
 * big or small, or cap is too small.
 */
size_t tw_robot_records(const uint8_t *spki, size_t spki_len, enum tw_robot_variant variant,
                        uint16_t version, const uint8_t *rnd, size_t rnd_len, uint8_t *out,
                        size_t cap);

/* How the server reacted to one variant. */
enum tw_robot_kind {
    TW_ROBOT_R_NONE = 0, /* not run, or no usable answer (no verdict) */
    TW_ROBOT_R_ALERT,    /* an alert record after the flight: alert holds it */
    TW_ROBOT_R_EOF,      /* the connection was closed (FIN) without an alert */
    TW_ROBOT_R_RESET,    /* reset (RST) without an alert */
    TW_ROBOT_R_TIMEOUT,  /* nothing until the deadline */
    TW_ROBOT_R_OTHER,    /* other records, or the byte cap, without an alert */
};

struct tw_robot_reaction {
    enum tw_robot_kind kind;
    uint8_t alert; /* TW_ROBOT_R_ALERT: the description */
};

enum tw_robot_result {
    TW_ROBOT_NO_VERDICT = 0, /* a variant had no usable answer */
    TW_ROBOT_SAFE,           /* the same reaction to every variant */
    TW_ROBOT_WEAK,           /* only the well-formed block (or the version) is told apart */
    TW_ROBOT_STRONG,         /* blocks that start 00 02 are told from those that do not */
};

/*
 * The verdict over the reactions r[TW_ROBOT_N_VARIANTS] (indexed by enum
 * tw_robot_variant).  Vulnerable when they are not all the same; a weak
 * oracle when the three malformed blocks (wrong prefix, misplaced 00, no 00)
 * react alike, so only a fully conforming message shows; else strong.  The
 * reactions are written into detail[cap] in our own words.
 */
enum tw_robot_result tw_robot_verdict(const struct tw_robot_reaction *r, char *detail, size_t cap);

#endif /* TW_SCANNER_ROBOT_H */
