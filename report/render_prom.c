/*
 * render_prom.c - Prometheus text exposition for node_exporter's textfile
 * collector.
 *
 * Families: tlsweep_scan_timestamp_seconds, tlsweep_scan_duration_seconds,
 * tlsweep_scan_info, tlsweep_report_warnings{code},
 * tlsweep_last_complete_scan_timestamp_seconds, tlsweep_endpoints{class},
 * tlsweep_endpoints_by_grade{grade}, then the per-endpoint families:
 * tlsweep_cert_expiry_seconds (relative to the scan's reference time, kept
 * for compatibility) is streamed straight to the output, while
 * tlsweep_cert_not_after_timestamp_seconds (absolute, for alerts),
 * tlsweep_endpoint_info and tlsweep_endpoint_failing go to one temporary
 * file each and are copied after the last row, because the exposition
 * format wants each family's samples together.  Memory does not grow with
 * the scan.  Label values go through prom_label(): at most PROM_LABEL_MAX
 * bytes (cut on a UTF-8 boundary, "..." appended), then tw_escape_prom()
 * (\\ \" \n, controls dropped, U+FFFD for invalid UTF-8).  Write it with -o:
 * the file is replaced atomically (rename), as the collector expects.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

/* tlsweep_endpoints: every class, zero or not. */
static const struct tw_render_count_fmt prom_class_counts = {"", "tlsweep_endpoints{class=\"",
                                                             "\"} ", "\n"};

/* The longest label value written, in bytes before escaping: a hostile
 * target file or database row cannot make one series line unbounded. */
#define PROM_LABEL_MAX 256

/* The families buffered until end(), in output order. */
enum { PROM_NOT_AFTER, PROM_INFO, PROM_FAILING, PROM__FAMILIES };

static const char *const prom_family_head[PROM__FAMILIES] = {
    "# HELP tlsweep_cert_not_after_timestamp_seconds The leaf certificate's notAfter, unix "
    "seconds (absolute: alert on it minus time()).\n"
    "# TYPE tlsweep_cert_not_after_timestamp_seconds gauge\n",
    "# HELP tlsweep_endpoint_info One series per endpoint of the reported scan with its target, "
    "primary class and grade (none = not graded); value 1.\n"
    "# TYPE tlsweep_endpoint_info gauge\n",
    "# HELP tlsweep_endpoint_failing 1 when the endpoint has a failure class (no TLS session), "
    "else 0.\n"
    "# TYPE tlsweep_endpoint_failing gauge\n",
};

/* rp->state: one buffer per family, a temporary file, or, when none can be
 * created, a memory stream (mem, len: valid after fclose). */
struct prom_state {
    FILE *fam[PROM__FAMILIES];
    char *mem[PROM__FAMILIES];
    size_t len[PROM__FAMILIES];
    int is_mem[PROM__FAMILIES];
};

/* s (NULL as "") as a label value: bounded, then escaped. */
static void
prom_label(FILE *f, const char *s)
{
    char buf[PROM_LABEL_MAX + 1];
    size_t n = s != NULL ? strlen(s) : 0;

    if (n <= PROM_LABEL_MAX) {
        tw_escape_prom(f, s != NULL ? s : "");
        return;
    }
    n = PROM_LABEL_MAX;
    /* Cut before a UTF-8 continuation byte, not inside a character. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, s, n);
    buf[n] = '\0';
    tw_escape_prom(f, buf);
    fputs("...", f);
}

/* host, ip, port and sni ("" = no SNI sent) as labels, without braces. */
static void
prom_endpoint_labels(FILE *f, const struct tw_report_row *row)
{
    fputs("host=\"", f);
    prom_label(f, row->host);
    fputs("\",ip=\"", f);
    prom_label(f, row->ip);
    fprintf(f, "\",port=\"%d\",sni=\"", row->port);
    prom_label(f, row->sni);
    fputc('"', f);
}

/* Issue 16, fix first: the ranked problems shown (--top), one series each
 * with its rank, severity, stable kind and title (a bounded, escaped label
 * value), valued by its endpoint count. */
static void
prom_problems(struct tw_report *rp)
{
    const struct tw_problems *pb = &rp->sum->problems;
    size_t shown = tw_problems_shown(pb, rp->opts->problems_top);
    FILE *f = rp->out;

    fputs("# HELP tlsweep_problem_endpoints The report's fix-first problems (one root cause "
          "shared by the endpoints; --top bounds them): endpoints per problem.\n"
          "# TYPE tlsweep_problem_endpoints gauge\n",
          f);
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "tlsweep_problem_endpoints{rank=\"%d\",severity=\"%s\",kind=\"", pr->rank,
                tw_problem_severity_of(pr));
        prom_label(f, pr->kind);
        fputs("\",problem=\"", f);
        prom_label(f, pr->title);
        fprintf(f, "\"} %" PRId64 "\n", pr->count);
    }
}

