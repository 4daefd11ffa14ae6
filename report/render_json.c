/*
 * render_json.c - one JSON document: scan, filter, summary, endpoints.
 *
 * Field names are stable (report/README.md lists them).  Strings go
 * through tw_escape_json(), which also escapes < > & ' so the document can
 * be embedded in HTML; invalid UTF-8 becomes U+FFFD.
 */
#include <inttypes.h>
#include <string.h>

#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "tls/grade.h"

static void
json_kv_str(FILE *f, const char *key, const char *val, int comma)
{
    fprintf(f, "\"%s\":", key);
    tw_escape_json(f, val);
    if (comma)
        fputc(',', f);
}

static void
json_opt_str(FILE *f, const char *key, const char *val, int comma)
{
    json_kv_str(f, key, val != NULL && val[0] != '\0' ? val : NULL, comma);
}

static void json_issues(FILE *f, const char *issues);

static void
json_endpoint_id(FILE *f, const struct tw_report_row *row)
{
    json_kv_str(f, "host", row->host, 1);
    json_kv_str(f, "ip", row->ip, 1);
    fprintf(f, "\"port\":%d,", row->port);
    json_kv_str(f, "sni", row->sni, 1);
}

/*
 * Issue 16, fix first: "problems_total" and "problems", the ranked
 * problems (at most --top), each {rank, severity, tier, kind, title,
 * endpoints (the count), first (<= 5 endpoints), explanation, fix,
 * reproduce}.
 */
static void
json_problems(struct tw_report *rp)
{
    const struct tw_problems *pb = &rp->sum->problems;
    size_t shown = tw_problems_shown(pb, rp->opts->problems_top);
    FILE *f = rp->out;

    fprintf(f, "\"problems_total\":%zu,\"problems_endpoints\":%" PRId64 ",\n\"problems\":[", pb->n,
            pb->n_endpoints);
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "%s{\"rank\":%d,\"severity\":\"%s\",", i ? ",\n" : "\n", pr->rank,
                tw_problem_severity_of(pr));
        json_kv_str(f, "tier", tw_problem_tier_text(pr->tier), 1);
        json_kv_str(f, "kind", pr->kind, 1);
        json_kv_str(f, "title", pr->title, 1);
        fprintf(f, "\"endpoints\":%" PRId64 ",\"first\":[", pr->count);
        for (size_t k = 0; k < pr->n_sample; k++) {
            const struct tw_report_row *e = &pr->sample[k];

            fputs(k ? ",{" : "{", f);
            json_kv_str(f, "host", e->host, 1);
            json_kv_str(f, "ip", e->ip, 1);
            fprintf(f, "\"port\":%d,", e->port);
            json_kv_str(f, "sni", e->sni, 0);
            fputc('}', f);
        }
        fputs("],", f);
        json_kv_str(f, "explanation", pr->why, 1);
        json_kv_str(f, "fix", pr->fix, 1);
        json_kv_str(f, "reproduce", pr->try_cmd, 0);
        fputc('}', f);
    }
    fputs("],\n", f);
}

