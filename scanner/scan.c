/*
 * scan.c - the scan orchestration behind `tlsweep scan` (see scan.h).
 *
 * Threads: the main thread runs a small ev loop (signals, progress, the
 * writer's health, worker exits); one reader thread reads the target files
 * and hands each target to the worker chosen by a hash of its host (so one
 * address's per-IP cap lives on one worker); N workers (worker.c) probe,
 * taking connection slots and rate tokens from one shared budget (so a
 * worker dealt more targets borrows the others' idle slots); one
 * writer thread (store/writer.c) commits.  Every hand-off is a bounded queue
 * that blocks its producer when full, so memory stays flat whatever the
 * size of the target list.
 *
 * Interrupts: the first SIGINT/SIGTERM/SIGHUP stops the reader, makes the
 * workers drop what is in flight (targets are stored whole or not at all),
 * flushes the writer and marks the scan 'interrupted' so that --resume can
 * finish it, and the scan exits 4; a second signal exits 4 at once (the
 * writer commits whole transactions, so the database stays consistent and
 * the scan stays resumable).
 *
 * Resume (issue 15): a scan stores every option that shapes its endpoint
 * set or its verdicts in scan_options; --resume reloads them and refuses a
 * command line that contradicts them.  A scan is leased to the process that
 * runs it by an flock(2) on a lock file beside the database
 * (DB-lock.SCAN_ID, holding "pid N host H"): the kernel drops the lock when
 * the process dies, even by SIGKILL, so a crashed scan stays resumable and
 * a live one cannot be taken over.  The lock file is never the database's
 * own file (closing a second descriptor of it would drop SQLite's locks).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ares.h>
#include <ev.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

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
#define TW_TRIM_TICKS 4       /* malloc_trim every 4 progress ticks (2 s) */
#define TW_THREADS_MAX 256
#define SCAN_LEASE_TRIES 8 /* lock-file races (a holder unlinking it) before giving up */

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
    struct tw_budget *budget;
    int n_workers;
    int64_t scan_id;
    struct seen_set seen;
    uint64_t n_skipped;            /* atomic: targets skipped as already stored */
    struct tw_store_scan_row info; /* a resumed scan's row, as found */

    /* Strings the (merged) cfg borrows, freed with the scan. */
    struct tw_clients_set *clients_set; /* a resumed scan's --clients */
    char **owned;
    size_t n_owned, cap_owned;
    const char **files_arr; /* cfg.files when the scan made the list */
    int stdin_closed;       /* fd 0 was closed at start (now /dev/null) */

    int lease_fd; /* the flock'ed lock file, or -1 */
    char *lease_path;

    struct tw_target first; /* the first target, read before the scan row exists */
    int has_first;

    struct ev_loop *loop; /* the main thread's */
    ev_async wake;
    ev_signal sigint, sigterm, sighup;
    ev_timer tick;
    int n_exited; /* workers that left their loop (atomic) */
    int stop;     /* set once on interrupt or writer failure (atomic) */
    int interrupted;
    int writer_failed;
    int show_progress;
    unsigned n_ticks;
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

/* The protocol enum of a stored results.starttls name ("" = direct TLS). */
static int
scan_starttls_by_name(const char *name)
{
    for (int p = TW_STARTTLS_NONE + 1; p < TW_STARTTLS__COUNT; p++)
        if (strcmp(name, tw_starttls_name(p)) == 0)
            return p;
    return TW_STARTTLS_NONE;
}

static int
scan_seen_cb(void *arg, const char *host, int port, int has_sni, const char *sni,
             const char *starttls)
{
    struct scan *s = arg;

    seen_add(&s->seen, tw_target_hash_ex(host, (uint16_t)port, has_sni, has_sni ? sni : "",
                                         scan_starttls_by_name(starttls)));
    return 0;
}

/* The key of a target in the seen set: the protocol the worker will speak
 * to it, so --starttls auto's mapping of a well-known port counts too. */
static uint64_t
scan_seen_key(const struct scan *s, const struct tw_target *t)
{
    int stls = t->starttls;

    if (stls == TW_STARTTLS_NONE && s->cfg.starttls_auto)
        stls = tw_starttls_for_port(t->port);
    return tw_target_hash_ex(t->host, t->port, t->has_sni, t->has_sni ? t->sni : "", stls);
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
        if (s->has_first) {
            /* Read by tw_scan_run before the scan row was made. */
            t = s->first;
            s->has_first = 0;
            r = 1;
        } else {
            r = tw_targets_next(s->targets, &t, s->read_err);
        }
        if (r == 0) {
            s->reader_eof = 1;
            break;
        }
        if (r < 0) {
            s->read_failed = 1;
            break;
        }
        if (s->seen.n > 0 && seen_has(&s->seen, scan_seen_key(s, &t))) {
            __atomic_add_fetch(&s->n_skipped, 1, __ATOMIC_RELAXED);
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

/*
 * The handler while a scan row is open but the main loop is not watching
 * signals (start-up, and the flush after the loop): a signal there ends the
 * process at once with the interrupted exit code.  The writer commits whole
 * transactions, so the scan is consistent and --resume finishes it.
 * Async-signal-safe: write(2) and _exit(2) only.
 */
static void
scan_hard_stop(int sig)
{
    static const char msg[] = "\ntlsweep scan: signal: exiting now (exit 4)\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to say */
    }
    _exit(TW_SCAN_EXIT_INTERRUPTED);
}

static const int scan_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_SCAN_SIGNALS (sizeof(scan_signals) / sizeof(scan_signals[0]))

/* Install scan_hard_stop for the scan's signals (SIGHUP only when handle_hup),
 * saving the dispositions found in old[] the first time (*saved). */
static void
scan_hard_stop_install(int handle_hup, struct sigaction old[N_SCAN_SIGNALS], int *saved)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = scan_hard_stop;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_SCAN_SIGNALS; i++) {
        if (scan_signals[i] == SIGHUP && !handle_hup)
            continue;
        sigaction(scan_signals[i], &sa, *saved ? NULL : &old[i]);
    }
    *saved = 1;
}

static void
scan_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct scan *s = w->data;
    static const char again[] = "\ntlsweep scan: second signal: exiting now (exit 4)\n";

    (void)loop;
    (void)revents;
    if (s->interrupted) {
        /* Whole transactions only: the database is consistent, the scan
         * stays 'running' and --resume picks it up. */
        if (write(2, again, sizeof(again) - 1) < 0) {
            /* nothing more to say */
        }
        _exit(TW_SCAN_EXIT_INTERRUPTED);
    }
    s->interrupted = 1;
    if (s->progress_shown)
        fputs("\n", stderr);
    s->progress_shown = 0;
    fprintf(stderr, "tlsweep scan: interrupted: stopping (signal again to exit at once)\n");
    scan_stop(s);
}

