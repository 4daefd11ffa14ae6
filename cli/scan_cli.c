/*
 * scan_cli.c - `tlsweep scan` option parsing (DESIGN §2, stable) into a
 * struct tw_config, then tw_scan_run().
 *
 * Only main-thread startup code lives here, so it may print usage and
 * return 2 on bad input (STYLE G13); nothing here touches the network.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "scanner/config.h"
#include "scanner/scan.h"
#include "lab/instance.h"
#include "lab/labenv.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/model.h"
#include "tls/clients.h"

#define SCAN_SECONDS_MAX 86400.0 /* the longest timeout an option accepts */

_Static_assert(TW_SCAN_EXIT_INTERRUPTED == TW_EXIT_INTERRUPTED,
               "tw_scan_run's interrupted exit code is the CLI's");

enum {
    OPT_DB = 256,
    OPT_LABEL,
    OPT_CA_FILE,
    OPT_RESOLVER,
    OPT_PORTS,
    OPT_RATE,
    OPT_PER_IP,
    OPT_CONNECT_TIMEOUT,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_DNS_TIMEOUT,
    OPT_DNS_TRIES,
    OPT_PROBE_TIMEOUT,
    OPT_QUICK,
    OPT_SHARD,
    OPT_RESUME,
    OPT_NOW,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_ALLOW_LARGE,
    OPT_DRY_RUN,
    OPT_LAB,
    OPT_STARTTLS,
    OPT_CLIENTS,
    OPT_CHECK_NAMES,
    OPT_NO_AIA,
    OPT_NO_REVOCATION,
    OPT_SIMULATE,
    OPT_HOSTILE,
};

static const struct option scan_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"label", required_argument, NULL, OPT_LABEL},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"resolver", required_argument, NULL, OPT_RESOLVER},
    {"ports", required_argument, NULL, OPT_PORTS},
    {"concurrency", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 'j'},
    {"rate", required_argument, NULL, OPT_RATE},
    {"per-ip", required_argument, NULL, OPT_PER_IP},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
    {"dns-tries", required_argument, NULL, OPT_DNS_TRIES},
    {"probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"resume", optional_argument, NULL, OPT_RESUME},
    {"now", required_argument, NULL, OPT_NOW},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"allow-large-ranges", no_argument, NULL, OPT_ALLOW_LARGE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"lab", optional_argument, NULL, OPT_LAB},
    {"starttls", required_argument, NULL, OPT_STARTTLS},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"simulate", required_argument, NULL, OPT_SIMULATE},
    {"check-names", no_argument, NULL, OPT_CHECK_NAMES},
    {"no-aia", no_argument, NULL, OPT_NO_AIA},
    {"no-revocation", no_argument, NULL, OPT_NO_REVOCATION},
    {"hostile", no_argument, NULL, OPT_HOSTILE},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
