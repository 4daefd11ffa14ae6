/*
 * schema.c - DDL and user_version migrations.
 *
 * Version 1 is DESIGN §4's stable core plus what tlsweep adds: scan
 * parameters, the chain each result was served, and the indexes that
 * reports and diffs need.  A new version appends a step to `steps`; a
 * step never edits an earlier one (databases in the field ran it).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/schema.h"

static const char *const steps[] = {
    /* 0 -> 1 */
    "CREATE TABLE scans ("
    "  id INTEGER PRIMARY KEY,"
    "  label TEXT,"
    "  started_at TEXT NOT NULL," /* ISO-8601 UTC */
    "  finished_at TEXT,"
    "  status TEXT NOT NULL DEFAULT 'running'"
    "    CHECK (status IN ('running','done','interrupted')),"
    "  shard TEXT,"          /* 'K/N' or NULL */
    "  targets_sha256 TEXT," /* fingerprint of the target set */
    "  options TEXT,"        /* the scan's options, for the record */
    "  now_at TEXT,"         /* --now, when validity was judged at another time */
    "  n_endpoints INTEGER"  /* endpoints stored when it finished */
    ");"
    "CREATE TABLE certs ("
    "  sha256 TEXT PRIMARY KEY,"
    "  subject TEXT, issuer TEXT,"
    "  not_before TEXT, not_after TEXT," /* ISO-8601 UTC */
    "  key_type TEXT, key_bits INTEGER, sig_alg TEXT,"
    "  san TEXT," /* 'DNS:a,DNS:b,IP:1.2.3.4' */
    "  pem TEXT"
    ");"
    "CREATE TABLE results ("
    "  id INTEGER PRIMARY KEY,"
    "  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
    "  target TEXT," /* the target line as written */
    "  host TEXT NOT NULL,"
    "  ip TEXT NOT NULL DEFAULT ''," /* '' when DNS failed */
    "  port INTEGER NOT NULL,"
    "  sni TEXT," /* NULL when no SNI was sent */
    "  class TEXT NOT NULL,"
    "  issues TEXT NOT NULL," /* 'ok' or 'a,b,c' in precedence order */
    "  tls_version TEXT, cipher TEXT,"
    "  grade TEXT,"       /* A+ A A- B C D E F T M, NULL = not graded */
    "  cert_sha256 TEXT," /* leaf; see certs */
    "  detail TEXT,"
    "  elapsed_ms INTEGER,"
    "  scanned_at TEXT" /* ISO-8601 UTC */
    ");"
    "CREATE UNIQUE INDEX results_endpoint ON results(scan_id, host, ip, port, ifnull(sni, ''));"
    "CREATE INDEX results_class ON results(scan_id, class);"
    "CREATE INDEX results_cert ON results(cert_sha256);"
    "CREATE INDEX results_host ON results(host, port);"
    "CREATE TABLE result_chain ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  depth INTEGER NOT NULL," /* 0 = leaf, as the server sent it */
    "  cert_sha256 TEXT NOT NULL,"
    "  PRIMARY KEY (result_id, depth)"
    ") WITHOUT ROWID;"
    "CREATE INDEX result_chain_cert ON result_chain(cert_sha256);",
    /* 1 -> 2: views for users' SQL (report/README.md "Example queries").
     * latest: each endpoint's (host, ip, port, sni) newest result among
     * scans with status done.  expiring: the leaf certificates of latest,
     * days_left counted from now (floor; negative = expired).
     * grade_history: every result's grade and class with its scan's start. */
    "CREATE VIEW latest AS"
    " SELECT host, ip, port, sni, class, issues, grade, tls_version, cipher, cert_sha256,"
    "        scan_id, scanned_at"
    " FROM (SELECT r.host, r.ip, r.port, r.sni, r.class, r.issues, r.grade, r.tls_version,"
    "              r.cipher, r.cert_sha256, r.scan_id,"
    "              coalesce(r.scanned_at, s.started_at) AS scanned_at,"
    "              row_number() OVER (PARTITION BY r.host, r.ip, r.port, ifnull(r.sni, '')"
    "                                 ORDER BY s.started_at DESC, s.id DESC) AS rn"
    "       FROM results AS r JOIN scans AS s ON s.id = r.scan_id"
    "       WHERE s.status = 'done')"
    " WHERE rn = 1;"
    "CREATE VIEW expiring AS"
    " SELECT c.sha256 AS cert_sha256, c.subject, c.issuer, c.not_after,"
    "        l.host, l.ip, l.port, l.sni, l.class, l.scan_id,"
    "        CAST(julianday(c.not_after) - julianday('now') + 1000000 AS INTEGER) - 1000000"
    "          AS days_left"
    " FROM latest AS l JOIN certs AS c ON c.sha256 = l.cert_sha256"
    " ORDER BY days_left, l.host, l.port;"
    "CREATE VIEW grade_history AS"
    " SELECT r.scan_id, s.started_at, r.host, r.port, r.sni, r.grade, r.class, r.ip"
    " FROM results AS r JOIN scans AS s ON s.id = r.scan_id;",
    /* 2 -> 3: grading evidence (issue 5).  One row per graded result in
     * grades, hsts and probe_stats; the reasons that capped the grade; every
     * protocol probed (accepted 0/1); every accepted suite per protocol with
     * its properties (pref_order 1.. when the server enforces an order, NULL
     * otherwise); every accepted named group (group_id NULL for a DHE prime
     * seen only by its size).  protocol spelling as results.tls_version. */
    "CREATE TABLE grades ("
    "  result_id INTEGER PRIMARY KEY REFERENCES results(id) ON DELETE CASCADE,"
    "  grade TEXT NOT NULL,"
    "  grade_trust_ignored TEXT,"
    "  score_protocol REAL, score_kx INTEGER, score_cipher REAL, score REAL,"
    "  has_warnings INTEGER NOT NULL,"
    "  criteria TEXT NOT NULL," /* '2009r' */
    "  mode TEXT NOT NULL,"     /* 'strict' or 'simulation' */
    "  reasons TEXT,"           /* 'code,code' in firing order */
    "  secure_reneg INTEGER, compression INTEGER,"
    "  insecure_reneg_tested INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE grade_reasons ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  code TEXT NOT NULL, text TEXT, cap TEXT"
    ");"
    "CREATE INDEX grade_reasons_result ON grade_reasons(result_id);"
    "CREATE INDEX grade_reasons_code ON grade_reasons(code);"
    "CREATE TABLE protocols ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  protocol TEXT NOT NULL," /* 'SSLv2' 'SSLv3' 'TLSv1' 'TLSv1.1' 'TLSv1.2' 'TLSv1.3' */
    "  accepted INTEGER NOT NULL,"
    "  server_preference INTEGER," /* 1 server order, 0 client order, NULL unknown */
    "  PRIMARY KEY (result_id, protocol)"
    ") WITHOUT ROWID;"
    "CREATE INDEX protocols_accepted ON protocols(protocol, accepted);"
    "CREATE TABLE suites ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  protocol TEXT NOT NULL,"
    "  code INTEGER NOT NULL," /* IANA id; SSLv2: the 3-byte spec */
    "  name TEXT,"             /* IANA name */
    "  bits INTEGER, kx TEXT,"
    "  is_cbc INTEGER, is_aead INTEGER, is_fs INTEGER,"
    "  pref_order INTEGER"
    ");"
    "CREATE INDEX suites_result ON suites(result_id);"
    "CREATE INDEX suites_protocol ON suites(protocol, is_cbc);"
    "CREATE TABLE groups ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  group_id INTEGER, name TEXT, bits INTEGER"
    ");"
    "CREATE INDEX groups_result ON groups(result_id);"
    "CREATE TABLE hsts ("
    "  result_id INTEGER PRIMARY KEY REFERENCES results(id) ON DELETE CASCADE,"
    "  status TEXT NOT NULL," /* not_http absent present invalid disabled */
    "  header TEXT, max_age INTEGER, include_subdomains INTEGER, preload INTEGER"
    ");"
    "CREATE TABLE probe_stats ("
    "  result_id INTEGER PRIMARY KEY REFERENCES results(id) ON DELETE CASCADE,"
    "  connections INTEGER NOT NULL," /* every connection the endpoint used */
    "  grading_connections INTEGER NOT NULL"
    ");",
    /* 3 -> 4: STARTTLS endpoints (issue 9).  results.starttls names the
     * plaintext protocol spoken before the handshake ('smtp', 'imap', 'pop3',
     * 'ftp', 'xmpp', 'ldap', 'postgres'; NULL = direct TLS), so that
     * smtp://h:25 and h:25 are two endpoints: the unique index (same name, so
     * that diff's merge join keeps its order) and latest's partition gain it;
     * latest also shows it, as its last column. */
    "ALTER TABLE results ADD COLUMN starttls TEXT;"
    "DROP INDEX results_endpoint;"
    "CREATE UNIQUE INDEX results_endpoint ON results(scan_id, host, ip, port, ifnull(sni, ''),"
    "  ifnull(starttls, ''));"
    "DROP VIEW latest;"
    "CREATE VIEW latest AS"
    " SELECT host, ip, port, sni, class, issues, grade, tls_version, cipher, cert_sha256,"
    "        scan_id, scanned_at, starttls"
    " FROM (SELECT r.host, r.ip, r.port, r.sni, r.class, r.issues, r.grade, r.tls_version,"
    "              r.cipher, r.cert_sha256, r.scan_id,"
    "              coalesce(r.scanned_at, s.started_at) AS scanned_at, r.starttls,"
    "              row_number() OVER (PARTITION BY r.host, r.ip, r.port, ifnull(r.sni, ''),"
    "                                              ifnull(r.starttls, '')"
    "                                 ORDER BY s.started_at DESC, s.id DESC) AS rn"
    "       FROM results AS r JOIN scans AS s ON s.id = r.scan_id"
    "       WHERE s.status = 'done')"
    " WHERE rn = 1;",
    /* 4 -> 5: a scan that can be resumed and compared truthfully (issue 15).
     * scans.trust_store names the trust store the verdicts were judged
     * against (the --ca-file path, or 'system:' and the default bundle's
     * path) and trust_sha256 is the SHA-256 of its bytes, so that diff can
     * warn when two scans trusted different roots.  scans.targets_sha256
     * becomes a full SHA-256 (64 hex digits; 16 in older rows).
     * scan_options holds every option that shapes the endpoint set or the
     * verdicts, one row per value (seq orders repeated options such as
     * --resolver and the target files), so that --resume reloads them.
     * scans.partial is 1 for a merged scan that lacks some of its shards
     * (merge --allow-missing): reports and diffs say so. */
    "ALTER TABLE scans ADD COLUMN trust_store TEXT;"
    "ALTER TABLE scans ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE scans ADD COLUMN trust_sha256 TEXT;"
    "CREATE TABLE scan_options ("
    "  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL," /* the long option without dashes: 'ports', 'resolver', 'file' */
    "  seq INTEGER NOT NULL DEFAULT 0,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (scan_id, name, seq)"
    ") WITHOUT ROWID;",
    /* 5 -> 6: the vulnerability and behaviour probes of the grading (issue
     * 14, scanner/vuln.h): one row per probe and graded endpoint.  tested and
     * vulnerable are kept apart: tested = 0 when the probe's precondition
     * does not hold or its answer proved nothing (vulnerable is then 0).
     * Names: no_secure_renegotiation, insecure_renegotiation, compression,
     * heartbeat_extension, no_fallback_scsv, heartbleed, ccs_injection. */
    "CREATE TABLE vulns ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  tested INTEGER NOT NULL,"
    "  vulnerable INTEGER NOT NULL,"
    "  detail TEXT,"
    "  PRIMARY KEY (result_id, name)"
    ") WITHOUT ROWID;"
    "CREATE INDEX vulns_name ON vulns(name, vulnerable);",
    /* 6 -> 7: client certificates (issue 13).  One row per result whose
     * server sent a CertificateRequest: required = 1 when the handshake
     * failed without a certificate (class client_cert_required), 0 when it
     * went on without one; n_ca_names counts every CA name the request
     * listed, ca_names keeps the first of them (RFC 2253, escaped,
     * '; '-separated, bounded). */
    "CREATE TABLE cert_requests ("
    "  result_id INTEGER PRIMARY KEY REFERENCES results(id) ON DELETE CASCADE,"
    "  required INTEGER NOT NULL,"
    "  n_ca_names INTEGER NOT NULL DEFAULT 0,"
    "  ca_names TEXT"
    ");",
    /* 7 -> 8: the time an endpoint waited for a connection slot, an address
     * slot or a rate token (issue 18).  elapsed_ms is the endpoint's own
     * time without it; NULL in rows stored before (their elapsed_ms holds
     * both). */
    "ALTER TABLE results ADD COLUMN queue_ms INTEGER;",
};

