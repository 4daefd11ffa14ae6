/*
 * render_text.c - the default terminal report: scan header, estate
 * summary, then one block per endpoint, worst first.
 *
 * Every database string goes through tw_escape_term() (control characters
 * and escape sequences stripped, invalid UTF-8 shown as \xNN); colour is
 * added only by us, only when opts->color is set.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

/* Print s escaped, padded with spaces to width display columns (code
 * points; wide characters may be off by a little, never truncated). */
static void
text_cell(FILE *f, const char *s, int width)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m;
    int cols = 0;

    if (s == NULL || s[0] == '\0')
        s = "-";
    /* Fast path: plain printable ASCII is its own escape and width. */
    for (len = 0; s[len] != '\0'; len++)
        if ((unsigned char)s[len] < 0x20 || (unsigned char)s[len] >= 0x7F)
            break;
    if (s[len] == '\0') {
        fprintf(f, "%-*s", width, s);
        return;
    }
    m = open_memstream(&buf, &len);
    if (m == NULL)
        return;
    tw_escape_term(m, s);
    fclose(m);
    fputs(buf, f);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)buf[i] & 0xC0) != 0x80)
            cols++;
    for (; cols < width; cols++)
        fputc(' ', f);
    free(buf);
}

static void
text_endpoint(FILE *f, const struct tw_report_row *row)
{
    tw_render_endpoint(f, row, tw_escape_term);
}

static void
text_line(FILE *f, const char *tag, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    fprintf(f, "       %-8s", tag);
    tw_escape_term(f, s);
    fputc('\n', f);
}

/* s escaped for the terminal, cut to max display columns ("..." added). */
static void
text_cut(FILE *f, const char *s, int max)
{
    char *buf = NULL;
    size_t len = 0;
    size_t i = 0;
    int cols = 0;
    FILE *m = open_memstream(&buf, &len);

    if (m == NULL)
        return;
    tw_escape_term(m, s);
    fclose(m);
    for (; i < len; i++) {
        if (((unsigned char)buf[i] & 0xC0) != 0x80 && ++cols > max)
            break;
    }
    fwrite(buf, 1, i, f);
    if (i < len)
        fputs("...", f);
    free(buf);
}

/* A problem's first endpoints, ", " between them, and " and N more". */
static void
text_sample(FILE *f, const struct tw_problem *pr)
{
    for (size_t k = 0; k < pr->n_sample; k++) {
        if (k > 0)
            fputs(", ", f);
        text_endpoint(f, &pr->sample[k]);
    }
    if (pr->count > (int64_t)pr->n_sample)
        fprintf(f, " and %" PRId64 " more", pr->count - (int64_t)pr->n_sample);
}

/*
 * Issue 16, fix first: the ranked problems, each named on one line of an
 * index (so that the first screen names them all), then each with its
 * endpoints, explanation, fix and one reproduce command, once.
 */
static void
text_problems(struct tw_report *rp)
{
    const struct tw_problems *pb = &rp->sum->problems;
    size_t shown = tw_problems_shown(pb, rp->opts->problems_top);
    const char *bold = rp->opts->color ? "\033[1m" : "";
    const char *rs = tw_render_reset(rp);
    FILE *f = rp->out;

    fprintf(f, "\n%sFix first: %zu problem%s on %" PRId64 " of %" PRId64 " endpoints%s", bold,
            pb->n, pb->n == 1 ? "" : "s", pb->n_endpoints, rp->sum->total, rs);
    if (shown < pb->n)
        fprintf(f, " (the first %zu; --top N shows more)", shown);
    fputc('\n', f);
    if (pb->n == 0) {
        fputs("  none: every endpoint is ok, no grade cap, no legacy protocol\n", f);
        return;
    }
    fprintf(f, "  %3s %-9s %9s  %s\n", "#", "SEVERITY", "ENDPOINTS", "PROBLEM");
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "  %3d %-9s %9" PRId64 "  ", pr->rank, tw_problem_severity_of(pr), pr->count);
        text_cut(f, pr->title, 90);
        fputc('\n', f);
    }
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "\n%s%d. [%s] ", bold, pr->rank, tw_problem_severity_of(pr));
        text_cut(f, pr->title, 200);
        fprintf(f, "%s (%" PRId64 " endpoint%s; %s)\n", rs, pr->count, pr->count == 1 ? "" : "s",
                tw_problem_tier_text(pr->tier));
        fputs("       on:     ", f);
        text_sample(f, pr);
        fputc('\n', f);
        text_line(f, "why:", pr->why);
        text_line(f, "fix:", pr->fix);
        text_line(f, "try:", pr->try_cmd);
    }
}

