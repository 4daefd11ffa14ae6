/*
 * render_md.c - the text report as Markdown (GitHub tables).
 *
 * Every database string goes through tw_escape_md(): | and markup
 * characters are backslash-escaped and line breaks become spaces, so a cell
 * can neither end the table row nor start a link, image or HTML tag.  The
 * only markup in the output is ours (headings, tables, <br>, `code`).
 */
#include <inttypes.h>
#include <string.h>

#include "report/escape.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

static void
md_endpoint(FILE *f, const struct tw_report_row *row)
{
    char label[2 * TW_HOST_MAX + 128];

    tw_report_endpoint_label(row, label, sizeof(label));
    tw_escape_md(f, label);
}

static void
md_or_dash(FILE *f, const char *s)
{
    tw_escape_md(f, s != NULL && s[0] != '\0' ? s : "-");
}

static void
md_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    const char *warn = tw_render_scan_warning(sc);
    FILE *f = rp->out;
    char iso[21];

    fprintf(f, "# tlsweep report: scan %" PRId64, sc->id);
    if (sc->label != NULL) {
        fputs(" (", f);
        tw_escape_md(f, sc->label);
        fputc(')', f);
    }
    fputs("\n\n| started | finished | status | results |\n|---|---|---|---|\n| ", f);
    md_or_dash(f, sc->started_at);
    fputs(" | ", f);
    md_or_dash(f, sc->finished_at);
    fputs(" | ", f);
    md_or_dash(f, sc->status);
    fprintf(f, " | %" PRId64 " |\n\n", sc->n_results);
    tw_time_iso(sc->ref_time, iso);
    fprintf(f, "Days to expiry are counted from %s.\n", iso);
    if (rp->opts->where != NULL) {
        fputs("Filter: --where ", f);
        tw_escape_md(f, rp->opts->where);
        fputs("\n", f);
    }
    if (rp->opts->has_expiring)
        fprintf(f, "Filter: --expiring %" PRId64 "\n", rp->opts->expiring_days);
    if (warn != NULL)
        fprintf(f, "\n> **WARNING: %s**\n", warn);
    if (sc->is_fallback)
        fputs("\n> **WARNING: no scan finished with status done: this is the newest "
              "interrupted scan**\n",
              f);

    fprintf(f,
            "\n## Summary\n\n| endpoints | failures | certificate issues | ok |\n"
            "|---:|---:|---:|---:|\n| %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64 " |\n",
            sum->total, sum->n_failures, sum->n_issues, sum->n_ok);
    fputs("\n### Endpoints by class\n\n| class | endpoints |\n|---|---:|\n", f);
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (sum->by_class[c] > 0)
            fprintf(f, "| %s | %" PRId64 " |\n", tw_class_name((enum tw_class)c), sum->by_class[c]);
    if (sum->n_unknown_class > 0)
        fprintf(f, "| unknown | %" PRId64 " |\n", sum->n_unknown_class);
    fputs("\n### Grades\n\n| grade | endpoints |\n|---|---:|\n", f);
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        if (sum->by_grade[g] > 0)
            fprintf(f, "| %s | %" PRId64 " |\n",
                    g == TW_GRADE_NONE ? "not graded" : tw_grade_name(g), sum->by_grade[g]);
    }
    fprintf(f,
            "\n### Certificate expiry (endpoints)\n\n| expired | within 7 days | within 30 days "
            "| no certificate |\n|---:|---:|---:|---:|\n| %" PRId64 " | %" PRId64 " | %" PRId64
            " | %" PRId64 " |\n",
            sum->n_expired, sum->n_exp7, sum->n_exp30, sum->n_no_cert);
    fprintf(f, "\n### TLS 1.0/1.1 (%" PRId64 " endpoints)\n\n", sum->n_legacy_tls);
    if (sum->n_legacy > 0) {
        fputs("| TLS | endpoint |\n|---|---|\n", f);
        for (size_t i = 0; i < sum->n_legacy; i++) {
            fputs("| ", f);
            md_or_dash(f, sum->legacy[i].tls_version);
            fputs(" | ", f);
            md_endpoint(f, &sum->legacy[i]);
            fputs(" |\n", f);
        }
    }
    fputs("\n### Weakest grades\n\n", f);
    if (sum->n_weakest > 0) {
        fputs("| grade | class | endpoint |\n|---|---|---|\n", f);
        for (size_t i = 0; i < sum->n_weakest; i++) {
            fputs("| ", f);
            md_or_dash(f, sum->weakest[i].grade);
            fputs(" | ", f);
            md_or_dash(f, sum->weakest[i].class_name);
            fputs(" | ", f);
            md_endpoint(f, &sum->weakest[i]);
            fputs(" |\n", f);
        }
    } else {
        fputs("None graded.\n", f);
    }
    fprintf(f,
            "\n## Endpoints, worst first (%" PRId64 ")\n\n"
            "| grade | class | TLS | cipher | days | endpoint | notes |\n"
            "|---|---|---|---|---:|---|---|\n",
            sum->total);
}

static void
md_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;

    fputs("| ", f);
    md_or_dash(f, row->grade);
    fputs(" | ", f);
    md_or_dash(f, row->class_name);
    fputs(" | ", f);
    md_or_dash(f, row->tls_version);
    fputs(" | ", f);
    md_or_dash(f, row->cipher);
    if (row->has_expiry)
        fprintf(f, " | %" PRId64 " | ", row->days_left);
    else
        fputs(" | - | ", f);
    md_endpoint(f, row);
    fputs(" | ", f);
    if (row->grade_reasons_text != NULL) {
        fputs("capped: ", f);
        tw_escape_md(f, row->grade_reasons_text);
        if (!row->cls_known || row->cls != TW_CLASS_OK)
            fputs("<br>", f);
    }
    if (!row->cls_known || row->cls != TW_CLASS_OK) {
        fputs("issues: ", f);
        md_or_dash(f, row->issues);
        fputs("<br>why: ", f);
        tw_escape_md(f, row->cls_known ? tw_class_info(row->cls)->why : "unknown class");
        if (row->cls_known) {
            fputs("<br>fix: ", f);
            tw_escape_md(f, tw_class_info(row->cls)->fix);
        }
        fputs("<br>try: ", f);
        tw_escape_md(f, row->repro);
        if (row->detail != NULL && row->detail[0] != '\0') {
            fputs("<br>detail: ", f);
            tw_escape_md(f, row->detail);
        }
    }
    fputs(" |\n", f);
}

static void
md_end(struct tw_report *rp)
{
    (void)rp;
}

const struct tw_renderer tw_render_md = {
    "md", "the text report as Markdown tables", 0, md_begin, md_row, md_end,
};