#define N_STEPS ((int)(sizeof(steps) / sizeof(steps[0])))

int
tw_schema_pragmas(sqlite3 *db, int read_only, char *err)
{
    char *msg = NULL;
    /* busy_timeout first: switching to WAL needs a lock another process may hold. */
    const char *sql = read_only ? "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;"
                                : "PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL;"
                                  "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";

    /* Switching a database that another process is creating at the same
     * moment to WAL can fail with SQLITE_BUSY without calling the busy
     * handler (two scans started at once on a new file): try again for up
     * to 10 s, as busy_timeout would. */
    for (int tries = 0;; tries++) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        struct timespec ts = {0, 20 * 1000 * 1000};

        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY || tries >= 500) {
            tw_errf(err, "%s", msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            return -1;
        }
        sqlite3_free(msg);
        msg = NULL;
        nanosleep(&ts, NULL);
    }
}

static int
schema_user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    *out = sqlite3_column_int(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
tw_schema_migrate(sqlite3 *db, char *err)
{
    char *msg = NULL;
    char sql[64];
    int version = 0;
    int rc = -1;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        tw_errf(err, "cannot lock the database: %s", msg ? msg : sqlite3_errmsg(db));
        goto out;
    }
    if (schema_user_version(db, &version) < 0) {
        tw_errf(err, "not a tlsweep database (or not SQLite): %s", sqlite3_errmsg(db));
        goto rollback;
    }
    if (version > TW_SCHEMA_VERSION) {
        tw_errf(err, "database schema version %d is newer than this tlsweep (%d): upgrade tlsweep",
                version, TW_SCHEMA_VERSION);
        goto rollback;
    }
    for (int v = version; v < N_STEPS; v++) {
        if (sqlite3_exec(db, steps[v], NULL, NULL, &msg) != SQLITE_OK) {
            tw_errf(err, "schema migration %d -> %d failed: %s", v, v + 1,
                    msg ? msg : sqlite3_errmsg(db));
            goto rollback;
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", N_STEPS);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        tw_errf(err, "schema migration failed: %s", msg ? msg : sqlite3_errmsg(db));
        goto rollback;
    }
    rc = 0;
    goto out;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_free(msg);
    return rc;
}
