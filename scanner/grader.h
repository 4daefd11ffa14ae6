/*
 * grader.h - the grading connections of one endpoint, run on conn.c.
 *
 * After the classification probes of an endpoint where one of them
 * completed a handshake, the worker grades it.  The grader is thin: it asks
 * the planner of gplan.h (tw_gplan_next) for the next step, runs it as one
 * conn of scanner/conn.h, and feeds the answer back to the planner from the
 * conn's done callback:
 *
 *   TW_GSTEP_HELLO  a TW_CONN_RAW conn: [STARTTLS dialogue,] the hand-built
 *                   ClientHello, the server's flight read until tw_hello_parse
 *                   says it is complete or failed (at most TW_HELLO_FLIGHT_MAX
 *                   bytes), EOF, reset or the deadline -> tw_gplan_feed_hello
 *   (real)          --simulate real: one more TW_CONN_RAW conn per
 *                   reference client with the client's own hello
 *                   (simreal.h) -> the record's reals[]; a STARTTLS
 *                   dialogue failure there does not stop the grading.  These
 *                   do not depend on the plan or on each other: they run
 *                   beside the plan's connection, as many at once as the
 *                   caller starts (it holds one address slot per connection)
 *   TW_GSTEP_HTTP   a TW_CONN_TLS_HTTP conn: a handshake with the settings of
 *                   the probe the grade is based on (its grade_http_kind row in
 *                   probekind.h), HEAD /, the response head read until its
 *                   blank line or a first line that is not HTTP (at most
 *                   TW_PROBE_HTTP_MAX bytes) -> tw_gplan_feed_http
 *
 * The plan runs one connection at a time.  Every connection is bounded by the connect
 * timeout and the handshake timeout, which is also the STARTTLS plaintext
 * phase's own deadline (the flight then gets a fresh one); a TLS connection
 * by TW_CONN_HANDSHAKE_BYTES_MAX bytes in all (conn.h).
 *
 * STARTTLS (params.starttls != 0): every raw-hello connection speaks the
 * plaintext phase first (conn.c).  A connection whose dialogue does not
 * reach READY (connect failure, EOF, reset, deadline, refusal, protocol
 * error) is no answer to a hello at all: the grading stops there and the
 * endpoint is not graded (tw_grader_finish returns -1 and tw_grader_error
 * says why), rather than taking it for a refused protocol.  No HTTP step
 * (tw_gplan_no_http): HSTS is not applicable to SMTP, IMAP, ...
 *
 * Threading: a grader belongs to one thread (a worker's) and its loop.
 * Ownership: the grader copies the address and names; the tls contexts and
 * the conn pool are borrowed and must outlive it.  The callback may free
 * the grader.
 */
#ifndef TW_SCANNER_GRADER_H
#define TW_SCANNER_GRADER_H

#include <sys/socket.h>

#include "scanner/conn.h"
#include "scanner/evidence.h"
#include "scanner/gplan.h"
#include "tls/refclients.h"
#include "scanner/tlsctx.h"
#include "store/model.h"

struct ev_loop;
struct tw_grader;

typedef void tw_grader_cb(void *arg);

struct tw_grader_params {
    struct ev_loop *loop;      /* the loop of pool (the connections run on it) */
    struct tw_conn_pool *pool; /* borrowed: every connection is a conn of this pool */
    const struct sockaddr *sa; /* copied */
    socklen_t salen;
    const struct tw_tlsctx *tls; /* borrowed; only the HTTP step uses it */
    const char *sni;             /* copied; NULL = none */
    const char *host_header;     /* copied: the Host header value */
    double connect_timeout;      /* <= 0: TW_CFG_DEFAULT_CONNECT_TIMEOUT */
    /* Each of: the plaintext phase, the flight, the HTTP probe: the
     * --probe-timeout value (<= 0: TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT), which
     * tw_grader_timeout() raises for a slow endpoint. */
    double handshake_timeout;
    /* Seconds the classification probe the grade is based on took (connect
     * and handshake; <= 0: unknown) and the --handshake-timeout that bounds
     * what a slow endpoint may get (<= 0: TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT). */
    double observed_handshake;
    double handshake_cap;
    /* The classification probe the grade is based on: the HTTP probe uses
     * the settings of its grade_http_kind (probekind.h). */
    enum tw_probe_kind http_kind;
    /* STARTTLS: enum tw_starttls_proto (0 = direct TLS) and the XMPP domain
     * (copied; NULL = none).  Implies tw_gplan_no_http. */
    int starttls;
    const char *starttls_host;
    /* --simulate real (issue 13, scanner/simreal.h): after the plan, one raw
     * hello per reference client, its own ClientHello; real_n 0 = off (no
     * extra connection).  real_clients NULL: the built-in table (real_n is
     * then its size).  real_sni: the name clients that send SNI send (copied;
     * NULL = none).  Borrowed clients must outlive the grader. */
    const struct tw_refclient *const *real_clients;
    size_t real_n;
    const char *real_sni;
};

/*
 * The deadline of each grading connection (issue 14): the larger of probe
 * (--probe-timeout or its default) and twice observed (the endpoint's own
 * measured handshake), but no more than cap (--handshake-timeout) unless
 * probe alone is larger.  A slow but working server (a 7 s handshake under a
 * 10 s handshake timeout) is thus graded instead of seeing every grading
 * hello time out at 3 s; a server that only stalls costs at most cap per
 * connection.  Pure.
 */
double tw_grader_timeout(double probe, double observed, double cap);

struct tw_grader *tw_grader_new(const struct tw_grader_params *p);
/* The deadline the grader's connections use (tw_grader_timeout). */
double tw_grader_deadline(const struct tw_grader *g);
/* 1 when a connection can be started now: the plan's next one (none runs),
 * or a reference client's hello (--simulate real); else 0.  The grading is
 * over when this is 0 and tw_grader_running() is 0. */
int tw_grader_pending(struct tw_grader *g);
/* Start one connection that tw_grader_pending() allows.  0: started, cb(arg)
 * runs once when it ends (never from inside this call; every connection
 * calls the cb of the last start); -errno: no socket (EMFILE...), retry
 * later. */
int tw_grader_start(struct tw_grader *g, tw_grader_cb *cb, void *arg);
/* Connections in flight now. */
int tw_grader_running(const struct tw_grader *g);
/* Connections used so far (a connection that stopped the grading included). */
int tw_grader_connections(const struct tw_grader *g);
/* Grade into r (r->grade, r->grading); total_conns: the endpoint's
 * connections, classification probes included.  Returns 0, or -1 when the
 * grading was stopped (STARTTLS dialogue failure): r is left ungraded and
 * tw_grader_error() says why. */
int tw_grader_finish(struct tw_grader *g, struct tw_result *r, int total_conns);
/* Before tw_grader_finish: the main handshake's OCSP staple for Mozilla's
 * MZ12 (tw_gplan_set_ocsp: 1 stapled, 0 not, -1 not known). */
void tw_grader_set_ocsp(struct tw_grader *g, int stapled);
/* Why the grading stopped ("" when it did not): printable ASCII, bounded. */
const char *tw_grader_error(const struct tw_grader *g);
/* Free; a running connection is closed without calling cb.  NULL: no-op. */
void tw_grader_free(struct tw_grader *g);

#endif /* TW_SCANNER_GRADER_H */
