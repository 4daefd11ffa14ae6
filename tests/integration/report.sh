#!/usr/bin/env bash
# `tlsweep report`: golden output for every format on a fixed database with
# hostile values, format validity (jq + json_valid, python csv, promtool or
# a strict exposition parser), terminal safety, filters, exit codes, the
# read-only guarantees, and that a report never waits for a running writer.
# UPDATE_GOLDEN=1 rewrites tests/golden/report.* from the current output.
. "$(dirname "$0")/common.sh"
. "$SRCDIR/tests/golden/fixture.sh"

DB="$TMP/fx.db"
tw_fixture_db "$DB" || fail "cannot build the fixture database"
GOLDEN="$SRCDIR/tests/golden"


golden() { # NAME FILE
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$2" "$GOLDEN/$1"
        echo "updated $GOLDEN/$1"
    fi
    cmp -s "$GOLDEN/$1" "$2" || { diff -u "$GOLDEN/$1" "$2" | head -40 >&2; fail "$1 differs from golden"; }
    pass "$1 matches golden"
}

# ---- every format against its golden file ----
for fmt in text json csv md prom html; do
    expect_rc 0 "$TLSWEEP" report --db "$DB" --format "$fmt" -o "$TMP/report.$fmt"
    golden "report.$fmt" "$TMP/report.$fmt"
done
# Issue 16: the flat per-endpoint list (--group none) has its own golden
# files; the default ones open with the fix-first problems.
for fmt in text md; do
    expect_rc 0 "$TLSWEEP" report --db "$DB" --format "$fmt" --group none -o "$TMP/flat.$fmt"
    golden "report.flat.$fmt" "$TMP/flat.$fmt"
done
expect_rc 0 "$TLSWEEP" report --db "$DB" --top 3 -o "$TMP/top3.text"
golden "report.top3.text" "$TMP/top3.text"
# stdout and -o give the same bytes; colour is off when not a terminal.
"$TLSWEEP" report --db "$DB" > "$TMP/stdout.text"
cmp -s "$TMP/stdout.text" "$TMP/report.text" || fail "stdout differs from -o output"
pass "stdout equals -o output"

# ---- text: terminal safety ----
T="$TMP/report.text"
if LC_ALL=C grep -q $'\x1b' "$T"; then fail "ESC byte in text output"; fi
pass "no ESC byte in uncoloured text"
python3 - "$T" <<'PY' || fail "control or C1 characters in text output"
import sys
b = open(sys.argv[1], "rb").read()
bad = [c for c in b if (c < 0x20 and c != 0x0a) or c == 0x7f]
assert not bad, bad[:5]
t = b.decode("utf-8")   # valid UTF-8 (invalid bytes became \xNN)
assert not any(0x80 <= ord(ch) <= 0x9f for ch in t)
PY
pass "text is valid UTF-8 without control characters"
grep -qF '\xFF' "$TMP/flat.text" || fail "invalid byte not shown as \\xNN"
pass "invalid UTF-8 shown as \\xNN"
grep -q "openssl s_client -connect '\[2001:db8::1\]:8443' -noservername" "$T" || fail "IPv6 reproduce command"
pass "IPv6 reproduce command bracketed, -noservername"
grep -q "openssl s_client -connect 10.0.0.11:443 -servername classchg.example -showcerts -verify_return_error$" "$T" || fail "class repro flags missing"
pass "class repro flags appended"
# Certificate classes fail s_client the way they failed the scan.
grep -q "openssl s_client -connect 10.0.0.3:443 -servername expired.example -verify_return_error$" "$T" || fail "cert_expired repro lacks -verify_return_error"
pass "certificate class repro has -verify_return_error"
# worst first: failures by precedence, then issues, ok last by grade.
order=$(awk '/^Endpoints, worst first/{on=1;next} on && /^[A-Z+-]+ +[a-z_]+ /{print $2}' "$TMP/flat.text" | tr '\n' ' ')
assert_eq "dns_nxdomain tcp_refused sni_required cert_expired incomplete_chain weak_key weak_signature ok ok ok ok ok ok ok " "$order" "rows worst first"
NO_COLOR=1 "$TLSWEEP" report --db "$DB" --color auto > "$TMP/nc.text"
cmp -s "$TMP/nc.text" "$T" || fail "NO_COLOR output differs"
"$TLSWEEP" report --db "$DB" --color always > "$TMP/col.text"
LC_ALL=C grep -q $'\x1b\[' "$TMP/col.text" || fail "--color always adds no colour"
python3 - "$TMP/col.text" <<'PY' || fail "colour output carries escape sequences other than SGR"
import re, sys
b = open(sys.argv[1], "rb").read()
rest = re.sub(rb"\x1b\[[0-9;]*m", b"", b)
assert b"\x1b" not in rest
PY
pass "--color always: only our SGR sequences"

