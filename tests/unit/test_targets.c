/*
 * test_targets.c - the target-list parser and reader (scanner/targets.h).
 *
 * The pure parser is checked against tables of accepted and rejected lines;
 * the reader is checked end to end on temporary files (and stdin), with the
 * error stream captured through open_memstream so that "FILE:LINE: reason"
 * can be asserted.  No network, no clock.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scanner/config.h"
#include "scanner/targets.h"
#include "base/log.h"

/* ---- helpers ------------------------------------------------------------ */

/* Write n bytes to a fresh temporary file; returns its malloc'd path. */
static char *
tmp_file(const char *data, size_t n)
{
    char *path = strdup("/tmp/tw_targets_XXXXXX");
    int fd;
    FILE *f;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static char *
tmp_text(const char *text)
{
    return tmp_file(text, strlen(text));
}

static void
rm_file(char *path)
{
    unlink(path);
    free(path);
}

/* Everything one reader run produced. */
struct run {
    char **eps; /* "host|port|sni-or-(none)|file:line" */
    size_t n;
    struct tw_targets_stats st;
    char fp[TW_TARGETS_FP_HEX + 1];
    char *errtext; /* what went to errf */
};

static void
run_free(struct run *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        free(r->eps[i]);
    free(r->eps);
    free(r->errtext);
    memset(r, 0, sizeof(*r));
}

static void
run_paths(const char *const *paths, size_t n_paths, struct tw_targets_opts *opts, struct run *r)
{
    struct tw_targets_opts o;
    struct tw_targets *t = NULL;
    struct tw_target tg;
    char err[TW_ERRLEN];
    size_t errlen = 0, cap = 0;
    FILE *ef;
    int rc;

    memset(r, 0, sizeof(*r));
    memset(&o, 0, sizeof(o));
    if (opts != NULL)
        o = *opts;
    ef = open_memstream(&r->errtext, &errlen);
    assert_non_null(ef);
    o.errf = ef;
    assert_int_equal(tw_targets_open(paths, n_paths, &o, &t, err), 0);
    for (;;) {
        char buf[1024];

        rc = tw_targets_next(t, &tg, err);
        if (rc != 1)
            break;
        snprintf(buf, sizeof(buf), "%s|%u|%s|%s:%lu", tg.host, (unsigned)tg.port,
                 tg.has_sni ? tg.sni : "(none)", tg.file, tg.line);
        if (r->n == cap) {
            cap = cap ? cap * 2 : 64;
            r->eps = realloc(r->eps, cap * sizeof(*r->eps));
            assert_non_null(r->eps);
        }
        r->eps[r->n++] = strdup(buf);
    }
    assert_int_equal(rc, 0);
    tw_targets_get_stats(t, &r->st);
    tw_targets_fingerprint(t, r->fp);
    tw_targets_free(t);
    fclose(ef);
}

static void
run_text(const char *text, struct tw_targets_opts *opts, struct run *r, char **pathp)
{
    char *path = tmp_text(text);
    const char *paths[1] = {path};

    run_paths(paths, 1, opts, r);
    if (pathp != NULL)
        *pathp = path;
    else
        rm_file(path);
}

/* Does the run contain an endpoint starting with prefix "host|port|sni|"? */
static int
run_has(const struct run *r, const char *prefix)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        if (strncmp(r->eps[i], prefix, strlen(prefix)) == 0)
            return 1;
    }
    return 0;
}

/* Endpoint key without the file:line part, for set comparisons. */
static char *
ep_key(const char *ep)
{
    const char *p = strrchr(ep, '|');

    return strndup(ep, (size_t)(p - ep));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted endpoint keys of a run (caller frees each and the array). */
static char **
run_keys(const struct run *r)
{
    char **k = calloc(r->n + 1, sizeof(*k));
    size_t i;

    assert_non_null(k);
    for (i = 0; i < r->n; i++)
        k[i] = ep_key(r->eps[i]);
    qsort(k, r->n, sizeof(*k), cmp_str);
    return k;
}

static void
keys_free(char **k, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(k[i]);
    free(k);
}

/* ---- the pure parser: accepted forms ------------------------------------ */

struct ok_case {
    const char *line;
    const char *host;
    int family;
    int prefix;
    int port;
    int sni_mode;
    const char *sni;
};

static const struct ok_case ok_cases[] = {
    {"example.com", "example.com", 0, -1, 0, 0, ""},
    {"Example.COM", "example.com", 0, -1, 0, 0, ""},
    {"example.com.", "example.com", 0, -1, 0, 0, ""},
    {"example.com:8443", "example.com", 0, -1, 8443, 0, ""},
    {"localhost", "localhost", 0, -1, 0, 0, ""},
    {"_dmarc-x.my_host.example.org", "_dmarc-x.my_host.example.org", 0, -1, 0, 0, ""},
    {"xn--bcher-kva.example", "xn--bcher-kva.example", 0, -1, 0, 0, ""},
    {"123.example.com", "123.example.com", 0, -1, 0, 0, ""},
    {"a:1", "a", 0, -1, 1, 0, ""},
    {"a:65535", "a", 0, -1, 65535, 0, ""},
    {"192.0.2.1", "192.0.2.1", AF_INET, -1, 0, 0, ""},
    {"192.0.2.1:443", "192.0.2.1", AF_INET, -1, 443, 0, ""},
    {"2001:db8::1", "2001:db8::1", AF_INET6, -1, 0, 0, ""},
    {"2001:DB8:0:0::1", "2001:db8::1", AF_INET6, -1, 0, 0, ""},
    {"[2001:db8::1]", "2001:db8::1", AF_INET6, -1, 0, 0, ""},
    {"[::1]:8443", "::1", AF_INET6, -1, 8443, 0, ""},
    {"10.0.0.0/24", "10.0.0.0", AF_INET, 24, 0, 0, ""},
    {"10.0.0.77/24", "10.0.0.0", AF_INET, 24, 0, 0, ""},
    {"10.1.2.3/16", "10.1.0.0", AF_INET, 16, 0, 0, ""},
    {"10.0.0.5/30:8443", "10.0.0.4", AF_INET, 30, 8443, 0, ""},
    {"10.0.0.5/32", "10.0.0.5", AF_INET, 32, 0, 0, ""},
    {"2001:db8::ff/120", "2001:db8::", AF_INET6, 120, 0, 0, ""},
    {"[2001:db8::7/126]:443", "2001:db8::4", AF_INET6, 126, 443, 0, ""},
    {"example.com www.example.com", "example.com", 0, -1, 0, 2, "www.example.com"},
    {"192.0.2.1 Service.Example.", "192.0.2.1", AF_INET, -1, 0, 2, "service.example"},
    {"example.com -", "example.com", 0, -1, 0, 1, ""},
    {"[::1]:443 -", "::1", AF_INET6, -1, 443, 1, ""},
    {"  \texample.com\t  sni.example   ", "example.com", 0, -1, 0, 2, "sni.example"},
    {"example.com # a comment", "example.com", 0, -1, 0, 0, ""},
    {"example.com#comment", "example.com", 0, -1, 0, 0, ""},
    {"example.com:443\r", "example.com", 0, -1, 443, 0, ""},
    {"example.com sni.example\r", "example.com", 0, -1, 0, 2, "sni.example"},
    {"example.com # caf\xc3\xa9 comments may be UTF-8", "example.com", 0, -1, 0, 0, ""},
};

static void
test_targets_parse_accepts(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        const struct ok_case *c = &ok_cases[i];
        struct tw_target_spec sp;
        char reason[256];
        int rc;

        rc = tw_target_parse_line(c->line, strlen(c->line), 0, &sp, reason, sizeof(reason));
        if (rc != 1)
            fail_msg("'%s' rejected: %s", c->line, reason);
        assert_string_equal(sp.host, c->host);
        assert_int_equal(sp.family, c->family);
        assert_int_equal(sp.prefix, c->prefix);
        assert_int_equal(sp.port, c->port);
        assert_int_equal(sp.sni_mode, c->sni_mode);
        if (c->sni_mode == 2)
            assert_string_equal(sp.sni, c->sni);
        if (c->family != 0) {
            uint8_t a[16];

            /* addr holds the address in network order, and host is its text. */
            assert_int_equal(inet_pton(c->family, c->host, a), 1);
            assert_memory_equal(sp.addr, a, c->family == AF_INET ? 4 : 16);
        }
    }
}

