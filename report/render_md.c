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
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

static void
md_pieces(FILE *f, const struct tw_escape_piece *p, size_t n)
{
    tw_escape_pieces(f, tw_escape_md, p, n);
}

/* A row of the "by class" and "grades" tables. */
static const struct tw_render_count_fmt md_counts = {"", "| ", " | ", " |\n"};

/*
 * Issue 16, fix first: an index table of the ranked problems, then each
 * problem once with its endpoints, explanation, fix and reproduce command.
 */
static void
md_problems(struct tw_report *rp)
{
    const struct tw_problems *pb = &rp->sum->problems;
    size_t shown = tw_problems_shown(pb, rp->opts->problems_top);
    FILE *f = rp->out;

    fprintf(f, "\n## Fix first: %zu problem%s on %" PRId64 " of %" PRId64 " endpoints\n\n", pb->n,
            pb->n == 1 ? "" : "s", pb->n_endpoints, rp->sum->total);
    if (shown < pb->n)
        fprintf(f, "The first %zu; `--top N` shows more.\n\n", shown);
    if (shown == 0) {
        fputs("None.\n", f);
        return;
    }
    fputs("| # | severity | endpoints | problem |\n|---:|---|---:|---|\n", f);
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "| %d | %s | %" PRId64 " | ", pr->rank, tw_problem_severity_of(pr), pr->count);
        tw_escape_md(f, pr->title);
        fputs(" |\n", f);
    }
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "\n### %d. [%s] ", pr->rank, tw_problem_severity_of(pr));
        tw_escape_md(f, pr->title);
        fprintf(f, "\n\n%" PRId64 " endpoint%s, %s.\n\n- on: ", pr->count,
                pr->count == 1 ? "" : "s", tw_problem_tier_text(pr->tier));
        for (size_t k = 0; k < pr->n_sample; k++) {
            fputs(k > 0 ? ", " : "", f);
            tw_render_endpoint(f, &pr->sample[k], tw_escape_md);
        }
        if (pr->count > (int64_t)pr->n_sample)
            fprintf(f, " and %" PRId64 " more", pr->count - (int64_t)pr->n_sample);
        fputc('\n', f);
        tw_escape_wrapped(f, tw_escape_md, "- why: ", pr->why, "\n");
        tw_escape_wrapped(f, tw_escape_md, "- fix: ", pr->fix, "\n");
        tw_escape_wrapped(f, tw_escape_md, "- try: ", pr->try_cmd, "\n");
    }
}

