/*
 * targets.c - the target-list reader: a strict line parser, a streaming
 * file reader, lazy CIDR expansion, dedup, sharding and a set fingerprint.
 *
 * Big picture.  tw_target_parse_line() turns one line into a spec (pure, no
 * I/O, no globals).  The reader pulls bytes from the files in 64 KiB blocks
 * and copies each line into a fixed buffer of TW_LINE_MAX (+1 for a CRLF's
 * '\r'); a longer line is reported and the rest of it is skipped without
 * being kept, up to TW_LINE_HARD_MAX bytes: past that the file is given up
without reading any more of it.  While a file's first TW_TARGETS_PROBE_LINES
lines are read ("probation"), its good specs are queued instead of being
used, and bad lines are counted; too many bad lines refuse the file and
drop the queue, otherwise the queue is used once probation ends (at that
line or at the end of the file).  A spec is then expanded one endpoint per tw_targets_next()
 * call: address by address (CIDR) and, inside each address, port by port.
 *
 * Endpoint hash (stable across runs and machines, used for dedup and
 * sharding): FNV-1a 64 over the canonical byte string
 *     host '\0' port_hi port_lo has_sni [sni] '\0'
 * where host is the lowercased name or the inet_ntop() text of the address
 * and sni is present only when has_sni is 1, followed, for a STARTTLS
 * endpoint only, by the protocol's name and a '\0' (so every direct-TLS
 * hash is unchanged by the scheme prefixes of issue 9); the FNV result is passed
 * through the MurmurHash3 fmix64 finaliser so that "hash % N" is balanced
 * even for consecutive addresses.  The fingerprint uses a second hash of the
 * same bytes (FNV-1a from a different offset basis, SplitMix64 finaliser)
 * and keeps its sum, its xor and the count of distinct endpoints, so it does
 * not depend on the order the endpoints came in.
 *
 * Dedup is an open-addressing (linear probing) set of 64-bit hashes, grown
 * by half (x1.5) and kept at most 3/4 full, capped at dedup_max entries:
 * 8 B per slot, so 10.7-16 B per endpoint (doubling gave 10.7-21.3 B; at
 * 1,000,000 endpoints 12.1 MB instead of 16.8 MB, and the growth before it
 * holds 8 + 12 MB at once instead of 8 + 16; issue 18.5).  Past
 * the cap, new endpoints are returned without being remembered, so later
 * copies of them are not caught (the store's unique index catches those),
 * and the fingerprint then counts such copies again.  Two distinct
 * endpoints with equal 64-bit hashes would be merged: with the default 4M
 * entries the odds that any pair collides are about 1 in 2 million.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "scanner/targets.h"
#include "base/log.h"
#include "base/xalloc.h"

#define TARGETS_RBUF (64 * 1024)
#define TARGETS_DEDUP_DEFAULT ((size_t)4194304)
#define TARGETS_DEDUP_LIMIT ((size_t)1 << 36) /* keeps the table size from overflowing */
#define TARGETS_SET_MIN 1024
#define TARGETS_SHOW 60 /* bytes of a bad token quoted in a reason */

/* A spec read during a file's probation, waiting for the verdict. */
struct targets_pending {
    struct tw_target_spec spec;
    const char *file;
    unsigned long line;
};

struct targets_src {
    FILE *f;
    char *name;   /* as reported: the path, or "<stdin>" */
    int is_stdin; /* not closed by us */
};

struct tw_targets {
    struct targets_src *srcs;
    size_t n_srcs;
    size_t cur_src;
    int src_eof;           /* the current source hit EOF after a final partial line */
    unsigned long lineno;  /* line number in the current source */
    int probing;           /* the current source is still on probation */
    unsigned long src_bad; /* bad lines in the current source so far */

    /* Specs held back during probation; q_pos is the next one to use. */
    struct targets_pending *queue;
    size_t q_n;
    size_t q_pos;
    size_t q_cap;

    uint16_t ports[TW_PORTS_MAX];
    size_t n_ports;
    int allow_large;
    FILE *errf;
    uint32_t shard_k;
    uint32_t shard_n;

    /* Expansion of the current spec. */
    int have_spec;
    struct tw_target_spec spec;
    const char *spec_file;
    unsigned long spec_line;
    uint8_t cur[16];  /* current address (network order) */
    uint8_t last[16]; /* last address of the range, inclusive */
    size_t port_idx;
    uint16_t spec_ports[TW_PORTS_MAX];
    size_t n_spec_ports;

    /* Dedup set: 0 marks an empty slot (a real hash of 0 is stored as 1). */
    uint64_t *set;
    size_t set_cap;
    size_t set_count;
    size_t set_max_cap;
    size_t dedup_max;

    /* The fingerprint: the count of distinct endpoints and the sum, modulo
     * 2^256, of their SHA-256 digests (an order-independent multiset hash). */
    EVP_MD *md;
    EVP_MD_CTX *mdctx;
    uint8_t fp_acc[TW_TARGETS_FP_BYTES];
    uint64_t fp_count;

    struct tw_targets_stats st;

    size_t rpos;
    size_t rlen;
    char rbuf[TARGETS_RBUF];
    char line[TW_LINE_MAX + 2];
};

/* ---- small helpers ---------------------------------------------------- */

static int
targets_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
targets_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
targets_is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* One white-space separated field of a targets line: *f and *n get the
 * field that starts at p, and the return value is where the next field
 * starts (after the white space that follows), or end. */
static const char *
targets_take_field(const char *p, const char *end, const char **f, size_t *n)
{
    *f = p;
    while (p < end && !targets_is_space((unsigned char)*p))
        p++;
    *n = (size_t)(p - *f);
    while (p < end && targets_is_space((unsigned char)*p))
        p++;
    return p;
}

