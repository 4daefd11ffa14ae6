/*
 * targets.h - the target-list reader: files (or stdin) -> endpoints.
 *
 * Streaming: one line is read at a time (lines are capped at TW_LINE_MAX;
 * a longer line is rejected and skipped without being held in memory, up to
 * TW_LINE_HARD_MAX, see below), and
 * CIDR ranges are expanded lazily, one address per tw_targets_next() call.
 * A 10-million-line file is read with flat memory.
 *
 * Bad lines are reported as "FILE:LINE: reason" on the error stream given in
 * the options (stderr by default) and skipped; reading goes on.  A line is
 * bad when it is not a target, longer than TW_LINE_MAX, or holds a byte that
 * is not printable ASCII (a control byte other than TAB, or a trailing CR;
 * DEL; any byte >= 0x80: IDNs must be given as punycode).  Two rules keep a
 * file that is not a target list (a binary, /dev/zero) from being scanned:
 *   - a line of more than TW_LINE_HARD_MAX bytes without a newline is
 *     reported as "not a target list" and ends the reading of its file at
 *     once (nothing more is read from it, so /dev/zero fails fast);
 *   - the targets of a file's first TW_TARGETS_PROBE_LINES lines are held
 *     back (at most that many parsed specs, about 0.6 MB) until those lines
 *     are read or the file ends; when more than TW_TARGETS_PROBE_BAD_MAX of
 *     them are bad, the file is refused as a whole ("FILE: not a target list
 *     (N of the first M lines are not targets)") and none of its targets is
 *     returned.  So the first target of a file given on a slow pipe comes
 *     out only after its first 1,000 lines or its end.
 * Both count as bad lines in the stats (the over-long line once), and a
 * refused file in refused_files.  Duplicate
 * endpoints (same host, port and SNI) are returned once; the set used to
 * detect them is capped at dedup_max entries (8 bytes each), beyond which
 * duplicates are left to the store's unique index.
 *
 * Forms (DESIGN §2), one per line, '#' starts a comment:
 *   host | host:port | IPv4 | IPv4:port | IPv6 | [IPv6] | [IPv6]:port |
 *   CIDR | CIDR:port | [IPv6CIDR]:port
 * each optionally after a scheme prefix SCHEME:// (issue 9):
 *   smtp:// (25)  submission:// (587)  imap:// (143)  pop3:// (110)
 *   ftp:// (21)   xmpp:// (5222)  ldap:// (389)  postgres:// (5432)
 *   https:// (443, direct TLS, accepted for symmetry)
 * (case-insensitive; no user, path or query: "smtp://host/x" is rejected),
 * optionally followed by whitespace and an SNI field ('-' = send no SNI).
 * Without a port, a scheme's well-known port is used, else each port of
 * opts->ports.  Without an SNI field, a name target sends its own name as
 * SNI and an address target sends none.  A scheme other than https sets
 * starttls (enum tw_starttls_proto, store/model.h) in the spec and in every
 * endpoint expanded from it.
 *
 * Called on one thread (the reader); the pure line parser may be called
 * from anywhere.
 */
#ifndef TW_SCANNER_TARGETS_H
#define TW_SCANNER_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/model.h"

#define TW_LINE_MAX 4096
#define TW_LINE_HARD_MAX 65536      /* a longer line ends the reading of its file */
#define TW_TARGETS_PROBE_LINES 1000 /* the lines of a file judged before it is used */
#define TW_TARGETS_PROBE_BAD_MAX 20 /* more bad lines among them refuse the file */
#define TW_PORTS_MAX 64

/* One endpoint request, before DNS. */
struct tw_target {
    char host[TW_HOST_MAX + 1]; /* DNS name (lowercased) or canonical address text */
    int family;                 /* 0 for a name; AF_INET / AF_INET6 for an address */
    uint8_t addr[16];           /* the address when family != 0 (network order) */
    uint16_t port;
    int has_sni; /* 0: send no SNI */
    char sni[TW_HOST_MAX + 1];
    const char *file; /* borrowed: valid while the reader lives */
    unsigned long line;
    int starttls; /* enum tw_starttls_proto from the scheme; 0 = direct TLS */
};

