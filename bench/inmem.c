/*
 * inmem.c - the limit: the fleet's handshakes done in memory, one thread.
 *
 * Client and server SSL objects talk over a BIO pair; no sockets, no event
 * loop, no database.  The client is set up the way tlsweep's main probe is
 * (scanner/tlsctx.c: DEFAULT:@SECLEVEL=0, TLS 1.0-1.3, SSL_VERIFY_NONE, no
 * tickets, no session cache, SNI and an OCSP status request) and, as
 * tlsweep does after the handshake (scanner/certinfo.c), verifies the sent
 * chain with X509_verify_cert against a store holding the fleet's roots,
 * purpose sslserver, leaf first and the rest untrusted.
 *
 * Only the client's work is timed: CLOCK_THREAD_CPUTIME_ID around the
 * connection's setup (the BIO pair), SSL_new, each SSL_do_handshake call of
 * the client, the verification, SSL_free and the teardown.  The server's
 * share is timed on its own, to explain the fleet's CPU.  The figure is the
 * floor every ratio in bench/RESULTS.md is taken against; bench/ab measures
 * it again next to every scan it compares (see there).
 *
 * --socket: the naive client instead.  The server runs in a thread of its
 * own behind a loopback TCP listener; the client (this thread) does, per
 * handshake, socket(2), a blocking connect(2), SSL_new, SSL_set_fd,
 * SSL_connect (with read-ahead, as tlsweep's probes), the same verification, SSL_free and close(2),
 * as a plain blocking OpenSSL client would.  Its CPU clock counts the system calls' kernel time
 * (the loopback TCP a scan pays too) and not the server's, which runs on its own thread; server_us
 * is then not measured (0).
 *
 *   inmem [-n HANDSHAKES] [--socket] [--variant tls13-ec|tls13-rsa|tls12-ec|tls12-rsa]...
 * prints one line per variant:
 *   variant=tls13-ec n=2000 client_us=... client_us_median=... server_us=... verify_us=...
 * (with --socket: variant=tls13-ec transport=socket n=...).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "bench/benchargs.h"
#include "bench/benchpki.h"

static double
cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* tlsweep's broad client context (scanner/tlsctx.c, tlsctx_build). */
static SSL_CTX *
client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        goto fail;
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_clear_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 * The client's work is in functions named client_*, never inlined, so that
 * `valgrind --tool=callgrind --toggle-collect='client_*' inmem ...` counts
 * the client's instructions alone (a figure the shared machine's load does
 * not move; bench/RESULTS.md, issue 18).
 */
#define CLIENT_FN __attribute__((noinline))

static CLIENT_FN int
client_bio_pair(BIO **cb, BIO **sb)
{
    return BIO_new_bio_pair(cb, 0, sb, 0) == 1 ? 0 : -1;
}

static CLIENT_FN SSL *
client_ssl_new(SSL_CTX *cctx, BIO **cb)
{
    SSL *c = SSL_new(cctx);

    if (c != NULL) {
        SSL_set_tlsext_host_name(c, "h1.fleet.test");
        SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
        SSL_set_connect_state(c);
        SSL_set_bio(c, *cb, *cb);
        *cb = NULL;
    }
    return c;
}

static CLIENT_FN int
client_step(SSL *c)
{
    int r = SSL_do_handshake(c);

    return r == 1 ? 1 : SSL_get_error(c, r) == SSL_ERROR_WANT_READ ? 0 : -1;
}

static CLIENT_FN void
client_teardown(SSL *c, BIO *cb)
{
    SSL_free(c);
    BIO_free(cb);
}

struct one {
    double client_us;
    double server_us;
    double verify_us;
};

/* Verify the sent chain as scanner/certinfo.c does.  Returns the verify
 * result (X509_V_OK expected). */
