/*
 * aia.c - the AIA caIssuers fetch (see aia.h).
 *
 * The URL comes from a certificate the server sent: hostile.  It is
 * accepted only as "http://" host [":" port] [path] in printable ASCII,
 * bounded in length; the request line carries the path as written (no
 * space or control byte can reach it).  The response is read into a
 * buffer of TW_AIA_MAX_BYTES (TW_AIA_CRL_MAX_BYTES for a CRL; a longer
 * one is refused), its status line
 * must say 200, and the body must parse as exactly one certificate.
 */
#include "scanner/aia.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/xalloc.h"

#define AIA_CACHE_SLOTS 64
#define AIA_SVC_THREADS 4

/* One answer: key is the method, the URL and (POST) the SHA-256 of the body. */
#define AIA_KEY_MAX (TW_AIA_URL_MAX + 80)
struct aia_entry {
    char key[AIA_KEY_MAX];
    unsigned char *body; /* the response body; NULL: the exchange failed (remembered too) */
    size_t len;
    int used;
    int busy; /* a thread is fetching it: others wait on the cache's cv (coalesced) */
};

struct aia_cache {
    pthread_mutex_t mu; /* guards the entries (a scan's cache is shared by its fetch threads) */
    pthread_cond_t cv;  /* an entry stopped being busy */
    struct aia_entry e[AIA_CACHE_SLOTS];
    unsigned next; /* round-robin eviction (of entries not busy) */
};

/* One queued job of the fetch threads. */
struct aia_job {
    struct aia_job *next;
    tw_aia_job_fn *run;
    void *arg;
};

struct tw_aia_svc {
    struct aia_cache cache;
    pthread_mutex_t mu; /* guards the queue, the threads and stop */
    pthread_cond_t cv;  /* a job was queued, or stop */
    struct aia_job *head, *tail;
    int n_queued, n_idle, n_threads, stop;
    pthread_t threads[AIA_SVC_THREADS];
};

static __thread struct aia_cache *aia_tls;
static __thread struct tw_aia_svc *aia_bound; /* the fetch thread's scan: its shared cache */
static pthread_once_t aia_once = PTHREAD_ONCE_INIT;
static pthread_key_t aia_key;
static int aia_key_ok;

