/*
 * render_html.c - one self-contained HTML file: summary cards, inline SVG
 * charts (grade distribution, certificate expiry over 90 days), a
 * sortable/filterable endpoint table, per-endpoint details with the chain.
 *
 * Safety: every database string goes through tw_escape_html() (& < > " '
 * as entities).  The page's one script is a constant: it reads only the
 * DOM (textContent and our numeric data-k attributes), never innerHTML.
 * The Content-Security-Policy allows exactly that script by its SHA-256
 * hash (computed here, so the output stays deterministic) and nothing
 * else: no inline event handlers, no other scripts, no network
 * (default-src 'none').  Escaping is the defence; the CSP is the backstop.
 */
#include <inttypes.h>
#include <string.h>

#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "report/sha256.h"
#include "tls/grade.h"

static const char html_script[] =
    "(function(){\n"
    "var t=document.getElementById('endpoints');if(!t)return;\n"
    "var tb=t.tBodies[0],hs=t.tHead.rows[0].cells,dir={};\n"
    "function key(r,i){var c=r.cells[i],k=c.getAttribute('data-k');\n"
    " return k!==null?parseFloat(k):c.textContent.toLowerCase();}\n"
    "function sortBy(i){var rows=Array.prototype.slice.call(tb.rows);\n"
    " var d=dir[i]=dir[i]===1?-1:1;\n"
    " rows.sort(function(a,b){var x=key(a,i),y=key(b,i);return x<y?-d:x>y?d:0;});\n"
    " for(var j=0;j<rows.length;j++)tb.appendChild(rows[j]);}\n"
    "for(var i=0;i<hs.length;i++)hs[i].addEventListener('click',sortBy.bind(null,i));\n"
    "var f=document.getElementById('filter'),n=document.getElementById('shown');\n"
    "function apply(){var q=f.value.toLowerCase(),s=0;\n"
    " for(var j=0;j<tb.rows.length;j++){var r=tb.rows[j];\n"
    "  r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;if(!r.hidden)s++;}\n"
    " n.textContent=String(s);}\n"
    "f.addEventListener('input',apply);\n"
    "if(location.hash.indexOf('#q=')===0){f.value=decodeURIComponent(location.hash.slice(3));"
    "apply();}\n"
    "t.setAttribute('data-ready','1');\n"
    "})();\n";

static const char html_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\n"
    ".meta{color:#555}.warn{background:#b00;color:#fff;padding:.6em;font-weight:bold}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px solid #ccc;border-radius:6px;"
    "padding:.6em 1em;min-width:8em}.card b{display:block;font-size:1.6em}\n"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25em .5em;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4;cursor:pointer}\n"
    "td.n{text-align:right}.g-good{color:#080;font-weight:bold}.g-mid{color:#a60;"
    "font-weight:bold}.g-bad{color:#c00;font-weight:bold}.fail{color:#c00}.iss{color:#a60}\n"
    "code{background:#f4f4f4;word-break:break-all}svg text{font:11px sans-serif}\n";

static void
html_text(FILE *f, const char *s)
{
    tw_escape_or_dash(f, tw_escape_html, s);
}

static void
html_pieces(FILE *f, const struct tw_escape_piece *p, size_t n)
{
    tw_escape_pieces(f, tw_escape_html, p, n);
}

static const char *
grade_class(const char *grade)
{
    int sev = tw_grade_severity(tw_grade_from_name(grade));

    if (sev == TW_GRADE_NONE)
        return "";
    return sev <= tw_grade_severity(TW_GRADE_A_MINUS) ? "g-good"
           : sev <= tw_grade_severity(TW_GRADE_C)     ? "g-mid"
                                                      : "g-bad";
}

