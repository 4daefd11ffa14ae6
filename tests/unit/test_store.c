/*
 * test_store.c - the database layer: what goes in comes out (checked with
 * SQL, as users query it), certificates once, hostile text intact, schema
 * versions, read-only opens, resume helpers, and shard merge.
 *
 * Every test works in its own mkdtemp directory under /tmp, removed after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/log.h"
#include "store/graderec.h"
#include "store/merge.h"
#include "store/model.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

static int
setup(void **state)
{
    *state = fx_new("store");
    return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* A certificate whose fingerprint is derived from n. */
static void
fill_cert(struct tw_cert *c, unsigned n)
{
    char buf[128];

    memset(c, 0, sizeof(*c));
    snprintf(c->sha256, sizeof(c->sha256), "%064x", n);
    snprintf(buf, sizeof(buf), "CN=cert %u,O=Test", n);
    c->subject = strdup(buf);
    c->issuer = strdup("CN=Test CA");
    snprintf(c->not_before, sizeof(c->not_before), "%s", "2025-01-01T00:00:00Z");
    snprintf(c->not_after, sizeof(c->not_after), "%s", "2026-01-01T00:00:00Z");
    snprintf(c->key_type, sizeof(c->key_type), "%s", "RSA");
    c->key_bits = 2048;
    snprintf(c->sig_alg, sizeof(c->sig_alg), "%s", "sha256WithRSAEncryption");
    snprintf(buf, sizeof(buf), "DNS:host%u.example", n);
    c->san = strdup(buf);
    snprintf(buf, sizeof(buf), "-----BEGIN CERTIFICATE-----\n%u\n-----END CERTIFICATE-----\n", n);
    c->pem = strdup(buf);
}

/* A result for host:port at ip, with SNI when sni != NULL, and a chain of
 * the certificates numbered certs[0..n_certs). */
static struct tw_result *
make_result(const char *host, const char *ip, int port, const char *sni, const unsigned *certs,
            size_t n_certs)
{
    struct tw_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    snprintf(r->host, sizeof(r->host), "%s", host);
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
    r->port = (uint16_t)port;
    if (sni != NULL) {
        r->has_sni = 1;
        snprintf(r->sni, sizeof(r->sni), "%s", sni);
    }
    r->cls = TW_CLASS_OK;
    if (n_certs > 0) {
        r->chain = calloc(n_certs, sizeof(*r->chain));
        assert_non_null(r->chain);
        for (size_t i = 0; i < n_certs; i++)
            fill_cert(&r->chain[i], certs[i]);
        r->n_chain = n_certs;
        snprintf(r->tls_version, sizeof(r->tls_version), "%s", "TLSv1.3");
        snprintf(r->cipher, sizeof(r->cipher), "%s", "TLS_AES_256_GCM_SHA384");
    }
    return r;
}

static void
put_one(struct tw_store *st, int64_t scan, struct tw_result *r)
{
    char err[TW_ERRLEN];

    assert_int_equal(tw_store_begin(st, err), 0);
    assert_int_equal(tw_store_put_result(st, scan, r, err), 0);
    assert_int_equal(tw_store_commit(st, err), 0);
    tw_result_free(r);
}

static int64_t
q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The text of the first column of the first row, or "<NULL>". */
static void
q_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *s = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    if (sqlite3_column_type(s, 0) == SQLITE_NULL)
        snprintf(out, len, "<NULL>");
    else
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static void
assert_q_text(sqlite3 *db, const char *sql, const char *want)
{
    char got[8192];

    q_text(db, sql, got, sizeof(got));
    assert_string_equal(got, want);
}

static struct tw_store *
open_rw(const char *path)
{
    struct tw_store *st = NULL;
    char err[TW_ERRLEN] = "";

    if (tw_store_open(path, 0, &st, err) != 0)
        fail_msg("open %s: %s", path, err);
    return st;
}

static int64_t
begin_scan(struct tw_store *st, const char *label, const char *shard, const char *targets)
{
    struct tw_scan_meta meta = {label, shard, targets, "--quick", NULL};
    char err[TW_ERRLEN];
    int64_t id = -1;

    assert_int_equal(tw_store_scan_begin(st, &meta, &id, err), 0);
    assert_true(id > 0);
    return id;
}

/* DROWN across the scan (issue 14, store/drown.c): the end of a scan marks
 * the SSLv2 endpoint and every result of the same scan whose leaf has the
 * same key (other certificate), grades them F with a 'drown' reason, and
 * leaves a result with another key, and one of another scan, alone; ending
 * again changes nothing twice. */
static void
test_store_drown_across_scan(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned c1[] = {1}, c2[] = {2}, c3[] = {3}, c4[] = {4};
    const unsigned *chains[] = {c1, c2, c3, c4};
    const char *hosts[] = {"v2.example", "peer.example", "other.example", "later.example"};
    char err[TW_ERRLEN];
    int64_t scan = begin_scan(st, "a", NULL, "x"), scan2;

    for (int i = 0; i < 3; i++) {
        struct tw_result *r = make_result(hosts[i], "192.0.2.1", 443, NULL, chains[i], 1);

        /* certs 1 and 2 share a key; cert 3 has its own. */
        snprintf(r->chain[0].spki_sha256, sizeof(r->chain[0].spki_sha256), "%064x",
                 i == 2 ? 0xbbu : 0xaau);
        put_one(st, scan, r);
    }
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO protocols(result_id, protocol, accepted)"
                                  " SELECT id, 'SSLv2', host = 'v2.example' FROM results;"
                                  "UPDATE results SET grade = 'A';"
                                  "INSERT INTO grades(result_id, grade, grade_trust_ignored,"
                                  " has_warnings, criteria, mode, reasons)"
                                  " SELECT id, 'A', 'A', 0, '2009r', 'strict', '' FROM results;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(tw_store_scan_finish(st, scan, "done", err), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs WHERE spki_sha256 IS NOT NULL"), 3);
    assert_q_text(db,
                  "SELECT group_concat(h, ' ') FROM (SELECT r.host || ':' || v.vulnerable || ':'"
                  " || r.grade || ':' || g.grade || ':' || g.reasons AS h FROM results r"
                  " JOIN vulns v ON v.result_id = r.id AND v.name = 'drown'"
                  " JOIN grades g ON g.result_id = r.id ORDER BY r.id)",
                  "v2.example:1:F:F:drown peer.example:1:F:F:drown other.example:0:A:A:");
    assert_q_text(db,
                  "SELECT v.detail FROM vulns v JOIN results r ON r.id = v.result_id"
                  " WHERE r.host = 'peer.example' AND v.name = 'drown'",
                  "this key is also served with SSLv2 by v2.example:443 (CVE-2016-0800)");
    assert_q_text(db,
                  "SELECT v.detail FROM vulns v JOIN results r ON r.id = v.result_id"
                  " WHERE r.host = 'v2.example' AND v.name = 'drown'",
                  "accepts SSLv2 with this key (CVE-2016-0800)");
    assert_int_equal(
        q_int(db, "SELECT count(*) FROM grade_reasons WHERE code = 'drown' AND cap = 'F'"), 2);

    /* Once per result, and not across scans: a later scan's result with
     * the same key is not DROWN-vulnerable without an SSLv2 endpoint of its own. */
    assert_int_equal(tw_store_scan_finish(st, scan, "done", err), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM grade_reasons WHERE code = 'drown'"), 2);
    assert_q_text(db,
                  "SELECT reasons FROM grades g JOIN results r ON r.id = g.result_id"
                  " WHERE r.host = 'peer.example'",
                  "drown");
    scan2 = begin_scan(st, "b", NULL, "x");
    {
        struct tw_result *r = make_result(hosts[3], "192.0.2.1", 443, NULL, chains[3], 1);

        snprintf(r->chain[0].spki_sha256, sizeof(r->chain[0].spki_sha256), "%064x", 0xaau);
        put_one(st, scan2, r);
    }
    assert_int_equal(tw_store_scan_finish(st, scan2, "done", err), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM vulns v JOIN results r ON r.id = v.result_id"
                               " WHERE r.host = 'later.example' AND v.vulnerable = 1"),
                     0);
    tw_store_close(st);
}

