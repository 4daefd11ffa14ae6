/*
 * dns.h - c-ares glue for one worker: names -> addresses on the worker's loop.
 *
 * One ares channel per worker (c-ares 1.18 API: ares_sock_state_cb drives
 * one ev_io per resolver socket, ares_timeout drives one ev_timer, and both
 * call ares_process_fd).  ares_getaddrinfo asks A and AAAA together.  A
 * bounded per-worker cache (direct-mapped, a new name evicts the slot's
 * old one) remembers answers and failures, and lookups of a name already
 * in flight wait for that query, so a name is asked about once per worker.
 *
 * Threading: everything runs on the owning worker's thread.  Callbacks may
 * run from inside tw_dns_resolve() (cache hits, /etc/hosts, immediate
 * failures); callers must be ready for that.
 */
#ifndef TW_SCANNER_DNS_H
#define TW_SCANNER_DNS_H

#include <stdint.h>

#include "scanner/config.h"
#include "scanner/evidence.h"

struct ev_loop;
struct tw_dns;

#define TW_DNS_ADDRS_MAX 16 /* addresses kept per name (A and AAAA, deduplicated) */

struct tw_dns_addr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
};

struct tw_dns_answer {
    enum tw_dns_outcome outcome; /* TW_DNS_OK with n >= 1, or the failure */
    int status;                  /* the ARES_* status */
    int n;
    struct tw_dns_addr a[TW_DNS_ADDRS_MAX];
};

/* ans is borrowed for the duration of the call; NULL when the lookup was
 * cancelled (tw_dns_cancel) and the caller is tearing down. */
typedef void tw_dns_cb(void *arg, const struct tw_dns_answer *ans);

/* A resolver on loop, configured from cfg (resolvers, dns_timeout,
 * dns_tries).  Returns it, or NULL with err. */
struct tw_dns *tw_dns_new(struct ev_loop *loop, const struct tw_config *cfg, char *err);
/* Cancel everything (callbacks are NOT called) and free; NULL is a no-op. */
void tw_dns_free(struct tw_dns *d);

/* Resolve name; cb fires exactly once (possibly before this returns). */
void tw_dns_resolve(struct tw_dns *d, const char *name, tw_dns_cb *cb, void *arg);

/* Cancel every lookup in flight: each pending cb gets ans == NULL. */
void tw_dns_cancel(struct tw_dns *d);

/* Queries sent to the resolver so far (cache misses). */
uint64_t tw_dns_queries(const struct tw_dns *d);

#endif /* TW_SCANNER_DNS_H */
