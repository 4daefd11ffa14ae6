/*
 * clients.h - the client policy: for which clients the primary class is
 * judged (issue 13, DESIGN §3 "Judged for a client policy").
 *
 * The scanner's own client offers everything OpenSSL can still speak, so
 * that old servers are classified and graded; a handshake it completes may
 * still fail for every browser.  A policy names the clients that matter:
 *
 *   modern (the default): current browsers (Chrome, Edge, Firefox, Safari)
 *     and OpenSSL 3's default client.  They speak TLS 1.2 and 1.3 only, and
 *     the suites below are the ones every one of them offers: a server that
 *     accepts none of them fails for at least one of these clients.
 *   any: the scanner's broad client (today's judgement: a handshake that it
 *     completes is ok).
 *   a set of reference clients (tls/refclients.h), judged from the
 *     simulation of each graded endpoint (tls/sim.h): `all` (every built-in
 *     client), a named policy (browsers, mobile, java, libraries, legacy:
 *     tw_refclients_named_*), or a file: a client definition (the
 *     refclients loader) or a list of client names, one a line.  An
 *     endpoint fails for the set when one of its clients cannot negotiate
 *     (protocol_mismatch, no_shared_cipher).
 *
 * Pure (STYLE G6) except tw_clients_resolve(), which reads the file a spec
 * names; no allocation; safe from any thread.  Returned strings are static.
 */
#ifndef TW_TLS_CLIENTS_H
#define TW_TLS_CLIENTS_H

#include <stdint.h>

enum tw_client_policy {
    TW_CLIENTS_MODERN = 0, /* the default: a zeroed config judges for modern clients */
    TW_CLIENTS_ANY,
    TW_CLIENTS_SET, /* a set of reference clients (struct tw_clients_set) */
    TW_CLIENTS__COUNT
};

/* "modern", "any", "set"; "?" out of range. */
const char *tw_clients_policy_name(int policy);
/* Parse a policy name ("modern", "any").  0 and *out, or -1 for any other
 * name (a set is resolved by tw_clients_resolve). */
int tw_clients_policy_parse(const char *name, int *out);

/* The lowest protocol version (TW_VERSION_*, wire value) modern clients speak. */
#define TW_CLIENTS_MODERN_MIN_VERSION 0x0303

/* 1 when every modern client offers the suite (IANA code), else 0. */
int tw_clients_modern_suite(uint16_t code);

/* The modern suites as OpenSSL cipher strings, for a client that offers
 * only them (scanner/tlsctx.c): TLS 1.2 names and TLS 1.3 suites. */
#define TW_CLIENTS_MODERN_OPENSSL_TLS12                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                                   \
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:"                                                   \
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA"
#define TW_CLIENTS_MODERN_OPENSSL_TLS13                                                            \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* ---- --clients, resolved ---- */

#include "tls/refclients.h"

#define TW_CLIENTS_SPEC_MAX 512 /* bytes of a --clients value (a path) */
#define TW_CLIENTS_SET_MAX 64   /* clients in a set / simulated */
#define TW_CLIENTS_FILE_MAX 16384

struct tw_clients_set {
    int policy;                     /* enum tw_client_policy */
    char spec[TW_CLIENTS_SPEC_MAX]; /* the value as given: stored in scan_options */
    /* The clients the class is judged for (TW_CLIENTS_SET; the modern rows
     * for modern, none for any). */
    const struct tw_refclient *members[TW_CLIENTS_SET_MAX];
    size_t n_members;
    /* The clients simulated on every graded endpoint: the built-in table,
     * plus the client a definition file adds. */
    const struct tw_refclient *sim[TW_CLIENTS_SET_MAX];
    size_t n_sim;
    struct tw_refclient_loaded loaded; /* the file's client, when has_loaded */
    int has_loaded;
};

/*
 * Resolve a --clients value into *out: "modern", "any", "all", a named
 * policy, or a file path (a client definition when a line has '=', else a
 * list of built-in client names, '#' comments).  Returns 0, or -1 with a
 * message in err (errlen bytes; input escaped).  *out points into itself:
 * do not copy it while used.
 */
int tw_clients_resolve(const char *spec, struct tw_clients_set *out, char *err, size_t errlen);

/* 1 when the client named name is a member of the set (ASCII
 * case-insensitive), else 0. */
int tw_clients_set_has(const struct tw_clients_set *set, const char *name);

#endif /* TW_TLS_CLIENTS_H */
