/*
 * fleet.c - a loopback estate of TLS servers for the bench, and its DNS.
 *
 * One listener per thread on 0.0.0.0:PORT (SO_REUSEPORT, so the kernel
 * spreads connections over the threads).  On Linux all of 127.0.0.0/8 is
 * local, so that one listener answers every 127.x.y.z:PORT: no socket per
 * address.  What an address serves is chosen from the address the client
 * connected to (getsockname), by its second octet:
 *
 *   127.20.x.y  TLS 1.3, ECDSA P-256      127.22.x.y  TLS 1.2, ECDSA P-256
 *   127.21.x.y  TLS 1.3, RSA-2048         127.23.x.y  TLS 1.2, RSA-2048
 *   127.24.x.y  with --own-leaves N: TLS 1.3, ECDSA P-256, each address its
 *               own leaf (leaf (256x+y) mod N; same key and name, own serial)
 *   127.30.x.y  tarpit: accepted, never answered (held up to --tarpit-cap,
 *               closed when the client goes away; over the cap: closed)
 *   others      the --variant given (default tls13-ec), or tarpit with --tarpit
 *
 * Certificates (root -> intermediate -> leaf per key type) are generated at
 * start; the roots are written to --ca-out for the scanner's --ca-file.
 * Every handshake is a full one (no session cache, no tickets).  After the
 * handshake the server waits for the client to close; if the client sends
 * a request first (an HSTS probe), it answers a bare 200 and closes.
 *
 * DNS (--dns-port, UDP on 127.0.0.1): hN.fleet.test A -> 127.(20+N/65536).
 * (N/256%256).(N%256) for N < 2^24; AAAA of such a name is NOERROR with no
 * answer; any other name is NXDOMAIN.  Queries are parsed with bounds.
 *
 * --stats FILE rewrites FILE four times a second with counters (handshakes,
 * failures, tarpits held now and at peak, DNS answers).  SIGTERM/SIGINT
 * end the process.  It prints "fleet ready" on stdout once it listens.
 *
 * Changes between runs (tests/soak/chaos.sh): --map FILE lists addresses
 * that serve something else than their octet says, one "127.A.B.C WHAT" a
 * line, WHAT one of the four variants above, "untrusted" (TLS 1.3 ECDSA
 * from a second hierarchy whose root --ca-out does not hold), "tarpit" or
 * "reset" (accepted, then closed with a TCP RST).  SIGHUP re-reads it; a
 * bad file is refused whole and the previous map stays.  Each load bumps
 * map_gen in --stats.  SIGUSR1 takes the DNS server away (its socket is
 * closed, so queries meet a closed port) and SIGUSR2 brings it back on the
 * same port.  Without --map the fleet serves as it did before (SIGHUP is
 * then ignored: it no longer ends the process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench/benchargs.h"
#include "bench/benchpki.h"

#define FLEET_MAX_THREADS 64
#define FLEET_EVENTS 256
#define FLEET_MAP_MAX 1000000 /* addresses one --map may list */

/* What a --map entry serves besides the four bench variants. */
enum fleet_what { FW_UNTRUSTED = BENCH_V__COUNT, FW_TARPIT, FW_RESET, FW__COUNT };

/* One loaded --map: an open-addressing table of IPv4 addresses (host
 * order, never 0) to a variant or a fleet_what.  A table is never changed
 * after it is published; a reload publishes a new one and keeps the old
 * ones (linked by older) until exit, so an accepting thread that still
 * reads one is never left with freed memory. */
struct fleet_map {
    uint32_t *keys;
    unsigned char *vals;
    size_t mask, n;
    struct fleet_map *older;
};

enum conn_state { ST_HANDSHAKE, ST_WAIT_CLOSE, ST_TARPIT };

struct fleet_conn {
    int fd;
    enum conn_state st;
    SSL *ssl;
};

static struct {
    int port;
    int dns_port;
    int n_threads;
    long tarpit_cap;
    int all_tarpit;
    enum bench_variant def;
    SSL_CTX *ctx[BENCH_V__COUNT + 1]; /* the variants, then "untrusted" */
    atomic_ulong handshakes, failed, accepted, tarpit_now, tarpit_peak, tarpit_refused, dns;
    const char *map_path;
    _Atomic(struct fleet_map *) map;
    atomic_ulong map_gen, resets;
    atomic_int dns_on;
    X509 **own_leaves; /* --own-leaves: 127.24/16's leaves */
    long n_own_leaves;
} fl;