/* Quote at most TARGETS_SHOW bytes of s (already known to be printable
 * ASCII) into buf, with "..." when cut. */
static const char *
targets_show(const char *s, size_t n, char *buf, size_t buflen)
{
    size_t k = n > TARGETS_SHOW ? TARGETS_SHOW : n;

    if (k >= buflen)
        k = buflen - 1;
    memcpy(buf, s, k);
    buf[k] = '\0';
    if (k < n && buflen >= k + 4)
        memcpy(buf + k, "...", 4);
    return buf;
}

/* Strict decimal port: digits only, 1..65535.  Returns the port or -1. */
static int
targets_port_value(const char *s, size_t n)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!targets_is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            return -1;
    }
    if (v == 0)
        return -1;
    return (int)v;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t
targets_utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len, i;
    unsigned long cp;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* ---- the pure line parser --------------------------------------------- */

/*
 * Validate a DNS name (RFC 1123 labels; '_' tolerated since it occurs in
 * real estates), drop one trailing dot, lowercase it into out[TW_HOST_MAX+1].
 * what is "host name" or "SNI" for the reason.
 */
static int
targets_check_name(const char *s, size_t n, const char *what, char *out, char *reason, size_t rl)
{
    char show[TARGETS_SHOW + 4];
    size_t i, lab_start = 0, lab_len;
    int all_digits = 1, only_digits_dots = 1;

    targets_show(s, n, show, sizeof(show));
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0) {
        snprintf(reason, rl, "empty %s", what);
        return -1;
    }
    if (n > TW_HOST_MAX) {
        snprintf(reason, rl, "%s too long (%zu bytes, max %d): '%s'", what, n, TW_HOST_MAX, show);
        return -1;
    }
    for (i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : '.';

        if (c == '.') {
            lab_len = i - lab_start;
            if (lab_len == 0) {
                snprintf(reason, rl, "empty label in %s '%s'", what, show);
                return -1;
            }
            if (lab_len > 63) {
                snprintf(reason, rl, "label longer than 63 bytes in %s '%s'", what, show);
                return -1;
            }
            if (s[lab_start] == '-' || s[i - 1] == '-') {
                snprintf(reason, rl, "label starts or ends with '-' in %s '%s'", what, show);
                return -1;
            }
            if (i < n) {
                lab_start = i + 1;
                all_digits = 1;
            }
            continue;
        }
        if (targets_is_digit(c))
            continue;
        all_digits = 0;
        only_digits_dots = 0;
        if (targets_is_alpha(c) || c == '-' || c == '_')
            continue;
        snprintf(reason, rl, "bad character '%c' in %s '%s'", c, what, show);
        return -1;
    }
    if (all_digits) {
        if (only_digits_dots)
            snprintf(reason, rl, "bad IPv4 address '%s'", show);
        else
            snprintf(reason, rl, "bad %s '%s': the last label is all digits", what, show);
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[n] = '\0';
    return 0;
}

/* Is s[0..n) an IP literal (v4, v6, or [v6])? */
static int
targets_is_ip_literal(const char *s, size_t n)
{
    char tmp[64];
    uint8_t a[16];

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET, tmp, a) == 1 || inet_pton(AF_INET6, tmp, a) == 1;
}

