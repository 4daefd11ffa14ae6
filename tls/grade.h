/*
 * grade.h - the SSL Labs server rating (criteria 2009r), as a pure function.
 *
 * The scanner describes what its probes found in a struct tw_grade_input
 * (protocols, accepted suites per protocol, DH sizes, named groups, leaf
 * certificates, trust verdict, renegotiation/compression/vulnerability
 * flags, HSTS); tw_grade_compute() turns it into a struct tw_grade_output:
 * the letter, the letter if trust is ignored, the three category scores and
 * every cap or warning that fired with a stable machine-readable code.
 * The rules and the SPEC CHOICEs taken are listed in tls/GRADING.md; the
 * spec is grading.md (SSL Labs guide 2009k + changelog to 2009r).
 *
 * The facts it scores (each suite's bits, key exchange and flags, each named
 * group's strength) come from the one table in tls/suites.h; this module
 * holds only the rules.
 *
 * Pure (STYLE G6): no sockets, no clock, no allocation, no mutable globals;
 * the reason table is const.  Safe to call from any thread.  The
 * input is borrowed; the output holds only pointers to static strings.
 */
#ifndef TW_TLS_GRADE_H
#define TW_TLS_GRADE_H

#include <stddef.h>
#include <stdint.h>

#include "tls/suites.h" /* wire versions: TW_VERSION_* (tw_grade_suite.protocol) */

/* Protocol versions, worst first.  Bit (1 << p) in tw_grade_input.protocols. */
enum tw_proto {
    TW_PROTO_SSL2 = 0,
    TW_PROTO_SSL3,
    TW_PROTO_TLS10,
    TW_PROTO_TLS11,
    TW_PROTO_TLS12,
    TW_PROTO_TLS13,
    TW_PROTO__COUNT
};
#define TW_PROTO_BIT(p) (1u << (unsigned)(p))

/* ---- input ---- */

#define TW_GRADE_SUITES_MAX 512
#define TW_GRADE_DH_MAX 16
#define TW_GRADE_GROUPS_MAX 64
#define TW_GRADE_CERTS_MAX 4
#define TW_GRADE_REASONS_MAX 64

/* One accepted suite on one protocol. */
struct tw_grade_suite {
    uint16_t protocol; /* wire version, TW_VERSION_* */
    uint16_t code;     /* IANA suite id */
};

enum tw_key_type {
    TW_KEY_UNKNOWN = 0,
    TW_KEY_RSA,
    TW_KEY_DSA,
    TW_KEY_EC, /* bits = field size (256 for P-256) */
    TW_KEY_ED25519,
    TW_KEY_ED448,
    TW_KEY_DH /* finite-field DH (static DH certs, DHE groups) */
};

enum tw_sig_alg {
    TW_SIG_UNKNOWN = 0, /* not known: no rule fires */
    TW_SIG_MD2,
    TW_SIG_MD4,
    TW_SIG_MD5,
    TW_SIG_SHA1,
    TW_SIG_SHA224,
    TW_SIG_SHA256,
    TW_SIG_SHA384,
    TW_SIG_SHA512,
    TW_SIG_OTHER_STRONG /* Ed25519, Ed448, RSA-PSS with SHA-2, ... */
};

/* One leaf certificate served for the SNI name (RSA and ECDSA may both be). */
struct tw_grade_cert {
    enum tw_key_type key_type;
    int key_bits;          /* modulus / field bits as OpenSSL reports them */
    uint64_t rsa_exponent; /* RSA public exponent; 0 = unknown (only 1 matters: C31) */
    enum tw_sig_alg sig;   /* leaf signature hash */
    int debian_weak;       /* known Debian OpenSSL weak key (C04) */
};

/* Trust verdict bits (tw_grade_input.trust).  Any bit -> T (C02/C19). */
#define TW_TRUST_SELF_SIGNED 0x0001u
#define TW_TRUST_EXPIRED 0x0002u
#define TW_TRUST_NOT_YET_VALID 0x0004u
#define TW_TRUST_UNTRUSTED 0x0008u        /* unknown CA / other validation error */
#define TW_TRUST_REVOKED 0x0010u          /* OCSP / CRL says revoked (T, § 4.7) */
#define TW_TRUST_CHAIN_INCOMPLETE 0x0020u /* intermediate missing, not completable */
#define TW_TRUST_DISTRUSTED 0x0040u       /* blacklisted / distrusted CA (C36, C40) */

/* Chain completeness as sent by the server. */
enum tw_chain_state {
    TW_CHAIN_COMPLETE = 0,
    TW_CHAIN_INCOMPLETE_COMPLETABLE, /* missing intermediate fetched via AIA: B (C25) */
    /* incomplete and not completable: set TW_TRUST_CHAIN_INCOMPLETE instead */
};

