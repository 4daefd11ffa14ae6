/*
 * diff_cli.c - `tlsweep diff`: match two scans' endpoints and report what
 * changed, summary counts first.
 *
 * Matching is a merge join: both scans are read in the order of the
 * results_endpoint index (host, ip, port, sni), so neither needs sorting,
 * and one host's rows at a time are paired, first by (port, sni, ip), then
 * by (port, sni) alone (the address changed).  Memory holds one host's
 * rows.  Changes are rendered as they are found into one temporary file
 * per kind, so the summary can come first without holding changes in
 * memory; the files are then copied out in kind order.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report/diff.h"
#include "report/escape.h"
#include "report/render.h"
#include "report/render_int.h"
#include "cli/cli.h"
#include "cli/report_int.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/store.h"

struct diff_ctx {
    FILE *out;
    const struct tw_scan_info *old, *new_;
    int64_t threshold;
    size_t counts[TW_DIFF__COUNT];
    size_t n_regressions;
    int n_sections; /* sections written so far */
};

struct diff_renderer {
    const char *name;
    const char *help;
    void (*begin)(struct diff_ctx *d);
    void (*section)(struct diff_ctx *d, enum tw_diff_kind k);
    /* Render one change into f (a per-kind temporary file); idx counts
     * within the kind from 0. */
    void (*change)(FILE *f, const struct diff_ctx *d, size_t idx, const struct tw_diff_change *c,
                   const struct tw_diff_ep *o, const struct tw_diff_ep *n);
    void (*end)(struct diff_ctx *d);
};

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

static void
scan_line(FILE *f, const char *tag, const struct tw_scan_info *s, void (*esc)(FILE *, const char *))
{
    fprintf(f, "%s scan %" PRId64, tag, s->id);
    if (s->label != NULL) {
        fputs(" \"", f);
        esc(f, s->label);
        fputc('"', f);
    }
    fputs(" started ", f);
    esc(f, s->started_at);
    fputs(", ", f);
    esc(f, s->status);
    if (strcmp(s->status, "done") != 0)
        fputs(" (INCOMPLETE)", f);
}

/* ---- text ---- */

static void
text_begin(struct diff_ctx *d)
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
    if (d->n_regressions == 0 && d->counts[TW_DIFF_NEW] + d->counts[TW_DIFF_VANISHED] == 0) {
        size_t any = 0;
        for (int k = 0; k < TW_DIFF__COUNT; k++)
            any += d->counts[k];
        if (any == 0)
            fputs("No changes.\n", f);
    }
}

static void
text_section(struct diff_ctx *d, enum tw_diff_kind k)
{
    fprintf(d->out, "\n%s (%zu)\n", tw_diff_kind_title(k), d->counts[k]);
}

static const char *
or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static void
text_change(FILE *f, const struct diff_ctx *d, size_t idx, const struct tw_diff_change *c,
            const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    char label[2 * TW_HOST_MAX + 2 * TW_IP_MAX + 64];
    const char *ov;
    const char *nv;

    (void)d;
    (void)idx;
    diff_label(o, n, label, sizeof(label));
    tw_diff_values(c->kind, o, n, &ov, &nv);
    fputs(c->is_regression ? "  ! " : "    ", f);
    tw_escape_term(f, label);
    fputs("  ", f);
    switch (c->kind) {
    case TW_DIFF_NEW:
        fputs("class ", f);
        tw_escape_term(f, or_dash(n->class_name));
        fputs(", grade ", f);
        tw_escape_term(f, or_dash(n->grade));
        break;
    case TW_DIFF_VANISHED:
        fputs("was class ", f);
        tw_escape_term(f, or_dash(o->class_name));
        fputs(", grade ", f);
        tw_escape_term(f, or_dash(o->grade));
        break;
    case TW_DIFF_EXPIRING:
        fputs("notAfter ", f);
        tw_escape_term(f, or_dash(nv));
        fprintf(f, " (%" PRId64 " days left", n->days_left);
        if (o != NULL && o->has_expiry)
            fprintf(f, "; was %" PRId64 ")", o->days_left);
        else
            fputc(')', f);
        break;
    case TW_DIFF_CERT_ROTATED:
        tw_escape_term(f, or_dash(ov));
        fputs(" (notAfter ", f);
        tw_escape_term(f, or_dash(o->not_after));
        fputs(") -> ", f);
        tw_escape_term(f, or_dash(nv));
        fputs(" (notAfter ", f);
        tw_escape_term(f, or_dash(n->not_after));
        fputc(')', f);
        break;
    default:
        tw_escape_term(f, or_dash(ov));
        fputs(" -> ", f);
        tw_escape_term(f, or_dash(nv));
        if (c->kind == TW_DIFF_CLASS_CHANGED)
            fputs(c->is_regression ? " (worse)" : " (better)", f);
        break;
    }
    fputs(c->is_regression ? "  REGRESSION\n" : "\n", f);
}

