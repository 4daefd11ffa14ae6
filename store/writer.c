/*
 * writer.c - the single writer thread: a bounded ring in, batched
 * transactions out.
 *
 * Pushers (scanner workers) and the writer meet at one mutex.  The ring
 * holds at most queue_cap results; a pusher that finds it full waits on
 * not_full, which is back-pressure on the scan.  The writer moves what is
 * queued into its batch, and commits the batch when it holds batch_rows
 * results or when batch_ms have passed since its first result arrived,
 * whichever comes first.  The commit runs without the mutex held, so
 * workers keep queueing while SQLite writes.
 *
 * A result that has been pushed is therefore committed within about
 * batch_ms (plus one commit), which is the bound on what a crash loses.
 *
 * SQLITE_BUSY (another process holds the write lock past busy_timeout) is
 * retried with backoff for TW_WRITER_BUSY_MAX_MS, replaying the whole batch
 * (the writer still owns its results until they are committed).  Any other
 * error is final: it is recorded, the batch and every later push are freed
 * unwritten, and tw_writer_failed() turns 1 so that the scan can stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/graderec.h"
#include "store/writer.h"
#include "tls/suites.h"

#define TW_WRITER_BUSY_MAX_MS 60000 /* give up on a locked database after this */

struct tw_writer {
    struct tw_store *st; /* borrowed; used by the writer thread only */
    int64_t scan_id;
    size_t batch_rows;
    int batch_ms;

    pthread_mutex_t mu;
    pthread_cond_t not_empty; /* the writer waits here */
    pthread_cond_t not_full;  /* pushers wait here */
    struct tw_result **ring;  /* queue_cap slots */
    size_t cap;
    size_t head; /* oldest queued */
    size_t n;    /* queued */
    size_t n_push_waiting;
    int is_writer_waiting;
    size_t wake_at; /* the waiting writer wants to wake at this many queued */
    int is_stopping;

    atomic_int is_failed;
    atomic_uint_fast64_t committed;
    char err[TW_ERRLEN]; /* the first error; written by the writer thread only */

    pthread_t thread;
    sqlite3_stmt *vuln_insert; /* issue 14: the vulns rows (writer thread only) */
    sqlite3_stmt *sim_insert;  /* issue 13: the client_sims rows (writer thread only) */
    sqlite3_stmt *comp_insert; /* issue 13: the compliance rows (writer thread only) */
};

static int64_t
writer_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
writer_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Record the first error; later ones are consequences. */
static void
writer_fail(struct tw_writer *w, const char *msg)
{
    if (atomic_load(&w->is_failed))
        return;
    tw_strlcpy(w->err, msg, sizeof(w->err));
    tw_warnx("store", "writer: %s", msg);
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->is_failed, 1);
    /* Pushers blocked on a full queue now drop their results instead. */
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
}