static int listener_marker; /* epoll data for the listening socket */

static void
conn_close(int ep, struct fleet_conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->st == ST_TARPIT)
        atomic_fetch_sub(&fl.tarpit_now, 1);
    SSL_free(c->ssl);
    close(c->fd);
    free(c);
}

static void
conn_want(int ep, struct fleet_conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};

    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Advance one TLS connection as far as it goes without blocking. */
static void
conn_drive(int ep, struct fleet_conn *c)
{
    char buf[4096];
    int r, e;

    if (c->st == ST_HANDSHAKE) {
        ERR_clear_error();
        r = SSL_accept(c->ssl);
        if (r != 1) {
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
                conn_want(ep, c, EPOLLIN);
                return;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                conn_want(ep, c, EPOLLOUT);
                return;
            }
            atomic_fetch_add(&fl.failed, 1);
            conn_close(ep, c);
            return;
        }
        atomic_fetch_add(&fl.handshakes, 1);
        c->st = ST_WAIT_CLOSE;
        conn_want(ep, c, EPOLLIN);
    }
    /* ST_WAIT_CLOSE: until the client closes; a request (tlsweep's HSTS
     * probe sends a HEAD) gets a minimal HTTP answer, then the close. */
    for (;;) {
        ERR_clear_error();
        r = SSL_read(c->ssl, buf, sizeof(buf));
        if (r > 0) {
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";

            ERR_clear_error();
            SSL_write(c->ssl, resp, (int)sizeof(resp) - 1); /* small: fits the socket */
            SSL_shutdown(c->ssl);
            conn_close(ep, c);
            return;
        }
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            return;
        conn_close(ep, c);
        return;
    }
}

/* The map's entry for address a (host order), or -1. */
static int
map_lookup(uint32_t a)
{
    const struct fleet_map *m = atomic_load(&fl.map);
    size_t i;

    if (m == NULL || m->n == 0)
        return -1;
    for (i = (a * 2654435761u) & m->mask; m->keys[i] != 0; i = (i + 1) & m->mask)
        if (m->keys[i] == a)
            return m->vals[i];
    return -1;
}

/* Close a just-accepted socket with a RST (SO_LINGER 0), not a FIN. */
static void
close_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    atomic_fetch_add(&fl.resets, 1);
}

static void
fleet_accept(int ep, int lfd)
{
    for (int i = 0; i < 128; i++) {
        struct sockaddr_in local;
        socklen_t len = sizeof(local);
        struct fleet_conn *c;
        struct epoll_event e;
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int is_tarpit = fl.all_tarpit;
        int v = fl.def; /* a bench_variant, or FW_UNTRUSTED */
        int mapped;
        X509 *own = NULL;

        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: try again on the next event */
        atomic_fetch_add(&fl.accepted, 1);
        if (getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_family == AF_INET) {
            unsigned a = ntohl(local.sin_addr.s_addr);

            if ((a >> 24) == 127) {
                unsigned b = (a >> 16) & 255;

                if (b >= 20 && b <= 23) {
                    v = (enum bench_variant)(b - 20);
                    is_tarpit = 0;
                } else if (b == 24 && fl.n_own_leaves > 0) {
                    v = BENCH_V13_EC;
                    is_tarpit = 0;
                    own = fl.own_leaves[(a & 0xffff) % (unsigned long)fl.n_own_leaves];
                } else if (b == 30) {
                    is_tarpit = 1;
                }
            }
            mapped = map_lookup(a);
            if (mapped == FW_RESET) {
                close_reset(fd);
                continue;
            }
            if (mapped == FW_TARPIT) {
                is_tarpit = 1;
            } else if (mapped >= 0) {
                v = mapped;
                is_tarpit = 0;
            }
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (is_tarpit) {
            unsigned long now = atomic_fetch_add(&fl.tarpit_now, 1) + 1;
            unsigned long peak = atomic_load(&fl.tarpit_peak);

            if ((long)now > fl.tarpit_cap) {
                atomic_fetch_sub(&fl.tarpit_now, 1);
                atomic_fetch_add(&fl.tarpit_refused, 1);
                close(fd);
                free(c);
                continue;
            }
            while (now > peak && !atomic_compare_exchange_weak(&fl.tarpit_peak, &peak, now))
                ;
            c->st = ST_TARPIT;
            /* Only the client's close is of interest; its bytes stay unread. */
            e.events = EPOLLRDHUP;
            e.data.ptr = c;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
                conn_close(ep, c);
            continue;
        }
        c->st = ST_HANDSHAKE;
        c->ssl = SSL_new(fl.ctx[v]);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1 ||
            (own != NULL && v == BENCH_V13_EC && SSL_use_certificate(c->ssl, own) != 1)) {
            atomic_fetch_add(&fl.failed, 1);
            conn_close(ep, c);
            continue;
        }
        e.events = EPOLLIN;
        e.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
            conn_close(ep, c);
            continue;
        }
        conn_drive(ep, c);
    }
}

