/*
 * store_int.h - what store.c lends to merge.c and prune.c, and to no one
 * outside store/.
 *
 * Merge and prune run whole-database operations on connections they open
 * themselves through tw_store_open, on the calling thread.  They share two
 * things with store.c: running one ad-hoc statement, or walking the rows of
 * one query, with the error message every store function gives ("FILE:
 * SQLite's cause"); and the prepared statements that begin a scan (its
 * scans row) and end it (status, end time and endpoint count), so that a
 * merged scan is written as a scanned one is.  Nothing here keeps state; every pointer is borrowed.
 */
#ifndef TW_STORE_STORE_INT_H
#define TW_STORE_STORE_INT_H

#include <stdint.h>

#include <sqlite3.h>

struct tw_store;
struct tw_scan_meta;

/*
 * Called once for each row of a query, with the statement positioned on
 * it; the statement and its column values are borrowed until it returns.
 */
typedef void tw_store_row_cb(void *arg, sqlite3_stmt *row);

/*
 * Prepare sql (one statement) on db, bind *param to ?1 when param is not
 * NULL, step it to its end calling cb(arg, row) for each row it returns (cb
 * may be NULL: a statement that returns none), and finalize it.  After a
 * write, sqlite3_changes(db) tells the rows it changed.  Returns 0, or -1
 * with "WHERE: cause" in err[TW_ERRLEN] when the statement could not be
 * prepared or a step failed (rows before the failure have reached cb);
 * where is the file the caller names in its messages.
 */
int tw_store_run_sql(sqlite3 *db, const char *where, const char *sql, const int64_t *param,
                     tw_store_row_cb *cb, void *arg, char *err);

/* A tw_store_row_cb for a query of one integer (a count, a PRAGMA): the
 * row's first column goes to *(int64_t *)arg, which a query without rows
 * leaves as it was. */
void tw_store_row_int(void *arg, sqlite3_stmt *row);

/*
 * Insert a scans row with status 'running', started at started_at (ISO-8601
 * text, stored as given), its other columns from meta (NULL: all NULL), cut
 * to the lengths tw_store_scan_begin stores.  *scan_id receives its id.
 * Returns 0, or -1 with a message in err[TW_ERRLEN].
 */
int tw_store_scan_insert(struct tw_store *st, const struct tw_scan_meta *meta,
                         const char *started_at, int64_t *scan_id, char *err);

/*
 * DROWN across the scan (drown.c): mark every result of scan_id whose leaf
 * key (certs.spki_sha256) an SSLv2 endpoint of the same scan serves, in
 * vulns ('drown') and in its stored grade (F, reason 'drown').  Idempotent.
 * Returns 0, or -1 with "WHERE: cause" in err[TW_ERRLEN].
 */
int tw_store_drown(sqlite3 *db, const char *where, int64_t scan_id, char *err);

/*
 * Set scan scan_id's status (bound as given), finished_at (NULL is stored
 * as NULL) and n_endpoints (its results counted now), in the current
 * transaction if one is open.  A scan id that matches no row is not an
 * error here: sqlite3_changes(tw_store_db(st)) is 0.  Returns 0, or -1 with
 * a message in err[TW_ERRLEN].
 */
int tw_store_scan_end(struct tw_store *st, int64_t scan_id, const char *status,
                      const char *finished_at, char *err);

#endif /* TW_STORE_STORE_INT_H */
