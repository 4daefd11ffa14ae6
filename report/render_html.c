/*
 * render_html.c - one self-contained HTML file (the dashboard): summary
 * cards, the ok/failing split, inline SVG charts (grade distribution,
 * certificate expiry over 90 days), the trend over the last scans (issue 16;
 * SVG bars drawn here, no charting library), a sortable endpoint table with
 * a text filter and per-column facets (class, grade, status, expiry,
 * issuer, protocol), issuer and SAN columns, per-endpoint details with the
 * chain.  Long strings wrap, so the page does not scroll sideways at 1,280
 * px even with every detail open.
 *
 * Safety: every database string goes through tw_escape_html() (& < > " '
 * as entities).  The page's one script is a constant: it reads only the
 * DOM (textContent and our numeric data-k attributes), never innerHTML.
 * The Content-Security-Policy allows exactly that script by its SHA-256
 * hash (computed here, so the output stays deterministic) and nothing
 * else: no inline event handlers, no other scripts, no network
 * (default-src 'none').  Escaping is the defence; the CSP is the backstop.
 *
 * The URL fragment sets the filter and the facets (#q=TEXT&grade=F&days=30,
 * keys as the selects' data-f), "open=1" opens every detail, and
 * probe=JSON (an array of such objects) applies each in turn and writes the
 * rows shown into body[data-probe] (the browser test's hook).  After the
 * script ran, body[data-overflow] is 1 when the page is wider than the
 * window.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/escape.h"
#include "report/problems.h"
#include "report/render.h"
#include "report/render_int.h"
#include "report/sha256.h"
#include "tls/grade.h"

static const char html_script[] =
    "(function(){\n"
    "var t=document.getElementById('endpoints');if(!t)return;\n"
    "var tb=t.tBodies[0],hs=t.tHead.rows[0].cells,dir={},rows=tb.rows;\n"
    "function key(r,i){var c=r.cells[i],k=c.getAttribute('data-k');\n"
    " return k!==null?parseFloat(k):c.textContent.toLowerCase();}\n"
    "function sortBy(i){var rs=Array.prototype.slice.call(rows);\n"
    " var d=dir[i]=dir[i]===1?-1:1;\n"
    " rs.sort(function(a,b){var x=key(a,i),y=key(b,i);return x<y?-d:x>y?d:0;});\n"
    " for(var j=0;j<rs.length;j++)tb.appendChild(rs[j]);}\n"
    "for(var i=0;i<hs.length;i++)hs[i].addEventListener('click',sortBy.bind(null,i));\n"
    "var f=document.getElementById('filter'),n=document.getElementById('shown');\n"
    "var fs=document.querySelectorAll('select[data-f]');\n"
    "for(i=0;i<fs.length;i++){var s=fs[i],a='data-'+s.getAttribute('data-f');\n"
    " if(s.getAttribute('data-fill')!=='1')continue;\n"
    " var seen=Object.create(null),vs=[];\n"
    " for(var j=0;j<rows.length;j++){var v=rows[j].getAttribute(a);\n"
    "  if(v!==null&&v!==''&&!(v in seen)){seen[v]=1;vs.push(v);}}\n"
    " vs.sort();for(j=0;j<vs.length;j++)s.add(new Option(vs[j],vs[j]));}\n"
    "function apply(){var q=f.value.toLowerCase(),c=0,w=[];\n"
    " for(var k=0;k<fs.length;k++)if(fs[k].value!=='')w.push(fs[k]);\n"
    " for(var j=0;j<rows.length;j++){var r=rows[j];\n"
    "  var h=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;\n"
    "  for(k=0;!h&&k<w.length;k++){var a=w[k].getAttribute('data-f'),v=r.getAttribute('data-'+a);\n"
    "   h=a==='days'?v===null||parseFloat(v)>=parseFloat(w[k].value):v!==w[k].value;}\n"
    "  r.hidden=h;if(!h)c++;}\n"
    " n.textContent=String(c);}\n"
    "f.addEventListener('input',apply);\n"
    "for(i=0;i<fs.length;i++)fs[i].addEventListener('change',apply);\n"
    "function setAll(o){f.value=typeof o.q==='string'?o.q:'';\n"
    " for(var j=0;j<fs.length;j++){var k=fs[j].getAttribute('data-f');\n"
    "  fs[j].value=Object.prototype.hasOwnProperty.call(o,k)?String(o[k]):'';}}\n"
    "var ps=location.hash.slice(1).split('&'),hv=Object.create(null),probes=null;\n"
    "for(i=0;i<ps.length;i++){var e=ps[i].indexOf('=');if(e<1)continue;\n"
    " var pk=decodeURIComponent(ps[i].slice(0,e)),pv=decodeURIComponent(ps[i].slice(e+1));\n"
    " if(pk==='open'){var ds=document.querySelectorAll('details');\n"
    "  for(j=0;j<ds.length;j++)ds[j].open=true;}\n"
    " else if(pk==='probe'){try{probes=JSON.parse(pv);}catch(x){probes=null;}}\n"
    " else hv[pk]=pv;}\n"
    "if(Array.isArray(probes)){var got=[];\n"
    " for(i=0;i<probes.length;i++){setAll(probes[i]&&typeof probes[i]==='object'?probes[i]:{});\n"
    "  apply();got.push(n.textContent);}\n"
    " document.body.setAttribute('data-probe',got.join(' '));}\n"
    "setAll(hv);apply();\n"
    "var de=document.documentElement;\n"
    "document.body.setAttribute('data-width',de.scrollWidth+' '+de.clientWidth);\n"
    "document.body.setAttribute('data-overflow',de.scrollWidth>de.clientWidth?'1':'0');\n"
    "t.setAttribute('data-ready','1');\n"
    "})();\n";

/* Shared with the diff's HTML (render_int.h), so both look alike. */
const char tw_render_html_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\n"
    "h1,h2,p,li,summary{overflow-wrap:anywhere}\n"
    ".meta{color:#555}.warn{background:#b00;color:#fff;padding:.6em;font-weight:bold}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px solid #ccc;border-radius:6px;"
    "padding:.6em 1em;min-width:8em}.card b{display:block;font-size:1.6em}\n"
    ".card.c-fail b{color:#c00}.card.c-iss b{color:#a60}.card.c-ok b{color:#1a7f37}\n"
    "table{border-collapse:collapse;max-width:100%}td,th{border:1px solid #ddd;padding:.25em .5em;"
    "text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f4f4f4}\n"
    "#endpoints{width:100%;table-layout:fixed}#endpoints>thead th{cursor:pointer}\n"
    ".c-g{width:4.8em}.c-d{width:4em}.c-c{width:11em}.c-t{width:4.8em}.c-ci{width:10%}"
    ".c-e{width:13%}.c-i{width:9%}.c-s{width:10%}\n"
    "td.n{text-align:right}.fail{color:#c00;font-weight:bold}.iss{color:#a60}.okc{color:#1a7f37}\n"
    ".g{display:inline-block;min-width:1.8em;text-align:center;border-radius:3px;"
    "font-weight:bold;color:#fff;background:#888}\n"
    ".g-ap{background:#116329}.g-a{background:#1a7f37}.g-am{background:#4c9a2a}"
    ".g-b{background:#8a8a00}.g-c{background:#c98a00}.g-d{background:#d86613}"
    ".g-e{background:#c4420f}.g-f{background:#c00}.g-t{background:#6f42c1}"
    ".g-m{background:#0969da}\n"
    ".facets{display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center;margin:.5em 0}\n"
    ".facets select{max-width:16em}.scroll{overflow-x:auto;max-width:100%}\n"
    "details table{width:100%}\n"
    ".reg{background:#fdecec}.badge{background:#c00;color:#fff;border-radius:3px;"
    "padding:0 .3em;font-weight:bold}\n"
    "code{background:#f4f4f4;word-break:break-all}svg{max-width:100%;height:auto}"
    "svg text{font:11px sans-serif}\n";

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

