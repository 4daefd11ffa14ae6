/*
 * query.h - the bottom of report/: the read-only database, scan selection,
 * the filters and the endpoint row iterator.
 *
 * `tlsweep report` and `tlsweep diff` open the database read-only through
 * tw_report_open_db, which also registers the report's SQL functions
 * (tw_class_rank, tw_grade_worst) and an authorizer that refuses writes,
 * ATTACH, PRAGMA and functions that reach outside the database.  A scan is
 * picked by id or as "latest" (tw_report_scan_find).  Every query over a
 * scan's rows starts from the same filter, a CTE over results (so that
 * --where sees results columns only), joined once to the leaf certificate
 * and, for renderers that want the chain, to result_chain and certs (one
 * row per chain entry; the iterator folds them back into one endpoint).
 * Parameters: ?1 scan id, ?2 reference time (unix), ?3 the --expiring
 * cut-off (unix).
 *
 * summary.c and render.c sit on this module; it calls nothing above it.
 * Single-threaded; the sqlite3 connection is borrowed.  Every string a row
 * or a scan holds is hostile (server- or operator-supplied) and is escaped
 * by whoever prints it (escape.h).
 */
#ifndef TW_REPORT_QUERY_H
#define TW_REPORT_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/model.h"

struct tw_store;

/* The leaf's notAfter in unix seconds (NULL when absent or unparsable). */
#define TW_SQL_NOT_AFTER "CAST(strftime('%s', lc.not_after) AS INTEGER)"

struct tw_scan_info {
    int64_t id;
    char *label;          /* owned, may be NULL */
    char started_at[32];  /* as stored */
    char finished_at[32]; /* "" when NULL */
    char status[16];      /* running, done, interrupted */
    char now_at[32];      /* --now of the scan, "" when NULL */
    int64_t started_unix; /* 0 when unparsable */
    int64_t finished_unix;
    int64_t ref_time;  /* "now" for days-to-expiry: see tw_report_scan_find */
    int64_t n_results; /* result rows stored for the scan */
    int is_fallback;   /* "latest" found no done scan and took this one */
};

/* One endpoint row.  Every string is owned by the row (NULL = SQL NULL). */
struct tw_chain_entry {
    int depth;
    char *sha256, *subject, *issuer, *not_before, *not_after;
};

struct tw_report_row {
    int64_t id;
    char *host, *ip, *sni; /* sni NULL: no SNI sent */
    int port;
    char *class_name, *issues, *tls_version, *cipher, *grade, *cert_sha256;
    char *detail, *target;
    int64_t elapsed_ms;
    int cls_known;     /* class_name is a DESIGN §3 class */
    enum tw_class cls; /* TW_CLASS_TLS_ALERT when unknown */
    int is_failure;
    char *leaf_subject, *leaf_issuer, *not_after;
    int has_expiry;
    int64_t secs_left;        /* notAfter - ref_time */
    int64_t days_left;        /* floor(secs_left / 86400) */
    char *repro;              /* openssl s_client command (tw_class_repro), NULL for ok */
    char *grade_reasons;      /* codes that capped the grade, "a,b"; NULL for none */
    char *grade_reasons_text; /* their explanations, "x; y" */
    char *vulns;              /* issue 14: the vulns rows found vulnerable, "a,b"; NULL for none */
    struct tw_chain_entry *chain;
    size_t n_chain, cap_chain;
};

/* Free every string of the row and zero it. */
void tw_report_row_cleanup(struct tw_report_row *row);

/* The filters and switches of one report. */
struct tw_report_opts {
    const char *where; /* trusted SQL expression over results columns, or NULL */
    int has_expiring;
    int64_t expiring_days;
    int color;       /* 1: ANSI colour in text output */
    int has_reasons; /* the database has grade_reasons (schema 3+); set by the caller */
    int has_vulns;   /* the database has vulns (schema 6+); set by tw_report_query_open */
};

/* Precedence rank of a class name: 2 * enum tw_class (DESIGN §3 order, ok
 * last; lower = worse); an unknown name ranks just before ok. */
int tw_class_rank(const char *name);

/* Open path read-only (it must exist; no migration) and prepare it with
 * tw_report_db_prepare.  Returns 0 and *out (tw_store_close it), or -1 with
 * a message naming the file in err[TW_ERRLEN]. */
int tw_report_open_db(const char *path, struct tw_store **out, char *err);

/* Register tw_class_rank() and tw_grade_worst() (worst first: F 0 ... A+ 9,
 * not graded 10) as SQL functions and install the read-only authorizer
 * (SELECT, READ, FUNCTION, RECURSIVE, TRANSACTION only).  The connection
 * must be read-only.  Returns 0 or -1. */
int tw_report_db_prepare(sqlite3 *db, char *err);

/* 1 when the database has a table named name (grade_reasons is absent from
 * databases older than schema step 3, which a read-only open accepts). */
int tw_report_has_table(sqlite3 *db, const char *name);

/* Find the scan: spec is "latest" (newest done scan, else newest interrupted
 * one, flagged is_fallback) or a decimal id.  now_override (or INT64_MIN)
 * becomes ref_time; otherwise ref_time is the scan's --now, else its start.
 * Returns 0, 1 when there is no such scan (message in err), -1 on a
 * database error. */
int tw_report_scan_find(sqlite3 *db, const char *spec, int64_t now_override,
                        struct tw_scan_info *out, char *err);
/* The nth newest (0 = newest) scan with status done.  Returns like
 * tw_report_scan_find. */
int tw_report_scan_done_nth(sqlite3 *db, int nth, struct tw_scan_info *out, char *err);
/* Free the scan's label; NULL is a no-op. */
void tw_report_scan_cleanup(struct tw_scan_info *scan);

/* Build the SQL text (sqlite3_free it): SELECT cols (NULL: the row columns
 * the iterator reads) over the filtered rows, AND cond when not NULL, then
 * tail (GROUP BY / ORDER BY), then LIMIT limit when > 0. */
char *tw_report_sql(const struct tw_report_opts *opts, int with_chain, const char *cols,
                    const char *cond, const char *tail, int limit);
/* Bind ?1 ?2 ?3 (indexes the statement does not use are skipped). */
void tw_report_bind(sqlite3_stmt *st, const struct tw_scan_info *scan,
                    const struct tw_report_opts *opts);

/* A row iterator.  It borrows the scan, which must outlive it. */
struct tw_report_query {
    sqlite3_stmt *st;
    const struct tw_scan_info *scan;
    int with_chain;
    int has_pending; /* st is positioned on a row not yet consumed */
    int done;
};

/* Open a row iterator ordered by order (SQL), limited to limit rows when
 * > 0.  Returns 0, 1 when the filter does not compile, -1 on error; close
 * the iterator in every case. */
int tw_report_query_open(sqlite3 *db, const struct tw_scan_info *scan,
                         const struct tw_report_opts *opts, int with_chain, const char *cond,
                         const char *order, int limit, struct tw_report_query *q, char *err);
/* Fill *row (which the caller cleans up).  Returns 1 for a row, 0 at the
 * end, -1 on error. */
int tw_report_query_next(struct tw_report_query *q, struct tw_report_row *row, char *err);
void tw_report_query_close(struct tw_report_query *q);

#endif /* TW_REPORT_QUERY_H */
