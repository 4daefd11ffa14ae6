/*
 * aia_http.c - the lab's caIssuers responder (issue 14): a tiny HTTP/1.0
 * server on BASE+TW_LAB_AIA_ADDR that answers GET /intermediate.crt with
 * the lab intermediate in DER, GET /intermediate.pem with it in PEM, any
 * POST /ocsp with the revoked-ocsp endpoint's OCSP response (whatever
 * certificate is asked about: the scanner matches the CertID itself),
 * GET /revoked.crl with the revoked-crl endpoint's CRL, and
 * GET /stall.crt with nothing at all (the connection is held open for
 * TW_LAB_AIA_STALL_MS, then closed: a caIssuers URL that never answers),
 * and anything else with 404.  One thread, one connection at a time, each
 * bounded (a request of at most 2 KiB read within 2 s); the lab's scans
 * fetch a URL once per scan, so this never needs to be fast.  A held
 * connection does not stop the others: it waits in a small list.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/pem.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "lab/lab_int.h"

#define AIA_HTTP_HELD 16

struct tw_lab_aia_http {
    int fd;
    int held[AIA_HTTP_HELD]; /* stalled connections, closed at held_until (or when full) */
    int64_t held_until[AIA_HTTP_HELD];
    int stop[2]; /* a pipe: a byte on stop[1] ends the thread */
    int started;
    pthread_t thread;
    unsigned char *der, *pem;
    size_t n_der, n_pem;
    const unsigned char *ocsp; /* borrowed */
    size_t n_ocsp;
    const unsigned char *crl; /* borrowed */
    size_t n_crl;
};

static void
aia_http_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        ssize_t w;

        if (poll(&pfd, 1, 2000) != 1)
            return;
        w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return;
        if (w > 0) {
            c += w;
            n -= (size_t)w;
        }
    }
}

static int64_t
aia_http_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close the held connections due by now (all: now < 0); returns the ms
 * until the next is due, -1 when none is held. */
static int
aia_http_release(struct tw_lab_aia_http *h, int64_t now)
{
    int64_t next = -1;

    for (int i = 0; i < AIA_HTTP_HELD; i++) {
        if (h->held[i] < 0)
            continue;
        if (now < 0 || h->held_until[i] <= now) {
            close(h->held[i]);
            h->held[i] = -1;
        } else if (next < 0 || h->held_until[i] - now < next) {
            next = h->held_until[i] - now;
        }
    }
    return (int)next;
}

/* Keep fd open, unanswered, for TW_LAB_AIA_STALL_MS (the oldest goes when full). */
static void
aia_http_hold(struct tw_lab_aia_http *h, int fd)
{
    int slot = 0;

    for (int i = 0; i < AIA_HTTP_HELD; i++) {
        if (h->held[i] < 0) {
            slot = i;
            break;
        }
        if (h->held_until[i] < h->held_until[slot])
            slot = i;
    }
    if (h->held[slot] >= 0)
        close(h->held[slot]);
    h->held[slot] = fd;
    h->held_until[slot] = aia_http_ms() + TW_LAB_AIA_STALL_MS;
}

/* Answer one request; returns 1 when fd is held (not to be closed). */
static int
aia_http_serve(struct tw_lab_aia_http *h, int fd)
{
    char req[2048], head[160];
    size_t got = 0;
    const unsigned char *body = NULL;
    size_t n_body = 0;
    const char *type = "application/pkix-cert";
    int n;

    size_t need = 0;
    const char *end = NULL;

    /* The headers, then Content-Length bytes of body (a POST): all read
     * before the answer, so that closing never resets unread data. */
    while (got < sizeof(req) - 1 && (end == NULL || got < need)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t rd;

        if (poll(&pfd, 1, 2000) != 1)
            return 0;
        rd = recv(fd, req + got, sizeof(req) - 1 - got, MSG_DONTWAIT);
        if (rd <= 0)
            return 0;
        got += (size_t)rd;
        req[got] = '\0';
        if (end == NULL && (end = strstr(req, "\r\n\r\n")) != NULL) {
            const char *cl = strstr(req, "Content-Length: ");
            size_t clen = 0;

            for (cl = cl != NULL && cl < end ? cl + 16 : end; *cl >= '0' && *cl <= '9'; cl++)
                clen = clen * 10 + (size_t)(*cl - '0');
            need = (size_t)(end + 4 - req) + (clen < sizeof(req) ? clen : sizeof(req));
        }
    }
    req[got] = '\0';
    if (strncmp(req, "GET /stall.crt ", 15) == 0) {
        aia_http_hold(h, fd);
        return 1;
    }
    if (strncmp(req, "POST /ocsp ", 11) == 0 && h->ocsp != NULL) {
        body = h->ocsp;
        n_body = h->n_ocsp;
        type = "application/ocsp-response";
    } else if (strncmp(req, "GET /revoked.crl ", 17) == 0 && h->crl != NULL) {
        body = h->crl;
        n_body = h->n_crl;
        type = "application/pkix-crl";
    } else if (strncmp(req, "GET /intermediate.crt ", 22) == 0) {
        body = h->der;
        n_body = h->n_der;
    } else if (strncmp(req, "GET /intermediate.pem ", 22) == 0) {
        body = h->pem;
        n_body = h->n_pem;
        type = "application/x-pem-file";
    }
    if (body == NULL) {
        static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";

        aia_http_send_all(fd, nf, sizeof(nf) - 1);
        return 0;
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.0 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", type,
                 n_body);
    if (n > 0 && (size_t)n < sizeof(head)) {
        aia_http_send_all(fd, head, (size_t)n);
        aia_http_send_all(fd, body, n_body);
    }
    return 0;
}

