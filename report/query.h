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
 * The same module opens the database for readers that may not write it
 * (immutable, see tw_report_open_db), bounds the work of a --where report
 * (tw_report_budget_*), and finds what a report or diff does not show: a
 * newer scan that is interrupted or running, a partial merge (the warnings,
 * with their sentences and JSON).
 *
 * summary.c and render.c sit on this module; it calls nothing above it
 * (escape.c, for the warnings' JSON, is below).
 * Single-threaded; the sqlite3 connection is borrowed.  Every string a row
 * or a scan holds is hostile (server- or operator-supplied) and is escaped
 * by whoever prints it (escape.h).
 */
#ifndef TW_REPORT_QUERY_H
#define TW_REPORT_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "store/model.h"
#include "tls/grade.h"

struct tw_report_warnings;

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
    int is_partial;    /* scans.partial = 1: a merge that lacks some shards */
    /* Fingerprints of the target set and the trust store (hex, as stored;
     * "" when NULL, absent from an older schema or longer than the buffer). */
    char targets_sha256[72];
    char trust_sha256[72];
};

/* One endpoint row.  Every string is owned by the row (NULL = SQL NULL). */
struct tw_chain_entry {
    int depth;
    char *sha256, *subject, *issuer, *not_before, *not_after;
    char *san; /* certs.san, "DNS:a,DNS:b,IP:c" (issue 16: the HTML SAN column) */
};

struct tw_report_row {
    int64_t id;
    char *host, *ip, *sni; /* sni NULL: no SNI sent */
    int port;
    char *class_name, *issues, *tls_version, *cipher, *grade, *cert_sha256;
    char *detail, *target;
    int64_t elapsed_ms;
    int cls_known;     /* class_name is a class of README.md's table */
    enum tw_class cls; /* TW_CLASS_TLS_ALERT when unknown */
    int is_failure;
    char *leaf_subject, *leaf_issuer, *not_after;
    char *leaf_san; /* the leaf's certs.san ("DNS:a,DNS:b"), NULL for none (issue 16) */
    int has_expiry;
    int64_t secs_left;        /* notAfter - ref_time */
    int64_t days_left;        /* floor(secs_left / 86400) */
    char *repro;              /* openssl s_client command (tw_class_repro), every row */
    char *grade_reasons;      /* codes that capped the grade, "a,b"; NULL for none */
    char *grade_reasons_text; /* their explanations, "x; y" */
    char *vulns;              /* issue 14: the vulns rows found vulnerable, "a,b"; NULL for none */
    /* Issue 13: Mozilla compliance (table compliance), "profile=pass=failed,..;..."
     * in modern, intermediate, old order; NULL when not graded. */
    char *compliance;
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
    /* The bound on the work of a report with a --where filter, in SQLite VM
     * instructions (tw_report_budget_start): 0 the default (
     * TW_REPORT_STEPS_BASE + TW_REPORT_STEPS_PER_ROW per result row of the
     * scan), negative no bound.  Without --where there is no bound. */
    int64_t max_steps;
    /* Warnings about the scans around this one (newer incomplete scans, a
     * partial merge), shown by every format; borrowed, may be NULL. */
    const struct tw_report_warnings *warnings;
    int has_vulns;      /* the database has vulns (schema 6+); set by tw_report_query_open */
    int has_compliance; /* ... compliance (issue 13); set by tw_report_query_open */
    /* Issue 16: finished_at (unix seconds) of the newest scan with status
     * done, 0 when there is none; set by the caller, shown by the prom
     * format as tlsweep_last_complete_scan_timestamp_seconds. */
    int64_t last_done_unix;
    /* Issue 16: the trend over the last scans (tw_report_trend), shown by
     * the html format; borrowed, NULL for none. */
    const struct tw_report_trend *trend;
    /* Issue 16, fix first: problems shown (0: all; the CLI's default is
     * TW_PROBLEMS_TOP_DEFAULT) and --group none (the flat per-endpoint
     * list, as before; otherwise text and md show problems instead). */
    int64_t problems_top;
    int group_none;
};

