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
 *
 * Pure (STYLE G6): const tables only, no I/O, no allocation; safe from any
 * thread.  Returned strings are static.
 */
#ifndef TW_TLS_CLIENTS_H
#define TW_TLS_CLIENTS_H

#include <stdint.h>

enum tw_client_policy {
    TW_CLIENTS_MODERN = 0, /* the default: a zeroed config judges for modern clients */
    TW_CLIENTS_ANY,
    TW_CLIENTS__COUNT
};

/* "modern", "any"; "?" out of range. */
const char *tw_clients_policy_name(int policy);
/* Parse a policy name ("modern", "any"; "all" is taken as "any").  0 and
 * *out, or -1 for an unknown name. */
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

#endif /* TW_TLS_CLIENTS_H */