static void
test_targets_parse_blank(void **state)
{
    static const char *const blanks[] = {"",          "   ",        "\t",           "\r",
                                         "# comment", "   # x y z", "#example.com", " \t \r"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(blanks) / sizeof(blanks[0]); i++) {
        struct tw_target_spec sp;
        char reason[256];

        assert_int_equal(
            tw_target_parse_line(blanks[i], strlen(blanks[i]), 0, &sp, reason, sizeof(reason)), 0);
    }
}

static void
test_targets_parse_long_names(void **state)
{
    char line[600], reason[256];
    struct tw_target_spec sp;
    size_t i;

    (void)state;
    /* 63-byte label is fine, 64 is not. */
    memset(line, 'a', 63);
    memcpy(line + 63, ".example", 9);
    assert_int_equal(tw_target_parse_line(line, strlen(line), 0, &sp, reason, sizeof(reason)), 1);
    memset(line, 'a', 64);
    memcpy(line + 64, ".example", 9);
    assert_int_equal(tw_target_parse_line(line, strlen(line), 0, &sp, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "63"));
    /* 253 bytes total (plus a trailing dot) is fine, 254 is not. */
    for (i = 0; i < 253; i++)
        line[i] = (i % 2) ? '.' : 'b';
    line[253] = '.';
    line[254] = '\0';
    assert_int_equal(tw_target_parse_line(line, 254, 0, &sp, reason, sizeof(reason)), 1);
    assert_int_equal(strlen(sp.host), 253);
    for (i = 0; i < 255; i++)
        line[i] = (i % 2) ? '.' : 'b';
    line[255] = '\0';
    assert_int_equal(tw_target_parse_line(line, 255, 0, &sp, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "too long"));
    /* The same limit applies to SNI. */
    memcpy(line, "x.example ", 10);
    for (i = 10; i < 10 + 255; i++)
        line[i] = (i % 2) ? 'c' : '.';
    line[i] = '\0';
    assert_int_equal(tw_target_parse_line(line, i, 0, &sp, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "SNI too long"));
}

/* ---- rejections, each with its reason and its reported line number ------ */

struct bad_case {
    const char *line;
    size_t len; /* 0: strlen */
    const char *reason;
};

static const struct bad_case bad_cases[] = {
    {"example.com:0", 0, "bad port '0' (1-65535)"},
    {"example.com:70000", 0, "bad port '70000' (1-65535)"},
    {"example.com:+1", 0, "bad port '+1'"},
    {"example.com:", 0, "bad port '' (1-65535)"},
    {"example.com:44a", 0, "bad port '44a'"},
    {"example.com:-1", 0, "bad port '-1'"},
    {"[::1]:0", 0, "bad port '0'"},
    {"[::1]:", 0, "bad port ''"},
    {":443", 0, "missing host"},
    {"[]:443", 0, "missing host"},
    {"exa mple.com x y", 0, "extra field 'x y'"},
    {"a.example b.example c.example", 0, "extra field 'c.example'"},
    {"-example.com", 0, "starts or ends with '-'"},
    {"example-.com", 0, "starts or ends with '-'"},
    {"a..example", 0, "empty label"},
    {".example", 0, "empty label"},
    {".", 0, "empty host name"},
    {"exa*mple.com", 0, "bad character '*'"},
    {"user@example.com", 0, "bad character '@'"},
    {"example.123", 0, "last label is all digits"},
    {"1.2.3", 0, "bad IPv4 address '1.2.3'"},
    {"256.1.1.1", 0, "bad IPv4 address"},
    {"1.2.3.4.5", 0, "bad IPv4 address"},
    {"443", 0, "bad IPv4 address"},
    {"2001:db8::g", 0, "bad IPv6 address"},
    {"2001:db8::1:443:", 0, "bad IPv6 address"},
    {"[2001:db8::1", 0, "missing ']'"},
    {"[2001:db8::1]x", 0, "unexpected text after ']'"},
    {"[2001:db8::]/120", 0, "unexpected text after ']'"},
    {"[192.0.2.1]:443", 0, "brackets are only for IPv6"},
    {"fe80::1%eth0", 0, "zone ids are not supported"},
    {"[fe80::1%eth0]:443", 0, "zone ids are not supported"},
    {"10.0.0.0/33", 0, "bad prefix length '33' (0-32)"},
    {"10.0.0.0/", 0, "bad prefix length ''"},
    {"10.0.0.0/+8", 0, "bad prefix length '+8'"},
    {"2001:db8::/129", 0, "bad prefix length '129' (0-128)"},
    {"example.com/24", 0, "needs an IP address"},
    {"10.0.0.0/8", 0, "--allow-large-ranges"},
    {"10.0.0.0/15", 0, "larger than /16"},
    {"2001:db8::/64", 0, "--allow-large-ranges"},
    {"[2001:db8::/111]:443", 0, "larger than /112"},
    {"example.com 192.0.2.1", 0, "SNI must be a host name, not an IP address"},
    {"example.com ::1", 0, "SNI must be a host name, not an IP address"},
    {"example.com [::1]", 0, "SNI must be a host name, not an IP address"},
    {"example.com bad_sni-.example", 0, "in SNI"},
    {"example.com sni:443", 0, "bad character ':' in SNI"},
    {"b\xc3\xbc"
     "cher.example",
     0, "punycode"},
    {"bad\xff.example", 0, "invalid UTF-8"},
    {"bad\xc0\xaf.example", 0, "invalid UTF-8"},
    {"ex\x01"
     "ample.com",
     0, "control character 0x01"},
    {"example.com\x7f", 0, "control character 0x7f"},
    {"exa\rmple.com", 0, "control character 0x0d"},
    {"example.com\vx", 0, "control character 0x0b"},
    {"exam\0ple.com", 12, "NUL byte"},
    {"example.com # nul \0 in comment", 30, "NUL byte"},
};

static void
test_targets_parse_rejects(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->line);
        struct tw_target_spec sp;
        char reason[256], expect[512], text[1024];
        struct run r;
        char *path;
        int rc;

        rc = tw_target_parse_line(c->line, len, 0, &sp, reason, sizeof(reason));
        if (rc != -1)
            fail_msg("case %zu accepted", i);
        if (strstr(reason, c->reason) == NULL)
            fail_msg("case %zu: reason '%s' lacks '%s'", i, reason, c->reason);

        /* The reader reports it as FILE:3: reason and goes on. */
        memcpy(text, "# header\ngood.example\n", 22);
        memcpy(text + 22, c->line, len);
        memcpy(text + 22 + len, "\nafter.example\n", 15);
        path = tmp_file(text, 22 + len + 15);
        {
            const char *paths[1] = {path};

            run_paths(paths, 1, NULL, &r);
        }
        snprintf(expect, sizeof(expect), "%s:3: %s", path, reason);
        if (strstr(r.errtext, expect) == NULL)
            fail_msg("case %zu: '%s' not in '%s'", i, expect, r.errtext);
        assert_int_equal(r.st.bad, 1);
        assert_int_equal(r.st.lines, 4);
        assert_int_equal(r.n, 2);
        assert_true(run_has(&r, "good.example|443|good.example|"));
        assert_true(run_has(&r, "after.example|443|after.example|"));
        run_free(&r);
        rm_file(path);
    }
}

