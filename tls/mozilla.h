/*
 * mozilla.h - Mozilla Server Side TLS compliance (modern, intermediate,
 * old), as a pure function.
 *
 * The scanner describes a graded endpoint with the same enumeration the
 * SSL Labs grade receives (struct tw_grade_input: protocols, accepted suites
 * per protocol, DHE sizes, named groups, trust and name verdicts, HSTS,
 * vulnerability flags) plus what the grade does not need: the signature
 * algorithm, EC curve and lifespan of every served leaf, whether the server
 * enforces its suite order and whether it staples OCSP.
 * tw_mozilla_evaluate() judges that against each profile with the checks
 * MZ1-MZ16 of grading.md §3.3 and returns, per profile, pass or fail with
 * every failed check and every warning named by a stable code (the Mozilla
 * JSON field the check reads: "tls_versions", "ciphers", ...).
 *
 * Guideline versions: modern and intermediate follow 6.0 (= 5.8: the
 * intermediate suites are the six ECDHE AEAD suites, no DHE); old, which
 * 6.0 removed, follows 5.8 (the 5.7 list without DHE, 21 suites, DH 2048).
 * tw_mozilla_guideline() names the version per profile, for the record.
 *
 * Checks that only warn (never fail a profile): certificate_curves (MZ7,
 * as SSLyze), tls_curves (MZ10, as SSLyze), ocsp_staple (MZ12: optional in
 * SSLyze, and most public CAs have stopped OCSP), the recommended 90-day
 * lifespan (MZ13) and server_preferred_order (MZ14, informational).
 *
 * Pure (STYLE G6): no I/O, no clock, no allocation, no mutable globals.
 * Safe from any thread.  The input is borrowed; the output holds no
 * pointers.
 */
#ifndef TW_TLS_MOZILLA_H
#define TW_TLS_MOZILLA_H

#include <stddef.h>
#include <stdint.h>

#include "tls/grade.h"

enum tw_mozilla_profile {
    TW_MOZILLA_MODERN = 0,
    TW_MOZILLA_INTERMEDIATE,
    TW_MOZILLA_OLD,
    TW_MOZILLA__COUNT
};

/* The checks, one bit each in tw_mozilla_verdict.failed / .warned. */
enum tw_mozilla_check {
    TW_MZ_TLS_VERSIONS = 0,  /* MZ1 */
    TW_MZ_CIPHERSUITES,      /* MZ2: TLS 1.3 suites */
    TW_MZ_CIPHERS,           /* MZ3: TLS <= 1.2 suites */
    TW_MZ_CERT_TYPES,        /* MZ4 */
    TW_MZ_CERT_SIGNATURES,   /* MZ5 */
    TW_MZ_RSA_KEY_SIZE,      /* MZ6 */
    TW_MZ_CERT_CURVES,       /* MZ7 (warning) */
    TW_MZ_ECDH_PARAM_SIZE,   /* MZ8 */
    TW_MZ_DH_PARAM_SIZE,     /* MZ9 */
    TW_MZ_TLS_CURVES,        /* MZ10 (warning) */
    TW_MZ_HSTS_MIN_AGE,      /* MZ11 */
    TW_MZ_OCSP_STAPLE,       /* MZ12 (warning) */
    TW_MZ_MAX_CERT_LIFESPAN, /* MZ13 */
    TW_MZ_REC_CERT_LIFESPAN, /* MZ13 (warning) */
    TW_MZ_SERVER_PREF_ORDER, /* MZ14 (warning) */
    TW_MZ_CERT_TRUST,        /* MZ15 */
    TW_MZ_VULNERABILITIES,   /* MZ16 */
    TW_MZ__COUNT
};
#define TW_MZ_BIT(c) (1u << (unsigned)(c))

/* What Mozilla's certificate_signatures distinguishes of a leaf signature. */
enum tw_mozilla_sig {
    TW_MZ_SIG_UNKNOWN = 0, /* not known: MZ5 cannot pass on this leaf */
    TW_MZ_SIG_RSA_PKCS1,   /* sha*WithRSAEncryption (hash in tw_grade_cert.sig) */
    TW_MZ_SIG_RSA_PSS,     /* RSASSA-PSS: in no profile's list */
    TW_MZ_SIG_ECDSA,       /* ecdsa-with-SHA* */
    TW_MZ_SIG_OTHER        /* DSA, Ed25519, ... */
};

/* What the grade's certificate facts lack, one per tw_grade_input.certs[]. */
struct tw_mozilla_cert {
    enum tw_mozilla_sig sig_kind; /* with tw_grade_cert.sig (the hash) */
    uint16_t curve;               /* EC leaf: IANA group of its curve (23 P-256,
                                     24 P-384); 0 = other or unknown */
    int64_t lifespan_days;        /* notAfter - notBefore in whole days; -1 unknown */
};

struct tw_mozilla_input {
    const struct tw_grade_input *grade;               /* the enumeration; borrowed */
    struct tw_mozilla_cert certs[TW_GRADE_CERTS_MAX]; /* parallel to grade->certs */
    unsigned server_preference;                       /* TW_PROTO_BIT of each protocol whose server
                                                         enforces its order */
    int ocsp_stapled; /* 1 stapled, 0 not, -1 not known (not judged) */
};

struct tw_mozilla_verdict {
    int pass;        /* 1: no check failed */
    unsigned failed; /* TW_MZ_BIT() of each failed check */
    unsigned warned; /* TW_MZ_BIT() of each warning */
};

struct tw_mozilla_output {
    struct tw_mozilla_verdict profile[TW_MOZILLA__COUNT];
    int best; /* the strictest profile passed (enum tw_mozilla_profile), -1 for none */
};

/* Judge in against every profile.  Returns 0, or -1 (out zeroed, best -1)
 * when in, in->grade or out is NULL. */
int tw_mozilla_evaluate(const struct tw_mozilla_input *in, struct tw_mozilla_output *out);

/* "modern", "intermediate", "old"; NULL out of range.  Static. */
const char *tw_mozilla_profile_name(enum tw_mozilla_profile p);
/* The profile named name (exact, lower case), or -1. */
int tw_mozilla_profile_from_name(const char *name);
/* The guideline version a profile is judged by: "6.0", or "5.8" for old. */
const char *tw_mozilla_guideline(enum tw_mozilla_profile p);
/* The stable code of a check ("tls_versions", "ciphers", ...); NULL out of range. */
const char *tw_mozilla_check_name(enum tw_mozilla_check c);
/* The codes of the bits in mask, comma-separated in check order, into buf
 * (cut at a whole code when short; "" for 0).  Returns the length written. */
size_t tw_mozilla_format_checks(unsigned mask, char *buf, size_t len);

#endif /* TW_TLS_MOZILLA_H */