/* Parse the target field into out (host, family, addr, prefix, port). */
static int
targets_parse_target(const char *s, size_t n, int allow_large, struct tw_target_spec *out,
                     char *reason, size_t rl)
{
    char show[TARGETS_SHOW + 4], tmp[64];
    const char *host = s, *portp = NULL, *pfx = NULL, *pct;
    size_t hlen = n, plen = 0, pfxlen = 0, colons = 0, i;
    int bracket = 0, is_v6 = 0, maxpfx, prefix = -1, only_digits_dots = 1, has_digit = 0;

    targets_show(s, n, show, sizeof(show));
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        const char *rest;
        size_t rn;

        if (close == NULL) {
            snprintf(reason, rl, "missing ']' in '%s'", show);
            return -1;
        }
        bracket = 1;
        is_v6 = 1;
        host = s + 1;
        hlen = (size_t)(close - host);
        rest = close + 1;
        rn = (size_t)(s + n - rest);
        if (rn > 0) {
            if (rest[0] != ':') {
                snprintf(reason, rl, "unexpected text after ']' in '%s'", show);
                return -1;
            }
            portp = rest + 1;
            plen = rn - 1;
        }
    } else {
        const char *colon = NULL;

        for (i = 0; i < n; i++) {
            if (s[i] == ':') {
                colons++;
                if (colon == NULL)
                    colon = s + i;
            }
        }
        if (colons >= 2) {
            is_v6 = 1; /* a bare IPv6 address takes no port: use [v6]:port */
        } else if (colons == 1) {
            hlen = (size_t)(colon - s);
            portp = colon + 1;
            plen = (size_t)(s + n - portp);
        }
    }
    if (portp != NULL) {
        char pshow[TARGETS_SHOW + 4];
        int p = targets_port_value(portp, plen);

        if (p < 0) {
            snprintf(reason, rl, "bad port '%s' (1-65535)",
                     targets_show(portp, plen, pshow, sizeof(pshow)));
            return -1;
        }
        out->port = p;
    }
    pfx = memchr(host, '/', hlen);
    if (pfx != NULL) {
        pfxlen = (size_t)(host + hlen - pfx - 1);
        hlen = (size_t)(pfx - host);
        pfx++;
    }
    if (hlen == 0) {
        snprintf(reason, rl, "missing host in '%s'", show);
        return -1;
    }
    pct = memchr(host, '%', hlen);
    if (pct != NULL) {
        snprintf(reason, rl,
                 "IPv6 zone ids are not supported ('%%' in '%s'): give a global address", show);
        return -1;
    }
    for (i = 0; i < hlen; i++) {
        if (targets_is_digit((unsigned char)host[i]))
            has_digit = 1;
        else if (host[i] != '.')
            only_digits_dots = 0;
    }
    if (is_v6) {
        if (hlen >= sizeof(tmp)) {
            snprintf(reason, rl, "bad IPv6 address '%s'", show);
            return -1;
        }
        memcpy(tmp, host, hlen);
        tmp[hlen] = '\0';
        if (bracket && inet_pton(AF_INET, tmp, out->addr) == 1) {
            snprintf(reason, rl, "brackets are only for IPv6 addresses: '%s'", show);
            return -1;
        }
        if (inet_pton(AF_INET6, tmp, out->addr) != 1) {
            snprintf(reason, rl, "bad IPv6 address '%s'", show);
            return -1;
        }
        out->family = AF_INET6;
        maxpfx = 128;
    } else if (only_digits_dots && has_digit) {
        if (hlen >= sizeof(tmp)) {
            snprintf(reason, rl, "bad IPv4 address '%s'", show);
            return -1;
        }
        memcpy(tmp, host, hlen);
        tmp[hlen] = '\0';
        if (inet_pton(AF_INET, tmp, out->addr) != 1) {
            snprintf(reason, rl, "bad IPv4 address '%s'", show);
            return -1;
        }
        out->family = AF_INET;
        maxpfx = 32;
    } else {
        if (pfx != NULL) {
            snprintf(reason, rl, "a range needs an IP address, not a name: '%s'", show);
            return -1;
        }
        if (targets_check_name(host, hlen, "host name", out->host, reason, rl) < 0)
            return -1;
        out->family = 0;
        out->prefix = -1;
        return 0;
    }
    if (pfx != NULL) {
        int v = 0;

        for (i = 0; i < pfxlen && i < 4; i++) {
            if (!targets_is_digit((unsigned char)pfx[i]))
                break;
            v = v * 10 + (pfx[i] - '0');
        }
        if (pfxlen == 0 || i != pfxlen || v > maxpfx) {
            char pshow[TARGETS_SHOW + 4];

            snprintf(reason, rl, "bad prefix length '%s' (0-%d)",
                     targets_show(pfx, pfxlen, pshow, sizeof(pshow)), maxpfx);
            return -1;
        }
        prefix = v;
        if (!allow_large && out->family == AF_INET && prefix < 16) {
            snprintf(reason, rl,
                     "range '%s' is larger than /16; use --allow-large-ranges to scan it", show);
            return -1;
        }
        if (!allow_large && out->family == AF_INET6 && prefix < 112) {
            snprintf(reason, rl,
                     "range '%s' is larger than /112; use --allow-large-ranges to scan it", show);
            return -1;
        }
        /* Host bits set is fine: normalise to the network. */
        for (i = 0; i < (size_t)maxpfx / 8; i++) {
            int bits = prefix - (int)i * 8;

            if (bits >= 8)
                continue;
            out->addr[i] &= (uint8_t)(bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff);
        }
    }
    out->prefix = prefix;
    if (inet_ntop(out->family, out->addr, out->host, sizeof(out->host)) == NULL) {
        snprintf(reason, rl, "bad address '%s'", show);
        return -1;
    }
    return 0;
}

/* Scheme prefixes (issue 9): name, STARTTLS protocol, port when none given. */
struct targets_scheme {
    const char *name;
    int starttls; /* enum tw_starttls_proto */
    uint16_t port;
};

static const struct targets_scheme targets_schemes[] = {
    {"smtp", TW_STARTTLS_SMTP, 25},   {"submission", TW_STARTTLS_SMTP, 587},
    {"imap", TW_STARTTLS_IMAP, 143},  {"pop3", TW_STARTTLS_POP3, 110},
    {"ftp", TW_STARTTLS_FTP, 21},     {"xmpp", TW_STARTTLS_XMPP, 5222},
    {"ldap", TW_STARTTLS_LDAP, 389},  {"postgres", TW_STARTTLS_POSTGRES, 5432},
    {"https", TW_STARTTLS_NONE, 443},
};

/*
 * Split "SCHEME://REST" (s[0..n) is known to contain "://" at sep).  Returns
 * the scheme entry with *restp and *restn set, or NULL with a reason.  REST must
 * be a bare target: a '/' is a CIDR prefix only when it follows an IP
 * address and is followed by digits and an optional ":port"; anything else
 * is a path, which a target cannot have.
 */
static const struct targets_scheme *
targets_parse_scheme(const char *s, size_t n, const char *sep, const char **restp, size_t *restn,
                     char *reason, size_t rl)
{
    char show[TARGETS_SHOW + 4];
    const struct targets_scheme *sc = NULL;
    size_t sn = (size_t)(sep - s), i, rn;
    const char *rest = sep + 3, *slash;

    targets_show(s, n, show, sizeof(show));
    for (i = 0; i < sizeof(targets_schemes) / sizeof(targets_schemes[0]); i++) {
        if (strlen(targets_schemes[i].name) == sn &&
            strncasecmp(s, targets_schemes[i].name, sn) == 0) {
            sc = &targets_schemes[i];
            break;
        }
    }
    if (sc == NULL) {
        char sshow[TARGETS_SHOW + 4];

        if (sn == 0)
            snprintf(reason, rl, "empty scheme in '%s'", show);
        else
            snprintf(reason, rl,
                     "unknown scheme '%s' (known: smtp, submission, imap, pop3, ftp, xmpp, "
                     "ldap, postgres, https)",
                     targets_show(s, sn, sshow, sizeof(sshow)));
        return NULL;
    }
    rn = (size_t)(s + n - rest);
    if (rn == 0) {
        snprintf(reason, rl, "no host after '%s://' in '%s'", sc->name, show);
        return NULL;
    }
    slash = memchr(rest, '/', rn);
    if (slash != NULL) {
        const char *q = slash + 1, *end = s + n, *hend = slash;
        int cidr = 0;

        if (rest[0] != '[') {
            /* Host part: up to the slash; a range needs an IP there. */
            if (targets_is_ip_literal(rest, (size_t)(hend - rest))) {
                const char *d = q;

                while (d < end && targets_is_digit((unsigned char)*d))
                    d++;
                if (d > q && (d == end || *d == ':')) {
                    cidr = 1;
                    if (d < end) {
                        d++;
                        while (d < end && targets_is_digit((unsigned char)*d))
                            d++;
                        cidr = d == end;
                    }
                }
            }
        } else {
            const char *close = memchr(rest, ']', rn);

            cidr = close != NULL && slash < close; /* "[v6/len]:port" */
        }
        if (!cidr) {
            char pshow[TARGETS_SHOW + 4];

            snprintf(reason, rl,
                     "a target has no path: '%s' after the host in '%s' (write %s://HOST[:PORT])",
                     targets_show(slash, (size_t)(end - slash), pshow, sizeof(pshow)), show,
                     sc->name);
            return NULL;
        }
    }
    *restp = rest;
    *restn = rn;
    return sc;
}