# ---- JSON ----
J="$TMP/report.json"
jq -e . "$J" >/dev/null || fail "jq rejects the JSON"
assert_eq 1 "$(sqlite3 :memory: "SELECT json_valid(readfile('$J'))")" "SQLite json_valid accepts the JSON"
assert_eq 14 "$(jq '.endpoints | length' "$J")" "JSON has 14 endpoints"
assert_eq 14 "$(jq '.summary.endpoints' "$J")" "JSON summary counts 14"
assert_eq "CN=<script>document.title='pwned'</script>,O=Evil \"Corp\", Inc." \
    "$(jq -r '.endpoints[] | select(.host=="evil.example") | .cert_subject' "$J")" "hostile CN round-trips through JSON"
if grep -q '<script>' "$J"; then fail "raw <script> in JSON (must be \\u003c)"; fi
pass "JSON escapes < as \\u003c"
assert_eq 2 "$(jq '.endpoints[] | select(.host=="evil.example") | .chain | length' "$J")" "JSON carries the chain"
assert_eq "CN=\ufffd\ufffd\ufffd\ufffdbad-utf8.example" "$(jq -r '.endpoints[] | select(.host=="newhost.example") | .cert_subject | @json | fromjson | explode | map(if . == 65533 then "\\ufffd" else ([.] | implode) end) | join("")' "$J")" \
    "invalid UTF-8 (overlong, truncated) becomes U+FFFD in JSON"
assert_eq "-9" "$(jq '.endpoints[] | select(.host=="expired.example") | .days_left' "$J")" "days_left negative when expired"
# Issue 16: legacy TLS counts what endpoints accept: good.example
# negotiates TLSv1.3 but accepts SSLv3 and TLSv1 (was 2: negotiated only).
assert_eq "3 1 1 1" "$(jq -r '[.summary.legacy_tls.endpoints, .summary.expiry.expired, .summary.expiry.within_7_days, .summary.by_grade.F] | map(tostring) | join(" ")' "$J")" "summary counts"

# ---- CSV ----
python3 - "$TMP/report.csv" <<'PY' || fail "CSV does not read back"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
hdr, body = rows[0], rows[1:]
assert len(body) == 14, len(body)
assert all(len(r) == len(hdr) for r in rows), "ragged rows"
d = [dict(zip(hdr, r)) for r in body]
evil = [r for r in d if r["host"] == "evil.example"][0]
assert evil["sni"] == "'@evil.example", evil["sni"]
assert evil["target"].startswith("'="), evil["target"]
assert "\n" in evil["detail"] and '"quoted"' in evil["detail"], evil["detail"]
assert evil["cert_subject"].startswith("CN=<script>"), evil["cert_subject"]
for r in d:
    for k, v in r.items():
        assert not v or v[0] not in "=+-@\t\r" or k == "days_left", (k, v)
exp = [r for r in d if r["host"] == "expired.example"][0]
assert exp["days_left"] == "-9"
PY
pass "CSV reads back: 14 rows, formula cells neutralised, quotes/newlines kept"

# ---- Prometheus ----
P="$TMP/report.prom"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics < "$P" || fail "promtool rejects the exposition"
    pass "promtool accepts the exposition"
fi
# The strict parser, kept in a file: the hostile exposition below uses it too.
cat > "$TMP/promparse.py" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)(\{(%s)(,%s)*\})? -?[0-9]+(\.[0-9]+)?$" % (name, lab, lab))
typed, helped, seen, series = set(), set(), [], set()
for ln in open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]:
    m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % name, ln)
    if m:
        (helped if m.group(1) == "HELP" else typed).add(m.group(2))
        if m.group(1) == "TYPE":
            assert m.group(3) in ("gauge", "counter"), ln
        continue
    m = sample.match(ln)
    assert m, "bad line: %r" % ln
    fam = m.group(1)
    assert fam in typed and fam in helped, "no HELP/TYPE before " + fam
    if not seen or seen[-1] != fam:
        assert fam not in seen, "family not contiguous: " + fam
        seen.append(fam)
    key = ln.rsplit(" ", 1)[0]
    assert key not in series, "duplicate series " + key
    series.add(key)
