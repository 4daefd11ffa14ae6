/*
 * diff.h - `tlsweep diff`'s engine: the change rules for one endpoint
 * across two scans, and the join that pairs the two scans' endpoints and
 * feeds the changes to a diff renderer.
 *
 * tw_diff_run matches endpoints of scan OLD and scan NEW by (host, port,
 * sni) and calls tw_diff_compare() on each pair (or on a lone side for an
 * endpoint that appeared or vanished).  The comparison (pure, STYLE G6)
 * decides which kinds of change apply and which of them are regressions:
 *
 *   failure_new          a failure class now (a new endpoint that fails too)
 *   class_changed worse  the new class comes earlier in README.md's class table (ok best)
 *   grade_down           a lower grade (A+ best ... F worst; T, M below E)
 *   expiring             the leaf expires within the threshold now, and did
 *                        not in OLD (or had no leaf, or did not exist)
 *   vuln_new             a vulnerability probe fires now that did not in OLD
 *                        (table vulns, issue 14: "heartbleed" newly vulnerable)
 *   noncompliant_new     a Mozilla profile fails now that did not fail in OLD
 *                        (or OLD had no verdict); not a regression (issue 13)
 *
 * The rules borrow everything, allocate nothing and run on any thread.
 * The join is single-threaded on a borrowed read-only connection (query.h)
 * and holds one host's rows of each scan at a time.  The renderers
 * (diff_render.h) are driven through struct tw_diff_renderer; this module
 * calls none of them by name.
 */
#ifndef TW_REPORT_DIFF_H
#define TW_REPORT_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "report/query.h"
#include "tls/mozilla.h"

enum tw_diff_kind {
    TW_DIFF_NEW = 0,
    TW_DIFF_VANISHED,
    TW_DIFF_FAILURE_NEW,
    TW_DIFF_FAILURE_FIXED,
    TW_DIFF_CLASS_CHANGED,
    TW_DIFF_GRADE_DOWN,
    TW_DIFF_GRADE_UP,
    TW_DIFF_CERT_ROTATED,
    TW_DIFF_EXPIRING,
    TW_DIFF_PROTOCOL_CHANGED,
    TW_DIFF_CIPHER_CHANGED,
    TW_DIFF_VULN_NEW, /* issue 14: a probe of table vulns newly fires (a regression) */
    /* Issue 13: a Mozilla profile newly failed (table compliance).  Not a
     * regression (--fail-on regression keeps its meaning): --fail-on
     * noncompliant:PROFILE gates on it (tw_diff_report.noncompliant_new). */
    TW_DIFF_NONCOMPLIANT_NEW,
    TW_DIFF__COUNT
};

/* One endpoint as one scan saw it.  Strings may be NULL (SQL NULL). */
struct tw_diff_ep {
    const char *host, *ip, *sni;
    int port;
    const char *class_name, *grade, *tls_version, *cipher, *cert_sha256, *not_after;
    int has_expiry;
    int64_t days_left; /* from that scan's reference time; floor */
    const char *vulns; /* the vulns rows found vulnerable, "a,b" sorted; NULL: none */
    /* The vulns rows that were tested (vulnerable or not), "a,b"; NULL: none.
     * A probe newly firing is a regression only where OLD tested it. */
    const char *vulns_tested;
    /* Issue 13: the Mozilla profiles failed, "modern,intermediate" (strictest
     * first), "" when graded and none failed, NULL when not judged. */
    const char *noncompliant;
};

struct tw_diff_change {
    enum tw_diff_kind kind;
    int is_regression;
};

/* Stable machine name ("grade_down") and a heading ("Grades down"). */
const char *tw_diff_kind_name(enum tw_diff_kind k);
const char *tw_diff_kind_title(enum tw_diff_kind k);

/* 1 when new_ fails the profile named profile ("intermediate") and old
 * did not fail it (old NULL or without a verdict counts as not failing). */
int tw_diff_newly_noncompliant(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                               const char *profile);

/* The changes between old and new (either may be NULL, not both), at most
 * TW_DIFF__COUNT, in enum order.  Returns the count. */
size_t tw_diff_compare(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                       int64_t expiry_threshold_days, struct tw_diff_change out[TW_DIFF__COUNT]);

