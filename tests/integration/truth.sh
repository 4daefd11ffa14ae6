#!/usr/bin/env bash
# A nightly pipeline never looks green when it is not (issue 15, items 2 and
# 3, reader side).  Real scans of loopback endpoints (closed ports: fast
# tcp_refused rows; a tarpit that holds connections, so that a scan can be
# interrupted while it runs):
#   - a scan newer than the one shown that is interrupted or still running
#     is named on stderr and in every format (JSON "warnings", Prometheus
#     tlsweep_report_warnings), by report and by diff;
#   - diff --fail-on gains vanished[:N%] and any --fail-on implies
#     vanished:10%: a night that lost most of its endpoints fails the gate;
#   - diff warns when the target lists or the trust stores differ;
#   - a partial merge is named.
. "$(dirname "$0")/common.sh"
PEERS="$(dirname "$0")/engine_peers.py"
DB="$TMP/t.db"

tarpit=$(free_port)
python3 "$PEERS" tarpit "$tarpit" > "$TMP/tarpit.out" 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do
    grep -q ready "$TMP/tarpit.out" && break
    sleep 0.1
done
grep -q ready "$TMP/tarpit.out" || fail "tarpit did not start"
closed=$(free_port)
OPTS=(--no-progress --connect-timeout 2 --handshake-timeout 1 -c 64 -j 2)


# Nights 1 and 2: the same estate of 16 endpoints, both done.
printf '127.43.0.0/28:%s\n127.43.1.0/30:%s\n' "$closed" "$closed" > "$TMP/estate.txt"
for night in 1 2; do
    "$TLSWEEP" scan --db "$DB" "${OPTS[@]}" --label "night $night" "$TMP/estate.txt" 2>"$TMP/scan.err" \
        || fail "night $night failed: $(cat "$TMP/scan.err")"
done
assert_eq "16 16" "$(q "select group_concat(n, ' ') from (select count(*) as n from results group by scan_id order by scan_id)")" \
    "two done scans of 16 endpoints"

# The same state before anything newer exists: no warning.
expect_rc 0 "$TLSWEEP" report --db "$DB" --format json
assert_eq "2 0" "$(jq -r '"\(.scan.id) \(.warnings | length)"' "$TMP/out")" "no warning when the shown scan is the newest"
[ ! -s "$TMP/err" ] || fail "report printed on stderr: $(cat "$TMP/err")"