/* Issue 16: the endpoints behind "N expired", from the expired-certificate
 * problems (the first endpoints of each, its rank beside it). */
static void
text_expired(FILE *f, const struct tw_problems *pb)
{
    size_t shown = 0;
    size_t more = 0;

    for (size_t i = 0; i < pb->n; i++) {
        const struct tw_problem *pr = pb->list[i];

        if (strcmp(pr->kind, "cert_expired") != 0)
            continue;
        if (shown == 3) { /* a bounded summary: the problems list has the rest */
            more++;
            continue;
        }
        shown++;
        fputs("                     expired: ", f);
        text_sample(f, pr);
        fprintf(f, " (problem %d)\n", pr->rank);
    }
    if (more > 0)
        fprintf(f, "                     and %zu more expired certificates\n", more);
}

/* "By class" and "Grades": ", name count" after the first. */
static const struct tw_render_count_fmt text_counts = {",", " ", " ", ""};

static void
text_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    const char *warn = tw_render_scan_warning(sc);
    const char *red = rp->opts->color ? "\033[1;31m" : "";
    const char *bold = rp->opts->color ? "\033[1m" : "";
    const char *rs = tw_render_reset(rp);
    static const char *const times[] = {"  started ", "  finished ", "  status "};
    FILE *f = rp->out;
    char iso[21];

    fprintf(f, "%stlsweep report: scan %" PRId64, bold, sc->id);
    tw_escape_wrapped(f, tw_escape_term, " \"", sc->label, "\"");
    fprintf(f, "%s\n", rs);
    tw_render_scan_times(f, tw_escape_term, sc, times);
    fprintf(f, "  results %" PRId64 "\n", sc->n_results);
    tw_time_iso(sc->ref_time, iso);
    fprintf(f, "  days to expiry counted from %s\n", iso);
    tw_escape_wrapped(f, tw_escape_term, "  filter: --where ", rp->opts->where, "\n");
    if (rp->opts->has_expiring)
        fprintf(f, "  filter: --expiring %" PRId64 " (leaf expires within %" PRId64 " days)\n",
                rp->opts->expiring_days, rp->opts->expiring_days);
    if (warn != NULL)
        fprintf(f, "%s!!! %s !!!%s\n", red, warn, rs);
    if (sc->is_fallback)
        fprintf(f,
                "%s!!! no scan finished with status done: showing the newest interrupted "
                "scan !!!%s\n",
                red, rs);
    if (rp->opts->warnings != NULL)
        for (size_t i = 0; i < rp->opts->warnings->n; i++) {
            char text[512];

            tw_report_warning_text(&rp->opts->warnings->w[i], "report", NULL, text, sizeof(text));
            fprintf(f, "%s!!! warning: ", red);
            tw_escape_term(f, text);
            fprintf(f, " !!!%s\n", rs);
        }

    if (!rp->opts->group_none)
        text_problems(rp);

    fprintf(f, "\n%sSummary%s\n", bold, rs);
    fprintf(f,
            "  Endpoints        %" PRId64 ": %" PRId64 " failures, %" PRId64
            " certificate issues, %" PRId64 " ok\n",
            sum->total, sum->n_failures, sum->n_issues, sum->n_ok);
    fputs("  By class        ", f);
    fputs(tw_render_class_counts(f, sum, &text_counts, 0) == 0 ? " none\n" : "\n", f);
    fputs("  Grades          ", f);
    fputs(tw_render_grade_counts(f, sum, &text_counts) == 0 ? " none\n" : "\n", f);
    fprintf(f,
            "  Expiring certs   %" PRId64 " expired, %" PRId64 " within 7 days, %" PRId64
            " within 30 days (endpoints; %" PRId64 " without a certificate)\n",
            sum->n_expired, sum->n_exp7, sum->n_exp30, sum->n_no_cert);
    text_expired(f, &sum->problems);
    fprintf(f,
            "  Legacy TLS       %" PRId64
            " endpoints accept SSLv2, SSLv3, TLSv1 or TLSv1.1 (or negotiated it)\n",
            sum->n_legacy_tls);
    if (rp->opts->group_none) {
        for (size_t i = 0; i < sum->n_legacy; i++) {
            fputs("                     accepts ", f);
            text_cell(f, sum->legacy_accepted[i], 20);
            fputs(" negotiates ", f);
            text_cell(f, sum->legacy[i].tls_version, 8);
            text_endpoint(f, &sum->legacy[i]);
            fputc('\n', f);
        }
        if (sum->n_legacy_tls > (int64_t)sum->n_legacy)
            fprintf(f, "                     ... and %" PRId64 " more\n",
                    sum->n_legacy_tls - (int64_t)sum->n_legacy);
        fputs("  Weakest grades", f);
        if (sum->n_weakest == 0)
            fputs("   none graded", f);
        fputc('\n', f);
        for (size_t i = 0; i < sum->n_weakest; i++) {
            const struct tw_report_row *w = &sum->weakest[i];
            fprintf(f, "                     %s", tw_render_grade_color(rp, w->grade));
            text_cell(f, w->grade, 3);
            fputs(rs, f);
            text_cell(f, w->class_name, 19);
            text_endpoint(f, w);
            fputc('\n', f);
        }
    } else {
        /* The problems above name these endpoints. */
        fprintf(f,
                "\n%" PRId64 " endpoints; the per-endpoint list (every endpoint, worst first):"
                " tlsweep report --group none\n",
                sum->total);
        return;
    }
    fprintf(f, "\n%sEndpoints, worst first (%" PRId64 ")%s\n", bold, sum->total, rs);
    fprintf(f, "%-6s %-19s %-8s %-30s %6s  %s\n", "GRADE", "CLASS", "TLS", "CIPHER", "DAYS",
            "ENDPOINT");
}

