#!/usr/bin/env bash
# `report --format prom` against promtool (Debian's prometheus package):
# `promtool check metrics` on the fixture's exposition and on one with
# hostile label values, `promtool check rules` on the alert rules of
# README.md's Prometheus section, and `promtool test rules` on what those
# rules fire on.  Exits 77 (skipped) without promtool; report.sh checks the
# exposition with its own strict parser either way.
. "$(dirname "$0")/common.sh"
. "$SRCDIR/tests/golden/fixture.sh"

command -v promtool >/dev/null 2>&1 || { echo "promtool not installed: skipped"; exit 77; }

DB="$TMP/fx.db"
tw_fixture_db "$DB" || fail "cannot build the fixture database"

# ---- the exposition ----
"$TLSWEEP" report --db "$DB" --format prom -o "$TMP/fx.prom" 2>/dev/null || fail "report --format prom"
promtool check metrics < "$TMP/fx.prom" > "$TMP/lint" 2>&1 || { cat "$TMP/lint" >&2; fail "promtool check metrics rejects the fixture's exposition"; }
pass "promtool check metrics accepts the fixture's exposition"
sqlite3 "$DB" <<'SQL'
INSERT INTO results(id, scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) VALUES
 (901, 2, 'evil"} 1' || char(10) || 'x 0', 'q"b\s' || char(10) || char(13) || char(27) || CAST(X'FF' AS TEXT), '10.9.9.1', 443, 's"} 1' || char(10) || '# TYPE x counter', 'tls_alert', 'tls_alert', NULL, NULL, NULL, NULL, 'x', 5, '2026-01-10T00:00:01Z'),
 (902, 2, replace(hex(zeroblob(300)), '0', 'é'), replace(hex(zeroblob(300)), '0', 'h'), '10.9.9.2', 443, NULL, 'ok', '', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'A', 'aa04', NULL, 5, '2026-01-10T00:00:01Z');
SQL
"$TLSWEEP" report --db "$DB" --format prom -o "$TMP/hostile.prom" 2>/dev/null || fail "report of hostile rows"
promtool check metrics < "$TMP/hostile.prom" > "$TMP/lint" 2>&1 || { cat "$TMP/lint" >&2; fail "promtool check metrics rejects hostile label values"; }
grep -q '10.9.9.1' "$TMP/hostile.prom" || fail "hostile row missing"
pass "promtool check metrics accepts hostile label values"

# ---- README.md's alert rules ----
python3 - "$SRCDIR/README.md" "$TMP/rules.yml" <<'PY' || fail "no yaml block in README.md's Prometheus section"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sec = text[text.index("### Prometheus metrics"):]
sec = sec[:sec.index("\n### ", 1)]
m = re.search(r"```yaml\n(.*?)```", sec, re.S)
assert m
open(sys.argv[2], "w", encoding="utf-8").write(m.group(1))
PY
promtool check rules "$TMP/rules.yml" > "$TMP/lint" 2>&1 || { cat "$TMP/lint" >&2; fail "promtool check rules"; }
grep -q "SUCCESS: 3 rules found" "$TMP/lint" || fail "README.md does not have 3 rules: $(cat "$TMP/lint")"
pass "promtool check rules: README.md's 3 alert rules"

# What they fire on, hour by hour: a.example starts failing at 25 h (b.example
# fails from the start, with no day of history: new at 10 h, not at 30 h),
# a.example's leaf expires 10 days after time 0, the last complete scan is at
# time 0 (stale after 36 h).
cat > "$TMP/rules_test.yml" <<'YML'
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1h
    input_series:
      - series: 'tlsweep_endpoint_failing{host="a.example",ip="10.0.0.1",port="443",sni="a.example"}'
        values: '0x24 1x24'
      - series: 'tlsweep_endpoint_failing{host="b.example",ip="10.0.0.2",port="443",sni="b.example"}'
        values: '1x48'
      - series: 'tlsweep_cert_not_after_timestamp_seconds{host="a.example",ip="10.0.0.1",port="443",sni="a.example"}'
        values: '864000x48'
      - series: 'tlsweep_cert_not_after_timestamp_seconds{host="b.example",ip="10.0.0.2",port="443",sni="b.example"}'
        values: '8640000x48'
      - series: 'tlsweep_last_complete_scan_timestamp_seconds'
        values: '0x48'
    alert_rule_test:
      - eval_time: 10h
        alertname: TLSEndpointNewFailure
        exp_alerts:
          - exp_labels: {severity: critical, host: b.example, ip: 10.0.0.2, port: "443", sni: b.example}
            exp_annotations: {summary: "b.example:443 started failing (no TLS session)"}
      - eval_time: 30h
        alertname: TLSEndpointNewFailure
        exp_alerts:
          - exp_labels: {severity: critical, host: a.example, ip: 10.0.0.1, port: "443", sni: a.example}
            exp_annotations: {summary: "a.example:443 started failing (no TLS session)"}
      - eval_time: 30h
        alertname: TLSSweepStale
        exp_alerts: []
      - eval_time: 40h
        alertname: TLSSweepStale
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations: {summary: "no complete tlsweep scan for 36 hours"}
      - eval_time: 1h
        alertname: TLSCertificateExpiresSoon
        exp_alerts:
          - exp_labels: {severity: warning, host: a.example, ip: 10.0.0.1, port: "443", sni: a.example}
            exp_annotations: {summary: "TLS certificate of a.example:443 expires in 9d 23h 0m 0s"}
YML
(cd "$TMP" && promtool test rules rules_test.yml) > "$TMP/lint" 2>&1 || { cat "$TMP/lint" >&2; fail "promtool test rules"; }
pass "promtool test rules: expiry within 14 days, a new failure, no complete scan for 36 h"