static void *
aia_http_main(void *arg)
{
    struct tw_lab_aia_http *h = arg;

    for (;;) {
        struct pollfd pfd[2] = {{.fd = h->fd, .events = POLLIN},
                                {.fd = h->stop[0], .events = POLLIN}};
        int c;

        if (poll(pfd, 2, aia_http_release(h, aia_http_ms())) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents != 0)
            break;
        if (pfd[0].revents == 0)
            continue; /* a held connection came due */
        c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (aia_http_serve(h, c))
            continue;
        shutdown(c, SHUT_WR);
        close(c);
    }
    aia_http_release(h, -1);
    return NULL;
}

void
tw_lab_aia_http_stop(struct tw_lab_aia_http *h)
{
    if (h == NULL)
        return;
    if (h->started) {
        ssize_t w = write(h->stop[1], "x", 1);

        (void)w;
        pthread_join(h->thread, NULL);
    }
    if (h->fd >= 0)
        close(h->fd);
    if (h->stop[0] >= 0)
        close(h->stop[0]);
    if (h->stop[1] >= 0)
        close(h->stop[1]);
    OPENSSL_free(h->der);
    free(h->pem);
    free(h);
}

struct tw_lab_aia_http *
tw_lab_aia_http_start(uint32_t base, unsigned port, X509 *inter, const unsigned char *ocsp,
                      size_t ocsp_len, const unsigned char *crl, size_t crl_len, char *err)
{
    struct tw_lab_aia_http *h = tw_xcalloc(1, sizeof(*h));
    struct sockaddr_in sa;
    BIO *b = NULL;
    int len, one = 1, e;

    h->fd = h->stop[0] = h->stop[1] = -1;
    for (int i = 0; i < AIA_HTTP_HELD; i++)
        h->held[i] = -1;
    h->ocsp = ocsp;
    h->n_ocsp = ocsp_len;
    h->crl = crl;
    h->n_crl = crl_len;
    len = i2d_X509(inter, &h->der);
    b = BIO_new(BIO_s_mem());
    if (len <= 0 || b == NULL || PEM_write_bio_X509(b, inter) != 1) {
        BIO_free(b);
        tw_lab_ssl_err(err, "aia responder", "encoding the intermediate");
        goto fail;
    }
    h->n_der = (size_t)len;
    {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);

        h->pem = tw_xmalloc((size_t)n);
        memcpy(h->pem, p, (size_t)n);
        h->n_pem = (size_t)n;
    }
    BIO_free(b);
    if (pipe2(h->stop, O_CLOEXEC) < 0) {
        tw_errf(err, "aia responder: pipe: %s", strerror(errno));
        goto fail;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(base + TW_LAB_AIA_ADDR);
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(h->fd, 16) < 0) {
        char ip[INET_ADDRSTRLEN] = "?";

        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
        tw_errf(err, "aia responder: %s:%u: %s", ip, port, strerror(errno));
        goto fail;
    }
    e = pthread_create(&h->thread, NULL, aia_http_main, h);
    if (e != 0) {
        tw_errf(err, "aia responder: pthread_create: %s", strerror(e));
        goto fail;
    }
    h->started = 1;
    return h;
fail:
    tw_lab_aia_http_stop(h);
    return NULL;
}
