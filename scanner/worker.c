/*
 * worker.c - one worker thread: inbox -> jobs -> endpoints -> probes (see worker.h).
 *
 * A job is one target line's endpoint request (host x port x SNI).  A name
 * is resolved first (dns.c); each address becomes an endpoint.  An endpoint
 * runs its probes one at a time: it asks for a slot on its address (per-IP
 * cap; waiters queue on the address), then for a connection slot and a rate
 * token (run queue), then runs a conn.  When the plan is empty it is
 * classified; when all endpoints of a job are, the job's results go to the
 * writer together.
 *
 * A STARTTLS endpoint (target scheme, or --starttls auto on a well-known
 * port) runs every classification probe with the same plaintext phase
 * (conn.c) and stores its scheme in the target text.  Its grading probes
 * (grader.c, conns of the same machine) speak the same phase before each
 * raw hello and skip the HTTP probe (HSTS is not applicable to SMTP, IMAP,
 * ...).
 *
 * Grading starts when a classification probe completed a handshake: MAIN,
 * or else the first follow-up that did (WITH_SNI for sni_required,
 * ALL_CIPHERS for no_shared_cipher, ...), whose SNI the grading uses and
 * which the detail names.  An endpoint with no completed handshake is not
 * graded.
 *
 * An endpoint that failed after the server's CertificateRequest
 * (client_cert_required) is graded with MAIN's settings: the hellos of the
 * grading end before the request.  The client policy (--clients) is judged
 * last, in ep_finish: from the grading enumeration, or, with --quick, from
 * MAIN plus at most one MODERN probe (tw_classify_policy_probe).
 *
 * Connection slots and rate tokens come from the scan's shared budget
 * (struct tw_budget, issue 18): a worker takes a slot while it is below
 * its fair share, or beyond it while no worker below its share waits; the
 * worker that gives a slot back wakes every worker that waits for one
 * (the `hungry` flag, set before trying, so that a slot given back between
 * the try and the flag is never missed).  The rate bucket is one for the
 * scan, behind a mutex, refilled from the monotonic clock; each worker's
 * rate timer only retries.
 *
 * The online certificate checks (AIA chain completion, online revocation,
 * issue 14) fetch over HTTP for up to 5 s per URL: never on the loop.  The
 * endpoint hands a copy of its chain and certificate evidence to the scan's
 * fetch threads (struct tw_aia_svc, owned by the budget) and is parked,
 * holding no slot; the fetch thread posts the finished check to the
 * worker's done list (mu) and wakes the loop (ev_async), which copies the
 * answer back and moves the endpoint on.  Other connections go on
 * meanwhile.  An endpoint dropped by an interrupt detaches its check
 * (cancelled: a queued one never fetches); the worker thread waits for its
 * checks still running before it ends, so none outlives it.
 *
 * worker_pump() is the only place that admits targets and starts
 * connections.  It is not reentrant: callbacks that run inside it (DNS cache
 * hits) only ask for another round.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <ev.h>

#include "scanner/aia.h"
#include "scanner/certinfo.h"
#include "scanner/classify.h"
#include "scanner/conn.h"
#include "scanner/dns.h"
#include "scanner/grader.h"
#include "scanner/simreal.h"
#include "scanner/probekind.h"
#include "scanner/starttls.h"
#include "scanner/tlsctx.h"
#include "scanner/worker.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "tls/clients.h"

#define TW_INBOX_CAP 256    /* targets waiting per worker */
#define TW_ADMIT_MARGIN 32  /* endpoints admitted beyond the connection cap */
#define TW_RETRY_AFTER 0.05 /* seconds before retrying when out of sockets */
#define TW_CACHE_LINE 64

/* One worker's place in the budget, alone on its cache line (the flags are
 * read by every worker that gives a slot back). */
struct budget_seat {
    struct tw_worker *w; /* set before any worker starts */
    int share;           /* the slots this worker may always take */
    int hungry;          /* atomic: the worker has probes waiting for a slot */
    int held;            /* atomic: slots the worker holds now */
    char pad[TW_CACHE_LINE - sizeof(struct tw_worker *) - 3 * sizeof(int)];
};

struct tw_budget {
    int conc, n_workers;
    int free; /* atomic: slots nobody holds */
    char pad1[TW_CACHE_LINE - 3 * sizeof(int)];
    int peak; /* atomic: the most slots held at once */
    char pad2[TW_CACHE_LINE - sizeof(int)];
    struct budget_seat *seats;

    /* The scan's rate bucket (rate 0: unlimited; mu guards the rest). */
    double rate, burst, interval;
    pthread_mutex_t mu;
    double tokens, last;

    struct tw_aia_svc *aia; /* the scan's fetch threads and their cache (issue 14) */
};

/* One endpoint's online checks on a fetch thread.  The fetch thread owns
 * sent, ev, fetched while it runs; cancelled is read under the worker's mu;
 * ep is the worker thread's (NULL once the endpoint was dropped). */
struct online {
    struct online *next; /* the worker's done list (mu) */
    struct tw_worker *w;
    struct ep *ep;
    int cancelled;
    int aia, revocation;
    int64_t now;
    STACK_OF(X509) * sent; /* up-referenced copy of the chain sent */
    X509_STORE *store;     /* the worker's (X509_STORE locks itself) */
    struct tw_cert_evidence ev;
    struct tw_result r; /* r.chain: the certificate AIA completed the chain with, if any */
};

struct job;

struct ipslot {
    struct ipslot *next; /* hash chain */
    int family;
    uint8_t addr[16];
    int n_inflight;
    struct ep *wait_head, *wait_tail;
};

struct ep {
    struct job *job;
    double q_t0;       /* when the endpoint began to wait for its next probe's slot */
    double q_secs;     /* the time its probes waited, in all (queue_ms) */
    struct ep *next_q; /* run queue or an address's wait list */
    struct tw_conn *conn;
    struct ipslot *ip;
    int kind;
    int n_probes;
    int grade_kind; /* the probe the grade is based on (ep_grade_begin) */
    int holds_ip;   /* address slots held: one per connection in flight */
    int queued;     /* on the run queue or an address's wait list */
    int got_cert;
    int cert_main; /* the certificate came from the main probe (status_request sent) */
    int classified;
    struct online *online;           /* its online checks while parked, else NULL */
    struct tw_grader *grader;        /* grading probes (after classification), or NULL */
    int grading_inflight;            /* grading connections open (--simulate real: several) */
    double probe_t0;                 /* when the running classification probe started */
    double probe_secs[TW_PK__COUNT]; /* how long each classification probe took */
    struct sockaddr_storage sa;
    socklen_t salen;
    char ipstr[TW_IP_MAX];
    struct tw_evidence ev;
    struct tw_result *r;
};