scan_usage(FILE *f)
{
    fprintf(
        f,
        "usage: tlsweep scan [OPTIONS] [FILE|-]...\n"
        "\n"
        "Scan every TLS endpoint listed in FILEs (or on stdin), classify each\n"
        "failure by its root cause, and store one row per endpoint in SQLite.\n"
        "\n"
        "Output:\n"
        "  --db PATH               database to write (default ./tlsweep.db)\n"
        "  --label TEXT            label stored with the scan (e.g. 'nightly', 'pre-change')\n"
        "  --progress/--no-progress  progress line on stderr (default: when a terminal)\n"
        "  -v, --verbose / -q, --quiet  more or less logging\n"
        "\n"
        "Targets:\n"
        "  --ports LIST            ports for targets without one: 443,8443,8000-8010 (default "
        "443)\n"
        "  --allow-large-ranges    accept CIDRs larger than /16 (IPv4) or /112 (IPv6)\n"
        "  --shard K/N             scan only shard K of N (stable hash of host, port, SNI)\n"
        "  --dry-run               print the endpoints that would be scanned; connect nothing\n"
        "  --starttls auto         targets without a scheme on a well-known STARTTLS port\n"
        "                          (25, 587 smtp; 143 imap; 110 pop3; 21 ftp; 5222 xmpp;\n"
        "                          389 ldap; 5432 postgres) speak STARTTLS first\n"
        "  --lab[=DIR]             scan the local lab estate started by 'tlsweep lab up'\n"
        "                          (its targets, resolver and CA; default DIR " TW_LAB_DEFAULT_DIR
        ")\n"
        "  --hostile               with --lab: also its hostile-* servers (huge chains,\n"
        "                          endless records, hostile certificate text)\n"
        "\n"
        "Trust and time:\n"
        "  --ca-file PATH          trust store, a PEM bundle (default: the system store)\n"
        "  --check-names           IP and CIDR targets without SNI: a certificate that\n"
        "                          does not cover the address is hostname_mismatch\n"
        "                          (grade M); default: issue name_unchecked, the class\n"
        "                          and grade as if it did (discovery sweeps)\n"
        "  --no-aia                never fetch a missing intermediate from the leaf's\n"
        "                          AIA caIssuers URL (default: fetch it over http, 5 s\n"
        "                          and 64 KiB at most; a chain it completes grades B)\n"
        "  --no-revocation         never ask the leaf's AIA OCSP responder nor fetch its\n"
        "                          CRL when no response is stapled (default: ask, same\n"
        "                          bounds, a CRL up to 1 MiB; revoked is cert_revoked, T)\n"
        "  --now TIME              judge certificate validity as of TIME\n"
        "                          (2027-01-31, 2027-01-31T12:00:00Z or @UNIXSECONDS)\n"
        "\n"
        "Network:\n"
        "  --resolver IP[:PORT]    DNS server, repeatable (default: /etc/resolv.conf)\n"
        "  -c, --concurrency N     connections in flight, all threads (default 1000)\n"
        "  -j, --threads N         worker threads (default: number of cores)\n"
        "  --rate N[/s]            new connections per second, 0 = unlimited (default 0);\n"
        "                          fractions pace slow targets: 0.5 = one every 2 s\n"
        "  --per-ip N              connections in flight to one address (default 4)\n"
        "  --connect-timeout S     TCP connect timeout in seconds (default 5)\n"
        "  --handshake-timeout S   TLS handshake timeout in seconds (default 10)\n"
        "  --dns-timeout S         DNS timeout per try in seconds (default 5)\n"
        "  --dns-tries N           DNS tries (default 2)\n"
        "  --probe-timeout S       timeout of each grading connection (default: the\n"
        "                          handshake timeout, at most 3)\n"
        "  --quick                 one handshake per endpoint, no grade\n"
        "  --clients POLICY        judge the class for these clients (the grade is not\n"
        "                          affected): modern (default) = current browsers and\n"
        "                          OpenSSL 3: a server with nothing above TLS 1.1 is\n"
        "                          protocol_mismatch, one that shares no suite with them\n"
        "                          no_shared_cipher; any = ok whenever tlsweep's own broad\n"
        "                          client (TLS 1.0-1.3, every suite) connects; all (every\n"
        "                          reference client), browsers, mobile, java, libraries,\n"
        "                          legacy, or a FILE (client names, or a client\n"
        "                          definition): fails when one of them cannot negotiate\n"
        "  --simulate MODE         reference clients on graded endpoints: enum (default)\n"
        "                          = simulated from the grading enumeration, no\n"
        "                          connection; real = also send each client's own\n"
        "                          ClientHello (one connection per client per endpoint,\n"
        "                          --probe-timeout) and store the real outcome\n"
        "\n"
        "Interruption:\n"
        "  --resume[=SCAN_ID]      continue an interrupted (or killed) scan (default: the\n"
        "                          latest), skipping endpoints already stored.  The scan\n"
        "                          keeps the options it was started with (stored in the\n"
        "                          database): targets, ports, resolvers, CA file, --now,\n"
        "                          --shard, --starttls, --quick, --clients, --simulate,\n"
        "                          --check-names, timeouts, label.  Leave them out;\n"
        "                          giving one with another value is refused.\n"
        "                          Pacing may change: -c, -j, --rate, --per-ip, --progress.\n"
        "                          A scan whose targets came from stdin needs the same\n"
        "                          list piped in again.  A scan that another live process\n"
        "                          is running is refused.\n"
        "\n"
        "Target lines (one per line, '#' starts a comment):\n"
        "  host  host:port  192.0.2.1  192.0.2.1:8443  [2001:db8::1]:443  2001:db8::1\n"
        "  192.0.2.0/24  192.0.2.0/24:8443  [2001:db8::/120]:443\n"
        "  An optional second field sets the SNI to send ('-' = none):\n"
        "  192.0.2.10:443 www.example.com      www.example.com -\n"
        "  A scheme asks for STARTTLS: smtp:// submission:// imap:// pop3:// ftp://\n"
        "  xmpp:// ldap:// postgres:// (their usual port when none is given):\n"
        "  smtp://mail.example.com  imap://192.0.2.7:143\n"
        "\n"
        "Examples:\n"
        "  tlsweep scan hosts.txt\n"
        "  tlsweep scan --label nightly --ports 443,8443 -c 5000 hosts.txt more.txt\n"
        "  grep -v '^#' hosts.txt | tlsweep scan --db /var/lib/tlsweep/estate.db -\n"
        "  tlsweep lab up --daemon && tlsweep scan --lab && tlsweep report\n"
        "\n"
        "Exit codes: 0 done (also when endpoints failed: failures are data),\n"
        "            2 usage or input error (also: no valid target in the list, which\n"
        "              records no scan; --resume contradicting the stored options),\n"
        "            3 runtime failure (database, resources; --resume of a scan that\n"
        "              another process is running),\n"
        "            4 interrupted (SIGINT, SIGTERM, SIGHUP): the scan is stored as\n"
        "              'interrupted'; resume it with the command printed.\n");
}

