/*
 * refclients.h - reference clients as data (issue 13, item 1): what real
 * TLS clients offer (protocol versions, cipher suites in order, named
 * groups, signature algorithms, SNI) and what they accept (minimum RSA, DH
 * and EC key sizes, the subject CN as a name, fetching missing
 * intermediates through AIA), each row citing where its facts come from.
 *
 * The simulation (a later module) reads these rows; this module only holds
 * them, names policies over them, and parses a user's extra client from a
 * small text file (format in tls/README.md, example in tls/clients.d/).
 * Suite and group codes are those of tls/suites.[ch]; signature algorithms
 * are the IANA TLS SignatureScheme values, named by this module.
 * Signalling values (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV)
 * and GREASE are left out of every list: they negotiate nothing.
 *
 * Pure (STYLE G6) except tw_refclients_load_file(), which reads one file.
 * The built-in table is const static data; every returned pointer lives as
 * long as the program.  A loaded client lives in the caller's struct
 * tw_refclient_loaded: its pointers point into that struct, so it must not
 * be copied or moved while used.  No allocation anywhere; safe from any
 * thread.
 */
#ifndef TW_TLS_REFCLIENTS_H
#define TW_TLS_REFCLIENTS_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a row is added, removed or changed, so that stored
 * simulation results can say which table judged them. */
#define TW_REFCLIENTS_VERSION 2 /* 2: the session-3 audit (Java static ECDH, Go sigalgs) */

/* Policies a client belongs to (bit mask). */
#define TW_REFCLIENTS_POLICY_MODERN 0x1u /* current browsers + OpenSSL 3 defaults */

struct tw_refclient {
    const char *name;     /* unique, e.g. "Chrome", "Java 8"; matched case-insensitively */
    const char *version;  /* the release the row describes, e.g. "131" */
    uint16_t min_version; /* TW_VERSION_* wire values; min <= max */
    uint16_t max_version;
    const uint16_t *suites; /* IANA codes, the client's order */
    size_t n_suites;
    const uint16_t *groups; /* IANA named groups, the client's order */
    size_t n_groups;
    const uint16_t *sigalgs; /* IANA SignatureScheme values, the client's order */
    size_t n_sigalgs;
    uint8_t sni;         /* sends server_name */
    uint16_t min_rsa;    /* smallest RSA key (bits) it accepts in a certificate */
    uint16_t min_dh;     /* smallest DHE group (bits); 0: it offers no DHE suite */
    uint16_t min_ec;     /* smallest EC key (bits) */
    uint8_t cn_fallback; /* accepts the subject CN when there is no subjectAltName */
    uint8_t aia;         /* fetches missing intermediates through AIA caIssuers */
    uint32_t policies;   /* TW_REFCLIENTS_POLICY_* bits */
    const char *source;  /* where the facts come from */
    const char *note;    /* what is uncertain, or "" */
};

/* Number of built-in rows, and the i-th (NULL for i >= count). */
size_t tw_refclients_count(void);
const struct tw_refclient *tw_refclients_at(size_t i);
/* The built-in row named name (ASCII case-insensitive), or NULL. */
const struct tw_refclient *tw_refclients_find(const char *name);

/* Parse a policy name: "modern" sets *mask to TW_REFCLIENTS_POLICY_MODERN,
 * "all" to 0 (meaning every row).  0, or -1 for an unknown name. */
int tw_refclients_policy_parse(const char *name, uint32_t *mask);
/* 1 when the client belongs to the policy mask (mask 0: every client). */
int tw_refclients_in_policy(const struct tw_refclient *c, uint32_t mask);

/* Named policies (documented in tls/README.md): "browsers", "mobile",
 * "java", "libraries", "legacy".  tw_refclients_named_count() of them;
 * the i-th name and one-line description (NULL for i out of range). */
size_t tw_refclients_named_count(void);
const char *tw_refclients_named_name(size_t i);
const char *tw_refclients_named_doc(size_t i);
/* 1 when the built-in client c belongs to the named policy, 0 when not,
 * -1 for an unknown policy name. */
int tw_refclients_named_has(const char *policy, const struct tw_refclient *c);

/* IANA SignatureScheme names ("ecdsa_secp256r1_sha256", ...). */
const char *tw_refclients_sigalg_name(uint16_t code);
/* 0 and *code for a known name, -1 otherwise. */
int tw_refclients_sigalg_parse(const char *name, uint16_t *code);

/* ---- a user's client from a file ---- */

#define TW_REFCLIENTS_MAX_LINE 1024 /* bytes per line, newline excluded */
#define TW_REFCLIENTS_MAX_LINES 200
#define TW_REFCLIENTS_MAX_LIST 128 /* entries per suites/groups/sigalgs list */
#define TW_REFCLIENTS_MAX_TEXT 256 /* bytes of name, version, source, note */

struct tw_refclient_loaded {
    struct tw_refclient client; /* points into the arrays below */
    char name[TW_REFCLIENTS_MAX_TEXT];
    char version[TW_REFCLIENTS_MAX_TEXT];
    char source[TW_REFCLIENTS_MAX_TEXT];
    char note[TW_REFCLIENTS_MAX_TEXT];
    uint16_t suites[TW_REFCLIENTS_MAX_LIST];
    uint16_t groups[TW_REFCLIENTS_MAX_LIST];
    uint16_t sigalgs[TW_REFCLIENTS_MAX_LIST];
};

/*
 * Read one client from path into *out.  Returns 0, or -1 with a message
 * "PATH:LINE: what is wrong" in err (errlen bytes, always terminated; the
 * path and any quoted input are escaped, never echoed raw).  Validation is
 * strict: lines longer than TW_REFCLIENTS_MAX_LINE, more than
 * TW_REFCLIENTS_MAX_LINES lines, control or non-ASCII bytes, unknown keys,
 * repeated keys, unknown suites, groups, sigalgs or versions, and a missing
 * name, versions or suites are all errors.
 */
int tw_refclients_load_file(const char *path, struct tw_refclient_loaded *out, char *err,
                            size_t errlen);

/* The same on a buffer (what load_file does after reading); label names
 * the input in messages. */
int tw_refclients_parse(const char *label, const char *buf, size_t len,
                        struct tw_refclient_loaded *out, char *err, size_t errlen);

#endif /* TW_TLS_REFCLIENTS_H */
