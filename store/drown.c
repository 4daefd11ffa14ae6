/*
 * drown.c - DROWN judged across the estate (issue 14), a post-scan step.
 *
 * DROWN (CVE-2016-0800) lets an attacker who can talk SSLv2 to any server
 * holding an RSA key decrypt TLS sessions of every other server that uses
 * the same key.  No single-host probe sees that; a fleet scan does.  When
 * all results of a scan are written (tw_store_scan_end: the end of a scan,
 * of a resumed scan and of a merge), this step compares the leaf keys of the
 * scan's results by the SHA-256 of their SubjectPublicKeyInfo
 * (certs.spki_sha256) with the leaf keys of the results that accepted SSLv2
 * (protocols: 'SSLv2', accepted = 1) and stores, per result:
 *
 *   vulns 'drown'   tested = 1 for every graded result and every matched
 *                   one; vulnerable = 1 when an SSLv2 endpoint of the scan
 *                   (itself included) serves the same key; detail names it.
 *   grade F         the vulnerable results' stored grade (results.grade,
 *                   grades.grade and grade_trust_ignored) becomes F, with a
 *                   grade_reasons row 'drown' (cap F) and 'drown' appended
 *                   to grades.reasons, so every report and `diff` read it
 *                   as they read any other cap.  F is the worst grade, so
 *                   setting it is the cap applied after the fact.
 *
 * Idempotent: the rows are replaced and the grade change is made once per
 * result (guarded by its grade_reasons row), so a merge that ends again
 * over results already judged changes nothing twice.  An endpoint that
 * speaks only SSLv2 stores no leaf (the TLS handshake failed), so its key is
 * not compared: only endpoints that accept SSLv2 beside TLS are matched.
 * Runs on the caller's connection (the scan's or the merge's thread).
 */
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/log.h"
#include "store/store_int.h"

/* The results of scan ?1 matched to the SSLv2 endpoints of the scan that
 * serve the same key: rid, self (1 when the result itself accepts SSLv2)
 * and src (the first such endpoint, "host:port").  It starts from the few
 * SSLv2 endpoints (index protocols_accepted), so that a key shared by
 * thousands of endpoints over many scans costs one pass over this scan's
 * results, not a join of them with each other. */
#define DROWN_MATCH                                                                                \
    "SELECT t.id AS rid, max(v2.id = t.id) AS self, min(v2.ep) AS src"                             \
    " FROM (SELECT s.id AS id, s.host || ':' || s.port AS ep, sc.spki_sha256 AS spki"              \
    "       FROM protocols AS p JOIN results AS s ON s.id = p.result_id"                           \
    "       JOIN certs AS sc ON sc.sha256 = s.cert_sha256"                                         \
    "       WHERE p.protocol = 'SSLv2' AND p.accepted = 1 AND s.scan_id = ?1"                      \
    "         AND sc.spki_sha256 IS NOT NULL) AS v2"                                               \
    " JOIN certs AS tc ON tc.spki_sha256 = v2.spki"                                                \
    " JOIN results AS t ON t.cert_sha256 = tc.sha256 AND t.scan_id = ?1 GROUP BY t.id"

/* The graded vulnerable results of scan ?1 not yet graded F for DROWN. */
#define DROWN_TO_GRADE                                                                             \
    "SELECT v.result_id FROM vulns AS v JOIN results AS r ON r.id = v.result_id"                   \
    " WHERE r.scan_id = ?1 AND v.name = 'drown' AND v.vulnerable = 1"                              \
    " AND EXISTS (SELECT 1 FROM grades AS g WHERE g.result_id = v.result_id)"                      \
    " AND NOT EXISTS (SELECT 1 FROM grade_reasons AS q"                                            \
    "                 WHERE q.result_id = v.result_id AND q.code = 'drown')"

static const char *const drown_sql[] = {
    "INSERT OR REPLACE INTO vulns(result_id, name, tested, vulnerable, detail)"
    " SELECT r.id, 'drown', 1, d.src IS NOT NULL,"
    "  CASE WHEN d.src IS NULL THEN 'no endpoint of this scan that accepts SSLv2 serves this key'"
    "       WHEN d.self THEN 'accepts SSLv2 with this key (CVE-2016-0800)'"
    "       ELSE 'this key is also served with SSLv2 by ' || d.src || ' (CVE-2016-0800)' END"
    " FROM results AS r LEFT JOIN (" DROWN_MATCH ") AS d ON d.rid = r.id"
    " WHERE r.scan_id = ?1"
    "  AND (d.src IS NOT NULL OR EXISTS (SELECT 1 FROM grades AS g WHERE g.result_id = r.id))",
    "UPDATE grades SET grade = 'F',"
    "  grade_trust_ignored = CASE WHEN grade_trust_ignored IS NULL THEN NULL ELSE 'F' END,"
    "  reasons = CASE WHEN reasons IS NULL OR reasons = '' THEN 'drown'"
    "                 ELSE reasons || ',drown' END"
    " WHERE result_id IN (" DROWN_TO_GRADE ")",
    "UPDATE results SET grade = 'F' WHERE grade IS NOT NULL AND id IN (" DROWN_TO_GRADE ")",
    "INSERT INTO grade_reasons(result_id, code, text, cap)"
    " SELECT result_id, 'drown', 'DROWN: an endpoint of this scan that accepts SSLv2 serves"
    " the same key (CVE-2016-0800)', 'F' FROM (" DROWN_TO_GRADE ")",
};

/* Run one statement of drown_sql (scan_id bound to ?1 when it has one).
 * 0, or -1 with "where: cause" in err. */
static int
drown_exec(sqlite3 *db, const char *where, const char *sql, int64_t scan_id, char *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        tw_errf(err, "%s: %s", where, sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_bind_parameter_count(s) > 0)
        sqlite3_bind_int64(s, 1, scan_id);
    if (sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    else
        tw_errf(err, "%s: %s", where, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc;
}

int
tw_store_drown(sqlite3 *db, const char *where, int64_t scan_id, char *err)
{
    /* A savepoint: all of it or nothing, inside a caller's transaction too. */
    if (drown_exec(db, where, "SAVEPOINT tw_drown", 0, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(drown_sql) / sizeof(drown_sql[0]); i++) {
        if (drown_exec(db, where, drown_sql[i], scan_id, err) < 0) {
            char ignored[TW_ERRLEN];

            drown_exec(db, where, "ROLLBACK TO tw_drown", 0, ignored);
            drown_exec(db, where, "RELEASE tw_drown", 0, ignored);
            return -1;
        }
    }
    return drown_exec(db, where, "RELEASE tw_drown", 0, err);
}
