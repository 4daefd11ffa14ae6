#!/usr/bin/env bash
# `tlsweep diff`: golden output for every format on the fixture (scan 1 ->
# scan 2 holds one or more of every kind of change; scan 3, newer, is
# interrupted: every format warns about it), the regression rules and
# --fail-on exit codes (regression, vanished[:N%]), default scan choice
# (interrupted scans are never picked), and usage/database errors.
# UPDATE_GOLDEN=1 rewrites tests/golden/diff.* from the current output.
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

for fmt in text json csv md html; do
    expect_rc 0 "$TLSWEEP" diff --db "$DB" --format "$fmt" -o "$TMP/diff.$fmt"
    golden "diff.$fmt" "$TMP/diff.$fmt"
done

J="$TMP/diff.json"
jq -e . "$J" >/dev/null || fail "jq rejects the diff JSON"
assert_eq 1 "$(sqlite3 :memory: "SELECT json_valid(readfile('$J'))")" "json_valid accepts the diff JSON"
assert_eq "1 2" "$(jq -r '"\(.old.id) \(.new.id)"' "$J")" "default: the two latest done scans (interrupted 3 skipped)"

# Every kind of change, on the endpoint that carries it.
kind() { # KIND HOST -> "old new regression"
    jq -r --arg k "$1" --arg h "$2" \
        '.changes[] | select(.kind == $k and .host == $h) | "\(.old) \(.new) \(.regression)"' "$J"
}
assert_eq "null sni_required false" "$(kind new v6.example)" "new endpoint"
assert_eq "ok null false" "$(kind vanished vanished.example)" "vanished endpoint"
assert_eq "ok tcp_refused true" "$(kind failure_new refused.example)" "failure appeared (regression)"
assert_eq "null sni_required true" "$(kind failure_new v6.example)" "a new endpoint that fails is a new failure"
assert_eq "tcp_timeout ok false" "$(kind failure_fixed fixed.example)" "failure fixed"
assert_eq "ok incomplete_chain true" "$(kind class_changed classchg.example)" "class worse by precedence (regression)"
assert_eq "self_signed weak_signature false" "$(kind class_changed better.example)" "class better by precedence"
assert_eq "B C true" "$(kind grade_down legacy.example)" "grade down (regression)"
assert_eq "A- A false" "$(kind grade_up rotated.example)" "grade up"
assert_eq "aa06 aa07 false" "$(kind cert_rotated rotated.example)" "certificate rotated"
assert_eq "2026-01-20T00:00:00Z 2027-01-20T00:00:00Z" \
    "$(jq -r '.changes[] | select(.kind=="cert_rotated") | "\(.old_not_after) \(.new_not_after)"' "$J")" "rotation carries old and new expiry"
assert_eq "2026-01-15T00:00:00Z 2026-01-15T00:00:00Z true" "$(kind expiring soon.example)" "leaf newly within the expiry threshold (regression)"
assert_eq "14 5" "$(jq -r '.changes[] | select(.kind=="expiring" and .host=="soon.example") | "\(.old_days_left) \(.new_days_left)"' "$J")" "days counted from each scan's time"
assert_eq "TLSv1.2 TLSv1 false" "$(kind protocol_changed legacy.example)" "protocol change"
assert_eq "TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 false" "$(kind cipher_changed rotated.example)" "cipher change"
assert_eq "" "$(jq -r '.changes[] | select(.host=="moved.example" or .host=="good.example" or .host=="dns.example") | .kind' "$J")" \
    "unchanged endpoints (and an address change alone) report nothing"
assert_eq 6 "$(jq ".summary.regressions" "$J")" "regression count"
assert_eq "$(jq '.changes | length' "$J")" "$(jq '[.summary | to_entries[] | select(.key != "regressions") | .value] | add' "$J")" "summary counts match the changes"

# Summary first in text.
head -5 "$TMP/diff.text" | grep -q "^Summary:" || fail "text summary not first"
pass "text: summary first"
python3 - "$TMP/diff.csv" <<'PY' || fail "diff CSV does not read back"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
assert all(len(r) == len(rows[0]) for r in rows)
assert len(rows) - 1 == 19, len(rows)
assert any(r[4] == "'@evil.example" for r in rows), "formula prefix not neutralised"
PY
pass "diff CSV reads back (19 changes: the fixture gained noncompliant_new, formula-safe)"