static int
fleet_listen(void)
{
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)fl.port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 65535) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *
fleet_thread(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[FLEET_EVENTS];
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &listener_marker};

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le) < 0) {
        perror("fleet: epoll");
        exit(1);
    }
    for (;;) {
        int n = epoll_wait(ep, evs, FLEET_EVENTS, -1);

        for (int i = 0; i < n; i++) {
            struct fleet_conn *c = evs[i].data.ptr;

            if (evs[i].data.ptr == &listener_marker)
                fleet_accept(ep, lfd);
            else if (c->st == ST_TARPIT)
                conn_close(ep, c); /* the client closed (or the socket failed) */
            else
                conn_drive(ep, c);
        }
    }
    return NULL;
}

/* ---- DNS ---- */

/* "hN.fleet.test" (any case) -> N; -1 otherwise. */
static long
dns_host_number(const char *name)
{
    long n = 0;
    const char *p = name;

    if (*p != 'h' && *p != 'H')
        return -1;
    p++;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n >= (1L << 24))
            return -1;
    }
    return strcasecmp(p, ".fleet.test") == 0 ? n : -1;
}

/* Build the answer to one query in q[0..len) into out; returns its length or
 * 0 to drop the packet. */
static size_t
dns_answer(const unsigned char *q, size_t len, unsigned char *out, size_t cap)
{
    char name[256];
    size_t pos = 12, nlen = 0, qend;
    unsigned qtype;
    long num;
    int rcode = 0, is_a = 0;

    if (len < 12 || (q[2] & 0x80) != 0 || ((q[2] >> 3) & 15) != 0)
        return 0; /* a response, or not a standard query */
    if (q[4] != 0 || q[5] != 1)
        return 0; /* exactly one question */
    for (;;) {
        unsigned l;

        if (pos >= len)
            return 0;
        l = q[pos++];
        if (l == 0)
            break;
        if (l > 63 || pos + l > len || nlen + l + 1 >= sizeof(name))
            return 0; /* compression or an oversized name in a question */
        if (nlen > 0)
            name[nlen++] = '.';
        memcpy(name + nlen, q + pos, l);
        nlen += l;
        pos += l;
    }
    name[nlen] = '\0';
    if (memchr(name, '\0', nlen) != NULL || pos + 4 > len)
        return 0;
    qtype = (unsigned)q[pos] << 8 | q[pos + 1];
    qend = pos + 4;
    if (qend + 16 > cap)
        return 0;
    num = dns_host_number(name);
    if (num < 0)
        rcode = 3; /* NXDOMAIN */
    else if (qtype == 1)
        is_a = 1;
    memcpy(out, q, qend);
    out[2] = (unsigned char)(0x80 | 0x04 | (q[2] & 0x01)); /* QR, AA, RD copied */
    out[3] = (unsigned char)(0x80 | rcode);                /* RA */
    out[6] = 0;
    out[7] = (unsigned char)is_a;
    memset(out + 8, 0, 4); /* no authority, no additional (EDNS dropped) */
    if (!is_a)
        return qend;
    {
        unsigned char *a = out + qend;
        unsigned long ip = (127UL << 24) | ((20UL + ((unsigned long)num >> 16)) << 16) |
                           ((unsigned long)num & 0xffff);

        a[0] = 0xc0; /* pointer to the question's name */
        a[1] = 12;
        a[2] = 0;
        a[3] = 1; /* A */
        a[4] = 0;
        a[5] = 1; /* IN */
        a[6] = 0;
        a[7] = 0;
        a[8] = 0;
        a[9] = 60; /* TTL */
        a[10] = 0;
        a[11] = 4;
        a[12] = (unsigned char)(ip >> 24);
        a[13] = (unsigned char)(ip >> 16);
        a[14] = (unsigned char)(ip >> 8);
        a[15] = (unsigned char)ip;
    }
    return qend + 16;
}

