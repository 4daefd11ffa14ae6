/*
 * render_int.h - what the renderers (render_<format>.c) share: their table
 * entries, which render.c lists, and the helpers in render_util.c (colours,
 * the scan warning, the endpoint label, the explanation of a problem).  Only report/render*.c
 * (and diff_render.c, for the HTML style) include it.
 */
#ifndef TW_REPORT_RENDER_INT_H
#define TW_REPORT_RENDER_INT_H

#include <stddef.h>

#include "report/escape.h"
#include "report/query.h"
#include "report/render.h"
#include "tls/mozilla.h"

/* One per render_<name>.c; render.c lists them in tw_renderers[]. */
extern const struct tw_renderer tw_render_text, tw_render_json, tw_render_csv, tw_render_md,
    tw_render_html, tw_render_prom;
/* render_html.c, shared with the diff's HTML (diff_render.c): the page's
 * style sheet and a grade's badge CSS class ("g g-a"; "g" when not graded). */
extern const char tw_render_html_style[];
const char *tw_render_html_grade_class(const char *grade);

/* render_util.c.  ANSI SGR colour for a grade / class, "" when colour is off. */
const char *tw_render_grade_color(const struct tw_report *rp, const char *grade);
const char *tw_render_class_color(const struct tw_report *rp, const struct tw_report_row *row);
const char *tw_render_reset(const struct tw_report *rp);
/* "Scan N" one-line status warning or NULL when the scan is done. */
const char *tw_render_scan_warning(const struct tw_scan_info *scan);
/* The endpoint's label: host:port (IPv6 in brackets), then " (ip)" when it
 * differs from the host, then " sni=-" (none sent) or " sni=NAME" when it
 * differs from the host.  Fills buf[len] unescaped: the caller escapes. */
void tw_report_endpoint_label(const struct tw_report_row *row, char *buf, size_t len);
/* The scan's start, end and status, each after its text in texts[] and
 * escaped by esc ("-" when empty). */
void tw_render_scan_times(FILE *f, tw_escape_fn *esc, const struct tw_scan_info *sc,
                          const char *const texts[3]);
/* How one count of a summary list is written: sep (before every count but
 * the first), pre, the name (ours: a class or grade name), mid, the
 * count, post. */
struct tw_render_count_fmt {
    const char *sep, *pre, *mid, *post;
};
/* Endpoints by class in the order of README.md's class table, then "unknown" when there are
 * any; a class with none is left out unless all is set.  Returns how many
 * counts were written. */
int tw_render_class_counts(FILE *f, const struct tw_summary *sum,
                           const struct tw_render_count_fmt *fmt, int all);
/* Endpoints by grade, best first, "not graded" last; a grade with none is
 * left out.  Returns how many counts were written. */
int tw_render_grade_counts(FILE *f, const struct tw_summary *sum,
                           const struct tw_render_count_fmt *fmt);
/* Issue 16, identical explanations are never repeated: 1 when the flat list
 * already explained row's class (why and fix come from the class), else 0
 * and the class is marked.  Keeps its set in rp->state: only for renderers
 * (text, md) that have no state of their own. */
int tw_render_explained_before(struct tw_report *rp, const struct tw_report_row *row);
/* Issue 16, SANs in every format: the leaf's SAN list ("DNS:a,DNS:b,IP:c"
 * as certs.san stores it), NULL when there is none. */
const char *tw_render_leaf_san(const struct tw_report_row *row);
/* The next name of a SAN list at *cursor ("DNS:" dropped, empty entries
 * skipped, cut to cap-1 bytes) into name[cap]; the cursor moves past it.
 * 1 when a name was read, 0 at the end (NULL reads as empty). */
int tw_render_san_next(const char **cursor, char *name, size_t cap);
/* The first n names of san, ", " between them and " +K" for the K more,
 * each escaped by esc.  Returns how many names the list holds. */
size_t tw_render_sans(FILE *f, tw_escape_fn *esc, const char *san, size_t n);
/* That label written to f, escaped by esc. */
void tw_render_endpoint(FILE *f, const struct tw_report_row *row, tw_escape_fn *esc);
/* One line of a summary list (TLS 1.0/1.1, weakest grades): the n pieces,
 * mid, row's endpoint label, post; escaped by esc. */
void tw_render_summary_line(FILE *f, tw_escape_fn *esc, const struct tw_escape_piece *p, size_t n,
                            const struct tw_report_row *row, const char *mid, const char *post);
/* Why a row that is not ok is a problem ("unknown class" when its class is
 * unknown) and the fix (NULL then); both NULL for an ok row. */
void tw_render_explain(const struct tw_report_row *row, const char **why, const char **fix);

/* Issue 13: an endpoint's Mozilla verdicts (tw_report_row.compliance,
 * "profile=pass=checks;..."), parsed: per profile (enum tw_mozilla_profile)
 * whether it was judged, passed, and its failed checks ("a,b", cut). */
struct tw_render_mozilla_verdict {
    int judged, pass;
    char failed[512];
};
struct tw_render_mozilla {
    struct tw_render_mozilla_verdict profile[TW_MOZILLA__COUNT];
};
/* Parse comp (NULL or malformed parts: not judged).  Returns how many
 * profiles were judged. */
int tw_render_mozilla_parse(const char *comp, struct tw_render_mozilla *out);
/* How many judged profiles comp fails. */
int tw_render_mozilla_fails(const char *comp);
/* The profiles comp fails, most lenient first, "old fails a, b; intermediate
 * fails c; modern fails d", every check code escaped by esc.  Returns how
 * many profiles were written (0: none fails or none judged; nothing written). */
int tw_render_mozilla_line(FILE *f, tw_escape_fn *esc, const char *comp);

/* render_clients.c: the "who cannot connect" section (issue 13), from the
 * scan's client_sims rows; prints nothing when the scan has none.  JSON
 * writes a ,"who_cannot_connect":{...} member: call it inside the
 * top-level object. */
void tw_render_clients_text(struct tw_report *rp);
void tw_render_clients_md(struct tw_report *rp);
void tw_render_clients_json(struct tw_report *rp);

#endif /* TW_REPORT_RENDER_INT_H */