/* A bar chart: n bars with labels (ours, never data) and counts. */
static void
html_bars(FILE *f, const char *title, const char *const *labels, const int64_t *vals, int n)
{
    int64_t max = 1;
    int bw = 44;
    int w = n * bw + 20;
    int h = 170;

    for (int i = 0; i < n; i++)
        if (vals[i] > max)
            max = vals[i];
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\">"
            "<title>%s</title>\n",
            w, h + 40, title);
    for (int i = 0; i < n; i++) {
        int bh = (int)(vals[i] * h / max);
        int x = 10 + i * bw;
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#4a7fb5\"/>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%" PRId64 "</text>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x + 4, 12 + h - bh, bw - 8, bh, x + bw / 2, 10 + h - bh, vals[i], x + bw / 2,
                h + 28, labels[i]);
    }
    fputs("</svg>\n", f);
}

static void
html_card(FILE *f, int64_t v, const char *what)
{
    fprintf(f, "<div class=\"card\"><b>%" PRId64 "</b>%s</div>\n", v, what);
}

/* A row of the "by class" table. */
static const struct tw_render_count_fmt html_counts = {"", "<tr><td>", "</td><td class=\"n\">",
                                                       "</td></tr>\n"};

/*
 * Issue 16, fix first: the ranked problems, each with its severity, count,
 * first endpoints, explanation, fix and reproduce command once.  Every
 * value is escaped; the markup is ours.
 */
static void
html_problems(struct tw_report *rp)
{
    const struct tw_problems *pb = &rp->sum->problems;
    size_t shown = tw_problems_shown(pb, rp->opts->problems_top);
    FILE *f = rp->out;

    fprintf(f,
            "<h2 id=\"problems\">Fix first: %zu problem%s on %" PRId64 " of %" PRId64
            " endpoints</h2>\n",
            pb->n, pb->n == 1 ? "" : "s", pb->n_endpoints, rp->sum->total);
    if (shown < pb->n)
        fprintf(f, "<p class=\"meta\">The first %zu; --top N shows more.</p>\n", shown);
    if (shown == 0)
        return;
    fputs("<ol class=\"problems\">\n", f);
    for (size_t i = 0; i < shown; i++) {
        const struct tw_problem *pr = pb->list[i];

        fprintf(f, "<li class=\"problem sev-%s\"><b>[%s]</b> ", tw_problem_severity_of(pr),
                tw_problem_severity_of(pr));
        tw_escape_html(f, pr->title);
        fprintf(f, " &middot; %" PRId64 " endpoint%s &middot; %s<br>on: ", pr->count,
                pr->count == 1 ? "" : "s", tw_problem_tier_text(pr->tier));
        for (size_t k = 0; k < pr->n_sample; k++) {
            fputs(k > 0 ? ", " : "", f);
            tw_render_endpoint(f, &pr->sample[k], tw_escape_html);
        }
        if (pr->count > (int64_t)pr->n_sample)
            fprintf(f, " and %" PRId64 " more", pr->count - (int64_t)pr->n_sample);
        tw_escape_wrapped(f, tw_escape_html, "<br>why: ", pr->why, "");
        tw_escape_wrapped(f, tw_escape_html, "<br>fix: ", pr->fix, "");
        tw_escape_wrapped(f, tw_escape_html, "<br>try: <code>", pr->try_cmd, "</code>");
        fputs("</li>\n", f);
    }
    fputs("</ol>\n", f);
}

