/*
 * probekind.h - the classification probe kinds, described in one table.
 *
 * enum tw_probe_kind (evidence.h) names the probes; this table says what
 * each one is: its name in details, which SSL_CTX of tlsctx.h it uses, the
 * protocol range it allows, whether it asks for a stapled OCSP response,
 * how it chooses its server name, and which kind's settings the grading
 * HTTP connection uses when the grade is based on it.  tlsctx.c builds an
 * SSL from it, worker.c takes the names and the SNI rule from it and
 * grader.c the HTTP kind: one row per kind, nothing spread over switches
 * (STYLE G5).
 *
 * Pure and constant: no state, safe from every thread.
 */
#ifndef TW_SCANNER_PROBEKIND_H
#define TW_SCANNER_PROBEKIND_H

#include <stdint.h>

#include "scanner/evidence.h"

/* Which context of struct tw_tlsctx a kind's SSL comes from. */
enum tw_pk_ctx {
    TW_PK_CTX_BROAD = 0, /* "DEFAULT:@SECLEVEL=0" */
    TW_PK_CTX_ALL,       /* "ALL:COMPLEMENTOFALL:@SECLEVEL=0" and every TLS 1.3 suite */
    TW_PK_CTX_MODERN,    /* the modern clients' suites (tls/clients.h), TLS 1.2-1.3 */
};

/* How a kind picks the server name it sends (tw_probe_kind_sni). */
enum tw_pk_sni {
    TW_PK_SNI_TARGET = 0, /* the target's SNI, or none when it has none */
    TW_PK_SNI_SWAP,       /* the opposite of MAIN: none when the target has an SNI,
                             else the host name (a name target only) */
    TW_PK_SNI_NAME,       /* the host name (a name target), else the target's SNI */
};

struct tw_probe_kind_info {
    const char *name;        /* as details and classify.c write it: "main", "tls12", ... */
    uint8_t ctx;             /* enum tw_pk_ctx */
    uint8_t sni;             /* enum tw_pk_sni */
    uint8_t status_request;  /* ask for a stapled OCSP response */
    uint8_t grade_http_kind; /* enum tw_probe_kind of the grading HTTP connection */
    int min_version;         /* SSL_set_min_proto_version value; 0 = the context's range */
    int max_version;         /* likewise for the maximum */
};

/* The row of kind k, or NULL when k is not a kind. */
const struct tw_probe_kind_info *tw_probe_kind_info(int k);

/* The name of kind k ("?" when k is not a kind). */
const char *tw_probe_kind_name(int k);

/*
 * The server name kind k sends: target_sni is the target's SNI (NULL when
 * it has none), name the host name when the target is a name (NULL for an
 * address).  Returns one of the two or NULL (send none).
 */
const char *tw_probe_kind_sni(int k, const char *target_sni, const char *name);

#endif /* TW_SCANNER_PROBEKIND_H */