static void
scan_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct scan *s = (struct scan *)((char *)t - offsetof(struct scan, tick));
    struct tw_worker_stats tot;
    char total[96];
    uint64_t handed, skipped;
    double el;

    (void)loop;
    (void)revents;
    /* The arenas keep freed memory (the mallopt in tw_scan_run) and the
     * pages of it that lie between live chunks were never given back: RSS
     * crept up with the length of the list (issue 18: 64 MiB at 10k, 137
     * MiB at 100k endpoints, while the live heap stayed under 55 MiB).
     * Every 2 s the free pages go back to the kernel (MADV_DONTNEED): at
     * 10 s, the arenas' high-water between two trims put a 1M-endpoint
     * scan's peak 18 MiB above its median (151 MiB, bench/RESULTS.md). */
    if (++s->n_ticks % TW_TRIM_TICKS == 0)
        malloc_trim(0);
    if (tw_writer_failed(s->writer) && !s->writer_failed) {
        s->writer_failed = 1;
        scan_stop(s);
    }
    if (!s->show_progress || s->interrupted)
        return;
    scan_totals(s, &tot);
    el = scan_mono() - s->t_start;
    handed = __atomic_load_n(&s->n_handed, __ATOMIC_RELAXED);
    skipped = __atomic_load_n(&s->n_skipped, __ATOMIC_RELAXED);
    /* The total is known once the reader has reached the end of its files;
     * until then the count of targets read so far is shown with a '+'.  On
     * --resume the targets already stored count as done (they are part of
     * the scan), while the rate and the ETA are of this run's work only. */
    if (__atomic_load_n(&s->reader_done, __ATOMIC_ACQUIRE) && handed + skipped > 0) {
        double rate = el > 0 ? (double)tot.targets_done / el : 0.0;
        double left = rate > 0 ? (double)(handed - tot.targets_done) / rate : 0.0;

        snprintf(total, sizeof(total), "%llu/%llu targets (%.0f%%), ETA %.0fs",
                 (unsigned long long)(tot.targets_done + skipped),
                 (unsigned long long)(handed + skipped),
                 100.0 * (double)(tot.targets_done + skipped) / (double)(handed + skipped), left);
    } else {
        snprintf(total, sizeof(total), "%llu/%llu+ targets",
                 (unsigned long long)(tot.targets_done + skipped),
                 (unsigned long long)(handed + skipped));
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

        fprintf(stderr,
                "tlsweep scan: -c %d needs %llu descriptors, hard limit %llu: using -c %d\n",
                cfg->concurrency, (unsigned long long)need, (unsigned long long)rl.rlim_max, c);
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        cfg->concurrency = c;
    }
}

/* ---- owned strings ------------------------------------------------------------------- */

/* A copy of v that lives as long as the scan (the merged cfg borrows it). */
static const char *
scan_own(struct scan *s, const char *v)
{
    if (s->n_owned == s->cap_owned) {
        s->cap_owned = s->cap_owned ? 2 * s->cap_owned : 16;
        s->owned = tw_xrealloc(s->owned, s->cap_owned * sizeof(*s->owned));
    }
    s->owned[s->n_owned] = tw_xstrdup(v);
    return s->owned[s->n_owned++];
}

/* A growing string for command lines (the hint, scans.options). */
struct scan_sbuf {
    char *p;
    size_t n, cap;
};

static void
sbuf_addn(struct scan_sbuf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        while (b->n + len + 1 > b->cap)
            b->cap = b->cap ? 2 * b->cap : 256;
        b->p = tw_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void
sbuf_add(struct scan_sbuf *b, const char *s)
{
    sbuf_addn(b, s, strlen(s));
}

/*
 * Append one shell word: bare when it is made of characters no shell treats
 * specially; else in single quotes (a quote inside written '\''); and when
 * it holds a control byte, as $'...' with \xNN escapes, so that a file name
 * cannot drive the terminal and the command still works when pasted.
 */
static void
sbuf_quote(struct scan_sbuf *b, const char *a)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "_@%+=:,./-";
    static const char hex[] = "0123456789abcdef";
    int has_ctl = 0;

    for (const char *p = a; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            has_ctl = 1;
    if (a[0] != '\0' && strspn(a, safe) == strlen(a)) {
        sbuf_add(b, a);
    } else if (!has_ctl) {
        sbuf_add(b, "'");
        for (const char *p = a; *p; p++) {
            if (*p == '\'')
                sbuf_add(b, "'\\''");
            else
                sbuf_addn(b, p, 1);
        }
        sbuf_add(b, "'");
    } else {
        sbuf_add(b, "$'");
        for (const char *p = a; *p; p++) {
            unsigned char c = (unsigned char)*p;

            if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
                char esc[5] = {'\\', 'x', hex[c >> 4], hex[c & 0xf], '\0'};

                sbuf_add(b, esc);
            } else {
                sbuf_addn(b, p, 1);
            }
        }
        sbuf_add(b, "'");
    }
}

/* ---- the scan's options (table scan_options) --------------------------------------------- */

struct scan_optdef {
    const char *name; /* the long option without dashes: scan_options.name */
    enum tw_cfg_opt id;
    int is_pacing; /* may differ on --resume */
    int is_flag;   /* takes no value on the command line */
};

/* In the order of the hint and of scans.options; the target files last. */
static const struct scan_optdef scan_optdefs[] = {
    {"label", TW_CFG_LABEL, 0, 0},
    {"ports", TW_CFG_PORTS, 0, 0},
    {"resolver", TW_CFG_RESOLVER, 0, 0},
    {"ca-file", TW_CFG_CA_FILE, 0, 0},
    {"now", TW_CFG_NOW, 0, 0},
    {"shard", TW_CFG_SHARD, 0, 0},
    {"starttls", TW_CFG_STARTTLS, 0, 0},
    {"quick", TW_CFG_QUICK, 0, 1},
    {"clients", TW_CFG_CLIENTS, 0, 0},
    {"check-names", TW_CFG_CHECK_NAMES, 0, 1},
    {"no-aia", TW_CFG_NO_AIA, 0, 1},
    {"no-revocation", TW_CFG_NO_REVOCATION, 0, 1},
    {"simulate", TW_CFG_SIMULATE, 0, 0},
    {"allow-large-ranges", TW_CFG_ALLOW_LARGE, 0, 1},
    {"connect-timeout", TW_CFG_CONNECT_TIMEOUT, 0, 0},
    {"handshake-timeout", TW_CFG_HANDSHAKE_TIMEOUT, 0, 0},
    {"dns-timeout", TW_CFG_DNS_TIMEOUT, 0, 0},
    {"dns-tries", TW_CFG_DNS_TRIES, 0, 0},
    {"probe-timeout", TW_CFG_PROBE_TIMEOUT, 0, 0},
    {"concurrency", TW_CFG_CONCURRENCY, 1, 0},
    {"threads", TW_CFG_THREADS, 1, 0},
    {"rate", TW_CFG_RATE, 1, 0},
    {"per-ip", TW_CFG_PER_IP, 1, 0},
    {"file", TW_CFG_FILE, 0, 0},
};
#define N_OPTDEFS (sizeof(scan_optdefs) / sizeof(scan_optdefs[0]))
#define SCAN_OPTVAL_MAX TW_DETAIL_MAX /* one value's text */
#define SCAN_OPT_ROWS_MAX 65536       /* stored rows read back, at most */
#define SCAN_FILES_MAX 65536          /* target files reloaded, at most */