static void
text_end(struct diff_ctx *d)
{
    (void)d;
}

/* ---- markdown ---- */

static void
md_begin(struct diff_ctx *d)
{
    FILE *f = d->out;

    fputs("# tlsweep diff\n\n", f);
    scan_line(f, "- old:", d->old, tw_escape_md);
    fputc('\n', f);
    scan_line(f, "- new:", d->new_, tw_escape_md);
    fputs("\n\n## Summary\n\n| change | count |\n|---|---:|\n", f);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        fprintf(f, "| %s | %zu |\n", tw_diff_kind_name(k), d->counts[k]);
    fprintf(f, "| **regressions** | **%zu** |\n\nExpiry threshold: %" PRId64 " days.\n",
            d->n_regressions, d->threshold);
}

static void
md_section(struct diff_ctx *d, enum tw_diff_kind k)
{
    fprintf(d->out, "\n## %s (%zu)\n\n| endpoint | old | new | regression |\n|---|---|---|---|\n",
            tw_diff_kind_title(k), d->counts[k]);
}

static void
md_change(FILE *f, const struct diff_ctx *d, size_t idx, const struct tw_diff_change *c,
          const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    char label[2 * TW_HOST_MAX + 2 * TW_IP_MAX + 64];
    const char *ov;
    const char *nv;

    (void)d;
    (void)idx;
    diff_label(o, n, label, sizeof(label));
    tw_diff_values(c->kind, o, n, &ov, &nv);
    fputs("| ", f);
    tw_escape_md(f, label);
    fputs(" | ", f);
    tw_escape_md(f, or_dash(ov));
    if (c->kind == TW_DIFF_CERT_ROTATED && o != NULL) {
        fputs(" (notAfter ", f);
        tw_escape_md(f, or_dash(o->not_after));
        fputc(')', f);
    }
    fputs(" | ", f);
    tw_escape_md(f, or_dash(nv));
    if (c->kind == TW_DIFF_CERT_ROTATED && n != NULL) {
        fputs(" (notAfter ", f);
        tw_escape_md(f, or_dash(n->not_after));
        fputc(')', f);
    }
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
    fputc('}', f);
}

static void
json_begin(struct diff_ctx *d)
{
    FILE *f = d->out;

    fputs("{\"format\":\"tlsweep-diff\",\"version\":1,\n\"old\":", f);
    json_scan(f, d->old);
    fputs(",\n\"new\":", f);
    json_scan(f, d->new_);
    fprintf(f, ",\n\"expiry_threshold_days\":%" PRId64 ",\n\"summary\":{", d->threshold);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        fprintf(f, "\"%s\":%zu,", tw_diff_kind_name(k), d->counts[k]);
    fprintf(f, "\"regressions\":%zu},\n\"regression\":%s,\n\"changes\":[\n", d->n_regressions,
            d->n_regressions ? "true" : "false");
}

static void
json_section(struct diff_ctx *d, enum tw_diff_kind k)
{
    (void)k;
    if (d->n_sections > 0)
        fputs(",\n", d->out);
}