/* The CSS class and the SVG fill of each grade, indexed by enum
 * tw_grade_letter: A+ to A- green, B to E yellow to orange, F red, T
 * (trust) purple, M (name mismatch) blue, not graded grey. */
static const char *const grade_css[TW_GRADE_NONE + 1] = {
    "g g-ap", "g g-a", "g g-am", "g g-b", "g g-c", "g g-d", "g g-e", "g g-f", "g g-t", "g g-m", "g",
};
static const char *const grade_fill[TW_GRADE_NONE + 1] = {
    "#116329", "#1a7f37", "#4c9a2a", "#8a8a00", "#c98a00", "#d86613",
    "#c4420f", "#cc0000", "#6f42c1", "#0969da", "#888888",
};

const char *
tw_render_html_grade_class(const char *grade)
{
    return grade_css[tw_grade_from_name(grade)];
}

/* The grade as a coloured badge ("-" when not graded). */
static void
html_grade(FILE *f, const char *grade)
{
    fprintf(f, "<span class=\"%s\">", tw_render_html_grade_class(grade));
    html_text(f, grade);
    fputs("</span>", f);
}

/* A bar chart: n bars with labels (ours, never data), counts and fills
 * (NULL: all blue). */
static void
html_bars(FILE *f, const char *title, const char *const *labels, const int64_t *vals,
          const char *const *fills, int n)
{
    int64_t max = 1;
    int bw = 44;
    int w = n * bw + 20;
    int h = 170;

    for (int i = 0; i < n; i++)
        if (vals[i] > max)
            max = vals[i];
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\"><title>%s</title>\n",
            w, h + 40, w, h + 40, title);
    for (int i = 0; i < n; i++) {
        int bh = (int)(vals[i] * h / max);
        int x = 10 + i * bw;
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%" PRId64 "</text>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x + 4, 12 + h - bh, bw - 8, bh, fills != NULL ? fills[i] : "#4a7fb5", x + bw / 2,
                10 + h - bh, vals[i], x + bw / 2, h + 28, labels[i]);
    }
    fputs("</svg>\n", f);
}