/* Seconds as the shortest text that reads back as the same double. */
static void
scan_fmt_seconds(double v, char *buf, size_t len)
{
    /* Without an exponent where one is not needed: "10", not "1e+01". */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v && strchr(buf, 'e') == NULL)
            return;
    }
    snprintf(buf, len, "%.17g", v);
}

static int
scan_cmp_port(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/*
 * Value i (0 for a single-valued option) of option id in c, as the text
 * scan_options stores: 1 with buf filled, or 0 when there is no such value
 * (an option left at "off": no --ca-file, no --now, fewer resolvers).
 */
static int
scan_opt_get(const struct tw_config *c, enum tw_cfg_opt id, size_t i, char *buf, size_t len)
{
    if (id == TW_CFG_RESOLVER) {
        if (i >= c->n_resolvers || i >= TW_RESOLVERS_MAX)
            return 0;
        snprintf(buf, len, "%s", c->resolvers[i]);
        return 1;
    }
    if (id == TW_CFG_FILE) {
        if (c->n_files == 0 && i == 0) {
            snprintf(buf, len, "-"); /* no FILE: stdin */
            return 1;
        }
        if (i >= c->n_files)
            return 0;
        snprintf(buf, len, "%s", c->files[i]);
        return 1;
    }
    if (i > 0)
        return 0;
    switch (id) {
    case TW_CFG_PORTS: {
        uint16_t sorted[TW_PORTS_MAX];
        size_t n = c->n_ports < TW_PORTS_MAX ? c->n_ports : TW_PORTS_MAX, o = 0;

        /* Sorted: the set of ports shapes the endpoints, their order does not. */
        memcpy(sorted, c->ports, n * sizeof(sorted[0]));
        qsort(sorted, n, sizeof(sorted[0]), scan_cmp_port);
        buf[0] = '\0';
        for (size_t k = 0; k < n && o < len; k++) {
            int w = snprintf(buf + o, len - o, "%s%u", k ? "," : "", (unsigned)sorted[k]);

            if (w < 0)
                break;
            o += (size_t)w;
        }
        return n > 0;
    }
    case TW_CFG_CA_FILE:
        if (c->ca_file == NULL)
            return 0;
        snprintf(buf, len, "%s", c->ca_file);
        return 1;
    case TW_CFG_NOW: {
        char iso[21];

        if (!c->has_now)
            return 0;
        tw_time_iso(c->now, iso);
        snprintf(buf, len, "%s", iso);
        return 1;
    }
    case TW_CFG_SHARD:
        if (c->shard_n == 0)
            return 0;
        snprintf(buf, len, "%u/%u", (unsigned)c->shard_k, (unsigned)c->shard_n);
        return 1;
    case TW_CFG_STARTTLS:
        if (!c->starttls_auto)
            return 0;
        snprintf(buf, len, "auto");
        return 1;
    case TW_CFG_QUICK:
    case TW_CFG_ALLOW_LARGE:
    case TW_CFG_CHECK_NAMES:
    case TW_CFG_NO_AIA:
    case TW_CFG_NO_REVOCATION:
        if (!(id == TW_CFG_QUICK           ? c->quick
              : id == TW_CFG_CHECK_NAMES   ? c->check_names
              : id == TW_CFG_NO_AIA        ? c->no_aia
              : id == TW_CFG_NO_REVOCATION ? c->no_revocation
                                           : c->allow_large_ranges))
            return 0;
        snprintf(buf, len, "on");
        return 1;
    case TW_CFG_SIMULATE:
        if (!c->simulate_real)
            return 0;
        snprintf(buf, len, "real");
        return 1;
    case TW_CFG_CLIENTS:
        snprintf(buf, len, "%s",
                 c->client_set != NULL ? c->client_set->spec : tw_clients_policy_name(c->clients));
        return 1;
    case TW_CFG_CONNECT_TIMEOUT:
        scan_fmt_seconds(c->connect_timeout, buf, len);
        return 1;
    case TW_CFG_HANDSHAKE_TIMEOUT:
        scan_fmt_seconds(c->handshake_timeout, buf, len);
        return 1;
    case TW_CFG_DNS_TIMEOUT:
        scan_fmt_seconds(c->dns_timeout, buf, len);
        return 1;
    case TW_CFG_PROBE_TIMEOUT:
        if (c->probe_timeout <= 0)
            return 0; /* automatic: the handshake timeout, capped */
        scan_fmt_seconds(c->probe_timeout, buf, len);
        return 1;
    case TW_CFG_DNS_TRIES:
        snprintf(buf, len, "%d", c->dns_tries);
        return 1;
    case TW_CFG_LABEL:
        if (c->label == NULL)
            return 0;
        snprintf(buf, len, "%s", c->label);
        return 1;
    case TW_CFG_RATE:
        scan_fmt_seconds(c->rate, buf, len); /* the shortest text that reads back exactly */
        return 1;
    case TW_CFG_PER_IP:
        snprintf(buf, len, "%d", c->per_ip);
        return 1;
    case TW_CFG_CONCURRENCY:
        snprintf(buf, len, "%d", c->concurrency);
        return 1;
    case TW_CFG_THREADS:
        snprintf(buf, len, "%d", c->threads);
        return 1;
    case TW_CFG_RESOLVER:
    case TW_CFG_FILE:
    case TW_CFG__COUNT:
        break;
    }
    return 0;
}

/* A whole number in [lo, hi] with nothing after it. */
static int
scan_parse_long(const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int
scan_parse_secs(const char *v, double *out)
{
    char *end = NULL;
    double x;

    errno = 0;
    x = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(x > 0 && x <= 86400.0))
        return -1;
    *out = x;
    return 0;
}

/*
 * Set option id of s->cfg from stored value v (value i of a repeated
 * option; the caller cleared the list first).  The database is input like
 * any other: a value that does not parse is refused.  Returns 0 or -1.
 */
static int
scan_opt_set(struct scan *s, enum tw_cfg_opt id, size_t i, const char *v)
{
    struct tw_config *c = &s->cfg;
    char perr[TW_ERRLEN];
    long x;

    switch (id) {
    case TW_CFG_RESOLVER:
        if (i >= TW_RESOLVERS_MAX)
            return -1;
        c->resolvers[i] = scan_own(s, v);
        c->n_resolvers = i + 1;
        return 0;
    case TW_CFG_FILE:
        if (i >= SCAN_FILES_MAX)
            return -1;
        s->files_arr = tw_xrealloc(s->files_arr, (i + 1) * sizeof(*s->files_arr));
        s->files_arr[i] = scan_own(s, v);
        c->files = s->files_arr;
        c->n_files = i + 1;
        return 0;
    case TW_CFG_PORTS: {
        int n = tw_ports_parse(v, c->ports, TW_PORTS_MAX, perr);

        if (n <= 0)
            return -1;
        c->n_ports = (size_t)n;
        return 0;
    }
    case TW_CFG_CA_FILE:
        c->ca_file = scan_own(s, v);
        return 0;
    case TW_CFG_NOW:
        if (tw_time_parse(v, &c->now) < 0)
            return -1;
        c->has_now = 1;
        return 0;
    case TW_CFG_SHARD: {
        const char *slash = strchr(v, '/');
        char k[16];
        long kk, nn;

        if (slash == NULL || (size_t)(slash - v) >= sizeof(k))
            return -1;
        memcpy(k, v, (size_t)(slash - v));
        k[slash - v] = '\0';
        if (scan_parse_long(k, 1, 65536, &kk) < 0 ||
            scan_parse_long(slash + 1, 1, 65536, &nn) < 0 || kk > nn)
            return -1;
        c->shard_k = (uint32_t)kk;
        c->shard_n = (uint32_t)nn;
        return 0;
    }
    case TW_CFG_STARTTLS:
        if (strcmp(v, "auto") != 0)
            return -1;
        c->starttls_auto = 1;
        return 0;
    case TW_CFG_QUICK:
    case TW_CFG_ALLOW_LARGE:
    case TW_CFG_CHECK_NAMES:
    case TW_CFG_NO_AIA:
    case TW_CFG_NO_REVOCATION:
        if (strcmp(v, "on") != 0)
            return -1;
        if (id == TW_CFG_QUICK)
            c->quick = 1;
        else if (id == TW_CFG_CHECK_NAMES)
            c->check_names = 1;
        else if (id == TW_CFG_NO_AIA)
            c->no_aia = 1;
        else if (id == TW_CFG_NO_REVOCATION)
            c->no_revocation = 1;
        else
            c->allow_large_ranges = 1;
        return 0;
    case TW_CFG_SIMULATE:
        if (strcmp(v, "real") != 0)
            return -1;
        c->simulate_real = 1;
        return 0;
    case TW_CFG_CLIENTS: {
        char e[256];

        /* A named policy or a file is resolved again (the file re-read). */
        if (s->clients_set == NULL)
            s->clients_set = tw_xcalloc(1, sizeof(*s->clients_set));
        if (tw_clients_resolve(v, s->clients_set, e, sizeof(e)) < 0)
            return -1;
        c->clients = s->clients_set->policy;
        c->client_set = s->clients_set;
        return 0;
    }
    case TW_CFG_CONNECT_TIMEOUT:
        return scan_parse_secs(v, &c->connect_timeout);
    case TW_CFG_HANDSHAKE_TIMEOUT:
        return scan_parse_secs(v, &c->handshake_timeout);
    case TW_CFG_DNS_TIMEOUT:
        return scan_parse_secs(v, &c->dns_timeout);
    case TW_CFG_PROBE_TIMEOUT:
        return scan_parse_secs(v, &c->probe_timeout);
    case TW_CFG_LABEL:
        c->label = scan_own(s, v);
        return 0;
    case TW_CFG_RATE:
        return tw_config_parse_rate(v, &c->rate);
    case TW_CFG_DNS_TRIES:
    case TW_CFG_PER_IP:
    case TW_CFG_CONCURRENCY:
    case TW_CFG_THREADS: {
        /* The ranges cli/scan_cli.c accepts. */
        long lo = 1;
        long hi = id == TW_CFG_DNS_TRIES     ? 10
                  : id == TW_CFG_PER_IP      ? 100000
                  : id == TW_CFG_CONCURRENCY ? 1000000
                                             : 256;

        if (scan_parse_long(v, lo, hi, &x) < 0)
            return -1;
        if (id == TW_CFG_DNS_TRIES)
            c->dns_tries = (int)x;
        else if (id == TW_CFG_PER_IP)
            c->per_ip = (int)x;
        else if (id == TW_CFG_CONCURRENCY)
            c->concurrency = (int)x;
        else
            c->threads = (int)x;
        return 0;
    }
    case TW_CFG__COUNT:
        break;
    }
    return -1;
}

/* The stored rows of one scan, as read (name order, then seq). */
struct scan_row {
    char *name;
    char *value;
};

struct scan_rows {
    struct scan_row *v;
    size_t n, cap;
};

static int
scan_rows_cb(void *arg, const char *name, int seq, const char *value)
{
    struct scan_rows *r = arg;

    (void)seq; /* rows come ordered by seq within a name */
    if (r->n >= SCAN_OPT_ROWS_MAX)
        return 1;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        r->v = tw_xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    r->v[r->n].name = tw_xstrdup(name);
    r->v[r->n].value = tw_xstrdup(value);
    r->n++;
    return 0;
}

static void
scan_rows_free(struct scan_rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].name);
        free(r->v[i].value);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* "'a', 'b'" (the values of one option, for a message), or "(none)". */
