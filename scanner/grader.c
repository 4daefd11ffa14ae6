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

struct tw_grader;

/* --simulate real: one reference client's hello in flight, beside the plan's
 * connection (each has its own exchange and probe result). */
struct grader_real {
    struct tw_grader *g;
    size_t idx; /* the client's index in reals[] */
    struct tw_conn *conn;
    uint8_t *out; /* the client's hello (out_len bytes) */
    size_t out_len;
    struct tw_conn_exchange ex;
    struct tw_probe_result pr;
};

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
    int wipe;                   /* its answer is wiped after the feed (vuln.h) */
    struct tw_conn_reneg reneg; /* TW_GSTEP_RENEG's settings and outcome */
    struct tw_conn_cbc cbc;     /* TW_GSTEP_CBC's settings, keys and outcome */
    struct tw_conn *conn;       /* the running connection, or NULL */
    struct tw_conn_exchange ex;
    struct tw_probe_result pr;
    /* --simulate real: the clients, the next one to send, its hello when
     * built (real_ready), the hellos in flight (at most one per client, run
     * beside the plan's connection), and their outcomes (copied into the
     * record). */
    const struct tw_refclient *const *real_clients;
    size_t real_n, real_next;
    int real_ready;
    uint8_t *real_out;
    size_t real_out_len;
    int real_running;
    struct grader_real *real_conns[TW_GREC_SIMS_MAX];
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

int
tw_grader_running(const struct tw_grader *g)
{
    return (g->conn != NULL) + g->real_running;
}

static const struct tw_refclient *
grader_real_client(const struct tw_grader *g, size_t i)
{
    return g->real_clients != NULL ? g->real_clients[i] : tw_refclients_at(i);
}

/* --simulate real: build the next client's hello (real_ready), skipping the
 * clients whose hello cannot be built (recorded, not sent).  1 when one is
 * ready to be sent. */
static int
grader_real_prepare(struct tw_grader *g)
{
    uint8_t rnd[TW_SIMREAL_RANDOM_LEN];
    uint8_t buf[TW_HELLO_MAX_OUT];

    while (!g->real_ready && g->real_next < g->real_n) {
        const struct tw_refclient *c = grader_real_client(g, g->real_next);
        size_t len = 0;

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            for (size_t i = 0; i < sizeof(rnd); i++)
                rnd[i] = (uint8_t)(i * 131u + (unsigned)g->real_next);
            ERR_clear_error();
        }
        if (tw_simreal_build(c, g->real_sni, rnd, buf, sizeof(buf), &len) == 0 && len > 0) {
            free(g->real_out);
            g->real_out = tw_xmalloc(len);
            memcpy(g->real_out, buf, len);
            g->real_out_len = len;
            g->real_ready = 1;
            break;
        }
        tw_simreal_feed(NULL, c, &g->reals[g->real_next]);
        tw_strlcpy(g->reals[g->real_next].why, "its hello cannot be built",
                   sizeof(g->reals[0].why));
        g->real_next++;
    }
    return g->real_ready;
}

const char *
tw_grader_error(const struct tw_grader *g)
{
    return g->error;
}

/* The plan's next step, planned once per connection; 1 when there is one. */
static int
grader_plan_ready(struct tw_grader *g)
{
    uint8_t rnd[TW_PROBE_RANDOM_LEN];
    uint8_t buf[TW_HELLO_MAX_OUT]; /* built here, kept at its size: a hello is ~1 KB */

    if (!g->step_ready) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            /* No randomness is no secret here (nothing is encrypted), but
             * never send stale bytes twice in a row either. */
            for (size_t i = 0; i < sizeof(rnd); i++)
                rnd[i] = (uint8_t)(i * 131u + (unsigned)tw_gplan_connections(g->plan));
            ERR_clear_error();
        }
        g->out_len = 0;
        g->step = tw_gplan_next(g->plan, rnd, buf, sizeof(buf), &g->out_len);
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