/* Precedence rank of a class name: 2 * enum tw_class (README.md class-table order, ok
 * last; lower = worse); an unknown name ranks just before ok. */
int tw_class_rank(const char *name);

/*
 * Open path read-only (it must exist; no migration; its schema version must
 * not be newer than this binary's) and prepare it with tw_report_db_prepare.
 * A reader that may not write the database file or its directory (another
 * user's database, a read-only mount) cannot create the WAL index (-shm):
 * when no non-empty -wal file exists, the database is opened with the URI
 * parameter immutable=1 (no locks, no -shm; the file holds every committed
 * transaction).  When a non-empty -wal exists, SQLite is asked to read it
 * (which works when -shm exists or can be created); otherwise the message
 * says why the database cannot be read and what to do.  Returns 0 and *out
 * (tw_report_close_db it), or -1 with a message naming the file in
 * err[TW_ERRLEN].
 */
int tw_report_open_db(const char *path, sqlite3 **out, char *err);
/* Close a connection from tw_report_open_db; NULL is a no-op. */
void tw_report_close_db(sqlite3 *db);
/* Write "file:" and path as an SQLite URI filename into buf[len]: every
 * byte but [A-Za-z0-9/._~-] percent-encoded (so %, ?, # and spaces are
 * data), an absolute path behind an empty authority ("file:///...").
 * Returns 0, or -1 when buf is too small. */
int tw_report_uri(const char *path, char *buf, size_t len);

/*
 * The work bound of a --where report: a progress handler that interrupts
 * the connection's statements after max_steps VM instructions in all (a
 * recursive CTE without an end, a quadratic subquery).  A statement stopped
 * by it fails with SQLITE_INTERRUPT and tw_report_budget_tripped() is 1.
 * Start and stop on the thread that uses the connection.
 */
#define TW_REPORT_STEPS_BASE 100000000LL /* instructions any report may use */
#define TW_REPORT_STEPS_PER_ROW 10000LL  /* and more per result row of the scan */
struct tw_report_budget {
    int64_t max_steps;
    int64_t left; /* in units of the handler's period */
    int tripped;
};
/* The bound opts->max_steps asks for, for a scan of n_results rows; 0 when
 * there is none (no --where, or a negative max_steps). */
int64_t tw_report_budget_steps(const struct tw_report_opts *opts, int64_t n_results);
/* Install the handler with a bound of max_steps (0: none, nothing installed). */
void tw_report_budget_start(sqlite3 *db, struct tw_report_budget *b, int64_t max_steps);
/* Remove the handler. */
void tw_report_budget_stop(sqlite3 *db, struct tw_report_budget *b);
/* 1 when the bound stopped a statement. */
int tw_report_budget_tripped(const struct tw_report_budget *b);

/*
 * Warnings about what a report or diff does not show (STYLE G10: outcomes,
 * not errors): a scan newer than the one(s) shown that is interrupted or
 * still running, a shown scan that is a partial merge, and for a diff two
 * scans of different target lists or trust stores, and endpoints that
 * vanished.  Each has a stable code (tw_report_warn_name) for JSON.
 */
