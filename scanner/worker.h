/*
 * worker.h - one scan worker: a thread that owns one ev_loop, one c-ares
 * channel, its SSL_CTXs, its trust store, its connection pool and counters
 * (STYLE G7).
 *
 * The reader thread hands targets over with tw_worker_push(), which copies
 * the target into the worker's bounded inbox and wakes the loop with
 * ev_async_send; it blocks while the inbox is full (back-pressure).  The
 * worker resolves names, runs the probes of each endpoint one after the
 * other (tw_classify_next_probe), classifies, and pushes the results of a
 * target together to the writer (ownership moves), so that an interrupted
 * target is either stored whole or not at all.
 *
 * Caps (issue 18): one struct tw_budget, shared by every worker of a scan,
 * holds the scan's `-c` connection slots and its `--rate` token bucket.  A
 * worker is guaranteed its fair share of the slots (conc / n_workers) and
 * borrows idle slots beyond it while no other worker waits for one; a
 * worker that gives a slot back wakes the workers that wait.  So no worker
 * waits while another has idle slots, whichever way targets were dealt.
 * cfg->per_ip connections per address stay a per-worker count: targets are
 * still given to workers by a hash of their host, so the cap holds for the
 * whole scan as long as one address is reached through one name.
 *
 * Times: elapsed_ms of a result is the endpoint's own time (DNS, connects,
 * handshakes); the time its probes waited for an address slot, a
 * connection slot or a rate token is stored apart, as queue_ms.
 *
 * Threading: tw_worker_new/start/join/free are called by the scan's main
 * thread; push/close_inbox by the reader; tw_worker_stop and
 * tw_worker_get_stats by any thread.  Everything else runs on the worker's
 * own thread without locks.
 */
#ifndef TW_SCANNER_WORKER_H
#define TW_SCANNER_WORKER_H

#include <stdint.h>

#include "scanner/config.h"
#include "scanner/targets.h"
#include "store/model.h"
#include "store/writer.h"

struct tw_worker;
struct tw_budget;

/* Called on the worker's thread just before it exits (arg from tw_worker_new). */
typedef void tw_worker_exit_cb(void *arg);

struct tw_worker_stats {
    uint64_t done;         /* endpoints finished (including DNS failures) */
    uint64_t targets_done; /* targets (reader lines' endpoints) whose results were handed over */
    uint64_t in_flight;    /* connections open now */
    uint64_t conns;        /* connections started */
    uint64_t ok;           /* endpoints classified ok */
    uint64_t failed;       /* endpoints with no TLS session (class is_failure) */
    uint64_t by_class[TW_CLASS__COUNT];
};

/*
 * The scan's shared budget: conc connection slots (>= 1) and rate new
 * connections per second (0 = unlimited) for n_workers workers (>= 1).
 * It also owns the scan's AIA/OCSP/CRL fetch threads (aia.h, issue 14),
 * which tw_budget_free joins: by then every worker has waited for its own
 * fetches.  Called by the main thread before the workers are made; freed
 * after they are freed.  tw_budget_new never fails (it aborts on OOM,
 * base/xalloc).
 */
struct tw_budget *tw_budget_new(int conc, double rate, int n_workers);
void tw_budget_free(struct tw_budget *b);
/* The most connection slots that were taken at once (any thread). */
int tw_budget_peak(const struct tw_budget *b);

/*
 * Build a worker (loop, resolver, TLS contexts, trust store) without
 * starting its thread.  id is 0..n_workers-1 of the budget, which registers
 * the worker so that others can wake it.  cfg, budget, writer and exit_arg
 * are borrowed and must outlive the worker.  Returns it, or NULL with err.
 */
struct tw_worker *tw_worker_new(int id, const struct tw_config *cfg, struct tw_budget *budget,
                                struct tw_writer *writer, tw_worker_exit_cb *exit_cb,
                                void *exit_arg, char *err);
/* Start the thread.  Returns 0, or -1 with err. */
int tw_worker_start(struct tw_worker *w, char *err);

/* Copy one target into the inbox, blocking while it is full.  Returns 0, or
 * -1 when the worker is stopping (the target was not taken). */
int tw_worker_push(struct tw_worker *w, const struct tw_target *t);
/* No more targets: the worker exits once everything it holds is done. */
void tw_worker_close_inbox(struct tw_worker *w);
/* Interrupt: drop the inbox, abort in-flight endpoints (nothing partial is
 * stored), exit soon.  Any thread; idempotent. */
void tw_worker_stop(struct tw_worker *w);

/* Join the thread (after start). */
void tw_worker_join(struct tw_worker *w);
/* Free everything; the thread must have been joined (or never started). */
void tw_worker_free(struct tw_worker *w);

/* A snapshot of the counters (relaxed reads: exact after join). */
void tw_worker_get_stats(struct tw_worker *w, struct tw_worker_stats *out);

#endif /* TW_SCANNER_WORKER_H */