static void
json_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    FILE *f = rp->out;
    char iso[21];

    fputs("{\"format\":\"tlsweep-report\",\"version\":1,\n\"scan\":{", f);
    fprintf(f, "\"id\":%" PRId64 ",", sc->id);
    json_kv_str(f, "label", sc->label, 1);
    json_opt_str(f, "started_at", sc->started_at, 1);
    json_opt_str(f, "finished_at", sc->finished_at, 1);
    json_kv_str(f, "status", sc->status, 1);
    fprintf(f, "\"interrupted\":%s,\"latest_fallback\":%s,",
            strcmp(sc->status, "done") != 0 ? "true" : "false", sc->is_fallback ? "true" : "false");
    tw_time_iso(sc->ref_time, iso);
    json_kv_str(f, "reference_time", iso, 1);
    fprintf(f, "\"partial\":%s,\"results\":%" PRId64 "},\n\"warnings\":",
            sc->is_partial ? "true" : "false", sc->n_results);
    tw_report_warnings_json(f, rp->opts->warnings, "report");
    fputs(",\n\"filter\":{", f);
    json_kv_str(f, "where", rp->opts->where, 1);
    if (rp->opts->has_expiring)
        fprintf(f, "\"expiring_days\":%" PRId64 "},\n", rp->opts->expiring_days);
    else
        fputs("\"expiring_days\":null},\n", f);
    json_problems(rp);

    fprintf(f,
            "\"summary\":{\"endpoints\":%" PRId64 ",\"failures\":%" PRId64 ",\"issues\":%" PRId64
            ",\"ok\":%" PRId64 ",\n\"by_class\":{",
            sum->total, sum->n_failures, sum->n_issues, sum->n_ok);
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        fprintf(f, "%s\"%s\":%" PRId64, c ? "," : "", tw_class_name((enum tw_class)c),
                sum->by_class[c]);
    fprintf(f, ",\"unknown\":%" PRId64 "},\n\"by_grade\":{", sum->n_unknown_class);
    for (int i = 0; i < TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        fprintf(f, "\"%s\":%" PRId64 ",", tw_grade_name(g), sum->by_grade[g]);
    }
    fprintf(f, "\"none\":%" PRId64 "},\n", sum->by_grade[TW_GRADE_NONE]);
    fprintf(f,
            "\"expiry\":{\"expired\":%" PRId64 ",\"within_7_days\":%" PRId64
            ",\"within_30_days\":%" PRId64 ",\"no_certificate\":%" PRId64 ",\"next_90_days\":[",
            sum->n_expired, sum->n_exp7, sum->n_exp30, sum->n_no_cert);
    for (int d = 0; d < TW_SUMMARY_DAYS; d++)
        fprintf(f, "%s%" PRId64, d ? "," : "", sum->expiry_days[d]);
    fprintf(f, "]},\n\"legacy_tls\":{\"endpoints\":%" PRId64 ",\"first\":[", sum->n_legacy_tls);
    for (size_t i = 0; i < sum->n_legacy; i++) {
        fputs(i ? ",{" : "{", f);
        json_endpoint_id(f, &sum->legacy[i]);
        /* Issue 16: what it accepts beside what it negotiated. */
        fputs("\"accepted\":", f);
        json_issues(f, sum->legacy_accepted[i]);
        fputc(',', f);
        json_kv_str(f, "tls_version", sum->legacy[i].tls_version, 0);
        fputc('}', f);
    }
    fputs("]},\n\"weakest\":[", f);
    for (size_t i = 0; i < sum->n_weakest; i++) {
        fputs(i ? ",{" : "{", f);
        json_endpoint_id(f, &sum->weakest[i]);
        json_kv_str(f, "grade", sum->weakest[i].grade, 1);
        json_kv_str(f, "class", sum->weakest[i].class_name, 0);
        fputc('}', f);
    }
    fputs("]},\n\"endpoints\":[\n", f);
}

