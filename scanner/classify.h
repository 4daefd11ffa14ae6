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

/* The TLS alert description's name ("handshake_failure"), or "alert N". */
const char *tw_classify_alert_name(int alert, char *buf, size_t len);

#endif /* TW_SCANNER_CLASSIFY_H */