static void
scan_values_text(const char *const *v, size_t n, char *buf, size_t len)
{
    struct scan_sbuf b = {NULL, 0, 0};

    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sbuf_add(&b, ", ");
        sbuf_quote(&b, v[i]);
    }
    snprintf(buf, len, "%s", b.p != NULL ? b.p : "(none)");
    free(b.p);
}

/*
 * --resume: reload the options stored with the scan (rows) into s->cfg.  An
 * option the command line did not give takes its stored value; one it gave
 * must have the stored value, except the pacing options, whose new value is
 * used.  Returns 0, or -1 with a message naming the option and both values.
 */
static int
scan_merge_options(struct scan *s, const struct scan_rows *rows, char *err)
{
    char *val = tw_xmalloc(SCAN_OPTVAL_MAX);
    const char **sv = tw_xcalloc(rows->n + 1, sizeof(*sv));
    char **gv = NULL;
    size_t ng = 0;
    int rc = -1;

    for (size_t d = 0; d < N_OPTDEFS; d++) {
        const struct scan_optdef *od = &scan_optdefs[d];
        size_t ns = 0;
        int same;

        ng = 0;
        for (size_t i = 0; i < rows->n; i++)
            if (strcmp(rows->v[i].name, od->name) == 0)
                sv[ns++] = rows->v[i].value;
        if (!(s->cfg.given & TW_CFG_BIT(od->id))) {
            if (ns == 0)
                continue; /* not stored: off, as the command line has it */
            if (od->id == TW_CFG_RESOLVER)
                s->cfg.n_resolvers = 0;
            if (od->id == TW_CFG_FILE)
                s->cfg.n_files = 0;
            for (size_t i = 0; i < ns; i++) {
                if (scan_opt_set(s, od->id, i, sv[i]) < 0) {
                    tw_errf(err,
                            "scan %lld: the stored option --%s '%.200s' is not valid: start a "
                            "new scan",
                            (long long)s->scan_id, od->name, sv[i]);
                    goto out;
                }
            }
            continue;
        }
        /* Given: compare the command line's values with the stored ones. */
        while (scan_opt_get(&s->cfg, od->id, ng, val, SCAN_OPTVAL_MAX)) {
            gv = tw_xrealloc(gv, (ng + 1) * sizeof(*gv));
            gv[ng++] = tw_xstrdup(val);
        }
        same = ng == ns;
        for (size_t i = 0; same && i < ng; i++)
            same = strcmp(gv[i], sv[i]) == 0;
        if (!same && !od->is_pacing) {
            char was[200], now[200];

            scan_values_text(sv, ns, was, sizeof(was));
            scan_values_text((const char *const *)gv, ng, now, sizeof(now));
            if (ns == 0)
                snprintf(was, sizeof(was), "no --%s", od->name);
            if (od->is_flag)
                snprintf(now, sizeof(now), "--%s", od->name);
            if (od->id == TW_CFG_FILE)
                tw_errf(err,
                        "target FILEs: scan %lld was started with %s, this command gives %s: "
                        "a resumed scan keeps the target list it was started with; give no "
                        "FILE (it reads the stored ones), or start a new scan",
                        (long long)s->scan_id, was, now);
            else
                tw_errf(err,
                        "--%s: scan %lld was started with %s, this command gives %s: a "
                        "resumed scan keeps the options it was started with (only -c, -j, "
                        "--rate and --per-ip may change); leave --%s out, or start a new scan",
                        od->name, (long long)s->scan_id, was, now, od->name);
            goto out;
        }
        for (size_t i = 0; i < ng; i++)
            free(gv[i]);
        free(gv);
        gv = NULL;
        ng = 0;
    }
    rc = 0;
out:
    for (size_t i = 0; i < ng; i++)
        free(gv[i]);
    free(gv);
    free(sv);
    free(val);
    return rc;
}

