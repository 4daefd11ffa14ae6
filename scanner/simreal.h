/*
 * simreal.h - each reference client's own ClientHello, for real (issue 13,
 * `scan --simulate real`).
 *
 * The simulation (tls/sim.h) computes what every reference client would get
 * from what the grading enumeration found, with no connection.  To check
 * that computation against the server itself, `--simulate real` sends, on
 * each graded endpoint, one more raw connection per reference client: the
 * client's actual ClientHello (its versions, its suites in its order, its
 * groups with key shares for the groups it shares first, its signature
 * algorithms, SNI or not), built with scanner/hello.h, and reads the
 * server's first flight.  The ServerHello (or HelloRetryRequest, or alert)
 * decides the handshake-level outcome: version, suite and group, or a
 * refusal.  Certificate-based failures (hostname_mismatch, weak_key,
 * incomplete_chain, client_cert_required) come after the ServerHello and are
 * judged from the certificate by the simulation alone, so tw_simreal_agree()
 * compares only the handshake part.
 *
 * Key shares: the client's first group, and its second when the first is a
 * post-quantum hybrid (what sim.c assumes).  X25519/X448 shares are the
 * caller's random bytes, NIST curves the curve's generator (a valid point;
 * no handshake is ever completed), FFDHE the value 2, X25519MLKEM768 an
 * all-zero ML-KEM key (passes the modulus check) and a random X25519 half.
 * Other groups get no share: the server answers with a HelloRetryRequest.
 *
 * Pure except that the NIST generator points come from OpenSSL (no I/O).
 * No globals; safe from any thread.  Nothing is retained.
 */
#ifndef TW_SCANNER_SIMREAL_H
#define TW_SCANNER_SIMREAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/graderec.h"
#include "tls/refclients.h"

#define TW_SIMREAL_RANDOM_LEN 96 /* random bytes one hello needs */

struct tw_server_flight; /* scanner/hello.h */

/*
 * Build client c's ClientHello into out[cap] (cap >= TW_HELLO_MAX_OUT), with
 * server_name sni when the client sends SNI and sni is not NULL/"".  rnd:
 * TW_SIMREAL_RANDOM_LEN bytes.  Returns 0 and *len, or -1 (the client's
 * lists do not fit a hello).
 */
int tw_simreal_build(const struct tw_refclient *c, const char *sni, const uint8_t *rnd,
                     uint8_t *out, size_t cap, size_t *len);

/*
 * The outcome of one real hello: f is the parsed flight (NULL when the
 * connection gave none: refused, reset, closed, timed out, not TLS).  Fills
 * *out (ran = 1).  c (NULL: not checked) is the client that sent the
 * hello: a ServerHello choosing a version, suite or ECDHE group it did not
 * offer is a failure, as the client itself would abort there.
 */
void tw_simreal_feed(const struct tw_server_flight *f, const struct tw_refclient *c,
                     struct tw_grec_real *out);

/*
 * 1 when the simulated outcome s and the real one r agree at the handshake
 * level: both refused, or both reached a ServerHello with the same
 * protocol, suite and group.  A simulated failure after the ServerHello
 * (certificate, client certificate) counts as reaching it.
 */
int tw_simreal_agree(const struct tw_grec_sim *s, const struct tw_grec_real *r);

/* Set reals[i].agrees for every client that has both a simulation and a
 * real outcome (same order); -1 for the others. */
void tw_simreal_judge(struct tw_grade_record *rec);

#endif /* TW_SCANNER_SIMREAL_H */