static void
test_targets_parse_reason_bounded(void **state)
{
    char line[3000], reason[64];
    struct tw_target_spec sp;

    (void)state;
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    line[1000] = '*';
    /* A small reason buffer is filled, terminated, never overrun. */
    assert_int_equal(tw_target_parse_line(line, strlen(line), 0, &sp, reason, sizeof(reason)), -1);
    assert_true(strlen(reason) < sizeof(reason));
    /* And NULL reason is tolerated. */
    assert_int_equal(tw_target_parse_line(line, strlen(line), 0, &sp, NULL, 0), -1);
}

/* ---- the reader ---------------------------------------------------------- */

static size_t
count_lines(const char *text, struct tw_targets_opts *opts)
{
    struct run r;
    size_t n;

    run_text(text, opts, &r, NULL);
    n = r.n;
    run_free(&r);
    return n;
}

static void
test_targets_cidr_counts(void **state)
{
    struct tw_targets_opts o;
    struct run r;

    (void)state;
    assert_int_equal(count_lines("10.0.0.0/30\n", NULL), 2);
    assert_int_equal(count_lines("10.0.0.0/31\n", NULL), 2);
    assert_int_equal(count_lines("10.0.0.9/32\n", NULL), 1);
    assert_int_equal(count_lines("10.0.0.0/24\n", NULL), 254);
    assert_int_equal(count_lines("10.0.0.0/16\n", NULL), 65534);
    assert_int_equal(count_lines("2001:db8::/126\n", NULL), 4);
    assert_int_equal(count_lines("2001:db8::/128\n", NULL), 1);
    assert_int_equal(count_lines("2001:db8::/112\n", NULL), 65536);

    /* /30: the two usable addresses, not network or broadcast. */
    run_text("10.0.0.1/30\n", NULL, &r, NULL);
    assert_int_equal(r.n, 2);
    assert_true(run_has(&r, "10.0.0.1|443|(none)|"));
    assert_true(run_has(&r, "10.0.0.2|443|(none)|"));
    run_free(&r);
    /* /31: both. */
    run_text("10.0.0.1/31\n", NULL, &r, NULL);
    assert_true(run_has(&r, "10.0.0.0|443|(none)|"));
    assert_true(run_has(&r, "10.0.0.1|443|(none)|"));
    run_free(&r);
    /* Crossing an octet boundary, and the top of the address space. */
    run_text("10.0.0.255/23\n255.255.255.252/30\n", NULL, &r, NULL);
    assert_int_equal(r.n, 510 + 2);
    assert_true(run_has(&r, "10.0.0.255|"));
    assert_true(run_has(&r, "10.0.1.0|"));
    assert_false(run_has(&r, "10.0.1.255|"));
    assert_true(run_has(&r, "255.255.255.254|"));
    run_free(&r);
    /* v6: all of them, in canonical text. */
    run_text("[2001:db8::ffff/126]:443\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127\n", NULL, &r,
             NULL);
    assert_int_equal(r.n, 6);
    assert_true(run_has(&r, "2001:db8::fffc|443|(none)|"));
    assert_true(run_has(&r, "2001:db8::ffff|443|(none)|"));
    assert_true(run_has(&r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe|"));
    assert_true(run_has(&r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff|"));
    run_free(&r);

    memset(&o, 0, sizeof(o));
    o.allow_large_ranges = 1;
    assert_int_equal(count_lines("10.0.0.0/15\n", &o), 131070);
}

static void
test_targets_ports_multiply(void **state)
{
    static const uint16_t ports[] = {443, 8443, 9443};
    struct tw_targets_opts o;
    struct run r;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.ports = ports;
    o.n_ports = 3;
    run_text("example.com\n10.0.0.0/30\n[::1]\nexplicit.example:25\n10.9.0.0/30:8000\n", &o, &r,
             NULL);
    /* 3 + 2*3 + 3 + 1 + 2 */
    assert_int_equal(r.n, 15);
    assert_true(run_has(&r, "example.com|443|example.com|"));
    assert_true(run_has(&r, "example.com|8443|example.com|"));
    assert_true(run_has(&r, "example.com|9443|example.com|"));
    assert_true(run_has(&r, "10.0.0.2|9443|(none)|"));
    assert_true(run_has(&r, "::1|8443|(none)|"));
    assert_true(run_has(&r, "explicit.example|25|explicit.example|"));
    assert_false(run_has(&r, "explicit.example|443|"));
    /* CIDR with an explicit port uses only that port. */
    assert_true(run_has(&r, "10.9.0.1|8000|(none)|"));
    assert_true(run_has(&r, "10.9.0.2|8000|(none)|"));
    assert_false(run_has(&r, "10.9.0.1|443|"));
    assert_int_equal(r.st.endpoints, 15);
    run_free(&r);
}

static void
test_targets_order_and_lines(void **state)
{
    struct run r;
    char *path, expect[512];

    (void)state;
    run_text("b.example\n\n# c\n10.0.0.0/30:1\na.example\n", NULL, &r, &path);
    assert_int_equal(r.n, 4);
    snprintf(expect, sizeof(expect), "b.example|443|b.example|%s:1", path);
    assert_string_equal(r.eps[0], expect);
    snprintf(expect, sizeof(expect), "10.0.0.1|1|(none)|%s:4", path);
    assert_string_equal(r.eps[1], expect);
    snprintf(expect, sizeof(expect), "10.0.0.2|1|(none)|%s:4", path);
    assert_string_equal(r.eps[2], expect);
    snprintf(expect, sizeof(expect), "a.example|443|a.example|%s:5", path);
    assert_string_equal(r.eps[3], expect);
    assert_int_equal(r.st.lines, 5);
    assert_int_equal(r.st.bad, 0);
    assert_string_equal(r.errtext, "");
    run_free(&r);
    rm_file(path);
}

static void
test_targets_dedup(void **state)
{
    struct tw_targets_opts o;
    struct run r;

    (void)state;
    run_text("example.com\nEXAMPLE.com.\nexample.com:443\nexample.com:8443\n"
             "example.com other.example\nexample.com -\n10.0.0.1\n10.0.0.0/30\n"
             "[::1]\n0:0:0:0:0:0:0:1\n",
             NULL, &r, NULL);
    /* example.com:443 sni self, :8443, sni other, no sni, 10.0.0.1, 10.0.0.2, ::1 */
    assert_int_equal(r.n, 7);
    assert_int_equal(r.st.duplicates, 4);
    assert_int_equal(r.st.endpoints, 7);
    assert_true(run_has(&r, "example.com|443|example.com|"));
    assert_true(run_has(&r, "example.com|443|other.example|"));
    assert_true(run_has(&r, "example.com|443|(none)|"));
    assert_true(run_has(&r, "10.0.0.2|443|(none)|"));
    run_free(&r);

    /* Enough endpoints to grow the set many times: nothing is lost. */
    run_text("10.0.0.0/16\n10.0.255.0/24\n10.0.0.0/16\n", NULL, &r, NULL);
    assert_int_equal(r.n, 65534);
    assert_int_equal(r.st.duplicates, 254 + 65534);
    run_free(&r);

    /* With a cap of 2 remembered endpoints, later copies of others pass. */
    memset(&o, 0, sizeof(o));
    o.dedup_max = 2;
    run_text("a.example\nb.example\nc.example\na.example\nb.example\nc.example\n", &o, &r, NULL);
    assert_int_equal(r.st.duplicates, 2);
    assert_int_equal(r.n, 4);
    run_free(&r);

    /* A cap the growth by half passes (1024 -> 1536 slots, clamped to the
     * capped table's 6,667): the first 5,000 are caught, the rest pass. */
    o.dedup_max = 5000;
    run_text("10.0.0.0/19\n10.0.0.0/19\n", &o, &r, NULL);
    assert_int_equal(r.st.duplicates, 5000);
    assert_int_equal(r.n, 2 * 8190 - 5000);
    run_free(&r);
}

static void
test_targets_sni_defaults(void **state)
{
    struct run r;

    (void)state;
    run_text("name.example\nname2.example:8443 Other.Example\nname3.example -\n"
             "192.0.2.1\n192.0.2.2 by-ip.example\n[2001:db8::1]:443 v6.example\n"
             "10.0.0.0/30 range.example\n",
             NULL, &r, NULL);
    assert_int_equal(r.n, 8);
    assert_true(run_has(&r, "name.example|443|name.example|"));
    assert_true(run_has(&r, "name2.example|8443|other.example|"));
    assert_true(run_has(&r, "name3.example|443|(none)|"));
    assert_true(run_has(&r, "192.0.2.1|443|(none)|"));
    assert_true(run_has(&r, "192.0.2.2|443|by-ip.example|"));
    assert_true(run_has(&r, "2001:db8::1|443|v6.example|"));
    assert_true(run_has(&r, "10.0.0.1|443|range.example|"));
    assert_true(run_has(&r, "10.0.0.2|443|range.example|"));
    run_free(&r);
}

static void
test_targets_crlf_comments(void **state)
{
    struct run r;

    (void)state;
    run_text("# header\r\na.example\r\nb.example:8443 sni.example\r\n\r\n"
             "  c.example   # trailing comment\r\n#last\r\nd.example",
             NULL, &r, NULL);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.st.bad, 0);
    assert_int_equal(r.st.lines, 7);
    assert_true(run_has(&r, "a.example|443|a.example|"));
    assert_true(run_has(&r, "b.example|8443|sni.example|"));
    assert_true(run_has(&r, "c.example|443|c.example|"));
    /* A last line without a newline is read too. */
    assert_true(run_has(&r, "d.example|443|d.example|"));
    assert_string_equal(r.errtext, "");
    run_free(&r);
}

static void
test_targets_stdin(void **state)
{
    char *path = tmp_text("in.example\n10.0.0.0/31\nbad:0\n");
    const char *dash[1] = {"-"};
    FILE *saved;
    int fd0;
    struct run r;

    (void)state;
    /* n_paths == 0 reads stdin. */
    fd0 = dup(0);
    assert_true(fd0 >= 0);
    saved = freopen(path, "r", stdin);
    assert_non_null(saved);
    run_paths(NULL, 0, NULL, &r);
    assert_int_equal(r.n, 3);
    assert_true(run_has(&r, "in.example|443|in.example|<stdin>:1"));
    assert_true(run_has(&r, "10.0.0.1|443|(none)|<stdin>:2"));
    assert_non_null(strstr(r.errtext, "<stdin>:3: bad port '0'"));
    run_free(&r);

    /* "-" reads stdin too. */
    assert_non_null(freopen(path, "r", stdin));
    run_paths(dash, 1, NULL, &r);
    assert_int_equal(r.n, 3);
    assert_true(run_has(&r, "in.example|443|in.example|<stdin>:1"));
    run_free(&r);

    assert_int_equal(dup2(fd0, 0), 0);
    close(fd0);
    clearerr(stdin);
    rm_file(path);
}

static void
test_targets_files_in_order(void **state)
{
    char *p1 = tmp_text("one.example\nbad..example\n");
    char *p2 = tmp_text("two.example\n");
    char *p3 = tmp_text("three.example\none.example\nx:99999\n");
    const char *paths[3] = {p1, p2, p3};
    char expect[512];
    struct run r;

    (void)state;
    run_paths(paths, 3, NULL, &r);
    assert_int_equal(r.n, 3);
    snprintf(expect, sizeof(expect), "one.example|443|one.example|%s:1", p1);
    assert_string_equal(r.eps[0], expect);
    snprintf(expect, sizeof(expect), "two.example|443|two.example|%s:1", p2);
    assert_string_equal(r.eps[1], expect);
    snprintf(expect, sizeof(expect), "three.example|443|three.example|%s:1", p3);
    assert_string_equal(r.eps[2], expect);
    assert_int_equal(r.st.duplicates, 1);
    assert_int_equal(r.st.lines, 6);
    /* Line numbers restart in each file. */
    snprintf(expect, sizeof(expect), "%s:2: empty label", p1);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:3: bad port '99999'", p3);
    assert_non_null(strstr(r.errtext, expect));
    run_free(&r);
    rm_file(p1);
    rm_file(p2);
    rm_file(p3);
}

static void
test_targets_open_errors(void **state)
{
    char *p1 = tmp_text("one.example\n");
    const char *paths[3] = {p1, "/nonexistent/tw/targets.txt", "/tmp"};
    struct tw_targets_opts o;
    struct tw_targets *t = NULL;
    char err[TW_ERRLEN];
    static const uint16_t zero[] = {0};

    (void)state;
    assert_int_equal(tw_targets_open(paths, 2, NULL, &t, err), -1);
    assert_null(t);
    assert_non_null(strstr(err, "/nonexistent/tw/targets.txt"));
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(tw_targets_open(paths + 2, 1, NULL, &t, err), -1);
    assert_non_null(strstr(err, "Is a directory"));

    memset(&o, 0, sizeof(o));
    o.shard_k = 5;
    o.shard_n = 4;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), -1);
    assert_non_null(strstr(err, "shard"));
    o.shard_k = 0;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), -1);
    o.shard_k = 1;
    o.shard_n = 0;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), -1);
    memset(&o, 0, sizeof(o));
    o.ports = zero;
    o.n_ports = 1;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), -1);
    assert_non_null(strstr(err, "port"));
    rm_file(p1);
}