/*
 * The command-line words of cfg's options ("--ports 443 ... FILE..."),
 * quoted for the shell.  With only_changed, an option is left out when it
 * has its default value (tw_config_defaults), which --resume reloads anyway:
 * the hint stays short and still complete.
 */
static void
scan_cmdline(const struct tw_config *c, int only_changed, struct scan_sbuf *b)
{
    struct tw_config defaults;
    char *val = tw_xmalloc(SCAN_OPTVAL_MAX), *dval = tw_xmalloc(SCAN_OPTVAL_MAX);

    tw_config_defaults(&defaults);
    for (size_t d = 0; d < N_OPTDEFS; d++) {
        const struct scan_optdef *od = &scan_optdefs[d];

        val[0] = '\0';
        dval[0] = '\0';
        if (only_changed && od->id != TW_CFG_FILE && od->id != TW_CFG_RESOLVER &&
            scan_opt_get(c, od->id, 0, val, SCAN_OPTVAL_MAX) ==
                scan_opt_get(&defaults, od->id, 0, dval, SCAN_OPTVAL_MAX) &&
            strcmp(val, dval) == 0)
            continue;
        for (size_t i = 0; scan_opt_get(c, od->id, i, val, SCAN_OPTVAL_MAX); i++) {
            if (b->n > 0)
                sbuf_add(b, " ");
            if (od->id != TW_CFG_FILE) {
                sbuf_add(b, "--");
                sbuf_add(b, od->name);
                if (od->is_flag)
                    continue;
                sbuf_add(b, " ");
            } else if (val[0] == '-' && val[1] != '\0') {
                sbuf_add(b, "./"); /* a file named like an option */
            }
            sbuf_quote(b, val);
        }
    }
    free(val);
    free(dval);
}

/* Store s->cfg's options (every value, defaults included) with the new scan. */
static int
scan_put_options(struct scan *s, char *err)
{
    char *val = tw_xmalloc(SCAN_OPTVAL_MAX);
    int rc = 0;

    for (size_t d = 0; d < N_OPTDEFS && rc == 0; d++)
        for (size_t i = 0;
             rc == 0 && scan_opt_get(&s->cfg, scan_optdefs[d].id, i, val, SCAN_OPTVAL_MAX); i++)
            rc = tw_store_scan_option_put(s->store, s->scan_id, scan_optdefs[d].name, (int)i, val,
                                          err);
    free(val);
    return rc;
}

/*
 * Make the path options absolute (realpath), so that the stored scan names
 * the same files from any directory and a resumed command line compares
 * equal however it spells them.  A path that does not resolve is kept as
 * given (opening it reports the error); "-" stays stdin.
 */
static void
scan_canon_paths(struct scan *s)
{
    char real[PATH_MAX];

    if (s->cfg.ca_file != NULL && realpath(s->cfg.ca_file, real) != NULL)
        s->cfg.ca_file = scan_own(s, real);
    if (s->cfg.n_files == 0)
        return;
    s->files_arr = tw_xcalloc(s->cfg.n_files, sizeof(*s->files_arr));
    for (size_t i = 0; i < s->cfg.n_files; i++) {
        const char *f = s->cfg.files[i];

        if (strcmp(f, "-") != 0 && realpath(f, real) != NULL)
            f = real;
        s->files_arr[i] = scan_own(s, f);
    }
    s->cfg.files = s->files_arr;
}

/* ---- the trust store's identity ------------------------------------------------------------ */