int
tw_grader_pending(struct tw_grader *g)
{
    if (g->stopped)
        return 0;
    if (g->conn == NULL && grader_plan_ready(g))
        return 1;
    /* --simulate real: the clients' own hellos run beside the plan (their
     * answers do not steer it), each as soon as a slot is given. */
    return grader_real_prepare(g);
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

        tw_gplan_feed_end(g->plan, (int)g->pr.outcome);
        tw_gplan_feed_hello(g->plan, rc == TW_HELLO_DONE ? &f : NULL, g->ex.buf, g->ex.len);
    } else if (g->step == TW_GSTEP_RENEG) {
        tw_gplan_feed_reneg(g->plan, g->reneg.started, g->reneg.server_hellos, g->reneg.alert);
    } else if (g->step == TW_GSTEP_CBC) {
        struct tw_cbcrec_reaction r;

        tw_cbcrec_reaction(&g->cbc.keys, g->ex.buf, g->cbc.sent ? g->ex.len : 0, g->cbc.timed_out,
                           &r);
        tw_gplan_feed_cbc(g->plan, g->cbc.sent, &r);
        tw_cbcrec_wipe(&g->cbc.keys);
    } else if (g->step == TW_GSTEP_TICKET) {
        /* Fed in grader_conn_done, where the session is at hand. */
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
    /* Ticketbleed (issue 14): the TLS <= 1.2 ticket of the session the
     * ticket step established, for the plan's resumption hello. */
    if (g->step == TW_GSTEP_TICKET) {
        const SSL_SESSION *sess = ssl != NULL ? SSL_get0_session(ssl) : NULL;
        const unsigned char *tick = NULL;
        size_t tlen = 0;

        static const uint8_t no_ticket[1];

        if (sess != NULL && SSL_version(ssl) <= TLS1_2_VERSION)
            SSL_SESSION_get0_ticket(sess, &tick, &tlen);
        if (sess == NULL)
            tw_gplan_feed_ticket(g->plan, NULL, 0); /* the handshake failed */
        else if (tick == NULL)
            tw_gplan_feed_ticket(g->plan, no_ticket, 0); /* completed, no ticket */
        else
            tw_gplan_feed_ticket(g->plan, tick, tlen);
    }
    if (g->step == TW_GSTEP_HELLO && g->starttls && g->pr.starttls_result != TW_STARTTLS_READY)
        grader_stop(g);
    else
        grader_feed(g);
    /* A vulnerability probe's answer (a Heartbleed over-read) is another
     * process's memory: it leaves no copy here (vuln.h). */
    if ((g->tail || g->wipe) && g->ex.buf != NULL)
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

/* A client's hello ended: its outcome goes to reals[], then the caller's
 * callback (which may free g). */
static void
grader_real_done(void *arg, SSL *ssl)
{
    struct grader_real *rc = arg;
    struct tw_grader *g = rc->g;
    struct tw_server_flight f;
    int parsed = rc->ex.len > 0 ? tw_hello_parse(rc->ex.buf, rc->ex.len, &f) : TW_HELLO_NEED_MORE;

    (void)ssl;
    tw_simreal_feed(parsed == TW_HELLO_DONE ? &f : NULL, grader_real_client(g, rc->idx),
                    &g->reals[rc->idx]);
    g->real_conns[rc->idx] = NULL;
    g->real_running--;
    free(rc->ex.buf);
    free(rc->out);
    free(rc);
    if (g->cb != NULL)
        g->cb(g->arg);
}

/* Send the prepared client hello on its own connection. */
static int
grader_real_start(struct tw_grader *g)
{
    struct grader_real *rc = tw_xcalloc(1, sizeof(*rc));
    struct tw_conn_params p;
    int err;

    rc->g = g;
    rc->idx = g->real_next;
    rc->out = g->real_out;
    rc->out_len = g->real_out_len;
    memset(&p, 0, sizeof(p));
    p.sa = (const struct sockaddr *)&g->sa;
    p.salen = g->salen;
    p.tls = g->tls;
    p.mode = TW_CONN_RAW;
    p.ex = &rc->ex;
    p.kind = g->http_kind;
    p.sni = g->sni[0] != '\0' ? g->sni : NULL;
    p.connect_timeout = g->connect_timeout;
    p.handshake_timeout = g->handshake_timeout;
    if (g->starttls) {
        p.starttls = g->starttls;
        p.starttls_host = g->starttls_host[0] != '\0' ? g->starttls_host : NULL;
    }
    p.out = &rc->pr;
    p.done_cb = grader_real_done;
    p.arg = rc;
    rc->ex.req = rc->out;
    rc->ex.req_len = rc->out_len;
    rc->ex.max = TW_HELLO_FLIGHT_MAX;
    rc->ex.complete = grader_flight_complete;
    err = tw_conn_start(g->pool, &p, &rc->conn);
    if (err < 0) {
        free(rc->ex.buf);
        free(rc); /* the hello stays prepared for the retry */
        return err;
    }
    g->real_out = NULL;
    g->real_out_len = 0;
    g->real_ready = 0;
    g->real_conns[g->real_next++] = rc;
    g->real_running++;
    return 0;
}

int
tw_grader_start(struct tw_grader *g, tw_grader_cb *cb, void *arg)
{
    struct tw_conn_params p;
    int hello;
    int rc;

    if (!tw_grader_pending(g) || g->salen == 0)
        return -EINVAL;
    if (g->conn != NULL || g->step == TW_GSTEP_DONE) {
        g->cb = cb;
        g->arg = arg;
        return grader_real_start(g);
    }
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
    if (g->step == TW_GSTEP_CBC) {
        memset(&g->cbc, 0, sizeof(g->cbc));
        g->cbc.max_version = tw_gplan_cbc_version(g->plan);
        g->cbc.form = tw_gplan_cbc_form(g->plan);
        p.cbc = &g->cbc;
    }
    p.out = &g->pr;
    p.done_cb = grader_conn_done;
    p.arg = g;
    g->ex.req = hello ? g->out : (const uint8_t *)g->req;
    g->ex.req_len = hello ? g->out_len : g->req_len;
    g->ex.max = hello ? TW_HELLO_FLIGHT_MAX : TW_PROBE_HTTP_MAX;
    g->tail = hello && tw_gplan_reads_tail(g->plan);
    g->wipe = hello && tw_gplan_wipes_answer(g->plan);
    if (g->step == TW_GSTEP_TICKET)
        p.ticket_version = tw_gplan_ticket_version(g->plan);
    g->ex.complete = g->step == TW_GSTEP_CBC ? tw_cbcrec_answer_complete
                     : !hello                ? grader_http_complete
                     : g->tail               ? tw_vuln_tail_complete
                                             : grader_flight_complete;
    g->cb = cb;
    g->arg = arg;
    rc = tw_conn_start(g->pool, &p, &g->conn);
    if (rc < 0)
        g->conn = NULL;
    return rc;
}

void
tw_grader_set_ocsp(struct tw_grader *g, int stapled)
{
    tw_gplan_set_ocsp(g->plan, stapled);
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
    for (size_t i = 0; i < TW_GREC_SIMS_MAX; i++) {
        struct grader_real *rc = g->real_conns[i];

        if (rc != NULL) {
            tw_conn_abort(rc->conn);
            free(rc->ex.buf);
            free(rc->out);
            free(rc);
        }
    }
    free(g->real_out);
    tw_gplan_free(g->plan);
    free(g->out);
    free(g->ex.buf);
    free(g);
}