static void
test_targets_long_line(void **state)
{
    /* Over TW_LINE_MAX but under TW_LINE_HARD_MAX: skipped, reading goes on
     * (a longer one ends the file: test_targets_hard_long_line). */
    size_t big = 60000, n = 0;
    char *text = malloc(big + 200);
    char *path, expect[512];
    const char *paths[1];
    struct run r;

    (void)state;
    assert_non_null(text);
    n += (size_t)snprintf(text + n, 200, "first.example\n");
    memset(text + n, 'a', big);
    n += big;
    n += (size_t)snprintf(text + n, 200, "\nnext.example:8443\n");
    path = tmp_file(text, n);
    paths[0] = path;
    run_paths(paths, 1, NULL, &r);
    assert_int_equal(r.n, 2);
    assert_true(run_has(&r, "first.example|443|"));
    snprintf(expect, sizeof(expect), "next.example|8443|next.example|%s:3", path);
    assert_string_equal(r.eps[1], expect);
    snprintf(expect, sizeof(expect), "%s:2: line too long (over %d bytes)\n", path, TW_LINE_MAX);
    assert_string_equal(r.errtext, expect);
    assert_int_equal(r.st.bad, 1);
    run_free(&r);
    rm_file(path);

    /* Exactly TW_LINE_MAX bytes is not "too long" (it is a bad name), also
     * with a CRLF; one byte more is. */
    n = 0;
    memset(text, 'b', TW_LINE_MAX);
    n = TW_LINE_MAX;
    text[n++] = '\r';
    text[n++] = '\n';
    memset(text + n, 'c', TW_LINE_MAX + 1);
    n += TW_LINE_MAX + 1;
    text[n++] = '\n';
    /* An over-long last line without a newline. */
    memset(text + n, 'd', TW_LINE_MAX + 7);
    n += TW_LINE_MAX + 7;
    path = tmp_file(text, n);
    paths[0] = path;
    run_paths(paths, 1, NULL, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.st.bad, 3);
    snprintf(expect, sizeof(expect), "%s:1: host name too long", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:2: line too long", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:3: line too long", path);
    assert_non_null(strstr(r.errtext, expect));
    run_free(&r);
    rm_file(path);
    free(text);
}

/* A line of more than TW_LINE_HARD_MAX bytes ends its file at once: reported
 * as "not a target list", nothing after it is read, and the other files are
 * still read. */
