/*
 * dns.c - c-ares on a libev loop (see dns.h).
 *
 * c-ares tells us which sockets to watch through ARES_OPT_SOCK_STATE_CB;
 * each gets an ev_io that calls ares_process_fd for its fd.  One ev_timer,
 * re-armed from ares_timeout() after every call into c-ares, calls
 * ares_process_fd(BAD, BAD) so that retries and timeouts happen without
 * any socket activity.  Only the 1.18 API is used (Debian 12).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/time.h>

#include <netinet/in.h>

#include <ares.h>
#include <ev.h>

#include "scanner/dns.h"
#include "base/log.h"
#include "base/xalloc.h"

#define TW_DNS_CACHE_SLOTS 512 /* names remembered per worker */
/* Socket buffers of the resolver's sockets.  With a thousand queries out, a
 * burst of answers overflows Linux's default 208 KiB receive buffer and the
 * dropped names wait for c-ares's retry (bench/RESULTS.md: 1.8 % of 100,000
 * names took >= 1 s; none with 4 MiB).  The kernel caps it at
 * net.core.rmem_max / wmem_max without an error. */
#define TW_DNS_SOCK_BUF (4 * 1024 * 1024)

struct dns_waiter {
    tw_dns_cb *cb;
    void *arg;
    struct dns_waiter *next;
};

struct dns_query {
    struct tw_dns *d;
    int slot; /* the cache slot that points at this query, or -1 */
    struct dns_waiter *waiters;
    struct dns_waiter **tail;
    char name[TW_HOST_MAX + 1];
};

enum { SLOT_EMPTY = 0, SLOT_PENDING, SLOT_DONE };

struct dns_slot {
    int state;
    struct dns_query *pending; /* SLOT_PENDING */
    struct tw_dns_answer ans;  /* SLOT_DONE */
    char name[TW_HOST_MAX + 1];
};

struct dns_sock {
    ev_io io; /* first: the callback casts back */
    struct tw_dns *d;
    struct dns_sock *next;
};

struct tw_dns {
    struct ev_loop *loop;
    ares_channel ch;
    int has_ch;
    ev_timer timer;
    struct dns_sock *socks;
    int destroying;
    uint64_t queries;
    struct dns_slot *slots;
};

static void dns_update_timer(struct tw_dns *d);

static uint32_t
dns_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

static void
dns_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct dns_sock *s = (struct dns_sock *)w;
    struct tw_dns *d = s->d;
    ares_socket_t fd = w->fd;

    (void)loop;
    /* s may be freed inside (sock_state_cb): use only d and fd after. */
    ares_process_fd(d->ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    dns_update_timer(d);
}

static void
dns_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct tw_dns *d = (struct tw_dns *)((char *)w - offsetof(struct tw_dns, timer));

    (void)loop;
    (void)revents;
    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dns_update_timer(d);
}

static void
dns_update_timer(struct tw_dns *d)
{
    struct timeval tv;
    double after;

    if (d->destroying || !d->has_ch)
        return;
    ev_timer_stop(d->loop, &d->timer);
    if (ares_timeout(d->ch, NULL, &tv) == NULL)
        return;
    after = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    ev_timer_set(&d->timer, after > 0.001 ? after : 0.001, 0.);
    ev_timer_start(d->loop, &d->timer);
}

static void
dns_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct tw_dns *d = data;
    struct dns_sock *s, **pp;
    int events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

    for (pp = &d->socks; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->io.fd == (int)fd)
            break;
    s = *pp;
    if (events == 0) {
        if (s != NULL) {
            ev_io_stop(d->loop, &s->io);
            *pp = s->next;
            free(s);
        }
        return;
    }
    if (s == NULL) {
        s = tw_xcalloc(1, sizeof(*s));
        s->d = d;
        ev_io_init(&s->io, dns_io_cb, (int)fd, events);
        s->next = d->socks;
        d->socks = s;
    } else {
        ev_io_stop(d->loop, &s->io);
        ev_io_set(&s->io, (int)fd, events);
    }
    ev_io_start(d->loop, &s->io);
}