enum tw_hsts_status {
    TW_HSTS_ABSENT = 0,    /* HTTPS, no Strict-Transport-Security header */
    TW_HSTS_PRESENT,       /* valid header, max_age > 0 */
    TW_HSTS_INVALID,       /* unparseable header: warning (C45) */
    TW_HSTS_DISABLED,      /* max-age=0: warning (C45) */
    TW_HSTS_NOT_APPLICABLE /* not an HTTP service (SMTP, IMAP, ...): A is the ceiling */
};

/* §1.8: how C14/C33/C37/C38 are judged. */
enum tw_grade_mode {
    TW_GRADE_STRICT = 0, /* on what is accepted (deterministic; the vectors' mode) */
    TW_GRADE_SIMULATION  /* on what reference-client handshakes negotiated (sim_*) */
};

struct tw_grade_input {
    enum tw_grade_mode mode;
    unsigned protocols; /* TW_PROTO_BIT() set; SSLv2 counts even with no cipher specs */

    struct tw_grade_suite suites[TW_GRADE_SUITES_MAX]; /* accepted suites per protocol */
    size_t n_suites;

    uint16_t dh_bits[TW_GRADE_DH_MAX]; /* finite-field group size of every DHE group seen */
    size_t n_dh;
    uint16_t groups[TW_GRADE_GROUPS_MAX]; /* IANA named groups accepted (ECDHE, TLS 1.3) */
    size_t n_groups;

    struct tw_grade_cert certs[TW_GRADE_CERTS_MAX]; /* leaves served for the SNI name */
    size_t n_certs;

    unsigned trust; /* TW_TRUST_* bits; 0 = trusted */
    enum tw_chain_state chain;
    int name_mismatch; /* leaf does not cover the name (C01 -> M) */

    int compression;           /* TLS compression other than NULL (C08 CRIME) */
    int secure_reneg;          /* RFC 5746 renegotiation_info supported */
    int insecure_client_reneg; /* client-initiated renegotiation without RFC 5746 (C06) */

    /* Vulnerabilities: set only for the "vulnerable (and exploitable)" verdicts. */
    int heartbleed;          /* C17 */
    int ccs_exploitable;     /* C18, API openSslCcs == 3 */
    int poodle_tls;          /* C21, API poodleTls == 2 */
    int drown;               /* C29: this key/host shares its RSA key with an SSLv2 server */
    int robot;               /* C39, weak or strong oracle */
    int ticketbleed;         /* C35 */
    int lucky_minus20;       /* C32, CVE-2016-2107 (API openSSLLuckyMinus20 == 2) */
    int zombie_poodle;       /* C41, exploitable only */
    int goldendoodle;        /* C41, exploitable only */
    int sleeping_poodle;     /* C41, exploitable only */
    int zero_length_padding; /* C41, CVE-2019-1559 exploitable only */

    int is_https; /* HTTP service: HSTS is judged; 0 -> hsts not applicable */
    enum tw_hsts_status hsts;
    int64_t hsts_max_age; /* seconds, for TW_HSTS_PRESENT */
    int hpkp_invalid;     /* C30 (optional): invalid Public-Key-Pins header */

    /* TW_GRADE_SIMULATION only: what the reference clients negotiated. */
    int sim_rc4_tls11plus;   /* an RC4 suite negotiated on TLS 1.1+ (C14) */
    int sim_64bit_tls11plus; /* a 64-bit-block suite negotiated on TLS 1.1+ (C33) */
    int sim_no_fs;           /* a non-FS suite negotiated though the client offered FS (C37) */
    int sim_no_aead;         /* a non-AEAD suite negotiated though the client offered AEAD (C38) */
};

/* ---- output ---- */

/* Best first, so the worse of two letters is the larger value.  T and M are
 * outside the scale; NONE means "not graded". */
enum tw_grade_letter {
    TW_GRADE_A_PLUS = 0,
    TW_GRADE_A,
    TW_GRADE_A_MINUS,
    TW_GRADE_B,
    TW_GRADE_C,
    TW_GRADE_D,
    TW_GRADE_E,
    TW_GRADE_F,
    TW_GRADE_T,
    TW_GRADE_M,
    TW_GRADE_NONE
};

struct tw_grade_reason {
    const char *code; /* stable machine-readable code, e.g. "no_fs" */
    const char *text; /* one-line human explanation (static) */
    char cap[3];      /* the most the rule allows: "F" "C" "B" "A-" "A" "T" "M" */
};

