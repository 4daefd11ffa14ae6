/*
 * render.h - the report pipeline: scan selection, estate summary, the
 * endpoint row stream, and the renderer table (STYLE G5).
 *
 * `tlsweep report` picks a scan (tw_report_scan_find), computes the summary
 * with one aggregate query (tw_report_summarize), then streams the endpoint
 * rows worst-first from one query (tw_report_run) into a renderer: begin()
 * once with the scan and the summary, row() once per endpoint, end() once.
 * Nothing is held per endpoint beyond the current row, so memory does not
 * grow with the scan.  All strings in rows, the scan and the summary are
 * hostile (server- or operator-supplied): renderers escape every one of them
 * with escape.h.
 *
 * Single-threaded; the sqlite3 connection is borrowed and read only.
 */
#ifndef TW_REPORT_RENDER_H
#define TW_REPORT_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "store/model.h"

/* Grades, best first; index = rank (0 best).  TW_GRADE_NONE = not graded. */
#define TW_GRADE__COUNT 10
#define TW_GRADE_NONE TW_GRADE__COUNT
extern const char *const tw_grade_names[TW_GRADE__COUNT];
/* Rank of a grade string (0 = A+ ... 9 = F), or TW_GRADE_NONE for NULL or
 * an unknown string.  F ranks below T and M (F beats T/M, grading.md 1.10). */
int tw_grade_rank(const char *grade);
/* Precedence rank of a class name: 2 * enum tw_class (DESIGN §3 order, ok
 * last; lower = worse); an unknown name ranks just before ok. */
int tw_class_rank(const char *name);

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
    char *repro;              /* openssl s_client command, NULL for ok */
    char *grade_reasons;      /* codes that capped the grade, "a,b"; NULL for none */
    char *grade_reasons_text; /* their explanations, "x; y" */
    struct tw_chain_entry *chain;
    size_t n_chain, cap_chain;
};

void tw_report_row_cleanup(struct tw_report_row *row);

/* The s_client command that reproduces the row's class into buf[len]:
 * -connect IP:PORT (HOST when no address; IPv6 in brackets), -servername SNI
 * or -noservername, then the class table's flags.  Shell-quoted. */
void tw_report_repro(const char *host, const char *ip, int port, const char *sni, enum tw_class cls,
                     char *buf, size_t len);

#define TW_SUMMARY_LIST_MAX 20 /* endpoints listed under legacy TLS / weakest */
#define TW_SUMMARY_DAYS 90     /* per-day expiry histogram length */

struct tw_summary {
    int64_t total, n_failures, n_issues, n_ok;
    int64_t by_class[TW_CLASS__COUNT];
    int64_t n_unknown_class;
    int64_t by_grade[TW_GRADE__COUNT + 1]; /* last: not graded */
    int64_t n_no_cert, n_expired, n_exp7, n_exp30;
    int64_t expiry_days[TW_SUMMARY_DAYS]; /* endpoints whose leaf expires on day d */
    int64_t n_legacy_tls;
    struct tw_report_row legacy[TW_SUMMARY_LIST_MAX];
    size_t n_legacy;
    struct tw_report_row weakest[TW_SUMMARY_LIST_MAX];
    size_t n_weakest;
};

void tw_summary_cleanup(struct tw_summary *sum);

struct tw_report_opts {
    const char *where; /* trusted SQL expression over results columns, or NULL */
    int has_expiring;
    int64_t expiring_days;
    int color;       /* 1: ANSI colour in text output */
    int has_reasons; /* the database has grade_reasons (schema 3+); set by the caller */
};

/* 1 when the database has a table named name (grade_reasons is absent from
 * databases older than schema step 3, which a read-only open accepts). */
int tw_report_has_table(sqlite3 *db, const char *name);

struct tw_report {
    FILE *out;
    const struct tw_scan_info *scan;
    const struct tw_summary *sum;
    const struct tw_report_opts *opts;
    int64_t n_rows; /* rows rendered so far */
    void *state;    /* renderer-private, zeroed before begin() */
};

struct tw_renderer {
    const char *name;
    const char *help;
    int wants_chain; /* row->chain filled (costs a join) */
    void (*begin)(struct tw_report *rp);
    void (*row)(struct tw_report *rp, const struct tw_report_row *row);
    void (*end)(struct tw_report *rp);
};

extern const struct tw_renderer tw_render_text, tw_render_json, tw_render_csv, tw_render_md,
    tw_render_html, tw_render_prom;
extern const struct tw_renderer *const tw_renderers[];
extern const size_t tw_n_renderers;
/* NULL when name is not a format. */
const struct tw_renderer *tw_renderer_find(const char *name);

/* Register tw_class_rank()/tw_grade_rank() as SQL functions and install the
 * read-only authorizer (SELECT, READ, FUNCTION, RECURSIVE, TRANSACTION only).
 * Returns 0 or -1. */
int tw_report_db_prepare(sqlite3 *db, char *err);

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
void tw_report_scan_cleanup(struct tw_scan_info *scan);

/* Compute the summary of the scan's rows that pass the filters.  Returns 0,
 * 1 when opts->where does not compile (message in err), -1 on error. */
int tw_report_summarize(sqlite3 *db, const struct tw_scan_info *scan,
                        const struct tw_report_opts *opts, struct tw_summary *out, char *err);

/* Stream the report into out.  Returns 0, 1 when the filter is bad, -1 on a
 * database or write error. */
int tw_report_run(sqlite3 *db, const struct tw_scan_info *scan, const struct tw_report_opts *opts,
                  const struct tw_renderer *r, FILE *out, char *err);

/* Shared helpers for renderers. */
/* "host:port" label pieces in one string: host, [ip], sni=... (escaped by
 * the caller's escaper): fills buf[len] unescaped. */
void tw_report_endpoint_label(const struct tw_report_row *row, char *buf, size_t len);

#endif /* TW_REPORT_RENDER_H */
