/*
 * gplan.h - the grading probes of one endpoint (issue 5): the planner.
 *
 * After the classification probes of an endpoint where one of them completed
 * a handshake, the worker grades it.  The planner (tw_gplan_*) decides, from
 * what the server answered so far, which connection comes next, and turns
 * the answers into a struct tw_grade_input and a struct tw_grade_record:
 *
 *   suites   per protocol TLS 1.3, 1.2, 1.1, 1.0, SSLv3: offer every known
 *            suite (tls/suites.h lists) in a hand-built ClientHello, take the one
 *            the server chose, remove it, repeat until it refuses: accepted
 *            + 1 connections per protocol; a refused first hello means the
 *            protocol is not supported.  SSLv2: one SSLv2 hello.
 *   order    for a protocol with two or more suites, one hello with them
 *            reversed: the server enforces its order iff it picks the same
 *            first suite again.
 *   groups   TLS 1.3: every candidate group not seen yet, with an empty
 *            key_share (the server names its choice in a HelloRetryRequest),
 *            remove, repeat; TLS <= 1.2: the same with ECDHE suites and the
 *            named curve of the ServerKeyExchange.  DHE prime sizes come
 *            from every DHE ServerKeyExchange seen on the way.
 *   http     one HEAD / over a completed TLS connection: is it HTTP, and its
 *            Strict-Transport-Security header.  Not for a STARTTLS service
 *            (tw_gplan_no_http): SMTP, IMAP, ... are not HTTP, so HSTS is
 *            not applicable (grading.md V61: A is the ceiling) and is
 *            recorded as not_http without a connection.
 *
 *   vulns    (issue 14, scanner/vuln.h) each only where its precondition
 *            holds: TLS_FALLBACK_SCSV (two or more TLS versions: one hello
 *            at the second best with the SCSV), Heartbleed (a ServerHello
 *            acknowledged the heartbeat extension: one hello + a heartbeat
 *            request claiming 16 bytes it does not send), CCS injection
 *            (TLS 1.0-1.2: one hello + two early ChangeCipherSpec records;
 *            it also offers the session_ticket extension), Ticketbleed
 *            (that hello's ServerHello acknowledged session tickets, not
 *            over STARTTLS: one OpenSSL handshake capped at that version
 *            fetches a ticket (TW_GSTEP_TICKET), then one hello resumes it
 *            with a one-byte session ID).
 *   robot    (scanner/robot.h) only where an RSA key-exchange suite was
 *            accepted on TLS 1.0-1.2 and its leaf is RSA: five connections,
 *            each a hello offering only those suites + a ClientKeyExchange
 *            with one padding variant + ChangeCipherSpec + a garbage
 *            Finished; different reactions are a Bleichenbacher oracle.
 *   cbc      (TW_GSTEP_CBC) only where an AES-CBC suite was accepted on TLS
 *            1.2 or 1.1, not over STARTTLS: four OpenSSL handshakes on the
 *            CBC suites, each followed by one record of our own, malformed
 *            (tls/cbcrec.h): POODLE-TLS, Zombie POODLE, GOLDENDOODLE and the
 *            0-length padding oracle compare the answers.
 *   reneg    (TW_GSTEP_RENEG) only on a TLS 1.0-1.2 server without RFC 5746,
 *            not over STARTTLS: one OpenSSL handshake, then a client-initiated
 *            renegotiation; a new ServerHello is insecure renegotiation (C06).
 *
 * Logjam, FREAK, Sweet32 and BEAST rows come from the accepted suites and DHE
 * sizes, the 0-RTT row from the HTTP step's TLS 1.3 session ticket
 * (tw_gplan_feed_early_data): no connection of their own.
 * No raw handshake is ever completed: the first flight of the server carries
 * what is needed.  Compression, RFC 5746 and the heartbeat extension come
 * from the TLS <= 1.2 ServerHellos of the enumeration (its TLS 1.0-1.2 hellos
 * offer DEFLATE, renegotiation_info and heartbeat) at no extra connection.
 * Only the renegotiation and CBC probes complete a handshake (with OpenSSL, not
 * raw).  Every outcome becomes a row of rec->vulns.
 *
 * The planner is deterministic: no sockets, no clock; the caller passes the
 * random bytes.  It uses OpenSSL only to decode leaf certificates.
 *
 * The grader (scanner/grader.h) executes the plan on the worker's ev_loop,
 * one connection at a time, each a conn of scanner/conn.h (raw hellos, with
 * the STARTTLS dialogue first on a STARTTLS endpoint, and the HTTP probe);
 * see there for the connections' bounds and the STARTTLS stop.
 *
 * Threading: a planner belongs to one thread (a worker's).  Ownership: the
 * caller owns the plan and frees it with tw_gplan_free().
 */