/* The ok / certificate issues / failing split of the endpoints as one
 * full-width bar with its counts. */
static void
html_split(FILE *f, const struct tw_summary *sum)
{
    const int64_t v[3] = {sum->n_failures, sum->n_issues, sum->n_ok};
    static const char *const fill[3] = {"#cc0000", "#c98a00", "#1a7f37"};
    int64_t total = v[0] + v[1] + v[2];
    int64_t x = 0;

    fprintf(f,
            "<p><span class=\"fail\">%" PRId64 " failing</span> &middot; <span class=\"iss\">"
            "%" PRId64 " with certificate issues</span> &middot; <span class=\"okc\">%" PRId64
            " ok</span></p>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
            "id=\"split\" width=\"1000\" height=\"18\" viewBox=\"0 0 1000 18\" "
            "preserveAspectRatio=\"none\"><title>failing, issues, ok</title>",
            v[0], v[1], v[2]);
    for (int i = 0; i < 3 && total > 0; i++) {
        int64_t w = v[i] * 1000 / total;

        if (i == 2)
            w = 1000 - x;
        fprintf(f,
                "<rect x=\"%" PRId64 "\" y=\"0\" width=\"%" PRId64 "\" height=\"18\" "
                "fill=\"%s\"/>",
                x, w, fill[i]);
        x += w;
    }
    fputs("</svg>\n", f);
}

/* One stacked bar per trend point: the n values of each point (bottom
 * first) in fills[]; the point is a <g class="tp"> with its scan id. */
static void
html_trend_bars(FILE *f, const char *id, const char *title, const struct tw_report_trend *t,
                int64_t (*vals)[3], const char *const fills[3], const char *const names[3])
{
    int64_t max = 1;
    int bw = 36;
    int h = 120;
    int w = (int)t->n * bw + 20;

    for (size_t i = 0; i < t->n; i++)
        if (vals[i][0] + vals[i][1] + vals[i][2] > max)
            max = vals[i][0] + vals[i][1] + vals[i][2];
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" id=\"%s\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\"><title>%s</title>\n",
            id, w, h + 40, w, h + 40, title);
    for (size_t i = 0; i < t->n; i++) {
        int x = 10 + (int)i * bw;
        int y = 12 + h;

        fprintf(f, "<g class=\"tp\" data-scan=\"%" PRId64 "\"><title>scan %" PRId64,
                t->p[i].scan_id, t->p[i].scan_id);
        for (int k = 0; k < 3; k++)
            if (names[k][0] != '\0')
                fprintf(f, ", %" PRId64 " %s", vals[i][k], names[k]);
        fputs("</title>", f);
        for (int k = 0; k < 3; k++) {
            int bh = (int)(vals[i][k] * h / max);

            y -= bh;
            if (bh > 0)
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
                        x + 4, y, bw - 8, bh, fills[k]);
        }
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%" PRId64 "</text>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">#%" PRId64 "</text></g>\n",
                x + bw / 2, y - 2, vals[i][0] + vals[i][1] + vals[i][2], x + bw / 2, h + 28,
                t->p[i].scan_id);
    }
    fputs("</svg>\n", f);
}

