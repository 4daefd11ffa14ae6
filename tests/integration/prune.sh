#!/usr/bin/env bash
# `tlsweep prune` (issue 9, retention): on real scans of a loopback fleet
# whose TLS endpoint rotates its certificate, --keep and --older-than remove
# the right scans with their results and chains, then the certificates no
# scan uses; a 'running' scan is never touched, also while a scan really is
# writing to the database (and VACUUM waits for another day); --dry-run
# changes nothing and announces what the real run removes; --no-vacuum
# leaves free pages; exit codes 2 (usage) and 3 (database).
. "$(dirname "$0")/common.sh"
cd "$TMP"

expect_rc() { # WANT CMD...
    local want=$1; shift
    local rc=0
    "$@" > out 2> err </dev/null || rc=$?
    [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat err)"
    pass "'${*#"$TLSWEEP" }' exits $want"
}

# --- usage and database errors ---
expect_rc 0 "$TLSWEEP" prune --help
grep -q -- '--older-than DAYS' out || fail "help lacks --older-than"
expect_rc 2 "$TLSWEEP" prune --db x.db
expect_rc 2 "$TLSWEEP" prune --db x.db --keep -1
expect_rc 2 "$TLSWEEP" prune --db x.db --keep abc
expect_rc 2 "$TLSWEEP" prune --db x.db --keep 3x
expect_rc 2 "$TLSWEEP" prune --db x.db --older-than ''
expect_rc 2 "$TLSWEEP" prune --db x.db --keep 1 --now never
expect_rc 2 "$TLSWEEP" prune --db x.db --keep 1 extra
expect_rc 2 "$TLSWEEP" prune --no-such-option
# Issue 16: --keep 0 alone empties the history, so it needs --force.
expect_rc 2 "$TLSWEEP" prune --db x.db --keep 0
grep -q '^tlsweep prune: --keep 0 removes every finished scan; add --force' err || fail "--keep 0 message: $(cat err)"
[ ! -e x.db ] || fail "prune --keep 0 without --force opened x.db"
pass "--keep 0 without --force: exit 2 before the database is opened"
expect_rc 3 "$TLSWEEP" prune --db missing.db --keep 1
[ ! -e missing.db ] || fail "prune created missing.db"
printf 'not a database at all, but long enough to look like a header......\n' > junk.db
expect_rc 3 "$TLSWEEP" prune --db junk.db --keep 1
"$TLSWEEP" prune --help | grep -q 'tlsweep prune' && "$TLSWEEP" --help | grep -q '^  prune ' \
    || fail "prune missing from tlsweep --help"
pass "prune is listed in tlsweep --help"

# --- five real scans; the TLS endpoint's certificate rotates after scan 2 ---
make_cert "$TMP" old.test
make_cert "$TMP" new.test
tls=$(free_port)
closed=$(free_port)
start_tls() { # NAME
    openssl s_server -quiet -www -accept "127.0.0.1:$tls" -cert "$1.crt" -key "$1.key" \
        >/dev/null 2>&1 </dev/null &
    TLS_PID=$!
    PIDS+=($TLS_PID)
    wait_port 127.0.0.1 "$tls"
}
printf '127.0.0.1:%s probe.test\n127.42.0.0/22:%s\n' "$tls" "$closed" > targets.txt
ENDPOINTS=$((1 + 1022))
DB=fleet.db
scan() { "$TLSWEEP" scan --db "$DB" --no-progress --quick -c 500 --connect-timeout 2 \
    --handshake-timeout 3 --label nightly "$@" targets.txt 2>> scans.err || fail "scan failed: $(tail -3 scans.err)"; }
start_tls old.test
scan; scan
kill "$TLS_PID"; wait "$TLS_PID" 2>/dev/null || true
start_tls new.test
scan; scan; scan
# Nightly dates, scan 1 left 'running' as by a crash.
q "UPDATE scans SET started_at = printf('2026-01-%02dT02:30:00Z', id),
                    finished_at = printf('2026-01-%02dT02:40:00Z', id);
   UPDATE scans SET status = 'running' WHERE id = 1"
