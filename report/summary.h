/*
 * summary.h - the estate summary of one scan: endpoints by class and by
 * grade, certificate expiry (buckets and a per-day histogram), legacy TLS
 * (what the endpoints accept, not only what they negotiated), the weakest
 * grades and the fix-first problems (problems.h), whose rows it reads.
 *
 * The driver (render.c) computes it once, inside the read transaction of
 * the report, and hands it to the renderer's begin().  It honours the same
 * filters as the row stream (query.h).  Single-threaded; the sqlite3
 * connection is borrowed; the summary owns the rows of its two lists.
 */
#ifndef TW_REPORT_SUMMARY_H
#define TW_REPORT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "report/problems.h"
#include "report/query.h"
#include "store/model.h"
#include "tls/grade.h"
#include "tls/mozilla.h"

#define TW_SUMMARY_LIST_MAX 20 /* endpoints listed under legacy TLS / weakest */
#define TW_SUMMARY_DAYS 90     /* per-day expiry histogram length */

struct tw_summary {
    int64_t total, n_failures, n_issues, n_ok;
    int64_t by_class[TW_CLASS__COUNT];
    int64_t n_unknown_class;
    /* Indexed by enum tw_grade_letter; [TW_GRADE_NONE]: not graded.  Reports
     * list it in tw_grade_by_severity order. */
    int64_t by_grade[TW_GRADE_NONE + 1];
    int64_t n_no_cert, n_expired, n_exp7, n_exp30;
    int64_t expiry_days[TW_SUMMARY_DAYS]; /* endpoints whose leaf expires on day d */
    /* Issue 16: endpoints that accept a legacy protocol (SSLv2, SSLv3,
     * TLSv1, TLSv1.1: the protocols table of a graded scan) or negotiated
     * one (a --quick scan enumerates nothing). */
    int64_t n_legacy_tls;
    struct tw_report_row legacy[TW_SUMMARY_LIST_MAX];
    char *legacy_accepted[TW_SUMMARY_LIST_MAX]; /* "SSLv3,TLSv1", NULL: not enumerated */
    size_t n_legacy;
    struct tw_report_row weakest[TW_SUMMARY_LIST_MAX];
    size_t n_weakest;
    /* Issue 16: the fix-first problems of the same rows, ranked. */
    struct tw_problems problems;
    /* Issue 13: endpoints with Mozilla verdicts (table compliance: graded
     * scans), and how many of them pass each profile (enum
     * tw_mozilla_profile). */
    int64_t n_mz_judged;
    int64_t mz_pass[TW_MOZILLA__COUNT];
};

/* Compute the summary of the scan's rows that pass the filters.  Returns 0,
 * 1 when opts->where does not compile (message in err), -1 on error; clean
 * *out up in every case. */
int tw_report_summarize(sqlite3 *db, const struct tw_scan_info *scan,
                        const struct tw_report_opts *opts, struct tw_summary *out, char *err);
/* Free the rows of the two lists and the problems. */
void tw_summary_cleanup(struct tw_summary *sum);

#endif /* TW_REPORT_SUMMARY_H */