static void
test_store_round_trip(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned chain[] = {7, 8};
    struct tw_result *r =
        make_result("www.example.com", "192.0.2.10", 8443, "www.example.com", chain, 2);
    char want[128], err[TW_ERRLEN];
    int64_t scan = begin_scan(st, "nightly", NULL, "abc123"), t;

    assert_string_equal(tw_store_path(st), f->db);
    r->target = strdup("www.example.com:8443 www.example.com");
    r->cls = TW_CLASS_CERT_EXPIRED;
    r->issues = TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH) | TW_ISSUE(TW_CLASS_CERT_EXPIRED);
    snprintf(r->tls_version, sizeof(r->tls_version), "%s", "TLSv1.2");
    snprintf(r->cipher, sizeof(r->cipher), "%s", "ECDHE-RSA-AES128-GCM-SHA256");
    snprintf(r->grade, sizeof(r->grade), "%s", "T");
    tw_result_set_detail(r, "probes: sni, nosni; verify: 10");
    r->elapsed_ms = 1234;
    r->queue_ms = 567;
    put_one(st, scan, r);

    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 1);
    assert_true(q_int(db, "SELECT scan_id FROM results") == scan);
    assert_q_text(db, "SELECT target FROM results", "www.example.com:8443 www.example.com");
    assert_q_text(db, "SELECT host FROM results", "www.example.com");
    assert_q_text(db, "SELECT ip FROM results", "192.0.2.10");
    assert_int_equal(q_int(db, "SELECT port FROM results"), 8443);
    assert_q_text(db, "SELECT sni FROM results", "www.example.com");
    assert_q_text(db, "SELECT class FROM results", "cert_expired");
    assert_q_text(db, "SELECT issues FROM results", "cert_expired,hostname_mismatch");
    assert_q_text(db, "SELECT tls_version FROM results", "TLSv1.2");
    assert_q_text(db, "SELECT cipher FROM results", "ECDHE-RSA-AES128-GCM-SHA256");
    assert_q_text(db, "SELECT grade FROM results", "T");
    snprintf(want, sizeof(want), "%064x", 7u);
    assert_q_text(db, "SELECT cert_sha256 FROM results", want);
    assert_q_text(db, "SELECT detail FROM results", "probes: sni, nosni; verify: 10");
    assert_int_equal(q_int(db, "SELECT elapsed_ms FROM results"), 1234);
    assert_int_equal(q_int(db, "SELECT queue_ms FROM results"), 567); /* issue 18 */
    q_text(db, "SELECT scanned_at FROM results", want, sizeof(want));
    assert_int_equal(tw_time_parse(want, &t), 0);

    /* The chain, in order, and each certificate's fields. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 2);
    snprintf(want, sizeof(want), "%064x", 8u);
    assert_q_text(db, "SELECT cert_sha256 FROM result_chain WHERE depth = 1", want);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain c JOIN results r"
                               " ON r.id = c.result_id"),
                     2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 2);
    assert_q_text(db, "SELECT subject FROM certs c JOIN results r ON r.cert_sha256 = c.sha256",
                  "CN=cert 7,O=Test");
    assert_q_text(db, "SELECT not_after FROM certs WHERE sha256 LIKE '%7'", "2026-01-01T00:00:00Z");
    assert_int_equal(q_int(db, "SELECT key_bits FROM certs WHERE sha256 LIKE '%7'"), 2048);
    assert_q_text(db,
                  "SELECT key_type || ' ' || sig_alg || ' ' || san FROM certs"
                  " WHERE sha256 LIKE '%8'",
                  "RSA sha256WithRSAEncryption DNS:host8.example");

    /* The scan row. */
    assert_q_text(db, "SELECT label FROM scans", "nightly");
    assert_q_text(db, "SELECT status FROM scans", "running");
    assert_q_text(db, "SELECT targets_sha256 FROM scans", "abc123");
    assert_q_text(db, "SELECT shard FROM scans", "<NULL>");
    assert_int_equal(tw_store_scan_finish(st, scan, "done", err), 0);
    assert_q_text(db, "SELECT status FROM scans", "done");
    assert_int_equal(q_int(db, "SELECT n_endpoints FROM scans"), 1);
    q_text(db, "SELECT finished_at FROM scans", want, sizeof(want));
    assert_int_equal(tw_time_parse(want, &t), 0);
    tw_store_close(st);
}