struct tw_targets_opts {
    const uint16_t *ports; /* ports for targets without one; NULL/0 = {443} */
    size_t n_ports;
    int allow_large_ranges; /* accept IPv4 ranges larger than /16, IPv6 larger than /112 */
    FILE *errf;             /* where bad lines are reported; NULL = stderr */
    size_t dedup_max;       /* 0 = default (4,194,304 endpoints) */
    uint32_t shard_k;       /* 1..shard_n; 0/0 = no sharding */
    uint32_t shard_n;
};

/* Result of parsing one line (pure, no I/O). */
struct tw_target_spec {
    char host[TW_HOST_MAX + 1]; /* name or address text (no brackets, no prefix) */
    int family;                 /* 0 = name */
    uint8_t addr[16];
    int prefix;   /* CIDR prefix length, or -1 when not a range */
    int port;     /* 1..65535, or 0 when not given */
    int sni_mode; /* 0 = default, 1 = none ('-'), 2 = explicit */
    char sni[TW_HOST_MAX + 1];
    int starttls; /* enum tw_starttls_proto from the scheme; 0 = none/https */
};

/* Parse one line (without its newline; a trailing '\r' is accepted).
 * Returns 1 with *out filled, 0 for a blank/comment line, -1 with a reason in
 * reason[reasonlen] for a bad line. */
int tw_target_parse_line(const char *line, size_t len, int allow_large_ranges,
                         struct tw_target_spec *out, char *reason, size_t reasonlen);

struct tw_targets;

/* Open a reader over paths ("-" is stdin).  n_paths == 0 reads stdin.
 * Returns 0, or -1 with err (a path that cannot be opened is an error before
 * anything is read, so that a typo does not start an empty scan). */
int tw_targets_open(const char *const *paths, size_t n_paths, const struct tw_targets_opts *opts,
                    struct tw_targets **out, char *err);
/* Next endpoint: 1 and *out filled, 0 at the end, -1 on a read error (err). */
int tw_targets_next(struct tw_targets *t, struct tw_target *out, char *err);
void tw_targets_free(struct tw_targets *t);

struct tw_targets_stats {
    uint64_t lines;         /* lines read */
    uint64_t targets;       /* valid target lines used (0: the list held no target) */
    uint64_t bad;           /* lines rejected */
    uint64_t duplicates;    /* endpoints skipped as duplicates */
    uint64_t endpoints;     /* endpoints returned */
    uint64_t sharded_out;   /* endpoints that belong to other shards */
    uint64_t refused_files; /* files given up as "not a target list" */
};
void tw_targets_get_stats(const struct tw_targets *t, struct tw_targets_stats *out);

#define TW_TARGETS_FP_BYTES 32                      /* a SHA-256 */
#define TW_TARGETS_FP_HEX (2 * TW_TARGETS_FP_BYTES) /* 64 hex digits */

/* Order-independent fingerprint of every distinct endpoint returned so far
 * (before sharding, so that every shard of a list gives the list's), as
 * TW_TARGETS_FP_HEX lowercase hex digits + NUL: a SHA-256 over the count of
 * the endpoints and the sum (mod 2^256) of each one's SHA-256.  Equal sets
 * give equal fingerprints, whatever their order and duplicates. */
void tw_targets_fingerprint(const struct tw_targets *t, char out[TW_TARGETS_FP_HEX + 1]);

/* The stable 64-bit hash of a direct-TLS endpoint (tw_target_hash_ex with
 * starttls 0). */
uint64_t tw_target_hash(const char *host, uint16_t port, int has_sni, const char *sni);
/* The stable 64-bit hash of an endpoint used for sharding and dedup.  A
 * non-zero starttls adds its name (tw_starttls_name) to the hashed bytes, so
 * "smtp://h:25" and "h:25" are two endpoints while direct-TLS hashes stay
 * what they were before schemes existed. */
uint64_t tw_target_hash_ex(const char *host, uint16_t port, int has_sni, const char *sni,
                           int starttls);

/* Parse "443,8443,8000-8010" into ports[TW_PORTS_MAX].  Returns the count, or
 * -1 with a reason in err. */
int tw_ports_parse(const char *s, uint16_t *ports, size_t max, char *err);

#endif /* TW_SCANNER_TARGETS_H */
