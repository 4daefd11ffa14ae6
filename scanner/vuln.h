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
 *   ticketbleed    (CVE-2016-9244, F5 BIG-IP) a TLS <= 1.2 hello resuming a
 *                  session ticket the server issued to us a moment before
 *                  (an OpenSSL handshake fetched it), with a session ID of
 *                  TW_VULN_TB_SID_LEN byte.  RFC 5077 3.4 has the server echo
 *                  that ID; a vulnerable one echoes 32 bytes, ours followed by
 *                  its own memory.  Only the ID's length and its first byte
 *                  (ours) are looked at; hello.c keeps no other byte of it.
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

struct tw_server_flight; /* scanner/hello.h */

#define TW_VULN_HB_CLAIM 16     /* payload bytes the Heartbleed probe claims (and does not send) */
#define TW_VULN_HB_REQ_LEN 8    /* bytes of the heartbeat request record */
#define TW_VULN_CCS_LEN 12      /* bytes of the two ChangeCipherSpec records */
#define TW_VULN_TB_SID_LEN 1    /* bytes of the Ticketbleed hello's session ID */
#define TW_VULN_TICKET_MAX 2048 /* a longer session ticket is not offered back */

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

/* The Ticketbleed verdict on the answer to the resumption hello. */
enum tw_vuln_tb {
    TW_VULN_TB_NO_ANSWER = 0, /* no ServerHello at the version offered, no alert */
    TW_VULN_TB_VULNERABLE,    /* resumed, and a 32-byte session ID that starts with ours */
    TW_VULN_TB_ECHOED,        /* resumed, and our session ID echoed at its own length */
    TW_VULN_TB_OTHER_ID,      /* resumed with another session ID (not ours, or not 32 bytes) */
    TW_VULN_TB_FULL,          /* a full handshake (a Certificate): the ticket was declined */
    TW_VULN_TB_ALERT,         /* the hello got an alert */
};

/*
 * Judge the flight f (NULL: none) that answered a resumption hello at
 * `version` carrying a session ID of sid_len bytes whose first byte is sid0.
 * A resumption is a ServerHello without a Certificate (the flight ends with
 * the server's ChangeCipherSpec).  A full handshake's fresh 32-byte ID may
 * start with our byte by chance: it is never taken for a leak.
 */
enum tw_vuln_tb tw_vuln_ticketbleed(const struct tw_server_flight *f, uint16_t version,
                                    size_t sid_len, uint8_t sid0);

#endif /* TW_SCANNER_VULN_H */