# --fail-on regression exit codes.
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on regression
expect_rc 0 "$TLSWEEP" diff --db "$DB"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 2 2 --fail-on regression
grep -q "No changes" "$TMP/out" || fail "identical scans report changes"
expect_rc 1 "$TLSWEEP" diff --db "$DB" 2 1 --fail-on regression --format json
assert_eq "fixed.example:failure_new legacy.example:grade_up refused.example:failure_fixed" \
    "$(jq -r '[.changes[] | select(.host | test("^(fixed|legacy|refused)")) | select(.kind | test("failure|grade")) | "\(.host):\(.kind)"] | sort | join(" ")' "$TMP/out")" \
    "reverse direction (2 -> 1) swaps the verdicts"
# Only the expiry rule: a copy where scan 2 differs from 1 only in time.
cp "$DB" "$TMP/exp.db"
sqlite3 "$TMP/exp.db" "DELETE FROM results WHERE scan_id = 2; INSERT INTO results(scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at) SELECT 2, target, host, ip, port, sni, class, issues, tls_version, cipher, grade, cert_sha256, detail, elapsed_ms, scanned_at FROM results WHERE scan_id = 1"
expect_rc 1 "$TLSWEEP" diff --db "$TMP/exp.db" 1 2 --fail-on regression --format json
assert_eq "expiring rotated.example,expiring soon.example" "$(jq -r '[.changes[] | "\(.kind) \(.host)"] | join(",")' "$TMP/out")" "expiry alone is a regression"
expect_rc 0 "$TLSWEEP" diff --db "$TMP/exp.db" 1 2 --fail-on regression --expiry-threshold 3
# Only a grade going down.
cp "$TMP/exp.db" "$TMP/grade.db"
sqlite3 "$TMP/grade.db" "UPDATE results SET grade = 'A-' WHERE scan_id = 2 AND host = 'good.example'"
expect_rc 1 "$TLSWEEP" diff --db "$TMP/grade.db" 1 2 --fail-on regression --expiry-threshold 3
grep -q "A+ -> A-  REGRESSION" "$TMP/out" || fail "grade down not shown"

# Scan selection.
expect_rc 0 "$TLSWEEP" diff --db "$DB" 1 --format json
assert_eq "1 2" "$(jq -r '"\(.old.id) \(.new.id)"' "$TMP/out")" "one id: NEW is the latest done scan"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 2 3 --format json
grep -q "scan 3 is interrupted" "$TMP/err" || fail "explicit interrupted scan not warned about"
pass "explicit interrupted scan allowed, with a warning"
cp "$DB" "$TMP/one.db"
sqlite3 "$TMP/one.db" "UPDATE scans SET status = 'interrupted' WHERE id = 1"
expect_rc 2 "$TLSWEEP" diff --db "$TMP/one.db"
grep -q "fewer than 2 scans with status done" "$TMP/err" || fail "message for too few scans"

# Usage and database errors.
expect_rc 0 "$TLSWEEP" diff --help
for w in Options Formats Examples text json csv md html; do grep -q "$w" "$TMP/out" || fail "diff --help lacks $w"; done
expect_rc 2 "$TLSWEEP" diff --db "$DB" --format xml
expect_rc 2 "$TLSWEEP" diff --db "$DB" 1 99
grep -q "no scan with id 99" "$TMP/err" || fail "unknown scan id not named"
expect_rc 2 "$TLSWEEP" diff --db "$DB" 1 2 3
expect_rc 2 "$TLSWEEP" diff --db "$DB" --fail-on everything
expect_rc 2 "$TLSWEEP" diff --db "$DB" --expiry-threshold -1
expect_rc 3 "$TLSWEEP" diff --db "$TMP/missing.db"
grep -q "missing.db" "$TMP/err" || fail "missing database not named"

# --fail-on noncompliant[:PROFILE] (issue 13): legacy.example newly fails
# intermediate (TLS 1.0 in scan 2); no endpoint newly fails old; a
# profile that does not exist is a usage error; regression still works.
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant:intermediate
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant:old
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant:modern
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant:modern,noncompliant:intermediate
expect_rc 2 "$TLSWEEP" diff --db "$DB" --fail-on noncompliant:strict
expect_rc 0 "$TLSWEEP" diff --db "$DB" 2 2 --fail-on noncompliant:intermediate,regression

