/*
 * diff_render.c - the formats of `tlsweep diff`: text, json, csv, md and
 * html (one self-contained page in the report dashboard's style, no script).
 *
 * Each is a struct tw_diff_renderer driven by tw_diff_run (diff.c): begin()
 * with the counts, then per kind a section() and its changes, then end().
 * Every string comes from the database and is hostile: each format escapes
 * it with escape.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report/diff.h"
#include "report/diff_render.h"
#include "report/escape.h"
#include "report/query.h"
#include "report/render_int.h"
#include "store/model.h"

/* ---- shared pieces ---- */

static void
diff_label(const struct tw_diff_ep *o, const struct tw_diff_ep *n, char *buf, size_t len)
{
    const struct tw_diff_ep *e = n != NULL ? n : o;
    int v6 = strchr(e->host ? e->host : "", ':') != NULL;
    const char *ip = e->ip != NULL ? e->ip : "";
    int show_ip = ip[0] != '\0' && e->host != NULL && strcmp(ip, e->host) != 0;
    int ip_moved =
        o != NULL && n != NULL && o->ip != NULL && n->ip != NULL && strcmp(o->ip, n->ip) != 0;
    int show_sni = e->sni != NULL && e->host != NULL && strcmp(e->sni, e->host) != 0;

    snprintf(buf, len, "%s%s%s:%d%s%s%s%s%s%s%s", v6 ? "[" : "", e->host ? e->host : "",
             v6 ? "]" : "", e->port, show_ip || ip_moved ? " (" : "", ip_moved ? o->ip : "",
             ip_moved ? " -> " : "", show_ip || ip_moved ? ip : "", show_ip || ip_moved ? ")" : "",
             e->sni == NULL ? " sni=-"
             : show_sni     ? " sni="
                            : "",
             show_sni ? e->sni : "");
}

/* The endpoint's label and the two values of a change, for text and md. */
struct change_view {
    char label[2 * TW_HOST_MAX + 2 * TW_IP_MAX + 64];
    const char *ov;
    const char *nv;
};

static void
change_view(struct change_view *v, const struct tw_diff_change *c, const struct tw_diff_ep *o,
            const struct tw_diff_ep *n)
{
    diff_label(o, n, v->label, sizeof(v->label));
    tw_diff_values(c->kind, o, n, &v->ov, &v->nv);
}

/* " (notAfter DATE)" of one side of a change. */
static void
not_after(FILE *f, tw_escape_fn *esc, const struct tw_diff_ep *e)
{
    fputs(" (notAfter ", f);
    tw_escape_or_dash(f, esc, e->not_after);
    fputc(')', f);
}

static void
scan_line(FILE *f, const char *tag, const struct tw_scan_info *s, tw_escape_fn *esc)
{
    fprintf(f, "%s scan %" PRId64, tag, s->id);
    tw_escape_wrapped(f, esc, " \"", s->label, "\"");
    fputs(" started ", f);
    esc(f, s->started_at);
    fputs(", ", f);
    esc(f, s->status);
    if (strcmp(s->status, "done") != 0)
        fputs(" (INCOMPLETE)", f);
}

/* One line per warning: pre, the sentence escaped by esc, post. */
static void
diff_warning_lines(FILE *f, const struct tw_diff_report *d, const char *pre, const char *post,
                   tw_escape_fn *esc)
{
    char text[512];

    for (size_t i = 0; d->warnings != NULL && i < d->warnings->n; i++) {
        tw_report_warning_text(&d->warnings->w[i], "diff", NULL, text, sizeof(text));
        fputs(pre, f);
        esc(f, text);
        fputs(post, f);
    }
}

/* ---- text ---- */