enum tw_report_warn_code {
    TW_REPORT_WARN_NEWER_INTERRUPTED = 0, /* newer_scan_interrupted */
    TW_REPORT_WARN_NEWER_RUNNING,         /* newer_scan_running */
    TW_REPORT_WARN_PARTIAL,               /* scan_partial */
    TW_REPORT_WARN_TARGETS_DIFFER,        /* targets_differ */
    TW_REPORT_WARN_TRUST_DIFFERS,         /* trust_differs */
    TW_REPORT_WARN_VANISHED,              /* vanished */
    TW_REPORT_WARN__COUNT
};
struct tw_report_warning {
    enum tw_report_warn_code code;
    /* The scan it is about: the newer scan, the partial scan, NEW (targets,
     * trust, vanished). */
    int64_t scan_id;
    /* The scan it is compared with: the newest scan shown (newer_*), OLD
     * (targets, trust, vanished); 0 for scan_partial. */
    int64_t other_id;
    int64_t count;         /* vanished: OLD's endpoints missing from NEW */
    int64_t total;         /* vanished: OLD's endpoints */
    int64_t threshold_pct; /* vanished: the percentage it exceeds */
    /* targets, trust: OLD's and NEW's fingerprints, borrowed from the scans. */
    const char *old_value, *new_value;
};
#define TW_REPORT_WARN_MAX 16
#define TW_REPORT_NEWER_MAX 8 /* newer incomplete scans named, newest first */
struct tw_report_warnings {
    struct tw_report_warning w[TW_REPORT_WARN_MAX];
    size_t n;
};
/* The stable code, e.g. "newer_scan_interrupted". */
const char *tw_report_warn_name(enum tw_report_warn_code code);
/* Append w (dropped when the list is full). */
void tw_report_warnings_add(struct tw_report_warnings *ws, const struct tw_report_warning *w);
/* The warnings about the shown scans (n of them; the newest decides what is
 * newer): every scan started after it (by started_at, then id) whose status
 * is interrupted or running, newest first, at most TW_REPORT_NEWER_MAX; then
 * each shown scan that is partial.  Appends to out.  Returns 0, or -1 on a
 * database error (message in err). */
int tw_report_warnings_scan(sqlite3 *db, const struct tw_scan_info *const *shown, size_t n,
                            struct tw_report_warnings *out, char *err);
/* The warnings as a JSON array (NULL: []): objects {code, message} and the
 * facts of the code: scan and newer_than (newer_*), scan (scan_partial),
 * old_scan, new_scan, old_sha256, new_sha256 (targets_differ,
 * trust_differs), old_scan, new_scan, vanished, old_endpoints, percent,
 * threshold_percent (vanished).  what as for tw_report_warning_text. */
void tw_report_warnings_json(FILE *f, const struct tw_report_warnings *ws, const char *what);
/* The warning as one sentence without a prefix or newline, in buf[len].
 * what names the output ("report", "diff"); resume_db, when not NULL, is a
 * --db PATH to put in the resume command (shell-quoted when needed).  Only
 * numbers and fixed words: nothing to escape for a terminal. */
void tw_report_warning_text(const struct tw_report_warning *w, const char *what,
                            const char *resume_db, char *buf, size_t len);

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

/*
 * Issue 16: the trend of the estate over the last scans, for the HTML
 * dashboard.  One point per scan: the scan itself and the scans with status
 * done that started before it (by started_at, then id), at most n, oldest
 * first.  Each point counts the scan's whole result set (the report's
 * --where and --expiring do not apply), expiry counted from that scan's
 * --now, else its start.
 */
#define TW_REPORT_TREND_MAX 100 /* --trend bound */
struct tw_report_trend_point {
    int64_t scan_id;
    char started_at[32]; /* as stored, truncated */
    int64_t total, n_failures, n_issues, n_ok;
    int64_t by_class[TW_CLASS__COUNT];
    int64_t n_unknown_class;
    int64_t by_grade[TW_GRADE_NONE + 1]; /* enum tw_grade_letter; [TW_GRADE_NONE] not graded */
    int64_t n_expired, n_exp30; /* leaf expired; expires within 30 days (not yet expired) */
};
struct tw_report_trend {
    struct tw_report_trend_point p[TW_REPORT_TREND_MAX];
    size_t n;
};
/* Fill out (zeroed first) with up to n (1..TW_REPORT_TREND_MAX) points
 * ending at scan.  Returns 0, or -1 on a database error (message in err). */
int tw_report_trend(sqlite3 *db, const struct tw_scan_info *scan, int n,
                    struct tw_report_trend *out, char *err);

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
