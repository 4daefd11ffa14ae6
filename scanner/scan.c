/*
 * scan.c - the scan orchestration behind `tlsweep scan` (see scan.h).
 *
 * Threads: the main thread runs a small ev loop (signals, progress, the
 * writer's health, worker exits); one reader thread reads the target files
 * and hands each target to the worker chosen by a hash of its host (so one
 * address's per-IP cap lives on one worker); N workers (worker.c) probe; one
 * writer thread (store/writer.c) commits.  Every hand-off is a bounded queue
 * that blocks its producer when full, so memory stays flat whatever the
 * size of the target list.
 *
 * Interrupts: the first SIGINT/SIGTERM stops the reader, makes the workers
 * drop what is in flight (targets are stored whole or not at all), flushes
 * the writer and marks the scan 'interrupted' so that --resume can finish
 * it; a second signal exits at once (the writer commits whole transactions,
 * so the database stays consistent and the scan stays resumable).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ares.h>
#include <ev.h>

#include "scanner/certinfo.h"
#include "scanner/scan.h"
#include "scanner/starttls.h"
#include "scanner/targets.h"
#include "scanner/worker.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "tls/clients.h"
#include "store/model.h"
#include "store/store.h"
#include "store/writer.h"

#define TW_FD_MARGIN 100      /* descriptors beyond -c: resolvers, database, stdio */
#define TW_PROGRESS_EVERY 0.5 /* seconds */
#define TW_THREADS_MAX 256

/* The set of endpoints already stored in a resumed scan (64-bit hashes). */
struct seen_set {
    uint64_t *slots; /* 0 = empty */
    size_t mask, n;
};

struct scan {
    struct tw_config cfg; /* a copy: concurrency and threads may be adjusted */
    struct tw_targets *targets;
    struct tw_store *store;
    struct tw_writer *writer;
    struct tw_worker **workers;
    int n_workers;
    int64_t scan_id;
    struct seen_set seen;
    uint64_t n_skipped;

    struct ev_loop *loop; /* the main thread's */
    ev_async wake;
    ev_signal sigint, sigterm;
    ev_timer tick;
    int n_exited; /* workers that left their loop (atomic) */
    int stop;     /* set once on interrupt or writer failure (atomic) */
    int interrupted;
    int writer_failed;
    int show_progress;
    int progress_shown;
    double t_start;

    pthread_t reader;
    int reader_started;
    int reader_done;   /* atomic */
    int reader_eof;    /* the reader reached the end of every target file */
    uint64_t n_handed; /* atomic: targets handed to workers */
    int read_failed;
    char read_err[TW_ERRLEN];
};

static double
scan_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the seen set (resume) -------------------------------------------------- */

static uint64_t
seen_key(uint64_t h)
{
    return h == 0 ? 1 : h;
}

static void seen_add(struct seen_set *s, uint64_t h);

static void
seen_grow(struct seen_set *s)
{
    struct seen_set bigger;
    size_t cap = s->slots == NULL ? 1024 : (s->mask + 1) * 2;

    bigger.slots = tw_xcalloc(cap, sizeof(uint64_t));
    bigger.mask = cap - 1;
    bigger.n = 0;
    for (size_t i = 0; s->slots != NULL && i <= s->mask; i++)
        if (s->slots[i] != 0)
            seen_add(&bigger, s->slots[i]);
    free(s->slots);
    *s = bigger;
}

static void
seen_add(struct seen_set *s, uint64_t h)
{
    size_t i;

    if (s->slots == NULL || (s->n + 1) * 2 > s->mask + 1)
        seen_grow(s);
    h = seen_key(h);
    for (i = h & s->mask; s->slots[i] != 0; i = (i + 1) & s->mask)
        if (s->slots[i] == h)
            return;
    s->slots[i] = h;
    s->n++;
}

static int
seen_has(const struct seen_set *s, uint64_t h)
{
    if (s->slots == NULL)
        return 0;
    h = seen_key(h);
    for (size_t i = h & s->mask; s->slots[i] != 0; i = (i + 1) & s->mask)
        if (s->slots[i] == h)
            return 1;
    return 0;
}