# --fail-on vanished[:N%] on the fixture: 1 of scan 1's 11 endpoints (9.1 %)
# is missing from scan 2.
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on vanished
expect_rc 1 "$TLSWEEP" diff --db "$DB" --fail-on vanished:9% --format json
assert_eq "vanished 1 11 9 9" "$(jq -r '.warnings[] | select(.code == "vanished") | "\(.code) \(.vanished) \(.old_endpoints) \(.percent) \(.threshold_percent)"' "$TMP/out")" \
    "vanished warning in JSON"
expect_rc 0 "$TLSWEEP" diff --db "$DB" --fail-on vanished:10%
# The whole estate vanished (an empty NEW): --fail-on regression fails.
cp "$DB" "$TMP/empty.db"
sqlite3 "$TMP/empty.db" "DELETE FROM results WHERE scan_id = 2"
expect_rc 1 "$TLSWEEP" diff --db "$TMP/empty.db" --fail-on regression
grep -q "11 of the 11 endpoints of scan 1 (100.0 %) are missing from scan 2" "$TMP/err" || fail "empty NEW not warned"
grep -q "^Warning: 11 of the 11 endpoints" "$TMP/out" || fail "empty NEW: no warning in the text"
expect_rc 0 "$TLSWEEP" diff --db "$TMP/empty.db" --format md
grep -q "^> \*\*Warning:\*\* 11 of the 11 endpoints" "$TMP/out" || fail "empty NEW: no warning in md"
pass "an empty NEW fails --fail-on regression and is warned about in every format"

# help: the reference for class order is README.md's class table, not DESIGN.
expect_rc 0 "$TLSWEEP" diff --help
grep -q "DESIGN" "$TMP/out" && fail "diff --help cites DESIGN, which is not in the repository"
grep -q "class table in README.md" "$TMP/out" || fail "diff --help does not name the class table"
grep -q "vanished\[:N%\]" "$TMP/out" || fail "diff --help does not document vanished"
pass "diff --help documents vanished and cites README.md's class table"

# Every message of diff carries "tlsweep diff: ".
for args in "--bogus" "--db" "-x" "--format xml" "--fail-on nope" "1 99" "1 2 3"; do
    # shellcheck disable=SC2086
    expect_rc 2 "$TLSWEEP" diff --db "$DB" $args
    if grep -v "^tlsweep diff: " "$TMP/err" | grep -q .; then fail "unprefixed message for '$args': $(cat "$TMP/err")"; fi
done
pass "usage errors are prefixed 'tlsweep diff: '"

# Issue 16: diff OLD.db NEW.db compares the latest done scan of each file:
# scan 1 alone in one file, scan 2 (newest done) in the other gives the
# same changes as diff 1 2 in one file.  --db with two files is refused.
cp "$DB" "$TMP/old.db"
sqlite3 "$TMP/old.db" "DELETE FROM scans WHERE id <> 1"
expect_rc 0 "$TLSWEEP" diff --db "$DB" 1 2 --format json -o "$TMP/one.json"
expect_rc 0 "$TLSWEEP" diff "$TMP/old.db" "$DB" --format json -o "$TMP/two.json"
assert_eq "$(jq -c '[.summary, .changes]' "$TMP/one.json")" "$(jq -c '[.summary, .changes]' "$TMP/two.json")" \
    "diff OLD.db NEW.db: the same changes as two scans of one file"
grep -q -- "--resume=3 --db $DB" "$TMP/err" || fail "NEW.db's warning does not name NEW.db: $(cat "$TMP/err")"
expect_rc 2 "$TLSWEEP" diff --db "$DB" "$TMP/old.db" "$DB"
expect_rc 3 "$TLSWEEP" diff "$TMP/old.db" "$TMP/missing.db"
grep -q "^tlsweep diff: .*missing.db" "$TMP/err" || fail "a missing NEW.db is not named: $(cat "$TMP/err")"
pass "diff OLD.db NEW.db: errors"
