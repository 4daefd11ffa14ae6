#!/usr/bin/env bash
# The HTML report in headless Chromium: data never runs as script (the
# hostile certificate fields set document.title to 'pwned' if they do), the
# hostile text shows as text, the table has one row per endpoint, the one
# inline script does run (the CSP hash is right) and its filter works.
# Issue 16 (the dashboard): the facets (URL fragment #grade=F&days=30...)
# filter rows, the trend has one point per scan (and --trend N bounds it),
# SANs are truncated with a count, nothing scrolls sideways at 1,280 or
# 1,920 px with every detail open (the script writes scrollWidth >
# clientWidth into body[data-overflow]), screenshots at both widths; the
# diff's HTML page shows hostile values as text.
# Without Chromium: FAIL when CI=true, otherwise skip (exit 77).
. "$(dirname "$0")/common.sh"
. "$SRCDIR/tests/golden/fixture.sh"

CHROMIUM=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$(command -v "$c"); break; fi
done
if [ -z "$CHROMIUM" ]; then
    if [ "${CI:-}" = true ]; then
        fail "chromium is not installed (apt-get install -y chromium)"
    fi
    echo "SKIP: chromium is not installed"
    exit 77
fi

DB="$TMP/fx.db"
tw_fixture_db "$DB" || fail "cannot build the fixture database"
# One more endpoint whose SNI, detail and cipher carry the payloads too.
sqlite3 "$DB" "INSERT INTO results(scan_id, host, ip, port, sni, class, issues, tls_version, cipher, grade, detail)
  VALUES (2, 'x.example', '10.0.0.99', 443, '<img src=x onerror=\"document.title=''pwned''\">', 'tls_alert', 'tls_alert',
          NULL, '<script>document.title=''pwned''</script>', NULL, '\"><svg onload=\"document.title=''pwned''\">')"
# Issue 16: an earlier done scan (a third trend point), a leaf with 14 SANs
# (one of them markup) and a long unbreakable host and detail that must wrap.
long=$(printf 'a%.0s' $(seq 1 300))
sqlite3 "$DB" "INSERT INTO scans(id, label, started_at, finished_at, status) VALUES (5, 'older', '2025-12-20T00:00:00Z', '2025-12-20T00:01:00Z', 'done');
  INSERT INTO results(scan_id, host, ip, port, sni, class, issues, grade) VALUES (5, 'good.example', '10.0.0.1', 443, 'good.example', 'tcp_timeout', 'tcp_timeout', NULL);
  INSERT INTO certs(sha256, subject, issuer, not_before, not_after, san) VALUES ('aa09', 'CN=s0.example', 'CN=Other CA', '2025-01-01T00:00:00Z', '2026-03-01T00:00:00Z',
    'DNS:s0.example,DNS:s1.example,DNS:s2.example,DNS:s3.example,DNS:s4.example,DNS:s5.example,DNS:s6.example,DNS:s7.example,DNS:s8.example,DNS:s9.example,DNS:s10.example,DNS:s11.example,IP:10.0.0.98,DNS:<b>bold</b>');
  INSERT INTO results(id, scan_id, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail)
    VALUES (299, 2, '$long.example', '10.0.0.98', 443, NULL, 'hostname_mismatch', 'hostname_mismatch', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'M', 'aa09', 'x$long$long');
  INSERT INTO result_chain(result_id, depth, cert_sha256) VALUES (299, 0, 'aa09');"
"$TLSWEEP" report --db "$DB" --format html -o "$TMP/report.html" || fail "report --format html failed"
n_rows=$(sqlite3 "$DB" "SELECT count(*) FROM results WHERE scan_id = 2")

chrome() { # OUTFILE URL [ARGS...]
    local out=$1 url=$2; shift 2
    local profile
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        "$@" "$url" >"$out" 2>"$TMP/chromium.err" || { tail -5 "$TMP/chromium.err" >&2; fail "chromium failed"; }
}