struct job {
    struct job *prev, *next;
    struct tw_worker *w;
    double t0;
    int64_t started_at;
    int dns_pending;
    int n_eps, n_left;
    struct ep *eps[TW_DNS_ADDRS_MAX];
    struct tw_target t;
};

struct tw_worker {
    int id;
    const struct tw_config *cfg;
    struct tw_writer *writer;
    struct tw_budget *budget;
    tw_worker_exit_cb *exit_cb;
    void *exit_arg;
    pthread_t thread;
    int started;

    struct ev_loop *loop;
    ev_async wake;
    ev_timer rate_timer;
    ev_timer retry_timer;
    struct tw_dns *dns;
    struct tw_tlsctx tls;
    X509_STORE *store;
    struct tw_conn_pool *pool;

    /* The inbox, shared with the reader thread (mu). */
    pthread_mutex_t mu;
    pthread_cond_t cv_space;
    struct tw_target *inbox;
    size_t in_head, in_len;
    int in_closed;
    int stop_req;
    struct online *online_done; /* online checks finished by a fetch thread */
    int n_online;               /* online checks submitted and not yet posted back */
    pthread_cond_t cv_online;   /* n_online went down */

    /* The worker thread's own state: no locks. */
    int conc, share, per_ip; /* conc: the whole scan's; share: this worker's fair part */
    int n_conns, n_jobs, n_eps;
    struct job *jobs;
    struct ep *runq_head, *runq_tail;
    struct ipslot **ipt;
    size_t ipt_mask;
    int in_pump, pump_again, stopping, drained;
    double run_t0; /* the loop's time when worker_run began (queue_ms ends there) */

    struct tw_worker_stats st; /* written here with relaxed atomics */
};

#define STAT_ADD(w, field, n) __atomic_add_fetch(&(w)->st.field, (n), __ATOMIC_RELAXED)
#define STAT_SUB(w, field, n) __atomic_sub_fetch(&(w)->st.field, (n), __ATOMIC_RELAXED)

static void worker_pump(struct tw_worker *w);
static void ep_schedule(struct ep *ep);
static void ep_online_begin(struct ep *ep, SSL *ssl, int64_t now);
static void ep_probe_next(struct ep *ep);

/* ---- the shared budget ------------------------------------------------------ */

static double
budget_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tw_budget *
tw_budget_new(int conc, double rate, int n_workers)
{
    struct tw_budget *b = tw_xcalloc(1, sizeof(*b));

    b->conc = conc > 0 ? conc : 1;
    b->n_workers = n_workers > 0 ? n_workers : 1;
    b->free = b->conc;
    b->seats = tw_xcalloc((size_t)b->n_workers, sizeof(*b->seats));
    b->aia = tw_aia_svc_new();
    for (int i = 0; i < b->n_workers; i++)
        b->seats[i].share = b->conc / b->n_workers + (i < b->conc % b->n_workers ? 1 : 0);
    pthread_mutex_init(&b->mu, NULL);
    b->rate = rate > 0 ? rate : 0;
    if (b->rate > 0) {
        /* Refill often enough that one token arrives per tick at low rates
         * and bursts stay small (a tenth of a second's worth) at high ones. */
        b->interval = 1.0 / b->rate;
        if (b->interval < 0.01)
            b->interval = 0.01;
        if (b->interval > 0.1)
            b->interval = 0.1;
        b->burst = b->rate * b->interval;
        /* At least two: a timer tick that comes a little early finds 0.99
         * tokens, and the next one must not lose what the late one kept. */
        if (b->burst < 2.0)
            b->burst = 2.0;
        b->tokens = 1.0;
        b->last = budget_mono();
    }
    return b;
}

void
tw_budget_free(struct tw_budget *b)
{
    if (b == NULL)
        return;
    tw_aia_svc_free(b->aia);
    pthread_mutex_destroy(&b->mu);
    free(b->seats);
    free(b);
}

int
tw_budget_peak(const struct tw_budget *b)
{
    return __atomic_load_n(&b->peak, __ATOMIC_RELAXED);
}

/* Take one rate token (1), or none is left now (0, *wait: the seconds until
 * the next one is due).  Unlimited: always 1. */