static void
md_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    const char *warn = tw_render_scan_warning(sc);
    static const char *const head[] = {
        "\n\n| started | finished | status | results |\n|---|---|---|---|\n| ", " | ", " | "};
    FILE *f = rp->out;
    char iso[21];

    fprintf(f, "# tlsweep report: scan %" PRId64, sc->id);
    tw_escape_wrapped(f, tw_escape_md, " (", sc->label, ")");
    tw_render_scan_times(f, tw_escape_md, sc, head);
    fprintf(f, " | %" PRId64 " |\n\n", sc->n_results);
    tw_time_iso(sc->ref_time, iso);
    fprintf(f, "Days to expiry are counted from %s.\n", iso);
    tw_escape_wrapped(f, tw_escape_md, "Filter: --where ", rp->opts->where, "\n");
    if (rp->opts->has_expiring)
        fprintf(f, "Filter: --expiring %" PRId64 "\n", rp->opts->expiring_days);
    if (warn != NULL)
        fprintf(f, "\n> **WARNING: %s**\n", warn);
    if (sc->is_fallback)
        fputs("\n> **WARNING: no scan finished with status done: this is the newest "
              "interrupted scan**\n",
              f);
    if (rp->opts->warnings != NULL)
        for (size_t i = 0; i < rp->opts->warnings->n; i++) {
            char text[512];

            tw_report_warning_text(&rp->opts->warnings->w[i], "report", NULL, text, sizeof(text));
            fputs("\n> **WARNING: ", f);
            tw_escape_md(f, text);
            fputs("**\n", f);
        }

    if (!rp->opts->group_none)
        md_problems(rp);
    fprintf(f,
            "\n## Summary\n\n| endpoints | failures | certificate issues | ok |\n"
            "|---:|---:|---:|---:|\n| %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64 " |\n",
            sum->total, sum->n_failures, sum->n_issues, sum->n_ok);
    fputs("\n### Endpoints by class\n\n| class | endpoints |\n|---|---:|\n", f);
    tw_render_class_counts(f, sum, &md_counts, 0);
    fputs("\n### Grades\n\n| grade | endpoints |\n|---|---:|\n", f);
    tw_render_grade_counts(f, sum, &md_counts);
    if (sum->n_mz_judged > 0) /* issue 13: Mozilla Server Side TLS */
        fprintf(f,
                "\n### Mozilla Server Side TLS (endpoints)\n\n| judged | pass old | pass "
                "intermediate | pass modern |\n|---:|---:|---:|---:|\n| %" PRId64 " | %" PRId64
                " | %" PRId64 " | %" PRId64 " |\n",
                sum->n_mz_judged, sum->mz_pass[TW_MOZILLA_OLD],
                sum->mz_pass[TW_MOZILLA_INTERMEDIATE], sum->mz_pass[TW_MOZILLA_MODERN]);
    fprintf(f,
            "\n### Certificate expiry (endpoints)\n\n| expired | within 7 days | within 30 days "
            "| no certificate |\n|---:|---:|---:|---:|\n| %" PRId64 " | %" PRId64 " | %" PRId64
            " | %" PRId64 " |\n",
            sum->n_expired, sum->n_exp7, sum->n_exp30, sum->n_no_cert);
    fprintf(f,
            "\n### Legacy TLS (%" PRId64
            " endpoints accept SSLv2, SSLv3, TLSv1 or TLSv1.1, or negotiated it)\n\n",
            sum->n_legacy_tls);
    if (!rp->opts->group_none) {
        /* The problems above name the endpoints. */
        fprintf(f,
                "%" PRId64 " endpoints; the per-endpoint table (every endpoint, worst first): "
                "`tlsweep report --format md --group none`.\n",
                sum->total);
        return;
    }
    if (sum->n_legacy > 0) {
        fputs("| accepts | negotiated | endpoint |\n|---|---|---|\n", f);
        for (size_t i = 0; i < sum->n_legacy; i++) {
            const struct tw_escape_piece p[] = {
                {"| ", sum->legacy_accepted[i]},
                {" | ", sum->legacy[i].tls_version},
            };

            tw_render_summary_line(f, tw_escape_md, p, 2, &sum->legacy[i], " | ", " |\n");
        }
    }
    fputs("\n### Weakest grades\n\n", f);
    if (sum->n_weakest > 0) {
        fputs("| grade | class | endpoint |\n|---|---|---|\n", f);
        for (size_t i = 0; i < sum->n_weakest; i++) {
            const struct tw_escape_piece p[] = {
                {"| ", sum->weakest[i].grade},
                {" | ", sum->weakest[i].class_name},
            };

            tw_render_summary_line(f, tw_escape_md, p, 2, &sum->weakest[i], " | ", " |\n");
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

/* Issue 13: "<br>mozilla: old fails a, b; ..." when a judged profile fails
 * (every row's notes already hold its reproduce command before it). */
static void
md_mozilla(FILE *f, const char *comp)
{
    if (tw_render_mozilla_fails(comp) == 0)
        return;
    fputs("<br>mozilla: ", f);
    tw_render_mozilla_line(f, tw_escape_md, comp);
}

static void
md_row(struct tw_report *rp, const struct tw_report_row *row)
{
    const struct tw_escape_piece cells[] = {
        {"| ", row->grade},
        {" | ", row->class_name},
        {" | ", row->tls_version},
        {" | ", row->cipher},
    };
    FILE *f = rp->out;
    const char *why;
    const char *fix;

    if (!rp->opts->group_none)
        return; /* fix first: the problems stand for the endpoints */
    tw_render_explain(row, &why, &fix);
    md_pieces(f, cells, 4);
    if (row->has_expiry)
        fprintf(f, " | %" PRId64 " | ", row->days_left);
    else
        fputs(" | - | ", f);
    tw_render_endpoint(f, row, tw_escape_md);
    fputs(" | ", f);
    if (row->grade_reasons_text != NULL) {
        fputs("capped: ", f);
        tw_escape_md(f, row->grade_reasons_text);
        if (why != NULL)
            fputs("<br>", f);
    }
    if (tw_render_leaf_san(row) != NULL) { /* issue 16: the leaf's names, 3 and a count */
        if (row->grade_reasons_text != NULL && why == NULL)
            fputs("<br>", f);
        fputs("names: ", f);
        tw_render_sans(f, tw_escape_md, tw_render_leaf_san(row), 3);
        if (why != NULL)
            fputs("<br>", f);
    }
    if (why == NULL && row->repro != NULL) /* every row carries its command */
        tw_escape_wrapped(f, tw_escape_md,
                          row->grade_reasons_text != NULL || tw_render_leaf_san(row) != NULL
                              ? "<br>try: "
                              : "try: ",
                          row->repro, "");
    if (why != NULL) {
        md_pieces(f, &(struct tw_escape_piece){"issues: ", row->issues}, 1);
        if (tw_render_explained_before(rp, row)) {
            fputs("<br>why: as for the first endpoint of this class above", f);
        } else {
            tw_escape_wrapped(f, tw_escape_md, "<br>why: ", why, "");
            tw_escape_wrapped(f, tw_escape_md, "<br>fix: ", fix, "");
        }
        tw_escape_wrapped(f, tw_escape_md, "<br>try: ", row->repro, "");
        if (row->detail != NULL && row->detail[0] != '\0')
            tw_escape_wrapped(f, tw_escape_md, "<br>detail: ", row->detail, "");
    }
    md_mozilla(f, row->compliance);
    fputs(" |\n", f);
}

static void
md_end(struct tw_report *rp)
{
    tw_render_clients_md(rp); /* issue 13: who cannot connect */
}

const struct tw_renderer tw_render_md = {
    "md", "the text report as Markdown tables", 0, md_begin, md_row, md_end,
};