#ifndef TW_SCANNER_GPLAN_H
#define TW_SCANNER_GPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "tls/grade.h"
#include "store/graderec.h"
#include "tls/refclients.h"
#include "store/model.h"

#define TW_PROBE_MAX_CONNS 400  /* grading connections per endpoint, at most */
#define TW_PROBE_HTTP_MAX 16384 /* bytes of HTTP response headers read */
#define TW_PROBE_RANDOM_LEN 96  /* random bytes one hello needs */

/* hello.h's parsed flight: callers of the planner include scanner/hello.h. */
struct tw_server_flight;

/* ---- planner ---- */

enum tw_gstep {
    TW_GSTEP_DONE = 0, /* nothing more to send: grade */
    TW_GSTEP_HELLO,    /* send the built hello on a raw socket; feed the flight */
    TW_GSTEP_HTTP,     /* HEAD / over TLS; feed the response */
    TW_GSTEP_RENEG,    /* TLS <= tw_gplan_reneg_version, then a client renegotiation (issue 14) */
    TW_GSTEP_CBC,      /* a CBC handshake, then one malformed record (issue 14, tls/cbcrec.h) */
    TW_GSTEP_TICKET,   /* an OpenSSL handshake at tw_gplan_ticket_version that accepts a
                          session ticket; feed it (tw_gplan_feed_ticket) */
};

struct tw_gplan;

/* A plan for one endpoint.  sni: the server name the hellos send (NULL or
 * "" = none).  max_conns bounds the connections (<= 0: TW_PROBE_MAX_CONNS). */
struct tw_gplan *tw_gplan_new(const char *sni, int max_conns);
void tw_gplan_free(struct tw_gplan *pl);

/*
 * The next step.  For TW_GSTEP_HELLO the ClientHello is built into out[cap]
 * (cap >= TW_HELLO_MAX_OUT of hello.h) with *len set; rnd holds TW_PROBE_RANDOM_LEN
 * random bytes (client random, x25519 share).  Calling it again before a
 * feed describes the same step.  Every step must be fed before the next.
 */
enum tw_gstep tw_gplan_next(struct tw_gplan *pl, const uint8_t *rnd, uint8_t *out, size_t cap,
                            size_t *len);
/* The outcome of a TW_GSTEP_HELLO: the parsed flight and the bytes it was
 * parsed from, or f == NULL when the connection failed before a complete
 * flight (refused, reset, EOF, timeout, not TLS, malformed). */
void tw_gplan_feed_hello(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
                         size_t len);
/* The outcome of a TW_GSTEP_HTTP: the response bytes read (NULL/0 when none
 * came or the TLS connection failed). */
void tw_gplan_feed_http(struct tw_gplan *pl, const char *resp, size_t len);
/* TW_GSTEP_RENEG: the highest version its handshake may use (wire value =
 * OpenSSL constant), and its outcome: started = the first handshake
 * completed and the renegotiation hello went out; server_hellos received in
 * all; alert = the last alert's description, -1 none. */
int tw_gplan_reneg_version(const struct tw_gplan *pl);
void tw_gplan_feed_reneg(struct tw_gplan *pl, int started, int server_hellos, int alert);
/* TW_GSTEP_CBC (issue 14): the version its handshake uses (OpenSSL
 * constant), the record's enum tw_cbcrec_form, and its outcome: sent = the
 * handshake completed and the record went out; r = the server's reaction. */
struct tw_cbcrec_reaction;
int tw_gplan_cbc_version(const struct tw_gplan *pl);
int tw_gplan_cbc_form(const struct tw_gplan *pl);
void tw_gplan_feed_cbc(struct tw_gplan *pl, int sent, const struct tw_cbcrec_reaction *r);
/* The four verdicts (poodle_tls, zombie_poodle, goldendoodle,
 * zero_length_padding_oracle) from the answers to the four records (valid
 * MAC + bad padding, bad MAC + valid padding, both bad, 0-length: r[4])
 * into v[4]: pure. */
