/*
 * store_bench.c - results per second through the single writer.
 *
 * Pushes N results (each with a two-certificate chain: a leaf and a shared
 * intermediate, PEM of --pem bytes each) through tw_writer into a fresh
 * database, the way a scan does: results are built on pusher threads and
 * handed over by ownership.  The clock runs from the first push to the
 * return of tw_writer_stop (everything committed).
 *
 *   store_bench [-n N] [--leaf-every K] [--pem BYTES] [--pushers P] [--db PATH]
 *     --leaf-every K   a new leaf certificate every K results (1 = all distinct,
 *                      0 = one leaf for all); default 1
 * prints: results=N wall_s=... results_per_s=... cpu_s=... writer_cpu_s=...
 *         results_per_writer_cpu_s=... db_bytes=...
 * (writer CPU = process CPU - the pushers' thread CPU: robust to a busy machine)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchargs.h"

#include "base/log.h"
#include "base/xalloc.h"
#include "store/model.h"
#include "store/store.h"
#include "store/writer.h"

static struct {
    long n;
    long leaf_every;
    size_t pem;
    int pushers;
    struct tw_writer *w;
} sb;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *pem_template; /* random base64 lines, built once */

/* A distinct PEM-sized text per seed, cheap to make: the pushers stand in
 * for scanner workers and should not compete with the writer for CPU. */
static char *
fake_pem(long seed)
{
    char *p = tw_xmalloc(sb.pem + 1);

    memcpy(p, pem_template, sb.pem + 1);
    if (sb.pem >= 16)
        snprintf(p, 16, "%015lx", (unsigned long)seed);
    return p;
}

static void
pem_template_init(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long x = 1;

    pem_template = tw_xmalloc(sb.pem + 1);
    for (size_t i = 0; i < sb.pem; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        pem_template[i] = (i % 65 == 64) ? '\n' : b64[(x >> 33) & 63];
    }
    pem_template[sb.pem] = '\0';
}

static void
fake_cert(struct tw_cert *c, long id, int is_leaf)
{
    char buf[128];

    snprintf(c->sha256, sizeof(c->sha256), "%064lx", (unsigned long)id);
    snprintf(buf, sizeof(buf), is_leaf ? "CN=h%ld.example,O=Bench" : "CN=Bench CA %ld", id);
    c->subject = tw_xstrdup(buf);
    c->issuer = tw_xstrdup(is_leaf ? "CN=Bench CA 0" : "CN=Bench Root");
    tw_strlcpy(c->not_before, "2026-01-01T00:00:00Z", sizeof(c->not_before));
    tw_strlcpy(c->not_after, "2027-01-01T00:00:00Z", sizeof(c->not_after));
    tw_strlcpy(c->key_type, "EC", sizeof(c->key_type));
    c->key_bits = 256;
    tw_strlcpy(c->sig_alg, "ecdsa-with-SHA256", sizeof(c->sig_alg));
    snprintf(buf, sizeof(buf), "DNS:h%ld.example", id);
    c->san = tw_xstrdup(is_leaf ? buf : "");
    c->pem = sb.pem > 0 ? fake_pem(id) : NULL;
}