static int
budget_token_take(struct tw_budget *b, double *wait)
{
    int ok = 0;
    double now;

    if (b->rate <= 0)
        return 1;
    now = budget_mono();
    pthread_mutex_lock(&b->mu);
    b->tokens += (now - b->last) * b->rate;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        ok = 1;
    } else {
        *wait = (1.0 - b->tokens) / b->rate;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

/* Give back a token that was not used (no socket could be made). */
static void
budget_token_return(struct tw_budget *b)
{
    if (b->rate <= 0)
        return;
    pthread_mutex_lock(&b->mu);
    b->tokens += 1.0;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    pthread_mutex_unlock(&b->mu);
}

/* Does another worker below its share wait for a slot? */
static int
budget_other_waits(const struct tw_budget *b, int self)
{
    for (int i = 0; i < b->n_workers; i++) {
        const struct budget_seat *o = &b->seats[i];

        if (i != self && __atomic_load_n(&o->hungry, __ATOMIC_SEQ_CST) &&
            __atomic_load_n(&o->held, __ATOMIC_RELAXED) < o->share)
            return 1;
    }
    return 0;
}

/*
 * Take one connection slot for w (1), or not now (0: w stays hungry and is
 * woken when a slot is given back).  Beyond its share a worker yields to
 * the workers below theirs that wait.
 */
static int
budget_slot_take(struct tw_worker *w)
{
    struct tw_budget *b = w->budget;
    struct budget_seat *me = &b->seats[w->id];
    int f, used, peak;

    __atomic_store_n(&me->hungry, 1, __ATOMIC_SEQ_CST);
    if (w->n_conns >= me->share && budget_other_waits(b, w->id))
        return 0;
    f = __atomic_load_n(&b->free, __ATOMIC_SEQ_CST);
    while (f > 0) {
        if (__atomic_compare_exchange_n(&b->free, &f, f - 1, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            __atomic_add_fetch(&me->held, 1, __ATOMIC_RELAXED);
            used = b->conc - (f - 1);
            peak = __atomic_load_n(&b->peak, __ATOMIC_RELAXED);
            while (used > peak && !__atomic_compare_exchange_n(&b->peak, &peak, used, 0,
                                                               __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
            return 1;
        }
    }
    return 0;
}

/* Wake every other worker that waits for a slot. */
static void
budget_wake_hungry(struct tw_worker *w)
{
    struct tw_budget *b = w->budget;

    for (int i = 0; i < b->n_workers; i++) {
        struct budget_seat *o = &b->seats[i];

        if (i != w->id && o->w != NULL && __atomic_load_n(&o->hungry, __ATOMIC_SEQ_CST))
            ev_async_send(o->w->loop, &o->w->wake);
    }
}

/*
 * w no longer waits for a slot (its run queue is empty, or it waits for
 * something else: a rate token, a socket).  A worker beyond its share may
 * have yielded free slots to w: it is woken to take them now, not when the
 * next connection ends (with 10,000 tarpits, one whole timeout later).
 */
static void
budget_not_hungry(struct tw_worker *w)
{
    struct tw_budget *b = w->budget;

    if (__atomic_exchange_n(&b->seats[w->id].hungry, 0, __ATOMIC_SEQ_CST) &&
        __atomic_load_n(&b->free, __ATOMIC_SEQ_CST) > 0)
        budget_wake_hungry(w);
}

/* Give a slot back and wake every worker that waits for one. */
static void
budget_slot_give(struct tw_worker *w)
{
    struct tw_budget *b = w->budget;

    __atomic_sub_fetch(&b->seats[w->id].held, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&b->free, 1, __ATOMIC_SEQ_CST);
    budget_wake_hungry(w);
}

/* A connection of w ended: its slot goes back to the budget. */
static void
worker_conn_end(struct tw_worker *w)
{
    w->n_conns--;
    STAT_SUB(w, in_flight, 1);
    budget_slot_give(w);
}

/* ---- per-address slots -------------------------------------------------- */

static size_t
ip_hash(int family, const uint8_t *addr)
{
    uint64_t h = 1469598103934665603ull;

    h ^= (uint64_t)family;
    h *= 1099511628211ull;
    for (int i = 0; i < 16; i++) {
        h ^= addr[i];
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static struct ipslot *
ip_get(struct tw_worker *w, int family, const uint8_t *addr)
{
    size_t b = ip_hash(family, addr) & w->ipt_mask;
    struct ipslot *s;

    for (s = w->ipt[b]; s != NULL; s = s->next)
        if (s->family == family && memcmp(s->addr, addr, 16) == 0)
            return s;
    s = tw_xcalloc(1, sizeof(*s));
    s->family = family;
    memcpy(s->addr, addr, 16);
    s->next = w->ipt[b];
    w->ipt[b] = s;
    return s;
}

static void
ip_put(struct tw_worker *w, struct ipslot *s)
{
    size_t b;
    struct ipslot **pp;

    if (s->n_inflight > 0 || s->wait_head != NULL)
        return;
    b = ip_hash(s->family, s->addr) & w->ipt_mask;
    for (pp = &w->ipt[b]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            free(s);
            return;
        }
    }
}

static void
runq_push(struct tw_worker *w, struct ep *ep)
{
    ep->next_q = NULL;
    if (w->runq_tail != NULL)
        w->runq_tail->next_q = ep;
    else
        w->runq_head = ep;
    w->runq_tail = ep;
}

static void
runq_push_front(struct tw_worker *w, struct ep *ep)
{
    ep->next_q = w->runq_head;
    w->runq_head = ep;
    if (w->runq_tail == NULL)
        w->runq_tail = ep;
}

static struct ep *
runq_pop(struct tw_worker *w)
{
    struct ep *ep = w->runq_head;

    if (ep == NULL)
        return NULL;
    w->runq_head = ep->next_q;
    if (w->runq_head == NULL)
        w->runq_tail = NULL;
    ep->next_q = NULL;
    return ep;
}

/* Give up the endpoint's address slot and pass it to the next waiter. */
static void
ep_release_ip(struct tw_worker *w, struct ep *ep)
{
    struct ipslot *s = ep->ip;
    struct ep *next;

    if (s == NULL || ep->holds_ip <= 0)
        return;
    if (--ep->holds_ip == 0 && !ep->queued)
        ep->ip = NULL;
    s->n_inflight--;
    next = s->wait_head;
    if (next != NULL) {
        s->wait_head = next->next_q;
        if (s->wait_head == NULL)
            s->wait_tail = NULL;
        s->n_inflight++;
        next->holds_ip++;
        runq_push(w, next);
        w->pump_again = 1;
    }
    ip_put(w, s);
}

/* ---- jobs and endpoints --------------------------------------------------- */

static struct tw_result *
job_result_new(const struct job *j, const char *ipstr)
{
    struct tw_result *r = tw_xcalloc(1, sizeof(*r));
    const struct tw_target *t = &j->t;
    char target[TW_HOST_MAX + 32];

    tw_strlcpy(r->host, t->host, sizeof(r->host));
    tw_strlcpy(r->ip, ipstr, sizeof(r->ip));
    r->port = t->port;
    r->has_sni = t->has_sni;
    if (t->has_sni)
        tw_strlcpy(r->sni, t->sni, sizeof(r->sni));
    /* A STARTTLS endpoint keeps its scheme ("smtp://mail.example:25"), so that
     * reports rebuild "-starttls NAME" from the target text alone. */
    r->starttls = t->starttls;
    snprintf(target, sizeof(target), "%s%s%s%s%s:%u",
             t->starttls ? tw_starttls_name(t->starttls) : "", t->starttls ? "://" : "",
             t->family == AF_INET6 ? "[" : "", t->host, t->family == AF_INET6 ? "]" : "",
             (unsigned)t->port);
    r->target = tw_xstrdup(target);
    r->started_at = j->started_at;
    r->cls = TW_CLASS_OK;
    return r;
}

static void
ep_free(struct ep *ep)
{
    if (ep == NULL)
        return;
    if (ep->conn != NULL)
        tw_conn_abort(ep->conn);
    if (ep->online != NULL) {
        struct tw_worker *w = ep->job->w;

        /* Its check still runs or waits on a fetch thread: it finds no
         * endpoint when it comes back (a queued one fetches nothing). */
        pthread_mutex_lock(&w->mu);
        ep->online->cancelled = 1;
        ep->online->ep = NULL;
        pthread_mutex_unlock(&w->mu);
        ep->online = NULL;
    }
    tw_grader_free(ep->grader);
    tw_result_free(ep->r);
    free(ep);
}

static void
job_free(struct tw_worker *w, struct job *j)
{
    for (int i = 0; i < j->n_eps; i++) {
        if (j->eps[i] != NULL && j->eps[i]->conn != NULL)
            worker_conn_end(w);
        for (int k = 0; j->eps[i] != NULL && k < j->eps[i]->grading_inflight; k++)
            worker_conn_end(w);
        ep_free(j->eps[i]);
    }
    w->n_eps -= j->n_eps;
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        w->jobs = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    w->n_jobs--;
    free(j);
}

static void
worker_count(struct tw_worker *w, const struct tw_result *r)
{
    STAT_ADD(w, done, 1);
    if ((unsigned)r->cls < TW_CLASS__COUNT)
        STAT_ADD(w, by_class[r->cls], 1);
    if (r->cls == TW_CLASS_OK)
        STAT_ADD(w, ok, 1);
    else if (tw_class_info(r->cls)->is_failure)
        STAT_ADD(w, failed, 1);
}

/* Every endpoint of the job is classified: hand the results over together. */
static void
job_finish(struct tw_worker *w, struct job *j)
{
    for (int i = 0; i < j->n_eps; i++) {
        struct tw_result *r = j->eps[i]->r;

        j->eps[i]->r = NULL;
        worker_count(w, r);
        tw_writer_push(w->writer, r); /* takes ownership; may block (back-pressure) */
    }
    STAT_ADD(w, targets_done, 1);
    job_free(w, j);
    w->pump_again = 1;
}

static void
ep_finish(struct ep *ep)
{
    struct job *j = ep->job;
    struct tw_worker *w = j->w;

    if (!ep->classified)
        tw_classify(&ep->ev, ep->r);
    ep->classified = 1;
    /* The client policy last: from the grading enumeration when graded (no
     * extra connection), else from the handshake (tw_classify_policy). */
    tw_classify_policy(&ep->ev, ep->r->grading, w->cfg->clients, ep->r);
    /* Every reference client against what grading enumerated (issue 13):
     * no connection. */
    if (ep->r->grading != NULL) {
        const struct tw_clients_set *set = w->cfg->client_set;

        tw_gplan_simulate(ep->r->grading, ep->r, ep->ev.cert.hostname_ok_cn,
                          ep->ev.cert.leaf_has_aia_issuer,
                          set != NULL ? set->sim : w->cfg->sim_clients,
                          set != NULL ? set->n_sim : w->cfg->n_sim_clients);
        tw_simreal_judge(ep->r->grading); /* --simulate real: sim vs real */
    }
    /* A set of reference clients is judged from their simulation. */
    if (w->cfg->clients == TW_CLIENTS_SET)
        tw_classify_policy_set(&ep->ev, ep->r->grading, w->cfg->client_set, ep->r);
    /* The endpoint's own time, without the time it waited for slots. */
    ep->r->queue_ms = (int64_t)(ep->q_secs * 1000.0);
    ep->r->elapsed_ms = (int64_t)((ev_now(w->loop) - j->t0) * 1000.0) - ep->r->queue_ms;
    if (ep->r->elapsed_ms < 0)
        ep->r->elapsed_ms = 0;
    if (--j->n_left == 0)
        job_finish(w, j);
}

static const char *
ep_sni(const struct ep *ep, int kind)
{
    const struct tw_target *t = &ep->job->t;
    const char *target_sni = t->has_sni && t->sni[0] != '\0' ? t->sni : NULL;
    const char *name = t->family == 0 ? t->host : NULL;

    return tw_probe_kind_sni(kind, target_sni, name);
}

/* Append "; text" to the result's detail. */
static void
ep_note(struct tw_result *r, const char *text)
{
    char *d = tw_xmalloc(TW_DETAIL_MAX);

    snprintf(d, TW_DETAIL_MAX, "%s%s%s", r->detail ? r->detail : "",
             r->detail && r->detail[0] ? "; " : "", text);
    tw_result_set_detail(r, d);
    free(d);
}

/* A grading connection ended: plan the next one, or grade and finish. */
static void
ep_grade_done(void *arg)
{
    struct ep *ep = arg;
    struct tw_worker *w = ep->job->w;

    ep->grading_inflight--;
    worker_conn_end(w);
    ep_release_ip(w, ep);
    if (!w->stopping && tw_grader_pending(ep->grader)) {
        ep_schedule(ep);
    } else if (ep->queued || tw_grader_running(ep->grader) > 0) {
        /* --simulate real: the endpoint's other connections end later. */
    } else {
        /* MZ12 (issue 13): only the main probe asked for a staple. */
        tw_grader_set_ocsp(ep->grader, !ep->cert_main                     ? -1
                                       : ep->ev.cert.ocsp != TW_OCSP_NONE ? 1
                                                                          : 0);
        if (tw_grader_finish(ep->grader, ep->r, ep->n_probes) < 0) {
            char note[256];

            snprintf(note, sizeof(note), "not graded: %s", tw_grader_error(ep->grader));
            ep_note(ep->r, note);
        } else if (ep->grade_kind != TW_PK_MAIN) {
            char note[128];

            snprintf(note, sizeof(note), "graded with the %s probe's settings (main failed)",
                     tw_probe_kind_name(ep->grade_kind));
            ep_note(ep->r, note);
        }
        tw_grader_free(ep->grader);
        ep->grader = NULL;
        ep_finish(ep);
    }
    worker_pump(w);
}

/*
 * The classification probe a grade can be based on: MAIN when it completed,
 * else the first follow-up that did, SNI fixes first (sni_required), then
 * the broad cipher list (no_shared_cipher), then the one-version probes.
 * -1 when no probe completed a handshake.
 */
static int
ep_grade_base(const struct ep *ep)
{
    static const int order[] = {TW_PK_MAIN,  TW_PK_WITH_SNI, TW_PK_NO_SNI, TW_PK_ALL_CIPHERS,
                                TW_PK_TLS13, TW_PK_TLS12,    TW_PK_TLS11,  TW_PK_TLS10};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (ep->ev.probe[order[i]].outcome == TW_PROBE_OK)
            return order[i];
    /* A server that requires a client certificate fails every handshake
     * without one, but after its ServerHello and Certificate: the grading
     * enumeration (hellos, not full handshakes) still sees everything, so
     * MAIN's settings are graded (issue 13). */
    if (ep->ev.probe[TW_PK_MAIN].cert_requested && ep->got_cert)
        return TW_PK_MAIN;
    return -1;
}

/*
 * Classification is over: grade the endpoint when a classification probe
 * completed a handshake (ep_grade_base) and the scan is not --quick, with
 * that probe's SNI.  Returns 1 when grading probes were scheduled
 * (ep_grade_done finishes the endpoint), 0 when not graded.
 */
static int
ep_grade_begin(struct ep *ep)
{
    struct job *j = ep->job;
    struct tw_worker *w = j->w;
    struct tw_grader_params gp;
    int base = ep_grade_base(ep);
    const char *sni;
    char host[TW_HOST_MAX + 16];
    const char *name;

    if (w->cfg->quick || w->stopping || base < 0)
        return 0;
    sni = ep_sni(ep, base);
    name = sni != NULL ? sni : j->t.host;
    tw_classify(&ep->ev, ep->r); /* the grade needs the issues */
    ep->classified = 1;
    ep->grade_kind = base;
    /* Host: the name the certificate is for; an address in brackets for IPv6. */
    if (sni == NULL && strchr(name, ':') != NULL)
        snprintf(host, sizeof(host), "[%s]", name);
    else
        snprintf(host, sizeof(host), "%s", name);
    if (j->t.port != 443) {
        size_t n = strlen(host);

        snprintf(host + n, sizeof(host) - n, ":%u", (unsigned)j->t.port);
    }
    memset(&gp, 0, sizeof(gp));
    gp.loop = w->loop;
    gp.pool = w->pool;
    gp.sa = (const struct sockaddr *)&ep->sa;
    gp.salen = ep->salen;
    gp.tls = &w->tls;
    gp.sni = sni;
    gp.host_header = host;
    gp.http_kind = (enum tw_probe_kind)base;
    /* STARTTLS: the same plaintext phase before every raw hello, no HTTP
     * probe; XMPP names the domain as the classification probes do. */
    gp.starttls = j->t.starttls;
    gp.starttls_host = j->t.has_sni && j->t.sni[0] != '\0' ? j->t.sni : j->t.host;
    gp.connect_timeout =
        w->cfg->connect_timeout > 0 ? w->cfg->connect_timeout : TW_CFG_DEFAULT_CONNECT_TIMEOUT;
    /* A server that already completed a handshake answers a hello quickly; a
     * short deadline bounds what servers that ignore old hellos (SSLv2, SSLv3)
     * cost: up to one deadline per protocol. */
    gp.handshake_timeout = w->cfg->probe_timeout > 0 ? w->cfg->probe_timeout
                           : w->cfg->handshake_timeout > 0 &&
                                   w->cfg->handshake_timeout < TW_CFG_DEFAULT_PROBE_TIMEOUT_CAP
                               ? w->cfg->handshake_timeout
                               : TW_CFG_DEFAULT_PROBE_TIMEOUT_CAP;
    /* A slow endpoint gets more (issue 14): twice its own handshake, up to
     * the handshake timeout (tw_grader_timeout). */
    gp.observed_handshake = ep->probe_secs[base];
    gp.handshake_cap = w->cfg->handshake_timeout;
    /* --simulate real: the same clients tw_gplan_simulate judges, each
     * sending the target's name when it sends SNI (issue 13). */
    if (w->cfg->simulate_real) {
        const struct tw_clients_set *set = w->cfg->client_set;

        gp.real_clients = set != NULL ? set->sim : w->cfg->sim_clients;
        gp.real_n = set != NULL ? set->n_sim : w->cfg->n_sim_clients;
        if (gp.real_clients == NULL)
            gp.real_n = 1; /* the built-in table: the grader takes its size */
        gp.real_sni = ep->r->has_sni ? ep->r->sni : NULL;
    }
    ep->grader = tw_grader_new(&gp);
    if (!tw_grader_pending(ep->grader)) {
        tw_grader_free(ep->grader);
        ep->grader = NULL;
        return 0;
    }
    ep_schedule(ep);
    return 1;
}

static void
ep_probe_done(void *arg, SSL *ssl)
{
    struct ep *ep = arg;
    struct job *j = ep->job;
    struct tw_worker *w = j->w;
    struct tw_probe_result *pr = &ep->ev.probe[ep->kind];

    ep->conn = NULL;
    worker_conn_end(w);
    ep->probe_secs[ep->kind] = ev_now(w->loop) - ep->probe_t0;
    /* ssl also comes with a handshake that failed after a CertificateRequest
     * (conn.h): its chain is judged, its version and cipher are not kept. */
    if (ssl != NULL) {
        if (pr->outcome == TW_PROBE_OK && ep->r->tls_version[0] == '\0') {
            tw_strlcpy(ep->r->tls_version, SSL_get_version(ssl), sizeof(ep->r->tls_version));
            tw_strlcpy(ep->r->cipher, pr->cipher, sizeof(ep->r->cipher));
        }
        if (!ep->got_cert) {
            const char *sni = ep_sni(ep, ep->kind);
            const char *name = sni != NULL ? sni : (j->t.family == 0 ? j->t.host : NULL);
            int64_t now = w->cfg->has_now ? w->cfg->now : (int64_t)time(NULL);

            ep->got_cert = 1;
            ep->cert_main = ep->kind == TW_PK_MAIN;
            tw_certinfo_collect(ssl, w->store, name, ep->ipstr, now, &ep->ev.cert, ep->r);
            if (!w->stopping &&
                tw_certinfo_online_wanted(SSL_get_peer_cert_chain(ssl), &ep->ev.cert,
                                          !w->cfg->no_aia, !w->cfg->no_revocation)) {
                ep_release_ip(w, ep);
                ep_online_begin(ep, ssl, now);
                worker_pump(w);
                return; /* parked: ep_online_done moves it on */
            }
        }
    }
    ep_release_ip(w, ep);
    ep_probe_next(ep);
    worker_pump(w);
}

/* The fetch thread's side: the checks on the copies, then the post back. */
static void
online_run(void *arg)
{
    struct online *o = arg;
    struct tw_worker *w = o->w;
    int cancelled;

    pthread_mutex_lock(&w->mu);
    cancelled = o->cancelled;
    pthread_mutex_unlock(&w->mu);
    if (!cancelled) {
        if (o->aia)
            tw_certinfo_complete_aia_chain(o->sent, o->store, o->now, &o->ev, &o->r);
        if (o->revocation)
            tw_certinfo_check_revocation_chain(o->sent, o->store, o->now, &o->ev);
    }
    pthread_mutex_lock(&w->mu);
    o->next = w->online_done;
    w->online_done = o;
    w->n_online--;
    /* Under mu: the worker thread that waits for n_online == 0 frees the
     * loop only after this send. */
    ev_async_send(w->loop, &w->wake);
    pthread_cond_broadcast(&w->cv_online);
    pthread_mutex_unlock(&w->mu);
}

static void
online_free(struct online *o)
{
    for (size_t i = 0; i < o->r.n_chain; i++) {
        free(o->r.chain[i].san);
        free(o->r.chain[i].pem);
    }
    free(o->r.chain);
    sk_X509_pop_free(o->sent, X509_free);
    free(o);
}

/* Park ep and hand its online checks to the scan's fetch threads. */
static void
ep_online_begin(struct ep *ep, SSL *ssl, int64_t now)
{
    struct tw_worker *w = ep->job->w;
    struct online *o = tw_xcalloc(1, sizeof(*o));

    o->w = w;
    o->ep = ep;
    o->aia = !w->cfg->no_aia;
    o->revocation = !w->cfg->no_revocation;
    o->now = now;
    o->sent = X509_chain_up_ref(SSL_get_peer_cert_chain(ssl));
    o->store = w->store;
    o->ev = ep->ev.cert;
    ep->online = o;
    pthread_mutex_lock(&w->mu);
    w->n_online++;
    pthread_mutex_unlock(&w->mu);
    tw_aia_svc_submit(w->budget->aia, online_run, o);
}

/* Back on the worker thread: the checks' answer into the endpoint, which
 * moves on as if its probe had just ended. */
static void
ep_online_done(struct online *o)
{
    struct ep *ep = o->ep;

    if (ep == NULL) {
        online_free(o);
        return;
    }
    ep->online = NULL;
    ep->ev.cert = o->ev;
    for (size_t i = 0; i < o->r.n_chain; i++) {
        if (ep->r->n_chain < TW_CHAIN_MAX) {
            ep->r->chain = tw_xrealloc(ep->r->chain, (ep->r->n_chain + 1) * sizeof(*ep->r->chain));
            ep->r->chain[ep->r->n_chain++] = o->r.chain[i];
        } else {
            free(o->r.chain[i].san);
            free(o->r.chain[i].pem);
        }
    }
    o->r.n_chain = 0;
    online_free(o);
    ep_probe_next(ep);
}

/* The plan after a classification probe: the next probe, grading, or done. */
static void
ep_probe_next(struct ep *ep)
{
    struct job *j = ep->job;
    struct tw_worker *w = j->w;
    int next = -1;

    if (!w->cfg->quick && !w->stopping && ep->n_probes < TW_PK__COUNT) {
        next = tw_classify_next_probe(&ep->ev, j->t.family == 0);
        /* A plan that repeats a probe would never end: stop there. */
        if (next < 0 || next >= TW_PK__COUNT || ep->ev.probe[next].outcome != TW_PROBE_NOT_RUN)
            next = -1;
    } else if (w->cfg->quick && !w->stopping) {
        /* --quick grades nothing: one more handshake, with only the modern
         * clients' suites, when MAIN's suite is not one of them. */
        next = tw_classify_policy_probe(&ep->ev, w->cfg->clients);
    }
    if (next >= 0) {
        ep->kind = next;
        ep_schedule(ep);
    } else if (!ep_grade_begin(ep)) {
        ep_finish(ep);
    }
}

/* The endpoint waited from q_t0 until the run that starts its probe began:
 * the connections that run starts ahead of it are the scanner's own work,
 * not a wait for a slot or a token (the run reads the clock before each
 * connect, so that each gets its whole timeout). */
static void
ep_queued(const struct tw_worker *w, struct ep *ep)
{
    if (w->run_t0 > ep->q_t0)
        ep->q_secs += w->run_t0 - ep->q_t0;
}

/* Start the endpoint's current probe.  0, or -errno (out of sockets). */
static int
ep_start_probe(struct tw_worker *w, struct ep *ep)
{
    struct tw_conn_params p;
    int rc;

    if (ep->grader != NULL) {
        rc = tw_grader_start(ep->grader, ep_grade_done, ep);
        if (rc < 0)
            return rc;
        /* The queue time counts while nothing of the endpoint runs. */
        if (ep->grading_inflight++ == 0)
            ep_queued(w, ep);
        ep->n_probes++;
        w->n_conns++;
        STAT_ADD(w, in_flight, 1);
        STAT_ADD(w, conns, 1);
        /* --simulate real: the clients' hellos run beside the plan, each in
         * its own address slot and connection slot like any connection. */
        if (!w->stopping && tw_grader_pending(ep->grader))
            ep_schedule(ep);
        return 0;
    }
    memset(&p, 0, sizeof(p));
    p.sa = (const struct sockaddr *)&ep->sa;
    p.salen = ep->salen;
    p.tls = &w->tls;
    p.kind = (enum tw_probe_kind)ep->kind;
    p.sni = ep_sni(ep, ep->kind);
    p.connect_timeout =
        w->cfg->connect_timeout > 0 ? w->cfg->connect_timeout : TW_CFG_DEFAULT_CONNECT_TIMEOUT;
    p.handshake_timeout = w->cfg->handshake_timeout > 0 ? w->cfg->handshake_timeout
                                                        : TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT;
    /* Every probe of a STARTTLS endpoint (MAIN and follow-ups) speaks the
     * plaintext phase first; XMPP names the domain: the SNI, else the host. */
    p.starttls = ep->job->t.starttls;
    p.starttls_host =
        ep->job->t.has_sni && ep->job->t.sni[0] != '\0' ? ep->job->t.sni : ep->job->t.host;
    p.out = &ep->ev.probe[ep->kind];
    p.ca_names = &ep->r->ca_names;
    p.done_cb = ep_probe_done;
    p.arg = ep;
    ep->probe_t0 = ev_now(w->loop);
    rc = tw_conn_start(w->pool, &p, &ep->conn);
    if (rc < 0)
        return rc;
    ep_queued(w, ep);
    ep->n_probes++;
    w->n_conns++;
    STAT_ADD(w, in_flight, 1);
    STAT_ADD(w, conns, 1);
    return 0;
}

/* The endpoint wants a connection for ep->kind: take an address slot or wait. */
static void
ep_schedule(struct ep *ep)
{
    struct tw_worker *w = ep->job->w;
    const struct sockaddr *sa = (const struct sockaddr *)&ep->sa;
    uint8_t key[16] = {0};
    struct ipslot *s;

    if (ep->queued)
        return; /* already waiting for its next connection */
    ep->queued = 1;
    if (sa->sa_family == AF_INET)
        memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    s = ip_get(w, sa->sa_family, key);
    ep->ip = s;
    ep->q_t0 = ev_now(w->loop);
    if (s->n_inflight < w->per_ip) {
        s->n_inflight++;
        ep->holds_ip++;
        runq_push(w, ep);
        w->pump_again = 1;
        return;
    }
    ep->next_q = NULL;
    if (s->wait_tail != NULL)
        s->wait_tail->next_q = ep;
    else
        s->wait_head = ep;
    s->wait_tail = ep;
}

static struct ep *
ep_new(struct job *j, int family, const uint8_t *addr)
{
    struct ep *ep = tw_xcalloc(1, sizeof(*ep));

    ep->job = j;
    ep->kind = TW_PK_MAIN;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ep->sa;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(j->t.port);
        memcpy(&sin->sin_addr, addr, 4);
        ep->salen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->sa;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(j->t.port);
        memcpy(&sin6->sin6_addr, addr, 16);
        ep->salen = sizeof(*sin6);
    }
    inet_ntop(family, addr, ep->ipstr, sizeof(ep->ipstr));
    ep->r = job_result_new(j, ep->ipstr);
    ep->ev.dns = j->t.family == 0 ? TW_DNS_OK : TW_DNS_NOT_ASKED;
    ep->ev.sent_sni = j->t.has_sni && j->t.sni[0] != '\0';
    ep->ev.check_names = j->w->cfg->check_names;
    for (int k = 0; k < TW_PK__COUNT; k++)
        ep->ev.probe[k].alert = -1;
    return ep;
}

static void
job_dns_cb(void *arg, const struct tw_dns_answer *ans)
{
    struct job *j = arg;
    struct tw_worker *w = j->w;

    j->dns_pending = 0;
    if (ans == NULL)
        return; /* cancelled: the teardown frees the job */
    if (ans->outcome != TW_DNS_OK) {
        struct ep *ep = tw_xcalloc(1, sizeof(*ep));

        ep->job = j;
        ep->r = job_result_new(j, "");
        ep->ev.dns = ans->outcome;
        ep->ev.dns_status = ans->status;
        for (int k = 0; k < TW_PK__COUNT; k++)
            ep->ev.probe[k].alert = -1;
        j->eps[0] = ep;
        j->n_eps = j->n_left = 1;
        w->n_eps++;
        ep_finish(ep);
        worker_pump(w);
        return;
    }
    j->n_eps = j->n_left = ans->n;
    w->n_eps += ans->n;
    for (int i = 0; i < ans->n; i++) {
        j->eps[i] = ep_new(j, ans->a[i].family, ans->a[i].addr);
        j->eps[i]->ev.dns_status = ans->status;
    }
    for (int i = 0; i < ans->n; i++)
        ep_schedule(j->eps[i]);
    worker_pump(w);
}

static void
job_start(struct tw_worker *w, struct job *j)
{
    j->w = w;
    j->t0 = ev_now(w->loop);
    j->started_at = (int64_t)time(NULL);
    /* --starttls auto: a target without a scheme on a well-known STARTTLS
     * port (25, 587, 143, 110, 21, 5222, 389, 5432) speaks that protocol. */
    if (w->cfg->starttls_auto && j->t.starttls == TW_STARTTLS_NONE)
        j->t.starttls = tw_starttls_for_port(j->t.port);
    j->next = w->jobs;
    if (w->jobs != NULL)
        w->jobs->prev = j;
    w->jobs = j;
    w->n_jobs++;
    if (j->t.family == 0) {
        j->dns_pending = 1;
        tw_dns_resolve(w->dns, j->t.host, job_dns_cb, j);
        return;
    }
    j->eps[0] = ep_new(j, j->t.family, j->t.addr);
    j->n_eps = j->n_left = 1;
    w->n_eps++;
    ep_schedule(j->eps[0]);
}

/* ---- the loop --------------------------------------------------------------- */

/* Take targets from the inbox while there is room for their endpoints, at
 * most one inbox's worth per round: the reader refills the inbox while the
 * worker takes from it, so an unbounded loop started no connection until the
 * whole list was read (1.2 s for 10,000 targets on a loaded machine, issue
 * 18).  The pump runs another round when the batch was full. */
static void
worker_admit(struct tw_worker *w)
{
    /* Any worker may come to hold the whole budget (it borrows), but holds
     * at most a share's worth of targets that wait (for DNS, an address, a
     * slot): the rest stay in the inbox. */
    int cap = w->conc + TW_ADMIT_MARGIN;
    int waiting_cap = w->share + TW_ADMIT_MARGIN;

    for (int taken = 0;; taken++) {
        struct job *j = NULL;

        if (taken == TW_INBOX_CAP) {
            w->pump_again = 1;
            return;
        }

        pthread_mutex_lock(&w->mu);
        if (w->in_len > 0 && w->n_jobs < cap && w->n_eps < cap &&
            w->n_jobs - w->n_conns < waiting_cap && !w->stop_req) {
            j = tw_xcalloc(1, sizeof(*j));
            j->t = w->inbox[w->in_head];
            w->in_head = (w->in_head + 1) % TW_INBOX_CAP;
            if (w->in_len-- == TW_INBOX_CAP)
                pthread_cond_signal(&w->cv_space);
        }
        w->drained = w->in_closed && w->in_len == 0;
        pthread_mutex_unlock(&w->mu);
        if (j == NULL)
            return;
        job_start(w, j);
    }
}

/* Start queued probes while connections and rate tokens allow. */
static void
worker_run(struct tw_worker *w)
{
    struct ep *ep;
    int rc;

    w->run_t0 = ev_now(w->loop);
    while (w->runq_head != NULL) {
        double wait = 0;

        if (!budget_token_take(w->budget, &wait)) {
            budget_not_hungry(w);
            /* The rate timer pumps again when the next token is due. */
            if (!ev_is_active(&w->rate_timer)) {
                ev_timer_set(&w->rate_timer, wait > 0.001 ? wait : 0.001, 0.);
                ev_timer_start(w->loop, &w->rate_timer);
            }
            return;
        }
        if (!budget_slot_take(w)) {
            budget_token_return(w->budget);
            return; /* a worker that gives a slot back wakes this one */
        }
        /* The loop's clock stops while a callback runs: without this, the
         * 10,000th connect of one pump got its connect timeout from the
         * time the pump began, i.e. up to the pump's length too early (a
         * 3 s timeout fired 1.05 s after the connect at -j 1, issue 18). */
        ev_now_update(w->loop);
        ep = runq_pop(w);
        ep->queued = 0;
        rc = ep_start_probe(w, ep);
        if (rc < 0) {
            ep->queued = 1;
            runq_push_front(w, ep);
            budget_token_return(w->budget);
            budget_not_hungry(w);
            budget_slot_give(w);
            if (!ev_is_active(&w->retry_timer)) {
                tw_debug("conn", "worker %d: cannot open a socket (%s); retrying", w->id,
                         strerror(-rc));
                ev_timer_set(&w->retry_timer, TW_RETRY_AFTER, 0.);
                ev_timer_start(w->loop, &w->retry_timer);
            }
            return;
        }
    }
    budget_not_hungry(w);
}

static void
worker_pump(struct tw_worker *w)
{
    if (w->in_pump) {
        w->pump_again = 1;
        return;
    }
    w->in_pump = 1;
    do {
        w->pump_again = 0;
        if (w->stopping)
            break;
        worker_admit(w);
        if (!ev_is_active(&w->retry_timer))
            worker_run(w);
    } while (w->pump_again);
    w->in_pump = 0;
    if (!w->stopping && w->drained && w->n_jobs == 0)
        ev_break(w->loop, EVBREAK_ALL);
}

/* Interrupted: drop everything not finished (nothing partial is stored). */
static void
worker_abort(struct tw_worker *w)
{
    w->stopping = 1;
    tw_dns_cancel(w->dns);
    while (w->jobs != NULL)
        job_free(w, w->jobs);
    for (size_t b = 0; b <= w->ipt_mask; b++) {
        struct ipslot *s, *next;

        for (s = w->ipt[b]; s != NULL; s = next) {
            next = s->next;
            free(s);
        }
        w->ipt[b] = NULL;
    }
    w->runq_head = w->runq_tail = NULL;
    budget_not_hungry(w);
    pthread_mutex_lock(&w->mu);
    w->in_len = 0;
    pthread_cond_broadcast(&w->cv_space);
    pthread_mutex_unlock(&w->mu);
    ev_break(w->loop, EVBREAK_ALL);
}

static void
worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    struct tw_worker *w = (struct tw_worker *)((char *)a - offsetof(struct tw_worker, wake));
    int stop;

    (void)loop;
    (void)revents;
    struct online *done;

    pthread_mutex_lock(&w->mu);
    stop = w->stop_req;
    pthread_mutex_unlock(&w->mu);
    if (stop) {
        if (!w->stopping)
            worker_abort(w);
    }
    /* After an abort the checks that come back find no endpoint. */
    pthread_mutex_lock(&w->mu);
    done = w->online_done;
    w->online_done = NULL;
    pthread_mutex_unlock(&w->mu);
    while (done != NULL) {
        struct online *o = done;

        done = o->next;
        ep_online_done(o);
    }
    if (stop)
        return;
    worker_pump(w);
}

static void
worker_rate_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct tw_worker *w = (struct tw_worker *)((char *)t - offsetof(struct tw_worker, rate_timer));

    (void)loop;
    (void)revents;
    worker_pump(w);
}

static void
worker_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct tw_worker *w = (struct tw_worker *)((char *)t - offsetof(struct tw_worker, retry_timer));

    (void)loop;
    (void)revents;
    worker_pump(w);
}

static void *
worker_main(void *arg)
{
    struct tw_worker *w = arg;

    ev_run(w->loop, 0);
    if (!w->stopping)
        w->stopping = 1;
    while (w->jobs != NULL) /* only after an interrupt */
        job_free(w, w->jobs);
    /* Online checks still on a fetch thread (an interrupt): they end within
     * the fetch bound and post to this worker, which must outlive them. */
    pthread_mutex_lock(&w->mu);
    while (w->n_online > 0)
        pthread_cond_wait(&w->cv_online, &w->mu);
    while (w->online_done != NULL) {
        struct online *o = w->online_done;

        w->online_done = o->next;
        online_free(o);
    }
    pthread_mutex_unlock(&w->mu);
    ev_async_stop(w->loop, &w->wake);
    ev_timer_stop(w->loop, &w->rate_timer);
    ev_timer_stop(w->loop, &w->retry_timer);
    if (w->exit_cb != NULL)
        w->exit_cb(w->exit_arg);
    return NULL;
}

/* ---- public API --------------------------------------------------------------- */

struct tw_worker *
tw_worker_new(int id, const struct tw_config *cfg, struct tw_budget *budget,
              struct tw_writer *writer, tw_worker_exit_cb *exit_cb, void *exit_arg, char *err)
{
    struct tw_worker *w = NULL;
    struct tw_worker *ret = NULL;
    size_t buckets = 64;

    w = tw_xcalloc(1, sizeof(*w));
    w->id = id;
    w->cfg = cfg;
    w->writer = writer;
    w->exit_cb = exit_cb;
    w->exit_arg = exit_arg;
    w->budget = budget;
    w->conc = budget->conc;
    w->share = budget->seats[id].share;
    w->per_ip = cfg->per_ip > 0 ? cfg->per_ip : 4;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv_space, NULL);
    pthread_cond_init(&w->cv_online, NULL);
    w->inbox = tw_xcalloc(TW_INBOX_CAP, sizeof(*w->inbox));
    while (buckets < (size_t)w->share * 2 && buckets < ((size_t)1 << 20))
        buckets <<= 1;
    w->ipt = tw_xcalloc(buckets, sizeof(*w->ipt));
    w->ipt_mask = buckets - 1;

    w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (w->loop == NULL) {
        tw_errf(err, "cannot create an event loop");
        goto out;
    }
    ev_async_init(&w->wake, worker_wake_cb);
    ev_async_start(w->loop, &w->wake);
    ev_timer_init(&w->retry_timer, worker_retry_cb, TW_RETRY_AFTER, 0.);
    /* The bucket is the budget's; the timer only retries when a token is due. */
    ev_timer_init(&w->rate_timer, worker_rate_cb, 0.1, 0.);
    w->dns = tw_dns_new(w->loop, cfg, err);
    if (w->dns == NULL)
        goto out;
    if (tw_tlsctx_init(&w->tls, err) < 0)
        goto out;
    w->store = tw_certinfo_load_store(cfg->ca_file, err);
    if (w->store == NULL)
        goto out;
    w->pool = tw_conn_pool_new(w->loop);
    budget->seats[id].w = w; /* others may wake it from now on */
    ret = w;
    w = NULL;
out:
    tw_worker_free(w);
    return ret;
}