need = {"tlsweep_cert_expiry_seconds", "tlsweep_endpoints", "tlsweep_endpoints_by_grade",
        "tlsweep_scan_duration_seconds", "tlsweep_scan_timestamp_seconds",
        "tlsweep_cert_not_after_timestamp_seconds", "tlsweep_endpoint_info",
        "tlsweep_endpoint_failing", "tlsweep_last_complete_scan_timestamp_seconds"}
assert need <= set(seen), need - set(seen)
PY
python3 "$TMP/promparse.py" "$P" || fail "Prometheus exposition does not parse"
pass "Prometheus exposition parses strictly (HELP/TYPE, labels, contiguous families)"
grep -q 'tlsweep_cert_expiry_seconds{host="expired.example",ip="10.0.0.3",port="443",sni="expired.example"} -777600' "$P" \
    || fail "expired certificate seconds"
pass "expiry seconds negative for an expired leaf"
grep -q 'label="after <b>\\"change\\"</b>"' "$P" || fail "label value escaping"
pass "label values escaped"
# Issue 16: the absolute expiry (2026-01-01T00:00:00Z), one info and one
# failing series per endpoint, and when the newest done scan (2) finished.
grep -qx 'tlsweep_cert_not_after_timestamp_seconds{host="expired.example",ip="10.0.0.3",port="443",sni="expired.example"} 1767225600' "$P" \
    || fail "absolute notAfter of the expired leaf"
pass "tlsweep_cert_not_after_timestamp_seconds is the absolute notAfter"
# --now moves the relative metric, never the absolute one.
"$TLSWEEP" report --db "$DB" --format prom --now 2027-01-01T00:00:00Z > "$TMP/now.prom" 2>/dev/null
grep -qx 'tlsweep_cert_not_after_timestamp_seconds{host="expired.example",ip="10.0.0.3",port="443",sni="expired.example"} 1767225600' "$TMP/now.prom" \
    || fail "--now changed the absolute notAfter"
grep -qx 'tlsweep_cert_expiry_seconds{host="expired.example",ip="10.0.0.3",port="443",sni="expired.example"} -31536000' "$TMP/now.prom" \
    || fail "--now did not move the relative expiry"
pass "--now moves tlsweep_cert_expiry_seconds only"
assert_eq 14 "$(grep -c '^tlsweep_endpoint_info{' "$P")" "one tlsweep_endpoint_info per endpoint"
assert_eq 14 "$(grep -c '^tlsweep_endpoint_failing{' "$P")" "one tlsweep_endpoint_failing per endpoint"
grep -qx 'tlsweep_endpoint_info{target="expired.example",host="expired.example",ip="10.0.0.3",port="443",sni="expired.example",class="cert_expired",grade="T"} 1' "$P" \
    || fail "endpoint_info of expired.example"
grep -qx 'tlsweep_endpoint_info{target="dns.example",host="dns.example",ip="",port="443",sni="dns.example",class="dns_nxdomain",grade="none"} 1' "$P" \
    || fail "endpoint_info of an ungraded endpoint"
pass "tlsweep_endpoint_info carries target, class and grade (none when not graded)"
grep -qx 'tlsweep_endpoint_failing{host="refused.example",ip="10.0.0.2",port="443",sni="refused.example"} 1' "$P" \
    || fail "failing refused endpoint"
grep -qx 'tlsweep_endpoint_failing{host="good.example",ip="10.0.0.1",port="443",sni="good.example"} 0' "$P" \
    || fail "ok endpoint not failing"
pass "tlsweep_endpoint_failing 1 for a failure class, 0 otherwise"
grep -qx 'tlsweep_last_complete_scan_timestamp_seconds 1768003350' "$P" || fail "last complete scan time"
# Reporting the older scan 1 still shows when the newest done scan finished.
"$TLSWEEP" report --db "$DB" --scan 1 --format prom > "$TMP/scan1.prom" 2>/dev/null
grep -qx 'tlsweep_last_complete_scan_timestamp_seconds 1768003350' "$TMP/scan1.prom" \
    || fail "last complete scan time with --scan 1"
# No done scan at all: 0, so that the staleness alert fires.
cp "$DB" "$TMP/nodone.db"
sqlite3 "$TMP/nodone.db" "UPDATE scans SET status = 'interrupted'"
"$TLSWEEP" report --db "$TMP/nodone.db" --scan 2 --format prom > "$TMP/nodone.prom" 2>/dev/null
grep -qx 'tlsweep_last_complete_scan_timestamp_seconds 0' "$TMP/nodone.prom" \
    || fail "last complete scan time without a done scan"