static void
json_change(FILE *f, const struct diff_ctx *d, size_t idx, const struct tw_diff_change *c,
            const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    const struct tw_diff_ep *e = n != NULL ? n : o;
    const char *ov;
    const char *nv;

    (void)d;
    tw_diff_values(c->kind, o, n, &ov, &nv);
    fprintf(f, "%s{\"kind\":\"%s\",\"regression\":%s,\"host\":", idx ? ",\n" : "",
            tw_diff_kind_name(c->kind), c->is_regression ? "true" : "false");
    tw_escape_json(f, e->host);
    fprintf(f, ",\"port\":%d,\"sni\":", e->port);
    tw_escape_json(f, e->sni);
    fputs(",\"old_ip\":", f);
    tw_escape_json(f, o ? o->ip : NULL);
    fputs(",\"new_ip\":", f);
    tw_escape_json(f, n ? n->ip : NULL);
    fputs(",\"old\":", f);
    tw_escape_json(f, ov);
    fputs(",\"new\":", f);
    tw_escape_json(f, nv);
    fputs(",\"old_not_after\":", f);
    tw_escape_json(f, o ? o->not_after : NULL);
    fputs(",\"new_not_after\":", f);
    tw_escape_json(f, n ? n->not_after : NULL);
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
json_end(struct diff_ctx *d)
{
    fputs("\n]}\n", d->out);
}

/* ---- csv ---- */

static void
csv_begin(struct diff_ctx *d)
{
    fputs("kind,regression,host,port,sni,old_ip,new_ip,old,new,old_not_after,new_not_after,"
          "old_days_left,new_days_left\r\n",
          d->out);
}

static void
csv_section(struct diff_ctx *d, enum tw_diff_kind k)
{
    (void)d;
    (void)k;
}

static void
csv_change(FILE *f, const struct diff_ctx *d, size_t idx, const struct tw_diff_change *c,
           const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    const struct tw_diff_ep *e = n != NULL ? n : o;
    const char *ov;
    const char *nv;
    const char *cells[6];

    (void)d;
    (void)idx;
    if (e == NULL) /* a change always has an old or a new side */
        return;
    tw_diff_values(c->kind, o, n, &ov, &nv);
    fprintf(f, "%s,%d,", tw_diff_kind_name(c->kind), c->is_regression);
    tw_escape_csv(f, e->host);
    fprintf(f, ",%d,", e->port);
    tw_escape_csv(f, e->sni);
    cells[0] = o ? o->ip : NULL;
    cells[1] = n ? n->ip : NULL;
    cells[2] = ov;
    cells[3] = nv;
    cells[4] = o ? o->not_after : NULL;
    cells[5] = n ? n->not_after : NULL;
    for (int i = 0; i < 6; i++) {
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

static const struct diff_renderer diff_renderers[] = {
    {"text", "changes grouped by kind, summary first", text_begin, text_section, text_change,
     text_end},
    {"json", "one JSON document: scans, summary, changes[]", json_begin, json_section, json_change,
     json_end},
    {"csv", "one row per change (RFC 4180, formula-safe)", csv_begin, csv_section, csv_change,
     text_end},
    {"md", "Markdown: summary table, one table per kind", md_begin, md_section, md_change,
     text_end},
};
#define N_DIFF_RENDERERS (sizeof(diff_renderers) / sizeof(diff_renderers[0]))

/* ---- the merge ---- */

struct diff_side {
    sqlite3_stmt *st;
    const struct tw_scan_info *scan;
    int has_row;
    struct tw_diff_ep *eps; /* this host's rows, owned strings */
    size_t n, cap;
    char *matched;
};

static char *
dup_col(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    return s != NULL ? tw_xstrdup(s) : NULL;
}

static void
side_clear(struct diff_side *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct tw_diff_ep *e = &s->eps[i];
        free((char *)e->host);
        free((char *)e->ip);
        free((char *)e->sni);
        free((char *)e->class_name);
        free((char *)e->grade);
        free((char *)e->tls_version);
        free((char *)e->cipher);
        free((char *)e->cert_sha256);
        free((char *)e->not_after);
    }
    s->n = 0;
}

static int
side_step(struct diff_side *s, char *err)
{
    int k = sqlite3_step(s->st);

    if (k == SQLITE_ROW) {
        s->has_row = 1;
        return 0;
    }
    s->has_row = 0;
    if (k == SQLITE_DONE)
        return 0;
    tw_errf(err, "reading scan %" PRId64 ": %s", s->scan->id,
            sqlite3_errmsg(sqlite3_db_handle(s->st)));
    return -1;
}

/* Read every row of host into s->eps. */
static int
side_load(struct diff_side *s, const char *host, char *err)
{
    while (s->has_row) {
        const char *h = (const char *)sqlite3_column_text(s->st, 0);
        struct tw_diff_ep *e;

        if (strcmp(h ? h : "", host) != 0)
            break;
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 16;
            s->eps = tw_xrealloc(s->eps, s->cap * sizeof(*s->eps));
            s->matched = tw_xrealloc(s->matched, s->cap);
        }
        e = &s->eps[s->n];
        memset(e, 0, sizeof(*e));
        s->matched[s->n] = 0;
        s->n++;
        e->host = dup_col(s->st, 0);
        e->ip = dup_col(s->st, 1);
        e->port = sqlite3_column_int(s->st, 2);
        e->sni = dup_col(s->st, 3);
        e->class_name = dup_col(s->st, 4);
        e->grade = dup_col(s->st, 5);
        e->tls_version = dup_col(s->st, 6);
        e->cipher = dup_col(s->st, 7);
        e->cert_sha256 = dup_col(s->st, 8);
        e->not_after = dup_col(s->st, 9);
        e->has_expiry = sqlite3_column_type(s->st, 10) != SQLITE_NULL;
        if (e->has_expiry) {
            int64_t sec = sqlite3_column_int64(s->st, 10) - s->scan->ref_time;
            e->days_left = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
        }
        if (side_step(s, err) < 0)
            return -1;
    }
    return 0;
}

static int
same_key(const struct tw_diff_ep *a, const struct tw_diff_ep *b, int with_ip)
{
    if (a->port != b->port)
        return 0;
    if ((a->sni == NULL) != (b->sni == NULL))
        return 0;
    if (a->sni != NULL && strcmp(a->sni, b->sni) != 0)
        return 0;
    return !with_ip || strcmp(a->ip ? a->ip : "", b->ip ? b->ip : "") == 0;
}

struct diff_run {
    struct diff_ctx *d;
    const struct diff_renderer *r;
    FILE *tmp[TW_DIFF__COUNT];
};

static void
emit(struct diff_run *run, const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    struct tw_diff_change ch[TW_DIFF__COUNT];
    size_t k = tw_diff_compare(o, n, run->d->threshold, ch);

    for (size_t i = 0; i < k; i++) {
        run->r->change(run->tmp[ch[i].kind], run->d, run->d->counts[ch[i].kind], &ch[i], o, n);
        run->d->counts[ch[i].kind]++;
        if (ch[i].is_regression)
            run->d->n_regressions++;
    }
}

static void
pair_host(struct diff_run *run, struct diff_side *a, struct diff_side *b)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < a->n; i++) {
            if (a->matched[i])
                continue;
            for (size_t j = 0; j < b->n; j++) {
                if (b->matched[j] || !same_key(&a->eps[i], &b->eps[j], pass == 0))
                    continue;
                a->matched[i] = b->matched[j] = 1;
                emit(run, &a->eps[i], &b->eps[j]);
                break;
            }
        }
    }
    for (size_t i = 0; i < a->n; i++)
        if (!a->matched[i])
            emit(run, &a->eps[i], NULL);
    for (size_t j = 0; j < b->n; j++)
        if (!b->matched[j])
            emit(run, NULL, &b->eps[j]);
}