static struct tw_result *
fake_result(long i)
{
    struct tw_result *r = tw_xcalloc(1, sizeof(*r));
    long leaf = sb.leaf_every == 0 ? 1 : 1 + i / sb.leaf_every;

    snprintf(r->host, sizeof(r->host), "h%ld.example", i);
    r->target = tw_xstrdup(r->host);
    snprintf(r->ip, sizeof(r->ip), "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    r->port = 443;
    r->has_sni = 1;
    tw_strlcpy(r->sni, r->host, sizeof(r->sni));
    r->cls = TW_CLASS_OK;
    tw_strlcpy(r->tls_version, "TLSv1.3", sizeof(r->tls_version));
    tw_strlcpy(r->cipher, "TLS_AES_256_GCM_SHA384", sizeof(r->cipher));
    r->elapsed_ms = 12;
    r->chain = tw_xcalloc(2, sizeof(*r->chain));
    r->n_chain = 2;
    fake_cert(&r->chain[0], 1000000000L + leaf, 1);
    fake_cert(&r->chain[1], 1, 0);
    return r;
}

static double pusher_cpu[16]; /* each pusher's own CPU seconds */

static void *
pusher(void *arg)
{
    long k = (long)(intptr_t)arg;
    struct timespec ts;

    for (long i = k; i < sb.n; i += sb.pushers)
        tw_writer_push(sb.w, fake_result(i));
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    pusher_cpu[k] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *db = "store_bench.db";
    char err[TW_ERRLEN], wal[4096];
    struct tw_store *st = NULL;
    struct tw_scan_meta meta = {.label = "store_bench"};
    pthread_t th[16];
    struct rusage ru;
    struct stat sbuf;
    int64_t scan_id;
    double t0, t1, cpu, cpu_push = 0;
    long long bytes = 0;

    sb.n = 200000;
    sb.leaf_every = 1;
    sb.pem = 1200;
    sb.pushers = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL)
            goto usage;
        i++;
        if (strcmp(a, "-n") == 0)
            sb.n = bench_arg_long("store_bench", "-n", v, 1, 1000000000);
        else if (strcmp(a, "--leaf-every") == 0)
            sb.leaf_every = bench_arg_long("store_bench", "--leaf-every", v, 1, 1000000000);
        else if (strcmp(a, "--pem") == 0)
            sb.pem = (size_t)bench_arg_long("store_bench", "--pem", v, 0, 1000000);
        else if (strcmp(a, "--pushers") == 0)
            sb.pushers = (int)bench_arg_long("store_bench", "--pushers", v, 1, 256);
        else if (strcmp(a, "--db") == 0)
            db = v;
        else
            goto usage;
    }
    if (sb.n < 1 || sb.leaf_every < 0 || sb.pem > 60000 || sb.pushers < 1 || sb.pushers > 16)
        goto usage;

    pem_template_init();
    snprintf(wal, sizeof(wal), "%s-wal", db);
    unlink(db);
    unlink(wal);
    if (tw_store_open(db, 0, &st, err) < 0 || tw_store_scan_begin(st, &meta, &scan_id, err) < 0 ||
        tw_writer_start(st, scan_id, NULL, &sb.w, err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err);
        return 1;
    }
    t0 = now_s();
    for (int k = 0; k < sb.pushers; k++)
        pthread_create(&th[k], NULL, pusher, (void *)(intptr_t)k);
    for (int k = 0; k < sb.pushers; k++)
        pthread_join(th[k], NULL);
    if (tw_writer_stop(sb.w, err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err);
        return 1;
    }
    t1 = now_s();
    getrusage(RUSAGE_SELF, &ru);
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    /* The writer's share: everything but the pushers (which build the
     * results, as scanner workers would).  Less noisy than wall time on a
     * shared machine. */
    for (int k = 0; k < sb.pushers; k++)
        cpu_push += pusher_cpu[k];
    if (tw_store_scan_finish(st, scan_id, "done", err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err);
        return 1;
    }
    tw_store_close(st);
    free(pem_template);
    if (stat(db, &sbuf) == 0)
        bytes += (long long)sbuf.st_size;
    if (stat(wal, &sbuf) == 0)
        bytes += (long long)sbuf.st_size;
    printf("results=%ld leaf_every=%ld pem=%zu wall_s=%.2f results_per_s=%.0f cpu_s=%.2f "
           "writer_cpu_s=%.2f results_per_writer_cpu_s=%.0f db_bytes=%lld\n",
           sb.n, sb.leaf_every, sb.pem, t1 - t0, (double)sb.n / (t1 - t0), cpu, cpu - cpu_push,
           (double)sb.n / (cpu - cpu_push > 0 ? cpu - cpu_push : 1e-9), bytes);
    return 0;
usage:
    fprintf(stderr, "usage: store_bench [-n N] [--leaf-every K] [--pem BYTES] [--pushers P] "
                    "[--db PATH]\n");
    return 2;
}
