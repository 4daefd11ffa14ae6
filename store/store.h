/*
 * store.h - one SQLite database: open, scans, results, certificates.
 *
 * A struct tw_store is one sqlite3 connection and its prepared statements;
 * it is used by one thread at a time (the writer thread during a scan, the
 * main thread otherwise).  Every statement is prepared once: host names and
 * certificate fields can contain quotes, NULs are cut by the model.
 *
 * Errors: functions return 0, or -1 with a message (naming the file and the
 * cause) in the caller's err[TW_ERRLEN].
 */
#ifndef TW_STORE_STORE_H
#define TW_STORE_STORE_H

#include <stdint.h>

#include <sqlite3.h>

#include "store/model.h"

struct tw_store;

#define TW_STORE_READONLY 0x1 /* open an existing database for reading only */

/* Open (creating and migrating when writable) the database at path. */
int tw_store_open(const char *path, int flags, struct tw_store **out, char *err);
/* Finalize statements and close; NULL is a no-op. */
void tw_store_close(struct tw_store *st);
/* The underlying connection, borrowed, for readers that run their own SQL. */
sqlite3 *tw_store_db(struct tw_store *st);
const char *tw_store_path(const struct tw_store *st);

struct tw_scan_meta {
    const char *label;          /* may be NULL */
    const char *shard;          /* "K/N" or NULL */
    const char *targets_sha256; /* may be NULL */
    const char *options;        /* free text, may be NULL */
    const char *now_at;         /* ISO-8601 when --now was given, else NULL */
    const char *trust_store;    /* "file:PATH" or "system:PATH", may be NULL */
    const char *trust_sha256;   /* SHA-256 of the trust bundle's bytes, may be NULL */
};

/* Insert a scans row with status 'running'; *scan_id receives its id. */
int tw_store_scan_begin(struct tw_store *st, const struct tw_scan_meta *meta, int64_t *scan_id,
                        char *err);
/* Set status ('done' or 'interrupted'), finished_at = now, n_endpoints. */
int tw_store_scan_finish(struct tw_store *st, int64_t scan_id, const char *status, char *err);
/* Record the fingerprint of the scan's whole target set (known only once
 * the target files have been read to the end). */
int tw_store_scan_set_targets(struct tw_store *st, int64_t scan_id, const char *targets_sha256,
                              char *err);
/* Record the trust store a scan judges certificates against (scans.trust_store,
 * trust_sha256; either may be NULL).  -1 when no such scan. */
int tw_store_scan_set_trust(struct tw_store *st, int64_t scan_id, const char *trust_store,
                            const char *trust_sha256, char *err);

/* What --resume needs to know of a scan; the strings are malloc'd copies
 * (NULL for SQL NULL), freed by tw_store_scan_row_cleanup. */
struct tw_store_scan_row {
    char *status;
    char *label;
    char *targets_sha256;
    char *trust_store;
    char *trust_sha256;
    int64_t n_results; /* its results rows */
    int64_t n_options; /* its scan_options rows (0: begun by a tlsweep before schema 5) */
};
/* Returns 0 and fills *out, 1 when there is no scan scan_id, -1 on error. */
int tw_store_scan_get(struct tw_store *st, int64_t scan_id, struct tw_store_scan_row *out,
                      char *err);
void tw_store_scan_row_cleanup(struct tw_store_scan_row *info);

/*
 * One scan_options row: option name (the long option without dashes:
 * "ports", "resolver", "file"), seq (0 for a single value; 0, 1, ... for
 * the values of a repeated option, in command-line order) and its value
 * text.  A second put of the same (name, seq) replaces the value.
 */
int tw_store_scan_option_put(struct tw_store *st, int64_t scan_id, const char *name, int seq,
                             const char *value, char *err);
/* Call cb for each scan_options row of scan_id, ordered by name then seq.
 * The strings are borrowed for the call.  A non-zero return from cb stops
 * the walk and is returned; -1 with err on a database error. */
typedef int tw_store_option_cb(void *arg, const char *name, int seq, const char *value);
int tw_store_scan_options_each(struct tw_store *st, int64_t scan_id, tw_store_option_cb *cb,
                               void *arg, char *err);

/* Mark a scan 'running' again (for --resume). */
int tw_store_scan_reopen(struct tw_store *st, int64_t scan_id, char *err);
/* The newest scan with status 'interrupted' (or 'running', left by a crash),
 * for --resume without an id.  Returns 0 and *scan_id, 1 when none, -1 on error. */
int tw_store_scan_find_resumable(struct tw_store *st, int64_t *scan_id, char *err);

/* Transactions, used by the writer to batch inserts. */
int tw_store_begin(struct tw_store *st, char *err);
int tw_store_commit(struct tw_store *st, char *err);
int tw_store_rollback(struct tw_store *st);

/* Insert one result (and its chain's certificates, once each by SHA-256) in
 * the current transaction, with its grading evidence (r->grading: tables
 * grades, grade_reasons, protocols, suites, groups, hsts, probe_stats) when
 * there is one.  A second row for the same (scan, host, ip, port,
 * sni) is ignored (duplicates are scanned once).  Borrows r. */
int tw_store_put_result(struct tw_store *st, int64_t scan_id, const struct tw_result *r, char *err);

/* Call cb for every (host, port, sni, starttls) already stored in scan_id,
 * so that a resumed scan can skip them.  has_sni = 0 when sni IS NULL;
 * starttls is the protocol's name (results.starttls) or "" for direct TLS.
 * A non-zero return from cb stops the walk and is returned. */
typedef int tw_store_endpoint_cb(void *arg, const char *host, int port, int has_sni,
                                 const char *sni, const char *starttls);
int tw_store_each_endpoint(struct tw_store *st, int64_t scan_id, tw_store_endpoint_cb *cb,
                           void *arg, char *err);

#endif /* TW_STORE_STORE_H */