static void
prom_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    FILE *f = rp->out;
    int64_t ts = sc->finished_unix > 0 ? sc->finished_unix : sc->started_unix;
    struct prom_state *st;

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
    prom_label(f, sc->label);
    fputs("\",status=\"", f);
    prom_label(f, sc->status);
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
    fputs("# HELP tlsweep_last_complete_scan_timestamp_seconds When the newest scan with status "
          "done finished, unix seconds (0 when none is done), whichever scan is reported.\n"
          "# TYPE tlsweep_last_complete_scan_timestamp_seconds gauge\n",
          f);
    fprintf(f, "tlsweep_last_complete_scan_timestamp_seconds %" PRId64 "\n",
            rp->opts->last_done_unix);
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
    prom_problems(rp);
    fputs("# HELP tlsweep_cert_expiry_seconds Seconds from the scan's reference time to the leaf "
          "certificate's notAfter (negative when expired); fixed at scan time, so it goes "
          "stale until the next report: alert on tlsweep_cert_not_after_timestamp_seconds - "
          "time() instead.\n"
          "# TYPE tlsweep_cert_expiry_seconds gauge\n",
          f);
    st = tw_xmalloc(sizeof(*st));
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < PROM__FAMILIES; i++) {
        st->fam[i] = tmpfile();
        if (st->fam[i] == NULL) {
            st->is_mem[i] = 1;
            st->fam[i] = open_memstream(&st->mem[i], &st->len[i]);
        }
        if (st->fam[i] == NULL)
            abort(); /* Out of memory, as tw_xmalloc. */
    }
    rp->state = st;
}

static void
prom_row(struct tw_report *rp, const struct tw_report_row *row)
{
    const struct prom_state *st = rp->state;
    FILE *f = rp->out;
    FILE *b = st->fam[PROM_NOT_AFTER];

    if (row->has_expiry) {
        fputs("tlsweep_cert_expiry_seconds{", f);
        prom_endpoint_labels(f, row);
        fprintf(f, "} %" PRId64 "\n", row->secs_left);
        fputs("tlsweep_cert_not_after_timestamp_seconds{", b);
        prom_endpoint_labels(b, row);
        /* secs_left is notAfter - ref_time: this is the stored notAfter. */
        fprintf(b, "} %" PRId64 "\n", rp->scan->ref_time + row->secs_left);
    }
    b = st->fam[PROM_INFO];
    fputs("tlsweep_endpoint_info{target=\"", b);
    prom_label(b, row->target);
    fputs("\",", b);
    prom_endpoint_labels(b, row);
    fputs(",class=\"", b);
    prom_label(b, row->class_name);
    fputs("\",grade=\"", b);
    prom_label(b, row->grade != NULL ? row->grade : "none");
    fputs("\"} 1\n", b);
    b = st->fam[PROM_FAILING];
    fputs("tlsweep_endpoint_failing{", b);
    prom_endpoint_labels(b, row);
    fprintf(b, "} %d\n", row->is_failure ? 1 : 0);
}

/* Append family i's buffer to out and close it.  Returns 0, -1 when the
 * buffer could not be written or read back (out's own write errors are
 * left to the driver's ferror() check). */
static int
prom_copy(FILE *out, struct prom_state *st, int i)
{
    FILE *fam = st->fam[i];
    char buf[8192];
    size_t n;
    int rc = 0;

    st->fam[i] = NULL;
    if (st->is_mem[i]) {
        rc = fclose(fam) != 0 ? -1 : 0;
        if (rc == 0 && st->len[i] > 0)
            fwrite(st->mem[i], 1, st->len[i], out);
        free(st->mem[i]);
        st->mem[i] = NULL;
        return rc;
    }
    if (fflush(fam) != 0 || ferror(fam) || fseek(fam, 0, SEEK_SET) != 0)
        rc = -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), fam)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            break;
    if (ferror(fam))
        rc = -1;
    fclose(fam);
    return rc;
}

static void
prom_end(struct tw_report *rp)
{
    struct prom_state *st = rp->state;

    for (int i = 0; i < PROM__FAMILIES; i++) {
        fputs(prom_family_head[i], rp->out);
        /* A renderer cannot fail the run: say so on stderr (a full /tmp). */
        if (prom_copy(rp->out, st, i) != 0)
            fprintf(stderr, "tlsweep report: prom: a temporary file failed: the per-endpoint "
                            "families are incomplete\n");
    }
}

const struct tw_renderer tw_render_prom = {
    "prom",   "Prometheus text exposition (node_exporter textfile collector)",
    0,        prom_begin,
    prom_row, prom_end,
};
