/*
 * render_util.c - what the renderers share: ANSI colours for grades and
 * classes, the scan-status warning, the endpoint label and the explanation
 * of a problem.  Pure string
 * work on borrowed rows; it calls nothing in report/ above query.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/escape.h"
#include "report/query.h"
#include "report/render.h"
#include "report/render_int.h"
#include "store/model.h"
#include "tls/grade.h"

void
tw_report_endpoint_label(const struct tw_report_row *row, char *buf, size_t len)
{
    int v6 = row->host != NULL && strchr(row->host, ':') != NULL;
    int show_ip = row->ip != NULL && row->ip[0] != '\0' && row->host != NULL &&
                  strcmp(row->ip, row->host) != 0;
    int show_sni = row->sni != NULL && row->host != NULL && strcmp(row->sni, row->host) != 0;

    snprintf(buf, len, "%s%s%s:%d%s%s%s%s%s", v6 ? "[" : "", row->host ? row->host : "",
             v6 ? "]" : "", row->port, show_ip ? " (" : "", show_ip ? row->ip : "",
             show_ip ? ")" : "",
             row->sni == NULL ? " sni=-"
             : show_sni       ? " sni="
                              : "",
             show_sni ? row->sni : "");
}

void
tw_render_scan_times(FILE *f, tw_escape_fn *esc, const struct tw_scan_info *sc,
                     const char *const texts[3])
{
    const struct tw_escape_piece p[] = {
        {texts[0], sc->started_at},
        {texts[1], sc->finished_at},
        {texts[2], sc->status},
    };

    tw_escape_pieces(f, esc, p, 3);
}

static void
render_count(FILE *f, const struct tw_render_count_fmt *fmt, int n, const char *name, int64_t v)
{
    fprintf(f, "%s%s%s%s%" PRId64 "%s", n > 0 ? fmt->sep : "", fmt->pre, name, fmt->mid, v,
            fmt->post);
}

int
tw_render_class_counts(FILE *f, const struct tw_summary *sum, const struct tw_render_count_fmt *fmt,
                       int all)
{
    int n = 0;

    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (all || sum->by_class[c] > 0)
            render_count(f, fmt, n++, tw_class_name((enum tw_class)c), sum->by_class[c]);
    if (sum->n_unknown_class > 0)
        render_count(f, fmt, n++, "unknown", sum->n_unknown_class);
    return n;
}

int
tw_render_grade_counts(FILE *f, const struct tw_summary *sum, const struct tw_render_count_fmt *fmt)
{
    int n = 0;

    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        if (sum->by_grade[g] > 0)
            render_count(f, fmt, n++, g == TW_GRADE_NONE ? "not graded" : tw_grade_name(g),
                         sum->by_grade[g]);
    }
    return n;
}

int
tw_render_explained_before(struct tw_report *rp, const struct tw_report_row *row)
{
    unsigned char *seen = rp->state;
    size_t i = row->cls_known ? (size_t)row->cls : (size_t)TW_CLASS__COUNT;

    if (seen == NULL) {
        seen = tw_xmalloc(TW_CLASS__COUNT + 1);
        memset(seen, 0, TW_CLASS__COUNT + 1);
        rp->state = seen;
    }
    if (seen[i])
        return 1;
    seen[i] = 1;
    return 0;
}

const char *
tw_render_leaf_san(const struct tw_report_row *row)
{
    if (row->leaf_san != NULL)
        return row->leaf_san;
    for (size_t i = 0; i < row->n_chain; i++)
        if (row->chain[i].depth == 0)
            return row->chain[i].san;
    return NULL;
}

int
tw_render_san_next(const char **cursor, char *name, size_t cap)
{
    const char *p = *cursor;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");
        const char *v = strncmp(p, "DNS:", 4) == 0 && len >= 4 ? p + 4 : p;
        size_t vlen = len - (size_t)(v - p);

        p += len;
        if (*p == ',')
            p++;
        if (vlen == 0)
            continue;
        if (vlen >= cap)
            vlen = cap - 1;
        memcpy(name, v, vlen);
        name[vlen] = '\0';
        *cursor = p;
        return 1;
    }
    *cursor = p;
    return 0;
}

size_t
tw_render_sans(FILE *f, tw_escape_fn *esc, const char *san, size_t n)
{
    char name[TW_HOST_MAX + 8];
    size_t count = 0;

    while (tw_render_san_next(&san, name, sizeof(name))) {
        if (count < n) {
            fputs(count > 0 ? ", " : "", f);
            esc(f, name);
        }
        count++;
    }
    if (count > n)
        fprintf(f, " +%zu", count - n);
    return count;
}

void
tw_render_endpoint(FILE *f, const struct tw_report_row *row, tw_escape_fn *esc)
{
    char label[2 * TW_HOST_MAX + 128];

    tw_report_endpoint_label(row, label, sizeof(label));
    esc(f, label);
}

void
tw_render_summary_line(FILE *f, tw_escape_fn *esc, const struct tw_escape_piece *p, size_t n,
                       const struct tw_report_row *row, const char *mid, const char *post)
{
    tw_escape_pieces(f, esc, p, n);
    fputs(mid, f);
    tw_render_endpoint(f, row, esc);
    fputs(post, f);
}

void
tw_render_explain(const struct tw_report_row *row, const char **why, const char **fix)
{
    *why = NULL;
    *fix = NULL;
    if (row->cls_known && row->cls == TW_CLASS_OK)
        return;
    *why = row->cls_known ? tw_class_info(row->cls)->why : "unknown class";
    if (row->cls_known)
        *fix = tw_class_info(row->cls)->fix;
}

const char *
tw_render_grade_color(const struct tw_report *rp, const char *grade)
{
    int sev = tw_grade_severity(tw_grade_from_name(grade));

    if (!rp->opts->color || sev == TW_GRADE_NONE)
        return "";
    if (sev <= tw_grade_severity(TW_GRADE_A_MINUS))
        return "\033[32m";
    if (sev <= tw_grade_severity(TW_GRADE_C))
        return "\033[33m";
    return "\033[1;31m";
}

const char *
tw_render_class_color(const struct tw_report *rp, const struct tw_report_row *row)
{
    if (!rp->opts->color)
        return "";
    if (row->cls_known && row->cls == TW_CLASS_OK)
        return "\033[32m";
    return row->is_failure ? "\033[1;31m" : "\033[33m";
}

const char *
tw_render_reset(const struct tw_report *rp)
{
    return rp->opts->color ? "\033[0m" : "";
}

const char *
tw_render_scan_warning(const struct tw_scan_info *scan)
{
    if (strcmp(scan->status, "interrupted") == 0)
        return "SCAN INTERRUPTED: results are incomplete (endpoints not scanned are missing)";
    if (strcmp(scan->status, "running") == 0)
        return "SCAN STILL RUNNING: results are incomplete";
    if (strcmp(scan->status, "done") != 0)
        return "SCAN STATUS UNKNOWN";
    return NULL;
}

int
tw_render_mozilla_parse(const char *comp, struct tw_render_mozilla *out)
{
    const char *p = comp;
    int n = 0;

    memset(out, 0, sizeof(*out));
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ";");
        size_t a = strcspn(p, "=");
        const char *rest = p + a + 1;

        /* "profile=P=checks": a known profile, P 0 or 1; anything else is skipped. */
        if (a + 2 < len && a < 32 && (rest[0] == '0' || rest[0] == '1') && rest[1] == '=') {
            char name[32];
            size_t fl = len - a - 3;
            int prof;

            memcpy(name, p, a);
            name[a] = '\0';
            prof = tw_mozilla_profile_from_name(name);
            if (prof >= 0) {
                struct tw_render_mozilla_verdict *v = &out->profile[prof];

                if (fl > sizeof(v->failed) - 1)
                    fl = sizeof(v->failed) - 1;
                memcpy(v->failed, rest + 2, fl);
                v->failed[fl] = '\0';
                v->judged = 1;
                v->pass = rest[0] == '1';
                n++;
            }
        }
        p += len;
        if (*p == ';')
            p++;
    }
    return n;
}