static void
test_targets_hard_long_line(void **state)
{
    size_t big = 100 * 1024, n = 0;
    char *text = malloc(big + 200);
    char *path, *p2 = tmp_text("other.example\n");
    char expect[512];
    const char *paths[2];
    const char *zero[1] = {"/dev/zero"};
    struct run r;

    (void)state;
    assert_non_null(text);
    /* Without a newline at all (fed through a file: the reader takes paths). */
    memset(text, 'a', big);
    n = big;
    path = tmp_file(text, n);
    paths[0] = path;
    paths[1] = p2;
    run_paths(paths, 2, NULL, &r);
    snprintf(expect, sizeof(expect), "%s:1: line too long (over %d bytes): not a target list\n",
             path, TW_LINE_HARD_MAX);
    assert_string_equal(r.errtext, expect);
    assert_int_equal(r.n, 1);
    assert_true(run_has(&r, "other.example|443|"));
    assert_int_equal(r.st.bad, 1);
    assert_int_equal(r.st.refused_files, 1);
    run_free(&r);
    rm_file(path);

    /* After 1,000 good lines (probation passed): the targets before it are
     * used, nothing after it is read. */
    n = 0;
    for (int i = 0; i < TW_TARGETS_PROBE_LINES; i++)
        n += (size_t)snprintf(text + n, 32, "h%d.example\n", i % 10);
    path = malloc(n + big + 64);
    assert_non_null(path);
    memcpy(path, text, n);
    memset(path + n, 'b', big);
    memcpy(path + n + big, "\nlate.example\n", 14);
    {
        char *tmp = tmp_file(path, n + big + 14);

        free(path);
        path = tmp;
    }
    paths[0] = path;
    run_paths(paths, 1, NULL, &r);
    assert_int_equal(r.n, 10);
    assert_false(run_has(&r, "late.example|"));
    snprintf(expect, sizeof(expect), "%s:%d: line too long (over %d bytes): not a target list\n",
             path, TW_TARGETS_PROBE_LINES + 1, TW_LINE_HARD_MAX);
    assert_string_equal(r.errtext, expect);
    run_free(&r);
    rm_file(path);

    /* /dev/zero itself ends (it has no newline, ever). */
    run_paths(zero, 1, NULL, &r);
    assert_int_equal(r.n, 0);
    assert_string_equal(r.errtext,
                        "/dev/zero:1: line too long (over 65536 bytes): not a target list\n");
    run_free(&r);
    rm_file(p2);
    free(text);
}

/* Control bytes, DEL, bytes >= 0x80 and NUL are rejected with file:line. */
static void
test_targets_nonprintable_lines(void **state)
{
    static const char data[] = "ok.example\n"
                               "esc\x1b[31m.example\n"
                               "caf\xff.example\n"
                               "nul\0.example\n"
                               "del\x7f.example\n"
                               "caf\xc3\xa9.example\n"
                               "ok2.example\r\n";
    char *path = tmp_file(data, sizeof(data) - 1);
    const char *paths[1] = {path};
    char expect[512];
    struct run r;

    (void)state;
    run_paths(paths, 1, NULL, &r);
    assert_int_equal(r.n, 2);
    assert_true(run_has(&r, "ok.example|443|"));
    assert_true(run_has(&r, "ok2.example|443|"));
    assert_int_equal(r.st.bad, 5);
    snprintf(expect, sizeof(expect), "%s:2: control character 0x1b", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:3: invalid UTF-8 byte 0xff", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:4: NUL byte", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:5: control character 0x7f", path);
    assert_non_null(strstr(r.errtext, expect));
    snprintf(expect, sizeof(expect), "%s:6: non-ASCII characters", path);
    assert_non_null(strstr(r.errtext, expect));
    assert_non_null(strstr(r.errtext, "punycode"));
    assert_null(strchr(r.errtext, '\x1b'));
    assert_int_equal(r.st.refused_files, 0);
    run_free(&r);
    rm_file(path);
}

/* A file of random binary lines is refused as a whole, even the good lines
 * before the verdict; a file with a few bad lines is used. */
static void
test_targets_not_a_target_list(void **state)
{
    size_t cap = 200 * 1000, n = 0;
    char *text = malloc(cap);
    char *path, *p2, expect[512];
    const char *paths[2];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    struct run r;
    int i, j;

    (void)state;
    assert_non_null(text);
    /* Two good lines first: they must not come out either. */
    n += (size_t)snprintf(text + n, 64, "first.example\n10.0.0.1\n");
    for (i = 0; i < 998; i++) {
        int len = 20 + i % 60;

        for (j = 0; j < len; j++) {
            unsigned char c;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = (unsigned char)(x >> 24);
            text[n++] = (char)(c == '\n' ? 0x80 : c);
        }
        text[n++] = '\n';
    }
    path = tmp_file(text, n);
    p2 = tmp_text("after.example\n");
    paths[0] = path;
    paths[1] = p2;
    run_paths(paths, 2, NULL, &r);
    assert_int_equal(r.n, 1);
    assert_true(run_has(&r, "after.example|443|"));
    snprintf(expect, sizeof(expect), "%s: not a target list (%d of the first ", path,
             TW_TARGETS_PROBE_BAD_MAX + 1);
    assert_non_null(strstr(r.errtext, expect));
    assert_non_null(strstr(r.errtext, " lines are not targets)\n"));
    assert_int_equal(r.st.bad, TW_TARGETS_PROBE_BAD_MAX + 1);
    assert_int_equal(r.st.refused_files, 1);
    /* The refused file's two good lines are no targets (issue 15: a list
     * of only refused files has none, and the scan exits 2). */
    assert_int_equal(r.st.targets, 1);
    run_free(&r);
    rm_file(path);
    rm_file(p2);

    /* Exactly TW_TARGETS_PROBE_BAD_MAX bad lines (of 40): the file is used. */
    n = 0;
    for (i = 0; i < 40; i++)
        n += i % 2 ? (size_t)snprintf(text + n, 64, "bad..example\n")
                   : (size_t)snprintf(text + n, 64, "g%d.example\n", i);
    text[n] = '\0';
    run_text(text, NULL, &r, NULL);
    assert_int_equal(r.n, 20);
    assert_int_equal(r.st.bad, TW_TARGETS_PROBE_BAD_MAX);
    assert_int_equal(r.st.refused_files, 0);
    assert_null(strstr(r.errtext, "not a target list"));
    run_free(&r);
    /* One more bad line: refused. */
    memcpy(text + n, "x:0\n", 5);
    run_text(text, NULL, &r, NULL);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.st.refused_files, 1);
    assert_non_null(strstr(r.errtext, ": not a target list (21 of the first 41 lines"));
    run_free(&r);

    /* Bad lines after the first 1,000 do not refuse the file. */
    n = 0;
    for (i = 0; i < TW_TARGETS_PROBE_LINES; i++)
        n += (size_t)snprintf(text + n, 64, "g%d.example\n", i % 7);
    for (i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, 64, "bad..example\n");
    n += (size_t)snprintf(text + n, 64, "last.example\n");
    run_text(text, NULL, &r, NULL);
    assert_int_equal(r.n, 8);
    assert_true(run_has(&r, "last.example|443|"));
    assert_int_equal(r.st.bad, 30);
    assert_int_equal(r.st.refused_files, 0);
    run_free(&r);

    /* A normal file with a few bad lines yields its good targets in order. */
    run_text("a.example\nbad..example\nb.example:8443\n\x01\nc.example\n", NULL, &r, &path);
    assert_int_equal(r.n, 3);
    snprintf(expect, sizeof(expect), "a.example|443|a.example|%s:1", path);
    assert_string_equal(r.eps[0], expect);
    snprintf(expect, sizeof(expect), "b.example|8443|b.example|%s:3", path);
    assert_string_equal(r.eps[1], expect);
    snprintf(expect, sizeof(expect), "c.example|443|c.example|%s:5", path);
    assert_string_equal(r.eps[2], expect);
    assert_int_equal(r.st.bad, 2);
    run_free(&r);
    rm_file(path);
    free(text);
}