static void
test_store_cert_stored_once(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned a[] = {1, 100}, b[] = {2, 100}, c[] = {1, 100};
    int64_t scan = begin_scan(st, NULL, NULL, NULL);

    put_one(st, scan, make_result("a.example", "192.0.2.1", 443, "a.example", a, 2));
    put_one(st, scan, make_result("b.example", "192.0.2.2", 443, "b.example", b, 2));
    put_one(st, scan, make_result("a.example", "192.0.2.3", 443, "a.example", c, 2));

    /* 1, 2, and the shared intermediate 100: three certificates, six links. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 6);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT result_id) FROM result_chain"
                               " WHERE cert_sha256 LIKE '%064'"),
                     3);
    tw_store_close(st);
}

static void
test_store_hostile_strings(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned chain[] = {5};
    const char *host = "o'brien\".example'); DROP TABLE results;--";
    const char *utf8 = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92 'q' \"dq\"";
    struct tw_result *r = make_result(host, "2001:db8::1", 443, utf8, chain, 1);
    int64_t scan = begin_scan(st, "it's \"quoted\"", NULL, NULL);
    sqlite3_stmt *s = NULL;

    free(r->chain[0].subject);
    r->chain[0].subject = strdup("CN=\xc3\xa9vil',O=\"x\"");
    tw_result_set_detail(r, utf8);
    put_one(st, scan, r);

    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 1);
    assert_q_text(db, "SELECT host FROM results", host);
    assert_q_text(db, "SELECT sni FROM results", utf8);
    assert_q_text(db, "SELECT detail FROM results", utf8);
    assert_q_text(db, "SELECT subject FROM certs", "CN=\xc3\xa9vil',O=\"x\"");
    assert_q_text(db, "SELECT label FROM scans", "it's \"quoted\"");
    /* Stored as the exact bytes: a lookup by value finds the row. */
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM results WHERE host = ?1", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    tw_store_close(st);
}

/* Issue 15: control bytes and the backslash in a certificate's display
 * text are stored as "\xNN", so a user's own sqlite3 query cannot drive a
 * terminal; the PEM keeps its bytes. */
static void
test_store_cert_text_escaped(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned chain[] = {6};
    struct tw_result *r = make_result("ctl.example", "192.0.2.6", 443, NULL, chain, 1);
    int64_t scan = begin_scan(st, NULL, NULL, NULL);
    const char *pem = "-----BEGIN CERTIFICATE-----\n\x1b[2J\\raw\n-----END CERTIFICATE-----\n";

    free(r->chain[0].subject);
    r->chain[0].subject = strdup("CN=\x1b]0;pwned\a\x1b[31mred\r\nX: 1\t\x7f,O=a\\b");
    free(r->chain[0].issuer);
    r->chain[0].issuer = strdup("CN=\x01"
                                "CA\x1f \xc3\xa9");
    free(r->chain[0].san);
    r->chain[0].san = strdup("DNS:\x1b[0mok.example,DNS:x\\x1b.example");
    free(r->chain[0].pem);
    r->chain[0].pem = strdup(pem);
    put_one(st, scan, r);

    assert_q_text(db, "SELECT subject FROM certs",
                  "CN=\\x1b]0;pwned\\x07\\x1b[31mred\\x0d\\x0aX: 1\\x09\\x7f,O=a\\x5cb");
    assert_q_text(db, "SELECT issuer FROM certs", "CN=\\x01CA\\x1f \xc3\xa9");
    /* A literal "\x1b" in the certificate stays distinguishable from ESC. */
    assert_q_text(db, "SELECT san FROM certs", "DNS:\\x1b[0mok.example,DNS:x\\x5cx1b.example");
    assert_int_equal(q_int(db,
                           "SELECT count(*) FROM certs WHERE subject GLOB '*[\x01-\x1f\x7f]*'"
                           " OR san GLOB '*[\x01-\x1f\x7f]*' OR issuer GLOB '*[\x01-\x1f\x7f]*'"),
                     0);
    assert_q_text(db, "SELECT pem FROM certs", pem);
    tw_store_close(st);
}

/* Escaping keeps the field's bound: a subject of 4,095 control bytes is
 * stored cut at a whole "\xNN" and ends in "...". */
static void
test_store_cert_text_escaped_bounded(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned chain[] = {8};
    struct tw_result *r = make_result("long.example", "192.0.2.8", 443, NULL, chain, 1);
    int64_t scan = begin_scan(st, NULL, NULL, NULL);
    char *subject = malloc(TW_CERT_FIELD_MAX);
    char got[8192];
    size_t n;

    assert_non_null(subject);
    memset(subject, '\x1b', TW_CERT_FIELD_MAX - 1);
    subject[TW_CERT_FIELD_MAX - 1] = '\0';
    free(r->chain[0].subject);
    r->chain[0].subject = subject;
    put_one(st, scan, r);

    q_text(db, "SELECT subject FROM certs", got, sizeof(got));
    n = strlen(got);
    assert_true(n <= TW_CERT_FIELD_MAX - 1);
    assert_true(n >= TW_CERT_FIELD_MAX - 1 - 6);
    assert_string_equal(got + n - 3, "...");
    assert_int_equal((n - 3) % 4, 0);
    for (size_t i = 0; i + 3 < n; i += 4)
        assert_memory_equal(got + i, "\\x1b", 4);
    tw_store_close(st);
}

/* Issue 15: a finished scan (done or interrupted) leaves an empty -wal, so
 * a reader on read-only media needs none, even while the store stays open. */
static void
test_store_finish_truncates_wal(void **state)
{
    static const char *const statuses[] = {"done", "interrupted"};
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char wal[160];
    char err[TW_ERRLEN];
    struct stat sb;

    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    for (size_t i = 0; i < 2; i++) {
        static const unsigned chain[] = {9};
        int64_t scan = begin_scan(st, NULL, NULL, NULL);

        put_one(st, scan, make_result("wal.example", "192.0.2.9", 443 + (int)i, NULL, chain, 1));
        assert_int_equal(stat(wal, &sb), 0);
        assert_true(sb.st_size > 0);
        assert_int_equal(tw_store_scan_finish(st, scan, statuses[i], err), 0);
        assert_true(stat(wal, &sb) != 0 || sb.st_size == 0);
    }
    tw_store_close(st);
}