static int
dns_bind(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int sz = 8 << 20;

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)fl.dns_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Serves while fl.dns_on; when it is cleared (SIGUSR1) the socket is closed,
 * so that queries meet a closed port as with a resolver that is gone, and
 * bound again on the same port when it is set (SIGUSR2).  The socket is
 * non-blocking: a readable one is drained, then poll waits again (50 ms at
 * most, to see dns_on change). */
static void *
dns_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char q[1500], a[1500];

    for (;;) {
        struct pollfd pfd;

        if (!atomic_load(&fl.dns_on)) {
            struct timespec ts = {0, 20 * 1000000L};

            if (fd >= 0) {
                close(fd);
                fd = -1;
            }
            nanosleep(&ts, NULL);
            continue;
        }
        if (fd < 0) {
            struct timespec ts = {0, 20 * 1000000L};

            fd = dns_bind();
            if (fd < 0) {
                nanosleep(&ts, NULL); /* the port is taken for now: try again */
                continue;
            }
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        for (;;) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof(from);
            ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
            size_t m;

            if (n < 0)
                break; /* EAGAIN: drained */
            m = dns_answer(q, (size_t)n, a, sizeof(a));
            if (m > 0 && sendto(fd, a, m, 0, (struct sockaddr *)&from, flen) == (ssize_t)m)
                atomic_fetch_add(&fl.dns, 1);
        }
    }
    return NULL;
}

/* ---- the --map ---- */

/* "tls13-ec" ... "tls12-rsa", "untrusted", "tarpit", "reset" -> 0..FW__COUNT-1, or -1. */
static int
map_what_parse(const char *s)
{
    enum bench_variant v;

    if (bench_variant_parse(s, &v) == 0)
        return (int)v;
    if (strcmp(s, "untrusted") == 0)
        return FW_UNTRUSTED;
    if (strcmp(s, "tarpit") == 0)
        return FW_TARPIT;
    if (strcmp(s, "reset") == 0)
        return FW_RESET;
    return -1;
}

static void
map_free(struct fleet_map *m)
{
    while (m != NULL) {
        struct fleet_map *older = m->older;

        free(m->keys);
        free(m->vals);
        free(m);
        m = older;
    }
}

static int
map_put(struct fleet_map *m, uint32_t a, int what)
{
    size_t i;

    for (i = (a * 2654435761u) & m->mask; m->keys[i] != 0; i = (i + 1) & m->mask)
        if (m->keys[i] == a)
            break;
    if (m->keys[i] == 0) {
        if (m->n >= FLEET_MAP_MAX)
            return -1;
        m->n++;
    }
    m->keys[i] = a; /* a later line for the same address wins */
    m->vals[i] = (unsigned char)what;
    return 0;
}

/* Read the map file into a new table.  Every line is "127.A.B.C WHAT" (one
 * space or tab between, '#' comments and blank lines allowed); any other
 * line, an address outside 127/8 or more than FLEET_MAP_MAX entries refuse
 * the whole file (NULL, with the line on stderr). */