static int
side_open(sqlite3 *db, const struct tw_scan_info *scan, struct diff_side *s, char *err)
{
    memset(s, 0, sizeof(*s));
    s->scan = scan;
    if (sqlite3_prepare_v2(db,
                           "SELECT r.host, r.ip, r.port, r.sni, r.class, r.grade, r.tls_version,"
                           " r.cipher, r.cert_sha256, lc.not_after, " TW_SQL_NOT_AFTER
                           " FROM results AS r LEFT JOIN certs AS lc ON lc.sha256 = r.cert_sha256"
                           " WHERE r.scan_id = ?1"
                           " ORDER BY r.host, r.ip, r.port, ifnull(r.sni, '')",
                           -1, &s->st, NULL) != SQLITE_OK) {
        tw_errf(err, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(s->st, 1, scan->id);
    return side_step(s, err);
}

static void
side_close(struct diff_side *s)
{
    side_clear(s);
    free(s->eps);
    free(s->matched);
    sqlite3_finalize(s->st);
}

static int
copy_file(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;

    if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            return -1;
    return ferror(from) ? -1 : 0;
}

static int
diff_run(sqlite3 *db, struct diff_ctx *d, const struct diff_renderer *r, char *err)
{
    struct diff_side a, b;
    struct diff_run run;
    char *host = NULL;
    int rc = -1;

    memset(&run, 0, sizeof(run));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    run.d = d;
    run.r = r;
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        run.tmp[k] = tmpfile();
        if (run.tmp[k] == NULL) {
            tw_errf(err, "temporary file: %s", strerror(errno));
            goto out;
        }
    }
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        tw_errf(err, "begin: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (side_open(db, d->old, &a, err) < 0 || side_open(db, d->new_, &b, err) < 0)
        goto out;
    while (a.has_row || b.has_row) {
        const char *ha = a.has_row ? (const char *)sqlite3_column_text(a.st, 0) : NULL;
        const char *hb = b.has_row ? (const char *)sqlite3_column_text(b.st, 0) : NULL;
        const char *h = ha == NULL ? hb : hb == NULL ? ha : strcmp(ha, hb) <= 0 ? ha : hb;

        free(host);
        host = tw_xstrdup(h ? h : "");
        if (side_load(&a, host, err) < 0 || side_load(&b, host, err) < 0)
            goto out;
        if (a.n == 0 && b.n == 0) {
            /* Only possible when host order disagrees with strcmp (NUL bytes). */
            if (a.has_row && side_step(&a, err) < 0)
                goto out;
            continue;
        }
        pair_host(&run, &a, &b);
        side_clear(&a);
        side_clear(&b);
    }
    r->begin(d);
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        if (d->counts[k] == 0)
            continue;
        r->section(d, (enum tw_diff_kind)k);
        if (copy_file(run.tmp[k], d->out) < 0) {
            tw_errf(err, "temporary file: %s", strerror(errno));
            goto out;
        }
        d->n_sections++;
    }
    r->end(d);
    if (fflush(d->out) != 0 || ferror(d->out)) {
        tw_errf(err, "write error");
        goto out;
    }
    rc = 0;
out:
    free(host);
    side_close(&a);
    side_close(&b);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        if (run.tmp[k] != NULL)
            fclose(run.tmp[k]);
    return rc;
}

/* ---- command line ---- */

static void
diff_usage(FILE *f)
{
    fputs("usage: tlsweep diff [--db PATH] [OLD [NEW]] [--format FORMAT] [-o FILE]\n"
          "                    [--fail-on regression] [--expiry-threshold DAYS]\n"
          "\n"
          "Compare two scans.  Endpoints are matched by (host, port, sni); the report\n"
          "lists new and vanished endpoints, failures that appeared or were fixed,\n"
          "class changes, grades up and down, rotated certificates (with old and new\n"
          "expiry), certificates newly expiring within the threshold, and protocol or\n"
          "cipher changes, summary counts first.\n"
          "\n"
          "OLD and NEW are scan ids.  Default: the two latest scans with status done\n"
          "(interrupted scans are never picked by default); with only OLD, NEW is the\n"
          "latest done scan.\n"
          "\n"
          "Options:\n"
          "  --db PATH                database (default ./tlsweep.db), opened read-only\n"
          "  --format FORMAT          output format (default text), see below\n"
          "  -o, --output FILE        write to FILE (replaced atomically)\n"
          "  --fail-on regression     exit 1 when NEW is worse: a new failure, a class\n"
          "                           earlier in DESIGN §3 order, a lower grade, or a leaf\n"
          "                           now expiring within the threshold that was not before\n"
          "  --expiry-threshold DAYS  threshold for the expiry rule (default 14); days are\n"
          "                           counted from each scan's own time\n"
          "  -h, --help               this help\n"
          "\n"
          "Formats:\n",
          f);
    for (size_t i = 0; i < N_DIFF_RENDERERS; i++)
        fprintf(f, "  %-6s %s\n", diff_renderers[i].name, diff_renderers[i].help);
    fputs("\n"
          "Examples:\n"
          "  tlsweep diff                              the two latest done scans\n"
          "  tlsweep diff 41 42 --fail-on regression   gate a change in CI\n"
          "  tlsweep diff --format json | jq '.changes[] | select(.regression)'\n"
          "\n"
          "Exit codes: 0 no regression (or no --fail-on), 1 regression found with --fail-on,\n"
          "            2 usage error (bad option, format or scan id), 3 database or output "
          "error.\n",
          f);
}

int
tw_diff_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"fail-on", required_argument, NULL, 'F'},
        {"expiry-threshold", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = "tlsweep.db";
    const char *format = "text";
    const char *out_path = NULL;
    const struct diff_renderer *r = NULL;
    struct tw_scan_info old_scan, new_scan;
    struct tw_report_out out;
    struct diff_ctx d;
    struct tw_store *st = NULL;
    int fail_on = 0;
    char err[TW_ERRLEN];
    int rc = 2;
    int c;
    int k;

    memset(&old_scan, 0, sizeof(old_scan));
    memset(&new_scan, 0, sizeof(new_scan));
    memset(&out, 0, sizeof(out));
    memset(&d, 0, sizeof(d));
    d.threshold = 14;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "regression") != 0) {
                fprintf(stderr, "tlsweep diff: --fail-on: only 'regression' is known\n");
                return 2;
            }
            fail_on = 1;
            break;
        case 't':
            if (tw_report_parse_days(optarg, &d.threshold) < 0) {
                fprintf(stderr,
                        "tlsweep diff: --expiry-threshold: '%s' is not a number of "
                        "days\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            diff_usage(stdout);
            return 0;
        default:
            fputs("Run 'tlsweep diff --help' for the options.\n", stderr);
            return 2;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, "tlsweep diff: at most two scans (OLD NEW), got '%s'\n", argv[optind + 2]);
        return 2;
    }
    for (size_t i = 0; i < N_DIFF_RENDERERS; i++)
        if (strcmp(diff_renderers[i].name, format) == 0)
            r = &diff_renderers[i];
    if (r == NULL) {
        fprintf(stderr, "tlsweep diff: unknown format '%s' (formats:", format);
        for (size_t i = 0; i < N_DIFF_RENDERERS; i++)
            fprintf(stderr, " %s", diff_renderers[i].name);
        fputs(")\n", stderr);
        return 2;
    }
    if (tw_report_open_db(db_path, &st, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    if (argc - optind == 0) {
        k = tw_report_scan_done_nth(tw_store_db(st), 1, &old_scan, err);
        if (k == 0)
            k = tw_report_scan_done_nth(tw_store_db(st), 0, &new_scan, err);
    } else {
        k = tw_report_scan_find(tw_store_db(st), argv[optind], INT64_MIN, &old_scan, err);
        if (k == 0 && argc - optind == 2)
            k = tw_report_scan_find(tw_store_db(st), argv[optind + 1], INT64_MIN, &new_scan, err);
        else if (k == 0)
            k = tw_report_scan_done_nth(tw_store_db(st), 0, &new_scan, err);
    }
    if (k != 0) {
        fprintf(stderr, "tlsweep diff: %s: %s\n", db_path, err);
        rc = k > 0 ? 2 : 3;
        goto out;
    }
    if (tw_report_out_open(out_path, &out, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    d.out = out.f;
    d.old = &old_scan;
    d.new_ = &new_scan;
    if (diff_run(tw_store_db(st), &d, r, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s: %s\n", db_path, err);
        tw_report_out_close(&out, 0, err);
        rc = 3;
        goto out;
    }
    if (tw_report_out_close(&out, 1, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const struct tw_scan_info *s = i ? &new_scan : &old_scan;
        if (strcmp(s->status, "done") != 0)
            fprintf(stderr,
                    "tlsweep diff: warning: scan %" PRId64 " is %s: results are "
                    "incomplete\n",
                    s->id, s->status);
    }
    rc = fail_on && d.n_regressions > 0 ? 1 : 0;
out:
    tw_report_scan_cleanup(&old_scan);
    tw_report_scan_cleanup(&new_scan);
    tw_store_close(st);
    return rc;
}