static void
aia_cache_init(struct aia_cache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void
aia_cache_clear(struct aia_cache *c)
{
    for (size_t i = 0; i < AIA_CACHE_SLOTS; i++)
        free(c->e[i].body);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

static void
aia_cache_free(void *p)
{
    struct aia_cache *c = p;

    if (c == NULL)
        return;
    aia_cache_clear(c);
    free(c);
}

static void
aia_init_once(void)
{
    aia_key_ok = pthread_key_create(&aia_key, aia_cache_free) == 0;
}

/* The scan's cache in a fetch thread; elsewhere (tests) the thread's own. */
static struct aia_cache *
aia_cache_get(void)
{
    struct aia_cache *c;

    if (aia_bound != NULL)
        return &aia_bound->cache;
    if (aia_tls != NULL)
        return aia_tls;
    pthread_once(&aia_once, aia_init_once);
    if (!aia_key_ok)
        return NULL;
    c = tw_xcalloc(1, sizeof(*c));
    aia_cache_init(c);
    if (pthread_setspecific(aia_key, c) != 0) {
        aia_cache_free(c);
        return NULL;
    }
    aia_tls = c;
    return c;
}

static int
url_ok(const char *s, size_t len)
{
    if (len == 0 || len >= TW_AIA_URL_MAX || strncmp(s, "http://", 7) != 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* The first acceptable http URL of x's AIA entries of method nid. */
static int
aia_find_url(X509 *x, int nid, char url[TW_AIA_URL_MAX])
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    int found = 0;

    url[0] = '\0';
    for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia) && !found; i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        const ASN1_IA5STRING *u;
        int len;

        if (OBJ_obj2nid(ad->method) != nid || ad->location == NULL || ad->location->type != GEN_URI)
            continue;
        u = ad->location->d.uniformResourceIdentifier;
        len = ASN1_STRING_length(u);
        if (len <= 0 || !url_ok((const char *)ASN1_STRING_get0_data(u), (size_t)len))
            continue;
        memcpy(url, ASN1_STRING_get0_data(u), (size_t)len);
        url[len] = '\0';
        found = 1;
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return found;
}

int
tw_aia_issuer_url(X509 *x, char url[TW_AIA_URL_MAX])
{
    return aia_find_url(x, NID_ad_ca_issuers, url);
}

/* body[len] (at most max bytes) as exactly one DER object of type it, or
 * else as the first PEM block named pem_name (OpenSSL's PEM_read_bio_X509
 * and _X509_CRL: the same block names accepted).  NULL when neither. */
static void *
aia_parse_item(const unsigned char *body, size_t len, size_t max, const ASN1_ITEM *it,
               const char *pem_name)
{
    const unsigned char *p = body;
    unsigned char *der = NULL;
    long der_len = 0;
    void *x;
    BIO *b;

    if (body == NULL || len == 0 || len > max)
        return NULL;
    x = ASN1_item_d2i(NULL, &p, (long)len, it);
    if (x != NULL && p == body + len)
        return x;
    ASN1_item_free(x, it);
    x = NULL;
    b = BIO_new_mem_buf(body, (int)len);
    if (b != NULL && PEM_bytes_read_bio(&der, &der_len, NULL, pem_name, b, NULL, NULL) == 1) {
        p = der;
        x = ASN1_item_d2i(NULL, &p, der_len, it);
    }
    OPENSSL_free(der);
    BIO_free(b);
    ERR_clear_error();
    return x;
}

X509 *
tw_aia_parse(const unsigned char *body, size_t len)
{
    return aia_parse_item(body, len, TW_AIA_MAX_BYTES, ASN1_ITEM_rptr(X509), PEM_STRING_X509);
}

static int64_t
aia_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for ev until the deadline.  Returns 1 ready, 0 not. */
static int
aia_wait(int fd, short ev, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = ev};
        int64_t left = deadline - aia_ms();
        int rc;

        if (left <= 0)
            return 0;
        rc = poll(&pfd, 1, (int)left);
        if (rc > 0)
            return 1;
        if (rc == 0 || errno != EINTR)
            return 0;
    }
}

/* Split url into host, port and path; returns 0 or -1. */
static int
aia_split(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
          const char **path)
{
    const char *h = url + 7, *end, *colon = NULL;
    size_t n;

    if (*h == '[') {
        const char *rb = strchr(h, ']');
        if (rb == NULL)
            return -1;
        n = (size_t)(rb - h - 1);
        if (n == 0 || n >= hostlen)
            return -1;
        memcpy(host, h + 1, n);
        host[n] = '\0';
        end = rb + 1;
        if (*end == ':')
            colon = end;
        else if (*end != '/' && *end != '\0')
            return -1;
        end = end + strcspn(end, "/");
    } else {
        end = h + strcspn(h, "/");
        colon = memchr(h, ':', (size_t)(end - h));
        n = (size_t)((colon != NULL ? colon : end) - h);
        if (n == 0 || n >= hostlen || memchr(h, '@', (size_t)(end - h)) != NULL)
            return -1;
        memcpy(host, h, n);
        host[n] = '\0';
    }
    if (colon != NULL) {
        n = (size_t)(end - colon - 1);
        if (n == 0 || n >= portlen)
            return -1;
        memcpy(port, colon + 1, n);
        port[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (port[i] < '0' || port[i] > '9')
                return -1;
    } else {
        snprintf(port, portlen, "80");
    }
    *path = *end == '/' ? end : "/";
    return 0;
}

/*
 * Resolve a host name with the system resolver, within the deadline
 * (getaddrinfo_a and gai_suspend: a blocking getaddrinfo could outlast the
 * bound many times).  A lookup still running at the deadline is cancelled;
 * when glibc can no longer cancel it, its request block is left to it (a
 * few hundred bytes, once per URL per thread thanks to the cache).
 * Returns the addresses (freeaddrinfo) or NULL.
 */
struct aia_gai {
    struct gaicb cb;
    struct addrinfo hints;
    char host[TW_AIA_URL_MAX];
    char port[8];
};

static struct addrinfo *
aia_resolve(const char *host, const char *port, const struct addrinfo *hints, int64_t deadline)
{
    struct aia_gai *g = tw_xcalloc(1, sizeof(*g));
    struct gaicb *list[1];
    struct addrinfo *ai = NULL;
    int rc;

    snprintf(g->host, sizeof(g->host), "%s", host);
    snprintf(g->port, sizeof(g->port), "%s", port);
    g->hints = *hints;
    g->cb.ar_name = g->host;
    g->cb.ar_service = g->port;
    g->cb.ar_request = &g->hints;
    list[0] = &g->cb;
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
        free(g);
        return NULL;
    }
    for (;;) {
        int64_t left = deadline - aia_ms();
        struct timespec ts;

        rc = gai_error(&g->cb);
        if (rc != EAI_INPROGRESS || left <= 0)
            break;
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        gai_suspend((const struct gaicb *const *)list, 1, &ts);
    }
    if (rc == EAI_INPROGRESS) {
        rc = gai_cancel(&g->cb);
        if (rc == EAI_NOTCANCELED)
            return NULL; /* still running: g belongs to the lookup now (see above) */
        rc = gai_error(&g->cb);
    }
    if (rc == 0)
        ai = g->cb.ar_result;
    else if (g->cb.ar_result != NULL)
        freeaddrinfo(g->cb.ar_result);
    free(g);
    return ai;
}

