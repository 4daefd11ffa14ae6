/*
 * sim.h - reference-client simulation (issue 13, item 2): what each
 * reference client (tls/refclients.h) would get from one server, computed
 * from what the grading enumeration already found, with no connection.
 *
 * The scanner describes the server in a struct tw_sim_server (the accepted
 * protocols, the accepted suites per protocol in the order the enumeration
 * found them, whether the server enforces its order, the TLS 1.3 and
 * TLS <= 1.2 ECDHE groups, the DHE sizes, the leaf certificates by key type,
 * and the name/SNI/chain facts of the classification).  tw_sim_run() then
 * plays one client's ClientHello against it, the way an OpenSSL-like server
 * chooses:
 *
 *   1. SNI: a server that fails without SNI fails a client that sends none
 *      (sni_required).
 *   2. Version: the highest both speak, else protocol_mismatch.  Clients do
 *      not fall back to a lower version after a failure (none of the
 *      reference clients still does the old insecure fallback dance).
 *   3. Suite at that version: the server's first choice among the client's
 *      suites when the enumeration showed it enforces its order, else the
 *      client's first that the server accepts; an ECDHE suite needs a shared
 *      ECDHE group, a suite needs a certificate the client can verify
 *      (signature algorithms by key type).  None: no_shared_cipher.
 *   4. TLS 1.3 group: the client's key_share group when the server accepts
 *      it (no HelloRetryRequest), else the server's first group that the
 *      client supports (as OpenSSL chooses, whatever its suite order
 *      setting): a HelloRetryRequest.  None: tls_alert (handshake_failure).
 *   5. Certificate: the leaf by key type (TLS <= 1.2: the suite's
 *      authentication; TLS 1.3: the client's first signature algorithm the
 *      server has a key for), then the client's key-size floors (weak_key,
 *      also a DHE group below the client's floor), the subject CN for
 *      clients that still accept it (hostname_mismatch), AIA for an
 *      incomplete chain (incomplete_chain), a required client certificate
 *      (client_cert_required: no reference client has one).
 *
 * Trust failures that are the same for every client (expired, self-signed,
 * untrusted root, revoked, ...) are not repeated per client: the primary
 * class says them.  What the enumeration cannot know is marked in the
 * outcome's basis bits (TW_SIM_BASIS_*), never guessed silently.
 *
 * Pure (STYLE G6): no I/O, no allocation, no globals; safe from any thread.
 * Inputs are borrowed; outputs hold static strings only.
 */
#ifndef TW_TLS_SIM_H
#define TW_TLS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "tls/grade.h"
#include "tls/refclients.h"

#define TW_SIM_SUITES_MAX 640
#define TW_SIM_GROUPS_MAX 32
#define TW_SIM_LEAVES_MAX 4

/* One accepted suite on one protocol (wire version, IANA code). */
struct tw_sim_suite {
    uint16_t protocol;
    uint16_t code;
};

/* One leaf certificate the server sent (key type and bits, tls/grade.h). */
struct tw_sim_leaf {
    enum tw_key_type key_type;
    int key_bits;
};

struct tw_sim_server {
    unsigned protocols;   /* TW_PROTO_BIT() of each accepted protocol */
    unsigned server_pref; /* TW_PROTO_BIT() of each protocol whose server enforces its order */
    /* Accepted suites, per protocol in discovery order: the server's own
     * order where it enforces one (the enumeration removes each choice). */
    struct tw_sim_suite suites[TW_SIM_SUITES_MAX];
    size_t n_suites;
    uint16_t groups13[TW_SIM_GROUPS_MAX]; /* TLS 1.3 groups (key_share or HRR), found order */
    size_t n_groups13;
    uint16_t groups12[TW_SIM_GROUPS_MAX]; /* ECDHE groups on TLS <= 1.2, found order */
    size_t n_groups12;
    int dh_bits; /* the DHE group size seen (the largest); 0: none seen */
    struct tw_sim_leaf leaves[TW_SIM_LEAVES_MAX];
    size_t n_leaves;
    /* From the classification of the endpoint (same for every client). */
    int name_ok;              /* the leaf covers the name (checked the browsers' way) */
    int name_ok_cn;           /* ... or covers it through the subject CN only (no SAN) */
    int sni_required;         /* the server fails a hello without SNI */
    int chain_incomplete;     /* the server does not send the leaf's issuer */
    int chain_aia;            /* ... and the leaf names it in AIA caIssuers (fetchable) */
    int client_cert_required; /* the handshake fails without a client certificate */
};

enum tw_sim_outcome {
    TW_SIM_OK = 0, /* the handshake would complete */
    TW_SIM_FAIL
};

/* Why a simulated handshake fails; the class each maps to is DESIGN §3's. */
enum tw_sim_reason {
    TW_SIM_R_NONE = 0,
    TW_SIM_R_SNI,         /* sni_required */
    TW_SIM_R_CLIENT_CERT, /* client_cert_required */
    TW_SIM_R_PROTOCOL,    /* protocol_mismatch */
    TW_SIM_R_CIPHER,      /* no_shared_cipher */
    TW_SIM_R_GROUP,       /* tls_alert: no shared TLS 1.3 group */
    TW_SIM_R_SIGALG,      /* tls_alert: no signature algorithm for the server's keys */
    TW_SIM_R_WEAK_KEY,    /* weak_key: below the client's RSA/EC floor */
    TW_SIM_R_WEAK_DH,     /* weak_key: a DHE group below the client's floor */
    TW_SIM_R_CN_ONLY,     /* hostname_mismatch: name only in the CN */
    TW_SIM_R_NAME,        /* hostname_mismatch: the leaf does not cover the name */
    TW_SIM_R_CHAIN,       /* incomplete_chain: no AIA fetching */
    TW_SIM_R__COUNT
};

/* What the simulation could not know (bit set in tw_sim_result.basis). */
#define TW_SIM_BASIS_GROUP_ORDER 0x1u /* the group's choice among several assumed */
#define TW_SIM_BASIS_LEAF_TLS13 0x2u  /* TLS 1.3 leaves unseen: leaf chosen from the others */
#define TW_SIM_BASIS_DH_UNSEEN 0x4u   /* a DHE suite chosen, its group size unseen */

struct tw_sim_result {
    enum tw_sim_outcome outcome;
    enum tw_sim_reason reason;
    uint16_t protocol; /* wire version negotiated (also set on a later failure); 0 none */
    uint16_t suite;    /* IANA suite chosen; 0 none */
    uint16_t group;    /* IANA group of the key exchange; 0 none (RSA kx, DHE) */
    int hrr;           /* TLS 1.3: a HelloRetryRequest was needed */
    unsigned basis;    /* TW_SIM_BASIS_* */
};

/* Simulate client c against server s. */
void tw_sim_run(const struct tw_refclient *c, const struct tw_sim_server *s,
                struct tw_sim_result *out);

/* "ok" / "fail". */
const char *tw_sim_outcome_name(enum tw_sim_outcome o);
/* The DESIGN §3 class name of a reason ("protocol_mismatch", ...); NULL for
 * TW_SIM_R_NONE. */
const char *tw_sim_reason_class(enum tw_sim_reason r);
/* A short explanation ("no shared TLS version", ...); "" for TW_SIM_R_NONE. */
const char *tw_sim_reason_text(enum tw_sim_reason r);

#endif /* TW_TLS_SIM_H */