static void
text_begin(struct tw_diff_report *d)
{
    FILE *f = d->out;
    int first = 1;

    fputs("tlsweep diff\n", f);
    scan_line(f, "  old:", d->old, tw_escape_term);
    fputc('\n', f);
    scan_line(f, "  new:", d->new_, tw_escape_term);
    fputc('\n', f);
    fputs("Summary:", f);
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        fprintf(f, "%s %zu %s", first ? "" : ",", d->counts[k], tw_diff_kind_name(k));
        first = 0;
    }
    fprintf(f, "\nRegressions: %zu (expiry threshold %" PRId64 " days)\n", d->n_regressions,
            d->threshold);
    diff_warning_lines(f, d, "Warning: ", "\n", tw_escape_term);
    if (d->n_regressions == 0 && d->counts[TW_DIFF_NEW] + d->counts[TW_DIFF_VANISHED] == 0) {
        size_t any = 0;
        for (int k = 0; k < TW_DIFF__COUNT; k++)
            any += d->counts[k];
        if (any == 0)
            fputs("No changes.\n", f);
    }
}

static void
text_section(struct tw_diff_report *d, enum tw_diff_kind k)
{
    fprintf(d->out, "\n%s (%zu)\n", tw_diff_kind_title(k), d->counts[k]);
}

static void
text_value(FILE *f, const char *s)
{
    tw_escape_or_dash(f, tw_escape_term, s);
}

static void
text_change(FILE *f, const struct tw_diff_report *d, size_t idx, const struct tw_diff_change *c,
            const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    struct change_view v;

    (void)d;
    (void)idx;
    change_view(&v, c, o, n);
    fputs(c->is_regression ? "  ! " : "    ", f);
    tw_escape_term(f, v.label);
    fputs("  ", f);
    switch (c->kind) {
    case TW_DIFF_NEW:
    case TW_DIFF_VANISHED: {
        const struct tw_diff_ep *e = c->kind == TW_DIFF_NEW ? n : o;
        const struct tw_escape_piece p[] = {
            {c->kind == TW_DIFF_NEW ? "class " : "was class ", e->class_name},
            {", grade ", e->grade},
        };

        tw_escape_pieces(f, tw_escape_term, p, 2);
        break;
    }
    case TW_DIFF_EXPIRING:
        fputs("notAfter ", f);
        text_value(f, v.nv);
        fprintf(f, " (%" PRId64 " days left", n->days_left);
        if (o != NULL && o->has_expiry)
            fprintf(f, "; was %" PRId64 ")", o->days_left);
        else
            fputc(')', f);
        break;
    case TW_DIFF_CERT_ROTATED:
        text_value(f, v.ov);
        not_after(f, tw_escape_term, o);
        fputs(" -> ", f);
        text_value(f, v.nv);
        not_after(f, tw_escape_term, n);
        break;
    default:
        text_value(f, v.ov);
        fputs(" -> ", f);
        text_value(f, v.nv);
        if (c->kind == TW_DIFF_CLASS_CHANGED)
            fputs(c->is_regression ? " (worse)" : " (better)", f);
        break;
    }
    fputs(c->is_regression ? "  REGRESSION\n" : "\n", f);
}

static void
text_end(struct tw_diff_report *d)
{
    tw_diff_clients_text(d); /* issue 13: client outcomes that changed */
}

/* ---- markdown ---- */

static void
md_begin(struct tw_diff_report *d)
{
    FILE *f = d->out;

    fputs("# tlsweep diff\n\n", f);
    scan_line(f, "- old:", d->old, tw_escape_md);
    fputc('\n', f);
    scan_line(f, "- new:", d->new_, tw_escape_md);
    fputs("\n", f);
    diff_warning_lines(f, d, "\n> **Warning:** ", "\n", tw_escape_md);
    fputs("\n## Summary\n\n| change | count |\n|---|---:|\n", f);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        fprintf(f, "| %s | %zu |\n", tw_diff_kind_name(k), d->counts[k]);
    fprintf(f, "| **regressions** | **%zu** |\n\nExpiry threshold: %" PRId64 " days.\n",
            d->n_regressions, d->threshold);
}

static void
md_section(struct tw_diff_report *d, enum tw_diff_kind k)
{
    fprintf(d->out, "\n## %s (%zu)\n\n| endpoint | old | new | regression |\n|---|---|---|---|\n",
            tw_diff_kind_title(k), d->counts[k]);
}