int
tw_worker_start(struct tw_worker *w, char *err)
{
    int e = pthread_create(&w->thread, NULL, worker_main, w);

    if (e != 0) {
        tw_errf(err, "cannot start worker thread: %s", strerror(e));
        return -1;
    }
    w->started = 1;
    return 0;
}

int
tw_worker_push(struct tw_worker *w, const struct tw_target *t)
{
    pthread_mutex_lock(&w->mu);
    while (w->in_len == TW_INBOX_CAP && !w->stop_req)
        pthread_cond_wait(&w->cv_space, &w->mu);
    if (w->stop_req) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->inbox[(w->in_head + w->in_len) % TW_INBOX_CAP] = *t;
    w->in_len++;
    pthread_mutex_unlock(&w->mu);
    ev_async_send(w->loop, &w->wake);
    return 0;
}

void
tw_worker_close_inbox(struct tw_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->in_closed = 1;
    pthread_mutex_unlock(&w->mu);
    ev_async_send(w->loop, &w->wake);
}

void
tw_worker_stop(struct tw_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop_req = 1;
    pthread_cond_broadcast(&w->cv_space);
    pthread_mutex_unlock(&w->mu);
    ev_async_send(w->loop, &w->wake);
}

void
tw_worker_join(struct tw_worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = 0;
}