static void
test_store_sni_null_and_empty_fields(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    int64_t scan = begin_scan(st, NULL, NULL, NULL);
    struct tw_result *r;

    /* Same host, ip and port: with and without SNI are two endpoints. */
    put_one(st, scan, make_result("h.example", "192.0.2.5", 443, "h.example", NULL, 0));
    put_one(st, scan, make_result("h.example", "192.0.2.5", 443, NULL, NULL, 0));
    r = make_result("gone.example", "", 443, NULL, NULL, 0);
    r->cls = TW_CLASS_DNS_NXDOMAIN;
    r->issues = TW_ISSUE(TW_CLASS_DNS_NXDOMAIN);
    put_one(st, scan, r);

    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM results WHERE sni IS NULL"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM results WHERE sni = 'h.example'"), 1);
    assert_q_text(db, "SELECT ip FROM results WHERE host = 'gone.example'", "");
    assert_q_text(db, "SELECT class FROM results WHERE host = 'gone.example'", "dns_nxdomain");
    assert_q_text(db, "SELECT issues FROM results WHERE host = 'h.example' LIMIT 1", "ok");
    /* Empty fields are NULL, as users' SQL expects. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM results WHERE grade IS NULL AND"
                               " tls_version IS NULL AND cipher IS NULL AND"
                               " cert_sha256 IS NULL AND detail IS NULL AND target IS NULL"),
                     3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 0);
    tw_store_close(st);
}

static void
test_store_duplicate_endpoint_ignored(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    static const unsigned c1[] = {1}, c2[] = {2, 3};
    int64_t scan = begin_scan(st, NULL, NULL, NULL), scan2;
    struct tw_result *r = make_result("d.example", "192.0.2.9", 443, NULL, c1, 1);

    r->cls = TW_CLASS_SELF_SIGNED;
    put_one(st, scan, r);
    put_one(st, scan, make_result("d.example", "192.0.2.9", 443, NULL, c2, 2));

    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 1);
    assert_q_text(db, "SELECT class FROM results", "self_signed"); /* the first wins */
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 1);

    /* The same endpoint in another scan is a new row. */
    scan2 = begin_scan(st, NULL, NULL, NULL);
    put_one(st, scan2, make_result("d.example", "192.0.2.9", 443, NULL, c2, 2));
    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 3);
    tw_store_close(st);
}

/*
 * The groups table names a named group by its IANA name from tls/suites.h,
 * also for groups outside the 17 names store.c once listed itself (31, a
 * TLS 1.3 brainpool curve; 0x11EB, a post-quantum hybrid), and an id the
 * table does not know by its hex value.  A DHE group seen only by its size
 * is "dhe" and the size.
 */
static void
test_store_group_names(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    sqlite3 *db = tw_store_db(st);
    int64_t scan = begin_scan(st, NULL, NULL, NULL);
    struct tw_result *r = make_result("g.example", "192.0.2.31", 443, "g.example", NULL, 0);
    struct tw_grade_record *g = calloc(1, sizeof(*g));
    static const struct tw_grec_group groups[] = {
        {31, 256},
        {0x11EB, 256},
        {0x7777, 0},
        {0, 2048},
    };

    assert_non_null(g);
    memcpy(g->groups, groups, sizeof(groups));
    g->n_groups = (int)(sizeof(groups) / sizeof(groups[0]));
    g->secure_reneg = -1;
    g->hsts_max_age = -1;
    r->grading = g;
    put_one(st, scan, r);

    assert_int_equal(q_int(db, "SELECT count(*) FROM groups"), 4);
    assert_q_text(db, "SELECT name FROM groups WHERE group_id = 31", "brainpoolP256r1tls13");
    assert_int_equal(q_int(db, "SELECT bits FROM groups WHERE group_id = 31"), 256);
    assert_q_text(db, "SELECT name FROM groups WHERE group_id = 4587", "SecP256r1MLKEM768");
    assert_q_text(db, "SELECT name FROM groups WHERE group_id = 30583", "0x7777");
    assert_q_text(db, "SELECT bits FROM groups WHERE group_id = 30583", "<NULL>");
    assert_q_text(db, "SELECT group_id FROM groups WHERE name = 'dhe2048'", "<NULL>");
    assert_int_equal(q_int(db, "SELECT bits FROM groups WHERE name = 'dhe2048'"), 2048);
    /* Every row belongs to the one result. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM groups AS g JOIN results AS r"
                               " ON r.id = g.result_id WHERE r.host = 'g.example'"),
                     4);
    tw_store_close(st);
}

static void
test_store_user_version_and_wal(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char mode[32];

    assert_int_equal(q_int(tw_store_db(st), "PRAGMA user_version"), TW_SCHEMA_VERSION);
    q_text(tw_store_db(st), "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    tw_store_close(st);
    /* Opening again neither fails nor re-runs the migration. */
    st = open_rw(f->db);
    assert_int_equal(q_int(tw_store_db(st), "PRAGMA user_version"), TW_SCHEMA_VERSION);
    tw_store_close(st);
}