# Night 3 is interrupted (SIGINT while tarpitted connections are open).
# 510 tarpitted endpoints at 64 in flight and a 1 s handshake timeout: about
# 8 s of work; the signal comes once the first results are stored.
printf '127.44.0.0/23:%s\n' "$tarpit" > "$TMP/tarpit.txt"
"$TLSWEEP" scan --db "$DB" "${OPTS[@]}" --label "night 3" "$TMP/tarpit.txt" 2>"$TMP/run3.err" &
scan_pid=$!
PIDS+=($scan_pid)
for i in $(seq 1 600); do
    [ "$(q "select count(*) from results where scan_id = 3" 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
done
kill -INT "$scan_pid"
rc=0
wait "$scan_pid" || rc=$?
# 0 before issue 15's scan side, 4 (interrupted) after it.
[ "$rc" = 0 ] || [ "$rc" = 4 ] || fail "interrupted scan exited $rc: $(cat "$TMP/run3.err")"
assert_eq interrupted "$(q "select status from scans where id = 3")" "night 3 is interrupted"

# report (latest = night 2) says that night 3 is not in it: stderr, every format.
expect_rc 0 "$TLSWEEP" report --db "$DB"
grep -q "^tlsweep report: warning: scan 3 (newer than scan 2 shown) is interrupted: its results are not in this report; finish it with: tlsweep scan --resume=3 --db $DB\$" "$TMP/err" \
    || fail "no stderr warning about the newer interrupted scan: $(cat "$TMP/err")"
pass "report: stderr names the newer interrupted scan and the command that finishes it"
grep -q "^!!! warning: scan 3 (newer than scan 2 shown) is interrupted" "$TMP/out" || fail "text report lacks the warning"
pass "report text shows the warning"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format json
assert_eq "newer_scan_interrupted 3 2" "$(jq -r '.warnings[] | "\(.code) \(.scan) \(.newer_than)"' "$TMP/out")" \
    "report JSON: warnings[] names the newer interrupted scan"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format prom
grep -qx 'tlsweep_report_warnings{code="newer_scan_interrupted"} 1' "$TMP/out" || fail "prom gauge for the newer interrupted scan"
grep -qx 'tlsweep_report_warnings{code="newer_scan_running"} 0' "$TMP/out" || fail "prom gauge for running scans"
pass "report prom: tlsweep_report_warnings gauge"
for fmt in md html; do
    expect_rc 0 "$TLSWEEP" report --db "$DB" --format "$fmt"
    grep -q "scan 3 (newer than scan 2 shown) is interrupted" "$TMP/out" || fail "$fmt report lacks the warning"
done
pass "md and html show the warning"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format csv
grep -q "scan 3 (newer than scan 2 shown)" "$TMP/err" || fail "csv: no stderr warning"
pass "csv: the warning is on stderr"
# Asking for night 3 itself: no "newer" warning, the old incomplete one.
expect_rc 0 "$TLSWEEP" report --db "$DB" --scan 3 --format json
assert_eq 0 "$(jq '.warnings | length' "$TMP/out")" "no newer-scan warning about the scan shown"

# diff (nights 1 and 2) says the same.
expect_rc 0 "$TLSWEEP" diff --db "$DB" --format json
assert_eq "1 2" "$(jq -r '"\(.old.id) \(.new.id)"' "$TMP/out")" "diff picks the two done nights"
assert_eq "newer_scan_interrupted 3 2" "$(jq -r '.warnings[] | "\(.code) \(.scan) \(.newer_than)"' "$TMP/out")" \
    "diff JSON: warnings[] names the newer interrupted scan"
grep -q "^tlsweep diff: warning: scan 3 (newer than scan 2 shown) is interrupted: its results are not in this diff" "$TMP/err" \
    || fail "diff: no stderr warning: $(cat "$TMP/err")"
pass "diff: stderr names the newer interrupted scan"

# A scan that is still running (here: one whose process died without
# marking it) is named too.
sqlite3 "$DB" "UPDATE scans SET status = 'running' WHERE id = 3"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format json
assert_eq "newer_scan_running 3" "$(jq -r '.warnings[] | "\(.code) \(.scan)"' "$TMP/out")" "newer running scan in JSON"
grep -q "scan 3 (newer than scan 2 shown) is running" "$TMP/err" || fail "no stderr warning about a running scan"
pass "report: a newer running scan is named on stderr"
sqlite3 "$DB" "UPDATE scans SET status = 'interrupted' WHERE id = 3"

# Night 4 lost most of its estate: a target list of 2 endpoints.
printf '127.43.0.1:%s\n127.43.0.2:%s\n' "$closed" "$closed" > "$TMP/short.txt"
"$TLSWEEP" scan --db "$DB" "${OPTS[@]}" --label "night 4" "$TMP/short.txt" 2>"$TMP/scan.err" \
    || fail "night 4 failed: $(cat "$TMP/scan.err")"
# Nothing got worse on the endpoints that remain: regression alone passes,
# the implied vanished:10% does not.
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on regression --format json
assert_eq "2 4 0 14" "$(jq -r '"\(.old.id) \(.new.id) \(.summary.regressions) \(.summary.vanished)"' "$TMP/out")" \
    "night 2 -> 4: no regression, 14 vanished"
assert_eq "vanished 14 16 87.5 10" \
    "$(jq -r '.warnings[] | select(.code == "vanished") | "\(.code) \(.vanished) \(.old_endpoints) \(.percent) \(.threshold_percent)"' "$TMP/out")" \
    "diff JSON: the vanished warning carries the counts"
grep -q "^tlsweep diff: warning: 14 of the 16 endpoints of scan 2 (87.5 %) are missing from scan 4, more than 10 %" "$TMP/err" \
    || fail "no stderr warning about vanished endpoints: $(cat "$TMP/err")"
pass "--fail-on regression implies vanished:10% (exit 1, warned)"
assert_eq "targets_differ 2 4" "$(jq -r '.warnings[] | select(.code == "targets_differ") | "\(.code) \(.old_scan) \(.new_scan)"' "$TMP/out")" \
    "diff JSON: the target lists differ"
grep -q "scans 2 and 4 scanned different target lists" "$TMP/err" || fail "no stderr warning about the target lists"
pass "diff warns that the target lists differ"
expect_rc 0 "$TLSWEEP" diff --db "$DB"
grep -q "14 of the 16 endpoints of scan 2 (87.5 %) are missing" "$TMP/err" || fail "no warning without --fail-on"
grep -q "^Warning: 14 of the 16 endpoints" "$TMP/out" || fail "text diff lacks the vanished warning"
pass "without --fail-on: exit 0, still warned (stderr and text)"
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on regression,vanished:100%
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on regression --fail-on vanished:95%
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on vanished:85%
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on vanished
expect_rc 0 "$TLSWEEP" diff --db "$DB" 1 2 --fail-on regression,vanished:0%
grep -q "vanished\|missing" "$TMP/err" && fail "a warning about vanished endpoints where none vanished"
pass "nights 1 -> 2: nothing vanished, nothing said"
for bad in vanished:101% vanished:x vanished:-1 "regression," ",vanished" "vanished:10%%" everything; do
    expect_rc 2 "$TLSWEEP" diff --db "$DB" --fail-on "$bad"
    grep -q "^tlsweep diff: --fail-on" "$TMP/err" || fail "--fail-on $bad: message"
done

# Two scans judged against different trust stores (both fingerprints set).
sqlite3 "$DB" "UPDATE scans SET trust_store = 'file:/a.pem', trust_sha256 = printf('%064d', id) WHERE id IN (1, 2)"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 1 2 --format json
assert_eq "trust_differs 1 2" "$(jq -r '.warnings[] | select(.code == "trust_differs") | "\(.code) \(.old_scan) \(.new_scan)"' "$TMP/out")" \
    "diff JSON: the trust stores differ"
grep -q "scans 1 and 2 judged certificates against different trust stores" "$TMP/err" || fail "no stderr warning about trust"
sqlite3 "$DB" "UPDATE scans SET trust_sha256 = NULL WHERE id = 1"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 1 2 --format json
assert_eq 0 "$(jq '[.warnings[] | select(.code == "trust_differs")] | length' "$TMP/out")" "no trust warning when one side is unknown"
# Target fingerprints of unequal length (16 hex digits before schema 5) are not compared.
sqlite3 "$DB" "UPDATE scans SET targets_sha256 = substr(targets_sha256, 1, 16) WHERE id = 2;
                UPDATE scans SET targets_sha256 = printf('%064d', 4) WHERE id = 4"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 2 4 --format json
assert_eq 0 "$(jq '[.warnings[] | select(.code == "targets_differ")] | length' "$TMP/out")" "fingerprints of unequal length are not compared"

# A partial merge is named wherever it is shown.
sqlite3 "$DB" "UPDATE scans SET partial = 1 WHERE id = 4"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format json
assert_eq "4 true scan_partial" "$(jq -r '"\(.scan.id) \(.scan.partial) \(.warnings[0].code)"' "$TMP/out")" "report JSON: scan_partial"
grep -q "^tlsweep report: warning: scan 4 is partial" "$TMP/err" || fail "no stderr warning about a partial scan"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format prom
grep -qx 'tlsweep_report_warnings{code="scan_partial"} 1' "$TMP/out" || fail "prom gauge for a partial scan"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 2 4 --format json
assert_eq "scan_partial 4" "$(jq -r '.warnings[] | select(.code == "scan_partial") | "\(.code) \(.scan)"' "$TMP/out")" "diff JSON: scan_partial"
pass "a partial merge is named by report and diff"