static int
scan_seen_cb(void *arg, const char *host, int port, int has_sni, const char *sni)
{
    struct scan *s = arg;

    seen_add(&s->seen, tw_target_hash(host, (uint16_t)port, has_sni, has_sni ? sni : ""));
    return 0;
}

/* ---- the reader thread -------------------------------------------------------- */

static void *
scan_reader_main(void *arg)
{
    struct scan *s = arg;
    struct tw_target t;
    int r;

    for (;;) {
        if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
            break;
        r = tw_targets_next(s->targets, &t, s->read_err);
        if (r == 0) {
            s->reader_eof = 1;
            break;
        }
        if (r < 0) {
            s->read_failed = 1;
            break;
        }
        if (s->seen.n > 0 &&
            seen_has(&s->seen, tw_target_hash(t.host, t.port, t.has_sni, t.has_sni ? t.sni : ""))) {
            s->n_skipped++;
            continue;
        }
        uint64_t h = tw_target_hash(t.host, 0, 0, "");
        if (tw_worker_push(s->workers[h % (uint64_t)s->n_workers], &t) < 0)
            break;
        __atomic_add_fetch(&s->n_handed, 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < s->n_workers; i++)
        tw_worker_close_inbox(s->workers[i]);
    __atomic_store_n(&s->reader_done, 1, __ATOMIC_RELEASE);
    ev_async_send(s->loop, &s->wake);
    return NULL;
}

/* ---- the main loop ----------------------------------------------------------------- */

static void
scan_worker_exited(void *arg)
{
    struct scan *s = arg;

    __atomic_add_fetch(&s->n_exited, 1, __ATOMIC_RELEASE);
    ev_async_send(s->loop, &s->wake);
}

static void
scan_totals(struct scan *s, struct tw_worker_stats *tot)
{
    struct tw_worker_stats one;

    memset(tot, 0, sizeof(*tot));
    for (int i = 0; i < s->n_workers; i++) {
        tw_worker_get_stats(s->workers[i], &one);
        tot->done += one.done;
        tot->targets_done += one.targets_done;
        tot->in_flight += one.in_flight;
        tot->conns += one.conns;
        tot->ok += one.ok;
        tot->failed += one.failed;
        for (int c = 0; c < TW_CLASS__COUNT; c++)
            tot->by_class[c] += one.by_class[c];
    }
}

static void
scan_stop(struct scan *s)
{
    if (__atomic_exchange_n(&s->stop, 1, __ATOMIC_ACQ_REL))
        return;
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i] != NULL) /* NULL after a failed tw_worker_new */
            tw_worker_stop(s->workers[i]);
}

static void
scan_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    struct scan *s = (struct scan *)((char *)a - offsetof(struct scan, wake));

    (void)revents;
    if (__atomic_load_n(&s->n_exited, __ATOMIC_ACQUIRE) == s->n_workers)
        ev_break(loop, EVBREAK_ALL);
}

static void
scan_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct scan *s = w->data;
    static const char again[] = "\ntlsweep: second signal: exiting now\n";

    (void)loop;
    (void)revents;
    if (s->interrupted) {
        /* Whole transactions only: the database is consistent, the scan
         * stays 'running' and --resume picks it up. */
        if (write(2, again, sizeof(again) - 1) < 0) {
            /* nothing more to say */
        }
        _exit(130);
    }
    s->interrupted = 1;
    if (s->progress_shown)
        fputs("\n", stderr);
    s->progress_shown = 0;
    fprintf(stderr, "tlsweep: interrupted: stopping (signal again to exit at once)\n");
    scan_stop(s);
}