/* Send p[n] before the deadline; 0 or -1. */
static int
aia_send(int fd, const void *p, size_t n, int64_t deadline)
{
    const char *c = p;

    for (size_t off = 0; off < n;) {
        ssize_t w;

        if (!aia_wait(fd, POLLOUT, deadline))
            return -1;
        w = send(fd, c + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (w > 0)
            off += (size_t)w;
    }
    return 0;
}

/* One bounded exchange: a GET, or a POST of post[post_len] as ctype when
 * post is not NULL.  Returns the 200 response's body (malloc'ed, *len
 * bytes, at most max) or NULL. */
static unsigned char *
aia_exchange(const char *url, const char *ctype, const unsigned char *post, size_t post_len,
             size_t max, size_t *len)
{
    char host[TW_AIA_URL_MAX], port[8], req[2 * TW_AIA_URL_MAX + 160];
    const char *path;
    struct addrinfo hints, *ai = NULL;
    unsigned char *buf = NULL;
    size_t got = 0;
    int64_t deadline = aia_ms() + TW_AIA_TIMEOUT_MS;
    int fd = -1, n, err = 0;
    socklen_t elen = sizeof(err);
    unsigned char *out = NULL;

    *len = 0;
    if (post_len > TW_AIA_MAX_BYTES ||
        aia_split(url, host, sizeof(host), port, sizeof(port), &path) < 0)
        return NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        ai = NULL;
        hints.ai_flags = AI_NUMERICSERV;
        ai = aia_resolve(host, port, &hints, deadline);
        if (ai == NULL)
            return NULL;
    }
    /* Each address in turn (a name may give ::1 before 127.0.0.1), all
     * within the one deadline. */
    for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        err = 0;
        elen = sizeof(err);
        if ((connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) ||
            !aia_wait(fd, POLLOUT, deadline) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        goto out;
    if (post != NULL)
        n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, host, ctype, post_len);
    else
        n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: */*\r\n\r\n", path,
                     host);
    if (n < 0 || (size_t)n >= sizeof(req) || aia_send(fd, req, (size_t)n, deadline) < 0 ||
        (post != NULL && aia_send(fd, post, post_len, deadline) < 0))
        goto out;
    /* Headers plus body: at most the body bound and 4 KiB of headers. */
    buf = tw_xmalloc(max + 4096 + 1);
    for (;;) {
        ssize_t rd;

        if (!aia_wait(fd, POLLIN, deadline))
            goto out;
        rd = recv(fd, buf + got, max + 4096 + 1 - got, 0);
        if (rd == 0)
            break;
        if (rd < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            goto out;
        }
        got += (size_t)rd;
        if (got > max + 4096)
            goto out; /* too long: refused */
    }
    if (got >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && memcmp(buf + 8, " 200", 4) == 0) {
        unsigned char *body = memmem(buf, got, "\r\n\r\n", 4);

        if (body != NULL && (size_t)(body + 4 - buf) <= 4096 &&
            got - (size_t)(body + 4 - buf) <= max) {
            *len = got - (size_t)(body + 4 - buf);
            out = tw_xmalloc(*len + 1);
            memcpy(out, body + 4, *len);
        }
    }
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return out;
}

