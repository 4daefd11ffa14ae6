/*
 * render_prom.c - Prometheus text exposition for node_exporter's textfile
 * collector.
 *
 * Families: tlsweep_scan_timestamp_seconds, tlsweep_scan_duration_seconds,
 * tlsweep_scan_info, tlsweep_endpoints{class}, tlsweep_endpoints_by_grade
 * {grade}, then tlsweep_cert_expiry_seconds{host,ip,port,sni} streamed, one
 * sample per endpoint with a leaf certificate.  Label values go through
 * tw_escape_prom() (\\ \" \n, controls dropped, U+FFFD for invalid UTF-8).
 * Write it with -o: the file is replaced atomically (rename), as the
 * collector expects.
 */
#include <inttypes.h>

#include "report/escape.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

/* tlsweep_endpoints: every class, zero or not. */
static const struct tw_render_count_fmt prom_class_counts = {"", "tlsweep_endpoints{class=\"",
                                                             "\"} ", "\n"};

static void
prom_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    FILE *f = rp->out;
    int64_t ts = sc->finished_unix > 0 ? sc->finished_unix : sc->started_unix;

    fputs("# HELP tlsweep_scan_timestamp_seconds When the reported scan finished (started, if "
          "it did not finish), unix seconds.\n"
          "# TYPE tlsweep_scan_timestamp_seconds gauge\n",
          f);
    fprintf(f, "tlsweep_scan_timestamp_seconds %" PRId64 "\n", ts);
    fputs("# HELP tlsweep_scan_duration_seconds Wall-clock duration of the reported scan.\n"
          "# TYPE tlsweep_scan_duration_seconds gauge\n",
          f);
    fprintf(f, "tlsweep_scan_duration_seconds %" PRId64 "\n",
            sc->finished_unix > sc->started_unix ? sc->finished_unix - sc->started_unix : 0);
    fputs("# HELP tlsweep_scan_info The reported scan (value 1).\n"
          "# TYPE tlsweep_scan_info gauge\n",
          f);
    fprintf(f, "tlsweep_scan_info{id=\"%" PRId64 "\",label=\"", sc->id);
    tw_escape_prom(f, sc->label);
    fputs("\",status=\"", f);
    tw_escape_prom(f, sc->status);
    fputs("\"} 1\n", f);
    fputs("# HELP tlsweep_report_warnings Warnings about the reported scan by code (e.g. "
          "newer_scan_interrupted: a newer scan is interrupted and not reported).\n"
          "# TYPE tlsweep_report_warnings gauge\n",
          f);
    /* The codes a report gives (the others are diff's). */
    for (int c = 0; c <= TW_REPORT_WARN_PARTIAL; c++) {
        int64_t n = 0;

        for (size_t i = 0; rp->opts->warnings != NULL && i < rp->opts->warnings->n; i++)
            n += rp->opts->warnings->w[i].code == (enum tw_report_warn_code)c;
        fprintf(f, "tlsweep_report_warnings{code=\"%s\"} %" PRId64 "\n",
                tw_report_warn_name((enum tw_report_warn_code)c), n);
    }
    fputs("# HELP tlsweep_endpoints Endpoints in the reported scan by primary failure class.\n"
          "# TYPE tlsweep_endpoints gauge\n",
          f);
    tw_render_class_counts(f, sum, &prom_class_counts, 1);
    fputs("# HELP tlsweep_endpoints_by_grade Endpoints in the reported scan by grade "
          "(none = not graded).\n"
          "# TYPE tlsweep_endpoints_by_grade gauge\n",
          f);
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        fprintf(f, "tlsweep_endpoints_by_grade{grade=\"%s\"} %" PRId64 "\n",
                g == TW_GRADE_NONE ? "none" : tw_grade_name(g), sum->by_grade[g]);
    }
    fputs("# HELP tlsweep_cert_expiry_seconds Seconds from the scan's reference time to the leaf "
          "certificate's notAfter (negative when expired).\n"
          "# TYPE tlsweep_cert_expiry_seconds gauge\n",
          f);
}

static void
prom_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;

    if (!row->has_expiry)
        return;
    fputs("tlsweep_cert_expiry_seconds{host=\"", f);
    tw_escape_prom(f, row->host);
    fputs("\",ip=\"", f);
    tw_escape_prom(f, row->ip);
    fprintf(f, "\",port=\"%d\",sni=\"", row->port);
    tw_escape_prom(f, row->sni);
    fprintf(f, "\"} %" PRId64 "\n", row->secs_left);
}

static void
prom_end(struct tw_report *rp)
{
    (void)rp;
}

const struct tw_renderer tw_render_prom = {
    "prom",   "Prometheus text exposition (node_exporter textfile collector)",
    0,        prom_begin,
    prom_row, prom_end,
};