void tw_gplan_cbc_verdicts(const struct tw_cbcrec_reaction *r, int *v);
/* What the HTTP step's TLS 1.3 handshake told about 0-RTT (issue 14): whether
 * a session ticket came and its max_early_data_size.  Call before
 * tw_gplan_feed_http, only when that connection negotiated TLS 1.3. */
void tw_gplan_feed_early_data(struct tw_gplan *pl, int has_ticket, uint32_t max_early_data);
/* 1 when the current TW_GSTEP_HELLO must be read past the first flight (a
 * vulnerability probe: use tw_vuln_tail_complete as the conn's complete(),
 * and wipe the bytes after the feed: they may be another process's memory). */
int tw_gplan_reads_tail(const struct tw_gplan *pl);
/* How the running TW_GSTEP_HELLO's connection ended (enum tw_probe_outcome
 * of scanner/evidence.h): call before tw_gplan_feed_hello.  The ROBOT probe
 * tells a FIN, a reset and silence apart (robot.h); the others ignore it. */
void tw_gplan_feed_end(struct tw_gplan *pl, int outcome);
/* 1 when the answer to the current TW_GSTEP_HELLO must be wiped after the
 * feed (every vulnerability probe's: a Heartbleed or Ticketbleed answer may
 * hold another process's memory), even when it is not read past the flight. */
int tw_gplan_wipes_answer(const struct tw_gplan *pl);
/* TW_GSTEP_TICKET (Ticketbleed, vuln.h): the version its handshake is capped
 * at (wire value = OpenSSL constant), and its outcome: the ticket of the
 * session it established (NULL when the handshake failed; len 0 when it
 * completed without a ticket).  The plan copies the ticket. */
int tw_gplan_ticket_version(const struct tw_gplan *pl);
void tw_gplan_feed_ticket(struct tw_gplan *pl, const uint8_t *ticket, size_t len);
/* Connections the plan has used so far. */
int tw_gplan_connections(const struct tw_gplan *pl);
/* The service is not HTTP (a STARTTLS protocol): plan no HTTP step (its
 * connection goes to the hellos), grade HSTS as not applicable and record
 * hsts as TW_GREC_HSTS_NOT_HTTP.  Call before the first tw_gplan_next(). */
void tw_gplan_no_http(struct tw_gplan *pl);

/*
 * Grade: build the grading input from the plan's evidence and r (leaf keys
 * from r->chain, trust and name from r->issues), run tw_grade_compute, set
 * r->grade and return a new record (the caller owns it; hang it on
 * r->grading).  Also fills *in when in != NULL (for tests).
 */
struct tw_grade_record *tw_gplan_grade(struct tw_gplan *pl, struct tw_result *r,
                                       struct tw_grade_input *in);

/*
 * Issue 13, Mozilla MZ12: whether the server stapled an OCSP response to
 * the handshake that asked for one (the main probe sends status_request;
 * the grading's raw hellos do not look): 1 stapled, 0 not, -1 not known
 * (the default: MZ12 not judged).  Set before tw_gplan_grade.
 */
void tw_gplan_set_ocsp(struct tw_gplan *pl, int stapled);

/*
 * Simulate each of the n reference clients against the server the grading
 * enumeration found (rec->sim_in, filled by tw_gplan_grade; issue 13): no
 * connection.  The name, SNI, chain and client-certificate facts come from
 * r->issues after the classification; name_ok_cn says the leaf's subject CN
 * covers the name (for clients that still accept it), chain_aia that the
 * leaf names its missing issuer in AIA.  Fills rec->sims (at most
 * TW_GREC_SIMS_MAX, in the order of clients).  clients NULL: the
 * built-in table (n is then ignored).
 */
void tw_gplan_simulate(struct tw_grade_record *rec, const struct tw_result *r, int name_ok_cn,
                       int chain_aia, const struct tw_refclient *const *clients, size_t n);

/*
 * Parse an HTTP response head (pure): sets rec->hsts, hsts_header,
 * hsts_max_age, hsts_include_subdomains, hsts_preload.  A response that
 * does not start with "HTTP/" is TW_GREC_HSTS_NOT_HTTP.  The first
 * Strict-Transport-Security field counts (RFC 6797 §8.1).
 */
void tw_probe_parse_http(const char *resp, size_t len, struct tw_grade_record *rec);

#endif /* TW_SCANNER_GPLAN_H */
