/*
 * classify.h - evidence in, verdict out (pure, table-tested; DESIGN §3).
 *
 * The engine runs the MAIN probe, then asks tw_classify_next_probe() which
 * follow-up probe (if any) would decide the cause, runs it, records it in
 * the evidence, and asks again; at most a handful of extra connections per
 * failing endpoint.  When it answers -1 the engine calls tw_classify().
 */
#ifndef TW_SCANNER_CLASSIFY_H
#define TW_SCANNER_CLASSIFY_H

#include "scanner/evidence.h"
#include "store/model.h"

/* The next probe kind to run (enum tw_probe_kind), or -1 when the evidence
 * is enough.  has_name: the target is a DNS name (an SNI retry makes sense). */
int tw_classify_next_probe(const struct tw_evidence *ev, int has_name);

/* Set r->cls, r->issues and r->detail (probes made, alert names, days since
 * expiry or clock-skew delta, verify errors) from the evidence.  r's other
 * fields (host, port, sni, version, cipher, chain) are left as they are. */
void tw_classify(const struct tw_evidence *ev, struct tw_result *r);

struct tw_grade_record;

/*
 * The client policy (tls/clients.h, --clients): after tw_classify() and the
 * grading, judge whether the clients of the policy can connect at all.  For
 * TW_CLIENTS_MODERN a server whose best protocol is below TLS 1.2 gains
 * protocol_mismatch, one that accepts no suite of the modern set gains
 * no_shared_cipher; r->cls becomes the primary class of the new set and
 * the detail says why.  Decided from the grading enumeration g when the
 * endpoint was graded (no extra connection), else from the completed
 * handshake: its version (the broad client offers TLS 1.3 and 1.2, so a
 * lower one means the server has nothing newer) and its suite, or, when
 * that suite is outside the set, the TW_PK_MODERN probe.  Nothing is
 * judged when no handshake completed or the policy is TW_CLIENTS_ANY.  The
 * grade is left as it is.
 */
void tw_classify_policy(const struct tw_evidence *ev, const struct tw_grade_record *g, int policy,
                        struct tw_result *r);

/* The one extra probe the policy needs on an ungraded endpoint
 * (TW_PK_MODERN: MAIN completed at TLS 1.2+ with a suite outside the
 * modern set), or -1. */
int tw_classify_policy_probe(const struct tw_evidence *ev, int policy);

/* The TLS alert description's name ("handshake_failure"), or "alert N". */
const char *tw_classify_alert_name(int alert, char *buf, size_t len);

/*
 * The client policy for a set of reference clients (--clients all, a named
 * policy or a file; tls/clients.h): after tw_gplan_simulate() filled
 * g->sims, add protocol_mismatch / no_shared_cipher when a member of the
 * set cannot negotiate with the server, naming the clients in the detail.
 * An endpoint without grading (--quick, failed handshake) has no
 * simulation: its detail says the set was not checked.  No-op when set is
 * NULL or the DNS failed.
 */
struct tw_clients_set;
void tw_classify_policy_set(const struct tw_evidence *ev, const struct tw_grade_record *g,
                            const struct tw_clients_set *set, struct tw_result *r);

#endif /* TW_SCANNER_CLASSIFY_H */