pass "tlsweep_last_complete_scan_timestamp_seconds: newest done scan's finished_at, 0 without one"

# Hostile label values: crafted rows whose host, SNI and target carry
# quotes, backslashes, newlines, controls, invalid UTF-8, a would-be
# injected sample and 600 bytes; the exposition must stay valid, every
# label bounded, and the values must read back as escaped.
HDB="$TMP/hostile.db"
cp "$DB" "$HDB"
sqlite3 "$HDB" <<'SQL'
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) VALUES
 (901, 2, 'evil"} 1' || char(10) || 'tlsweep_endpoint_failing{host="x"} 0', 'q"b\s' || char(10) || 'nl' || char(13) || char(27) || '[31m' || CAST(X'FF' AS TEXT), '10.9.9.1', 443, 'sni"} 1' || char(10) || '# TYPE x counter', 'tls_alert', 'tls_alert', NULL, NULL, NULL, NULL, 'x', 5, '2026-01-10T00:00:01Z'),
 (902, 2, replace(hex(zeroblob(300)), '0', 'é'), replace(hex(zeroblob(300)), '0', 'h'), '10.9.9.2', 443, replace(hex(zeroblob(150)), '00', 'é'), 'ok', '', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'A', 'aa04', NULL, 5, '2026-01-10T00:00:01Z');
SQL
"$TLSWEEP" report --db "$HDB" --format prom -o "$TMP/hostile.prom" 2>/dev/null || fail "report of hostile rows"
python3 "$TMP/promparse.py" "$TMP/hostile.prom" || fail "hostile rows break the exposition"
python3 - "$TMP/hostile.prom" <<'PY' || fail "hostile label values"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
lab = re.compile(r'([a-zA-Z_]+)="((?:[^"\\\n]|\\[\\"n])*)"')
def unesc(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)
rows = []
for ln in text.split("\n"):
    if ln.startswith("tlsweep_endpoint_info{"):
        rows.append({k: unesc(v) for k, v in lab.findall(ln)})
    for k, v in lab.findall(ln):
        assert len(unesc(v).encode()) <= 256 + 3, (k, len(v))
q = [r for r in rows if r["ip"] == "10.9.9.1"]
assert len(q) == 1, q
# \ " and newline kept (escaped), CR as a space, ESC and controls dropped, 0xFF as U+FFFD.
assert q[0]["host"] == 'q"b\\s\nnl [31m\ufffd', repr(q[0]["host"])
assert q[0]["sni"] == 'sni"} 1\n# TYPE x counter', repr(q[0]["sni"])
assert q[0]["target"] == 'evil"} 1\ntlsweep_endpoint_failing{host="x"} 0', repr(q[0]["target"])
assert "fake" not in text and not re.search(r"^tlsweep_endpoint_failing\{host=\"x\"\}", text, re.M)
l = [r for r in rows if r["ip"] == "10.9.9.2"]
assert len(l) == 1, l
# 600 bytes of h cut to 256, then "..."; 600 bytes of é cut on a character boundary.
assert l[0]["host"] == "h" * 256 + "...", len(l[0]["host"])
assert l[0]["target"] == "é" * 128 + "...", repr(l[0]["target"][:10])
assert l[0]["sni"] == "é" * 128 + "...", len(l[0]["sni"])
assert "\ufffd" not in l[0]["target"] + l[0]["sni"]
PY
pass "hostile host/SNI/target: escaped, bounded to 256 bytes on a UTF-8 boundary, exposition valid"

# ---- Markdown ----
M="$TMP/report.md"
if grep -E '^\|' "$M" | grep -v '^|---' | python3 -c '
import sys
for ln in sys.stdin:
    body = ln.rstrip("\n")
    cells = body.replace("\\|", "").count("|")
    # every table row in the endpoint table has 8 pipes, others 3-5
    if cells not in (3, 4, 5, 8): print(repr(body)); sys.exit(0)
sys.exit(1)'; then fail "a Markdown row has a stray |"; fi
pass "Markdown rows keep their column count"
if grep -q '<script>' "$M"; then fail "raw <script> in Markdown"; fi
pass "Markdown escapes markup"

