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
#include "tls/grade.h"

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
    /* 7 -> 8: reference-client simulation (issue 13, tls/sim.h): one row
     * per graded result and reference client.  outcome 'ok' or 'fail';
     * class is the failure's class (DESIGN §3 names: protocol_mismatch,
     * no_shared_cipher, sni_required, hostname_mismatch, weak_key,
     * incomplete_chain, client_cert_required, tls_alert), NULL when ok;
     * protocol, suite (IANA name) and grp (group name) are what would be
     * negotiated, also on a failure after the ServerHello; detail says the
     * failure in words and 'HelloRetryRequest' when one was needed; basis
     * lists what the enumeration could not show and was assumed
     * ('group_order', 'tls13_leaf', 'dh_unseen'), '' when nothing was. */
    "CREATE TABLE client_sims ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  client TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  class TEXT,"
    "  protocol TEXT,"
    "  suite TEXT,"
    "  grp TEXT,"
    "  detail TEXT,"
    "  basis TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (result_id, client)"
    ") WITHOUT ROWID;"
    "CREATE INDEX client_sims_client ON client_sims(client, outcome);"
    "CREATE VIEW client_failures AS"
    "  SELECT r.scan_id, r.id AS result_id, r.host, r.ip, r.port, r.sni, r.starttls,"
    "         c.client, c.class, c.detail, c.protocol, c.suite"
    "  FROM client_sims AS c JOIN results AS r ON r.id = c.result_id"
    "  WHERE c.outcome = 'fail';",
    /* 8 -> 9: SQL that is easy (issue 16).  grades_order ranks the grade
     * letters as reports do (severity 0 = A+ best ... 9 = F worst; the
     * grade_rank() SQL function that tlsweep registers on its connections
     * returns the same number).  latest_scan is the newest complete scan:
     * status done, a full merge before a partial one; ref_at is the time its
     * validity was judged at (--now, else its start).  latest gains
     * result_id and keeps only the endpoints of latest_scan's target set
     * (each with its newest done result), so decommissioned hosts leave it;
     * their history stays in results.  expiring is rebuilt on it, unchanged.
     * enabled_protocols: every protocol each latest endpoint accepts (the
     * protocols table; the negotiated version for an endpoint scanned
     * --quick).  cert_inventory: each leaf certificate of latest with its
     * endpoint count and days_left counted from latest_scan.ref_at.
     * problems: the fix-first groups, worst first (severity 1 fails now,
     * 2 expires within 30 days, 3 caps the grade, 4 legacy protocol). */
    "CREATE TABLE grades_order ("
    "  grade TEXT PRIMARY KEY,"
    "  severity INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO grades_order (grade, severity) VALUES ('A+', 0), ('A', 1), ('A-', 2), ('B', 3),"
    "  ('C', 4), ('D', 5), ('E', 6), ('M', 7), ('T', 8), ('F', 9);"
    "CREATE VIEW latest_scan AS"
    " SELECT id AS scan_id, label, started_at, finished_at, coalesce(now_at, started_at) AS ref_at"
    " FROM scans WHERE status = 'done'"
    " ORDER BY partial, started_at DESC, id DESC LIMIT 1;"
    "DROP VIEW expiring;"
    "DROP VIEW latest;"
    "CREATE VIEW latest AS"
    " SELECT r.host, r.ip, r.port, r.sni, r.class, r.issues, r.grade, r.tls_version, r.cipher,"
    "        r.cert_sha256, r.scan_id, coalesce(r.scanned_at, s.started_at) AS scanned_at,"
    "        r.starttls, r.id AS result_id"
    " FROM results AS t"
    " JOIN results AS r ON r.id ="
    "   (SELECT r2.id FROM results AS r2 JOIN scans AS s2 ON s2.id = r2.scan_id"
    "    WHERE s2.status = 'done' AND r2.host = t.host AND r2.port = t.port AND r2.ip = t.ip"
    "      AND ifnull(r2.sni, '') = ifnull(t.sni, '')"
    "      AND ifnull(r2.starttls, '') = ifnull(t.starttls, '')"
    "    ORDER BY s2.started_at DESC, s2.id DESC LIMIT 1)"
    " JOIN scans AS s ON s.id = r.scan_id"
    " WHERE t.scan_id = (SELECT scan_id FROM latest_scan);"
    "CREATE VIEW expiring AS"
    " SELECT c.sha256 AS cert_sha256, c.subject, c.issuer, c.not_after,"
    "        l.host, l.ip, l.port, l.sni, l.class, l.scan_id,"
    "        CAST(julianday(c.not_after) - julianday('now') + 1000000 AS INTEGER) - 1000000"
    "          AS days_left"
    " FROM latest AS l JOIN certs AS c ON c.sha256 = l.cert_sha256"
    " ORDER BY days_left, l.host, l.port;"
    "CREATE VIEW enabled_protocols AS"
    " SELECT l.result_id, l.host, l.ip, l.port, l.sni, l.starttls, p.protocol,"
    "        l.tls_version AS negotiated, 'probed' AS source, l.scan_id"
    " FROM latest AS l JOIN protocols AS p ON p.result_id = l.result_id"
    " WHERE p.accepted = 1"
    " UNION ALL"
    " SELECT l.result_id, l.host, l.ip, l.port, l.sni, l.starttls, l.tls_version,"
    "        l.tls_version, 'negotiated', l.scan_id"
    " FROM latest AS l"
    " WHERE ifnull(l.tls_version, '') <> ''"
    "   AND NOT EXISTS (SELECT 1 FROM protocols AS q WHERE q.result_id = l.result_id);"
    "CREATE VIEW cert_inventory AS"
    " WITH ref AS (SELECT julianday(ref_at) AS j FROM latest_scan)"
    " SELECT c.sha256 AS cert_sha256, c.subject, c.issuer, c.not_before, c.not_after,"
    "        CAST(julianday(c.not_after) - (SELECT j FROM ref) + 1000000 AS INTEGER) - 1000000"
    "          AS days_left,"
    "        c.san, c.key_type, c.key_bits, c.sig_alg,"
    "        count(*) AS endpoints, count(DISTINCT l.host) AS hosts,"
    "        min(l.host || ':' || l.port) AS example"
    " FROM latest AS l JOIN certs AS c ON c.sha256 = l.cert_sha256"
    " GROUP BY c.sha256;"
    "CREATE VIEW problems AS"
    " WITH l AS (SELECT l.*, r.detail FROM latest AS l JOIN results AS r ON r.id = l.result_id),"
    " ref AS (SELECT julianday(ref_at) AS j FROM latest_scan),"
    " lc AS (SELECT l.*, c.subject, c.not_after,"
    "               CAST(julianday(c.not_after) - (SELECT j FROM ref) + 1000000 AS INTEGER)"
    "                 - 1000000 AS days_left"
    "        FROM l JOIN certs AS c ON c.sha256 = l.cert_sha256),"
    " lp AS (SELECT l.result_id, l.host, l.port, p.protocol"
    "        FROM l JOIN protocols AS p ON p.result_id = l.result_id WHERE p.accepted = 1"
    "        UNION ALL"
    "        SELECT l.result_id, l.host, l.port, l.tls_version FROM l"
    "        WHERE NOT EXISTS (SELECT 1 FROM protocols AS q WHERE q.result_id = l.result_id))"
    " SELECT severity, kind, problem, detail, cert_sha256, not_after, days_left, endpoints,"
    "        example"
    " FROM (SELECT 1 AS severity, 'class' AS kind, class AS problem, detail,"
    "              NULL AS cert_sha256, NULL AS not_after, NULL AS days_left,"
    "              count(*) AS endpoints, min(host || ':' || port) AS example"
    "       FROM l WHERE class <> 'ok' AND cert_sha256 IS NULL"
    "       GROUP BY class, detail"
    "       UNION ALL"
    "       SELECT 1, 'certificate', class, min(detail), cert_sha256, not_after, days_left,"
    "              count(*), min(host || ':' || port)"
    "       FROM lc WHERE class <> 'ok'"
    "       GROUP BY class, cert_sha256"
    "       UNION ALL"
    "       SELECT 2, 'expiry', 'expires_within_30_days', min(subject), cert_sha256, not_after,"
    "              days_left, count(*), min(host || ':' || port)"
    "       FROM lc WHERE days_left >= 0 AND days_left < 30"
    "       GROUP BY cert_sha256"
    "       UNION ALL"
    "       SELECT 3, 'grade_cap', g.code, min(g.text), NULL, NULL, NULL,"
    "              count(DISTINCT l.result_id), min(l.host || ':' || l.port)"
    "       FROM l JOIN grade_reasons AS g ON g.result_id = l.result_id"
    "       WHERE g.cap IS NOT NULL"
    "       GROUP BY g.code"
    "       UNION ALL"
    "       SELECT 4, 'protocol', protocol || '_enabled', NULL, NULL, NULL, NULL,"
    "              count(*), min(host || ':' || port)"
    "       FROM lp WHERE protocol IN ('SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1')"
    "       GROUP BY protocol)"
    " ORDER BY severity, endpoints DESC, problem;",
    /* 9 -> 10: Mozilla Server Side TLS compliance (issue 13, tls/mozilla.h):
     * one row per graded result and profile ('modern', 'intermediate',
     * 'old'); guideline is the version judged by ('6.0', old '5.8'); pass is
     * 1 when no check failed; failed_checks and warnings are comma-separated
     * check codes ('tls_versions,ciphers'), '' for none.
     * compliance_latest: the rows of each endpoint's latest result (as in
     * latest: finished scans, newest first). */
    "CREATE TABLE compliance ("
    "  result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,"
    "  profile TEXT NOT NULL,"
    "  guideline TEXT NOT NULL,"
    "  pass INTEGER NOT NULL,"
    "  failed_checks TEXT NOT NULL DEFAULT '',"
    "  warnings TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (result_id, profile)"
    ") WITHOUT ROWID;"
    "CREATE INDEX compliance_profile ON compliance(profile, pass);"
    "CREATE VIEW compliance_latest AS"
    " SELECT l.host, l.ip, l.port, l.sni, l.starttls, c.profile, c.guideline, c.pass,"
    "        c.failed_checks, c.warnings, l.grade, l.scan_id, l.scanned_at, l.result_id"
    " FROM latest AS l JOIN compliance AS c ON c.result_id = l.result_id;",
    /* 10 -> 11: the time an endpoint waited for a connection slot, an address
     * slot or a rate token (issue 18).  elapsed_ms is the endpoint's own
     * time without it; NULL in rows stored before (their elapsed_ms holds
     * both). */
    "ALTER TABLE results ADD COLUMN queue_ms INTEGER;",
    /* 11 -> 12: DROWN across the estate (issue 14, store/drown.c): the
     * SHA-256 (lowercase hex) of each certificate's SubjectPublicKeyInfo
     * DER, so that endpoints serving the same key are found whatever their
     * certificates; NULL in rows stored before (filled when the certificate
     * is stored again). */
    "ALTER TABLE certs ADD COLUMN spki_sha256 TEXT;"
    "CREATE INDEX certs_spki"
    " ON certs(spki_sha256);",
    /* 12 -> 13: a certificate the scanner fetched from a leaf's AIA caIssuers
     * URL to complete a chain (issue 14): 1 once any scan fetched it; it then
     * appears in result_chain after the certificates the server sent. */
    "ALTER TABLE certs ADD COLUMN via_aia INTEGER NOT NULL DEFAULT 0;",
    /* 13 -> 14: scan --simulate real (issue 13, scanner/simreal.h): each
     * client's own ClientHello, sent for real, beside its simulation.
     * real_outcome is 'ok' (a ServerHello or HelloRetryRequest came) or
     * 'fail' (an alert, or no answer), NULL when the scan did not send it;
     * real_protocol, real_suite and real_grp what the ServerHello chose
     * (real_grp NULL for RSA and DHE key exchange); real_detail the failure
     * in words and 'HelloRetryRequest'; real_agrees 1 when the simulation's
     * handshake outcome is the same (both refused, or the same protocol,
     * suite and group; certificate-based failures come after the
     * ServerHello and count as reaching it), 0 when not.  sim_mismatches
     * lists the rows where they differ. */
    "ALTER TABLE client_sims ADD COLUMN real_outcome TEXT;"
    "ALTER TABLE client_sims ADD COLUMN real_protocol TEXT;"
    "ALTER TABLE client_sims ADD COLUMN real_suite TEXT;"
    "ALTER TABLE client_sims ADD COLUMN real_grp TEXT;"
    "ALTER TABLE client_sims ADD COLUMN real_detail TEXT;"
    "ALTER TABLE client_sims ADD COLUMN real_agrees INTEGER;"
    "CREATE VIEW sim_mismatches AS"
    "  SELECT r.scan_id, r.id AS result_id, r.host, r.ip, r.port, r.sni, r.starttls, c.client,"
    "         c.outcome, c.class, c.protocol, c.suite, c.grp,"
    "         c.real_outcome, c.real_protocol, c.real_suite, c.real_grp, c.real_detail"
    "  FROM client_sims AS c JOIN results AS r ON r.id = c.result_id"
    "  WHERE c.real_agrees = 0;",
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

/* grade_rank(g): the letter's severity as grades_order holds it (0 = A+ ...
 * 9 = F), NULL for NULL, '' and anything that is not a grade. */
static void
schema_grade_rank(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum tw_grade_letter g;

    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
        sqlite3_result_null(ctx);
        return;
    }
    g = tw_grade_from_name((const char *)sqlite3_value_text(argv[0]));
    if (g == TW_GRADE_NONE)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int(ctx, tw_grade_severity(g));
}

int
tw_schema_functions(sqlite3 *db, char *err)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

    if (sqlite3_create_function(db, "grade_rank", 1, flags, NULL, schema_grade_rank, NULL, NULL) !=
        SQLITE_OK) {
        tw_errf(err, "registering grade_rank(): %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}