void
tw_worker_free(struct tw_worker *w)
{
    if (w == NULL)
        return;
    tw_dns_free(w->dns);
    tw_conn_pool_free(w->pool);
    tw_tlsctx_cleanup(&w->tls);
    if (w->store != NULL)
        X509_STORE_free(w->store);
    if (w->ipt != NULL) {
        for (size_t b = 0; b <= w->ipt_mask; b++) {
            struct ipslot *s, *next;

            for (s = w->ipt[b]; s != NULL; s = next) {
                next = s->next;
                free(s);
            }
        }
    }
    free(w->ipt);
    if (w->loop != NULL)
        ev_loop_destroy(w->loop);
    free(w->inbox);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv_space);
    pthread_cond_destroy(&w->cv_online);
    free(w);
}

void
tw_worker_get_stats(struct tw_worker *w, struct tw_worker_stats *out)
{
    out->done = __atomic_load_n(&w->st.done, __ATOMIC_RELAXED);
    out->targets_done = __atomic_load_n(&w->st.targets_done, __ATOMIC_RELAXED);
    out->in_flight = __atomic_load_n(&w->st.in_flight, __ATOMIC_RELAXED);
    out->conns = __atomic_load_n(&w->st.conns, __ATOMIC_RELAXED);
    out->ok = __atomic_load_n(&w->st.ok, __ATOMIC_RELAXED);
    out->failed = __atomic_load_n(&w->st.failed, __ATOMIC_RELAXED);
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        out->by_class[c] = __atomic_load_n(&w->st.by_class[c], __ATOMIC_RELAXED);
}