static void
test_store_newer_version_refused(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char err[TW_ERRLEN] = "";

    assert_int_equal(sqlite3_exec(tw_store_db(st), "PRAGMA user_version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    tw_store_close(st);
    st = NULL;

    assert_int_equal(tw_store_open(f->db, 0, &st, err), -1);
    assert_null(st);
    assert_non_null(strstr(err, f->db));
    assert_non_null(strstr(err, "newer"));
    err[0] = '\0';
    assert_int_equal(tw_store_open(f->db, TW_STORE_READONLY, &st, err), -1);
    assert_non_null(strstr(err, f->db));
    assert_non_null(strstr(err, "newer"));
}

static void
test_store_readonly_missing_file(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = NULL;
    char path[256], err[TW_ERRLEN] = "";
    struct stat sb;

    fx_path(f, "missing.db", path, sizeof(path));
    assert_int_equal(tw_store_open(path, TW_STORE_READONLY, &st, err), -1);
    assert_null(st);
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strstr(err, path));
    assert_int_equal(stat(path, &sb), -1); /* and nothing was created */

    /* A writable open in a missing directory says so too. */
    fx_path(f, "no/such/dir.db", path, sizeof(path));
    err[0] = '\0';
    assert_int_equal(tw_store_open(path, 0, &st, err), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strstr(err, path));
}

static void
test_store_readonly_refuses_writes(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char err[TW_ERRLEN] = "", want[256];
    struct tw_scan_meta meta = {"x", NULL, NULL, NULL, NULL};
    int64_t id;

    begin_scan(st, "x", NULL, NULL);
    tw_store_close(st);
    st = NULL;
    assert_int_equal(tw_store_open(f->db, TW_STORE_READONLY, &st, err), 0);
    assert_int_equal(q_int(tw_store_db(st), "SELECT count(*) FROM scans"), 1);
    assert_int_equal(tw_store_scan_begin(st, &meta, &id, err), -1);
    snprintf(want, sizeof(want), "%s: attempt to write a readonly database", f->db);
    assert_string_equal(err, want);
    tw_store_close(st);
}

static void
test_store_not_a_database(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = NULL;
    char err[TW_ERRLEN] = "";
    FILE *fp = fopen(f->db, "w");

    assert_non_null(fp);
    fputs("GET / HTTP/1.0\r\n\r\nthis is not a database, just text long enough to matter\n", fp);
    fclose(fp);
    assert_int_equal(tw_store_open(f->db, 0, &st, err), -1);
    assert_null(st);
    assert_non_null(strstr(err, f->db));
}

struct walk {
    int n;
    int n_sni;
    int stop_after;
    char hosts[512];
};

static int
walk_cb(void *arg, const char *host, int port, int has_sni, const char *sni, const char *starttls)
{
    struct walk *w = arg;
    size_t len = strlen(w->hosts);

    snprintf(w->hosts + len, sizeof(w->hosts) - len, "%s%s%s:%d/%s;", starttls,
             starttls[0] ? "://" : "", host, port, has_sni ? sni : "-");
    w->n++;
    w->n_sni += has_sni;
    if (w->stop_after && w->n == w->stop_after)
        return 7;
    return 0;
}

static void
test_store_each_endpoint(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char err[TW_ERRLEN];
    int64_t s1 = begin_scan(st, NULL, NULL, NULL), s2 = begin_scan(st, NULL, NULL, NULL);
    struct walk w;

    put_one(st, s1, make_result("a.example", "192.0.2.1", 443, "a.example", NULL, 0));
    put_one(st, s1, make_result("b.example", "192.0.2.2", 8443, NULL, NULL, 0));
    put_one(st, s1, make_result("c.example", "", 443, "c.example", NULL, 0));
    put_one(st, s2, make_result("z.example", "192.0.2.9", 443, NULL, NULL, 0));
    {
        /* A STARTTLS endpoint is walked with its protocol (issue 15 item 7:
         * --resume must not probe it again). */
        struct tw_result *r = make_result("mx.example", "192.0.2.25", 25, "mx.example", NULL, 0);

        r->starttls = TW_STARTTLS_SMTP;
        put_one(st, s1, r);
    }

    memset(&w, 0, sizeof(w));
    assert_int_equal(tw_store_each_endpoint(st, s1, walk_cb, &w, err), 0);
    assert_int_equal(w.n, 4);
    assert_int_equal(w.n_sni, 3);
    assert_non_null(strstr(w.hosts, "smtp://mx.example:25/mx.example;"));
    assert_non_null(strstr(w.hosts, "a.example:443/a.example;"));
    assert_non_null(strstr(w.hosts, "b.example:8443/-;"));
    assert_non_null(strstr(w.hosts, "c.example:443/c.example;"));
    assert_null(strstr(w.hosts, "z.example"));

    /* A non-zero return stops the walk and comes back. */
    memset(&w, 0, sizeof(w));
    w.stop_after = 2;
    assert_int_equal(tw_store_each_endpoint(st, s1, walk_cb, &w, err), 7);
    assert_int_equal(w.n, 2);
    /* The statement was reset: a second walk starts from the top. */
    memset(&w, 0, sizeof(w));
    assert_int_equal(tw_store_each_endpoint(st, s2, walk_cb, &w, err), 0);
    assert_string_equal(w.hosts, "z.example:443/-;");
    memset(&w, 0, sizeof(w));
    assert_int_equal(tw_store_each_endpoint(st, 999, walk_cb, &w, err), 0);
    assert_int_equal(w.n, 0);
    tw_store_close(st);
}

struct optwalk {
    int n;
    char text[512];
};

static int
optwalk_cb(void *arg, const char *name, int seq, const char *value)
{
    struct optwalk *w = arg;
    size_t len = strlen(w->text);

    snprintf(w->text + len, sizeof(w->text) - len, "%s[%d]=%s;", name, seq, value);
    w->n++;
    return 0;
}

/* Issue 15: a scan's options, trust store and info round-trip for --resume. */
static void
test_store_scan_options(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    struct tw_scan_meta meta = {"night", NULL, NULL, "--ports 1", NULL, "file:/x/ca.pem", NULL};
    struct tw_store_scan_row info;
    struct optwalk w;
    char err[TW_ERRLEN];
    int64_t a = 0, b = 0;

    assert_int_equal(tw_store_scan_begin(st, &meta, &a, err), 0);
    b = begin_scan(st, NULL, NULL, NULL);
    assert_int_equal(tw_store_scan_option_put(st, a, "resolver", 1, "127.0.0.1:53", err), 0);
    assert_int_equal(tw_store_scan_option_put(st, a, "resolver", 0, "[::1]:53", err), 0);
    assert_int_equal(tw_store_scan_option_put(st, a, "ports", 0, "443,8443", err), 0);
    assert_int_equal(tw_store_scan_option_put(st, a, "file", 0, "/t/it's.txt", err), 0);
    /* The same (name, seq) again replaces the value. */
    assert_int_equal(tw_store_scan_option_put(st, a, "ports", 0, "9443", err), 0);
    assert_int_equal(tw_store_scan_option_put(st, b, "ports", 0, "1", err), 0);

    memset(&w, 0, sizeof(w));
    assert_int_equal(tw_store_scan_options_each(st, a, optwalk_cb, &w, err), 0);
    assert_string_equal(w.text, "file[0]=/t/it's.txt;ports[0]=9443;resolver[0]=[::1]:53;"
                                "resolver[1]=127.0.0.1:53;");

    assert_int_equal(tw_store_scan_get(st, a, &info, err), 0);
    assert_string_equal(info.status, "running");
    assert_string_equal(info.label, "night");
    assert_string_equal(info.trust_store, "file:/x/ca.pem");
    assert_null(info.trust_sha256);
    assert_null(info.targets_sha256);
    assert_int_equal(info.n_options, 4);
    assert_int_equal(info.n_results, 0);
    tw_store_scan_row_cleanup(&info);

    assert_int_equal(
        tw_store_scan_set_trust(st, b, "system:/etc/ssl/certs/ca-certificates.crt", "ab12", err),
        0);
    put_one(st, b, make_result("a.example", "192.0.2.1", 443, "a.example", NULL, 0));
    assert_int_equal(tw_store_scan_get(st, b, &info, err), 0);
    assert_string_equal(info.trust_store, "system:/etc/ssl/certs/ca-certificates.crt");
    assert_string_equal(info.trust_sha256, "ab12");
    assert_int_equal(info.n_options, 1);
    assert_int_equal(info.n_results, 1);
    tw_store_scan_row_cleanup(&info);

    assert_int_equal(tw_store_scan_get(st, 4242, &info, err), 1);
    assert_int_equal(tw_store_scan_set_trust(st, 4242, "x", NULL, err), -1);
    tw_store_close(st);
}

static void
test_store_find_resumable(void **state)
{
    struct fx *f = *state;
    struct tw_store *st = open_rw(f->db);
    char err[TW_ERRLEN];
    int64_t a, b, c, d, got = -1;

    assert_int_equal(tw_store_scan_find_resumable(st, &got, err), 1);
    a = begin_scan(st, NULL, NULL, NULL);
    assert_int_equal(tw_store_scan_finish(st, a, "done", err), 0);
    b = begin_scan(st, NULL, NULL, NULL);
    assert_int_equal(tw_store_scan_finish(st, b, "interrupted", err), 0);
    c = begin_scan(st, NULL, NULL, NULL);
    assert_int_equal(tw_store_scan_finish(st, c, "done", err), 0);
    assert_int_equal(tw_store_scan_find_resumable(st, &got, err), 0);
    assert_true(got == b);

    /* Reopened, it is 'running' and still the one to resume. */
    assert_int_equal(tw_store_scan_reopen(st, b, err), 0);
    assert_q_text(tw_store_db(st), "SELECT status FROM scans WHERE id = 2", "running");
    assert_q_text(tw_store_db(st), "SELECT finished_at FROM scans WHERE id = 2", "<NULL>");
    assert_int_equal(tw_store_scan_find_resumable(st, &got, err), 0);
    assert_true(got == b);
    /* A newer scan left 'running' by a crash wins. */
    d = begin_scan(st, NULL, NULL, NULL);
    assert_int_equal(tw_store_scan_find_resumable(st, &got, err), 0);
    assert_true(got == d);
    assert_int_equal(tw_store_scan_finish(st, d, "done", err), 0);
    assert_int_equal(tw_store_scan_finish(st, b, "done", err), 0);
    assert_int_equal(tw_store_scan_find_resumable(st, &got, err), 1);

    /* Bad status and unknown scans are errors. */
    assert_int_equal(tw_store_scan_finish(st, a, "running", err), -1);
    assert_int_equal(tw_store_scan_finish(st, a, "bogus", err), -1);
    assert_int_equal(tw_store_scan_finish(st, 12345, "done", err), -1);
    assert_non_null(strstr(err, "12345"));
    assert_int_equal(tw_store_scan_reopen(st, 12345, err), -1);
    tw_store_close(st);
}

/* ---- merge ---- */

/* A shard database at dir/name holding hosts[0..n) (each with a chain of its
 * own leaf, numbered from its first two letters, and the shared intermediate
 * 900). */
/* Schema 8 (issue 16): latest keeps only the newest complete scan's
 * endpoints (history stays in results) and carries result_id; grade_rank()
 * agrees with grades_order; the new views answer. */
static void
test_store_views_easy_sql(void **state)
{
    struct fx *f = *state;
    char path[256], err[TW_ERRLEN];
    unsigned leaf = 7;
    struct tw_store *st;
    struct tw_result *r;
    sqlite3 *db;
    int64_t s1, s2, s3;

    fx_path(f, "views.db", path, sizeof(path));
    st = open_rw(path);
    db = tw_store_db(st);
    s1 = begin_scan(st, "night", NULL, "t1");
    put_one(st, s1, make_result("gone.example", "192.0.2.1", 443, "gone.example", NULL, 0));
    put_one(st, s1, make_result("kept.example", "192.0.2.2", 443, "kept.example", &leaf, 1));
    assert_int_equal(tw_store_scan_finish(st, s1, "done", err), 0);
    s2 = begin_scan(st, "night", NULL, "t2");
    r = make_result("kept.example", "192.0.2.2", 443, "kept.example", &leaf, 1);
    snprintf(r->grade, sizeof(r->grade), "B");
    put_one(st, s2, r);
    put_one(st, s2, make_result("new.example", "192.0.2.3", 443, NULL, NULL, 0));
    assert_int_equal(tw_store_scan_finish(st, s2, "done", err), 0);
    /* A newer interrupted scan changes nothing. */
    s3 = begin_scan(st, "night", NULL, "t2");
    put_one(st, s3, make_result("new.example", "192.0.2.3", 443, NULL, NULL, 0));
    assert_int_equal(tw_store_scan_finish(st, s3, "interrupted", err), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE scans SET started_at = '2026-01-0' || id || 'T00:00:00Z',"
                                  " now_at = CASE id WHEN 2 THEN '2025-12-02T00:00:00Z' END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);

    assert_int_equal(q_int(db, "SELECT scan_id FROM latest_scan"), s2);
    assert_q_text(db, "SELECT group_concat(host, ',') FROM (SELECT host FROM latest ORDER BY host)",
                  "kept.example,new.example");
    assert_int_equal(q_int(db, "SELECT count(*) FROM results WHERE host = 'gone.example'"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM latest l JOIN results r ON r.id = l.result_id"
                               " WHERE r.scan_id = l.scan_id AND r.host = l.host"),
                     2);
    /* The certificate's days count from the scan's --now (2025-12-02), not from today. */
    assert_int_equal(q_int(db, "SELECT days_left FROM cert_inventory"), 30);
    assert_int_equal(q_int(db, "SELECT endpoints FROM cert_inventory"), 1);
    assert_q_text(db, "SELECT san FROM cert_inventory", "DNS:host7.example");
    assert_q_text(db,
                  "SELECT protocol || '/' || source FROM enabled_protocols"
                  " WHERE host = 'kept.example'",
                  "TLSv1.3/negotiated");
    assert_int_equal(q_int(db, "SELECT count(*) FROM problems WHERE kind = 'expiry'"), 0);

    /* grade_rank() is grades_order, letter by letter; NULL for non-grades. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM grades_order"), 10);
    assert_int_equal(
        q_int(db, "SELECT count(*) FROM grades_order WHERE grade_rank(grade) = severity"), 10);
    assert_int_equal(q_int(db, "SELECT grade_rank('F') > grade_rank('T') AND grade_rank('T') >"
                               " grade_rank('M') AND grade_rank('A+') = 0"),
                     1);
    assert_int_equal(q_int(db, "SELECT grade_rank('Z') IS NULL AND grade_rank(NULL) IS NULL"
                               " AND grade_rank('') IS NULL AND grade_rank(3) IS NULL"),
                     1);
    assert_q_text(db, "SELECT grade FROM latest ORDER BY grade_rank(grade) DESC LIMIT 1", "B");
    tw_store_close(st);
}

static void
make_shard(const struct fx *f, const char *name, const char *label, const char *targets,
           const char *shard, const char *status, const char *started, const char *const *hosts,
           size_t n, char *path, size_t len)
{
    struct tw_store *st;
    char err[TW_ERRLEN], sql[256];
    int64_t scan;

    fx_path(f, name, path, len);
    st = open_rw(path);
    /* An older scan first: merge takes the newest. */
    scan = begin_scan(st, "old", NULL, "other");
    put_one(st, scan, make_result("old.example", "192.0.2.250", 443, NULL, NULL, 0));
    assert_int_equal(tw_store_scan_finish(st, scan, "done", err), 0);

    scan = begin_scan(st, label, shard, targets);
    for (size_t i = 0; i < n; i++) {
        unsigned chain[2] = {1000 + (unsigned char)hosts[i][0] * 100u + (unsigned char)hosts[i][1],
                             900};
        char ip[32];

        snprintf(ip, sizeof(ip), "198.51.100.%zu", i + 1);
        put_one(st, scan, make_result(hosts[i], ip, 443, hosts[i], chain, 2));
    }
    if (strcmp(status, "running") != 0)
        assert_int_equal(tw_store_scan_finish(st, scan, status, err), 0);
    snprintf(sql, sizeof(sql), "UPDATE scans SET started_at = '%s' WHERE id = %lld", started,
             (long long)scan);
    assert_int_equal(sqlite3_exec(tw_store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
    tw_store_close(st);
}

static void
test_store_merge_counts(void **state)
{
    struct fx *f = *state;
    static const char *const ha[] = {"a1.example", "a2.example"};
    static const char *const hb[] = {"b1.example"};
    char a[256], b[256], out[256], err[TW_ERRLEN] = "";
    const char *in[2];
    struct tw_store *st;
    sqlite3 *db;

    make_shard(f, "a.db", "fleet", "t1", "1/2", "done", "2026-01-01T10:00:00Z", ha, 2, a,
               sizeof(a));
    make_shard(f, "b.db", "fleet", "t1", "2/2", "done", "2026-01-01T09:00:00Z", hb, 1, b,
               sizeof(b));
    fx_path(f, "out.db", out, sizeof(out));
    in[0] = a;
    in[1] = b;
    if (tw_store_merge(out, in, 2, 0, err) != 0)
        fail_msg("merge: %s", err);

    st = open_rw(out);
    db = tw_store_db(st);
    assert_int_equal(q_int(db, "SELECT count(*) FROM scans"), 1);
    assert_q_text(db, "SELECT label FROM scans", "fleet");
    assert_q_text(db, "SELECT targets_sha256 FROM scans", "t1");
    assert_q_text(db, "SELECT shard FROM scans", "<NULL>");
    assert_q_text(db, "SELECT status FROM scans", "done");
    assert_q_text(db, "SELECT started_at FROM scans", "2026-01-01T09:00:00Z");
    assert_int_equal(q_int(db, "SELECT n_endpoints FROM scans"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM results WHERE host = 'old.example'"), 0);
    /* Three leaves and one shared intermediate. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 4);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 6);
    /* Chains follow their results under the new ids, leaf at depth 0. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM results r JOIN result_chain c"
                               " ON c.result_id = r.id AND c.depth = 0"
                               " WHERE c.cert_sha256 = r.cert_sha256"),
                     3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain c JOIN certs k"
                               " ON k.sha256 = c.cert_sha256"),
                     6);
    assert_q_text(db,
                  "SELECT k.subject FROM results r JOIN certs k ON k.sha256 = r.cert_sha256"
                  " WHERE r.host = 'b1.example'",
                  "CN=cert 10849,O=Test");
    assert_q_text(db, "SELECT sni FROM results WHERE host = 'a2.example'", "a2.example");
    assert_int_equal(q_int(db, "SELECT partial FROM scans"), 0);
    tw_store_close(st);

    /* Only one of two shards: refused, naming the missing one, nothing written. */
    fx_path(f, "half.db", out, sizeof(out));
    assert_int_equal(tw_store_merge(out, in, 1, 0, err), -1);
    assert_string_equal(err, "incomplete shard set: shard 2/2 missing; nothing merged"
                             " (--allow-missing merges the shards there are, marked partial)");
    {
        struct stat sb;

        assert_int_equal(stat(out, &sb), -1);
    }
    /* Allowed: merged, done, marked partial, and the gap is still told. */
    assert_int_equal(tw_store_merge(out, in, 1, TW_MERGE_ALLOW_MISSING, err), 0);
    assert_string_equal(err, "incomplete shard set: shard 2/2 missing");
    st = open_rw(out);
    assert_q_text(tw_store_db(st), "SELECT status FROM scans", "done");
    assert_int_equal(q_int(tw_store_db(st), "SELECT partial FROM scans"), 1);
    assert_int_equal(q_int(tw_store_db(st), "SELECT count(*) FROM results"), 2);
    tw_store_close(st);
}

/* merge --any (issue 16): scans of disjoint target sets, shards or not,
 * become one scan; an endpoint two inputs share is refused, nothing written. */
static void
test_store_merge_any(void **state)
{
    struct fx *f = *state;
    static const char *const ha[] = {"a1.example", "a2.example"};
    static const char *const hb[] = {"b1.example"};
    static const char *const hc[] = {"c1.example", "a2.example"};
    char a[256], b[256], c[256], out[256], err[TW_ERRLEN] = "";
    const char *in[2];
    struct tw_store *st;
    struct stat sb;
    sqlite3 *db;

    make_shard(f, "a.db", "paris", "t1", NULL, "done", "2026-01-01T10:00:00Z", ha, 2, a, sizeof(a));
    make_shard(f, "b.db", "tokyo", "t2", "1/2", "done", "2026-01-01T09:00:00Z", hb, 1, b,
               sizeof(b));
    make_shard(f, "c.db", "paris", "t3", NULL, "done", "2026-01-01T09:00:00Z", hc, 2, c, sizeof(c));
    fx_path(f, "out.db", out, sizeof(out));
    in[0] = a;
    in[1] = b;
    /* Without --any these are no shard set. */
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, "not a shard"));
    if (tw_store_merge(out, in, 2, TW_MERGE_ANY, err) != 0)
        fail_msg("merge --any: %s", err);
    st = open_rw(out);
    db = tw_store_db(st);
    assert_int_equal(q_int(db, "SELECT count(*) FROM scans"), 1);
    assert_q_text(db, "SELECT label || '|' || status || '|' || partial FROM scans",
                  "merged|done|0");
    assert_q_text(db, "SELECT ifnull(targets_sha256, '<NULL>') FROM scans", "<NULL>");
    assert_q_text(db, "SELECT started_at FROM scans", "2026-01-01T09:00:00Z");
    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM latest"), 3);
    tw_store_close(st);

    /* a2.example in both: refused, naming both files; nothing written. */
    fx_path(f, "out2.db", out, sizeof(out));
    in[1] = c;
    assert_int_equal(tw_store_merge(out, in, 2, TW_MERGE_ANY, err), -1);
    assert_non_null(strstr(err, "target sets overlap"));
    assert_non_null(strstr(err, a));
    assert_non_null(strstr(err, c));
    assert_non_null(strstr(err, "a2.example:443"));
    assert_int_equal(stat(out, &sb), -1);
}

static void
test_store_merge_refuses_mismatch(void **state)
{
    struct fx *f = *state;
    static const char *const h[] = {"x.example"};
    char a[256], b[256], c[256], out[256], err[TW_ERRLEN] = "";
    const char *in[2];
    struct stat sb;

    make_shard(f, "a.db", "fleet", "t1", "1/2", "done", "2026-01-01T10:00:00Z", h, 1, a, sizeof(a));
    make_shard(f, "b.db", "fleet", "t2", "2/2", "done", "2026-01-01T10:00:00Z", h, 1, b, sizeof(b));
    make_shard(f, "c.db", "other", "t1", "2/2", "done", "2026-01-01T10:00:00Z", h, 1, c, sizeof(c));
    fx_path(f, "out.db", out, sizeof(out));
    in[0] = a;
    in[1] = b;
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, a));
    assert_non_null(strstr(err, b));
    assert_non_null(strstr(err, "target"));
    assert_int_equal(stat(out, &sb), -1); /* nothing written */

    in[1] = c;
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, "label"));
    assert_non_null(strstr(err, c));

    /* OUT may not be an input. */
    assert_int_equal(tw_store_merge(a, in, 1, 0, err), -1);
    assert_non_null(strstr(err, a));
    /* A missing input is named. */
    fx_path(f, "nope.db", c, sizeof(c));
    in[1] = c;
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, c));
    assert_int_equal(tw_store_merge(out, in, 0, 0, err), -1);
}

