/*
 * config.h - the scan configuration, parsed once from the command line and
 * passed everywhere as const (STYLE G4).
 */
#ifndef TW_SCANNER_CONFIG_H
#define TW_SCANNER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "scanner/targets.h"

#define TW_RESOLVERS_MAX 8

/* The timeout defaults, in seconds, set here once: tw_config_defaults()
 * and every module that meets an unset (<= 0) timeout use them. */
#define TW_CFG_DEFAULT_CONNECT_TIMEOUT 5.0
#define TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT 10.0
#define TW_CFG_DEFAULT_DNS_TIMEOUT 5.0
/* How often c-ares sends one DNS question before it gives up. */
#define TW_CFG_DEFAULT_DNS_TRIES 2
/* The grading connections' handshake timeout when --probe-timeout is not
 * given: the handshake timeout, capped at this. */
#define TW_CFG_DEFAULT_PROBE_TIMEOUT_CAP 3.0

/*
 * The options a scan stores with itself (table scan_options, one row per
 * value) and that --resume reloads: one bit each in tw_config.given, set by
 * the command line for the options it names.  On --resume an option that is
 * not given takes its stored value; one that is given must equal it, except
 * the pacing options (--concurrency, --threads, --rate, --per-ip), which
 * may change.
 */
enum tw_cfg_opt {
    TW_CFG_PORTS,
    TW_CFG_RESOLVER, /* each --resolver, in order (seq) */
    TW_CFG_CA_FILE,  /* also --lab's CA */
    TW_CFG_NOW,
    TW_CFG_SHARD,
    TW_CFG_STARTTLS,
    TW_CFG_QUICK,
    TW_CFG_CONNECT_TIMEOUT,
    TW_CFG_HANDSHAKE_TIMEOUT,
    TW_CFG_DNS_TIMEOUT,
    TW_CFG_DNS_TRIES,
    TW_CFG_PROBE_TIMEOUT,
    TW_CFG_ALLOW_LARGE,
    TW_CFG_FILE, /* each target file, in order; "-" = stdin */
    TW_CFG_LABEL,
    TW_CFG_RATE,
    TW_CFG_PER_IP,
    TW_CFG_CONCURRENCY,
    TW_CFG_THREADS,
    TW_CFG_CLIENTS,       /* the client policy (--clients) */
    TW_CFG_CHECK_NAMES,   /* --check-names: address targets without SNI get the name check */
    TW_CFG_NO_AIA,        /* --no-aia: no fetch of a missing intermediate (issue 14) */
    TW_CFG_NO_REVOCATION, /* --no-revocation: no online OCSP (issue 14) */
    TW_CFG_SIMULATE,      /* --simulate real: each client's own hello too (issue 13) */
    TW_CFG__COUNT
};
#define TW_CFG_BIT(opt) (1u << (opt))

struct tw_refclient;   /* tls/refclients.h */
struct tw_clients_set; /* tls/clients.h */

struct tw_config {
    const char *db_path;                     /* default "./tlsweep.db" */
    const char *label;                       /* may be NULL */
    const char *ca_file;                     /* NULL = system trust store */
    const char *resolvers[TW_RESOLVERS_MAX]; /* "IP" or "IP:PORT" / "[v6]:port" */
    size_t n_resolvers;
    uint16_t ports[TW_PORTS_MAX];
    size_t n_ports;
    int concurrency;        /* in-flight connections, all workers (-c) */
    int threads;            /* worker threads (-j) */
    double rate;            /* new connections per second, fractions allowed; 0 = unlimited */
    int per_ip;             /* concurrent connections to one address */
    double connect_timeout; /* seconds */
    double handshake_timeout;
    double dns_timeout;
    double probe_timeout; /* grading connections' handshake timeout; 0 = auto */
    int dns_tries;
    int quick;                 /* one handshake per endpoint, no grade */
    uint32_t shard_k, shard_n; /* 0/0 = no sharding */
    int resume;                /* --resume given */
    int64_t resume_id;         /* 0 = the latest resumable scan */
    int has_now;               /* --now given */
    int64_t now;               /* judge validity as of this time */
    int progress;              /* -1 auto (terminal), 0 off, 1 on */
    int allow_large_ranges;
    int dry_run;              /* print the endpoint plan, connect nothing */
    int starttls_auto;        /* --starttls auto: well-known ports without a scheme
                                 speak STARTTLS (tw_starttls_for_port) */
    int clients;              /* the client policy the class is judged for (enum
                                 tw_client_policy, tls/clients.h; 0 = modern) */
    int check_names;          /* --check-names: an IP/CIDR target without SNI is
                                 hostname_mismatch when its certificate does not cover
                                 the address (else issue name_unchecked) */
    int no_aia;               /* --no-aia: never fetch a missing intermediate named
                                 in AIA caIssuers (scanner/aia.h) */
    int no_revocation;        /* --no-revocation: never ask the OCSP responder AIA
                                 names when nothing is stapled */
    int simulate_real;        /* --simulate real: on each graded endpoint, one raw
                                 connection per reference client with its own
                                 ClientHello (scanner/simreal.h); 0: simulation only */
    const char *const *files; /* target files; "-" = stdin */
    size_t n_files;
    unsigned given; /* TW_CFG_BIT(enum tw_cfg_opt) of each option the command line gave */
    /* The reference clients simulated on each graded endpoint (issue 13):
     * NULL = the built-in table (tls/refclients.h); else n_sim_clients
     * borrowed rows (built-in or loaded from a file), living as long as the
     * scan. */
    const struct tw_refclient *const *sim_clients;
    size_t n_sim_clients;
    /* The resolved --clients value (tls/clients.h), borrowed; NULL: judged
     * by clients alone (modern or any), the spec is its name. */
    const struct tw_clients_set *client_set;
};

/* Defaults for every field (db ./tlsweep.db, port 443, -c 1000, -j cores, ...). */
void tw_config_defaults(struct tw_config *cfg);

/* The largest --rate, and the smallest above 0 (one connection in 1000 s). */
#define TW_CFG_RATE_MAX 10000000.0
#define TW_CFG_RATE_MIN 0.001
/* Parse a --rate value: a number of new connections per second, 0 (no
 * limit) or TW_CFG_RATE_MIN..TW_CFG_RATE_MAX, fractions allowed ("0.5"),
 * with an optional "/s" after it ("0.5/s").  Returns 0, or -1 (out
 * untouched). */
int tw_config_parse_rate(const char *s, double *out);

#endif /* TW_SCANNER_CONFIG_H */
