/*
 * grader.c - the grading connections on the one connection machine (see grader.h).
 *
 * The grader holds the planned step, the bytes to send, one exchange buffer
 * and one probe result; each connection is a conn of conn.c started with
 * them, and grader_conn_done() is where its answer goes to the planner.  The
 * buffer is kept from one connection to the next, except a big one (a long
 * flight does not pin 64 KB for the hellos after it).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "scanner/config.h"
#include "scanner/grader.h"
#include "scanner/hello.h"
#include "scanner/probekind.h"
#include "scanner/simreal.h"
#include "scanner/starttls.h"
#include "scanner/vuln.h"
#include "base/log.h"
#include "base/xalloc.h"

#define GRADER_KEEP_BUF 16384 /* an exchange buffer above this is freed after use */

struct tw_grader {
    struct tw_conn_pool *pool;
    struct sockaddr_storage sa;
    socklen_t salen;
    const struct tw_tlsctx *tls;
    char sni[TW_HOST_MAX + 1];
    char req[TW_HOST_MAX + 128]; /* the HEAD / request */
    size_t req_len;
    double connect_timeout, handshake_timeout;
    enum tw_probe_kind http_kind; /* the settings of the HTTP connection */
    struct tw_gplan *plan;

    /* STARTTLS: the protocol (0 = direct TLS), the XMPP domain, the stop. */
    int starttls;
    char starttls_host[TW_HOST_MAX + 1];
    int stopped;       /* a dialogue failed: no more connections, no grade */
    int stopped_conns; /* connections that stopped it (not fed to the plan) */
    char error[192];

    enum tw_gstep step; /* the planned step, valid when step_ready */
    int step_ready;
    uint8_t *out; /* the hello to send (out_len bytes) */
    size_t out_len;

    int tail;                   /* the running hello is read past its flight (vuln.h) */
    struct tw_conn_reneg reneg; /* TW_GSTEP_RENEG's settings and outcome */
    struct tw_conn *conn;       /* the running connection, or NULL */
    struct tw_conn_exchange ex;
    struct tw_probe_result pr;
    /* --simulate real: the clients, the next one, whether the running
     * step is one, and their outcomes (copied into the record). */
    const struct tw_refclient *const *real_clients;
    size_t real_n, real_next;
    int real_step;
    char real_sni[TW_HOST_MAX + 1];
    struct tw_grec_real reals[TW_GREC_SIMS_MAX];
    tw_grader_cb *cb;
    void *arg;
};

double
tw_grader_timeout(double probe, double observed, double cap)
{
    double t = probe > 0 ? probe : TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT;
    double slow = observed > 0 ? 2.0 * observed : 0.0;

    if (cap <= 0)
        cap = TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT;
    if (slow > cap)
        slow = cap;
    return slow > t ? slow : t;
}

double
tw_grader_deadline(const struct tw_grader *g)
{
    return g->handshake_timeout;
}