int
tw_render_mozilla_fails(const char *comp)
{
    struct tw_render_mozilla mz;
    int n = 0;

    tw_render_mozilla_parse(comp, &mz);
    for (int p = 0; p < TW_MOZILLA__COUNT; p++)
        n += mz.profile[p].judged && !mz.profile[p].pass;
    return n;
}

int
tw_render_mozilla_line(FILE *f, tw_escape_fn *esc, const char *comp)
{
    struct tw_render_mozilla mz;
    int n = 0;

    if (tw_render_mozilla_parse(comp, &mz) == 0)
        return 0;
    /* The most lenient profile first: a reader stops at the first that fails. */
    for (int p = TW_MOZILLA__COUNT - 1; p >= 0; p--) {
        const struct tw_render_mozilla_verdict *v = &mz.profile[p];
        const char *s = v->failed;

        if (!v->judged || v->pass)
            continue;
        fputs(n++ > 0 ? "; " : "", f);
        fputs(tw_mozilla_profile_name((enum tw_mozilla_profile)p), f);
        fputs(" fails ", f);
        if (s[0] == '\0')
            s = "-";
        /* "a,b" as "a, b", each code escaped on its own. */
        while (*s != '\0') {
            char code[64];
            size_t k = strcspn(s, ",");
            size_t c = k < sizeof(code) - 1 ? k : sizeof(code) - 1;

            memcpy(code, s, c);
            code[c] = '\0';
            esc(f, code);
            s += k;
            if (*s == ',') {
                s++;
                fputs(", ", f);
            }
        }
    }
    return n;
}