/* The cached exchange: *body is a new copy (free) or NULL when it failed.
 * A key another thread is fetching is waited for, not fetched again. */
static unsigned char *
aia_cached(const char *url, const char *ctype, const unsigned char *post, size_t post_len,
           size_t max, size_t *len)
{
    struct aia_cache *c = aia_cache_get();
    struct aia_entry *e = NULL;
    char key[AIA_KEY_MAX];
    unsigned char *b, *copy = NULL;
    int n;

    *len = 0;
    if (url == NULL || !url_ok(url, strlen(url)))
        return NULL;
    if (post != NULL) {
        unsigned char md[32];
        char hex[65];

        if (EVP_Digest(post, post_len, md, NULL, EVP_sha256(), NULL) != 1)
            return NULL;
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        n = snprintf(key, sizeof(key), "POST %s %s", url, hex);
    } else {
        n = snprintf(key, sizeof(key), "GET%s %s", max > TW_AIA_MAX_BYTES ? "-CRL" : "", url);
    }
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    if (c == NULL)
        return aia_exchange(url, ctype, post, post_len, max, len);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int busy = 0;

        e = NULL;
        for (size_t i = 0; i < AIA_CACHE_SLOTS && e == NULL; i++)
            if (c->e[i].used && strcmp(c->e[i].key, key) == 0)
                e = &c->e[i];
        if (e == NULL)
            break;
        busy = e->busy;
        if (!busy) {
            if (e->body != NULL) {
                copy = tw_xmalloc(e->len + 1);
                memcpy(copy, e->body, e->len);
                *len = e->len;
            }
            pthread_mutex_unlock(&c->mu);
            return copy;
        }
        pthread_cond_wait(&c->cv, &c->mu); /* coalesced with the thread fetching it */
    }
    /* Claim a slot that is not busy (at most AIA_SVC_THREADS are). */
    for (unsigned tries = 0; tries < AIA_CACHE_SLOTS; tries++) {
        e = &c->e[c->next++ % AIA_CACHE_SLOTS];
        if (!e->busy)
            break;
        e = NULL;
    }
    if (e == NULL) {
        pthread_mutex_unlock(&c->mu);
        return aia_exchange(url, ctype, post, post_len, max, len);
    }
    free(e->body);
    memcpy(e->key, key, (size_t)n + 1);
    e->body = NULL;
    e->len = 0;
    e->used = 1;
    e->busy = 1;
    pthread_mutex_unlock(&c->mu);
    b = aia_exchange(url, ctype, post, post_len, max, len);
    pthread_mutex_lock(&c->mu);
    if (b != NULL) {
        e->body = tw_xmalloc(*len + 1);
        memcpy(e->body, b, *len);
        e->len = *len;
    }
    e->busy = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return b;
}

/* GET url (through the cache) and parse the body as aia_parse_item does. */
static void *
aia_fetch_item(const char *url, size_t max, const ASN1_ITEM *it, const char *pem_name)
{
    size_t len = 0;
    unsigned char *b = aia_cached(url, NULL, NULL, 0, max, &len);
    void *x = b != NULL ? aia_parse_item(b, len, max, it, pem_name) : NULL;

    free(b);
    return x;
}

X509 *
tw_aia_fetch(const char *url)
{
    return aia_fetch_item(url, TW_AIA_MAX_BYTES, ASN1_ITEM_rptr(X509), PEM_STRING_X509);
}

unsigned char *
tw_aia_post(const char *url, const char *ctype, const unsigned char *body, size_t body_len,
            size_t *len)
{
    return aia_cached(url, ctype, body, body_len, TW_AIA_MAX_BYTES, len);
}

int
tw_aia_ocsp_url(X509 *x, char url[TW_AIA_URL_MAX])
{
    return aia_find_url(x, NID_ad_OCSP, url);
}