static void
scan_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct scan *s = (struct scan *)((char *)t - offsetof(struct scan, tick));
    struct tw_worker_stats tot;
    char total[96];
    uint64_t handed;
    double el;

    (void)loop;
    (void)revents;
    if (tw_writer_failed(s->writer) && !s->writer_failed) {
        s->writer_failed = 1;
        scan_stop(s);
    }
    if (!s->show_progress || s->interrupted)
        return;
    scan_totals(s, &tot);
    el = scan_mono() - s->t_start;
    handed = __atomic_load_n(&s->n_handed, __ATOMIC_RELAXED);
    /* The total is known once the reader has reached the end of its files;
     * until then the count of targets read so far is shown with a '+'. */
    if (__atomic_load_n(&s->reader_done, __ATOMIC_ACQUIRE) && handed > 0) {
        double rate = el > 0 ? (double)tot.targets_done / el : 0.0;
        double left = rate > 0 ? (double)(handed - tot.targets_done) / rate : 0.0;

        snprintf(total, sizeof(total), "%llu/%llu targets (%.0f%%), ETA %.0fs",
                 (unsigned long long)tot.targets_done, (unsigned long long)handed,
                 100.0 * (double)tot.targets_done / (double)handed, left);
    } else {
        snprintf(total, sizeof(total), "%llu/%llu+ targets", (unsigned long long)tot.targets_done,
                 (unsigned long long)handed);
    }
    fprintf(stderr, "\r\033[K%s; %llu endpoints done, %llu in flight, %.0f/s, ok %llu, failed %llu",
            total, (unsigned long long)tot.done, (unsigned long long)tot.in_flight,
            el > 0 ? (double)tot.done / el : 0.0, (unsigned long long)tot.ok,
            (unsigned long long)tot.failed);
    s->progress_shown = 1;
}

/* ---- setup helpers ------------------------------------------------------------------- */

/*
 * Every --resolver must be IP, IP:PORT or [IPv6]:PORT (PORT 1-65535), so
 * that a typo is a usage error (exit 2) before anything is opened, not a
 * resolver start-up failure in every worker.
 */
static int
scan_check_resolvers(const struct tw_config *cfg, char *err)
{
    for (size_t i = 0; i < cfg->n_resolvers && i < TW_RESOLVERS_MAX; i++) {
        const char *r = cfg->resolvers[i];
        char host[INET6_ADDRSTRLEN + 1];
        const char *port = NULL, *end;
        unsigned char buf[sizeof(struct in6_addr)];
        size_t n;
        int ok;

        if (r == NULL || r[0] == '\0')
            goto bad;
        if (r[0] == '[') {
            end = strchr(r, ']');
            if (end == NULL || (end[1] != '\0' && end[1] != ':'))
                goto bad;
            n = (size_t)(end - r - 1);
            port = end[1] == ':' ? end + 2 : NULL;
            if (n == 0 || n >= sizeof(host))
                goto bad;
            memcpy(host, r + 1, n);
            host[n] = '\0';
            ok = inet_pton(AF_INET6, host, buf) == 1;
        } else {
            end = strchr(r, ':');
            n = end != NULL ? (size_t)(end - r) : strlen(r);
            if (end != NULL && strchr(end + 1, ':') != NULL) {
                /* a bare IPv6 address, no port */
                n = strlen(r);
                end = NULL;
            }
            if (n == 0 || n >= sizeof(host))
                goto bad;
            memcpy(host, r, n);
            host[n] = '\0';
            port = end != NULL ? end + 1 : NULL;
            ok = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
        }
        if (!ok)
            goto bad;
        if (port != NULL) {
            char *pend = NULL;
            long p;

            errno = 0;
            p = strtol(port, &pend, 10);
            if (errno != 0 || pend == port || *pend != '\0' || p < 1 || p > 65535)
                goto bad;
        }
        continue;
    bad:
        tw_errf(err, "--resolver: '%s' is not IP, IP:PORT or [IPv6]:PORT",
                r != NULL ? r : "(null)");
        return -1;
    }
    return 0;
}

/* Raise RLIMIT_NOFILE to what -c needs, or lower -c to what the hard limit allows. */
static void
scan_fd_limit(struct tw_config *cfg)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)cfg->concurrency + TW_FD_MARGIN;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
        return;
    if (rl.rlim_cur == RLIM_INFINITY)
        return;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        int c = rl.rlim_max > TW_FD_MARGIN + 1 ? (int)(rl.rlim_max - TW_FD_MARGIN) : 1;

        fprintf(stderr, "tlsweep: -c %d needs %llu descriptors, hard limit %llu: using -c %d\n",
                cfg->concurrency, (unsigned long long)need, (unsigned long long)rl.rlim_max, c);
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        cfg->concurrency = c;
    }
}