# ---- HTML (structure; the browser test is report_html.sh) ----
H="$TMP/report.html"
if grep -q "<script>document" "$H" || grep -q '<img src=x' "$H"; then fail "hostile markup unescaped in HTML"; fi
grep -q "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" "$H" || fail "hostile CN not escaped as text"
pass "HTML escapes hostile certificate fields"
if grep -Eq '(src|href)="(https?:)?//' "$H"; then fail "HTML references an external asset"; fi
pass "HTML has no external assets"
# the CSP hash is the SHA-256 of the inline script
python3 - "$H" <<'PY' || fail "CSP script hash does not match the script"
import base64, hashlib, re, sys
h = open(sys.argv[1], encoding="utf-8").read()
csp = re.search(r"script-src 'sha256-([A-Za-z0-9+/=]+)'", h).group(1)
scripts = re.findall(r"<script>(.*?)</script>", h, re.S)
assert len(scripts) == 1, len(scripts)
assert base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode() == csp
PY
pass "CSP allows exactly the inline script by hash"

# ---- filters ----
"$TLSWEEP" report --db "$DB" --format json --where "class <> 'ok' AND port = 443" > "$TMP/w.json"
assert_eq 6 "$(jq '.endpoints | length' "$TMP/w.json")" "--where filters rows"
assert_eq 6 "$(jq '.summary.endpoints' "$TMP/w.json")" "--where filters the summary too"
"$TLSWEEP" report --db "$DB" --format json --expiring 30 > "$TMP/e.json"
assert_eq "expired.example evil.example soon.example" \
    "$(jq -r '[.endpoints[] | .host] | join(" ")' "$TMP/e.json")" "--expiring 30 keeps leaves expiring within 30 days"
"$TLSWEEP" report --db "$DB" --format json --expiring 30 --now 2026-05-10T00:00:00Z > "$TMP/e2.json"
assert_eq 4 "$(jq '.endpoints | length' "$TMP/e2.json")" "--now moves the expiry reference"

# ---- scans: interrupted, fallback, explicit ----
expect_rc 0 "$TLSWEEP" report --db "$DB" --scan 3
grep -q "!!! SCAN INTERRUPTED" "$TMP/out" || fail "interrupted scan not flagged"
grep -q "is interrupted" "$TMP/err" || fail "no warning on stderr for an interrupted scan"
pass "interrupted scan flagged loudly"
cp "$DB" "$TMP/int.db"
sqlite3 "$TMP/int.db" "UPDATE scans SET status = 'interrupted' WHERE id IN (1, 2)"
expect_rc 0 "$TLSWEEP" report --db "$TMP/int.db" --format json
assert_eq "3 true true" "$(jq -r '"\(.scan.id) \(.scan.latest_fallback) \(.scan.interrupted)"' "$TMP/out")" \
    "latest falls back to the newest interrupted scan, flagged"

# ---- exit codes and messages ----
expect_rc 0 "$TLSWEEP" report --help
for f in text json csv md html prom; do grep -q "^  $f " "$TMP/out" || fail "--help does not list $f"; done
pass "--help lists every format"
expect_rc 2 "$TLSWEEP" report --db "$DB" --format xml
expect_rc 2 "$TLSWEEP" report --db "$DB" --scan 99
grep -q "no scan with id 99" "$TMP/err" || fail "unknown scan id message"
# Issue 16: no finished scan says what to do: the running scan by id
# (--scan N, scan --resume=N), or that there is no scan at all.
tw_fixture_schema "$TMP/empty.db"
expect_rc 2 "$TLSWEEP" report --db "$TMP/empty.db"
grep -q '^tlsweep report: the database has no scan yet: run tlsweep scan TARGETS first$' "$TMP/err" \
    || fail "no hint for an empty database: $(cat "$TMP/err")"
sqlite3 "$TMP/empty.db" "INSERT INTO scans(id, label, started_at, status) VALUES (4, 'x', '2026-01-01T00:00:00Z', 'running'), (7, 'y', '2026-01-02T00:00:00Z', 'running')"
expect_rc 2 "$TLSWEEP" report --db "$TMP/empty.db"
grep -q 'no finished (done or interrupted) scan' "$TMP/err" || fail "no error for a running-only database"
grep -q '^tlsweep report: scan 7 has not finished (still running, or its process died): show its results so far with --scan 7, or finish it with: tlsweep scan --resume=7 (and the same --db)$' "$TMP/err" \
    || fail "no --scan/--resume hint for the running scan: $(cat "$TMP/err")"