static int
writer_is_busy(int code)
{
    code &= 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

/*
 * The vulnerability probes' rows of one stored result (issue 14, table
 * vulns).  The result row is found by its endpoint key (the unique index
 * results_endpoint), so this needs nothing from tw_store_put_result beyond
 * the row itself; a result already stored for the scan gets its rows
 * replaced, never doubled.  Returns 0, or -1 with err.
 */
static int
writer_put_vulns(struct tw_writer *w, const struct tw_result *r, char *err)
{
    sqlite3 *db = tw_store_db(w->st);
    const struct tw_grade_record *g = r->grading;
    const char *stls = r->starttls > TW_STARTTLS_NONE && r->starttls < TW_STARTTLS__COUNT
                           ? tw_starttls_name(r->starttls)
                           : "";
    sqlite3_stmt *s;

    if (g == NULL || g->n_vulns <= 0)
        return 0;
    if (w->vuln_insert == NULL &&
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO vulns(result_id, name, tested, vulnerable,"
                           " detail) SELECT id, ?6, ?7, ?8, ?9 FROM results WHERE scan_id = ?1"
                           " AND host = ?2 AND ip = ?3 AND port = ?4 AND ifnull(sni, '') = ?5"
                           " AND ifnull(starttls, '') = ?10",
                           -1, &w->vuln_insert, NULL) != SQLITE_OK) {
        tw_errf(err, "vulns: %s", sqlite3_errmsg(db));
        return -1;
    }
    s = w->vuln_insert;
    for (int i = 0; i < g->n_vulns && i < TW_GREC_VULNS_MAX; i++) {
        const struct tw_grec_vuln *v = &g->vulns[i];

        if (v->name == NULL)
            continue;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        sqlite3_bind_int64(s, 1, w->scan_id);
        sqlite3_bind_text(s, 2, r->host, (int)strnlen(r->host, sizeof(r->host)), SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->ip, (int)strnlen(r->ip, sizeof(r->ip)), SQLITE_STATIC);
        sqlite3_bind_int(s, 4, (int)r->port);
        sqlite3_bind_text(s, 5, r->has_sni ? r->sni : "",
                          r->has_sni ? (int)strnlen(r->sni, sizeof(r->sni)) : 0, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, v->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, v->tested ? 1 : 0);
        sqlite3_bind_int(s, 8, v->vulnerable ? 1 : 0);
        sqlite3_bind_text(s, 9, v->detail, (int)strnlen(v->detail, sizeof(v->detail)),
                          SQLITE_STATIC);
        sqlite3_bind_text(s, 10, stls, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            tw_errf(err, "vulns: %s", sqlite3_errmsg(db));
            sqlite3_reset(s);
            return -1;
        }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

/* Bind text that may be NULL (bound as NULL). */
static void
writer_bind_opt(sqlite3_stmt *s, int i, const char *text)
{
    if (text != NULL)
        sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
}

/* The simulated handshake's words: the failure, then "HelloRetryRequest". */
static void
writer_sim_detail(const struct tw_grec_sim *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", m->why != NULL ? m->why : "",
             m->hrr && m->why != NULL && m->why[0] != '\0' ? "; " : "",
             m->hrr ? "HelloRetryRequest" : "");
}

/* What the simulation assumed, as "group_order,tls13_leaf,dh_unseen". */
static void
writer_sim_basis(unsigned basis, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", (basis & TW_SIM_BASIS_GROUP_ORDER) ? "group_order" : "",
             (basis & TW_SIM_BASIS_GROUP_ORDER) && (basis & ~TW_SIM_BASIS_GROUP_ORDER) ? "," : "",
             (basis & TW_SIM_BASIS_LEAF_TLS13) ? "tls13_leaf" : "",
             (basis & TW_SIM_BASIS_LEAF_TLS13) && (basis & TW_SIM_BASIS_DH_UNSEEN) ? "," : "",
             (basis & TW_SIM_BASIS_DH_UNSEEN) ? "dh_unseen" : "");
}

/* --simulate real: the client's real outcome into parameters at..at+5
 * (real_outcome, real_protocol, real_suite, real_grp, real_detail,
 * real_agrees). */
static void
writer_bind_real(sqlite3_stmt *s, int at, const struct tw_grec_real *x)
{
    const struct tw_suite *su = x->suite != 0 ? tw_suites_find(x->suite) : NULL;
    const struct tw_group *gr = x->group != 0 ? tw_suites_group_find(x->group) : NULL;
    char hex[2][8], detail[96];

    snprintf(hex[0], sizeof(hex[0]), "0x%04X", (unsigned)x->suite);
    snprintf(hex[1], sizeof(hex[1]), "0x%04X", (unsigned)x->group);
    sqlite3_bind_text(s, at, x->ok ? "ok" : "fail", -1, SQLITE_STATIC);
    writer_bind_opt(s, at + 1, x->protocol != 0 ? tw_suites_version_name(x->protocol) : NULL);
    writer_bind_opt(s, at + 2, su != NULL ? su->name : x->suite != 0 ? hex[0] : NULL);
    writer_bind_opt(s, at + 3, gr != NULL ? gr->name : x->group != 0 ? hex[1] : NULL);
    snprintf(detail, sizeof(detail), "%.*s%s%s", (int)strnlen(x->why, sizeof(x->why)), x->why,
             x->hrr && x->why[0] != '\0' ? "; " : "", x->hrr ? "HelloRetryRequest" : "");
    writer_bind_opt(s, at + 4, detail[0] != '\0' ? detail : NULL);
    if (x->agrees >= 0)
        sqlite3_bind_int(s, at + 5, x->agrees);
}

/*
 * The reference clients' simulated handshakes of one stored result (issue
 * 13, table client_sims), found by the endpoint key as writer_put_vulns
 * does.  The client names come from the built-in table or a user's file:
 * bound as parameters, never pasted into SQL.  Returns 0, or -1 with err.
 */
static int
writer_put_sims(struct tw_writer *w, const struct tw_result *r, char *err)
{
    sqlite3 *db = tw_store_db(w->st);
    const struct tw_grade_record *g = r->grading;
    const char *stls = r->starttls > TW_STARTTLS_NONE && r->starttls < TW_STARTTLS__COUNT
                           ? tw_starttls_name(r->starttls)
                           : "";
    sqlite3_stmt *s;

    if (g == NULL || g->n_sims <= 0)
        return 0;
    if (w->sim_insert == NULL &&
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO client_sims(result_id, client, outcome, class,"
                           " protocol, suite, grp, detail, basis, real_outcome, real_protocol,"
                           " real_suite, real_grp, real_detail, real_agrees)"
                           " SELECT id, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15, ?16, ?17, ?18,"
                           " ?19, ?20 FROM results"
                           " WHERE scan_id = ?1 AND host = ?2 AND ip = ?3 AND port = ?4"
                           " AND ifnull(sni, '') = ?5 AND ifnull(starttls, '') = ?14",
                           -1, &w->sim_insert, NULL) != SQLITE_OK) {
        tw_errf(err, "client_sims: %s", sqlite3_errmsg(db));
        return -1;
    }
    s = w->sim_insert;
    for (int i = 0; i < g->n_sims && i < TW_GREC_SIMS_MAX; i++) {
        const struct tw_grec_sim *m = &g->sims[i];
        const struct tw_suite *su = m->suite != 0 ? tw_suites_find(m->suite) : NULL;
        const struct tw_group *gr = m->group != 0 ? tw_suites_group_find(m->group) : NULL;
        char detail[160], basis[64], hex[2][8];

        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        sqlite3_bind_int64(s, 1, w->scan_id);
        sqlite3_bind_text(s, 2, r->host, (int)strnlen(r->host, sizeof(r->host)), SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->ip, (int)strnlen(r->ip, sizeof(r->ip)), SQLITE_STATIC);
        sqlite3_bind_int(s, 4, (int)r->port);
        sqlite3_bind_text(s, 5, r->has_sni ? r->sni : "",
                          r->has_sni ? (int)strnlen(r->sni, sizeof(r->sni)) : 0, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, m->client, (int)strnlen(m->client, sizeof(m->client)),
                          SQLITE_STATIC);
        sqlite3_bind_text(s, 7, m->ok ? "ok" : "fail", -1, SQLITE_STATIC);
        writer_bind_opt(s, 8, m->ok ? NULL : m->cls);
        writer_bind_opt(s, 9, m->protocol != 0 ? tw_suites_version_name(m->protocol) : NULL);
        snprintf(hex[0], sizeof(hex[0]), "0x%04X", (unsigned)m->suite);
        snprintf(hex[1], sizeof(hex[1]), "0x%04X", (unsigned)m->group);
        writer_bind_opt(s, 10, su != NULL ? su->name : m->suite != 0 ? hex[0] : NULL);
        writer_bind_opt(s, 11, gr != NULL ? gr->name : m->group != 0 ? hex[1] : NULL);
        writer_sim_detail(m, detail, sizeof(detail));
        writer_bind_opt(s, 12, detail[0] != '\0' ? detail : NULL);
        writer_sim_basis(m->basis, basis, sizeof(basis));
        sqlite3_bind_text(s, 13, basis, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 14, stls, -1, SQLITE_STATIC);
        if (i < g->n_reals && g->reals[i].ran)
            writer_bind_real(s, 15, &g->reals[i]);
        if (sqlite3_step(s) != SQLITE_DONE) {
            tw_errf(err, "client_sims: %s", sqlite3_errmsg(db));
            sqlite3_reset(s);
            return -1;
        }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

/*
 * The Mozilla compliance rows of one stored result (issue 13, table
 * compliance): one per profile, found by the endpoint key as the vulns rows
 * are.  Returns 0, or -1 with err.
 */
static int
writer_put_compliance(struct tw_writer *w, const struct tw_result *r, char *err)
{
    sqlite3 *db = tw_store_db(w->st);
    const struct tw_grade_record *g = r->grading;
    const char *stls = r->starttls > TW_STARTTLS_NONE && r->starttls < TW_STARTTLS__COUNT
                           ? tw_starttls_name(r->starttls)
                           : "";
    sqlite3_stmt *s;

    if (g == NULL || !g->has_compliance)
        return 0;
    if (w->comp_insert == NULL &&
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO compliance(result_id, profile, guideline, pass,"
                           " failed_checks, warnings) SELECT id, ?6, ?7, ?8, ?9, ?10 FROM results"
                           " WHERE scan_id = ?1 AND host = ?2 AND ip = ?3 AND port = ?4"
                           " AND ifnull(sni, '') = ?5 AND ifnull(starttls, '') = ?11",
                           -1, &w->comp_insert, NULL) != SQLITE_OK) {
        tw_errf(err, "compliance: %s", sqlite3_errmsg(db));
        return -1;
    }
    s = w->comp_insert;
    for (int i = 0; i < TW_MOZILLA__COUNT; i++) {
        char failed[512], warned[512];

        tw_mozilla_format_checks(g->compliance[i].failed, failed, sizeof(failed));
        tw_mozilla_format_checks(g->compliance[i].warned, warned, sizeof(warned));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        sqlite3_bind_int64(s, 1, w->scan_id);
        sqlite3_bind_text(s, 2, r->host, (int)strnlen(r->host, sizeof(r->host)), SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->ip, (int)strnlen(r->ip, sizeof(r->ip)), SQLITE_STATIC);
        sqlite3_bind_int(s, 4, (int)r->port);
        sqlite3_bind_text(s, 5, r->has_sni ? r->sni : "",
                          r->has_sni ? (int)strnlen(r->sni, sizeof(r->sni)) : 0, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, tw_mozilla_profile_name(i), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, tw_mozilla_guideline(i), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 8, g->compliance[i].pass ? 1 : 0);
        sqlite3_bind_text(s, 9, failed, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 10, warned, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 11, stls, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            tw_errf(err, "compliance: %s", sqlite3_errmsg(db));
            sqlite3_reset(s);
            return -1;
        }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

/*
 * One attempt at committing the batch.  Returns 0, or -1 with err and the
 * SQLite error code that caused it in *code.
 */
static int
writer_try_batch(struct tw_writer *w, struct tw_result **batch, size_t nb, int *code, char *err)
{
    sqlite3 *db = tw_store_db(w->st);

    *code = SQLITE_OK;
    if (tw_store_begin(w->st, err) < 0)
        goto fail;
    for (size_t i = 0; i < nb; i++)
        if (tw_store_put_result(w->st, w->scan_id, batch[i], err) < 0 ||
            writer_put_vulns(w, batch[i], err) < 0 || writer_put_sims(w, batch[i], err) < 0 ||
            writer_put_compliance(w, batch[i], err) < 0)
            goto fail;
    if (tw_store_commit(w->st, err) < 0)
        goto fail;
    return 0;
fail:
    *code = sqlite3_extended_errcode(db);
    tw_store_rollback(w->st);
    return -1;
}

/* Commit the batch (retrying while the database is locked), then free it. */
static void
writer_commit(struct tw_writer *w, struct tw_result **batch, size_t nb)
{
    char err[TW_ERRLEN];
    int64_t give_up = writer_now_ms() + TW_WRITER_BUSY_MAX_MS;
    int backoff = 10;
    int code;

    if (!atomic_load(&w->is_failed)) {
        for (;;) {
            if (writer_try_batch(w, batch, nb, &code, err) == 0) {
                atomic_fetch_add(&w->committed, nb);
                break;
            }
            if (!writer_is_busy(code) || writer_now_ms() >= give_up) {
                writer_fail(w, err);
                break;
            }
            tw_debug("store", "writer: %s; retrying in %d ms", err, backoff);
            writer_sleep_ms(backoff);
            backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        tw_result_free(batch[i]);
        batch[i] = NULL;
    }
}

/* Absolute CLOCK_MONOTONIC time of a millisecond count from writer_now_ms. */
static struct timespec
writer_abstime(int64_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    return ts;
}

static void *
writer_main(void *arg)
{
    struct tw_writer *w = arg;
    struct tw_result **batch = tw_xcalloc(w->batch_rows, sizeof(*batch));
    size_t nb = 0;
    int64_t deadline = 0; /* when the current batch must be committed */

    /* During a scan the writer's indexes (results by endpoint and by
     * certificate, certs by fingerprint) take random inserts: keep more of
     * them in memory than SQLite's default 2 MiB.
     * Foreign keys are not checked while the writer owns the connection: it
     * only inserts results of its own scan (whose row exists before the
     * writer starts) and rows of the results it has just inserted in the
     * same transaction, and it deletes no parent row, so every check would pass;
     * they cost a parent lookup per row (bench/RESULTS.md: +6 % results per
     * writer CPU second).  A checkpoint every 10,000 WAL pages instead of
     * 1,000 writes index pages that change in many batches once (+2 %).
     * Both are restored when the writer ends. */
    sqlite3_exec(tw_store_db(w->st),
                 "PRAGMA cache_size=-32768; PRAGMA foreign_keys=OFF;"
                 " PRAGMA wal_autocheckpoint=10000",
                 NULL, NULL, NULL);

    for (;;) {
        int is_done = 0;

        pthread_mutex_lock(&w->mu);
        while (nb < w->batch_rows) {
            if (w->n > 0) {
                size_t take = w->batch_rows - nb < w->n ? w->batch_rows - nb : w->n;

                if (nb == 0)
                    deadline = writer_now_ms() + w->batch_ms;
                for (size_t i = 0; i < take; i++) {
                    batch[nb++] = w->ring[w->head];
                    w->ring[w->head] = NULL;
                    w->head = (w->head + 1) % w->cap;
                }
                w->n -= take;
                if (w->n_push_waiting > 0)
                    pthread_cond_broadcast(&w->not_full);
                continue;
            }
            if (w->is_stopping) {
                is_done = nb == 0;
                break;
            }
            w->is_writer_waiting = 1;
            if (nb == 0) {
                w->wake_at = 1;
                pthread_cond_wait(&w->not_empty, &w->mu);
            } else {
                struct timespec ts = writer_abstime(deadline);

                if (writer_now_ms() >= deadline) {
                    w->is_writer_waiting = 0;
                    break; /* the batch window is over: commit what we have */
                }
                /* A full ring must wake us too, or pushers would sit
                 * blocked until the window ends. */
                w->wake_at = w->batch_rows - nb < w->cap ? w->batch_rows - nb : w->cap;
                pthread_cond_timedwait(&w->not_empty, &w->mu, &ts);
            }
            w->is_writer_waiting = 0;
        }
        pthread_mutex_unlock(&w->mu);
        if (is_done)
            break;
        if (nb > 0) {
            writer_commit(w, batch, nb);
            nb = 0;
        }
    }
    sqlite3_finalize(w->vuln_insert);
    w->vuln_insert = NULL;
    sqlite3_finalize(w->sim_insert);
    w->sim_insert = NULL;
    sqlite3_finalize(w->comp_insert);
    w->comp_insert = NULL;
    sqlite3_exec(tw_store_db(w->st), "PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=1000", NULL,
                 NULL, NULL);
    free(batch);
    return NULL;
}

int
tw_writer_start(struct tw_store *st, int64_t scan_id, const struct tw_writer_opts *opts,
                struct tw_writer **out, char *err)
{
    struct tw_writer *w = NULL;
    pthread_condattr_t ca;
    int is_ca = 0, is_mu = 0, is_ne = 0, is_nf = 0;
    int e = 0;
    int rc = -1;

    *out = NULL;
    w = tw_xcalloc(1, sizeof(*w));
    w->st = st;
    w->scan_id = scan_id;
    w->cap = opts && opts->queue_cap ? opts->queue_cap : TW_WRITER_DEFAULT_QUEUE_CAP;
    w->batch_rows = opts && opts->batch_rows ? opts->batch_rows : TW_WRITER_DEFAULT_BATCH_ROWS;
    w->batch_ms = opts && opts->batch_ms > 0 ? opts->batch_ms : TW_WRITER_DEFAULT_BATCH_MS;
    if (w->cap > (size_t)1 << 24 || w->batch_rows > (size_t)1 << 24 || w->batch_ms > 3600000) {
        tw_errf(err, "writer: queue_cap, batch_rows or batch_ms out of range");
        goto out;
    }
    w->ring = tw_xcalloc(w->cap, sizeof(*w->ring));
    atomic_init(&w->is_failed, 0);
    atomic_init(&w->committed, 0);

    e = pthread_condattr_init(&ca);
    if (e != 0)
        goto perr;
    is_ca = 1;
    /* The batch window is measured on the monotonic clock: a wall clock
     * step (NTP) must not stall or rush commits. */
    e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (e != 0)
        goto perr;
    e = pthread_mutex_init(&w->mu, NULL);
    if (e != 0)
        goto perr;
    is_mu = 1;
    e = pthread_cond_init(&w->not_empty, &ca);
    if (e != 0)
        goto perr;
    is_ne = 1;
    e = pthread_cond_init(&w->not_full, NULL);
    if (e != 0)
        goto perr;
    is_nf = 1;
    e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0)
        goto perr;
    *out = w;
    w = NULL; /* ownership moved to the caller */
    rc = 0;
    goto out;
perr:
    tw_errf(err, "writer: cannot start: %s", strerror(e));
out:
    if (is_ca)
        pthread_condattr_destroy(&ca);
    if (w != NULL) {
        if (is_nf)
            pthread_cond_destroy(&w->not_full);
        if (is_ne)
            pthread_cond_destroy(&w->not_empty);
        if (is_mu)
            pthread_mutex_destroy(&w->mu);
        free(w->ring);
        free(w);
    }
    return rc;
}

void
tw_writer_push(struct tw_writer *w, struct tw_result *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    while (w->n == w->cap && !atomic_load(&w->is_failed)) {
        w->n_push_waiting++;
        pthread_cond_wait(&w->not_full, &w->mu);
        w->n_push_waiting--;
    }
    if (atomic_load(&w->is_failed)) {
        /* The database is gone: drop, the scan will see tw_writer_failed(). */
        pthread_mutex_unlock(&w->mu);
        tw_result_free(r);
        return;
    }
    w->ring[(w->head + w->n) % w->cap] = r;
    r = NULL; /* the queue owns it */
    w->n++;
    /* Wake the writer only when it has something to do: one signal per
     * batch, not one per result. */
    if (w->is_writer_waiting && w->n >= w->wake_at)
        pthread_cond_signal(&w->not_empty);
    pthread_mutex_unlock(&w->mu);
}

uint64_t
tw_writer_committed(struct tw_writer *w)
{
    return (uint64_t)atomic_load(&w->committed);
}

int
tw_writer_failed(struct tw_writer *w)
{
    return atomic_load(&w->is_failed) != 0;
}

int
tw_writer_stop(struct tw_writer *w, char *err)
{
    int rc = 0;

    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->is_stopping = 1;
    pthread_cond_signal(&w->not_empty);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);

    /* After a failure the writer still drained the ring (freeing); nothing
     * can be left, but stay leak-free if a push raced the stop. */
    for (size_t i = 0; i < w->n; i++)
        tw_result_free(w->ring[(w->head + i) % w->cap]);
    if (atomic_load(&w->is_failed)) {
        tw_errf(err, "%s", w->err);
        rc = -1;
    }
    pthread_cond_destroy(&w->not_full);
    pthread_cond_destroy(&w->not_empty);
    pthread_mutex_destroy(&w->mu);
    free(w->ring);
    free(w);
    return rc;
}