static void
scan_options_text(const struct tw_config *c, char *buf, size_t len)
{
    snprintf(buf, len,
             "-c %d -j %d --rate %d --per-ip %d --connect-timeout %g --handshake-timeout %g "
             "--dns-timeout %g%s --clients %s%s%s",
             c->concurrency, c->threads, c->rate, c->per_ip, c->connect_timeout,
             c->handshake_timeout, c->dns_timeout, c->quick ? " --quick" : "",
             tw_clients_policy_name(c->clients), c->ca_file ? " --ca-file " : "",
             c->ca_file ? c->ca_file : "");
}

static int
scan_dry_run(struct scan *s, char *err)
{
    struct tw_target t;
    int r;

    /* "HOST PORT SNI", plus the STARTTLS protocol as a fourth field when the
     * endpoint speaks one (scheme, or --starttls auto as the worker applies it). */
    while ((r = tw_targets_next(s->targets, &t, err)) == 1) {
        int stls = t.starttls;

        if (stls == TW_STARTTLS_NONE && s->cfg.starttls_auto)
            stls = tw_starttls_for_port(t.port);
        printf("%s %u %s%s%s\n", t.host, (unsigned)t.port, t.has_sni ? t.sni : "-",
               stls != TW_STARTTLS_NONE ? " " : "", tw_starttls_name(stls));
    }
    fflush(stdout);
    return r < 0 ? 2 : 0;
}

static void
scan_summary(struct scan *s, double elapsed)
{
    struct tw_worker_stats tot;
    struct tw_targets_stats ts;

    scan_totals(s, &tot);
    tw_targets_get_stats(s->targets, &ts);
    if (s->progress_shown)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "tlsweep: scan %lld %s: %llu endpoints in %.1f s (%.0f/s)",
            (long long)s->scan_id, s->interrupted ? "interrupted" : "done",
            (unsigned long long)tot.done, elapsed, elapsed > 0 ? (double)tot.done / elapsed : 0.0);
    if (s->n_skipped > 0)
        fprintf(stderr, ", %llu already stored", (unsigned long long)s->n_skipped);
    fprintf(stderr, ", %llu bad target line%s\n", (unsigned long long)ts.bad,
            ts.bad == 1 ? "" : "s");
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (tot.by_class[c] > 0)
            fprintf(stderr, "  %-20s %llu\n", tw_class_name((enum tw_class)c),
                    (unsigned long long)tot.by_class[c]);
    if (s->interrupted) {
        fprintf(stderr,
                "interrupted: %llu endpoints stored; resume with: tlsweep scan --resume %lld",
                (unsigned long long)(tot.done + s->seen.n), (long long)s->scan_id);
        if (strcmp(s->cfg.db_path, "./tlsweep.db") != 0)
            fprintf(stderr, " --db %s", s->cfg.db_path);
        for (size_t i = 0; i < s->cfg.n_files; i++)
            fprintf(stderr, " %s", s->cfg.files[i]);
        fprintf(stderr, "\n");
    }
}

/* Open or reopen the scans row; load what a resumed scan already holds. */
static int
scan_begin(struct scan *s, char *err)
{
    char opts[512], shard[32], now_at[21];
    struct tw_scan_meta meta;
    int r;

    if (s->cfg.resume) {
        s->scan_id = s->cfg.resume_id;
        if (s->scan_id == 0) {
            r = tw_store_scan_find_resumable(s->store, &s->scan_id, err);
            if (r < 0)
                return -1;
            if (r == 1) {
                tw_errf(err, "%s: no interrupted scan to resume", s->cfg.db_path);
                return -1;
            }
        }
        if (tw_store_scan_reopen(s->store, s->scan_id, err) < 0)
            return -1;
        return tw_store_each_endpoint(s->store, s->scan_id, scan_seen_cb, s, err) == 0 ? 0 : -1;
    }
    scan_options_text(&s->cfg, opts, sizeof(opts));
    memset(&meta, 0, sizeof(meta));
    meta.label = s->cfg.label;
    meta.options = opts;
    if (s->cfg.shard_n > 0) {
        snprintf(shard, sizeof(shard), "%u/%u", (unsigned)s->cfg.shard_k, (unsigned)s->cfg.shard_n);
        meta.shard = shard;
    }
    if (s->cfg.has_now) {
        tw_time_iso(s->cfg.now, now_at);
        meta.now_at = now_at;
    }
    return tw_store_scan_begin(s->store, &meta, &s->scan_id, err);
}

