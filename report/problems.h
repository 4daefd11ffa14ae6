/*
 * problems.h - "fix first" (issue 16): the scan's endpoints folded into
 * problems, one per root cause, ranked by what to fix first.
 *
 * A problem is one root cause shared by N endpoints: one certificate
 * (same SHA-256) expired or expiring on 40 hosts, one issuer whose
 * intermediate is not sent by a pool, one failure class with the same
 * detail (711 x tcp_refused "connect: Connection refused"), one grade cap,
 * one legacy protocol accepted.  Each problem carries its severity, a
 * title, the count, the first TW_PROBLEMS_SAMPLE endpoints (in the order
 * they were added), and its explanation, fix and one reproduce command,
 * once.  Ranking (tw_problems_finish): the tier first (breaks clients now,
 * expires within 14 days, within 30 days, grade cap, hygiene), then the
 * most endpoints, then the soonest expiry, then class precedence, then the
 * key, so that the order is total and reproducible.
 *
 * The module is pure (STYLE G6): it sees rows (query.h) and two strings per
 * row that summary.c reads beside them, and does no I/O.  Every string it
 * keeps is a copy of hostile data (or our fixed text) and is escaped by the
 * renderer that prints it.  Single-threaded; struct tw_problems owns all
 * its memory (tw_problems_free).  Memory is O(problems + endpoints in a
 * problem), never the rows themselves.
 */
#ifndef TW_REPORT_PROBLEMS_H
#define TW_REPORT_PROBLEMS_H

#include <stddef.h>
#include <stdint.h>

#include "report/query.h"

#define TW_PROBLEMS_SAMPLE 5       /* endpoints kept (and shown) per problem */
#define TW_PROBLEMS_TOP_DEFAULT 10 /* problems shown when --top is not given */
#define TW_PROBLEMS_KEY_MAX 320    /* bytes of a hostile value in a key or title */

/* The ranking tiers, most urgent first. */
enum tw_problem_tier {
    TW_PROBLEM_BROKEN = 0, /* a non-ok class or an expired certificate: clients fail now */
    TW_PROBLEM_EXPIRES_14, /* the leaf expires within 14 days of the scan's time */
    TW_PROBLEM_EXPIRES_30, /* within 30 days */
    TW_PROBLEM_CAPPED,     /* a grade cap (grade_reasons), other than T and M */
    TW_PROBLEM_HYGIENE,    /* a legacy protocol accepted (protocols), without a cap for it */
    TW_PROBLEM__TIERS
};

struct tw_problem {
    enum tw_problem_tier tier;
    const char *kind; /* stable code: a class name, "expired", "expires_14d",
                       * "expires_30d", "grade_cap", "protocol"; static or owned
                       * (kind_owned) */
    char *kind_owned;
    char *key;     /* the grouping key (kind and the shared value) */
    char *title;   /* one line, unescaped */
    char *why;     /* explanation, unescaped */
    char *fix;     /* remediation, unescaped, may be NULL */
    char *try_cmd; /* the first endpoint's reproduce command, may be NULL */
    int64_t count;
    int64_t min_days; /* soonest days_left among the endpoints (INT64_MAX: none) */
    int class_rank;   /* tw_class_rank of the class, 99 for other kinds */
    int rank;         /* 1-based after tw_problems_finish */
    int64_t last_row; /* the last endpoint added, so that it joins once */
    int with_try;     /* try_cmd comes from the endpoints' reproduce commands */
    /* The first endpoints added: host, ip, port and sni filled (the rest
     * zero), so that tw_render_endpoint labels them. */
    struct tw_report_row *sample; /* grown to TW_PROBLEMS_SAMPLE, so that a
                                   * problem of one endpoint costs one row */
    size_t n_sample, cap_sample;
};

/* Which problems an endpoint belongs to (for the CSV column). */
struct tw_problem_member {
    int64_t row_id;
    const struct tw_problem *problem; /* owned by the list */
};

struct tw_problems {
    struct tw_problem **list; /* ranked after tw_problems_finish */
    size_t n, cap;
    size_t *slots; /* open-addressing hash of list indexes + 1 (0 = empty) */
    size_t n_slots;
    struct tw_problem_member *members;
    size_t n_members, cap_members;
    int64_t n_endpoints; /* endpoints in at least one problem */
    int finished;
};

/* Zero *p (no allocation). */
void tw_problems_init(struct tw_problems *p);
/* Free everything p owns and zero it. */
void tw_problems_free(struct tw_problems *p);

/*
 * Add one endpoint: row as read by the row iterator (its id, class, detail,
 * certificate, days_left, repro); legacy: the legacy protocols it accepts
 * ("SSLv3,TLSv1", NULL or "" for none, from the protocols table); caps: the
 * grade caps other than T and M as "code\x1fcap\x1ftext" records separated
 * by \x1e (NULL or "" for none).  A cap at A or A- (it only withholds A+)
 * is hygiene; others rank worst cap first.  An endpoint joins every problem it has, each
 * once.  Call before tw_problems_finish.
 */
void tw_problems_add(struct tw_problems *p, const struct tw_report_row *row, const char *legacy,
                     const char *caps);
/* Rank the problems (see above) and number them from 1. */
void tw_problems_finish(struct tw_problems *p);

/* How many problems a report shows: top (0: all) bounded by p->n. */
size_t tw_problems_shown(const struct tw_problems *p, int64_t top);
/* The severity word of a tier: critical, high, medium, low, info. */
const char *tw_problem_severity(enum tw_problem_tier tier);
/* The severity of one problem: its tier's, except that a grade cap at C
 * or worse (F: Heartbleed, export suites...) is "medium", not "low". */
const char *tw_problem_severity_of(const struct tw_problem *pr);
/* What the tier means, one short phrase ("breaks clients now", ...). */
const char *tw_problem_tier_text(enum tw_problem_tier tier);
/* The ranks of the problems endpoint row_id belongs to, ascending, as
 * "1;4" in buf[len] ("" for none).  After tw_problems_finish. */
void tw_problems_ranks(const struct tw_problems *p, int64_t row_id, char *buf, size_t len);

#endif /* TW_REPORT_PROBLEMS_H */
