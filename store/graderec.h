/*
 * graderec.h - the grading evidence of one endpoint, as stored (schema step 3).
 *
 * The scanner's grading probes (scanner/gplan.c) fill one struct
 * tw_grade_record per graded endpoint and hang it on the result
 * (tw_result.grading); tw_store_put_result() writes it to the tables grades,
 * grade_reasons, protocols, suites, groups, hsts and probe_stats in the
 * result's transaction.  Plain value record: no owned pointers (the reason
 * strings point to grade.c's static tables), so tw_result_free() frees it
 * with one free() and it can cross threads by ownership transfer with its
 * result.
 */
#ifndef TW_STORE_GRADEREC_H
#define TW_STORE_GRADEREC_H

#include <stdint.h>

#include "tls/grade.h"
#include "tls/sim.h"
#include "tls/mozilla.h"

#define TW_GREC_SUITES_MAX 640 /* accepted suites over all protocols */
#define TW_GREC_GROUPS_MAX 32  /* named groups and DHE sizes */
#define TW_GREC_HSTS_MAX 512   /* bytes of the Strict-Transport-Security value kept */
#define TW_GREC_VULNS_MAX 32   /* vulnerability probe outcomes (issue 14) */
#define TW_GREC_VULN_DETAIL 128
#define TW_GREC_SIMS_MAX 64    /* simulated reference clients (issue 13) */
#define TW_GREC_CLIENT_NAME 64 /* bytes of a client's name kept */

struct tw_grec_suite {
    uint16_t protocol; /* wire version, TW_VERSION_* (SSLv2: 0x0002) */
    uint32_t code;     /* IANA suite id; SSLv2: the 3-byte cipher spec */
    int pref_order;    /* 1 = the server's first choice, when it enforces an order; 0 = none */
};

struct tw_grec_group {
    uint16_t id; /* IANA named group; 0 = a DHE group seen only by its size */
    int bits;    /* field / prime size in bits */
};

struct tw_grec_reason {
    const char *code; /* static (grade.c) */
    const char *text; /* static */
    char cap[3];
};

/* One vulnerability or behaviour probe's outcome (table vulns, issue 14).
 * tested and vulnerable are kept apart: a probe whose precondition does not
 * hold, or whose answer proves nothing, is tested = 0 (vulnerable = 0). */
struct tw_grec_vuln {
    const char *name; /* static: "heartbleed", "ccs_injection", ... */
    int tested;
    int vulnerable;
    char detail[TW_GREC_VULN_DETAIL]; /* what the server did, our own words */
};

/* One reference client's simulated handshake (table client_sims, issue 13). */
struct tw_grec_sim {
    char client[TW_GREC_CLIENT_NAME]; /* the client's name (tls/refclients.h), cut */
    int ok;                           /* 1: the handshake would complete */
    const char *cls;                  /* static: the failure's class name, NULL when ok */
    const char *why;                  /* static: the failure in words, "" when ok */
    uint16_t protocol, suite, group;  /* negotiated (protocol and suite also on a late failure) */
    int hrr;                          /* TLS 1.3 HelloRetryRequest needed */
    unsigned basis;                   /* TW_SIM_BASIS_*: what was assumed */
};

/* One reference client's real ClientHello (--simulate real, issue 13): what
 * the server's first flight answered, handshake level only.  Stored in the
 * real_* columns of the client's client_sims row. */
struct tw_grec_real {
    int ran;                         /* the hello was sent (else nothing below is set) */
    int ok;                          /* a ServerHello (or HelloRetryRequest) came */
    uint16_t protocol, suite, group; /* negotiated; group 0 for RSA/DHE key exchange */
    int hrr;                         /* the server answered with a HelloRetryRequest */
    int alert;                       /* the alert description that refused it, -1 none */
    char why[64];                    /* the failure in words, "" when ok */
    int agrees;                      /* 1: the simulation said the same; -1 not judged */
};

enum tw_grec_hsts {
    TW_GREC_HSTS_NOT_TESTED = 0, /* the HTTP probe did not run */
    TW_GREC_HSTS_NOT_HTTP,       /* the response was not HTTP (or none came) */
    TW_GREC_HSTS_ABSENT,
    TW_GREC_HSTS_PRESENT,
    TW_GREC_HSTS_INVALID,
    TW_GREC_HSTS_DISABLED,
};

struct tw_grade_record {
    /* The verdict (tw_grade_compute). */
    char grade[3];               /* "A+" .. "M" */
    char grade_trust_ignored[3]; /* "A+" .. "F" */
    int p2, k, c2, s20;          /* doubled P, K, doubled C, 20 * score */
    int has_warnings;
    int is_simulation; /* TW_GRADE_SIMULATION (never set yet) */
    struct tw_grec_reason reasons[TW_GRADE_REASONS_MAX];
    int n_reasons;

    /* What the probes saw. */
    unsigned protocols_tested;  /* TW_PROTO_BIT() of each protocol probed */
    unsigned protocols_ok;      /* ... of each protocol accepted */
    unsigned server_preference; /* ... of each protocol whose server enforces its order */
    struct tw_grec_suite suites[TW_GREC_SUITES_MAX];
    int n_suites;
    struct tw_grec_group groups[TW_GREC_GROUPS_MAX];
    int n_groups;
    int secure_reneg; /* renegotiation_info in a TLS <= 1.2 ServerHello; -1: no such hello */
    int compression;  /* the server chose DEFLATE */
    struct tw_grec_vuln vulns[TW_GREC_VULNS_MAX]; /* issue 14: one per probe, in probe order */
    int n_vulns;

    /* The server as the simulation sees it (filled from the enumeration by
     * scanner/gplan.c; the name/SNI/chain facts from the classification),
     * and each reference client's simulated handshake (issue 13). */
    struct tw_sim_server sim_in;
    struct tw_grec_sim sims[TW_GREC_SIMS_MAX];
    int n_sims;
    /* --simulate real: each client's real hello, in the order of sims. */
    struct tw_grec_real reals[TW_GREC_SIMS_MAX];
    int n_reals;

    /* HTTP (HSTS). */
    enum tw_grec_hsts hsts;
    char hsts_header[TW_GREC_HSTS_MAX]; /* the header value, "" when none */
    int64_t hsts_max_age;               /* -1 when not present / invalid */
    int hsts_include_subdomains;
    int hsts_preload;

    /* Mozilla Server Side TLS compliance (issue 13, tls/mozilla.h), per
     * enum tw_mozilla_profile; stored in the table compliance. */
    int has_compliance;
    struct {
        int pass;
        unsigned failed, warned; /* TW_MZ_BIT() sets */
    } compliance[TW_MOZILLA__COUNT];

    /* Politeness accounting. */
    int connections;         /* every connection the endpoint used */
    int grading_connections; /* of which grading probes */
};

#endif /* TW_STORE_GRADEREC_H */