static void
test_store_merge_refuses_overlap(void **state)
{
    struct fx *f = *state;
    static const char *const h[] = {"x.example"};
    char a[256], b[256], c[256], out[256], err[TW_ERRLEN] = "", want[600];
    const char *in[2];

    make_shard(f, "a.db", "fleet", "t1", "2/4", "done", "2026-01-01T10:00:00Z", h, 1, a, sizeof(a));
    make_shard(f, "b.db", "fleet", "t1", "2/4", "done", "2026-01-01T10:00:00Z", h, 1, b, sizeof(b));
    make_shard(f, "c.db", "fleet", "t1", "1/3", "done", "2026-01-01T10:00:00Z", h, 1, c, sizeof(c));
    fx_path(f, "out.db", out, sizeof(out));
    in[0] = a;
    in[1] = b;
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    snprintf(want, sizeof(want), "shard 2/4 appears in %s and %s", a, b);
    assert_string_equal(err, want);

    in[1] = c; /* 2/4 with 1/3 */
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, "shard counts differ"));
}

static void
test_store_merge_idempotent(void **state)
{
    struct fx *f = *state;
    static const char *const ha[] = {"a1.example", "a2.example"};
    static const char *const hb[] = {"b1.example"};
    char a[256], b[256], out[256], err[TW_ERRLEN] = "";
    const char *in[2];
    struct tw_store *st;
    sqlite3 *db;
    int64_t id1, id2;

    make_shard(f, "a.db", "fleet", "t1", "1/2", "done", "2026-01-01T10:00:00Z", ha, 2, a,
               sizeof(a));
    make_shard(f, "b.db", "fleet", "t1", "2/2", "interrupted", "2026-01-01T10:00:05Z", hb, 1, b,
               sizeof(b));
    fx_path(f, "out.db", out, sizeof(out));
    in[0] = a;
    in[1] = b;
    /* Shard 2/2 is interrupted: refused unless allowed, then partial. */
    assert_int_equal(tw_store_merge(out, in, 2, 0, err), -1);
    assert_non_null(strstr(err, "shard 2/2 in "));
    assert_non_null(strstr(err, "is 'interrupted', not done"));
    assert_int_equal(tw_store_merge(out, in, 2, TW_MERGE_ALLOW_MISSING, err), 0);
    st = open_rw(out);
    id1 = q_int(tw_store_db(st), "SELECT id FROM scans");
    assert_q_text(tw_store_db(st), "SELECT status FROM scans", "done");
    assert_int_equal(q_int(tw_store_db(st), "SELECT partial FROM scans"), 1);
    tw_store_close(st);

    /* Again, inputs in the other order: same scan, same rows. */
    in[0] = b;
    in[1] = a;
    assert_int_equal(tw_store_merge(out, in, 2, TW_MERGE_ALLOW_MISSING, err), 0);
    st = open_rw(out);
    db = tw_store_db(st);
    assert_int_equal(q_int(db, "SELECT count(*) FROM scans"), 1);
    id2 = q_int(db, "SELECT id FROM scans");
    assert_true(id1 == id2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM results"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM result_chain"), 6);
    assert_int_equal(q_int(db, "SELECT count(*) FROM certs"), 4);
    assert_int_equal(q_int(db, "SELECT n_endpoints FROM scans"), 3);
    assert_q_text(db, "SELECT started_at FROM scans", "2026-01-01T10:00:00Z");
    /* The merged database is a normal tlsweep database. */
    assert_int_equal(q_int(db, "PRAGMA user_version"), TW_SCHEMA_VERSION);
    assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    tw_store_close(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_drown_across_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_views_easy_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_merge_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_cert_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_hostile_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_cert_text_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_cert_text_escaped_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_finish_truncates_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sni_null_and_empty_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_duplicate_endpoint_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_group_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_user_version_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_newer_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_readonly_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_readonly_refuses_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_each_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_find_resumable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_scan_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_merge_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_merge_refuses_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_merge_refuses_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_merge_idempotent, setup, teardown),
    };

    tw_log_set_level(TW_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