static void
html_begin(struct tw_report *rp)
{
    const struct tw_scan_info *sc = rp->scan;
    const struct tw_summary *sum = rp->sum;
    const char *warn = tw_render_scan_warning(sc);
    static const char *const meta[] = {"</h1>\n<p class=\"meta\">started ", " &middot; finished ",
                                       " &middot; status <b>"};
    FILE *f = rp->out;
    uint8_t digest[32];
    char hash[64];
    char iso[21];
    const char *glabels[TW_GRADE_NONE + 1];
    int64_t gvals[TW_GRADE_NONE + 1];
    static const char *const elabels[14] = {"expired", "0-6",   "7-13",  "14-20", "21-27",
                                            "28-34",   "35-41", "42-48", "49-55", "56-62",
                                            "63-69",   "70-76", "77-83", "84-89"};
    int64_t evals[14] = {0};

    tw_sha256(html_script, strlen(html_script), digest);
    tw_base64(digest, sizeof(digest), hash, sizeof(hash));
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:; script-src 'sha256-%s'; base-uri 'none'; "
            "form-action 'none'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>tlsweep report: scan %" PRId64 "</title>\n<style>\n%s</style></head><body>\n",
            hash, sc->id, html_style);
    fprintf(f, "<h1>tlsweep report: scan %" PRId64, sc->id);
    tw_escape_wrapped(f, tw_escape_html, " &ldquo;", sc->label, "&rdquo;");
    tw_render_scan_times(f, tw_escape_html, sc, meta);
    tw_time_iso(sc->ref_time, iso);
    fprintf(f, "</b> &middot; %" PRId64 " results &middot; days to expiry counted from %s</p>\n",
            sc->n_results, iso);
    tw_escape_wrapped(f, tw_escape_html, "<p class=\"meta\">filter: --where <code>",
                      rp->opts->where, "</code></p>\n");
    if (rp->opts->has_expiring)
        fprintf(f, "<p class=\"meta\">filter: --expiring %" PRId64 "</p>\n",
                rp->opts->expiring_days);
    if (warn != NULL)
        fprintf(f, "<p class=\"warn\">%s</p>\n", warn);
    if (sc->is_fallback)
        fputs("<p class=\"warn\">No scan finished with status done: this is the newest "
              "interrupted scan.</p>\n",
              f);
    if (rp->opts->warnings != NULL)
        for (size_t i = 0; i < rp->opts->warnings->n; i++) {
            char text[512];

            tw_report_warning_text(&rp->opts->warnings->w[i], "report", NULL, text, sizeof(text));
            tw_escape_wrapped(f, tw_escape_html, "<p class=\"warn\">Warning: ", text, "</p>\n");
        }
    html_problems(rp);

    fputs("<div class=\"cards\">\n", f);
    html_card(f, sum->total, "endpoints");
    html_card(f, sum->n_failures, "failures");
    html_card(f, sum->n_issues, "certificate issues");
    html_card(f, sum->n_ok, "ok");
    html_card(f, sum->n_expired, "expired certificates");
    html_card(f, sum->n_exp7, "expire within 7 days");
    html_card(f, sum->n_exp30, "expire within 30 days");
    html_card(f, sum->n_legacy_tls, "on TLS 1.0/1.1");
    fputs("</div>\n<h2>Grade distribution</h2>\n", f);
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        glabels[i] = g == TW_GRADE_NONE ? "none" : tw_grade_name(g);
        gvals[i] = sum->by_grade[g];
    }
    html_bars(f, "Endpoints by grade", glabels, gvals, TW_GRADE_NONE + 1);
    evals[0] = sum->n_expired;
    for (int d = 0; d < TW_SUMMARY_DAYS; d++)
        evals[1 + d / 7] += sum->expiry_days[d];
    fputs("<h2>Certificate expiry, next 90 days (endpoints per week)</h2>\n", f);
    html_bars(f, "Endpoints by days to certificate expiry", elabels, evals, 14);

    fputs("<h2>Endpoints by class</h2>\n<table><thead><tr><th>class</th><th>endpoints</th>"
          "</tr></thead><tbody>\n",
          f);
    tw_render_class_counts(f, sum, &html_counts, 0);
    fputs("</tbody></table>\n", f);
    fprintf(f, "<h2>TLS 1.0/1.1 (%" PRId64 " endpoints)</h2>\n<ul>\n", sum->n_legacy_tls);
    for (size_t i = 0; i < sum->n_legacy; i++)
        tw_render_summary_line(f, tw_escape_html,
                               &(struct tw_escape_piece){"<li>", sum->legacy[i].tls_version}, 1,
                               &sum->legacy[i], " ", "</li>\n");
    fputs("</ul>\n<h2>Weakest grades</h2>\n<ul>\n", f);
    for (size_t i = 0; i < sum->n_weakest; i++) {
        const struct tw_escape_piece p[] = {
            {"", sum->weakest[i].grade},
            {"</span> ", sum->weakest[i].class_name},
        };

        fprintf(f, "<li><span class=\"%s\">", grade_class(sum->weakest[i].grade));
        tw_render_summary_line(f, tw_escape_html, p, 2, &sum->weakest[i], " ", "</li>\n");
    }
    fprintf(f,
            "</ul>\n<h2>Endpoints, worst first</h2>\n"
            "<p><input id=\"filter\" type=\"search\" placeholder=\"filter rows\" "
            "aria-label=\"filter rows\"> showing <span id=\"shown\">%" PRId64 "</span> of %" PRId64
            "; click a column heading to sort</p>\n"
            "<table id=\"endpoints\"><thead><tr><th>grade</th><th>class</th><th>TLS</th>"
            "<th>cipher</th><th>days</th><th>endpoint</th><th>details</th></tr></thead><tbody>\n",
            sum->total, sum->total);
}