/* The SHA-256 of a file's bytes as hex into out[65], or "" when unreadable. */
static void
scan_sha256_file(const char *path, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
    unsigned int mdlen = 0;
    ssize_t n;
    int fd = -1;

    out[0] = '\0';
    if (ctx == NULL || EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(ctx);
}

/*
 * The trust store the verdicts are judged against: "file:PATH" for
 * --ca-file, else "system:" and the bundle OpenSSL loads by default
 * (SSL_CERT_FILE when set, as X509_STORE_set_default_paths does), with the
 * SHA-256 of its bytes ("" when it cannot be read, e.g. a hashed directory
 * only).
 */
static void
scan_trust(const struct tw_config *c, char *store, size_t len, char sha[65])
{
    const char *path = c->ca_file;

    if (path != NULL) {
        snprintf(store, len, "file:%s", path);
    } else {
        const char *env = getenv(X509_get_default_cert_file_env());

        path = env != NULL && env[0] != '\0' ? env : X509_get_default_cert_file();
        snprintf(store, len, "system:%s", path);
    }
    scan_sha256_file(path, sha);
}

/* ---- the lease: one live process per scan ---------------------------------------------------- */

/*
 * Take the lease of scan id: an exclusive flock(2) on DB-lock.ID (DB the
 * database's real path), which then holds "pid N host H".  Returns 0; 1
 * when another live process holds it (err names it); -1 on an error.  The
 * lock dies with the process, whatever kills it; a file left by a dead one
 * is simply taken over.  A holder unlinks the file when it ends, so after
 * locking we check that the path still names our file, else try again.
 */
static int
scan_lease_take(struct scan *s, int64_t id, char *err)
{
    char real[PATH_MAX], path[PATH_MAX + 32], host[256], line[400];
    const char *db = realpath(s->cfg.db_path, real) != NULL ? real : s->cfg.db_path;
    struct stat a, b;
    int fd = -1;

    snprintf(path, sizeof(path), "%s-lock.%lld", db, (long long)id);
    for (int tries = 0; tries < SCAN_LEASE_TRIES; tries++) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            tw_errf(err, "cannot create the lock file %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            ssize_t n;

            if (e != EWOULDBLOCK) {
                tw_errf(err, "cannot lock %s: %s", path, strerror(e));
                close(fd);
                return -1;
            }
            n = pread(fd, line, sizeof(line) - 1, 0);
            close(fd);
            line[n > 0 ? n : 0] = '\0';
            line[strcspn(line, "\n")] = '\0';
            for (char *p = line; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                    *p = '?';
            tw_errf(err,
                    "scan %lld is being run by another live process (%s; lock %s): wait for it "
                    "to end, or stop it (an interrupted or killed scan can be resumed)",
                    (long long)id, line[0] ? line : "pid unknown", path);
            return 1;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            break;
        close(fd); /* unlinked by its last holder: take the new one */
        fd = -1;
    }
    if (fd < 0) {
        tw_errf(err, "cannot lock %s: it keeps being replaced", path);
        return -1;
    }
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    snprintf(line, sizeof(line), "pid %ld host %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, strlen(line), 0) < 0) {
        /* The lock holds without the text; a refused resume says less. */
    }
    s->lease_fd = fd;
    s->lease_path = tw_xstrdup(path);
    return 0;
}

/* Give the lease back: unlink the file while it is still ours, then unlock. */
static void
scan_lease_drop(struct scan *s)
{
    struct stat a, b;

    if (s->lease_fd < 0)
        return;
    if (fstat(s->lease_fd, &a) == 0 && stat(s->lease_path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        unlink(s->lease_path);
    close(s->lease_fd);
    s->lease_fd = -1;
    free(s->lease_path);
    s->lease_path = NULL;
}

/* ---- stdin ---------------------------------------------------------------------------------- */

/* fd 0 closed (`<&-`): put /dev/null there, so that no file opened later
 * (the lock file) becomes "stdin", and remember it for scan_check_stdin. */
static void
scan_stdin_guard(struct scan *s)
{
    int fd;

    if (fcntl(STDIN_FILENO, F_GETFD) >= 0 || errno != EBADF)
        return;
    s->stdin_closed = 1;
    fd = open("/dev/null", O_RDONLY);
    if (fd > STDIN_FILENO) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
}

static int
scan_uses_stdin(const struct tw_config *c)
{
    if (c->n_files == 0)
        return 1;
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i], "-") == 0)
            return 1;
    return 0;
}

/* The target list comes from stdin: it must be open, and for a resumed
 * scan it must not be a terminal (the same list is piped in again). */
static int
scan_check_stdin(struct scan *s, char *err)
{
    if (!scan_uses_stdin(&s->cfg))
        return 0;
    if (s->stdin_closed) {
        tw_errf(err, "stdin is closed: give target FILEs, or pipe the target list in");
        return -1;
    }
    if (s->cfg.resume && isatty(STDIN_FILENO)) {
        tw_errf(err,
                "scan %lld read its targets from stdin: pipe the same target list in again "
                "(tlsweep scan --resume %lld ... - < LIST)",
                (long long)s->scan_id, (long long)s->scan_id);
        return -1;
    }
    return 0;
}

/* ---- dry run, summary --------------------------------------------------------------------- */

/* "a.txt, b.txt" (stdin for "-"), for a message. */
static void
scan_files_text(const struct tw_config *c, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i == 0 || i < c->n_files; i++) {
        const char *f = c->n_files == 0 || strcmp(c->files[i], "-") == 0 ? "stdin" : c->files[i];
        int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", f);

        if (w < 0 || (size_t)w >= len - o)
            break;
        o += (size_t)w;
    }
}

/* "no valid target in FILE..." when the list held no target at all. */
static void
scan_no_target_err(struct scan *s, char *err)
{
    struct tw_targets_stats ts;
    char files[300];

    tw_targets_get_stats(s->targets, &ts);
    scan_files_text(&s->cfg, files, sizeof(files));
    tw_errf(err, "no valid target in %s (%llu line%s read, %llu bad)%s", files,
            (unsigned long long)ts.lines, ts.lines == 1 ? "" : "s", (unsigned long long)ts.bad,
            s->cfg.resume ? "" : ": no scan recorded");
}

static int
scan_dry_run(struct scan *s, char *err)
{
    struct tw_targets_stats ts;
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
    if (r < 0)
        return 2;
    tw_targets_get_stats(s->targets, &ts);
    if (ts.targets == 0) {
        scan_no_target_err(s, err);
        return 2;
    }
    return 0;
}

/* The command that resumes this scan, as the user can paste it. */
static void
scan_hint(struct scan *s, int64_t n_stored)
{
    struct scan_sbuf b = {NULL, 0, 0};
    char id[32], real[PATH_MAX];

    snprintf(id, sizeof(id), "%lld", (long long)s->scan_id);
    sbuf_add(&b, "tlsweep scan --resume ");
    sbuf_add(&b, id);
    sbuf_add(&b, " --db ");
    /* Absolute, like the stored target files: the command works from any
     * directory. */
    sbuf_quote(&b, realpath(s->cfg.db_path, real) != NULL ? real : s->cfg.db_path);
    scan_cmdline(&s->cfg, 1, &b);
    fprintf(stderr, "interrupted: %lld endpoints stored; resume with: %s\n", (long long)n_stored,
            b.p);
    if (scan_uses_stdin(&s->cfg))
        fprintf(stderr, "  (its targets came from stdin: pipe the same target list into that "
                        "command again)\n");
    free(b.p);
}