/* The values a change is about (class, grade, version, cipher, leaf
 * fingerprint, notAfter), for renderers; NULL when absent. */
void tw_diff_values(enum tw_diff_kind k, const struct tw_diff_ep *old,
                    const struct tw_diff_ep *new_, const char **old_value, const char **new_value);

/* What a diff renderer sees: the two scans, the threshold and, once the join
 * is done, the counts.  Filled by the caller (out, old, new_, threshold)
 * and by tw_diff_run (the rest). */
struct tw_diff_report {
    FILE *out;
    const struct tw_scan_info *old, *new_;
    /* The database NEW is read from when it is not the one OLD is in (diff
     * A.db B.db); NULL: both scans are in tw_diff_run's db.  Borrowed. */
    sqlite3 *new_db;
    int64_t threshold; /* --expiry-threshold, days */
    /* More than this percentage of OLD's endpoints missing from NEW is a
     * "vanished" warning (appended to warnings) and sets is_vanished_over. */
    int64_t vanished_pct;
    /* Shown by begin() (borrowed, may be NULL): the caller's warnings
     * (tw_report_warnings_scan, tw_diff_scan_warnings), then tw_diff_run's. */
    struct tw_report_warnings *warnings;
    size_t counts[TW_DIFF__COUNT];
    size_t n_regressions;
    /* Issue 13: endpoints that newly fail each Mozilla profile (enum
     * tw_mozilla_profile order: modern, intermediate, old). */
    size_t noncompliant_new[TW_MOZILLA__COUNT];
    int is_vanished_over; /* set by tw_diff_run */
    int n_sections;       /* sections written so far */
    sqlite3 *db;          /* set by tw_diff_run for end(): its read transaction is open */
};

/* The warnings two scans' fingerprints give, appended to ws: targets_differ
 * when both targets_sha256 are set, of equal length (an older scan has a
 * 16-digit one) and differ; trust_differs when both trust_sha256 are set
 * and differ.  Pure. */
void tw_diff_scan_warnings(const struct tw_scan_info *old, const struct tw_scan_info *new_,
                           struct tw_report_warnings *ws);
/* 1 when more than pct % of total endpoints vanished (count of them). */
int tw_diff_vanished_over(int64_t count, int64_t total, int64_t pct);

/* One output format (STYLE G5).  begin() runs after the join, with the
 * counts known; then section() and the kind's changes for every kind with
 * changes, in enum order; then end(). */
struct tw_diff_renderer {
    const char *name;
    const char *help;
    void (*begin)(struct tw_diff_report *d);
    void (*section)(struct tw_diff_report *d, enum tw_diff_kind k);
    /* Render one change into f (a per-kind temporary file); idx counts
     * within the kind from 0. */
    void (*change)(FILE *f, const struct tw_diff_report *d, size_t idx,
                   const struct tw_diff_change *c, const struct tw_diff_ep *o,
                   const struct tw_diff_ep *n);
    void (*end)(struct tw_diff_report *d);
};

/*
 * Join d->old and d->new_ and render the changes with r into d->out,
 * summary first.  Both scans are read in one read transaction, in the order
 * of the results_endpoint index (host, ip, port, sni), so neither needs
 * sorting; one host's rows at a time are paired, first by (port, sni, ip),
 * then by (port, sni) alone (the address changed).  Changes are rendered as
 * they are found into one temporary file per kind and copied out in kind
 * order.  Returns 0, or -1 on a database, temporary-file or write error
 * (message in err).
 */
int tw_diff_run(sqlite3 *db, struct tw_diff_report *d, const struct tw_diff_renderer *r, char *err);

/* diff_clients.c (issue 13): the reference clients' outcomes that changed
 * between the two scans, for the text and JSON end(): "after this change,
 * N endpoints no longer accept CLIENT".  Text prints nothing without
 * changes; JSON writes a ,"client_changes":[...] member when either scan
 * has simulations (issue 13 scans), none otherwise. */
void tw_diff_clients_text(struct tw_diff_report *d);
void tw_diff_clients_json(struct tw_diff_report *d);

#endif /* TW_REPORT_DIFF_H */
