/*
 * suites.h - the protocol facts about cipher suites and named groups: ONE
 * table of TLS cipher suites (IANA code, name, key exchange, authentication,
 * bulk cipher, bits and flags), the SSLv2 cipher specs, the TLS named groups
 * (name, RSA-equivalent strength), and the lists a ClientHello offers.
 *
 * Every other module asks this one: grading (tls/grade.c) scores what the
 * table says, the hello codec (scanner/hello.c) offers and decodes what it
 * lists, the store (store/store.c) writes its names and flags into the
 * `suites` table.  A code that is not here is unknown everywhere.
 *
 * The suite rows are written from the IANA TLS Cipher Suites registry.  A
 * few rows are not registered but still answered by old servers; they are
 * marked is_unofficial and listed in tls/README.md.  The two signalling
 * values (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV) have rows
 * marked is_scsv so that they have a name; they are no suites: grading
 * ignores them and no offered list holds them.  GREASE values have no row.
 *
 * Pure (STYLE G6): const tables only, no I/O, no allocation, no mutable
 * globals.  Safe from any thread.  Every returned pointer is to const static
 * data that lives as long as the program; the caller frees nothing.
 */
#ifndef TW_TLS_SUITES_H
#define TW_TLS_SUITES_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions as they appear on the wire: the record and hello
 * version fields, and the protocol of a grading suite.  SSLv2 has no such
 * field; its value 0x0002 is the version its CLIENT-HELLO names. */
#define TW_VERSION_SSL2 0x0002
#define TW_VERSION_SSL3 0x0300
#define TW_VERSION_TLS10 0x0301
#define TW_VERSION_TLS11 0x0302
#define TW_VERSION_TLS12 0x0303
#define TW_VERSION_TLS13 0x0304

/* A wire version as results.tls_version and the grading tables spell it
 * ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"); NULL for
 * any other value.  Static string. */
const char *tw_suites_version_name(uint16_t version);

/* Signalling values that callers name (RFC 5746, RFC 7507). */
#define TW_SUITE_EMPTY_RENEGOTIATION_INFO_SCSV 0x00ff
#define TW_SUITE_FALLBACK_SCSV 0x5600

/* Named groups that callers name (IANA TLS Supported Groups). */
#define TW_GROUP_SECP256R1 23
#define TW_GROUP_SECP384R1 24
#define TW_GROUP_SECP521R1 25
#define TW_GROUP_X25519 29
#define TW_GROUP_X448 30
#define TW_GROUP_FFDHE2048 256

/* ---- cipher suites ---- */

/*
 * How a suite exchanges keys.  Anonymous suites (DH_anon, ECDH_anon) carry
 * their ephemeral exchange here (DHE, ECDHE) and TW_AUTH_ANON as their
 * authentication, so the kind of ServerKeyExchange follows from kx alone.
 * Values are stored by name (tw_suites_kx_name): append, never reorder.
 */
enum tw_kx {
    TW_KX_NULL = 0, /* TLS_NULL_WITH_NULL_NULL and the SCSV rows */
    TW_KX_RSA,      /* RSA key transport, RSA_EXPORT (no forward secrecy) */
    TW_KX_DH,       /* static DH from the certificate */
    TW_KX_ECDH,     /* static ECDH from the certificate */
    TW_KX_DHE,      /* ephemeral finite-field DH, also DH_anon */
    TW_KX_ECDHE,    /* ephemeral ECDH, also ECDH_anon */
    TW_KX_PSK,
    TW_KX_RSA_PSK,
    TW_KX_DHE_PSK,
    TW_KX_ECDHE_PSK,
    TW_KX_SRP,
    TW_KX_KRB5,
    TW_KX_TLS13,  /* TLS 1.3: always (EC)DHE or PSK-(EC)DHE, negotiated apart */
    TW_KX_ECCPWD, /* RFC 8492 password-authenticated ephemeral ECC */
    TW_KX_GOST    /* RFC 9189 VKO GOST R 34.10-2012 with the certificate key */
};

enum tw_auth {
    TW_AUTH_NULL = 0,
    TW_AUTH_RSA,
    TW_AUTH_DSS,
    TW_AUTH_ECDSA,
    TW_AUTH_ANON, /* no authentication: DH_anon / ECDH_anon */
    TW_AUTH_PSK,
    TW_AUTH_SRP,
    TW_AUTH_KRB5,
    TW_AUTH_TLS13, /* TLS 1.3: from the certificate, not the suite */
    TW_AUTH_PWD,   /* a password (ECCPWD) */
    TW_AUTH_GOST   /* a GOST R 34.10-2012 certificate */
};

enum tw_enc {
    TW_ENC_NULL = 0,
    TW_ENC_RC4_40,
    TW_ENC_RC4_56,
    TW_ENC_RC4_128,
    TW_ENC_RC2_40,
    TW_ENC_RC2_56,
    TW_ENC_DES40,
    TW_ENC_DES,
    TW_ENC_3DES,
    TW_ENC_IDEA,
    TW_ENC_SEED,
    TW_ENC_AES128,
    TW_ENC_AES256,
    TW_ENC_AES128_GCM,
    TW_ENC_AES256_GCM,
    TW_ENC_AES128_CCM,
    TW_ENC_AES256_CCM,
    TW_ENC_AES128_CCM8,
    TW_ENC_AES256_CCM8,
    TW_ENC_CAMELLIA128,
    TW_ENC_CAMELLIA256,
    TW_ENC_CAMELLIA128_GCM,
    TW_ENC_CAMELLIA256_GCM,
    TW_ENC_ARIA128,
    TW_ENC_ARIA256,
    TW_ENC_ARIA128_GCM,
    TW_ENC_ARIA256_GCM,
    TW_ENC_CHACHA20_POLY1305,
    TW_ENC_SM4_GCM,
    TW_ENC_SM4_CCM,
    TW_ENC_AEGIS128L,
    TW_ENC_AEGIS256,
    TW_ENC_KUZNYECHIK_CTR, /* GOST R 34.12-2015 128-bit block, CTR + OMAC */
    TW_ENC_MAGMA_CTR,      /* GOST R 34.12-2015 64-bit block, CTR + OMAC */
    TW_ENC_GOST28147_CNT,  /* GOST 28147-89 64-bit block, CNT + IMIT */
    TW_ENC_KUZNYECHIK_MGM, /* Kuznyechik in MGM (AEAD, TLS 1.3) */
    TW_ENC_MAGMA_MGM       /* Magma in MGM (AEAD, TLS 1.3) */
};