expect_rc 0 "$TLSWEEP" report --db "$TMP/empty.db" --scan 7
pass "report without a finished scan names the running one (--scan 7, scan --resume=7)"
expect_rc 2 "$TLSWEEP" report --db "$DB" --scan abc
expect_rc 2 "$TLSWEEP" report --db "$DB" --expiring soon
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "no_such_column = 1"
expect_rc 3 "$TLSWEEP" report --db "$TMP/missing.db"
grep -q "$TMP/missing.db" "$TMP/err" || fail "missing database not named"
echo "not a database" > "$TMP/junk.db"
expect_rc 3 "$TLSWEEP" report --db "$TMP/junk.db"
grep -q "junk.db" "$TMP/err" || fail "bad database not named"
pass "database errors name the file"
expect_rc 3 "$TLSWEEP" report --db "$DB" -o "$TMP/no/such/dir/x.txt"

# ---- read-only: --where cannot write, attach or pragma ----
before=$(sqlite3 "$DB" "SELECT count(*) FROM results")
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "1)) ; DELETE FROM results; --"
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "(SELECT count(*) FROM pragma_table_info('results')) > 0"
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "load_extension('x') IS NULL"
assert_eq "$before" "$(sqlite3 "$DB" "SELECT count(*) FROM results")" "--where could not delete"
sha_before=$(sha256sum "$DB" | cut -d' ' -f1)
"$TLSWEEP" report --db "$DB" >/dev/null
assert_eq "$sha_before" "$(sha256sum "$DB" | cut -d' ' -f1)" "report leaves the database file unchanged"

# ---- a running writer does not block the report (WAL) ----
python3 - "$DB" "$TMP/locked" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO scans(label, started_at, status) VALUES ('writer', '2026-02-01T00:00:00Z', 'running')")
open(sys.argv[2], "w").close()
time.sleep(8)
db.execute("ROLLBACK")
PY
PIDS+=($!)
for i in $(seq 1 50); do [ -e "$TMP/locked" ] && break; sleep 0.1; done
[ -e "$TMP/locked" ] || fail "writer did not start"
start=$(date +%s%N)
expect_rc 0 "$TLSWEEP" report --db "$DB" --format csv
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "report waited ${ms} ms for a writer"
pass "report ran in ${ms} ms while a writer held the write lock"

# ---- --where has a bound: a runaway filter ends with a clear error ----
start=$(date +%s)
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "port IN (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c) SELECT i FROM c)"
grep -q "^tlsweep report: .*--where: stopped after [0-9]* SQLite steps" "$TMP/err" || fail "runaway --where: message: $(cat "$TMP/err")"
[ -n "${TLSWEEP_WRAPPER:-}" ] || [ $(( $(date +%s) - start )) -lt 60 ] || fail "runaway --where took $(( $(date +%s) - start )) s"
pass "a recursive CTE in --where stops at the bound (exit 2)"
# A bounded CTE of 100,000 rows: over a bound of 100,000 steps, within the default.
BOUNDED="port IN (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 100000) SELECT i FROM c)"
expect_rc 2 "$TLSWEEP" report --db "$DB" --where "$BOUNDED" --where-max-steps 100000
grep -q "stopped after 100000 SQLite steps" "$TMP/err" || fail "--where-max-steps not honoured"
expect_rc 0 "$TLSWEEP" report --db "$DB" --where "$BOUNDED" --format json
assert_eq 14 "$(jq '.endpoints | length' "$TMP/out")" "a filter within the default bound runs to the end"
expect_rc 0 "$TLSWEEP" report --db "$DB" --where "$BOUNDED" --where-max-steps 0 --format json
expect_rc 2 "$TLSWEEP" report --db "$DB" --where-max-steps lots

# ---- every message of report carries "tlsweep report: " ----
for args in "--bogus" "--db" "-x" "--format xml" "--scan 99" "--where nope=1" "--expiring x" "extra"; do
    # shellcheck disable=SC2086
    expect_rc 2 "$TLSWEEP" report --db "$DB" $args
    if grep -v "^tlsweep report: " "$TMP/err" | grep -q .; then fail "unprefixed message for '$args': $(cat "$TMP/err")"; fi
done
pass "usage errors are prefixed 'tlsweep report: '"

# ---- fix first on a 10,000-endpoint fleet (issue 16) ----
# Five injected root causes among 10,000 endpoints: one refused port on
# 300, one certificate expired on 40, one issuer whose intermediate 25 do
# not send, one certificate expiring in 10 days on 60, TLSv1 accepted by
# 120.  The first screen (25 lines) names all five; --top 20 stays under
# 200 lines.
FDB="$TMP/fleet.db"
tw_fixture_schema "$FDB" || fail "fleet schema"
start=$(date +%s)
sqlite3 -bail "$FDB" <<'SQL'
BEGIN;
INSERT INTO scans(id, label, started_at, finished_at, status) VALUES
 (1, 'fleet', '2026-03-01T00:00:00Z', '2026-03-01T01:00:00Z', 'done');