/* A table of counts over the trend's scans: one row per name with any
 * count. */
static void
html_trend_row(FILE *f, const struct tw_report_trend *t, const char *name, const char *cls,
               size_t off)
{
    int64_t any = 0;

    for (size_t i = 0; i < t->n; i++)
        any += *(const int64_t *)((const char *)&t->p[i] + off);
    if (any == 0)
        return;
    fprintf(f, "<tr><th><span class=\"%s\">%s</span></th>", cls, name);
    for (size_t i = 0; i < t->n; i++)
        fprintf(f, "<td class=\"n\">%" PRId64 "</td>",
                *(const int64_t *)((const char *)&t->p[i] + off));
    fputs("</tr>\n", f);
}

/* Issue 16: the trend panel over the last scans (report --trend N). */
static void
html_trend(FILE *f, const struct tw_report_trend *t)
{
    static const char *const sfill[3] = {"#1a7f37", "#c98a00", "#cc0000"};
    static const char *const snames[3] = {"ok", "with certificate issues", "failing"};
    static const char *const efill[3] = {"#cc0000", "#c98a00", "#cc0000"};
    static const char *const enames[3] = {"expired", "expiring within 30 days", ""};
    int64_t(*v)[3] = NULL;

    if (t == NULL || t->n == 0)
        return;
    v = tw_xcalloc(t->n, sizeof(*v));
    fprintf(f, "<h2>Trend over the last %zu scans</h2>\n<div class=\"cards\">\n<div>", t->n);
    for (size_t i = 0; i < t->n; i++) {
        v[i][0] = t->p[i].n_ok;
        v[i][1] = t->p[i].n_issues;
        v[i][2] = t->p[i].n_failures;
    }
    html_trend_bars(f, "trend-status", "Endpoints per scan: ok, certificate issues, failing", t, v,
                    sfill, snames);
    fputs("</div><div>", f);
    for (size_t i = 0; i < t->n; i++) {
        v[i][0] = t->p[i].n_expired;
        v[i][1] = t->p[i].n_exp30;
        v[i][2] = 0;
    }
    html_trend_bars(f, "trend-expiry", "Leaf certificates expired or expiring within 30 days", t, v,
                    efill, enames);
    free(v);
    fputs("</div></div>\n<h3>Failures by class, grades (per scan)</h3>\n<div class=\"scroll\">"
          "<table id=\"trend-table\"><thead><tr><th>scan</th>",
          f);
    for (size_t i = 0; i < t->n; i++)
        fprintf(f, "<th>#%" PRId64 "</th>", t->p[i].scan_id);
    fputs("</tr></thead><tbody>\n", f);
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (tw_class_info((enum tw_class)c)->is_failure)
            html_trend_row(f, t, tw_class_name((enum tw_class)c), "fail",
                           offsetof(struct tw_report_trend_point, by_class) +
                               (size_t)c * sizeof(int64_t));
    html_trend_row(f, t, "unknown class", "fail",
                   offsetof(struct tw_report_trend_point, n_unknown_class));
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        html_trend_row(f, t, g == TW_GRADE_NONE ? "not graded" : tw_grade_name(g), grade_css[g],
                       offsetof(struct tw_report_trend_point, by_grade) +
                           (size_t)g * sizeof(int64_t));
    }
    fputs("</tbody></table></div>\n", f);
}

static void
html_card(FILE *f, int64_t v, const char *what, const char *cls)
{
    fprintf(f, "<div class=\"card%s\"><b>%" PRId64 "</b>%s</div>\n", cls, v, what);
}

/* A row of the "by class" table. */
static const struct tw_render_count_fmt html_counts = {"", "<tr><td>", "</td><td class=\"n\">",
                                                       "</td></tr>\n"};

/* The endpoint table's heading, text filter and facets.  Class, grade and
 * status options are ours (from the summary); the script fills issuer and
 * protocol from the rows' data attributes. */