static void
text_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;
    const char *rs = tw_render_reset(rp);
    const char *why;
    const char *fix;

    if (!rp->opts->group_none)
        return; /* fix first: the problems stand for the endpoints */
    fputs(tw_render_grade_color(rp, row->grade), f);
    text_cell(f, row->grade, 6);
    fputs(rs, f);
    fputc(' ', f);
    fputs(tw_render_class_color(rp, row), f);
    text_cell(f, row->class_name, 19);
    fputs(rs, f);
    fputc(' ', f);
    text_cell(f, row->tls_version, 8);
    fputc(' ', f);
    text_cell(f, row->cipher, 30);
    if (row->has_expiry)
        fprintf(f, " %6" PRId64 "  ", row->days_left);
    else
        fprintf(f, " %6s  ", "-");
    text_endpoint(f, row);
    /* The STARTTLS protocol: a name from a fixed table, nothing from the wire. */
    if (tw_starttls_from_target(row->target) != TW_STARTTLS_NONE)
        fprintf(f, " starttls=%s", tw_starttls_name(tw_starttls_from_target(row->target)));
    fputc('\n', f);
    text_line(f, "capped:", row->grade_reasons_text);
    text_line(f, "vulns:", row->vulns);    /* issue 14: the probes that found a flaw */
    if (tw_render_leaf_san(row) != NULL) { /* issue 16: the leaf's names, 3 and a count */
        fprintf(f, "       %-8s", "names:");
        tw_render_sans(f, tw_escape_term, tw_render_leaf_san(row), 3);
        fputc('\n', f);
    }
    tw_render_explain(row, &why, &fix);
    if (why == NULL) {
        text_line(f, "try:", row->repro); /* every row: the plain handshake for an ok one */
        return;
    }
    if (row->issues != NULL && (row->class_name == NULL || strcmp(row->issues, row->class_name)))
        text_line(f, "issues:", row->issues);
    if (tw_render_explained_before(rp, row)) {
        text_line(f, "why:", "as for the first endpoint of this class above");
    } else {
        text_line(f, "why:", why);
        text_line(f, "fix:", fix);
    }
    text_line(f, "try:", row->repro);
    if (row->leaf_subject != NULL) {
        fputs("       cert:   ", f);
        tw_escape_term(f, row->leaf_subject);
        fputs(" (notAfter ", f);
        tw_escape_term(f, row->not_after != NULL ? row->not_after : "-");
        fputs(")\n", f);
    }
    text_line(f, "detail:", row->detail);
}

static void
text_end(struct tw_report *rp)
{
    if (rp->n_rows == 0 && rp->opts->group_none)
        fputs("(no endpoints match)\n", rp->out);
    tw_render_clients_text(rp); /* issue 13: who cannot connect */
}

const struct tw_renderer tw_render_text = {
    "text",   "human-readable summary and endpoint list (colour on a terminal)",
    0,        text_begin,
    text_row, text_end,
};