static int
targets_parse_sni(const char *s, size_t n, struct tw_target_spec *out, char *reason, size_t rl)
{
    char show[TARGETS_SHOW + 4];

    if (n == 1 && s[0] == '-') {
        out->sni_mode = 1;
        return 0;
    }
    if (targets_is_ip_literal(s, n)) {
        snprintf(reason, rl, "SNI must be a host name, not an IP address: '%s'",
                 targets_show(s, n, show, sizeof(show)));
        return -1;
    }
    if (targets_check_name(s, n, "SNI", out->sni, reason, rl) < 0)
        return -1;
    out->sni_mode = 2;
    return 0;
}

int
tw_target_parse_line(const char *line, size_t len, int allow_large_ranges,
                     struct tw_target_spec *out, char *reason, size_t reasonlen)
{
    char dummy[8];
    const char *hash, *f1, *f2 = NULL, *p, *end;
    size_t n1, n2 = 0, i;
    int rc = -1;

    if (reason == NULL || reasonlen == 0) {
        reason = dummy;
        reasonlen = sizeof(dummy);
    }
    reason[0] = '\0';
    memset(out, 0, sizeof(*out));
    out->prefix = -1;

    if (line == NULL) {
        rc = 0;
        goto out;
    }
    if (memchr(line, '\0', len) != NULL) {
        snprintf(reason, reasonlen, "NUL byte in line (binary file?)");
        goto out;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    hash = memchr(line, '#', len);
    if (hash != NULL)
        len = (size_t)(hash - line);
    /* Control characters and non-ASCII bytes, before anything is quoted. */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c >= 0x80) {
            if (targets_utf8_len((const unsigned char *)line + i, len - i) > 0)
                snprintf(reason, reasonlen,
                         "non-ASCII characters: internationalised names must be given as "
                         "punycode (xn--...)");
            else
                snprintf(reason, reasonlen,
                         "invalid UTF-8 byte 0x%02x (names must be ASCII; IDNs as punycode)", c);
            goto out;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(reason, reasonlen, "control character 0x%02x in line", c);
            goto out;
        }
    }
    p = line;
    end = line + len;
    while (p < end && targets_is_space((unsigned char)*p))
        p++;
    while (end > p && targets_is_space((unsigned char)end[-1]))
        end--;
    if (p == end) {
        rc = 0;
        goto out;
    }
    p = targets_take_field(p, end, &f1, &n1);
    if (p < end) {
        p = targets_take_field(p, end, &f2, &n2);
        if (p < end) {
            char show[TARGETS_SHOW + 4];

            snprintf(reason, reasonlen, "extra field '%s' (expected: TARGET [SNI])",
                     targets_show(p, (size_t)(end - p), show, sizeof(show)));
            goto out;
        }
    }
    {
        const char *sep = NULL;

        for (i = 0; i + 3 <= n1; i++) {
            if (memcmp(f1 + i, "://", 3) == 0) {
                sep = f1 + i;
                break;
            }
        }
        if (sep != NULL) {
            const struct targets_scheme *sc;

            sc = targets_parse_scheme(f1, n1, sep, &f1, &n1, reason, reasonlen);
            if (sc == NULL)
                goto out;
            if (targets_parse_target(f1, n1, allow_large_ranges, out, reason, reasonlen) < 0)
                goto out;
            if (out->port == 0)
                out->port = sc->port; /* the scheme's port, not --ports */
            out->starttls = sc->starttls;
        } else if (targets_parse_target(f1, n1, allow_large_ranges, out, reason, reasonlen) < 0) {
            goto out;
        }
    }
    if (f2 != NULL && targets_parse_sni(f2, n2, out, reason, reasonlen) < 0)
        goto out;
    rc = 1;
out:
    if (rc != 1) {
        memset(out, 0, sizeof(*out));
        out->prefix = -1;
    }
    return rc;
}

/* ---- hashing ------------------------------------------------------------ */

#define TARGETS_FNV_BASIS 0xcbf29ce484222325ULL
#define TARGETS_FNV_PRIME 0x100000001b3ULL

static uint64_t
targets_fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= TARGETS_FNV_PRIME;
    }
    return h;
}

/* FNV-1a over the canonical endpoint bytes (see the top of this file). */
static uint64_t
targets_fnv_endpoint(uint64_t basis, const char *host, uint16_t port, int has_sni, const char *sni,
                     int starttls)
{
    const char *stls = tw_starttls_name(starttls);

    unsigned char mid[4];
    uint64_t h = basis;

    h = targets_fnv(h, host, strlen(host));
    mid[0] = 0;
    mid[1] = (unsigned char)(port >> 8);
    mid[2] = (unsigned char)(port & 0xff);
    mid[3] = has_sni ? 1 : 0;
    h = targets_fnv(h, mid, sizeof(mid));
    if (has_sni && sni != NULL)
        h = targets_fnv(h, sni, strlen(sni));
    h = targets_fnv(h, "", 1);
    if (stls[0] != '\0')
        h = targets_fnv(h, stls, strlen(stls) + 1);
    return h;
}

