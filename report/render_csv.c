/*
 * render_csv.c - one CSV row per endpoint (RFC 4180, CRLF line ends).
 *
 * String cells go through tw_escape_csv(): quoted when needed, and a cell
 * that a spreadsheet would evaluate (= + - @ ...) gets a leading quote.
 * Numbers we compute ourselves (port, days_left, elapsed_ms) are written
 * as plain numbers, so a negative days_left stays a number.  The last
 * column, problems, holds the ranks of the fix-first problems (problems.h)
 * the endpoint is in ("1;4"), so that the CSV keeps one row per endpoint.
 */
#include <inttypes.h>

#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"

static const char *const csv_columns =
    "scan_id,host,ip,port,sni,target,class,failure,issues,grade,grade_reasons,tls_version,cipher,"
    "cert_sha256,"
    "cert_subject,cert_issuer,not_after,days_left,explanation,fix,reproduce,detail,elapsed_ms,"
    "starttls,problems,sans,mozilla_old,mozilla_intermediate,mozilla_modern";

/* Issue 16: the leaf's names, the first CSV_SANS_MAX and " +K" for the rest,
 * as one escaped cell (empty without a certificate or SAN). */
#define CSV_SANS_MAX 10

static void
csv_sans(FILE *f, const char *san)
{
    char cell[CSV_SANS_MAX * (TW_HOST_MAX + 8) + 32];
    char name[TW_HOST_MAX + 8];
    size_t count = 0, used = 0;

    cell[0] = '\0';
    while (tw_render_san_next(&san, name, sizeof(name))) {
        if (count < CSV_SANS_MAX) {
            int w = snprintf(cell + used, sizeof(cell) - used, "%s%s", count > 0 ? ", " : "", name);

            if (w > 0 && (size_t)w < sizeof(cell) - used)
                used += (size_t)w;
        }
        count++;
    }
    if (count > CSV_SANS_MAX)
        snprintf(cell + used, sizeof(cell) - used, " +%zu", count - CSV_SANS_MAX);
    tw_escape_csv(f, cell);
}

/* Issue 13: the three Mozilla cells, old, intermediate, modern: "pass",
 * "fail: a,b" (the failed checks), or empty when not judged (not graded). */
static void
csv_mozilla(FILE *f, const char *comp)
{
    static const enum tw_mozilla_profile order[] = {TW_MOZILLA_OLD, TW_MOZILLA_INTERMEDIATE,
                                                    TW_MOZILLA_MODERN};
    struct tw_render_mozilla mz;

    tw_render_mozilla_parse(comp, &mz);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct tw_render_mozilla_verdict *v = &mz.profile[order[i]];
        char cell[sizeof(v->failed) + 8];

        fputc(',', f);
        if (!v->judged)
            continue;
        snprintf(cell, sizeof(cell), "%s%s", v->pass ? "pass" : "fail: ", v->pass ? "" : v->failed);
        tw_escape_csv(f, cell);
    }
}

static void
csv_begin(struct tw_report *rp)
{
    fprintf(rp->out, "%s\r\n", csv_columns);
}

static void
csv_cell(FILE *f, const char *s)
{
    tw_escape_csv(f, s);
    fputc(',', f);
}

static void
csv_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;
    const char *why;
    const char *fix;
    char ranks[128];

    tw_render_explain(row, &why, &fix);
    fprintf(f, "%" PRId64 ",", rp->scan->id);
    csv_cell(f, row->host);
    csv_cell(f, row->ip);
    fprintf(f, "%d,", row->port);
    csv_cell(f, row->sni);
    csv_cell(f, row->target);
    csv_cell(f, row->class_name);
    fprintf(f, "%d,", row->is_failure);
    csv_cell(f, row->issues);
    csv_cell(f, row->grade);
    csv_cell(f, row->grade_reasons);
    csv_cell(f, row->tls_version);
    csv_cell(f, row->cipher);
    csv_cell(f, row->cert_sha256);
    csv_cell(f, row->leaf_subject);
    csv_cell(f, row->leaf_issuer);
    csv_cell(f, row->not_after);
    if (row->has_expiry)
        fprintf(f, "%" PRId64 ",", row->days_left);
    else
        fputc(',', f);
    csv_cell(f, why);
    csv_cell(f, fix);
    csv_cell(f, row->repro);
    csv_cell(f, row->detail);
    /* Issue 16: the ranks of the fix-first problems the endpoint is in, "1;4". */
    tw_problems_ranks(&rp->sum->problems, row->id, ranks, sizeof(ranks));
    fprintf(f, "%" PRId64 ",", row->elapsed_ms);
    tw_escape_csv(f, tw_starttls_name(tw_starttls_from_target(row->target)));
    fprintf(f, ",%s,", ranks);
    csv_sans(f, tw_render_leaf_san(row));
    csv_mozilla(f, row->compliance);
    fputs("\r\n", f);
}

static void
csv_end(struct tw_report *rp)
{
    (void)rp;
}

const struct tw_renderer tw_render_csv = {
    "csv", "one row per endpoint, RFC 4180, formula-safe", 0, csv_begin, csv_row, csv_end,
};