struct tw_dns *
tw_dns_new(struct ev_loop *loop, const struct tw_config *cfg, char *err)
{
    struct tw_dns *d = NULL;
    struct tw_dns *ret = NULL;
    struct ares_options o;
    char csv[TW_RESOLVERS_MAX * 64];
    size_t off = 0;
    int st;

    d = tw_xcalloc(1, sizeof(*d));
    d->loop = loop;
    d->slots = tw_xcalloc(TW_DNS_CACHE_SLOTS, sizeof(*d->slots));
    ev_timer_init(&d->timer, dns_timer_cb, 0., 0.);
    memset(&o, 0, sizeof(o));
    o.sock_state_cb = dns_sock_state_cb;
    o.sock_state_cb_data = d;
    /* An unset (<= 0) timeout or try count takes the one default in
     * scanner/config.h, as tw_config_defaults() would have set it. */
    o.timeout =
        (int)((cfg->dns_timeout > 0 ? cfg->dns_timeout : TW_CFG_DEFAULT_DNS_TIMEOUT) * 1000.0);
    if (o.timeout < 1)
        o.timeout = 1;
    o.tries = cfg->dns_tries > 0 ? cfg->dns_tries : TW_CFG_DEFAULT_DNS_TRIES;
    o.socket_receive_buffer_size = TW_DNS_SOCK_BUF;
    o.socket_send_buffer_size = TW_DNS_SOCK_BUF;
    st = ares_init_options(&d->ch, &o,
                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                               ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_SNDBUF);
    if (st != ARES_SUCCESS) {
        tw_errf(err, "cannot start the resolver: %s", ares_strerror(st));
        goto out;
    }
    d->has_ch = 1;
    csv[0] = '\0';
    for (size_t i = 0; i < cfg->n_resolvers && i < TW_RESOLVERS_MAX; i++) {
        size_t n = strlen(cfg->resolvers[i]);

        if (n == 0 || off + n + 2 > sizeof(csv)) {
            tw_errf(err, "bad --resolver '%s'", cfg->resolvers[i]);
            goto out;
        }
        if (off > 0)
            csv[off++] = ',';
        memcpy(csv + off, cfg->resolvers[i], n);
        off += n;
        csv[off] = '\0';
    }
    if (off > 0) {
        st = ares_set_servers_ports_csv(d->ch, csv);
        if (st != ARES_SUCCESS) {
            tw_errf(err, "bad --resolver list '%s': %s", csv, ares_strerror(st));
            goto out;
        }
    }
    ret = d;
    d = NULL;
out:
    tw_dns_free(d);
    return ret;
}

void
tw_dns_free(struct tw_dns *d)
{
    struct dns_sock *s, *next;

    if (d == NULL)
        return;
    d->destroying = 1;
    ev_timer_stop(d->loop, &d->timer);
    if (d->has_ch)
        ares_destroy(d->ch); /* runs callbacks with ARES_EDESTRUCTION: they free only */
    for (s = d->socks; s != NULL; s = next) {
        next = s->next;
        ev_io_stop(d->loop, &s->io);
        free(s);
    }
    free(d->slots);
    free(d);
}

static enum tw_dns_outcome
dns_outcome(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return TW_DNS_OK;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        return TW_DNS_NXDOMAIN;
    case ARES_ETIMEOUT:
        return TW_DNS_TIMEOUT;
    default:
        return TW_DNS_SERVFAIL;
    }
}

static void
dns_answer_add(struct tw_dns_answer *ans, int family, const void *addr, size_t len)
{
    struct tw_dns_addr a;

    if (ans->n >= TW_DNS_ADDRS_MAX)
        return;
    memset(&a, 0, sizeof(a));
    a.family = family;
    memcpy(a.addr, addr, len);
    for (int i = 0; i < ans->n; i++)
        if (memcmp(&ans->a[i], &a, sizeof(a)) == 0)
            return;
    ans->a[ans->n++] = a;
}