static struct fleet_map *
map_load(const char *path)
{
    struct fleet_map *m = calloc(1, sizeof(*m));
    size_t cap = 1024;
    char line[256];
    long lineno = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL || m == NULL) {
        fprintf(stderr, "fleet: --map %s: %s\n", path, strerror(errno));
        goto fail;
    }
    /* The table: a power of two at least twice the file's line count. */
    while (lineno <= FLEET_MAP_MAX && fgets(line, sizeof(line), f) != NULL)
        lineno++;
    while (cap < 2 * (size_t)lineno + 2)
        cap *= 2;
    rewind(f);
    lineno = 0;
    m->mask = cap - 1;
    m->keys = calloc(cap, sizeof(*m->keys));
    m->vals = calloc(cap, sizeof(*m->vals));
    if (m->keys == NULL || m->vals == NULL)
        goto fail;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *sp, *end = line + strcspn(line, "\r\n");
        struct in_addr ia;
        int what;

        lineno++;
        if (*end == '\0' && !feof(f)) {
            fprintf(stderr, "fleet: --map %s:%ld: line too long\n", path, lineno);
            goto fail;
        }
        *end = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        sp = line + strcspn(line, " \t");
        if (*sp == '\0')
            goto bad;
        *sp++ = '\0';
        what = map_what_parse(sp);
        if (inet_pton(AF_INET, line, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127 || what < 0 ||
            map_put(m, ntohl(ia.s_addr), what) < 0)
            goto bad;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    return m;
bad:
    fprintf(stderr,
            "fleet: --map %s:%ld: not \"127.A.B.C WHAT\" (WHAT: a variant, untrusted, "
            "tarpit or reset), or more than %d entries\n",
            path, lineno, FLEET_MAP_MAX);
fail:
    if (f != NULL)
        fclose(f);
    map_free(m);
    return NULL;
}

/* (Re)load --map; on success the new table is published and the old one
 * kept (see struct fleet_map).  Returns 0 or -1 (the old map stays). */
static int
map_reload(void)
{
    struct fleet_map *m = map_load(fl.map_path);

    if (m == NULL)
        return -1;
    m->older = atomic_load(&fl.map);
    atomic_store(&fl.map, m);
    atomic_fetch_add(&fl.map_gen, 1);
    fprintf(stderr, "fleet: map %s: %zu addresses (generation %lu)\n", fl.map_path, m->n,
            atomic_load(&fl.map_gen));
    return 0;
}

/* ---- main ---- */

static void
write_stats(const char *path)
{
    char tmp[4096];
    FILE *f;

    if (path == NULL)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return;
    fprintf(f,
            "handshakes=%lu failed=%lu accepted=%lu tarpit_now=%lu tarpit_peak=%lu "
            "tarpit_refused=%lu dns=%lu\n",
            atomic_load(&fl.handshakes), atomic_load(&fl.failed), atomic_load(&fl.accepted),
            atomic_load(&fl.tarpit_now), atomic_load(&fl.tarpit_peak),
            atomic_load(&fl.tarpit_refused), atomic_load(&fl.dns));
    if (fl.map_path != NULL)
        fprintf(f, "map_gen=%lu resets=%lu dns_on=%d\n", atomic_load(&fl.map_gen),
                atomic_load(&fl.resets), atomic_load(&fl.dns_on));
    if (fclose(f) == 0)
        rename(tmp, path);
}

