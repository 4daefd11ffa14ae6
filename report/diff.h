/*
 * diff.h - compare one endpoint across two scans (pure, STYLE G6).
 *
 * diff_cli.c matches endpoints of scan OLD and scan NEW by (host, port,
 * sni) and calls tw_diff_compare() on each pair (or on a lone side for an
 * endpoint that appeared or vanished).  The comparison decides which kinds
 * of change apply and which of them are regressions:
 *
 *   failure_new          a failure class now (a new endpoint that fails too)
 *   class_changed worse  the new class comes earlier in DESIGN §3 (ok best)
 *   grade_down           a lower grade (A+ best ... F worst; T, M below E)
 *   expiring             the leaf expires within the threshold now, and did
 *                        not in OLD (or had no leaf, or did not exist)
 *
 * Borrows everything; no allocation; any thread.
 */
#ifndef TW_REPORT_DIFF_H
#define TW_REPORT_DIFF_H

#include <stddef.h>
#include <stdint.h>

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
    TW_DIFF__COUNT
};

/* One endpoint as one scan saw it.  Strings may be NULL (SQL NULL). */
struct tw_diff_ep {
    const char *host, *ip, *sni;
    int port;
    const char *class_name, *grade, *tls_version, *cipher, *cert_sha256, *not_after;
    int has_expiry;
    int64_t days_left; /* from that scan's reference time; floor */
};

struct tw_diff_change {
    enum tw_diff_kind kind;
    int is_regression;
};

/* Stable machine name ("grade_down") and a heading ("Grades down"). */
const char *tw_diff_kind_name(enum tw_diff_kind k);
const char *tw_diff_kind_title(enum tw_diff_kind k);

/* The changes between old and new (either may be NULL, not both), at most
 * TW_DIFF__COUNT, in enum order.  Returns the count. */
size_t tw_diff_compare(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                       int64_t expiry_threshold_days, struct tw_diff_change out[TW_DIFF__COUNT]);

/* The values a change is about (class, grade, version, cipher, leaf
 * fingerprint, notAfter), for renderers; NULL when absent. */
void tw_diff_values(enum tw_diff_kind k, const struct tw_diff_ep *old,
                    const struct tw_diff_ep *new_, const char **old_value, const char **new_value);

#endif /* TW_REPORT_DIFF_H */