struct tw_grader *
tw_grader_new(const struct tw_grader_params *p)
{
    struct tw_grader *g = tw_xcalloc(1, sizeof(*g));
    const struct tw_probe_kind_info *pk = tw_probe_kind_info(p->http_kind);
    const char *host = p->host_header != NULL ? p->host_header : "";
    int n;

    g->pool = p->pool;
    if (p->salen <= sizeof(g->sa)) {
        memcpy(&g->sa, p->sa, p->salen);
        g->salen = p->salen;
    }
    g->tls = p->tls;
    if (p->sni != NULL)
        tw_strlcpy(g->sni, p->sni, sizeof(g->sni));
    g->connect_timeout =
        p->connect_timeout > 0 ? p->connect_timeout : TW_CFG_DEFAULT_CONNECT_TIMEOUT;
    g->handshake_timeout =
        tw_grader_timeout(p->handshake_timeout, p->observed_handshake, p->handshake_cap);
    g->http_kind = (enum tw_probe_kind)(
        pk != NULL ? pk->grade_http_kind : tw_probe_kind_info(TW_PK_MAIN)->grade_http_kind);
    if (p->starttls > TW_STARTTLS_NONE && p->starttls < TW_STARTTLS__COUNT) {
        g->starttls = p->starttls;
        if (p->starttls_host != NULL)
            tw_strlcpy(g->starttls_host, p->starttls_host, sizeof(g->starttls_host));
    }
    /* The Host value comes from a target file: keep only bytes that are legal
     * in a host[:port] (no CR/LF injection into the request). */
    n = snprintf(g->req, sizeof(g->req), "HEAD / HTTP/1.1\r\nHost: ");
    for (const char *c = host; *c != '\0' && (size_t)n < sizeof(g->req) - 64; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr(".-_:[]", *c) != NULL)
            g->req[n++] = *c;
    }
    n += snprintf(g->req + n, sizeof(g->req) - (size_t)n,
                  "\r\nUser-Agent: tlsweep\r\nConnection: close\r\n\r\n");
    g->req_len = (size_t)n < sizeof(g->req) ? (size_t)n : sizeof(g->req) - 1;
    g->real_clients = p->real_clients;
    g->real_n = p->real_n == 0 ? 0 : p->real_clients == NULL ? tw_refclients_count() : p->real_n;
    if (g->real_n > TW_GREC_SIMS_MAX)
        g->real_n = TW_GREC_SIMS_MAX;
    if (p->real_sni != NULL)
        tw_strlcpy(g->real_sni, p->real_sni, sizeof(g->real_sni));
    g->plan = tw_gplan_new(g->sni, TW_PROBE_MAX_CONNS);
    if (g->starttls)
        tw_gplan_no_http(g->plan);
    return g;
}

int
tw_grader_connections(const struct tw_grader *g)
{
    return tw_gplan_connections(g->plan) + g->stopped_conns + (int)g->real_next;
}

const char *
tw_grader_error(const struct tw_grader *g)
{
    return g->error;
}

int
tw_grader_pending(struct tw_grader *g)
{
    uint8_t rnd[TW_PROBE_RANDOM_LEN];
    uint8_t buf[TW_HELLO_MAX_OUT]; /* built here, kept at its size: a hello is ~1 KB */

    if (g->stopped)
        return 0;
    if (!g->step_ready) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            /* No randomness is no secret here (nothing is encrypted), but
             * never send stale bytes twice in a row either. */
            for (size_t i = 0; i < sizeof(rnd); i++)
                rnd[i] = (uint8_t)(i * 131u + (unsigned)tw_gplan_connections(g->plan));
            ERR_clear_error();
        }
        g->step = tw_gplan_next(g->plan, rnd, buf, sizeof(buf), &g->out_len);
        g->real_step = 0;
        /* --simulate real: the clients' own hellos once the plan is done;
         * a client whose hello cannot be built is recorded, not sent. */
        while (g->step == TW_GSTEP_DONE && g->real_next < g->real_n) {
            const struct tw_refclient *c = g->real_clients != NULL ? g->real_clients[g->real_next]
                                                                   : tw_refclients_at(g->real_next);

            if (tw_simreal_build(c, g->real_sni, rnd, buf, sizeof(buf), &g->out_len) == 0) {
                g->step = TW_GSTEP_HELLO;
                g->real_step = 1;
                break;
            }
            tw_simreal_feed(NULL, c, &g->reals[g->real_next]);
            tw_strlcpy(g->reals[g->real_next].why, "its hello cannot be built",
                       sizeof(g->reals[0].why));
            g->real_next++;
        }
        free(g->out);
        g->out = NULL;
        if (g->out_len > 0) {
            g->out = tw_xmalloc(g->out_len);
            memcpy(g->out, buf, g->out_len);
        }
        g->step_ready = 1;
    }
    return g->step != TW_GSTEP_DONE;
}