/* One 64-bit finaliser: xor-shift, multiply, xor-shift, multiply,
 * xor-shift.  MurmurHash3's fmix64 and SplitMix64's output step are this
 * with different shifts and multipliers, so they are two rows of
 * arguments to one function. */
static uint64_t
targets_mix(uint64_t k, unsigned s1, uint64_t m1, unsigned s2, uint64_t m2, unsigned s3)
{
    k ^= k >> s1;
    k *= m1;
    k ^= k >> s2;
    k *= m2;
    k ^= k >> s3;
    return k;
}

static uint64_t
targets_fmix64(uint64_t k)
{
    return targets_mix(k, 33, 0xff51afd7ed558ccdULL, 33, 0xc4ceb9fe1a85ec53ULL, 33);
}

uint64_t
tw_target_hash_ex(const char *host, uint16_t port, int has_sni, const char *sni, int starttls)
{
    return targets_fmix64(
        targets_fnv_endpoint(TARGETS_FNV_BASIS, host, port, has_sni, sni, starttls));
}

uint64_t
tw_target_hash(const char *host, uint16_t port, int has_sni, const char *sni)
{
    return tw_target_hash_ex(host, port, has_sni, sni, TW_STARTTLS_NONE);
}

/* ---- dedup set ---------------------------------------------------------- */

/* Slot of h in a table of cap slots: h scaled to [0, cap) (Lemire), so
 * that cap need not be a power of two. */
static size_t
targets_set_slot(uint64_t h, size_t cap)
{
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static void
targets_set_place(uint64_t *set, size_t cap, uint64_t h)
{
    size_t i = targets_set_slot(h, cap);

    while (set[i] != 0 && set[i] != h) {
        if (++i == cap)
            i = 0;
    }
    set[i] = h;
}

static void
targets_set_grow(struct tw_targets *t)
{
    size_t ncap = t->set_cap + t->set_cap / 2, i;
    uint64_t *nset;

    if (ncap > t->set_max_cap)
        ncap = t->set_max_cap;
    nset = tw_xcalloc(ncap, sizeof(*nset));
    for (i = 0; i < t->set_cap; i++) {
        if (t->set[i] != 0)
            targets_set_place(nset, ncap, t->set[i]);
    }
    free(t->set);
    t->set = nset;
    t->set_cap = ncap;
}

/*
 * 1: new and remembered; 2: new but the set is full (not remembered);
 * 0: seen before.  The table grows by half while it would pass 3/4
 * full; its last size is dedup_max * 4/3 (+1), so a full set costs about
 * 10.7 bytes per entry and always keeps an empty slot to end a probe.
 */
static int
targets_set_add(struct tw_targets *t, uint64_t h)
{
    size_t i;

    if (h == 0)
        h = 1;
    i = targets_set_slot(h, t->set_cap);
    while (t->set[i] != 0) {
        if (t->set[i] == h)
            return 0;
        if (++i == t->set_cap)
            i = 0;
    }
    if (t->set_count >= t->dedup_max)
        return 2;
    if ((t->set_count + 1) * 4 > t->set_cap * 3 && t->set_cap < t->set_max_cap) {
        targets_set_grow(t);
        targets_set_place(t->set, t->set_cap, h);
    } else {
        t->set[i] = h;
    }
    t->set_count++;
    return 1;
}

/* ---- the reader --------------------------------------------------------- */

void
tw_targets_free(struct tw_targets *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n_srcs; i++) {
        if (t->srcs[i].f != NULL && !t->srcs[i].is_stdin)
            fclose(t->srcs[i].f);
        free(t->srcs[i].name);
    }
    free(t->srcs);
    EVP_MD_CTX_free(t->mdctx);
    EVP_MD_free(t->md);
    free(t->set);
    free(t->queue);
    free(t);
}