static CLIENT_FN int
client_verify_chain(SSL *ssl, X509_STORE *store, time_t now)
{
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int n = sent ? sk_X509_num(sent) : 0;
    int res = -1;

    for (int i = 1; untrusted != NULL && i < n; i++)
        sk_X509_push(untrusted, sk_X509_value(sent, i));
    if (n > 0 && ctx != NULL && untrusted != NULL &&
        X509_STORE_CTX_init(ctx, store, sk_X509_value(sent, 0), untrusted) == 1) {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        res = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return res;
}

static int
handshake(SSL_CTX *cctx, SSL_CTX *sctx, X509_STORE *store, struct one *o)
{
    BIO *cb = NULL, *sb = NULL;
    SSL *c = NULL, *s = NULL;
    int c_done = 0, s_done = 0, rc = -1, vr;
    double t0, t1;

    memset(o, 0, sizeof(*o));
    /* The connection's setup (the BIO pair stands in for the socket) is the
     * client's: a scanner makes and tears down one per handshake. */
    t0 = cpu_us();
    rc = client_bio_pair(&cb, &sb);
    o->client_us += cpu_us() - t0;
    if (rc < 0)
        goto out;
    rc = -1;
    t0 = cpu_us();
    s = SSL_new(sctx);
    t1 = cpu_us();
    o->server_us += t1 - t0;
    if (s == NULL)
        goto out;
    SSL_set_accept_state(s);
    SSL_set_bio(s, sb, sb);
    sb = NULL;

    t0 = cpu_us();
    c = client_ssl_new(cctx, &cb);
    o->client_us += cpu_us() - t0;
    if (c == NULL)
        goto out;
    for (int round = 0; round < 32 && !(c_done && s_done); round++) {
        if (!c_done) {
            t0 = cpu_us();
            int r = client_step(c);
            o->client_us += cpu_us() - t0;
            if (r == 1)
                c_done = 1;
            else if (r < 0)
                goto out;
        }
        if (!s_done) {
            t0 = cpu_us();
            int r = SSL_do_handshake(s);
            o->server_us += cpu_us() - t0;
            if (r == 1)
                s_done = 1;
            else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                goto out;
        }
    }
    if (!(c_done && s_done))
        goto out;
    t0 = cpu_us();
    vr = client_verify_chain(c, store, time(NULL));
    t1 = cpu_us();
    o->verify_us = t1 - t0;
    o->client_us += t1 - t0;
    if (vr != X509_V_OK) {
        fprintf(stderr, "inmem: chain does not verify: %s\n", X509_verify_cert_error_string(vr));
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        ERR_print_errors_fp(stderr);
    /* Teardown: the client's SSL (and with it its half of the pair) and any
     * half not yet handed to an SSL are the client's; the server's SSL is the
     * server's. */
    t0 = cpu_us();
    client_teardown(c, cb);
    o->client_us += cpu_us() - t0;
    t0 = cpu_us();
    SSL_free(s);
    BIO_free(sb);
    o->server_us += cpu_us() - t0;
    return rc;
}

/* The --socket server: one thread, one connection at a time, blocking. */
struct sock_server {
    int lfd;
    SSL_CTX *sctx;
    struct sockaddr_in addr;
    pthread_t th;
    volatile int stop;
};

static void *
sock_server_main(void *arg)
{
    struct sock_server *sv = arg;
    char buf[256];

    for (;;) {
        int fd = accept(sv->lfd, NULL, NULL);
        SSL *s;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        if (sv->stop) {
            close(fd);
            break;
        }
        s = SSL_new(sv->sctx);
        if (s != NULL && SSL_set_fd(s, fd) == 1 && SSL_accept(s) == 1)
            while (SSL_read(s, buf, sizeof(buf)) > 0) /* until the client closes */
                ;
        SSL_free(s);
        ERR_clear_error();
        close(fd);
    }
    return NULL;
}

static int
sock_server_start(struct sock_server *sv, SSL_CTX *sctx)
{
    socklen_t len = sizeof(sv->addr);

    memset(sv, 0, sizeof(*sv));
    sv->sctx = sctx;
    sv->addr.sin_family = AF_INET;
    sv->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sv->lfd < 0 || bind(sv->lfd, (struct sockaddr *)&sv->addr, sizeof(sv->addr)) < 0 ||
        listen(sv->lfd, 64) < 0 || getsockname(sv->lfd, (struct sockaddr *)&sv->addr, &len) < 0 ||
        pthread_create(&sv->th, NULL, sock_server_main, sv) != 0) {
        perror("inmem: loopback server");
        if (sv->lfd >= 0)
            close(sv->lfd);
        return -1;
    }
    return 0;
}

static void
sock_server_stop(struct sock_server *sv)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sv->stop = 1;
    /* Wake the accept(2) with one last connection. */
    if (fd >= 0) {
        if (connect(fd, (struct sockaddr *)&sv->addr, sizeof(sv->addr)) < 0)
            perror("inmem: waking the loopback server");
        close(fd);
    }
    pthread_join(sv->th, NULL);
    close(sv->lfd);
}