/* A whole number for opt in [lo, hi], or a message and -1. */
static int
scan_parse_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (tw_cli_parse_int64(s, lo, hi, out) < 0) {
        fprintf(stderr,
                "tlsweep scan: %s: '%s' is not a whole number from %" PRId64 " to %" PRId64 "\n",
                opt, s, lo, hi);
        return -1;
    }
    return 0;
}

/* Seconds for opt in (0, SCAN_SECONDS_MAX], or a message and -1. */
static int
scan_parse_seconds(const char *opt, const char *s, double *out)
{
    if (tw_cli_parse_seconds(s, SCAN_SECONDS_MAX, out) < 0) {
        fprintf(stderr, "tlsweep scan: %s: '%s' is not a number of seconds (0 < S <= %.0f)\n", opt,
                s, SCAN_SECONDS_MAX);
        return -1;
    }
    return 0;
}

static int
scan_parse_shard(const char *s, uint32_t *k, uint32_t *n)
{
    char *end = NULL;
    unsigned long kk, nn;

    errno = 0;
    kk = strtoul(s, &end, 10);
    if (errno || end == s || *end != '/' || !isdigit((unsigned char)s[0]))
        goto bad;
    s = end + 1;
    nn = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || !isdigit((unsigned char)s[0]))
        goto bad;
    if (nn < 1 || nn > 65536 || kk < 1 || kk > nn)
        goto bad;
    *k = (uint32_t)kk;
    *n = (uint32_t)nn;
    return 0;
bad:
    fprintf(stderr, "tlsweep scan: --shard: expected K/N with 1 <= K <= N <= 65536\n");
    return -1;
}