/* "a,b,c" as a JSON array of strings. */
static void
json_issues(FILE *f, const char *issues)
{
    char name[128];
    const char *p = issues != NULL ? issues : "";
    int first = 1;

    fputc('[', f);
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t k = n < sizeof(name) - 1 ? n : sizeof(name) - 1;

        memcpy(name, p, k);
        name[k] = '\0';
        if (n > 0) {
            if (!first)
                fputc(',', f);
            tw_escape_json(f, name);
            first = 0;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    fputc(']', f);
}

/* At most this many SANs are listed per endpoint ("sans_total" counts all). */
#define JSON_SANS_MAX 20

/* Issue 16: the leaf's names as "sans":["a","b"],"sans_total":N, (the
 * first JSON_SANS_MAX; [] and 0 without a certificate or SAN). */
static void
json_sans(FILE *f, const char *san)
{
    char name[TW_HOST_MAX + 8];
    size_t count = 0;

    fputs("\"sans\":[", f);
    while (tw_render_san_next(&san, name, sizeof(name))) {
        if (count < JSON_SANS_MAX) {
            fputs(count > 0 ? "," : "", f);
            tw_escape_json(f, name);
        }
        count++;
    }
    fprintf(f, "],\"sans_total\":%zu,", count);
}

/* Issue 13: "modern=0=a,b;intermediate=1=;..." as
 * {"modern":{"pass":false,"failed":["a","b"]},...}, null when not graded. */
static void
json_compliance(FILE *f, const char *comp)
{
    char name[32], failed[512];
    const char *p = comp;
    int first = 1;

    if (comp == NULL || comp[0] == '\0') {
        fputs("null", f);
        return;
    }
    fputc('{', f);
    while (*p) {
        size_t n = strcspn(p, ";");
        size_t a = strcspn(p, "=");
        const char *rest = p + a + 1;
        size_t fl;

        if (a + 2 < n && a < sizeof(name) && (rest[0] == '0' || rest[0] == '1') && rest[1] == '=') {
            memcpy(name, p, a);
            name[a] = '\0';
            fl = n - a - 3;
            if (fl > sizeof(failed) - 1)
                fl = sizeof(failed) - 1;
            memcpy(failed, rest + 2, fl);
            failed[fl] = '\0';
            if (!first)
                fputc(',', f);
            tw_escape_json(f, name);
            fprintf(f, ":{\"pass\":%s,\"failed\":", rest[0] == '1' ? "true" : "false");
            json_issues(f, failed);
            fputc('}', f);
            first = 0;
        }
        p += n;
        if (*p == ';')
            p++;
    }
    fputc('}', f);
}

static void
json_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;
    const char *why;
    const char *fix;
    char ranks[128];

    tw_render_explain(row, &why, &fix);
    fputs(rp->n_rows ? ",\n{" : "{", f);
    json_endpoint_id(f, row);
    json_kv_str(f, "target", row->target, 1);
    /* The STARTTLS protocol the endpoint was scanned with, null for direct TLS. */
    json_opt_str(f, "starttls", tw_starttls_name(tw_starttls_from_target(row->target)), 1);
    json_kv_str(f, "class", row->class_name, 1);
    fprintf(f, "\"failure\":%s,\"issues\":", row->is_failure ? "true" : "false");
    json_issues(f, row->issues);
    fputc(',', f);
    json_kv_str(f, "grade", row->grade, 1);
    fputs("\"grade_reasons\":", f);
    json_issues(f, row->grade_reasons);
    fputc(',', f);
    json_kv_str(f, "grade_reasons_text", row->grade_reasons_text, 1);
    /* Issue 14: the vulnerability probes that fired (table vulns), [] for none. */
    fputs("\"vulns\":", f);
    json_issues(f, row->vulns);
    fputs(",\"compliance\":", f);
    json_compliance(f, row->compliance);
    fputc(',', f);
    json_opt_str(f, "tls_version", row->tls_version, 1);
    json_opt_str(f, "cipher", row->cipher, 1);
    json_kv_str(f, "cert_sha256", row->cert_sha256, 1);
    json_kv_str(f, "cert_subject", row->leaf_subject, 1);
    json_kv_str(f, "cert_issuer", row->leaf_issuer, 1);
    json_kv_str(f, "not_after", row->not_after, 1);
    json_sans(f, tw_render_leaf_san(row));
    if (row->has_expiry)
        fprintf(f, "\"days_left\":%" PRId64 ",", row->days_left);
    else
        fputs("\"days_left\":null,", f);
    json_kv_str(f, "explanation", why, 1);
    json_kv_str(f, "fix", fix, 1);
    json_kv_str(f, "reproduce", row->repro, 1);
    json_kv_str(f, "detail", row->detail, 1);
    tw_problems_ranks(&rp->sum->problems, row->id, ranks, sizeof(ranks));
    for (char *c = ranks; *c; c++)
        if (*c == ';')
            *c = ',';
    fprintf(f, "\"problems\":[%s],", ranks); /* issue 16: ranks, digits and commas */
    fprintf(f, "\"elapsed_ms\":%" PRId64 ",\"chain\":[", row->elapsed_ms);
    for (size_t i = 0; i < row->n_chain; i++) {
        const struct tw_chain_entry *e = &row->chain[i];
        fprintf(f, "%s{\"depth\":%d,", i ? "," : "", e->depth);
        json_kv_str(f, "sha256", e->sha256, 1);
        json_kv_str(f, "subject", e->subject, 1);
        json_kv_str(f, "issuer", e->issuer, 1);
        json_kv_str(f, "not_before", e->not_before, 1);
        json_kv_str(f, "not_after", e->not_after, 0);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void
json_end(struct tw_report *rp)
{
    fputs("\n]", rp->out);
    tw_render_clients_json(rp); /* issue 13: who cannot connect */
    fputs("}\n", rp->out);
}

const struct tw_renderer tw_render_json = {
    "json", "one JSON document (fields in report/README.md)", 1, json_begin, json_row, json_end,
};
