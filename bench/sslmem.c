/*
 * sslmem.c - OpenSSL's own memory per handshake held in flight.
 *
 * Makes N client SSLs with tlsweep's settings (scanner/tlsctx.c), each on
 * one end of a socketpair whose other end never answers, and runs
 * SSL_connect once on each: the ClientHello is sent and the SSL waits for
 * the ServerHello, as it does against a tarpit.  Prints the heap in use
 * (mallinfo2) and the RSS added per SSL, so that the engine's share of the
 * tarpit figure (bench/run tarpit-N) can be told apart from OpenSSL's.
 *
 *   sslmem [-n N] [OPTION...]
 *     read-ahead       SSL_CTX_set_read_ahead(ctx, 1)
 *     rbuf-4096        SSL_CTX_set_default_read_buffer_len(ctx, 4096)
 *     frag-512         SSL_CTX_set_max_send_fragment(ctx, 512)
 *     no-release       without SSL_MODE_RELEASE_BUFFERS
 *     mallopt          tlsweep's mallopt settings (scanner/scan.c)
 * prints: options=... n=N heap_bytes_per_ssl=... rss_kib_per_ssl=...
 * N is bounded by the open-file limit (two descriptors per SSL).
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "bench/benchargs.h"

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = 0;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int
has(int argc, char **argv, const char *opt)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], opt) == 0)
            return 1;
    return 0;
}

/* One SSL that has sent its ClientHello and waits; NULL on failure. */
static SSL *
held(SSL_CTX *ctx, int fds[2])
{
    SSL *s;
    int r;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return NULL;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    s = SSL_new(ctx);
    if (s == NULL || SSL_set_fd(s, fds[0]) != 1 ||
        SSL_set_tlsext_host_name(s, "x.fleet.test") != 1 ||
        SSL_set_tlsext_status_type(s, TLSEXT_STATUSTYPE_ocsp) != 1) {
        SSL_free(s);
        return NULL;
    }
    r = SSL_connect(s);
    if (r != -1 || SSL_get_error(s, r) != SSL_ERROR_WANT_READ) {
        SSL_free(s);
        return NULL;
    }
    return s;
}

int
main(int argc, char **argv)
{
    int n = 2000;
    SSL_CTX *ctx;
    SSL **v;
    int *fds;
    struct mallinfo2 m0, m1;
    long r0, r1;
    char opts[256] = "";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = (int)bench_arg_long("sslmem", "-n", argv[++i], 1, 100000000);
        else if (strlen(opts) + strlen(argv[i]) + 2 < sizeof(opts))
            snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s", opts[0] ? "," : "",
                     argv[i]);
    }
    if (n < 1 || n > 1000000) {
        fprintf(stderr, "sslmem: -n between 1 and 1000000\n");
        return 2;
    }
    if (has(argc, argv, "mallopt")) {
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
        mallopt(M_TOP_PAD, 16 * 1024 * 1024);
        mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1) {
        fprintf(stderr, "sslmem: cannot build the context\n");
        return 1;
    }
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_LEGACY_SERVER_CONNECT);
    if (!has(argc, argv, "no-release"))
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (has(argc, argv, "read-ahead"))
        SSL_CTX_set_read_ahead(ctx, 1);
    if (has(argc, argv, "rbuf-4096"))
        SSL_CTX_set_default_read_buffer_len(ctx, 4096);
    if (has(argc, argv, "frag-512"))
        SSL_CTX_set_max_send_fragment(ctx, 512);

    v = calloc((size_t)n, sizeof(*v));
    fds = calloc((size_t)n * 2, sizeof(*fds));
    if (v == NULL || fds == NULL)
        return 1;
    /* Warm up: first-use allocations (provider caches) are not per SSL. */
    for (int i = 0; i < 50; i++) {
        int w[2];
        SSL *s = held(ctx, w);

        SSL_free(s);
        close(w[0]);
        close(w[1]);
    }
    m0 = mallinfo2();
    r0 = rss_kib();
    for (int i = 0; i < n; i++) {
        v[i] = held(ctx, fds + 2 * i);
        if (v[i] == NULL) {
            fprintf(stderr, "sslmem: SSL %d did not reach the wait (open-file limit?)\n", i);
            return 1;
        }
    }
    m1 = mallinfo2();
    r1 = rss_kib();
    printf("options=%s n=%d heap_bytes_per_ssl=%.0f rss_kib_per_ssl=%.2f\n",
           opts[0] ? opts : "default", n,
           (double)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd) / n, (double)(r1 - r0) / n);
    for (int i = 0; i < n; i++) {
        SSL_free(v[i]);
        close(fds[2 * i]);
        close(fds[2 * i + 1]);
    }
    free(v);
    free(fds);
    SSL_CTX_free(ctx);
    return 0;
}