static void
scan_summary(struct scan *s, double elapsed)
{
    struct tw_worker_stats tot;
    struct tw_targets_stats ts;
    struct tw_store_scan_row now;
    char werr[TW_ERRLEN];
    uint64_t skipped = __atomic_load_n(&s->n_skipped, __ATOMIC_RELAXED);

    scan_totals(s, &tot);
    tw_targets_get_stats(s->targets, &ts);
    if (s->progress_shown)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "tlsweep scan: scan %lld %s: %llu endpoints in %.1f s (%.0f/s)",
            (long long)s->scan_id, s->interrupted ? "interrupted" : "done",
            (unsigned long long)tot.done, elapsed, elapsed > 0 ? (double)tot.done / elapsed : 0.0);
    if (skipped > 0)
        fprintf(stderr, ", %llu already stored", (unsigned long long)skipped);
    fprintf(stderr, ", %llu bad target line%s\n", (unsigned long long)ts.bad,
            ts.bad == 1 ? "" : "s");
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (tot.by_class[c] > 0)
            fprintf(stderr, "  %-20s %llu\n", tw_class_name((enum tw_class)c),
                    (unsigned long long)tot.by_class[c]);
    if (s->interrupted) {
        /* The rows the scan holds now, counted by the database: endpoints
         * of this run and of the runs before it, once each. */
        int64_t n = (int64_t)(tot.done + s->seen.n);

        if (tw_store_scan_get(s->store, s->scan_id, &now, werr) == 0)
            n = now.n_results;
        tw_store_scan_row_cleanup(&now);
        scan_hint(s, n);
    }
}

/* ---- the scans row ------------------------------------------------------------------------- */

/*
 * --resume, before the targets are opened: find the scan, take its lease,
 * and reload its options into s->cfg.  Returns 0, or the exit code (2: the
 * command line contradicts the scan; 3: no such scan, busy, database).
 */
static int
scan_resume_prepare(struct scan *s, char *err)
{
    struct scan_rows rows = {NULL, 0, 0};
    int r, rc = 3;

    if (access(s->cfg.db_path, F_OK) != 0) {
        /* Do not create an empty database only to find nothing in it. */
        tw_errf(err, "%s: %s: nothing to resume", s->cfg.db_path, strerror(errno));
        rc = 2;
        goto out;
    }
    if (tw_store_open(s->cfg.db_path, 0, &s->store, err) < 0)
        goto out;
    s->scan_id = s->cfg.resume_id;
    if (s->scan_id == 0) {
        r = tw_store_scan_find_resumable(s->store, &s->scan_id, err);
        if (r < 0)
            goto out;
        if (r == 1) {
            tw_errf(err, "%s: no interrupted scan to resume", s->cfg.db_path);
            goto out;
        }
    }
    if (scan_lease_take(s, s->scan_id, err) != 0)
        goto out;
    r = tw_store_scan_get(s->store, s->scan_id, &s->info, err);
    if (r < 0)
        goto out;
    if (r == 1) {
        tw_errf(err, "%s: no scan %lld", s->cfg.db_path, (long long)s->scan_id);
        goto out;
    }
    if (s->info.n_options == 0) {
        /* Begun by a tlsweep before schema 5: nothing to reload or check. */
        fprintf(stderr,
                "tlsweep scan: warning: scan %lld was begun by an older tlsweep that stored no "
                "options: it resumes with this command line's options, which must be the ones "
                "it was started with\n",
                (long long)s->scan_id);
        rc = 0;
        goto out;
    }
    r = tw_store_scan_options_each(s->store, s->scan_id, scan_rows_cb, &rows, err);
    if (r < 0)
        goto out;
    if (r > 0) {
        tw_errf(err, "scan %lld: more than %d stored options", (long long)s->scan_id,
                SCAN_OPT_ROWS_MAX);
        goto out;
    }
    if (scan_merge_options(s, &rows, err) < 0) {
        rc = 2;
        goto out;
    }
    rc = 0;
out:
    scan_rows_free(&rows);
    return rc;
}

/*
 * A new scan: its scans row (with the human-readable options, the trust
 * store), its scan_options rows and its lease, in one transaction, so that
 * no other process sees the row 'running' before its lease is held.
 */
static int
scan_begin_new(struct scan *s, char *err)
{
    struct scan_sbuf opts = {NULL, 0, 0};
    char shard[32], now_at[21], trust[PATH_MAX + 16], trust_sha[65];
    struct tw_scan_meta meta;
    int rc = -1;

    scan_cmdline(&s->cfg, 0, &opts);
    scan_trust(&s->cfg, trust, sizeof(trust), trust_sha);
    memset(&meta, 0, sizeof(meta));
    meta.label = s->cfg.label;
    meta.options = opts.p;
    meta.trust_store = trust;
    meta.trust_sha256 = trust_sha[0] ? trust_sha : NULL;
    if (s->cfg.shard_n > 0) {
        snprintf(shard, sizeof(shard), "%u/%u", (unsigned)s->cfg.shard_k, (unsigned)s->cfg.shard_n);
        meta.shard = shard;
    }
    if (s->cfg.has_now) {
        tw_time_iso(s->cfg.now, now_at);
        meta.now_at = now_at;
    }
    if (tw_store_begin(s->store, err) < 0)
        goto out;
    if (tw_store_scan_begin(s->store, &meta, &s->scan_id, err) < 0 ||
        scan_put_options(s, err) < 0 || scan_lease_take(s, s->scan_id, err) != 0 ||
        tw_store_commit(s->store, err) < 0) {
        tw_store_rollback(s->store);
        s->scan_id = 0;
        goto out;
    }
    rc = 0;
out:
    free(opts.p);
    return rc;
}

/* A resumed scan: 'running' again, its stored endpoints loaded to be
 * skipped, and a warning when the trust store is not the one it began with. */
static int
scan_reopen(struct scan *s, char *err)
{
    char trust[PATH_MAX + 16], trust_sha[65];

    if (tw_store_scan_reopen(s->store, s->scan_id, err) < 0)
        return -1;
    scan_trust(&s->cfg, trust, sizeof(trust), trust_sha);
    if (s->info.trust_store == NULL) {
        if (tw_store_scan_set_trust(s->store, s->scan_id, trust, trust_sha[0] ? trust_sha : NULL,
                                    err) < 0)
            return -1;
    } else if (strcmp(s->info.trust_store, trust) != 0 ||
               (s->info.trust_sha256 != NULL && strcmp(s->info.trust_sha256, trust_sha) != 0)) {
        fprintf(stderr,
                "tlsweep scan: warning: scan %lld began with trust store %s (sha256 %.16s...), "
                "now %s (sha256 %.16s...): its verdicts were judged against two trust stores\n",
                (long long)s->scan_id, s->info.trust_store,
                s->info.trust_sha256 ? s->info.trust_sha256 : "none", trust,
                trust_sha[0] ? trust_sha : "none");
    }
    return tw_store_each_endpoint(s->store, s->scan_id, scan_seen_cb, s, err) == 0 ? 0 : -1;
}

/* ---- tw_scan_run ---------------------------------------------------------------------- */