static int
targets_add_src(struct tw_targets *t, const char *path, char *err)
{
    struct targets_src *s = &t->srcs[t->n_srcs];
    struct stat sb;

    if (path == NULL || strcmp(path, "-") == 0) {
        s->f = stdin;
        s->is_stdin = 1;
        s->name = tw_xstrdup("<stdin>");
        t->n_srcs++;
        return 0;
    }
    s->f = fopen(path, "r");
    if (s->f == NULL) {
        tw_errf(err, "cannot open target file '%s': %s", path, strerror(errno));
        return -1;
    }
    s->name = tw_xstrdup(path);
    t->n_srcs++;
    if (fstat(fileno(s->f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        tw_errf(err, "cannot read target file '%s': %s", path, strerror(EISDIR));
        return -1;
    }
    return 0;
}

int
tw_targets_open(const char *const *paths, size_t n_paths, const struct tw_targets_opts *opts,
                struct tw_targets **out, char *err)
{
    struct tw_targets *t = NULL;
    size_t i, cap;
    int rc = -1;

    *out = NULL;
    t = tw_xcalloc(1, sizeof(*t));
    t->errf = stderr;
    t->dedup_max = TARGETS_DEDUP_DEFAULT;
    t->ports[0] = 443;
    t->n_ports = 1;
    t->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    t->mdctx = EVP_MD_CTX_new();
    if (t->md == NULL || t->mdctx == NULL) {
        tw_errf(err, "cannot set up SHA-256 (OpenSSL)");
        goto out;
    }
    if (opts != NULL) {
        if (opts->errf != NULL)
            t->errf = opts->errf;
        if (opts->dedup_max > 0)
            t->dedup_max = opts->dedup_max;
        if (t->dedup_max > TARGETS_DEDUP_LIMIT)
            t->dedup_max = TARGETS_DEDUP_LIMIT;
        t->allow_large = opts->allow_large_ranges;
        if (opts->shard_n > 0 || opts->shard_k > 0) {
            if (opts->shard_n == 0 || opts->shard_k < 1 || opts->shard_k > opts->shard_n) {
                tw_errf(err, "bad shard %u/%u (K must be 1..N)", (unsigned)opts->shard_k,
                        (unsigned)opts->shard_n);
                goto out;
            }
            t->shard_k = opts->shard_k;
            t->shard_n = opts->shard_n;
        }
        if (opts->ports != NULL && opts->n_ports > 0) {
            if (opts->n_ports > TW_PORTS_MAX) {
                tw_errf(err, "too many ports (%zu, max %d)", opts->n_ports, TW_PORTS_MAX);
                goto out;
            }
            for (i = 0; i < opts->n_ports; i++) {
                if (opts->ports[i] == 0) {
                    tw_errf(err, "bad port 0 in the port list (1-65535)");
                    goto out;
                }
                t->ports[i] = opts->ports[i];
            }
            t->n_ports = opts->n_ports;
        }
    }
    /* The set never holds more than dedup_max entries, at load <= 3/4. */
    cap = TARGETS_SET_MIN;
    t->set_max_cap = t->dedup_max + t->dedup_max / 3 + 1;
    if (cap > t->set_max_cap)
        cap = t->set_max_cap;
    t->set_cap = cap;
    t->set = tw_xcalloc(cap, sizeof(*t->set));

    t->srcs = tw_xcalloc(n_paths > 0 ? n_paths : 1, sizeof(*t->srcs));
    if (n_paths == 0) {
        if (targets_add_src(t, "-", err) < 0)
            goto out;
    }
    for (i = 0; i < n_paths; i++) {
        if (targets_add_src(t, paths[i], err) < 0)
            goto out;
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    tw_targets_free(t);
    return rc;
}

/*
 * Read the next line of the current source into t->line.  Returns 1 with
 * *lenp and *too_longp (0; 1: longer than TW_LINE_MAX; 2: longer than
 * TW_LINE_HARD_MAX, where reading stopped), 0 at the end of the current
 * source, -1 on a read error.  A line longer than the buffer is consumed to
 * its newline (up to the hard bound) but only its first bytes are kept.
 */
static int
targets_read_line(struct tw_targets *t, size_t *lenp, int *too_longp, char *err)
{
    size_t len = 0, seen = 0;
    int too_long = 0, got = 0;

    for (;;) {
        const char *p, *nl;
        size_t avail, take;

        if (t->rpos == t->rlen) {
            struct targets_src *s = &t->srcs[t->cur_src];
            size_t n = t->src_eof ? 0 : fread(t->rbuf, 1, sizeof(t->rbuf), s->f);

            t->rpos = 0;
            t->rlen = 0;
            if (n == 0) {
                if (!t->src_eof && ferror(s->f)) {
                    tw_errf(err, "read error on '%s': %s", s->name, strerror(errno));
                    return -1;
                }
                if (got) {
                    /* Last line without a newline; the end comes next call. */
                    t->src_eof = 1;
                    break;
                }
                return 0;
            }
            t->rlen = n;
        }
        got = 1;
        p = t->rbuf + t->rpos;
        avail = t->rlen - t->rpos;
        nl = memchr(p, '\n', avail);
        take = nl != NULL ? (size_t)(nl - p) : avail;
        if (seen + take > TW_LINE_HARD_MAX) {
            /* Counted on the bytes before the newline only, so the verdict
             * does not depend on where the blocks happen to end. */
            too_long = 2;
            break;
        }
        seen += take;
        if (!too_long) {
            if (len + take <= TW_LINE_MAX + 1) {
                memcpy(t->line + len, p, take);
                len += take;
            } else {
                too_long = 1;
            }
        }
        t->rpos += take + (nl != NULL ? 1 : 0);
        if (nl != NULL)
            break;
    }
    /* One byte of slack is only for the '\r' of a CRLF line. */
    if (!too_long && len == TW_LINE_MAX + 1 && t->line[len - 1] != '\r')
        too_long = 1;
    t->lineno++;
    t->st.lines++;
    *lenp = len;
    *too_longp = too_long;
    return 1;
}

/* Leave the current source (at its end, or giving it up): the next read
 * starts on the next one.  What it queued stays queued. */
static void
targets_next_src(struct tw_targets *t)
{
    t->cur_src++;
    t->lineno = 0;
    t->src_eof = 0;
    t->rpos = 0;
    t->rlen = 0;
    t->probing = 0;
    t->src_bad = 0;
}

/* Give the current source up: drop what it queued and read no more of it. */
static void
targets_refuse_src(struct tw_targets *t)
{
    t->q_n = 0;
    t->q_pos = 0;
    t->st.refused_files++;
    targets_next_src(t);
}

/* Hold a spec read during probation. */
static void
targets_queue_spec(struct tw_targets *t, const char *file, unsigned long line)
{
    struct targets_pending *q;

    if (t->q_n == t->q_cap) {
        /* Probation queues at most one spec per line of it. */
        t->q_cap = t->q_cap == 0 ? 16 : t->q_cap * 2;
        if (t->q_cap > TW_TARGETS_PROBE_LINES)
            t->q_cap = TW_TARGETS_PROBE_LINES;
        t->queue = tw_xrealloc(t->queue, t->q_cap * sizeof(*t->queue));
    }
    q = &t->queue[t->q_n++];
    q->spec = t->spec;
    q->file = file;
    q->line = line;
}

static void
targets_start_spec(struct tw_targets *t)
{
    struct tw_target_spec *sp = &t->spec;
    size_t i, alen;

    t->st.targets++;
    memset(t->cur, 0, sizeof(t->cur));
    memset(t->last, 0, sizeof(t->last));
    if (sp->family != 0) {
        alen = sp->family == AF_INET ? 4 : 16;
        memcpy(t->cur, sp->addr, alen);
        memcpy(t->last, sp->addr, alen);
        if (sp->prefix >= 0) {
            for (i = 0; i < alen; i++) {
                int bits = sp->prefix - (int)i * 8;

                if (bits >= 8)
                    continue;
                t->last[i] |= (uint8_t)(bits <= 0 ? 0xff : 0xff >> bits);
            }
            /* IPv4 /0../30: skip the network and the broadcast address.
             * Their two low bits are 00 and 11, so no carry is needed. */
            if (sp->family == AF_INET && sp->prefix <= 30) {
                t->cur[3]++;
                t->last[3]--;
            }
        }
    }
    if (sp->port > 0) {
        t->spec_ports[0] = (uint16_t)sp->port;
        t->n_spec_ports = 1;
    } else {
        memcpy(t->spec_ports, t->ports, t->n_ports * sizeof(t->ports[0]));
        t->n_spec_ports = t->n_ports;
    }
    t->port_idx = 0;
    t->have_spec = 1;
}

/* Produce the next raw endpoint of the current spec; 0 when it is done. */
static int
targets_expand_next(struct tw_targets *t, struct tw_target *out)
{
    struct tw_target_spec *sp = &t->spec;
    size_t alen = sp->family == AF_INET ? 4 : sp->family == AF_INET6 ? 16 : 0;
    size_t i;

    if (!t->have_spec)
        return 0;
    memset(out, 0, sizeof(*out));
    out->family = sp->family;
    if (sp->family == 0) {
        tw_strlcpy(out->host, sp->host, sizeof(out->host));
    } else {
        memcpy(out->addr, t->cur, alen);
        if (inet_ntop(sp->family, t->cur, out->host, sizeof(out->host)) == NULL)
            out->host[0] = '\0';
    }
    out->port = t->spec_ports[t->port_idx];
    switch (sp->sni_mode) {
    case 2:
        out->has_sni = 1;
        tw_strlcpy(out->sni, sp->sni, sizeof(out->sni));
        break;
    case 1:
        out->has_sni = 0;
        break;
    default:
        if (sp->family == 0) {
            out->has_sni = 1;
            tw_strlcpy(out->sni, sp->host, sizeof(out->sni));
        }
        break;
    }
    out->file = t->spec_file;
    out->line = t->spec_line;
    out->starttls = sp->starttls;

    /* Advance: ports inside an address, then the next address. */
    if (++t->port_idx < t->n_spec_ports)
        return 1;
    t->port_idx = 0;
    if (sp->family == 0 || memcmp(t->cur, t->last, alen) == 0) {
        t->have_spec = 0;
        return 1;
    }
    /* Add one, carrying from the last byte (cur < last, so no overflow). */
    for (i = alen; i > 0; i--) {
        t->cur[i - 1]++;
        if (t->cur[i - 1] != 0)
            break;
    }
    return 1;
}

/*
 * Add one distinct endpoint to the fingerprint: the SHA-256 of its canonical
 * bytes (host NUL port has_sni sni NUL starttls-name NUL) is added, as a
 * 256-bit big-endian number, to the running sum.  Cost: one SHA-256 of about
 * 60 bytes per endpoint, on the reader thread.
 */
static void
targets_fp_add(struct tw_targets *t, const struct tw_target *ep)
{
    const char *stls = tw_starttls_name(ep->starttls);
    uint8_t mid[3] = {(uint8_t)(ep->port >> 8), (uint8_t)(ep->port & 0xff),
                      (uint8_t)(ep->has_sni ? 1 : 0)};
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, carry = 0;

    if (EVP_DigestInit_ex2(t->mdctx, t->md, NULL) != 1 ||
        EVP_DigestUpdate(t->mdctx, ep->host, strlen(ep->host) + 1) != 1 ||
        EVP_DigestUpdate(t->mdctx, mid, sizeof(mid)) != 1 ||
        EVP_DigestUpdate(t->mdctx, ep->has_sni ? ep->sni : "",
                         ep->has_sni ? strlen(ep->sni) + 1 : 1) != 1 ||
        EVP_DigestUpdate(t->mdctx, stls, strlen(stls) + 1) != 1 ||
        EVP_DigestFinal_ex(t->mdctx, md, &mdlen) != 1 || mdlen != TW_TARGETS_FP_BYTES)
        return; /* NOTREACHED with a working libcrypto */
    for (int i = TW_TARGETS_FP_BYTES - 1; i >= 0; i--) {
        unsigned int sum = (unsigned int)t->fp_acc[i] + md[i] + carry;

        t->fp_acc[i] = (uint8_t)sum;
        carry = sum >> 8;
    }
}

int
tw_targets_next(struct tw_targets *t, struct tw_target *out, char *err)
{
    char reason[TW_ERRLEN];

    for (;;) {
        size_t len;
        int too_long, r;
        const char *file;
        unsigned long line;

        while (t->have_spec) {
            uint64_t h;

            targets_expand_next(t, out);
            h = tw_target_hash_ex(out->host, out->port, out->has_sni, out->sni, out->starttls);
            if (targets_set_add(t, h) == 0) {
                t->st.duplicates++;
                continue;
            }
            t->fp_count++;
            targets_fp_add(t, out);
            if (t->shard_n > 0 && h % t->shard_n != t->shard_k - 1) {
                t->st.sharded_out++;
                continue;
            }
            t->st.endpoints++;
            return 1;
        }
        if (!t->probing && t->q_pos < t->q_n) {
            const struct targets_pending *q = &t->queue[t->q_pos++];

            t->spec = q->spec;
            t->spec_file = q->file;
            t->spec_line = q->line;
            if (t->q_pos == t->q_n) {
                t->q_pos = 0;
                t->q_n = 0;
            }
            targets_start_spec(t);
            continue;
        }
        if (t->cur_src >= t->n_srcs)
            return 0;
        if (t->lineno == 0)
            t->probing = 1; /* a fresh source, and the queue is empty */
        r = targets_read_line(t, &len, &too_long, err);
        if (r < 0)
            return r;
        if (r == 0) {
            /* The end of a source: what it queued is used. */
            targets_next_src(t);
            continue;
        }
        file = t->srcs[t->cur_src].name;
        line = t->lineno;
        if (too_long == 2) {
            t->st.bad++;
            fprintf(t->errf, "%s:%lu: line too long (over %d bytes): not a target list\n", file,
                    line, TW_LINE_HARD_MAX);
            targets_refuse_src(t);
            continue;
        }
        if (too_long) {
            t->st.bad++;
            t->src_bad++;
            fprintf(t->errf, "%s:%lu: line too long (over %d bytes)\n", file, line, TW_LINE_MAX);
        } else {
            r = tw_target_parse_line(t->line, len, t->allow_large, &t->spec, reason,
                                     sizeof(reason));
            if (r < 0) {
                t->st.bad++;
                t->src_bad++;
                fprintf(t->errf, "%s:%lu: %s\n", file, line, reason);
            } else if (r > 0 && t->probing) {
                targets_queue_spec(t, file, line);
            } else if (r > 0) {
                t->spec_file = file;
                t->spec_line = line;
                targets_start_spec(t);
            }
        }
        if (!t->probing)
            continue;
        if (t->src_bad > TW_TARGETS_PROBE_BAD_MAX) {
            fprintf(t->errf, "%s: not a target list (%lu of the first %lu lines are not targets)\n",
                    file, t->src_bad, line);
            targets_refuse_src(t);
        } else if (line >= TW_TARGETS_PROBE_LINES) {
            t->probing = 0; /* the file passed: its queue is used next */
        }
    }
}

void
tw_targets_get_stats(const struct tw_targets *t, struct tw_targets_stats *out)
{
    *out = t->st;
}

void
tw_targets_fingerprint(const struct tw_targets *t, char out[TW_TARGETS_FP_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    static const char tag[] = "tlsweep targets v2";
    uint8_t msg[sizeof(tag) + 8 + TW_TARGETS_FP_BYTES];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    /* SHA-256 over a tag, the count and the sum: equal sets give equal
     * text, and a set is not told from another by its count alone. */
    memcpy(msg, tag, sizeof(tag));
    for (int i = 0; i < 8; i++)
        msg[sizeof(tag) + (size_t)i] = (uint8_t)(t->fp_count >> (56 - 8 * i));
    memcpy(msg + sizeof(tag) + 8, t->fp_acc, TW_TARGETS_FP_BYTES);
    if (EVP_Digest(msg, sizeof(msg), md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != TW_TARGETS_FP_BYTES) {
        /* Only a broken libcrypto fails here: no fingerprint rather than a
         * wrong one. */
        out[0] = '\0';
        return;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * mdlen] = '\0';
}

/* ---- port lists --------------------------------------------------------- */

int
tw_ports_parse(const char *s, uint16_t *ports, size_t max, char *err)
{
    char show[TARGETS_SHOW + 4];
    const char *p, *end, *comma, *dash;
    size_t n = 0, i, slen;
    int lo, hi, v;

    if (s == NULL || s[0] == '\0') {
        tw_errf(err, "empty port list");
        return -1;
    }
    slen = strlen(s);
    for (i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!targets_is_digit(c) && c != ',' && c != '-') {
            if (c >= 0x20 && c < 0x7f)
                tw_errf(err, "bad character '%c' in port list (use e.g. 443,8443,8000-8010)", c);
            else
                tw_errf(err, "bad byte 0x%02x in port list (use e.g. 443,8443,8000-8010)", c);
            return -1;
        }
    }
    p = s;
    end = s + slen;
    while (p <= end) {
        size_t elen;

        comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL)
            comma = end;
        elen = (size_t)(comma - p);
        if (elen == 0) {
            tw_errf(err, "empty entry in port list '%s'",
                    targets_show(s, slen, show, sizeof(show)));
            return -1;
        }
        dash = memchr(p, '-', elen);
        if (dash != NULL) {
            lo = targets_port_value(p, (size_t)(dash - p));
            hi = targets_port_value(dash + 1, (size_t)(comma - dash - 1));
            if (lo < 0 || hi < 0) {
                tw_errf(err, "bad port range '%s' (ports are 1-65535)",
                        targets_show(p, elen, show, sizeof(show)));
                return -1;
            }
            if (lo > hi) {
                tw_errf(err, "bad port range '%s' (low > high)",
                        targets_show(p, elen, show, sizeof(show)));
                return -1;
            }
        } else {
            lo = targets_port_value(p, elen);
            if (lo < 0) {
                tw_errf(err, "bad port '%s' (1-65535)", targets_show(p, elen, show, sizeof(show)));
                return -1;
            }
            hi = lo;
        }
        for (v = lo; v <= hi; v++) {
            for (i = 0; i < n; i++) {
                if (ports[i] == v)
                    break;
            }
            if (i < n)
                continue;
            if (n >= max) {
                tw_errf(err, "too many ports in '%s' (max %zu)",
                        targets_show(s, slen, show, sizeof(show)), max);
                return -1;
            }
            ports[n++] = (uint16_t)v;
        }
        p = comma + 1;
    }
    return (int)n;
}