static void
md_change(FILE *f, const struct tw_diff_report *d, size_t idx, const struct tw_diff_change *c,
          const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    int rotated = c->kind == TW_DIFF_CERT_ROTATED;
    struct change_view v;

    (void)d;
    (void)idx;
    change_view(&v, c, o, n);
    fputs("| ", f);
    tw_escape_md(f, v.label);
    fputs(" | ", f);
    tw_escape_or_dash(f, tw_escape_md, v.ov);
    if (rotated && o != NULL)
        not_after(f, tw_escape_md, o);
    fputs(" | ", f);
    tw_escape_or_dash(f, tw_escape_md, v.nv);
    if (rotated && n != NULL)
        not_after(f, tw_escape_md, n);
    fprintf(f, " | %s |\n", c->is_regression ? "yes" : "no");
}

/* ---- json ---- */

static void
json_scan(FILE *f, const struct tw_scan_info *s)
{
    fprintf(f, "{\"id\":%" PRId64 ",\"label\":", s->id);
    tw_escape_json(f, s->label);
    fputs(",\"started_at\":", f);
    tw_escape_json(f, s->started_at);
    fputs(",\"finished_at\":", f);
    tw_escape_json(f, s->finished_at[0] ? s->finished_at : NULL);
    fputs(",\"status\":", f);
    tw_escape_json(f, s->status);
    fprintf(f, ",\"partial\":%s,\"results\":%" PRId64 "}", s->is_partial ? "true" : "false",
            s->n_results);
}

static void
json_begin(struct tw_diff_report *d)
{
    FILE *f = d->out;

    fputs("{\"format\":\"tlsweep-diff\",\"version\":1,\n\"old\":", f);
    json_scan(f, d->old);
    fputs(",\n\"new\":", f);
    json_scan(f, d->new_);
    fputs(",\n\"warnings\":", f);
    tw_report_warnings_json(f, d->warnings, "diff");
    fprintf(f, ",\n\"expiry_threshold_days\":%" PRId64 ",\n\"summary\":{", d->threshold);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        fprintf(f, "\"%s\":%zu,", tw_diff_kind_name(k), d->counts[k]);
    fprintf(f, "\"regressions\":%zu},\n\"regression\":%s,\n\"changes\":[\n", d->n_regressions,
            d->n_regressions ? "true" : "false");
}

static void
json_section(struct tw_diff_report *d, enum tw_diff_kind k)
{
    (void)k;
    if (d->n_sections > 0)
        fputs(",\n", d->out);
}

/* The columns json and csv give a change after its endpoint, in order. */
static const char *const change_columns[] = {
    "old_ip", "new_ip", "old", "new", "old_not_after", "new_not_after",
};
#define N_CHANGE_COLUMNS (sizeof(change_columns) / sizeof(change_columns[0]))

static void
change_cells(const struct tw_diff_change *c, const struct tw_diff_ep *o, const struct tw_diff_ep *n,
             const char *cells[N_CHANGE_COLUMNS])
{
    cells[0] = o ? o->ip : NULL;
    cells[1] = n ? n->ip : NULL;
    tw_diff_values(c->kind, o, n, &cells[2], &cells[3]);
    cells[4] = o ? o->not_after : NULL;
    cells[5] = n ? n->not_after : NULL;
}

static void
json_change(FILE *f, const struct tw_diff_report *d, size_t idx, const struct tw_diff_change *c,
            const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    const struct tw_diff_ep *e = n != NULL ? n : o;
    const char *cells[N_CHANGE_COLUMNS];

    (void)d;
    change_cells(c, o, n, cells);
    fprintf(f, "%s{\"kind\":\"%s\",\"regression\":%s,\"host\":", idx ? ",\n" : "",
            tw_diff_kind_name(c->kind), c->is_regression ? "true" : "false");
    tw_escape_json(f, e->host);
    fprintf(f, ",\"port\":%d,\"sni\":", e->port);
    tw_escape_json(f, e->sni);
    for (size_t i = 0; i < N_CHANGE_COLUMNS; i++) {
        fprintf(f, ",\"%s\":", change_columns[i]);
        tw_escape_json(f, cells[i]);
    }
    if (o != NULL && o->has_expiry)
        fprintf(f, ",\"old_days_left\":%" PRId64, o->days_left);
    else
        fputs(",\"old_days_left\":null", f);
    if (n != NULL && n->has_expiry)
        fprintf(f, ",\"new_days_left\":%" PRId64 "}", n->days_left);
    else
        fputs(",\"new_days_left\":null}", f);
}