static CLIENT_FN int
client_sock_connect(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd >= 0 && connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static CLIENT_FN SSL *
client_sock_ssl(SSL_CTX *cctx, int fd)
{
    SSL *c = SSL_new(cctx);

    if (c != NULL) {
        SSL_set_tlsext_host_name(c, "h1.fleet.test");
        SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
        /* Read-ahead as tlsweep's probes (scanner/tlsctx.c): a record's
         * header and body in one read(2), so the floor makes no more
         * system calls than it must. */
        SSL_set_read_ahead(c, 1);
        if (SSL_set_fd(c, fd) != 1 || SSL_connect(c) != 1) {
            SSL_free(c);
            c = NULL;
        }
    }
    return c;
}

static CLIENT_FN void
client_sock_teardown(SSL *c, int fd)
{
    SSL_free(c);
    if (fd >= 0)
        close(fd);
}

/* One handshake of the naive client: all of it is the client's time. */
static int
sock_handshake(SSL_CTX *cctx, const struct sock_server *sv, X509_STORE *store, struct one *o)
{
    SSL *c = NULL;
    int fd, rc = -1, vr = -1;
    double t0, t1, t2;

    memset(o, 0, sizeof(*o));
    t0 = cpu_us();
    fd = client_sock_connect(&sv->addr);
    if (fd >= 0)
        c = client_sock_ssl(cctx, fd);
    t1 = cpu_us();
    if (c != NULL)
        vr = client_verify_chain(c, store, time(NULL));
    t2 = cpu_us();
    client_sock_teardown(c, fd);
    o->client_us = cpu_us() - t0;
    o->verify_us = t2 - t1;
    if (fd < 0)
        perror("inmem: connect");
    else if (c == NULL)
        ERR_print_errors_fp(stderr);
    else if (vr != X509_V_OK)
        fprintf(stderr, "inmem: chain does not verify: %s\n", X509_verify_cert_error_string(vr));
    else
        rc = 0;
    return rc;
}

/* One handshake over the socket (sv) or in memory (sv NULL). */
static int
one_handshake(SSL_CTX *cctx, SSL_CTX *sctx, const struct sock_server *sv, X509_STORE *store,
              struct one *o)
{
    return sv != NULL ? sock_handshake(cctx, sv, store, o) : handshake(cctx, sctx, store, o);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int
run_variant(const struct bench_pki *pki, X509_STORE *store, SSL_CTX *cctx, enum bench_variant v,
            int n, int use_socket)
{
    SSL_CTX *sctx = bench_pki_server_ctx(pki, v);
    double *cl = calloc((size_t)n, sizeof(double));
    double sum_c = 0, sum_s = 0, sum_v = 0;
    struct sock_server sv;
    int sv_up = 0;
    struct one o;
    int rc = -1;

    if (sctx == NULL || cl == NULL)
        goto out;
    if (use_socket) {
        if (sock_server_start(&sv, sctx) < 0)
            goto out;
        sv_up = 1;
    }
    for (int i = 0; i < 20; i++) /* warm caches and lazy provider loads */
        if (one_handshake(cctx, sctx, sv_up ? &sv : NULL, store, &o) < 0)
            goto out;
    for (int i = 0; i < n; i++) {
        if (one_handshake(cctx, sctx, sv_up ? &sv : NULL, store, &o) < 0)
            goto out;
        cl[i] = o.client_us;
        sum_c += o.client_us;
        sum_s += o.server_us;
        sum_v += o.verify_us;
    }
    qsort(cl, (size_t)n, sizeof(double), cmp_double);
    printf("variant=%s%s n=%d client_us=%.1f client_us_median=%.1f server_us=%.1f verify_us=%.1f\n",
           bench_variant_name(v), use_socket ? " transport=socket" : "", n, sum_c / n, cl[n / 2],
           sum_s / n, sum_v / n);
    fflush(stdout);
    rc = 0;
out:
    if (sv_up)
        sock_server_stop(&sv);
    free(cl);
    SSL_CTX_free(sctx);
    return rc;
}

int
main(int argc, char **argv)
{
    struct bench_pki pki;
    X509_STORE *store = NULL;
    SSL_CTX *cctx = NULL;
    int want[BENCH_V__COUNT] = {0};
    int any = 0, n = 1000, rc = 1, use_socket = 0;

    for (int i = 1; i < argc; i++) {
        enum bench_variant v;

        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = (int)bench_arg_long("inmem", "-n", argv[++i], 1, 100000000);
        } else if (strcmp(argv[i], "--socket") == 0) {
            use_socket = 1;
        } else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc &&
                   bench_variant_parse(argv[i + 1], &v) == 0) {
            want[v] = 1;
            any = 1;
            i++;
        } else {
            fprintf(stderr, "usage: inmem [-n HANDSHAKES] [--socket] [--variant "
                            "tls13-ec|tls13-rsa|tls12-ec|tls12-rsa]...\n");
            return 2;
        }
    }
    if (n < 1 || n > 10000000) {
        fprintf(stderr, "inmem: -n out of range\n");
        return 2;
    }
    if (bench_pki_init(&pki) < 0)
        return 1;
    store = bench_pki_store(&pki);
    cctx = client_ctx();
    if (store == NULL || cctx == NULL) {
        fprintf(stderr, "inmem: cannot build the client context or trust store\n");
        goto out;
    }
    for (int v = 0; v < BENCH_V__COUNT; v++)
        if ((!any || want[v]) &&
            run_variant(&pki, store, cctx, (enum bench_variant)v, n, use_socket) < 0)
            goto out;
    rc = 0;
out:
    SSL_CTX_free(cctx);
    X509_STORE_free(store);
    bench_pki_cleanup(&pki);
    return rc;
}