# One load does most of the work (Chromium starts slowly): every detail
# open, the facet probes (below) in the script's test hook, the DOM after
# the script ran and a screenshot at 1,280 px.
sql_count() { sqlite3 "$DB" "SELECT count(*) FROM results AS r LEFT JOIN certs AS c ON c.sha256 = r.cert_sha256 WHERE r.scan_id = 2 AND ($1)"; }
PROBES='[{"q":"evil.example"},{"grade":"F"},{"days":"30"},{"issuer":"CN=Test Intermediate","tls":"TLSv1.3","class":"ok"},{"status":"failing"},{"grade":"F","q":"nomatch"}]'
want_probes="$(sql_count "r.host LIKE '%evil.example%' OR r.sni LIKE '%evil.example%' OR r.target LIKE '%evil.example%'") \
$(sql_count "r.grade = 'F'") \
$(sql_count "CAST(strftime('%s', c.not_after) AS INTEGER) < CAST(strftime('%s', '2026-01-10T00:00:00Z') AS INTEGER) + 30 * 86400") \
$(sql_count "c.issuer = 'CN=Test Intermediate' AND r.tls_version = 'TLSv1.3' AND r.class = 'ok'") \
$(sql_count "r.class IN ('dns_nxdomain', 'tcp_refused', 'sni_required', 'tls_alert')") 0"
FRAG="open=1&probe=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PROBES")"
SHOT1280="${BUILDDIR:-$TMP}/report_html_1280.png"
chrome "$TMP/dom.html" "file://$TMP/report.html#$FRAG" --dump-dom --window-size=1280,2400 --screenshot="$SHOT1280"
[ -s "$TMP/dom.html" ] || fail "chromium dumped no DOM"
title=$(python3 -c 'import re,sys; print(re.search(r"<title>(.*?)</title>", open(sys.argv[1]).read()).group(1))' "$TMP/dom.html")
assert_eq "tlsweep report: scan 2" "$title" "document.title untouched: no script from data ran"
if grep -q "pwned</title>" "$TMP/dom.html"; then fail "a payload changed a title"; fi
grep -q 'data-ready="1"' "$TMP/dom.html" || fail "the report's own script did not run (CSP hash?)"
pass "the inline script ran under the CSP"
assert_eq "$n_rows" "$(grep -o '<tr class="ep"' "$TMP/dom.html" | wc -l | tr -d ' ')" "one table row per endpoint"
grep -qF "&lt;script&gt;document.title='pwned'&lt;/script&gt;" "$TMP/dom.html" || fail "script payload not shown as text"
grep -qF "&lt;img src=x onerror=\"document.title='pwned'\"&gt;" "$TMP/dom.html" || fail "img payload not shown as text"
pass "payloads are shown as text"
python3 - "$TMP/dom.html" <<'PY' || fail "payload became an element"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    bad = []
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append((tag, k))
        if tag in ("img", "iframe", "object", "embed") or (tag == "svg" and ("role", "img") not in attrs):
            self.bad.append((tag, None))
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
assert not p.bad, p.bad
scripts = open(sys.argv[1], encoding="utf-8").read().count("<script")
assert scripts == 1, scripts
PY
pass "no element or event handler came from data"

# Rows shown and hidden (the script sets the hidden attribute): "SHOWN HIDDEN".
rows_shown() {
    python3 - "$1" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    shown = hidden = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "ep":
            if "hidden" in a:
                self.hidden += 1
            else:
                self.shown += 1
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
print(p.shown, p.hidden)
PY
}

# The filter (driven by the URL fragment) hides the other rows.
chrome "$TMP/dom2.html" "file://$TMP/report.html#q=evil.example&grade=F" --dump-dom
assert_eq "1 $((n_rows - 1))" "$(rows_shown "$TMP/dom2.html")" "filter and grade facet keep the matching row, hide the others"