static void
json_end(struct tw_diff_report *d)
{
    fputs("\n]", d->out);
    tw_diff_clients_json(d); /* issue 13: client outcomes that changed */
    fputs("}\n", d->out);
}

/* ---- csv ---- */

static void
csv_begin(struct tw_diff_report *d)
{
    fputs("kind,regression,host,port,sni,old_ip,new_ip,old,new,old_not_after,new_not_after,"
          "old_days_left,new_days_left\r\n",
          d->out);
}

static void
csv_section(struct tw_diff_report *d, enum tw_diff_kind k)
{
    (void)d;
    (void)k;
}

static void
csv_change(FILE *f, const struct tw_diff_report *d, size_t idx, const struct tw_diff_change *c,
           const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    const struct tw_diff_ep *e = n != NULL ? n : o;
    const char *cells[N_CHANGE_COLUMNS];

    (void)d;
    (void)idx;
    if (e == NULL) /* a change always has an old or a new side */
        return;
    change_cells(c, o, n, cells);
    fprintf(f, "%s,%d,", tw_diff_kind_name(c->kind), c->is_regression);
    tw_escape_csv(f, e->host);
    fprintf(f, ",%d,", e->port);
    tw_escape_csv(f, e->sni);
    for (size_t i = 0; i < N_CHANGE_COLUMNS; i++) {
        fputc(',', f);
        tw_escape_csv(f, cells[i]);
    }
    fputc(',', f);
    if (o != NULL && o->has_expiry)
        fprintf(f, "%" PRId64, o->days_left);
    fputc(',', f);
    if (n != NULL && n->has_expiry)
        fprintf(f, "%" PRId64, n->days_left);
    fputs("\r\n", f);
}

/* ---- html ---- */

static void
html_begin(struct tw_diff_report *d)
{
    FILE *f = d->out;

    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; "
            "form-action 'none'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>tlsweep diff: scan %" PRId64 " to scan %" PRId64 "</title>\n<style>\n%s"
            "</style></head><body>\n<h1>tlsweep diff: scan %" PRId64 " &rarr; scan %" PRId64
            "</h1>\n<p class=\"meta\">",
            d->old->id, d->new_->id, tw_render_html_style, d->old->id, d->new_->id);
    scan_line(f, "old:", d->old, tw_escape_html);
    fputs("<br>", f);
    scan_line(f, "new:", d->new_, tw_escape_html);
    fprintf(f, "<br>expiry threshold %" PRId64 " days</p>\n", d->threshold);
    diff_warning_lines(f, d, "<p class=\"warn\">Warning: ", "</p>\n", tw_escape_html);
    fprintf(f, "<div class=\"cards\">\n<div class=\"card%s\"><b>%zu</b>regressions</div>\n",
            d->n_regressions ? " c-fail" : " c-ok", d->n_regressions);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        fprintf(f, "<div class=\"card%s\"><b>%zu</b>%s</div>\n",
                k == TW_DIFF_FAILURE_NEW && d->counts[k]     ? " c-fail"
                : k == TW_DIFF_FAILURE_FIXED && d->counts[k] ? " c-ok"
                                                             : "",
                d->counts[k], tw_diff_kind_title((enum tw_diff_kind)k));
    fputs("</div>\n", f);
}

static void
html_section(struct tw_diff_report *d, enum tw_diff_kind k)
{
    if (d->n_sections > 0)
        fputs("</tbody></table>\n", d->out);
    fprintf(d->out,
            "<h2 id=\"%s\">%s (%zu)</h2>\n<table class=\"diff\"><thead><tr><th>endpoint</th>"
            "<th>old</th><th>new</th><th>regression</th></tr></thead><tbody>\n",
            tw_diff_kind_name(k), tw_diff_kind_title(k), d->counts[k]);
}