/* One row of the table.  The is_* bytes are 0 or 1. */
struct tw_suite {
    uint16_t code;    /* IANA value, e.g. 0xC02F */
    const char *name; /* IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    enum tw_kx kx;
    enum tw_auth auth;
    enum tw_enc enc;
    uint8_t is_export; /* EXPORT / EXPORT1024 suite (key exchange limited) */
    uint16_t bits;     /* bulk cipher key bits for scoring (3DES = 168, grading.md §1.5) */
    uint8_t is_null;   /* no encryption (bits == 0) */
    uint8_t is_rc4;
    uint8_t is_64bit_block; /* 3DES, DES, IDEA, RC2, Magma, GOST 28147 (SWEET32 class) */
    uint8_t is_cbc;
    uint8_t is_aead;       /* GCM, CCM, CCM_8, ChaCha20-Poly1305, AEGIS, MGM */
    uint8_t is_fs;         /* ephemeral key exchange, authenticated (not anon); all TLS 1.3 */
    uint8_t is_anon;       /* no server authentication */
    uint8_t is_tls13;      /* a TLS 1.3 suite (0x13xx, SM4, integrity-only, GOST MGM) */
    uint8_t is_psk;        /* a pre-shared key takes part in the key exchange */
    uint8_t is_scsv;       /* a signalling value, not a suite */
    uint8_t is_unofficial; /* not in the IANA registry; met on old servers */
};

/* The row for code, or NULL when the table has none (GREASE, unassigned,
 * exotic codes).  SCSV rows are returned: check is_scsv before treating the
 * row as a suite.  O(log n). */
const struct tw_suite *tw_suites_find(uint16_t code);

/* Number of rows and the i-th one in code order (NULL for i >= count). */
size_t tw_suites_count(void);
const struct tw_suite *tw_suites_at(size_t i);

/*
 * The suites a TLS 1.0-1.2 (or SSLv3) ClientHello offers to enumerate a
 * server: every row except TLS_NULL_WITH_NULL_NULL, the TLS 1.3 suites and
 * the SCSVs, in code order.  Writes the first cap codes into out (out may be
 * NULL when cap is 0) and returns how many there are in all.
 */
size_t tw_suites_offer_legacy(uint16_t *out, size_t cap);
/* The same for a TLS 1.3 ClientHello: every row with is_tls13, in code order. */
size_t tw_suites_offer_tls13(uint16_t *out, size_t cap);

/* "RSA", "ECDHE", "TLS13", ... (the spelling stored in suites.kx), or NULL. */
const char *tw_suites_kx_name(enum tw_kx kx);

/* ---- SSLv2 cipher specs (3-byte SSL_CK_* values) ---- */

struct tw_sslv2_spec {
    uint32_t spec;    /* e.g. 0x0700C0 */
    const char *name; /* e.g. "SSL_CK_DES_192_EDE3_CBC_WITH_MD5" */
    uint16_t bits;    /* effective key bits (EXPORT40: 40, 3DES: 168) */
    uint8_t is_export;
};

/* The spec's row, or NULL. */
const struct tw_sslv2_spec *tw_suites_sslv2_find(uint32_t spec);
/* The specs an SSLv2 ClientHello offers, in table order; same contract as
 * tw_suites_offer_legacy. */
size_t tw_suites_offer_sslv2(uint32_t *out, size_t cap);

/* ---- named groups ---- */

enum tw_group_kind {
    TW_GROUP_KIND_EC = 0, /* elliptic curve (incl. x25519, x448) */
    TW_GROUP_KIND_FFDHE,  /* RFC 7919 finite-field group */
    TW_GROUP_KIND_HYBRID, /* classical + ML-KEM (or Kyber draft) */
    TW_GROUP_KIND_MLKEM   /* pure ML-KEM */
};

struct tw_group {
    uint16_t code;    /* IANA value, e.g. 29 */
    const char *name; /* IANA name, e.g. "x25519" */
    enum tw_group_kind kind;
    int rsa_equiv; /* strength in RSA bits for the K score (grading.md §1.4) */
};

/* The row for an IANA named group, or NULL (GREASE, unassigned, GOST
 * curves, the arbitrary explicit curves 0xFF01/0xFF02). */
const struct tw_group *tw_suites_group_find(uint16_t code);
size_t tw_suites_group_count(void);
const struct tw_group *tw_suites_group_at(size_t i);

/* The supported_groups a ClientHello offers when the caller names none:
 * every classical group a server might insist on, best first.  Returns the
 * list (static) and sets *n. */
const uint16_t *tw_suites_offer_groups(size_t *n);

#endif /* TW_TLS_SUITES_H */
