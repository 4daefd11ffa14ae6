#!/usr/bin/env bash
# The HTML report in headless Chromium: data never runs as script (the
# hostile certificate fields set document.title to 'pwned' if they do), the
# hostile text shows as text, the table has one row per endpoint, the one
# inline script does run (the CSP hash is right) and its filter works.
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

chrome "$TMP/dom.html" "file://$TMP/report.html" --dump-dom
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

# The filter (driven by the URL fragment) hides the other rows.
chrome "$TMP/dom2.html" "file://$TMP/report.html#q=evil.example" --dump-dom
assert_eq 1 "$(grep -o '<tr class="ep">' "$TMP/dom2.html" | wc -l | tr -d ' ')" "filter keeps the matching row"
assert_eq $((n_rows - 1)) "$(grep -o '<tr class="ep" hidden="">' "$TMP/dom2.html" | wc -l | tr -d ' ')" "filter hides the others"

SHOT="${BUILDDIR:-$TMP}/report_html.png"
chrome /dev/null "file://$TMP/report.html" --screenshot="$SHOT" --window-size=1280,2000
[ -s "$SHOT" ] || fail "no screenshot written"
echo "screenshot: $SHOT"
pass "screenshot taken"