static void
html_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;
    int is_ok = row->cls_known && row->cls == TW_CLASS_OK;
    int gr = tw_grade_severity(tw_grade_from_name(row->grade));
    const char *why;
    const char *fix;

    fprintf(f, "<tr class=\"ep\"><td data-k=\"%d\" class=\"%s\">", gr == TW_GRADE_NONE ? 99 : -gr,
            grade_class(row->grade));
    html_text(f, row->grade);
    fprintf(f, "</td><td data-k=\"%d\" class=\"%s\">", tw_class_rank(row->class_name),
            is_ok             ? ""
            : row->is_failure ? "fail"
                              : "iss");
    html_pieces(f,
                (const struct tw_escape_piece[]){
                    {"", row->class_name},
                    {"</td><td>", row->tls_version},
                    {"</td><td>", row->cipher},
                },
                3);
    if (row->has_expiry)
        fprintf(f, "</td><td class=\"n\" data-k=\"%" PRId64 "\">%" PRId64 "</td><td>",
                row->days_left, row->days_left);
    else
        fputs("</td><td class=\"n\" data-k=\"1e12\">-</td><td>", f);
    tw_render_endpoint(f, row, tw_escape_html);
    fputs("</td><td><details><summary>", f);
    html_text(f, is_ok ? "chain" : row->issues);
    fputs("</summary>\n", f);
    tw_escape_wrapped(f, tw_escape_html, "<p>Grade capped: ", row->grade_reasons_text, "</p>\n");
    tw_render_explain(row, &why, &fix);
    if (why != NULL) {
        tw_escape_wrapped(f, tw_escape_html, "<p>", why, "");
        tw_escape_wrapped(f, tw_escape_html, "<br>Fix: ", fix, "");
        tw_escape_wrapped(f, tw_escape_html, "<br>Reproduce: <code>", row->repro, "</code>");
        if (row->detail != NULL && row->detail[0] != '\0')
            tw_escape_wrapped(f, tw_escape_html, "<br>Detail: ", row->detail, "");
        fputs("</p>\n", f);
    }
    if (row->n_chain > 0) {
        fputs("<table><tr><th>#</th><th>subject</th><th>issuer</th><th>not after</th>"
              "<th>sha256</th></tr>\n",
              f);
        for (size_t i = 0; i < row->n_chain; i++) {
            const struct tw_chain_entry *e = &row->chain[i];
            const struct tw_escape_piece cells[] = {
                {"", e->subject},
                {"</td><td>", e->issuer},
                {"</td><td>", e->not_after},
                {"</td><td><code>", e->sha256},
            };

            fprintf(f, "<tr><td>%d</td><td>", e->depth);
            html_pieces(f, cells, 4);
            fputs("</code></td></tr>\n", f);
        }
        fputs("</table>\n", f);
    } else {
        fputs("<p>no certificate chain recorded</p>\n", f);
    }
    fputs("</details></td></tr>\n", f);
}

static void
html_end(struct tw_report *rp)
{
    fprintf(rp->out, "</tbody></table>\n<script>%s</script>\n</body></html>\n", html_script);
}

const struct tw_renderer tw_render_html = {
    "html",   "one self-contained HTML page (charts, sortable table, chains)",
    1,        html_begin,
    html_row, html_end,
};