static int
scan_all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* What `tlsweep lab up` wrote in DIR/lab.env (lab/labenv.h). */
struct lab_env {
    char resolver[256];
    char ca[PATH_MAX];
    char targets[PATH_MAX];
    char hostile[PATH_MAX]; /* DIR/hostile.txt, for --lab --hostile */
};

int
tw_scan_main(int argc, char **argv)
{
    static struct lab_env lab;                /* outlives cfg's borrowed pointers */
    static struct tw_clients_set clients_set; /* cfg.client_set */
    struct tw_config cfg;
    const char *lab_dir = NULL;
    int lab_hostile = 0;
    const char **files = NULL;
    char err[TW_ERRLEN] = "";
    int verbosity = 0;
    int opt;
    int64_t v;
    int rc = TW_EXIT_USAGE;

    tw_config_defaults(&cfg);
    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:j:vqh", scan_options, NULL)) != -1) {
        switch (opt) {
        case OPT_DB:
            cfg.db_path = optarg;
            break;
        case OPT_LABEL:
            cfg.label = optarg;
            cfg.given |= TW_CFG_BIT(TW_CFG_LABEL);
            break;
        case OPT_CA_FILE:
            if (access(optarg, R_OK) != 0) {
                fprintf(stderr, "tlsweep scan: --ca-file %s: %s\n", optarg, strerror(errno));
                goto out;
            }
            cfg.ca_file = optarg;
            cfg.given |= TW_CFG_BIT(TW_CFG_CA_FILE);
            break;
        case OPT_RESOLVER:
            if (cfg.n_resolvers >= TW_RESOLVERS_MAX) {
                fprintf(stderr, "tlsweep scan: at most %d --resolver options\n", TW_RESOLVERS_MAX);
                goto out;
            }
            cfg.resolvers[cfg.n_resolvers++] = optarg;
            cfg.given |= TW_CFG_BIT(TW_CFG_RESOLVER);
            break;
        case OPT_PORTS: {
            int n = tw_ports_parse(optarg, cfg.ports, TW_PORTS_MAX, err);
            if (n <= 0) {
                fprintf(stderr, "tlsweep scan: --ports: %s\n", err[0] ? err : "no ports");
                goto out;
            }
            cfg.n_ports = (size_t)n;
            cfg.given |= TW_CFG_BIT(TW_CFG_PORTS);
            break;
        }
        case 'c':
            if (scan_parse_int64("--concurrency", optarg, 1, 1000000, &v) < 0)
                goto out;
            cfg.concurrency = (int)v;
            cfg.given |= TW_CFG_BIT(TW_CFG_CONCURRENCY);
            break;
        case 'j':
            if (scan_parse_int64("--threads", optarg, 1, 256, &v) < 0)
                goto out;
            cfg.threads = (int)v;
            cfg.given |= TW_CFG_BIT(TW_CFG_THREADS);
            break;
        case OPT_RATE:
            if (tw_config_parse_rate(optarg, &cfg.rate) < 0) {
                fprintf(stderr,
                        "tlsweep scan: --rate: '%s' is not a rate: new connections per second,"
                        " 0 (no limit) or 0.001 to 10000000, fractions allowed (0.5 or 0.5/s)\n",
                        optarg);
                goto out;
            }
            cfg.given |= TW_CFG_BIT(TW_CFG_RATE);
            break;
        case OPT_PER_IP:
            if (scan_parse_int64("--per-ip", optarg, 1, 100000, &v) < 0)
                goto out;
            cfg.per_ip = (int)v;
            cfg.given |= TW_CFG_BIT(TW_CFG_PER_IP);
            break;
        case OPT_CONNECT_TIMEOUT:
            if (scan_parse_seconds("--connect-timeout", optarg, &cfg.connect_timeout) < 0)
                goto out;
            cfg.given |= TW_CFG_BIT(TW_CFG_CONNECT_TIMEOUT);
            break;
        case OPT_HANDSHAKE_TIMEOUT:
            if (scan_parse_seconds("--handshake-timeout", optarg, &cfg.handshake_timeout) < 0)
                goto out;
            cfg.given |= TW_CFG_BIT(TW_CFG_HANDSHAKE_TIMEOUT);
            break;
        case OPT_DNS_TIMEOUT:
            if (scan_parse_seconds("--dns-timeout", optarg, &cfg.dns_timeout) < 0)
                goto out;
            cfg.given |= TW_CFG_BIT(TW_CFG_DNS_TIMEOUT);
            break;
        case OPT_PROBE_TIMEOUT:
            if (scan_parse_seconds("--probe-timeout", optarg, &cfg.probe_timeout) < 0)
                goto out;
            cfg.given |= TW_CFG_BIT(TW_CFG_PROBE_TIMEOUT);
            break;
        case OPT_DNS_TRIES:
            if (scan_parse_int64("--dns-tries", optarg, 1, 10, &v) < 0)
                goto out;
            cfg.dns_tries = (int)v;
            cfg.given |= TW_CFG_BIT(TW_CFG_DNS_TRIES);
            break;
        case OPT_SIMULATE:
            /* enum: the simulation alone (the default, no connection);
             * real: each client's own hello too (scanner/simreal.h). */
            if (strcmp(optarg, "real") != 0 && strcmp(optarg, "enum") != 0) {
                fprintf(stderr, "tlsweep scan: --simulate: expected enum or real\n");
                goto out;
            }
            cfg.simulate_real = strcmp(optarg, "real") == 0;
            if (cfg.simulate_real)
                cfg.given |= TW_CFG_BIT(TW_CFG_SIMULATE);
            break;
        case OPT_CHECK_NAMES:
            cfg.check_names = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_CHECK_NAMES);
            break;
        case OPT_NO_AIA:
            cfg.no_aia = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_NO_AIA);
            break;
        case OPT_NO_REVOCATION:
            cfg.no_revocation = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_NO_REVOCATION);
            break;
        case OPT_QUICK:
            cfg.quick = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_QUICK);
            break;
        case OPT_SHARD:
            if (scan_parse_shard(optarg, &cfg.shard_k, &cfg.shard_n) < 0)
                goto out;
            cfg.given |= TW_CFG_BIT(TW_CFG_SHARD);
            break;
        case OPT_RESUME:
            cfg.resume = 1;
            if (optarg == NULL && optind < argc && scan_all_digits(argv[optind]))
                optarg = argv[optind++];
            if (optarg != NULL) {
                if (scan_parse_int64("--resume", optarg, 1, INT64_MAX, &v) < 0)
                    goto out;
                cfg.resume_id = v;
            }
            break;
        case OPT_NOW:
            if (tw_time_parse(optarg, &cfg.now) < 0) {
                fprintf(stderr,
                        "tlsweep scan: --now: '%s' is not a time (use 2027-01-31, "
                        "2027-01-31T12:00:00Z or @UNIXSECONDS)\n",
                        optarg);
                goto out;
            }
            cfg.has_now = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_NOW);
            break;
        case OPT_PROGRESS:
            cfg.progress = 1;
            break;
        case OPT_NO_PROGRESS:
            cfg.progress = 0;
            break;
        case OPT_ALLOW_LARGE:
            cfg.allow_large_ranges = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_ALLOW_LARGE);
            break;
        case OPT_DRY_RUN:
            cfg.dry_run = 1;
            break;
        case OPT_STARTTLS:
            if (strcmp(optarg, "auto") != 0) {
                fprintf(stderr,
                        "tlsweep scan: --starttls: '%s' is not 'auto' (name the protocol "
                        "of one target with a scheme: smtp://host)\n",
                        optarg);
                goto out;
            }
            cfg.starttls_auto = 1;
            cfg.given |= TW_CFG_BIT(TW_CFG_STARTTLS);
            break;
        case OPT_LAB:
            lab_dir = optarg ? optarg : TW_LAB_DEFAULT_DIR;
            break;
        case OPT_HOSTILE:
            lab_hostile = 1;
            break;
        case OPT_CLIENTS:
            if (tw_clients_resolve(optarg, &clients_set, err, sizeof(err)) < 0) {
                fprintf(stderr, "tlsweep scan: --clients: %s\n", err);
                goto out;
            }
            cfg.clients = clients_set.policy;
            cfg.client_set = &clients_set;
            cfg.given |= TW_CFG_BIT(TW_CFG_CLIENTS);
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity--;
            break;
        case 'h':
            scan_usage(stdout);
            rc = TW_EXIT_OK;
            goto out;
        default:
            fprintf(stderr, "Try 'tlsweep scan --help'.\n");
            goto out;
        }
    }
    tw_log_set_level(TW_LOG_INFO + verbosity);

    if (lab_dir != NULL) {
        if (tw_lab_read_env(lab_dir, lab.resolver, sizeof(lab.resolver), lab.ca, sizeof(lab.ca),
                            lab.targets, sizeof(lab.targets), err) < 0) {
            fprintf(stderr, "tlsweep scan: --lab: %s\n", err);
            goto out;
        }
        /* The lab's resolver and CA count as given: a resumed --lab scan
         * must have been a scan of this lab.  Its target file and label are
         * only defaults, which a resumed scan takes from what it stored. */
        if (cfg.n_resolvers == 0 && lab.resolver[0]) {
            cfg.resolvers[cfg.n_resolvers++] = lab.resolver;
            cfg.given |= TW_CFG_BIT(TW_CFG_RESOLVER);
        }
        if (cfg.ca_file == NULL && lab.ca[0]) {
            cfg.ca_file = lab.ca;
            cfg.given |= TW_CFG_BIT(TW_CFG_CA_FILE);
        }
        if (optind == argc && !cfg.resume) {
            files = tw_xcalloc(2, sizeof(*files));
            files[0] = lab.targets;
            cfg.files = files;
            cfg.n_files = 1;
            if (lab_hostile) {
                /* The hostile group: its own target file beside the estate's. */
                if (tw_lab_instance_path(lab.hostile, sizeof(lab.hostile), lab_dir, "hostile.txt") <
                        0 ||
                    access(lab.hostile, R_OK) != 0) {
                    fprintf(stderr,
                            "tlsweep scan: --hostile: %s/hostile.txt: not readable; run "
                            "'tlsweep lab up' first\n",
                            lab_dir);
                    goto out;
                }
                files[1] = lab.hostile;
                cfg.n_files = 2;
            }
            cfg.given |= TW_CFG_BIT(TW_CFG_FILE);
        }
        if (cfg.label == NULL && !cfg.resume)
            cfg.label = "lab";
    }
    if (lab_hostile && (lab_dir == NULL || optind != argc || cfg.resume)) {
        fprintf(stderr, "tlsweep scan: --hostile goes with --lab and no target FILEs (it adds the "
                        "lab's hostile-* servers)\n");
        goto out;
    }
    if (cfg.files == NULL) {
        /* A resumed scan without FILEs reads the ones it stored. */
        if (optind == argc && !cfg.resume && isatty(STDIN_FILENO)) {
            fprintf(stderr, "tlsweep scan: no targets: give target FILEs, '-' for stdin, or pipe "
                            "them in\n"
                            "  (no hosts of your own yet? 'tlsweep lab up --daemon' then "
                            "'tlsweep scan --lab')\n"
                            "Try 'tlsweep scan --help'.\n");
            goto out;
        }
        cfg.files = (const char *const *)(argv + optind);
        cfg.n_files = (size_t)(argc - optind);
        if (cfg.n_files > 0)
            cfg.given |= TW_CFG_BIT(TW_CFG_FILE);
    }
    rc = tw_scan_run(&cfg, err);
    if (rc != 0 && err[0])
        fprintf(stderr, "tlsweep scan: %s\n", err);
out:
    free(files);
    return rc;
}