/* One side of a change: a grade as its badge, a class coloured as in the
 * report, otherwise the value; every value escaped. */
static void
html_value(FILE *f, enum tw_diff_kind k, const char *v, const struct tw_diff_ep *e)
{
    if (k == TW_DIFF_GRADE_DOWN || k == TW_DIFF_GRADE_UP) {
        fprintf(f, "<span class=\"%s\">", tw_render_html_grade_class(v));
        tw_escape_or_dash(f, tw_escape_html, v);
        fputs("</span>", f);
        return;
    }
    if (e != NULL && v != NULL && e->class_name != NULL && strcmp(v, e->class_name) == 0) {
        enum tw_class c;
        int known = tw_class_from_name(v, &c) == 0;

        fprintf(f, "<span class=\"%s\">",
                known && c == TW_CLASS_OK                ? "okc"
                : !known || tw_class_info(c)->is_failure ? "fail"
                                                         : "iss");
        tw_escape_html(f, v);
        fputs("</span>", f);
        if (k == TW_DIFF_NEW || k == TW_DIFF_VANISHED) {
            fprintf(f, " <span class=\"%s\">", tw_render_html_grade_class(e->grade));
            tw_escape_or_dash(f, tw_escape_html, e->grade);
            fputs("</span>", f);
        }
        return;
    }
    if (k == TW_DIFF_CERT_ROTATED)
        fputs("<code>", f);
    tw_escape_or_dash(f, tw_escape_html, v);
    if (k == TW_DIFF_CERT_ROTATED) {
        fputs("</code>", f);
        if (e != NULL)
            not_after(f, tw_escape_html, e);
    }
    if (k == TW_DIFF_EXPIRING && e != NULL && e->has_expiry)
        fprintf(f, " (%" PRId64 " days left)", e->days_left);
}

static void
html_change(FILE *f, const struct tw_diff_report *d, size_t idx, const struct tw_diff_change *c,
            const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    struct change_view v;

    (void)d;
    (void)idx;
    change_view(&v, c, o, n);
    fputs(c->is_regression ? "<tr class=\"reg\"><td>" : "<tr><td>", f);
    tw_escape_html(f, v.label);
    fputs("</td><td>", f);
    html_value(f, c->kind, v.ov, o);
    fputs("</td><td>", f);
    html_value(f, c->kind, v.nv, n);
    fputs(c->is_regression ? "</td><td><span class=\"badge\">regression</span></td></tr>\n"
                           : "</td><td></td></tr>\n",
          f);
}

static void
html_end(struct tw_diff_report *d)
{
    size_t any = 0;

    for (int k = 0; k < TW_DIFF__COUNT; k++)
        any += d->counts[k];
    if (d->n_sections > 0)
        fputs("</tbody></table>\n", d->out);
    if (any == 0)
        fputs("<p>No changes.</p>\n", d->out);
    fputs("</body></html>\n", d->out);
}

const struct tw_diff_renderer tw_diff_renderers[] = {
    {"text", "changes grouped by kind, summary first", text_begin, text_section, text_change,
     text_end},
    {"json", "one JSON document: scans, summary, changes[]", json_begin, json_section, json_change,
     json_end},
    {"csv", "one row per change (RFC 4180, formula-safe)", csv_begin, csv_section, csv_change,
     text_end},
    {"md", "Markdown: summary table, one table per kind", md_begin, md_section, md_change,
     text_end},
    {"html", "one self-contained HTML page, the report dashboard's style", html_begin, html_section,
     html_change, html_end},
};

const size_t tw_n_diff_renderers = sizeof(tw_diff_renderers) / sizeof(tw_diff_renderers[0]);

const struct tw_diff_renderer *
tw_diff_renderer_find(const char *name)
{
    for (size_t i = 0; i < tw_n_diff_renderers; i++)
        if (strcmp(tw_diff_renderers[i].name, name) == 0)
            return &tw_diff_renderers[i];
    return NULL;
}