OLD=$(openssl x509 -in old.test.crt -outform DER | sha256sum | cut -c1-64)
NEW=$(openssl x509 -in new.test.crt -outform DER | sha256sum | cut -c1-64)
assert_eq "5 $((5 * ENDPOINTS)) 2" "$(q "SELECT (SELECT count(*) FROM scans) || ' ' || (SELECT count(*) FROM results) || ' ' || (SELECT count(*) FROM certs)")" \
    "5 scans of $ENDPOINTS endpoints, 2 certificates"
assert_eq "1 1" "$(q "SELECT (SELECT count(*) FROM certs WHERE sha256 = '$OLD') || ' ' || (SELECT count(*) FROM certs WHERE sha256 = '$NEW')")" \
    "the certificates are the served ones"

# Each scan's scan_options rows (issue 15) go with it: prune counts them
# as other rows (the scans are alike, so each has as many).
OPTROWS=$(q "SELECT count(*) FROM scan_options WHERE scan_id = 2")
[ "$OPTROWS" -gt 0 ] || fail "the scans stored no options"

state() { q "SELECT (SELECT group_concat(id) FROM scans) || ' ' || (SELECT count(*) FROM results) || ' ' || (SELECT count(*) FROM result_chain) || ' ' || (SELECT count(*) FROM certs)"; }

# --- dry run: announces, changes nothing ---
before=$(state)
expect_rc 0 "$TLSWEEP" prune --db "$DB" --keep 2 --dry-run
assert_eq "would remove scan 2 (started 2026-01-02T02:30:00Z, done, $ENDPOINTS results, label 'nightly')" \
    "$(sed -n 1p out)" "dry run names scan 2"
assert_eq "would remove scan 3 (started 2026-01-03T02:30:00Z, done, $ENDPOINTS results, label 'nightly')" \
    "$(sed -n 2p out)" "dry run names scan 3"
assert_eq "would remove 2 scan(s), $((2 * ENDPOINTS)) result(s), 2 chain row(s), $((2 * OPTROWS)) other row(s), 0 certificate(s)" \
    "$(sed -n 3p out)" "dry run counts (old certificate still used by running scan 1)"
assert_eq "$before" "$(state)" "dry run changed nothing"

# --- --keep 2: scans 2 and 3 go, running scan 1 stays, both certificates stay ---
size0=$(stat -c %s "$DB")
expect_rc 0 "$TLSWEEP" prune --db "$DB" --keep 2
grep -q "^removed 2 scan(s), $((2 * ENDPOINTS)) result(s), 2 chain row(s), $((2 * OPTROWS)) other row(s), 0 certificate(s)$" out \
    || fail "unexpected summary: $(cat out)"
grep -q 'VACUUM skipped: a scan is running' out || fail "VACUUM ran beside a running scan: $(cat out)"
grep -q '^left alone: 1 running scan(s)$' out || fail "running scan not reported: $(cat out)"
assert_eq "1,4,5 $((3 * ENDPOINTS)) 3 2" "$(state)" "--keep 2: scans 1 (running), 4, 5 remain with their rows"
assert_eq running "$(q 'SELECT status FROM scans WHERE id = 1')" "the running scan is untouched"

# --- the crashed scan becomes resumable-interrupted; --older-than takes it ---
q "UPDATE scans SET status = 'interrupted' WHERE id = 1"
expect_rc 0 "$TLSWEEP" prune --db "$DB" --older-than 30 --now 2026-01-18
grep -q '^removed 0 scan' out || fail "--older-than 30 removed something: $(cat out)"
expect_rc 0 "$TLSWEEP" prune --db "$DB" --older-than 15 --now 2026-01-18
grep -q '^removing scan 1 (started 2026-01-01T02:30:00Z, interrupted' out || fail "scan 1 not announced: $(cat out)"
grep -q "^removed 1 scan(s), $ENDPOINTS result(s), 1 chain row(s), $OPTROWS other row(s), 1 certificate(s)$" out \
    || fail "unexpected summary: $(cat out)"