static void
usage(void)
{
    fprintf(stderr, "usage: fleet [--port N] [--threads N] [--ca-out FILE] [--dns-port N]\n"
                    "             [--variant tls13-ec|tls13-rsa|tls12-ec|tls12-rsa] [--tarpit]\n"
                    "             [--tarpit-cap N] [--stats FILE] [--map FILE] [--own-leaves N]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *ca_out = NULL, *stats = NULL;
    struct bench_pki pki, other;
    struct rlimit rl;
    sigset_t set;
    pthread_t t;
    int lfds[FLEET_MAX_THREADS];

    fl.port = 8443;
    fl.n_threads = 2;
    fl.tarpit_cap = 30000;
    fl.def = BENCH_V13_EC;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--tarpit") == 0) {
            fl.all_tarpit = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--port") == 0)
            fl.port = (int)bench_arg_long("fleet", "--port", v, 1, 65535);
        else if (strcmp(a, "--threads") == 0)
            fl.n_threads = (int)bench_arg_long("fleet", "--threads", v, 1, 256);
        else if (strcmp(a, "--ca-out") == 0)
            ca_out = v;
        else if (strcmp(a, "--dns-port") == 0)
            fl.dns_port = (int)bench_arg_long("fleet", "--dns-port", v, 0, 65535);
        else if (strcmp(a, "--tarpit-cap") == 0)
            fl.tarpit_cap = bench_arg_long("fleet", "--tarpit-cap", v, 0, 10000000);
        else if (strcmp(a, "--stats") == 0)
            stats = v;
        else if (strcmp(a, "--map") == 0)
            fl.map_path = v;
        else if (strcmp(a, "--own-leaves") == 0)
            fl.n_own_leaves = bench_arg_long("fleet", "--own-leaves", v, 0, 65536);
        else if (strcmp(a, "--variant") != 0 || bench_variant_parse(v, &fl.def) < 0)
            usage();
    }
    if (fl.port < 1 || fl.port > 65535 || fl.dns_port < 0 || fl.dns_port > 65535 ||
        fl.n_threads < 1 || fl.n_threads > FLEET_MAX_THREADS || fl.tarpit_cap < 0)
        usage();

    /* Tarpits and a big fleet hold many descriptors. */
    rl.rlim_cur = rl.rlim_max = 1 << 20;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    if (bench_pki_init(&pki) < 0)
        return 1;
    if (ca_out != NULL && bench_pki_write_ca(&pki, ca_out) < 0)
        return 1;
    for (int v = 0; v < BENCH_V__COUNT; v++) {
        fl.ctx[v] = bench_pki_server_ctx(&pki, (enum bench_variant)v);
        if (fl.ctx[v] == NULL)
            return 1;
    }
    if (fl.n_own_leaves > 0) {
        fl.own_leaves = calloc((size_t)fl.n_own_leaves, sizeof(*fl.own_leaves));
        for (long i = 0; fl.own_leaves != NULL && i < fl.n_own_leaves; i++)
            if ((fl.own_leaves[i] = bench_pki_leaf(&pki, BENCH_KEY_EC, 1000 + i)) == NULL)
                return 1;
        if (fl.own_leaves == NULL)
            return 1;
    }
    /* "untrusted": a second hierarchy, whose root is in no --ca-out. */
    if (fl.map_path != NULL) {
        if (bench_pki_init(&other) < 0)
            return 1;
        fl.ctx[FW_UNTRUSTED] = bench_pki_server_ctx(&other, BENCH_V13_EC);
        if (fl.ctx[FW_UNTRUSTED] == NULL || map_reload() < 0)
            return 1;
    }
    atomic_store(&fl.dns_on, 1);
    /* Threads inherit the blocked signals; main waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < fl.n_threads; i++) {
        lfds[i] = fleet_listen();
        if (lfds[i] < 0) {
            fprintf(stderr, "fleet: cannot listen on 0.0.0.0:%d: %s\n", fl.port, strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < fl.n_threads; i++) {
        if (pthread_create(&t, NULL, fleet_thread, (void *)(intptr_t)lfds[i]) != 0) {
            fprintf(stderr, "fleet: cannot start a thread\n");
            return 1;
        }
    }
    if (fl.dns_port > 0) {
        int dfd = dns_bind();

        if (dfd < 0 || pthread_create(&t, NULL, dns_thread, (void *)(intptr_t)dfd) != 0) {
            fprintf(stderr, "fleet: cannot serve DNS on 127.0.0.1:%d: %s\n", fl.dns_port,
                    strerror(errno));
            return 1;
        }
    }
    printf("fleet ready port=%d dns=%d threads=%d pid=%ld\n", fl.port, fl.dns_port, fl.n_threads,
           (long)getpid());
    fflush(stdout);
    for (;;) {
        struct timespec ts = {0, 250 * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);

        if (sig == SIGHUP && fl.map_path != NULL)
            map_reload();
        else if (sig == SIGUSR1)
            atomic_store(&fl.dns_on, 0);
        else if (sig == SIGUSR2)
            atomic_store(&fl.dns_on, 1);
        write_stats(stats);
        if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    write_stats(stats);
    fprintf(stderr, "fleet: handshakes=%lu failed=%lu tarpit_peak=%lu dns=%lu\n",
            atomic_load(&fl.handshakes), atomic_load(&fl.failed), atomic_load(&fl.tarpit_peak),
            atomic_load(&fl.dns));
    map_free(atomic_load(&fl.map));
    return 0;
}