static void
html_facets(FILE *f, const struct tw_summary *sum)
{
    fprintf(f, "<h2>Endpoints, worst first</h2>\n<div class=\"facets\">"
               "<input id=\"filter\" type=\"search\" placeholder=\"filter rows\" "
               "aria-label=\"filter rows\">\n<label>status <select data-f=\"status\">"
               "<option value=\"\">all</option><option value=\"failing\">failing</option>"
               "<option value=\"issue\">certificate issues</option><option value=\"ok\">ok"
               "</option></select></label>\n<label>class <select data-f=\"class\">"
               "<option value=\"\">all</option>");
    for (int c = 0; c < TW_CLASS__COUNT; c++)
        if (sum->by_class[c] > 0)
            fprintf(f, "<option>%s</option>", tw_class_name((enum tw_class)c));
    fputs("</select></label>\n<label>grade <select data-f=\"grade\"><option value=\"\">all"
          "</option>",
          f);
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        if (sum->by_grade[g] > 0)
            fprintf(f, "<option value=\"%s\">%s</option>",
                    g == TW_GRADE_NONE ? "none" : tw_grade_name(g),
                    g == TW_GRADE_NONE ? "not graded" : tw_grade_name(g));
    }
    fprintf(f,
            "</select></label>\n<label>expires within <select data-f=\"days\">"
            "<option value=\"\">any time</option><option value=\"0\">expired</option>"
            "<option value=\"7\">7 days</option><option value=\"14\">14 days</option>"
            "<option value=\"30\">30 days</option><option value=\"90\">90 days</option>"
            "</select></label>\n<label>issuer <select data-f=\"issuer\" data-fill=\"1\">"
            "<option value=\"\">all</option></select></label>\n<label>protocol "
            "<select data-f=\"tls\" data-fill=\"1\"><option value=\"\">all</option></select>"
            "</label>\n<span>showing <span id=\"shown\">%" PRId64 "</span> of %" PRId64
            "; click a column heading to sort</span></div>\n"
            "<table id=\"endpoints\"><colgroup><col class=\"c-g\"><col class=\"c-c\">"
            "<col class=\"c-t\"><col class=\"c-ci\"><col class=\"c-d\"><col class=\"c-e\">"
            "<col class=\"c-i\"><col "
            "class=\"c-s\"><col></colgroup><thead><tr><th>grade</th><th>class</th><th>TLS</th>"
            "<th>cipher</th><th>days</th><th>endpoint</th><th>issuer</th><th>SANs</th>"
            "<th>details</th></tr></thead><tbody>\n",
            sum->total, sum->total);
}

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
    const char *gfills[TW_GRADE_NONE + 1];
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
            hash, sc->id, tw_render_html_style);
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
    html_card(f, sum->total, "endpoints", "");
    html_card(f, sum->n_failures, "failures", " c-fail");
    html_card(f, sum->n_issues, "certificate issues", " c-iss");
    html_card(f, sum->n_ok, "ok", " c-ok");
    html_card(f, sum->n_expired, "expired certificates", sum->n_expired ? " c-fail" : "");
    html_card(f, sum->n_exp7, "expire within 7 days", sum->n_exp7 ? " c-fail" : "");
    html_card(f, sum->n_exp30, "expire within 30 days", sum->n_exp30 ? " c-iss" : "");
    html_card(f, sum->n_legacy_tls, "accept legacy TLS", sum->n_legacy_tls ? " c-iss" : "");
    fputs("</div>\n", f);
    html_split(f, sum);
    html_trend(f, rp->opts->trend);
    fputs("<h2>Grade distribution</h2>\n", f);
    for (int i = 0; i <= TW_GRADE_NONE; i++) {
        enum tw_grade_letter g = tw_grade_by_severity[i];

        glabels[i] = g == TW_GRADE_NONE ? "none" : tw_grade_name(g);
        gvals[i] = sum->by_grade[g];
        gfills[i] = grade_fill[g];
    }
    html_bars(f, "Endpoints by grade", glabels, gvals, gfills, TW_GRADE_NONE + 1);
    evals[0] = sum->n_expired;
    for (int d = 0; d < TW_SUMMARY_DAYS; d++)
        evals[1 + d / 7] += sum->expiry_days[d];
    fputs("<h2>Certificate expiry, next 90 days (endpoints per week)</h2>\n", f);
    html_bars(f, "Endpoints by days to certificate expiry", elabels, evals, NULL, 14);

    fputs("<h2>Endpoints by class</h2>\n<table><thead><tr><th>class</th><th>endpoints</th>"
          "</tr></thead><tbody>\n",
          f);
    tw_render_class_counts(f, sum, &html_counts, 0);
    fputs("</tbody></table>\n", f);
    fprintf(f,
            "<h2>Legacy TLS accepted: SSLv2, SSLv3, TLS 1.0 or 1.1 (%" PRId64
            " endpoints)</h2>\n<ul>\n",
            sum->n_legacy_tls);
    for (size_t i = 0; i < sum->n_legacy; i++) {
        /* What it accepts, then what it negotiated (issue 16). */
        const struct tw_escape_piece p[] = {{"<li>", sum->legacy_accepted[i]},
                                            {" (negotiates ", sum->legacy[i].tls_version}};

        tw_render_summary_line(f, tw_escape_html, p, 2, &sum->legacy[i], ") ", "</li>\n");
    }
    fputs("</ul>\n<h2>Weakest grades</h2>\n<ul>\n", f);
    for (size_t i = 0; i < sum->n_weakest; i++) {
        const struct tw_escape_piece p[] = {
            {"", sum->weakest[i].grade},
            {"</span> ", sum->weakest[i].class_name},
        };

        fprintf(f, "<li><span class=\"%s\">", tw_render_html_grade_class(sum->weakest[i].grade));
        tw_render_summary_line(f, tw_escape_html, p, 2, &sum->weakest[i], " ", "</li>\n");
    }
    fputs("</ul>\n", f);
    html_facets(f, sum);
}