grep -q '(VACUUM)$' out || fail "no VACUUM: $(cat out)"
assert_eq "4,5 $((2 * ENDPOINTS)) 2 1" "$(state)" "--older-than 15 as of Jan 18: scan 1 and its certificate gone"
assert_eq "0 $NEW" "$(q "SELECT (SELECT count(*) FROM certs WHERE sha256 = '$OLD') || ' ' || (SELECT sha256 FROM certs)")" \
    "the rotated-away certificate is gone, the served one stays"
assert_eq "ok 0 0" "$(q "SELECT (SELECT integrity_check FROM pragma_integrity_check) || ' ' || (SELECT count(*) FROM pragma_foreign_key_check) || ' ' || (SELECT freelist_count FROM pragma_freelist_count)")" \
    "integrity ok, no dangling rows, no free pages after VACUUM"
size1=$(stat -c %s "$DB")
[ "$size1" -lt "$size0" ] || fail "the file did not shrink: $size0 -> $size1"
pass "the file shrank: $size0 -> $size1 bytes"
expect_rc 0 "$TLSWEEP" report --db "$DB" --format json -o report.json
assert_eq "5 $ENDPOINTS" "$(jq -r '"\(.scan.id) \(.summary.endpoints)"' report.json)" \
    "report reads the pruned database: latest scan 5, every endpoint"

# --- --no-vacuum: pages stay free for the next scan ---
expect_rc 0 "$TLSWEEP" prune --db "$DB" --keep 1 --no-vacuum
grep -q -- '--no-vacuum' out || fail "no --no-vacuum note: $(cat out)"
assert_eq "5 $ENDPOINTS" "$(q "SELECT group_concat(id) || ' ' || (SELECT count(*) FROM results) FROM scans")" "--keep 1: scan 5 remains"
free=$(q 'PRAGMA freelist_count')
[ "$free" -gt 0 ] || fail "--no-vacuum left no free pages"
pass "--no-vacuum leaves $free free pages for the next scan"

# --- prune beside a scan that is really writing ---
tarpit=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$tarpit" &
PIDS+=($!)
wait_port 127.0.0.1 "$tarpit"
printf '127.0.0.1:%s\n127.43.0.0/24:%s\n' "$tarpit" "$closed" > live.txt
"$TLSWEEP" scan --db "$DB" --no-progress --quick --handshake-timeout 4 --label live live.txt 2> live.err &
SCAN_PID=$!
for i in $(seq 1 50); do
    [ "$(q "SELECT count(*) FROM scans WHERE status = 'running'")" = 1 ] && break
    sleep 0.1
done
assert_eq 1 "$(q "SELECT count(*) FROM scans WHERE status = 'running'")" "a live scan is running"
# (The scans only: the live scan is adding results meanwhile.)
before=$(q "SELECT group_concat(id) FROM scans")
expect_rc 2 "$TLSWEEP" prune --db "$DB" --keep 0
assert_eq "$before" "$(q "SELECT group_concat(id) FROM scans")" "--keep 0 without --force removed no scan"
expect_rc 0 "$TLSWEEP" prune --db "$DB" --keep 0 --force
grep -q '^removing scan 5 ' out || fail "scan 5 not removed: $(cat out)"
grep -q 'VACUUM skipped: a scan is running' out || fail "VACUUM beside a live scan: $(cat out)"
rc=0
wait "$SCAN_PID" || rc=$?
assert_eq 0 "$rc" "the live scan finished normally ($(tail -2 live.err | tr '\n' ' '))"
assert_eq "live done 255 handshake_timeout" \
    "$(q "SELECT s.label || ' ' || s.status || ' ' || s.n_endpoints || ' ' || (SELECT class FROM results WHERE port = $tarpit) FROM scans s")" \
    "only the live scan remains, complete"