static void
dns_ai_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct dns_query *q = arg;
    struct tw_dns *d = q->d;
    struct tw_dns_answer ans;
    struct dns_waiter *wt, *next;
    int cancelled = status == ARES_ECANCELLED || status == ARES_EDESTRUCTION;

    (void)timeouts;
    memset(&ans, 0, sizeof(ans));
    ans.status = status;
    if (status == ARES_SUCCESS && res != NULL) {
        for (struct ares_addrinfo_node *n = res->nodes; n != NULL; n = n->ai_next) {
            if (n->ai_family == AF_INET && n->ai_addr != NULL &&
                n->ai_addrlen >= (int)sizeof(struct sockaddr_in))
                dns_answer_add(&ans, AF_INET, &((struct sockaddr_in *)n->ai_addr)->sin_addr, 4);
            else if (n->ai_family == AF_INET6 && n->ai_addr != NULL &&
                     n->ai_addrlen >= (int)sizeof(struct sockaddr_in6))
                dns_answer_add(&ans, AF_INET6, &((struct sockaddr_in6 *)n->ai_addr)->sin6_addr, 16);
        }
    }
    if (res != NULL)
        ares_freeaddrinfo(res);
    ans.outcome = dns_outcome(status);
    if (ans.outcome == TW_DNS_OK && ans.n == 0) {
        ans.outcome = TW_DNS_NXDOMAIN; /* an answer with no address we can use */
        ans.status = ARES_ENODATA;
    }
    if (q->slot >= 0 && d->slots[q->slot].pending == q) {
        struct dns_slot *s = &d->slots[q->slot];

        s->pending = NULL;
        if (cancelled) {
            s->state = SLOT_EMPTY;
        } else {
            s->state = SLOT_DONE;
            s->ans = ans;
        }
    }
    for (wt = q->waiters; wt != NULL; wt = next) {
        next = wt->next;
        if (!d->destroying)
            wt->cb(wt->arg, cancelled ? NULL : &ans);
        free(wt);
    }
    free(q);
}

void
tw_dns_resolve(struct tw_dns *d, const char *name, tw_dns_cb *cb, void *arg)
{
    uint32_t idx = dns_hash(name) % TW_DNS_CACHE_SLOTS;
    struct dns_slot *s = &d->slots[idx];
    struct dns_waiter *wt;
    struct dns_query *q;
    struct ares_addrinfo_hints hints;

    if (s->state == SLOT_DONE && strcmp(s->name, name) == 0) {
        struct tw_dns_answer ans = s->ans; /* the slot may be reused inside cb */

        cb(arg, &ans);
        return;
    }
    wt = tw_xcalloc(1, sizeof(*wt));
    wt->cb = cb;
    wt->arg = arg;
    if (s->state == SLOT_PENDING && strcmp(s->name, name) == 0) {
        *s->pending->tail = wt;
        s->pending->tail = &wt->next;
        return;
    }
    q = tw_xcalloc(1, sizeof(*q));
    q->d = d;
    q->waiters = wt;
    q->tail = &wt->next;
    tw_strlcpy(q->name, name, sizeof(q->name));
    q->slot = -1;
    if (s->state != SLOT_PENDING) {
        /* Evict whatever was there: the cache is bounded, not exact. */
        s->state = SLOT_PENDING;
        s->pending = q;
        tw_strlcpy(s->name, name, sizeof(s->name));
        q->slot = (int)idx;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NOSORT;
    d->queries++;
    ares_getaddrinfo(d->ch, q->name, NULL, &hints, dns_ai_cb, q);
    dns_update_timer(d);
}

void
tw_dns_cancel(struct tw_dns *d)
{
    if (d->has_ch)
        ares_cancel(d->ch);
    dns_update_timer(d);
}

uint64_t
tw_dns_queries(const struct tw_dns *d)
{
    return d->queries;
}