struct tw_grade_output {
    enum tw_grade_letter grade;               /* A+ .. F, T, M */
    enum tw_grade_letter grade_trust_ignored; /* A+ .. F */
    enum tw_grade_letter score_letter;        /* Table 1 letter of the numeric score alone */
    /* Category scores.  P and C are averages of two table values, so they are
     * kept doubled to stay integer: P = p2 / 2, C = c2 / 2.  S = s20 / 20. */
    int p_best, p_worst, p2; /* 0..100, 0..100, 0..200 */
    int k;                   /* 0..100 */
    int c_best, c_worst, c2; /* 0..100, 0..100, 0..200 */
    int s20;                 /* 3*p2 + 6*k + 4*c2, or 0 when a category is 0 */
    int min_cipher_bits, max_cipher_bits;
    int kx_rsa_equiv_min; /* weakest key-exchange component in RSA bits, -1 if none */
    int has_fs, has_aead; /* as judged in strict mode (§1.8) */
    int has_warnings;     /* API hasWarnings */
    int is_exceptional;   /* API isExceptional (A+) */
    enum tw_grade_mode mode;
    const char *criteria;    /* "2009r" */
    size_t n_unknown_suites; /* suites (and SCSVs) not in tls/suites: not scored */
    size_t n_unknown_groups; /* groups not in tls/suites: not scored */
    struct tw_grade_reason reasons[TW_GRADE_REASONS_MAX];
    size_t n_reasons;
};

/*
 * Grade one endpoint.  Returns 0 and fills *out, or -1 (out->grade is
 * TW_GRADE_NONE) when in is not gradable: a count above its bound, a suite
 * protocol that is no wire version, no protocol at all, or TLS/SSLv3
 * accepted with no suite this table knows (nothing to score).
 */
int tw_grade_compute(const struct tw_grade_input *in, struct tw_grade_output *out);

/* "A+", "A", ..., "T", "M"; "" for TW_GRADE_NONE.  Static strings. */
const char *tw_grade_name(enum tw_grade_letter g);
/* Table 1: letter for 20*S (1600 -> A, 1599 -> B, ...). */
enum tw_grade_letter tw_grade_letter(int s20);
/* Score of one protocol (SSL2 0, SSL3 80, TLS1.0 90, TLS1.1 95, TLS1.2/1.3 100). */
int tw_grade_proto_score(enum tw_proto p);
/* 2*P for a TW_PROTO_BIT set: best + worst protocol score; -1 for an empty set. */
int tw_grade_protocol_score(unsigned protocols);
/* Key-exchange table for RSA-equivalent bits: <512 20, <1024 40, <2048 80, <4096 90, 100. */
int tw_grade_key_score(int rsa_equiv_bits);
/* Cipher-strength table: 0 -> 0, <128 -> 20, <256 -> 80, else 100. */
int tw_grade_cipher_score(int bits);
/* RSA-equivalent bits of a key (RSA/DSA/DH: bits; EC: by field size;
 * Ed25519 3072; Ed448 7680).  -1 for TW_KEY_UNKNOWN. */
int tw_grade_rsa_equiv(enum tw_key_type type, int bits);
/* RSA-equivalent bits of an IANA named group (P-256 3072, X25519 3072,
 * ffdhe2048 2048, X25519MLKEM768 3072 ...) from tls/suites.h, or -1 when
 * the group is unknown. */
int tw_grade_group_rsa_equiv(uint16_t group);
/* enum tw_proto of a wire version, or -1. */
int tw_grade_proto_from_version(uint16_t version);

/* The reason codes as "code,code,..." (in firing order) into buf, cut at a
 * whole code when len is short.  Returns the length written. */
size_t tw_grade_format_reasons(const struct tw_grade_output *out, char *buf, size_t len);

/* Helpers for the scanner (pure string mapping). */
/* "sha256WithRSAEncryption", "ecdsa-with-SHA384", "md5WithRSAEncryption", "ED25519"... */
enum tw_sig_alg tw_grade_sig_from_name(const char *sig_alg);
/* "RSA", "EC", "DSA", "ED25519", "ED448", "DH" (case-insensitive). */
enum tw_key_type tw_grade_key_type_from_name(const char *key_type);
/*
 * Parse one Strict-Transport-Security header value (RFC 6797 §6.1): len
 * bytes, need not be NUL-terminated.  Returns TW_HSTS_PRESENT with
 * *max_age set, TW_HSTS_DISABLED for max-age=0, or TW_HSTS_INVALID (no or
 * repeated max-age, a repeated directive, a bad value).  NULL value ->
 * TW_HSTS_ABSENT.  Values above INT64_MAX clamp to INT64_MAX.
 */
enum tw_hsts_status tw_grade_hsts_parse(const char *value, size_t len, int64_t *max_age);

/* ---- grade letters in reports ---- */

/* The letter named name ("A+", "A", ... "T", "M", exactly as tw_grade_name
 * spells it), or TW_GRADE_NONE for NULL, "" and any other string. */
enum tw_grade_letter tw_grade_from_name(const char *name);
/*
 * Reports list and sort letters by severity, best first: A+ A A- B C D E M T
 * F, then TW_GRADE_NONE (not graded).  F is the worst grade (it beats T and
 * M, GRADING.md 1.10), so the order differs from the enum's.  This table is
 * that order; tw_grade_severity(g) is g's index in it (0 for A+, 9 for F,
 * 10 for TW_GRADE_NONE and any value outside the enum).
 */
extern const enum tw_grade_letter tw_grade_by_severity[TW_GRADE_NONE + 1];
int tw_grade_severity(enum tw_grade_letter g);

#endif /* TW_TLS_GRADE_H */