static void
test_targets_binary_line(void **state)
{
    static const char data[] = "ok.example\n\x00\x01\x02\xff\xfe garbage\nok2.example\n";
    char *path = tmp_file(data, sizeof(data) - 1);
    const char *paths[1] = {path};
    char expect[512];
    struct run r;

    (void)state;
    run_paths(paths, 1, NULL, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.st.bad, 1);
    snprintf(expect, sizeof(expect), "%s:2: NUL byte", path);
    assert_non_null(strstr(r.errtext, expect));
    run_free(&r);
    rm_file(path);
}

static void
test_targets_large_range(void **state)
{
    struct tw_targets_opts o;
    struct tw_target_spec sp;
    char reason[256];
    struct tw_targets *t = NULL;
    struct tw_target tg;
    char err[TW_ERRLEN], *path;
    const char *paths[1];
    struct run r;
    int i;

    (void)state;
    assert_int_equal(tw_target_parse_line("10.0.0.0/8", 10, 0, &sp, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "--allow-large-ranges"));
    assert_int_equal(tw_target_parse_line("10.0.0.0/8", 10, 1, &sp, reason, sizeof(reason)), 1);
    assert_int_equal(sp.prefix, 8);
    assert_int_equal(tw_target_parse_line("::/0", 4, 1, &sp, reason, sizeof(reason)), 1);
    assert_int_equal(sp.prefix, 0);

    run_text("10.0.0.0/8\n", NULL, &r, &path);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.st.bad, 1);
    assert_non_null(strstr(r.errtext, "--allow-large-ranges"));
    run_free(&r);

    /* Accepted with the flag and expanded lazily: take the first few only. */
    memset(&o, 0, sizeof(o));
    o.allow_large_ranges = 1;
    paths[0] = path;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(tw_targets_next(t, &tg, err), 1);
    assert_string_equal(tg.host, "10.0.0.3");
    tw_targets_free(t);
    rm_file(path);
}

static void
test_targets_sharding(void **state)
{
    static const char *const lines[] = {
        "a.example",   "b.example:8443",
        "10.1.0.0/26", "[2001:db8::/124]:443",
        "c.example -", "d.example sni.example",
        "192.0.2.7",   "e.example",
        "f.example",   "g.example",
    };
    size_t nl = sizeof(lines) / sizeof(lines[0]), i, k, total = 0, n1 = 0, n2 = 0;
    char text[2048], text2[2048];
    struct tw_targets_opts o;
    struct run all, sh[4], sh2[4];
    char **allk, **merged;
    size_t m = 0;

    (void)state;
    for (i = 0; i < nl; i++) {
        /* text2: a different order, and a duplicate at the end. */
        n1 += (size_t)snprintf(text + n1, sizeof(text) - n1, "%s\n", lines[i]);
        n2 += (size_t)snprintf(text2 + n2, sizeof(text2) - n2, "%s\n", lines[(i * 7 + 3) % nl]);
    }
    snprintf(text2 + n2, sizeof(text2) - n2, "a.example\n");
    run_text(text, NULL, &all, NULL);
    assert_int_equal(all.n, 1 + 1 + 62 + 16 + 1 + 1 + 1 + 3);
    allk = run_keys(&all);
    merged = calloc(all.n + 1, sizeof(*merged));
    assert_non_null(merged);
    for (k = 0; k < 4; k++) {
        memset(&o, 0, sizeof(o));
        o.shard_k = (uint32_t)k + 1;
        o.shard_n = 4;
        run_text(text, &o, &sh[k], NULL);
        run_text(text2, &o, &sh2[k], NULL);
        /* Each shard is not empty here, and shuffling does not move it. */
        assert_true(sh[k].n > 0);
        assert_int_equal(sh[k].st.endpoints + sh[k].st.sharded_out, all.n);
        {
            char **a = run_keys(&sh[k]), **b = run_keys(&sh2[k]);

            assert_int_equal(sh[k].n, sh2[k].n);
            for (i = 0; i < sh[k].n; i++)
                assert_string_equal(a[i], b[i]);
            /* Every shard sees the whole set for its fingerprint. */
            assert_string_equal(sh[k].fp, all.fp);
            assert_string_equal(sh2[k].fp, all.fp);
            for (i = 0; i < sh[k].n; i++)
                merged[m++] = a[i];
            free(a);
            keys_free(b, sh2[k].n);
        }
        total += sh[k].n;
    }
    /* The union is the unsharded set, and the shards are disjoint. */
    assert_int_equal(total, all.n);
    qsort(merged, m, sizeof(*merged), cmp_str);
    for (i = 0; i < m; i++)
        assert_string_equal(merged[i], allk[i]);
    keys_free(merged, m);
    keys_free(allk, all.n);
    run_free(&all);
    for (k = 0; k < 4; k++) {
        run_free(&sh[k]);
        run_free(&sh2[k]);
    }
}

/* Issue 15: the count of valid target lines, which tells a list without a
 * target (exit 2, no scan) from one whose endpoints all went elsewhere. */
static void
test_targets_count_valid_lines(void **state)
{
    struct tw_targets_opts o;
    struct run r;

    (void)state;
    run_text("# only comments\n\n   \n# 10.0.0.1\n", NULL, &r, NULL);
    assert_int_equal(r.st.targets, 0);
    assert_int_equal(r.n, 0);
    run_free(&r);
    run_text("bad..example\n10.0.0.1:0\n", NULL, &r, NULL);
    assert_int_equal(r.st.targets, 0);
    assert_int_equal(r.st.bad, 2);
    run_free(&r);
    /* Every endpoint in other shards: targets were read, none returned. */
    memset(&o, 0, sizeof(o));
    o.shard_n = 64;
    for (o.shard_k = 1; o.shard_k <= 64; o.shard_k++) {
        run_text("a.example\n", &o, &r, NULL);
        if (r.n == 0)
            break;
        run_free(&r);
    }
    assert_true(o.shard_k <= 64);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.st.targets, 1);
    assert_int_equal(r.st.sharded_out, 1);
    run_free(&r);
}

static void
test_targets_fingerprint(void **state)
{
    struct run a, b, c, d, e;

    (void)state;
    run_text("x.example\n10.0.0.0/29\ny.example:8443 s.example\n", NULL, &a, NULL);
    run_text("y.example:8443 s.example\n10.0.0.6\n10.0.0.0/29\nX.EXAMPLE\nx.example:443\n", NULL,
             &b, NULL);
    run_text("x.example\n10.0.0.0/29\ny.example:8443 t.example\n", NULL, &c, NULL);
    run_text("x.example\n10.0.0.0/29\n", NULL, &d, NULL);
    run_text("", NULL, &e, NULL);
    assert_int_equal(strlen(a.fp), 64);
    assert_int_equal(strspn(a.fp, "0123456789abcdef"), 64);
    assert_string_equal(a.fp, b.fp);
    assert_string_not_equal(a.fp, c.fp);
    assert_string_not_equal(a.fp, d.fp);
    assert_string_not_equal(d.fp, e.fp);
    assert_int_equal(e.n, 0);
    /* Valid target lines used (issue 15): 0 tells an empty list apart. */
    assert_int_equal(a.st.targets, 3);
    assert_int_equal(b.st.targets, 5);
    assert_int_equal(e.st.targets, 0);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    run_free(&d);
    run_free(&e);
}