/* ---- tw_scan_run ---------------------------------------------------------------------- */

int
tw_scan_run(const struct tw_config *cfg, char *err)
{
    struct scan *s = tw_xcalloc(1, sizeof(*s));
    struct tw_targets_opts topts;
    struct tw_writer_opts wopts;
    sigset_t sigs, oldsigs;
    int sigs_blocked = 0, ares_inited = 0;
    int rc = 3, per_worker, started = 0;
    char werr[TW_ERRLEN];

    s->cfg = *cfg;
    /* Per-thread malloc arenas would trim and regrow (mprotect, munmap)
     * around OpenSSL's 16-22 KB per-handshake buffers: keep freed memory
     * (bench/RESULTS.md: 2.8 -> 0.03 mprotect per connection). */
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    if (s->cfg.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        s->cfg.threads = n > 0 ? (int)n : 1;
    }
    if (s->cfg.threads > TW_THREADS_MAX)
        s->cfg.threads = TW_THREADS_MAX;
    if (s->cfg.concurrency <= 0)
        s->cfg.concurrency = 1000;
    if (s->cfg.db_path == NULL)
        s->cfg.db_path = "./tlsweep.db";

    memset(&topts, 0, sizeof(topts));
    topts.ports = s->cfg.ports;
    topts.n_ports = s->cfg.n_ports;
    topts.allow_large_ranges = s->cfg.allow_large_ranges;
    topts.shard_k = s->cfg.shard_k;
    topts.shard_n = s->cfg.shard_n;
    if (tw_targets_open(s->cfg.files, s->cfg.n_files, &topts, &s->targets, err) < 0) {
        rc = 2;
        goto out;
    }
    if (s->cfg.dry_run) {
        rc = scan_dry_run(s, err);
        goto out;
    }

    if (scan_check_resolvers(&s->cfg, err) < 0) {
        rc = 2;
        goto out;
    }
    if (s->cfg.ca_file != NULL) {
        /* A CA file that is no PEM bundle is an input error (exit 2), found
         * before a scan row exists; each worker loads its own copy later. */
        X509_STORE *probe = tw_certinfo_load_store(s->cfg.ca_file, err);

        if (probe == NULL) {
            rc = 2;
            goto out;
        }
        X509_STORE_free(probe);
    }
    scan_fd_limit(&s->cfg);
    if (s->cfg.threads > s->cfg.concurrency)
        s->cfg.threads = s->cfg.concurrency;
    if (tw_store_open(s->cfg.db_path, 0, &s->store, err) < 0)
        goto out;
    if (scan_begin(s, err) < 0)
        goto out;

    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        tw_errf(err, "cannot initialise c-ares");
        goto out;
    }
    ares_inited = 1;

    /* Only the main thread takes SIGINT/SIGTERM: every thread made from
     * here on inherits the blocked mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);
    sigs_blocked = 1;
    signal(SIGPIPE, SIG_IGN); /* a peer's RST must not kill the scan */

    memset(&wopts, 0, sizeof(wopts));
    wopts.queue_cap = TW_WRITER_DEFAULT_QUEUE_CAP;
    wopts.batch_rows = TW_WRITER_DEFAULT_BATCH_ROWS;
    wopts.batch_ms = TW_WRITER_DEFAULT_BATCH_MS;
    if (tw_writer_start(s->store, s->scan_id, &wopts, &s->writer, err) < 0)
        goto out;

    s->loop = ev_default_loop(EVFLAG_AUTO);
    if (s->loop == NULL) {
        tw_errf(err, "cannot create the main event loop");
        goto out;
    }
    ev_async_init(&s->wake, scan_wake_cb);
    ev_async_start(s->loop, &s->wake);

    s->n_workers = s->cfg.threads;
    s->workers = tw_xcalloc((size_t)s->n_workers, sizeof(*s->workers));
    per_worker = (s->cfg.concurrency + s->n_workers - 1) / s->n_workers;
    for (int i = 0; i < s->n_workers; i++) {
        s->workers[i] = tw_worker_new(i, &s->cfg, per_worker,
                                      s->cfg.rate > 0 ? (double)s->cfg.rate / s->n_workers : 0,
                                      s->writer, scan_worker_exited, s, err);
        if (s->workers[i] == NULL)
            goto out;
    }
    s->t_start = scan_mono();
    for (int i = 0; i < s->n_workers; i++) {
        if (tw_worker_start(s->workers[i], err) < 0)
            goto out;
        started++;
    }
    if (pthread_create(&s->reader, NULL, scan_reader_main, s) != 0) {
        tw_errf(err, "cannot start the reader thread");
        goto out;
    }
    s->reader_started = 1;
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);

    ev_signal_init(&s->sigint, scan_signal_cb, SIGINT);
    s->sigint.data = s;
    ev_signal_start(s->loop, &s->sigint);
    ev_signal_init(&s->sigterm, scan_signal_cb, SIGTERM);
    s->sigterm.data = s;
    ev_signal_start(s->loop, &s->sigterm);
    s->show_progress = s->cfg.progress == 1 || (s->cfg.progress < 0 && isatty(2));
    ev_timer_init(&s->tick, scan_tick_cb, TW_PROGRESS_EVERY, TW_PROGRESS_EVERY);
    ev_timer_start(s->loop, &s->tick);

    if (__atomic_load_n(&s->n_exited, __ATOMIC_ACQUIRE) < s->n_workers)
        ev_run(s->loop, 0);
    rc = 0;