/* complete() of a hello's exchange: the flight parsed to its end, or failed. */
static int
grader_flight_complete(const uint8_t *buf, size_t len)
{
    struct tw_server_flight f;

    return tw_hello_parse(buf, len, &f) != TW_HELLO_NEED_MORE;
}

/* complete() of the HTTP exchange: the end of the response head is in, or
 * the first bytes are not HTTP at all (a banner: SMTP, IMAP...). */
static int
grader_http_complete(const uint8_t *buf, size_t len)
{
    if (memcmp(buf, "HTTP/", len < 5 ? len : 5) != 0)
        return 1;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return 1;
    return 0;
}

/* The connection is over and answered: feed the plan. */
static void
grader_feed(struct tw_grader *g)
{
    if (g->step == TW_GSTEP_HELLO) {
        struct tw_server_flight f;
        int rc = g->ex.len > 0 ? tw_hello_parse(g->ex.buf, g->ex.len, &f) : TW_HELLO_NEED_MORE;

        tw_gplan_feed_hello(g->plan, rc == TW_HELLO_DONE ? &f : NULL, g->ex.buf, g->ex.len);
    } else if (g->step == TW_GSTEP_RENEG) {
        tw_gplan_feed_reneg(g->plan, g->reneg.started, g->reneg.server_hellos, g->reneg.alert);
    } else {
        tw_gplan_feed_http(g->plan, g->ex.reading ? (const char *)g->ex.buf : NULL, g->ex.len);
    }
}

/*
 * A STARTTLS connection ended before READY: that is no answer to a hello, so
 * the plan is not fed; the grading stops here and the endpoint is not graded
 * (taking it for a refused protocol would grade what was never asked).  The
 * error says where the connection ended, from its probe result.
 */
static void
grader_stop(struct tw_grader *g)
{
    const struct tw_probe_result *pr = &g->pr;
    int nth = tw_gplan_connections(g->plan) + g->stopped_conns + 1;
    int connected =
        pr->outcome != TW_PROBE_CONNECT_ERROR && pr->outcome != TW_PROBE_CONNECT_TIMEOUT;
    const char *why;

    if (pr->outcome == TW_PROBE_CONNECT_TIMEOUT)
        why = "connect timed out";
    else if (pr->outcome == TW_PROBE_CONNECT_ERROR)
        why = strerror(pr->sys_errno);
    else if (pr->starttls_result > TW_STARTTLS_READY)
        why = tw_starttls_status_name(pr->starttls_result);
    else if (pr->outcome == TW_PROBE_TIMEOUT)
        why = "timed out";
    else if (pr->outcome == TW_PROBE_EOF)
        why = "closed by the server";
    else
        why = "reset";
    snprintf(g->error, sizeof(g->error), "%s dialogue failed on grading connection %d: %s (%s)",
             tw_starttls_name(g->starttls), nth, why,
             connected ? pr->starttls_detail : "not started");
    g->stopped = 1;
    g->stopped_conns++;
}