/* Issue 13: "<p>Mozilla: old fails a, b; ...</p>" when a judged profile fails. */
static void
html_mozilla(FILE *f, const char *comp)
{
    if (tw_render_mozilla_fails(comp) == 0)
        return;
    fputs("<p>Mozilla: ", f);
    tw_render_mozilla_line(f, tw_escape_html, comp);
    fputs("</p>\n", f);
}

static void
html_row(struct tw_report *rp, const struct tw_report_row *row)
{
    FILE *f = rp->out;
    int is_ok = row->cls_known && row->cls == TW_CLASS_OK;
    int gr = tw_grade_severity(tw_grade_from_name(row->grade));
    const char *san = tw_render_leaf_san(row);
    const char *why;
    const char *fix;

    /* The facets' keys (data-*): every value escaped. */
    fprintf(f, "<tr class=\"ep\" data-status=\"%s\"",
            is_ok             ? "ok"
            : row->is_failure ? "failing"
                              : "issue");
    tw_escape_wrapped(f, tw_escape_html, " data-class=\"", row->class_name, "\"");
    fputs(" data-grade=\"", f);
    if (row->grade != NULL && row->grade[0] != '\0')
        tw_escape_html(f, row->grade);
    else
        fputs("none", f);
    fputc('"', f);
    tw_escape_wrapped(f, tw_escape_html, " data-tls=\"", row->tls_version, "\"");
    tw_escape_wrapped(f, tw_escape_html, " data-issuer=\"", row->leaf_issuer, "\"");
    if (row->has_expiry)
        fprintf(f, " data-days=\"%" PRId64 "\"", row->days_left);
    fprintf(f, "><td data-k=\"%d\">", gr == TW_GRADE_NONE ? 99 : -gr);
    html_grade(f, row->grade);
    fprintf(f, "</td><td data-k=\"%d\" class=\"%s\">", tw_class_rank(row->class_name),
            is_ok             ? "okc"
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
    fputs("</td><td>", f);
    html_text(f, row->leaf_issuer);
    fputs("</td><td>", f);
    if (tw_render_sans(f, tw_escape_html, san, 2) == 0)
        fputc('-', f);
    fputs("</td><td><details><summary>", f);
    html_text(f, is_ok ? "chain" : row->issues);
    fputs("</summary>\n", f);
    tw_escape_wrapped(f, tw_escape_html, "<p>Grade capped: ", row->grade_reasons_text, "</p>\n");
    html_mozilla(f, row->compliance);
    if (san != NULL && strchr(san, ',') != NULL) {
        fputs("<p>SANs: ", f);
        tw_render_sans(f, tw_escape_html, san, SIZE_MAX);
        fputs("</p>\n", f);
    }
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