out:
    if (s->workers != NULL) {
        if (rc != 0)
            scan_stop(s);
        for (int i = 0; i < started; i++)
            tw_worker_join(s->workers[i]);
    }
    if (s->reader_started) {
        struct timespec ts;

        /* A reader stuck on a terminal or a pipe that never closes is left
         * behind (the process is about to exit) rather than waited for. */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 2;
        if (pthread_timedjoin_np(s->reader, NULL, &ts) != 0) {
            pthread_detach(s->reader);
            s->targets = NULL; /* still in use by the reader */
        }
    }
    if (s->loop != NULL) {
        ev_signal_stop(s->loop, &s->sigint);
        ev_signal_stop(s->loop, &s->sigterm);
        ev_timer_stop(s->loop, &s->tick);
        ev_async_stop(s->loop, &s->wake);
    }
    if (s->writer != NULL) {
        if (tw_writer_stop(s->writer, werr) < 0) {
            if (rc == 0)
                tw_errf(err, "%s", werr);
            rc = 3;
        }
        s->writer = NULL;
    }
    if (rc == 0 && s->read_failed) {
        tw_errf(err, "%s", s->read_err);
        rc = 2;
    }
    if (s->store != NULL && s->scan_id > 0 && !s->cfg.dry_run) {
        const char *status = rc == 0 && !s->interrupted ? "done" : "interrupted";

        if (s->workers != NULL && started > 0 && s->targets != NULL && rc != 3)
            scan_summary(s, scan_mono() - s->t_start);
        if (s->reader_eof && s->targets != NULL) {
            char fp[17];

            tw_targets_fingerprint(s->targets, fp);
            if (tw_store_scan_set_targets(s->store, s->scan_id, fp, werr) < 0 && rc == 0) {
                tw_errf(err, "%s", werr);
                rc = 3;
            }
        }
        if (tw_store_scan_finish(s->store, s->scan_id, status, werr) < 0 && rc == 0) {
            tw_errf(err, "%s", werr);
            rc = 3;
        }
    }
    if (s->workers != NULL) {
        for (int i = 0; i < s->n_workers; i++)
            tw_worker_free(s->workers[i]);
        free(s->workers);
    }
    if (sigs_blocked)
        pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
    if (ares_inited)
        ares_library_cleanup();
    tw_store_close(s->store);
    tw_targets_free(s->targets);
    free(s->seen.slots);
    free(s);
    return rc;
}