static void
test_targets_hash(void **state)
{
    (void)state;
    /* Known answers from an independent implementation of the documented
     * scheme: fmix64(FNV-1a-64(host 00 port_be has_sni [sni] 00)). */
    assert_true(tw_target_hash("example.com", 443, 1, "example.com") == 0x0a989c1630f0e6a8ULL);
    assert_true(tw_target_hash("10.0.0.1", 8443, 0, NULL) == 0xff7f972293f18774ULL);
    /* SNI text is ignored when has_sni is 0. */
    assert_true(tw_target_hash("10.0.0.1", 8443, 0, "x") ==
                tw_target_hash("10.0.0.1", 8443, 0, ""));
    assert_true(tw_target_hash("a", 443, 1, "") != tw_target_hash("a", 443, 0, ""));
    assert_true(tw_target_hash("a", 443, 1, "b") != tw_target_hash("a", 444, 1, "b"));
    assert_true(tw_target_hash("ab", 443, 1, "") != tw_target_hash("a", 443, 1, "b"));
}

static void
test_targets_ports_parse(void **state)
{
    uint16_t p[TW_PORTS_MAX];
    char err[TW_ERRLEN];

    (void)state;
    assert_int_equal(tw_ports_parse("443", p, TW_PORTS_MAX, err), 1);
    assert_int_equal(p[0], 443);
    assert_int_equal(tw_ports_parse("443,8443", p, TW_PORTS_MAX, err), 2);
    assert_int_equal(p[0], 443);
    assert_int_equal(p[1], 8443);
    assert_int_equal(tw_ports_parse("8000-8010", p, TW_PORTS_MAX, err), 11);
    assert_int_equal(p[0], 8000);
    assert_int_equal(p[10], 8010);
    assert_int_equal(tw_ports_parse("443,8000-8002,443,8001,1,65535", p, TW_PORTS_MAX, err), 6);
    assert_int_equal(p[4], 1);
    assert_int_equal(p[5], 65535);
    assert_int_equal(tw_ports_parse("7-7", p, TW_PORTS_MAX, err), 1);
    assert_int_equal(p[0], 7);
    /* Dedup makes a long list with repeats fit. */
    assert_int_equal(tw_ports_parse("1-64,1-64,64", p, TW_PORTS_MAX, err), 64);

    assert_int_equal(tw_ports_parse("", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(tw_ports_parse("0", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "bad port '0' (1-65535)"));
    assert_int_equal(tw_ports_parse("70000", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "bad port '70000'"));
    assert_int_equal(tw_ports_parse("443, 8443", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "bad character ' '"));
    assert_int_equal(tw_ports_parse("+443", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "'+'"));
    assert_int_equal(tw_ports_parse("443,", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "empty entry"));
    assert_int_equal(tw_ports_parse(",443", p, TW_PORTS_MAX, err), -1);
    assert_int_equal(tw_ports_parse("443,,80", p, TW_PORTS_MAX, err), -1);
    assert_int_equal(tw_ports_parse("9000-8000", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "low > high"));
    assert_int_equal(tw_ports_parse("1-2-3", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "bad port range '1-2-3'"));
    assert_int_equal(tw_ports_parse("-5", p, TW_PORTS_MAX, err), -1);
    assert_int_equal(tw_ports_parse("5-", p, TW_PORTS_MAX, err), -1);
    assert_int_equal(tw_ports_parse("0-10", p, TW_PORTS_MAX, err), -1);
    assert_int_equal(tw_ports_parse("1-65535", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "too many ports"));
    assert_int_equal(tw_ports_parse("1,2,3", p, 2, err), -1);
    assert_non_null(strstr(err, "max 2"));
    assert_int_equal(tw_ports_parse("1,2,2,1", p, 2, err), 2);
    assert_int_equal(tw_ports_parse("44\x01", p, TW_PORTS_MAX, err), -1);
    assert_non_null(strstr(err, "0x01"));
    assert_int_equal(tw_ports_parse(NULL, p, TW_PORTS_MAX, err), -1);
}

/* ---- scheme prefixes (issue 9) ------------------------------------------ */

struct scheme_case {
    const char *line;
    const char *host;
    int family;
    int prefix;
    int port;
    int starttls;
    int sni_mode;
};

static const struct scheme_case scheme_cases[] = {
    {"smtp://mx.example", "mx.example", 0, -1, 25, TW_STARTTLS_SMTP, 0},
    {"smtp://mx.example:2525", "mx.example", 0, -1, 2525, TW_STARTTLS_SMTP, 0},
    {"SMTP://MX.Example", "mx.example", 0, -1, 25, TW_STARTTLS_SMTP, 0},
    {"submission://mx.example", "mx.example", 0, -1, 587, TW_STARTTLS_SMTP, 0},
    {"imap://mail.example", "mail.example", 0, -1, 143, TW_STARTTLS_IMAP, 0},
    {"pop3://mail.example", "mail.example", 0, -1, 110, TW_STARTTLS_POP3, 0},
    {"ftp://ftp.example", "ftp.example", 0, -1, 21, TW_STARTTLS_FTP, 0},
    {"xmpp://chat.example", "chat.example", 0, -1, 5222, TW_STARTTLS_XMPP, 0},
    {"ldap://dir.example", "dir.example", 0, -1, 389, TW_STARTTLS_LDAP, 0},
    {"postgres://db.example", "db.example", 0, -1, 5432, TW_STARTTLS_POSTGRES, 0},
    {"https://www.example", "www.example", 0, -1, 443, TW_STARTTLS_NONE, 0},
    {"https://www.example:8443", "www.example", 0, -1, 8443, TW_STARTTLS_NONE, 0},
    {"smtp://192.0.2.1", "192.0.2.1", AF_INET, -1, 25, TW_STARTTLS_SMTP, 0},
    {"smtp://[2001:db8::1]:25", "2001:db8::1", AF_INET6, -1, 25, TW_STARTTLS_SMTP, 0},
    {"smtp://[2001:db8::1]", "2001:db8::1", AF_INET6, -1, 25, TW_STARTTLS_SMTP, 0},
    {"smtp://192.0.2.0/28", "192.0.2.0", AF_INET, 28, 25, TW_STARTTLS_SMTP, 0},
    {"smtp://192.0.2.0/28:2525", "192.0.2.0", AF_INET, 28, 2525, TW_STARTTLS_SMTP, 0},
    {"imap://[2001:db8::7/126]:993", "2001:db8::4", AF_INET6, 126, 993, TW_STARTTLS_IMAP, 0},
    {"ldap://2001:db8::ff/120", "2001:db8::", AF_INET6, 120, 389, TW_STARTTLS_LDAP, 0},
    {"smtp://mx.example mx2.example", "mx.example", 0, -1, 25, TW_STARTTLS_SMTP, 2},
    {"smtp://192.0.2.1 -", "192.0.2.1", AF_INET, -1, 25, TW_STARTTLS_SMTP, 1},
    {"  xmpp://chat.example:5269  # server port", "chat.example", 0, -1, 5269, TW_STARTTLS_XMPP, 0},
};

static void
test_targets_scheme_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scheme_cases) / sizeof(scheme_cases[0]); i++) {
        const struct scheme_case *c = &scheme_cases[i];
        struct tw_target_spec sp;
        char reason[256];

        if (tw_target_parse_line(c->line, strlen(c->line), 0, &sp, reason, sizeof(reason)) != 1)
            fail_msg("'%s' rejected: %s", c->line, reason);
        assert_string_equal(sp.host, c->host);
        assert_int_equal(sp.family, c->family);
        assert_int_equal(sp.prefix, c->prefix);
        assert_int_equal(sp.port, c->port);
        assert_int_equal(sp.starttls, c->starttls);
        assert_int_equal(sp.sni_mode, c->sni_mode);
    }
}

