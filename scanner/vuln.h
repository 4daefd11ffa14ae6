/*
 * vuln.h - the wire pieces and verdicts of the vulnerability probes (issue 14).
 *
 * The grading planner (gplan.c) runs a few probes after the enumeration,
 * each a raw ClientHello of hello.h on one connection, some with records
 * appended in the same write:
 *
 *   heartbleed     hello offering the heartbeat extension + one heartbeat
 *                  request whose payload_length claims TW_VULN_HB_CLAIM
 *                  bytes although none are sent.  RFC 6520 says to discard
 *                  it silently; a vulnerable server echoes the claimed bytes
 *                  from its own memory (an over-read).  Only the length of
 *                  the answer is looked at; its bytes are never kept.
 *   ccs_injection  hello + two ChangeCipherSpec records before any key
 *                  exchange (CVE-2014-0224).  A fixed server refuses the first
 *                  with unexpected_message; a vulnerable one accepts it,
 *                  switches its read state to keys from an empty master
 *                  secret and fails the second with bad_record_mac or
 *                  decryption_failed.
 *
 * This module builds the appended records and reads the records that follow
 * the server's first flight (tw_vuln_tail).  Pure (STYLE G6): no sockets, no
 * clock, no state; every length of the hostile input is checked before it is
 * read.  Any thread.
 */
#ifndef TW_SCANNER_VULN_H
#define TW_SCANNER_VULN_H

#include <stddef.h>
#include <stdint.h>

#define TW_VULN_HB_CLAIM 16  /* payload bytes the Heartbleed probe claims (and does not send) */
#define TW_VULN_HB_REQ_LEN 8 /* bytes of the heartbeat request record */
#define TW_VULN_CCS_LEN 12   /* bytes of the two ChangeCipherSpec records */

/* TLS alert descriptions the verdicts name. */
#define TW_VULN_ALERT_UNEXPECTED_MESSAGE 10
#define TW_VULN_ALERT_BAD_RECORD_MAC 20
#define TW_VULN_ALERT_DECRYPTION_FAILED 21
#define TW_VULN_ALERT_INAPPROPRIATE_FALLBACK 86

/* The heartbeat request record for version (wire value) into out[cap].
 * Returns TW_VULN_HB_REQ_LEN, or 0 when cap is too small. */
size_t tw_vuln_heartbeat_request(uint16_t version, uint8_t *out, size_t cap);

/* Two ChangeCipherSpec records for version into out[cap].  Returns
 * TW_VULN_CCS_LEN, or 0 when cap is too small. */
size_t tw_vuln_ccs_records(uint16_t version, uint8_t *out, size_t cap);

/* What came after the first flight. */
struct tw_vuln_tail {
    int n_records; /* whole records after the flight */
    int has_alert; /* the first alert record after the flight */
    uint8_t alert_level;
    uint8_t alert_desc;
    int has_heartbeat;    /* a heartbeat record (content type 24) */
    size_t heartbeat_len; /* its length (its bytes are not kept) */
};

/* Walk the whole records of p[0, len) from the start of the connection:
 * the handshake records (the flight) are skipped, and the records after
 * them read up to the first alert or heartbeat record, an incomplete or
 * absurd record. */
void tw_vuln_tail(const uint8_t *p, size_t len, struct tw_vuln_tail *t);

/* A conn complete() for the probes that read past the flight: 1 when the
 * flight failed or ended in an alert, or an alert or heartbeat record came
 * after it; else 0 (read on until EOF, the byte cap or the deadline). */
int tw_vuln_tail_complete(const uint8_t *p, size_t len);

#endif /* TW_SCANNER_VULN_H */