INSERT INTO certs(sha256, subject, issuer, not_before, not_after) VALUES
 ('f0', 'CN=fleet.example', 'CN=Fleet CA', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
 ('f1', 'CN=expired.fleet', 'CN=Fleet CA', '2025-01-01T00:00:00Z', '2026-02-01T00:00:00Z'),
 ('f2', 'CN=pool.fleet', 'CN=Pool CA', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
 ('f3', 'CN=soon.fleet', 'CN=Fleet CA', '2026-01-01T00:00:00Z', '2026-03-11T00:00:00Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher,
                    grade, cert_sha256, detail, elapsed_ms, scanned_at)
SELECT i, 1, 'h' || i || '.fleet', 'h' || i || '.fleet', '10.1.' || (i / 256) || '.' || (i % 256),
       443, 'h' || i || '.fleet',
       CASE WHEN i <= 300 THEN 'tcp_refused' WHEN i <= 340 THEN 'cert_expired'
            WHEN i <= 365 THEN 'incomplete_chain' ELSE 'ok' END,
       CASE WHEN i <= 300 THEN 'tcp_refused' WHEN i <= 340 THEN 'cert_expired'
            WHEN i <= 365 THEN 'incomplete_chain' ELSE 'ok' END,
       CASE WHEN i <= 300 THEN NULL ELSE 'TLSv1.3' END,
       CASE WHEN i <= 300 THEN NULL ELSE 'TLS_AES_128_GCM_SHA256' END,
       CASE WHEN i <= 300 THEN NULL WHEN i <= 340 THEN 'T' ELSE 'A' END,
       CASE WHEN i <= 300 THEN NULL WHEN i <= 340 THEN 'f1' WHEN i <= 365 THEN 'f2'
            WHEN i <= 425 THEN 'f3' ELSE 'f0' END,
       CASE WHEN i <= 300 THEN 'connect: Connection refused' ELSE NULL END,
       5, '2026-03-01T00:00:01Z'
FROM n;
WITH RECURSIVE n(i) AS (SELECT 501 UNION ALL SELECT i + 1 FROM n WHERE i < 620)
INSERT INTO protocols(result_id, protocol, accepted) SELECT i, 'TLSv1', 1 FROM n;
COMMIT;
SQL
"$TLSWEEP" report --db "$FDB" > "$TMP/fleet.text" 2>/dev/null || fail "fleet report"
head -25 "$TMP/fleet.text" > "$TMP/fleet.head"
for want in "tcp_refused: connect: Connection refused" "certificate CN=expired.fleet expired" \
            "incomplete_chain: certificates issued by CN=Pool CA" \
            "certificate CN=soon.fleet expires in 10 days" "TLSv1 accepted"; do
    grep -qF "$want" "$TMP/fleet.head" || { cat "$TMP/fleet.head" >&2; fail "first screen lacks: $want"; }
done
pass "fleet of 10,000: the first 25 lines name all 5 problems"
# Each problem once, with its count: 300 refused endpoints, one block.
assert_eq 1 "$(grep -c '^       why: *Nothing listens on the port' "$TMP/fleet.text")" "one why for 300 refused endpoints"
grep -q '^ *1 critical *300  tcp_refused' "$TMP/fleet.text" || fail "refused problem ranked first with 300"
"$TLSWEEP" report --db "$FDB" --top 20 > "$TMP/fleet20.text" 2>/dev/null || fail "fleet --top 20"
lines=$(wc -l < "$TMP/fleet20.text")
[ "$lines" -lt 200 ] || fail "--top 20 report has $lines lines"
pass "fleet of 10,000: --top 20 report is $lines lines (< 200)"
"$TLSWEEP" report --db "$FDB" --format json > "$TMP/fleet.json" 2>/dev/null || fail "fleet json"
assert_eq "5 tcp_refused 300 120" "$(jq -r '[.problems_total, .problems[0].kind, .problems[0].endpoints, .summary.legacy_tls.endpoints] | map(tostring) | join(" ")' "$TMP/fleet.json")" "fleet JSON problems and legacy count"
"$TLSWEEP" report --db "$FDB" --group none | grep -c '^       why:' > "$TMP/flatwhy" || true
assert_eq 365 "$(cat "$TMP/flatwhy")" "--group none keeps one line per failing endpoint"
"$TLSWEEP" report --db "$FDB" --group none > "$TMP/fleet.flat" 2>/dev/null || fail "fleet --group none"
assert_eq 1 "$(grep -c '^       why: *Nothing listens on the port' "$TMP/fleet.flat")" \
    "--group none: the 300 refused endpoints' explanation once"
refs=$(grep -c '^       why: *as for the first endpoint of this class above' "$TMP/fleet.flat" || true)
assert_eq "$((365 - $(grep -c '^       fix:' "$TMP/fleet.flat")))" "$refs" \
    "--group none: every other failing endpoint refers to its class's first explanation ($refs)"
[ "$refs" -ge 299 ] || fail "--group none: only $refs back-references for 300 refused endpoints"
elapsed=$(( $(date +%s) - start ))
pass "fleet checks took ${elapsed} s"  # said, never asserted: timing is no test

# Issue 16: every format shows the leaf's SANs, truncated with a count, and
# escaped (one name is markup, one a terminal escape, one a CSV formula).
SDB="$TMP/sans.db"
tw_fixture_db "$SDB" || fail "cannot build the SAN database"
sqlite3 "$SDB" "INSERT INTO certs(sha256, subject, issuer, not_before, not_after, san) VALUES ('ab09', 'CN=s0.example', 'CN=Other CA', '2025-01-01T00:00:00Z', '2026-03-01T00:00:00Z',
    'DNS:s0.example,DNS:s1.example,DNS:s2.example,DNS:s3.example,DNS:s4.example,DNS:s5.example,DNS:s6.example,DNS:s7.example,DNS:s8.example,DNS:s9.example,DNS:s10.example,DNS:=cmd|calc,IP:10.0.0.98,DNS:<b>bold</b>' || char(27) || '[2J');
  INSERT INTO results(id, scan_id, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256)
    VALUES (298, 2, 'sans.example', '10.0.0.97', 443, 'sans.example', 'ok', 'ok', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'A', 'ab09');
  INSERT INTO result_chain(result_id, depth, cert_sha256) VALUES (298, 0, 'ab09');"
"$TLSWEEP" report --db "$SDB" --group none --color never > "$TMP/sans.text" 2>/dev/null || fail "SAN text report"
assert_eq "       names:  s0.example, s1.example, s2.example +11" \
    "$(grep -A3 'sans.example:443' "$TMP/sans.text" | grep 'names:')" "text: 3 names and a count"
grep -A4 'sans.example:443' "$TMP/sans.text" | grep -q '^       try: *openssl s_client -connect 10.0.0.97:443 -servername sans.example$' \
    || fail "text: an ok row carries its reproduce command"
! grep -q "$(printf '\033')" "$TMP/sans.text" || fail "text: a SAN's escape reached the terminal"
"$TLSWEEP" report --db "$SDB" --format json > "$TMP/sans.json" 2>/dev/null || fail "SAN json report"
assert_eq "14 14 s0.example" \
    "$(jq -r '.endpoints[] | select(.host == "sans.example") | [.sans_total, (.sans | length), .sans[0]] | map(tostring) | join(" ")' "$TMP/sans.json")" \
    "json: every name (up to 20) and the total"
assert_eq "true" "$(jq -r '.endpoints[] | select(.host == "sans.example") | .sans[13] == "<b>bold</b>\u001b[2J"' "$TMP/sans.json")" \
    "json: the hostile name kept as data"
! grep -q "$(printf '\033')" "$TMP/sans.json" || fail "json: a raw escape byte in the document"
"$TLSWEEP" report --db "$SDB" --format csv > "$TMP/sans.csv" 2>/dev/null || fail "SAN csv report"
python3 - "$TMP/sans.csv" <<'PY' || fail "csv: the sans cell"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
row = [r for r in rows if r["host"] == "sans.example"][0]
want = "s0.example, s1.example, s2.example, s3.example, s4.example, s5.example, s6.example, s7.example, s8.example, s9.example +4"
assert row["sans"] == want, row["sans"]
assert all(not r["sans"].startswith(("=", "+", "-", "@")) for r in rows), "a formula starts a cell"
PY
pass "csv: 10 names and a count"
"$TLSWEEP" report --db "$SDB" --format md --group none > "$TMP/sans.md" 2>/dev/null || fail "SAN md report"
grep 'sans.example' "$TMP/sans.md" | grep -qF 'names: s0.example, s1.example, s2.example +11' || fail "md: the names"
pass "md: 3 names and a count"