# ---- issue 16: the dashboard ----
# The trend: one point per scan in both charts, oldest first (scans 5, 1, 2;
# the interrupted scan 3, newer than the scan shown, is left out).
points() { # FILE SVG-ID
    python3 - "$1" "$2" <<'PY'
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
svg = re.search(r'<svg[^>]*id="%s".*?</svg>' % sys.argv[2], h, re.S).group(0)
print(" ".join(re.findall(r'<g class="tp" data-scan="(\d+)"', svg)))
PY
}
assert_eq "5 1 2" "$(points "$TMP/dom.html" trend-status)" "trend (status): one point per scan, oldest first"
assert_eq "5 1 2" "$(points "$TMP/dom.html" trend-expiry)" "trend (expiry): one point per scan"
"$TLSWEEP" report --db "$DB" --format html --trend 2 -o "$TMP/trend2.html" || fail "--trend 2 failed"
assert_eq "1 2" "$(points "$TMP/trend2.html" trend-status)" "--trend 2: the last two scans"
"$TLSWEEP" report --db "$DB" --format html --trend 0 -o "$TMP/trend0.html" || fail "--trend 0 failed"
if grep -q 'class="tp"' "$TMP/trend0.html"; then fail "--trend 0 still draws a trend"; fi
expect_rc 2 "$TLSWEEP" report --db "$DB" --format html --trend 101
grep -q "^tlsweep report: --trend:" "$TMP/err" || fail "no message for --trend 101"
pass "--trend bounds the panel"

# SANs: the first two names, then the count of the others; the markup in
# one of them stays text.
grep -qF '<td>s0.example, s1.example +12</td>' "$TMP/dom.html" || fail "SANs not truncated with a count"
grep -qF 'IP:10.0.0.98, &lt;b&gt;bold&lt;/b&gt;</p>' "$TMP/dom.html" || fail "SAN list in the details not escaped"
pass "SAN column truncated with a count, the full list escaped in the details"

# Facets: each probe (text filter, grade, expires within 30 days, issuer
# with protocol and class, status, a facet with a filter that matches
# nothing) keeps exactly the rows the database says; afterwards every row
# shows again.
for n in $want_probes; do
    [ "$n" -lt "$n_rows" ] || fail "a probe keeps all $n_rows rows: not a filter test"
done
assert_eq "$(echo $want_probes)" "$(grep -o 'data-probe="[0-9 ]*"' "$TMP/dom.html" | sed 's/data-probe="//; s/"//')" \
    "facets: text, grade, expiry, issuer+protocol+class, status (the ok/failing split)"
assert_eq "$n_rows 0" "$(rows_shown "$TMP/dom.html")" "after the probes every row shows"

# No horizontal overflow with every detail open, at 1,280 and 1,920 px; a
# screenshot of each.
grep -Eq '<body [^>]*data-overflow="0"' "$TMP/dom.html" \
    || fail "the page overflows at 1280 px: $(grep -o '<body[^>]*>' "$TMP/dom.html")"
grep -q '<details open=""' "$TMP/dom.html" || fail "#open=1 did not open the details"
pass "no horizontal overflow at 1280 px with every detail open"
SHOT1920="${BUILDDIR:-$TMP}/report_html_1920.png"
chrome "$TMP/open1920.html" "file://$TMP/report.html#open=1" --dump-dom --window-size=1920,2400 --screenshot="$SHOT1920"
grep -Eq '<body [^>]*data-overflow="0"' "$TMP/open1920.html" \
    || fail "the page overflows at 1920 px: $(grep -o '<body[^>]*>' "$TMP/open1920.html")"
pass "no horizontal overflow at 1920 px with every detail open"
for shot in "$SHOT1280" "$SHOT1920"; do
    [ -s "$shot" ] || fail "no screenshot written: $shot"
    echo "screenshot: $shot"
done
pass "screenshots taken at 1280 and 1920 px"

# The diff's HTML page: hostile values as text, no script at all.
"$TLSWEEP" diff --db "$DB" 1 2 --format html -o "$TMP/diff.html" || fail "diff --format html failed"
if grep -q "<script" "$TMP/diff.html"; then fail "the diff page has a script"; fi
grep -qF 'after &lt;b&gt;&quot;change&quot;&lt;/b&gt;' "$TMP/diff.html" || fail "hostile scan label not shown as text in the diff"
grep -qF '<tr class="reg"><td>refused.example:443 (10.0.0.2)</td>' "$TMP/diff.html" || fail "no regression row in the diff page"
pass "diff --format html: hostile values as text, regressions marked"