int
tw_scan_run(const struct tw_config *cfg, char *err)
{
    struct scan *s = tw_xcalloc(1, sizeof(*s));
    struct tw_targets_opts topts;
    struct tw_writer_opts wopts;
    struct tw_targets_stats ts;
    struct sigaction hup, old_sa[N_SCAN_SIGNALS];
    sigset_t sigs, oldsigs;
    int sigs_blocked = 0, ares_inited = 0, row_open = 0, handle_hup, sa_saved = 0;
    int rc = 3, started = 0, r;
    char werr[TW_ERRLEN];

    s->cfg = *cfg;
    s->lease_fd = -1;
    /* Per-thread malloc arenas would trim and regrow (mprotect, munmap)
     * around OpenSSL's 16-22 KB per-handshake buffers: keep freed memory
     * (bench/RESULTS.md: 2.8 -> 0.03 mprotect per connection). */
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    if (s->cfg.db_path == NULL)
        s->cfg.db_path = "./tlsweep.db";
    scan_stdin_guard(s);
    scan_canon_paths(s);
    handle_hup = 0;
    if (s->cfg.resume) {
        rc = scan_resume_prepare(s, err);
        if (rc != 0)
            goto out;
        rc = 3;
    }
    if (s->cfg.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        s->cfg.threads = n > 0 ? (int)n : 1;
    }
    if (s->cfg.threads > TW_THREADS_MAX)
        s->cfg.threads = TW_THREADS_MAX;
    if (s->cfg.concurrency <= 0)
        s->cfg.concurrency = 1000;
    if (scan_check_stdin(s, err) < 0) {
        rc = 2;
        goto out;
    }

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
    /* The first target is read before a new scan's row exists: a list
     * without any valid target (empty, only comments, all bad, /dev/null)
     * is an input error that leaves no scan behind.  A --shard that takes
     * none of a valid list's endpoints is not: that scan is done, empty. */
    r = tw_targets_next(s->targets, &s->first, err);
    if (r < 0) {
        rc = 2;
        goto out;
    }
    s->has_first = r == 1;
    tw_targets_get_stats(s->targets, &ts);
    if (ts.targets == 0) {
        scan_no_target_err(s, err);
        rc = 2;
        goto out;
    }
    if (r == 0)
        s->reader_eof = 1; /* every endpoint was another shard's */
    scan_fd_limit(&s->cfg);
    if (s->cfg.threads > s->cfg.concurrency)
        s->cfg.threads = s->cfg.concurrency;
    if (!s->cfg.resume) {
        if (tw_store_open(s->cfg.db_path, 0, &s->store, err) < 0)
            goto out;
        if (scan_begin_new(s, err) < 0)
            goto out;
    } else if (scan_reopen(s, err) < 0) {
        goto out;
    }
    row_open = 1;
    /* SIGHUP (the terminal went away) is an interruption too, unless it was
     * ignored at start (nohup). */
    handle_hup = sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN;
    scan_hard_stop_install(handle_hup, old_sa, &sa_saved);

    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        tw_errf(err, "cannot initialise c-ares");
        goto out;
    }
    ares_inited = 1;

    /* Only the main thread takes SIGINT/SIGTERM/SIGHUP: every thread made
     * from here on inherits the blocked mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    if (handle_hup)
        sigaddset(&sigs, SIGHUP);
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
    s->budget =
        tw_budget_new(s->cfg.concurrency, s->cfg.rate > 0 ? (double)s->cfg.rate : 0, s->n_workers);
    for (int i = 0; i < s->n_workers; i++) {
        s->workers[i] = tw_worker_new(i, &s->cfg, s->budget, s->writer, scan_worker_exited, s, err);
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
    ev_signal_init(&s->sighup, scan_signal_cb, SIGHUP);
    s->sighup.data = s;
    if (handle_hup)
        ev_signal_start(s->loop, &s->sighup);
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
        struct timespec ts_wait;

        /* A reader stuck on a terminal or a pipe that never closes is left
         * behind (the process is about to exit) rather than waited for. */
        clock_gettime(CLOCK_REALTIME, &ts_wait);
        ts_wait.tv_sec += 2;
        if (pthread_timedjoin_np(s->reader, NULL, &ts_wait) != 0) {
            pthread_detach(s->reader);
            s->targets = NULL; /* still in use by the reader */
        }
    }
    if (s->loop != NULL) {
        ev_signal_stop(s->loop, &s->sigint);
        ev_signal_stop(s->loop, &s->sigterm);
        ev_signal_stop(s->loop, &s->sighup);
        ev_timer_stop(s->loop, &s->tick);
        ev_async_stop(s->loop, &s->wake);
    }
    /* ev_signal_stop put the default action back: a signal during the
     * flush below must still exit 4, not kill the process (130). */
    if (sa_saved)
        scan_hard_stop_install(handle_hup, old_sa, &sa_saved);
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
    if (row_open) {
        const char *status = rc == 0 && !s->interrupted ? "done" : "interrupted";

        if (s->workers != NULL && started > 0 && s->targets != NULL && rc != 3)
            scan_summary(s, scan_mono() - s->t_start);
        if (s->reader_eof && s->targets != NULL) {
            char fp[TW_TARGETS_FP_HEX + 1];

            tw_targets_fingerprint(s->targets, fp);
            if (s->info.targets_sha256 != NULL && strcmp(s->info.targets_sha256, fp) != 0 &&
                strlen(s->info.targets_sha256) == TW_TARGETS_FP_HEX)
                fprintf(stderr,
                        "tlsweep scan: warning: the target list differs from the one scan %lld "
                        "read before (targets_sha256 %.16s... then, %.16s... now)\n",
                        (long long)s->scan_id, s->info.targets_sha256, fp);
            if (tw_store_scan_set_targets(s->store, s->scan_id, fp, werr) < 0 && rc == 0) {
                tw_errf(err, "%s", werr);
                rc = 3;
            }
        }
        if (tw_store_scan_finish(s->store, s->scan_id, status, werr) < 0 && rc == 0) {
            tw_errf(err, "%s", werr);
            rc = 3;
        }
        if (rc == 0 && s->interrupted)
            rc = TW_SCAN_EXIT_INTERRUPTED;
    }
    if (s->workers != NULL) {
        for (int i = 0; i < s->n_workers; i++)
            tw_worker_free(s->workers[i]);
        free(s->workers);
    }
    if (s->budget != NULL)
        tw_debug("scan", "budget: at most %d of %d connection slots held at once",
                 tw_budget_peak(s->budget), s->cfg.concurrency);
    tw_budget_free(s->budget);
    if (sigs_blocked)
        pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
    /* After an interrupt the hard stop stays: a second signal up to the
     * process's exit still exits 4.  Otherwise the old dispositions return. */
    for (size_t i = 0; sa_saved && !s->interrupted && i < N_SCAN_SIGNALS; i++)
        if (scan_signals[i] != SIGHUP || handle_hup)
            sigaction(scan_signals[i], &old_sa[i], NULL);
    if (ares_inited)
        ares_library_cleanup();
    tw_store_close(s->store);
    scan_lease_drop(s);
    tw_targets_free(s->targets);
    tw_store_scan_row_cleanup(&s->info);
    for (size_t i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->clients_set);
    free(s->files_arr);
    free(s->seen.slots);
    free(s);
    return rc;
}