/* The conn's done callback: stop or feed, then report (cb may free g). */
static void
grader_conn_done(void *arg, SSL *ssl)
{
    struct tw_grader *g = arg;

    g->conn = NULL;
    g->step_ready = 0;
    /* 0-RTT (issue 14): the HTTP step's TLS 1.3 session tickets were read
     * with the response; the last one is the connection's session now. */
    if (g->step == TW_GSTEP_HTTP && ssl != NULL && SSL_version(ssl) == TLS1_3_VERSION) {
        const SSL_SESSION *sess = SSL_get0_session(ssl);
        int ticket = sess != NULL && SSL_SESSION_has_ticket(sess);

        tw_gplan_feed_early_data(g->plan, ticket,
                                 ticket ? SSL_SESSION_get_max_early_data(sess) : 0);
    }
    if (g->real_step) {
        struct tw_server_flight f;
        int rc = g->ex.len > 0 ? tw_hello_parse(g->ex.buf, g->ex.len, &f) : TW_HELLO_NEED_MORE;

        const struct tw_refclient *c = g->real_clients != NULL ? g->real_clients[g->real_next]
                                                               : tw_refclients_at(g->real_next);

        tw_simreal_feed(rc == TW_HELLO_DONE ? &f : NULL, c, &g->reals[g->real_next++]);
    } else if (g->step == TW_GSTEP_HELLO && g->starttls &&
               g->pr.starttls_result != TW_STARTTLS_READY)
        grader_stop(g);
    else
        grader_feed(g);
    /* A vulnerability probe's answer (a Heartbleed over-read) is another
     * process's memory: it leaves no copy here (vuln.h). */
    if (g->tail && g->ex.buf != NULL)
        OPENSSL_cleanse(g->ex.buf, g->ex.cap);
    g->ex.len = 0;
    if (g->ex.cap > GRADER_KEEP_BUF) {
        free(g->ex.buf);
        g->ex.buf = NULL;
        g->ex.cap = 0;
    }
    if (g->cb != NULL)
        g->cb(g->arg);
}

int
tw_grader_start(struct tw_grader *g, tw_grader_cb *cb, void *arg)
{
    struct tw_conn_params p;
    int hello;
    int rc;

    if (!tw_grader_pending(g) || g->conn != NULL || g->salen == 0)
        return -EINVAL;
    hello = g->step == TW_GSTEP_HELLO;
    if (!hello && g->tls == NULL)
        return -EINVAL;
    memset(&p, 0, sizeof(p));
    p.sa = (const struct sockaddr *)&g->sa;
    p.salen = g->salen;
    p.tls = g->tls;
    p.mode = hello ? TW_CONN_RAW : TW_CONN_TLS_HTTP;
    p.ex = &g->ex;
    p.kind = g->http_kind;
    p.sni = g->sni[0] != '\0' ? g->sni : NULL;
    p.connect_timeout = g->connect_timeout;
    p.handshake_timeout = g->handshake_timeout;
    if (hello && g->starttls) {
        p.starttls = g->starttls;
        p.starttls_host = g->starttls_host[0] != '\0' ? g->starttls_host : NULL;
    }
    if (g->step == TW_GSTEP_RENEG) {
        memset(&g->reneg, 0, sizeof(g->reneg));
        g->reneg.max_version = tw_gplan_reneg_version(g->plan);
        p.reneg = &g->reneg;
    }
    p.out = &g->pr;
    p.done_cb = grader_conn_done;
    p.arg = g;
    g->ex.req = hello ? g->out : (const uint8_t *)g->req;
    g->ex.req_len = hello ? g->out_len : g->req_len;
    g->ex.max = hello ? TW_HELLO_FLIGHT_MAX : TW_PROBE_HTTP_MAX;
    g->tail = hello && !g->real_step && tw_gplan_reads_tail(g->plan);
    g->ex.complete = !hello    ? grader_http_complete
                     : g->tail ? tw_vuln_tail_complete
                               : grader_flight_complete;
    g->cb = cb;
    g->arg = arg;
    rc = tw_conn_start(g->pool, &p, &g->conn);
    if (rc < 0)
        g->conn = NULL;
    return rc;
}

int
tw_grader_finish(struct tw_grader *g, struct tw_result *r, int total_conns)
{
    struct tw_grade_record *rec;

    if (g->stopped)
        return -1; /* partial evidence would grade what was never asked */
    rec = tw_gplan_grade(g->plan, r, NULL);
    rec->connections = total_conns;
    for (size_t i = 0; i < g->real_next; i++)
        rec->reals[rec->n_reals++] = g->reals[i];
    free(r->grading);
    r->grading = rec;
    return 0;
}

void
tw_grader_free(struct tw_grader *g)
{
    if (g == NULL)
        return;
    if (g->conn != NULL)
        tw_conn_abort(g->conn);
    tw_gplan_free(g->plan);
    free(g->out);
    free(g->ex.buf);
    free(g);
}