static const struct bad_case scheme_bad[] = {
    {"gopher://host.example", 0, "unknown scheme 'gopher' (known: smtp, submission"},
    {"smtps://host.example", 0, "unknown scheme 'smtps'"},
    {"://host.example", 0, "empty scheme in '://host.example'"},
    {"smtp://", 0, "no host after 'smtp://' in 'smtp://'"},
    {"smtp:// sni.example", 0, "no host after 'smtp://'"},
    {"smtp://host.example/x", 0,
     "a target has no path: '/x' after the host in "
     "'smtp://host.example/x' (write smtp://HOST[:PORT])"},
    {"smtp://host.example:25/", 0, "a target has no path: '/' after the host"},
    {"https://www.example/index.html", 0, "a target has no path: '/index.html'"},
    {"smtp://192.0.2.1/x", 0, "a target has no path: '/x'"},
    {"smtp://192.0.2.0/24/x", 0, "a target has no path: '/24/x'"},
    {"smtp://[2001:db8::]/120", 0, "a target has no path: '/120'"},
    {"smtp://host.example:0", 0, "bad port '0' (1-65535)"},
    {"smtp://user@host.example", 0, "bad character '@'"},
    {"smtp://smtp://host.example", 0, "a target has no path"},
    {"smtp://10.0.0.0/8", 0, "larger than /16"},
};

static void
test_targets_scheme_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scheme_bad) / sizeof(scheme_bad[0]); i++) {
        struct tw_target_spec sp;
        char reason[256];

        if (tw_target_parse_line(scheme_bad[i].line, strlen(scheme_bad[i].line), 0, &sp, reason,
                                 sizeof(reason)) != -1)
            fail_msg("'%s' accepted", scheme_bad[i].line);
        if (strstr(reason, scheme_bad[i].reason) == NULL)
            fail_msg("'%s': reason '%s' lacks '%s'", scheme_bad[i].line, reason,
                     scheme_bad[i].reason);
        assert_int_equal(sp.starttls, 0); /* a rejected line leaves a clean spec */
    }
}

static void
test_targets_scheme_reader(void **state)
{
    static const uint16_t ports[] = {443, 8443};
    const char *text = "smtp://mx.example\n"
                       "mx.example:25\n"           /* direct TLS: another endpoint */
                       "smtp://mx.example:25\n"    /* duplicate of line 1 */
                       "submission://mx.example\n" /* port 587 */
                       "smtp://mx.example:587\n"   /* duplicate of line 4 */
                       "https://www.example\n"     /* 443 only, not --ports */
                       "www.example:443\n"         /* duplicate of line 6 */
                       "imap://192.0.2.0/30\n"     /* 2 hosts */
                       "www.example\n";            /* --ports: 443 (dup) and 8443 */
    struct tw_targets_opts o;
    struct tw_targets *t = NULL;
    struct tw_target tg;
    char err[TW_ERRLEN], *path = tmp_text(text), buf[TW_HOST_MAX + 32];
    const char *paths[1] = {path};
    static const char *const want[] = {
        "mx.example|25|smtp", "mx.example|25|",     "mx.example|587|smtp", "www.example|443|",
        "192.0.2.1|143|imap", "192.0.2.2|143|imap", "www.example|8443|",
    };
    size_t n = 0;
    int rc;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.ports = ports;
    o.n_ports = 2;
    assert_int_equal(tw_targets_open(paths, 1, &o, &t, err), 0);
    while ((rc = tw_targets_next(t, &tg, err)) == 1) {
        snprintf(buf, sizeof(buf), "%s|%u|%s", tg.host, (unsigned)tg.port,
                 tw_starttls_name(tg.starttls));
        assert_true(n < sizeof(want) / sizeof(want[0]));
        assert_string_equal(buf, want[n]);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    tw_targets_free(t);
    rm_file(path);
}

static void
test_targets_hash_starttls(void **state)
{
    (void)state;
    /* Direct-TLS hashes are what they were before schemes existed. */
    assert_true(tw_target_hash_ex("example.com", 443, 1, "example.com", 0) ==
                0x0a989c1630f0e6a8ULL);
    assert_true(tw_target_hash_ex("10.0.0.1", 8443, 0, NULL, TW_STARTTLS_NONE) ==
                tw_target_hash("10.0.0.1", 8443, 0, NULL));
    /* A protocol makes another endpoint, and each protocol its own. */
    for (int p = TW_STARTTLS_SMTP; p < TW_STARTTLS__COUNT; p++) {
        assert_true(tw_target_hash_ex("mx.example", 25, 1, "mx.example", p) !=
                    tw_target_hash("mx.example", 25, 1, "mx.example"));
        for (int q = p + 1; q < TW_STARTTLS__COUNT; q++)
            assert_true(tw_target_hash_ex("mx.example", 25, 1, "mx.example", p) !=
                        tw_target_hash_ex("mx.example", 25, 1, "mx.example", q));
    }
    /* Stable across runs: the protocol's name is hashed, not its number. */
    assert_true(tw_target_hash_ex("mx.example", 25, 1, "mx.example", TW_STARTTLS_SMTP) ==
                tw_target_hash_ex("mx.example", 25, 1, "mx.example", TW_STARTTLS_SMTP));
}

/* --rate (issue 16): fractions and "/s" are accepted, exactly; anything
 * else (negative, inf, nan, hex, blanks, other units, out of range) is not. */
static void
test_config_parse_rate(void **state)
{
    static const char *const bad[] = {"",    "-1", "inf",    "nan",      "0x10", " 1", "1 ",
                                      "1/m", "1/", "0.0001", "10000001", "1e3",  "/s", "1.5.2"};
    double r = -1;

    (void)state;
    assert_int_equal(tw_config_parse_rate("0.5", &r), 0);
    assert_true(r == 0.5);
    assert_int_equal(tw_config_parse_rate("0.5/s", &r), 0);
    assert_true(r == 0.5);
    assert_int_equal(tw_config_parse_rate("20", &r), 0);
    assert_true(r == 20.0);
    assert_int_equal(tw_config_parse_rate("0", &r), 0);
    assert_true(r == 0.0);
    assert_int_equal(tw_config_parse_rate(".25", &r), 0);
    assert_true(r == 0.25);
    assert_int_equal(tw_config_parse_rate("0.001", &r), 0);
    assert_int_equal(tw_config_parse_rate("10000000", &r), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = 7;
        if (tw_config_parse_rate(bad[i], &r) != -1 || r != 7)
            fail_msg("--rate '%s' accepted", bad[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets_parse_accepts),
        cmocka_unit_test(test_config_parse_rate),
        cmocka_unit_test(test_targets_parse_blank),
        cmocka_unit_test(test_targets_parse_long_names),
        cmocka_unit_test(test_targets_parse_rejects),
        cmocka_unit_test(test_targets_parse_reason_bounded),
        cmocka_unit_test(test_targets_cidr_counts),
        cmocka_unit_test(test_targets_ports_multiply),
        cmocka_unit_test(test_targets_order_and_lines),
        cmocka_unit_test(test_targets_dedup),
        cmocka_unit_test(test_targets_sni_defaults),
        cmocka_unit_test(test_targets_crlf_comments),
        cmocka_unit_test(test_targets_stdin),
        cmocka_unit_test(test_targets_files_in_order),
        cmocka_unit_test(test_targets_open_errors),
        cmocka_unit_test(test_targets_long_line),
        cmocka_unit_test(test_targets_hard_long_line),
        cmocka_unit_test(test_targets_nonprintable_lines),
        cmocka_unit_test(test_targets_not_a_target_list),
        cmocka_unit_test(test_targets_binary_line),
        cmocka_unit_test(test_targets_large_range),
        cmocka_unit_test(test_targets_sharding),
        cmocka_unit_test(test_targets_fingerprint),
        cmocka_unit_test(test_targets_count_valid_lines),
        cmocka_unit_test(test_targets_hash),
        cmocka_unit_test(test_targets_ports_parse),
        cmocka_unit_test(test_targets_scheme_accepts),
        cmocka_unit_test(test_targets_scheme_rejects),
        cmocka_unit_test(test_targets_scheme_reader),
        cmocka_unit_test(test_targets_hash_starttls),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