int
tw_aia_crl_url(X509 *x, char url[TW_AIA_URL_MAX])
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    int found = 0;

    url[0] = '\0';
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && !found; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        GENERAL_NAMES *names;

        /* A full name (not one relative to the CRL issuer), whole-CRL only. */
        if (dp->distpoint == NULL || dp->distpoint->type != 0 || dp->reasons != NULL)
            continue;
        names = dp->distpoint->name.fullname;
        for (int k = 0; k < sk_GENERAL_NAME_num(names) && !found; k++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
            const ASN1_IA5STRING *u;
            int len;

            if (gn->type != GEN_URI)
                continue;
            u = gn->d.uniformResourceIdentifier;
            len = ASN1_STRING_length(u);
            if (len <= 0 || !url_ok((const char *)ASN1_STRING_get0_data(u), (size_t)len))
                continue;
            memcpy(url, ASN1_STRING_get0_data(u), (size_t)len);
            url[len] = '\0';
            found = 1;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return found;
}

X509_CRL *
tw_aia_parse_crl(const unsigned char *body, size_t len)
{
    return aia_parse_item(body, len, TW_AIA_CRL_MAX_BYTES, ASN1_ITEM_rptr(X509_CRL),
                          PEM_STRING_X509_CRL);
}

X509_CRL *
tw_aia_fetch_crl(const char *url)
{
    return aia_fetch_item(url, TW_AIA_CRL_MAX_BYTES, ASN1_ITEM_rptr(X509_CRL), PEM_STRING_X509_CRL);
}

/* ---- the scan's fetch threads ---- */

static void *
aia_svc_main(void *arg)
{
    struct tw_aia_svc *svc = arg;

    aia_bound = svc;
    pthread_mutex_lock(&svc->mu);
    for (;;) {
        struct aia_job *j;

        while (svc->head == NULL && !svc->stop)
            pthread_cond_wait(&svc->cv, &svc->mu);
        if (svc->head == NULL)
            break; /* stop, and nothing left to run */
        j = svc->head;
        svc->head = j->next;
        if (svc->head == NULL)
            svc->tail = NULL;
        svc->n_queued--;
        svc->n_idle--;
        pthread_mutex_unlock(&svc->mu);
        j->run(j->arg);
        free(j);
        pthread_mutex_lock(&svc->mu);
        svc->n_idle++;
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

struct tw_aia_svc *
tw_aia_svc_new(void)
{
    struct tw_aia_svc *svc = tw_xcalloc(1, sizeof(*svc));

    aia_cache_init(&svc->cache);
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->cv, NULL);
    return svc;
}

void
tw_aia_svc_submit(struct tw_aia_svc *svc, tw_aia_job_fn *run, void *arg)
{
    struct aia_job *j = tw_xcalloc(1, sizeof(*j));
    int start;

    j->run = run;
    j->arg = arg;
    pthread_mutex_lock(&svc->mu);
    if (svc->tail != NULL)
        svc->tail->next = j;
    else
        svc->head = j;
    svc->tail = j;
    svc->n_queued++;
    /* A new thread while the jobs waiting outnumber the idle threads, up to
     * AIA_SVC_THREADS (a burst of jobs gets them all at once). */
    start = svc->n_queued > svc->n_idle && svc->n_threads < AIA_SVC_THREADS;
    if (start && pthread_create(&svc->threads[svc->n_threads], NULL, aia_svc_main, svc) == 0) {
        svc->n_threads++;
        svc->n_idle++;
    } else if (svc->n_threads == 0) {
        /* No thread at all: run it here (blocking, but never lost). */
        svc->head = svc->tail = NULL;
        svc->n_queued = 0;
        pthread_mutex_unlock(&svc->mu);
        free(j);
        run(arg);
        return;
    }
    pthread_cond_signal(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
}

void
tw_aia_svc_free(struct tw_aia_svc *svc)
{
    if (svc == NULL)
        return;
    pthread_mutex_lock(&svc->mu);
    svc->stop = 1;
    pthread_cond_broadcast(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
    for (int i = 0; i < svc->n_threads; i++)
        pthread_join(svc->threads[i], NULL);
    aia_cache_clear(&svc->cache);
    pthread_mutex_destroy(&svc->mu);
    pthread_cond_destroy(&svc->cv);
    free(svc);
}
