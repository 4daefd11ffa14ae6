#!/usr/bin/env bash
# Issue 15: a resumed scan is the scan that was started, and an interrupted
# one never looks finished.
#  1. A sweep with --ports A,B and --now, interrupted by SIGINT, exits 4 and
#     prints a resume command; run exactly as printed (from another
#     directory, its target file's name holding a space and a quote) it
#     finishes the scan: every requested endpoint once, none on port 443.
#  2. --resume with another --now, --ports or target FILE is refused (exit 2,
#     the option and both values named) and leaves the scan as it was;
#     pacing options (-c) may change.
#  3. SIGTERM and SIGHUP interrupt with exit 4 as well.
#  4. The lease: a --resume of a scan another live process runs is refused
#     (exit 3, its pid named); after that process is SIGKILLed the scan
#     resumes and completes, and no lock file is left.  Two new scans into
#     one database at once both finish.
#  5. A scan begun by an older tlsweep (no scan_options rows) resumes with
#     a warning.
#  6. STARTTLS endpoints already stored are not probed again on resume, and
#     the summary counts them as already stored (lab STARTTLS servers).
. "$(dirname "$0")/common.sh"
PEERS="$(dirname "$0")/engine_peers.py"

tarpit=$(free_port)
python3 "$PEERS" tarpit "$tarpit" > "$TMP/tarpit.out" 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do
    grep -q ready "$TMP/tarpit.out" && break
    sleep 0.1
done
grep -q ready "$TMP/tarpit.out" || fail "tarpit did not start"
closed=$(free_port)

# rows_at_least DB N: poll (bounded, 30 s) until the database holds N results.
rows_at_least() {
    local i n
    for i in $(seq 1 300); do
        n=$(sqlite3 -batch -noheader "$1" 'select count(*) from results' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "no $2 rows in $1 after 30 s"
}

# ---- 1. --ports A,B --now, interrupted, resumed exactly as the hint says ----
mkdir -p "$TMP/lists/a dir"
LIST="$TMP/lists/a dir/it's list.txt"
printf '# two /26s, no port: --ports decides\n127.43.0.0/26\n127.43.1.0/26\n' > "$LIST"
want=$((2 * 62 * 2))
ports_sorted=$(printf '%s\n' "$tarpit" "$closed" | sort -n | paste -sd,)
DB="$TMP/ports.db"
(cd "$TMP/lists" && exec "$TLSWEEP" scan --db "$DB" --no-progress --ports "$tarpit,$closed" \
    --now 2027-01-01 --connect-timeout 1 --handshake-timeout 1 -c 16 -j 2 "a dir/it's list.txt") \
    2>"$TMP/p1.err" &
scan_pid=$!
PIDS+=($scan_pid)
rows_at_least "$DB" 20
kill -INT "$scan_pid"
rc=0
wait "$scan_pid" || rc=$?
assert_eq 4 "$rc" "SIGINT: exit 4 ($(grep 'interrupted' "$TMP/p1.err" | head -1))"
id=$(q "select id from scans")
assert_eq interrupted "$(sqlite3 "$DB" "select status from scans")" "scan marked interrupted"
partial=$(sqlite3 "$DB" 'select count(*) from results')
[ "$partial" -lt "$want" ] || fail "the scan finished before the interrupt ($partial of $want)"
hint=$(sed -n 's/^interrupted: [0-9]* endpoints stored; resume with: //p' "$TMP/p1.err")
[ -n "$hint" ] || fail "no resume hint: $(cat "$TMP/p1.err")"
case "$hint" in
*"--ports $ports_sorted"*"--now 2027-01-01T00:00:00Z"*) pass "the hint names --ports and --now: $hint" ;;
*) fail "hint lacks --ports/--now: $hint" ;;
esac
assert_eq "$partial" "$(sed -n 's/^interrupted: \([0-9]*\) endpoints stored.*/\1/p' "$TMP/p1.err")" \
    "the hint's stored count is the database's"
# scans.options is complete and scan_options holds each option.
assert_eq "ports=$ports_sorted|now=2027-01-01T00:00:00Z|connect-timeout=1|file=$LIST" \
    "$(sqlite3 "$DB" "select group_concat(name || '=' || value, '|') from (select name, value
        from scan_options where scan_id = $id and name in ('ports', 'now', 'connect-timeout', 'file')
        order by case name when 'ports' then 1 when 'now' then 2 when 'connect-timeout' then 3 else 4 end)")" \
    "scan_options rows (ports sorted, the file's absolute path)"
opts=$(sqlite3 "$DB" "select options from scans where id = $id")
case "$opts" in
*"--ports $ports_sorted"*"--now 2027-01-01T00:00:00Z"*"--handshake-timeout 1"*"--concurrency 16"*"--threads 2"*) pass "scans.options is complete" ;;
*) fail "scans.options: $opts" ;;
esac

# ---- 2. contradicting options are refused; the scan stays as it was ----
refused() {
    local what=$1
    shift
    local rc=0
    "$TLSWEEP" scan --db "$DB" --no-progress --resume "$id" "$@" >/dev/null 2>"$TMP/ref.err" || rc=$?
    [ "$rc" = 2 ] || fail "resume with $what: exit $rc, expected 2: $(cat "$TMP/ref.err")"
    grep -q -e "$what" "$TMP/ref.err" || fail "resume with $what: the option is not named: $(cat "$TMP/ref.err")"
    assert_eq "interrupted|$partial" "$(sqlite3 "$DB" "select status || '|' || (select count(*) from results) from scans where id = $id")" \
        "resume with $what refused ($(cat "$TMP/ref.err"))"
}
refused "--now" --now 2028-01-01
grep -q "2027-01-01T00:00:00Z" "$TMP/ref.err" && grep -q "2028-01-01T00:00:00Z" "$TMP/ref.err" ||
    fail "--now refusal does not name both values: $(cat "$TMP/ref.err")"
refused "--ports" --ports 443
refused "--quick" --quick
refused "target FILEs" "$TMP/other.txt"
ls "$TMP"/ports.db-lock.* >/dev/null 2>&1 && fail "a refused resume left a lock file"
pass "no lock file left by the refusals"

# Run the hint exactly as printed (tlsweep found on PATH), from another
# directory; -c is a pacing option and may be added.
mkdir -p "$TMP/elsewhere" "$TMP/bin"
ln -s "$TLSWEEP" "$TMP/bin/tlsweep"
rc=0
(cd "$TMP/elsewhere" && PATH="$TMP/bin:$PATH" && eval "$hint -c 64 --no-progress") \
    2>"$TMP/p2.err" || rc=$?
assert_eq 0 "$rc" "the printed resume command works ($(grep 'scan 1' "$TMP/p2.err"))"
grep -q "$partial already stored" "$TMP/p2.err" || fail "resume summary: $(cat "$TMP/p2.err")"
assert_eq "done|$want|$want|0|0" \
    "$(sqlite3 "$DB" "select (select status from scans where id = $id), count(*),
        count(distinct ip || ':' || port), sum(port = 443), sum(port not in ($tarpit, $closed)) from results")" \
    "every requested endpoint stored once, none on port 443"
assert_eq 64 "$(sqlite3 "$DB" "select length(targets_sha256) from scans where id = $id")" \
    "targets_sha256 is a full SHA-256"
[ -z "$(ls "$TMP"/ports.db-lock.* 2>/dev/null)" ] || fail "lock file left after the resume"
pass "no lock file left after the scan"

# ---- 3. SIGTERM and SIGHUP are interruptions (exit 4) ----
printf '127.44.0.0/24:%s\n' "$tarpit" > "$TMP/slow.txt"
for sig in TERM HUP; do
    DB="$TMP/sig$sig.db"
    # --progress: its first line comes from the main loop's timer, so once
    # it shows, the loop watches the signals (a signal before that, during
    # start-up, also exits 4 but leaves the scan 'running'; ASan start-up
    # can take longer than any fixed sleep).
    "$TLSWEEP" scan --db "$DB" --progress --connect-timeout 1 --handshake-timeout 30 -c 8 \
        "$TMP/slow.txt" 2>"$TMP/sig.err" &
    scan_pid=$!
    PIDS+=($scan_pid)
    for i in $(seq 1 300); do
        grep -q "targets" "$TMP/sig.err" 2>/dev/null && break
        sleep 0.1
    done
    kill -$sig "$scan_pid"
    rc=0
    wait "$scan_pid" || rc=$?
    assert_eq "4|interrupted" "$rc|$(sqlite3 "$DB" 'select status from scans')" "SIG$sig: exit 4, scan interrupted"
done

# ---- 4. the lease ----
DB="$TMP/lease.db"
"$TLSWEEP" scan --db "$DB" --no-progress --connect-timeout 1 --handshake-timeout 2 -c 8 -j 1 \
    "$TMP/slow.txt" 2>"$TMP/l1.err" &
first=$!
PIDS+=($first)
rows_at_least "$DB" 8
rc=0
"$TLSWEEP" scan --db "$DB" --no-progress --resume 2>"$TMP/l2.err" || rc=$?
assert_eq 3 "$rc" "a second --resume of a running scan is refused"
grep -q "being run by another live process (pid $first host " "$TMP/l2.err" ||
    fail "the refusal does not name the process: $(cat "$TMP/l2.err")"
pass "the refusal names pid $first"
kill -0 "$first" || fail "the refused resume disturbed the running scan"
assert_eq running "$(sqlite3 "$DB" 'select status from scans')" "the running scan is left alone"
kill -KILL "$first"
wait "$first" 2>/dev/null || true
stored=$(sqlite3 "$DB" 'select count(*) from results')
rc=0
"$TLSWEEP" scan --db "$DB" --no-progress --resume -c 256 2>"$TMP/l3.err" || rc=$?
assert_eq 0 "$rc" "after SIGKILL the scan resumes ($(grep 'scan 1' "$TMP/l3.err"))"
assert_eq "done|254|254" "$(sqlite3 "$DB" "select (select status from scans), count(*), count(distinct ip) from results")" \
    "resumed after SIGKILL: every endpoint once ($stored stored before)"
[ -z "$(ls "$TMP"/lease.db-lock.* 2>/dev/null)" ] || fail "lock file left after the resume"
pass "the stale lock file of the killed scan is gone"

# Two new scans into one database at once: both finish, each its own scan.
DB="$TMP/two.db"
printf '127.45.0.0/25:%s\n' "$closed" > "$TMP/closed.txt"
"$TLSWEEP" scan --db "$DB" --no-progress --label a "$TMP/closed.txt" 2>"$TMP/a.err" &
pa=$!
"$TLSWEEP" scan --db "$DB" --no-progress --label b "$TMP/closed.txt" 2>"$TMP/b.err" &
pb=$!
rca=0; rcb=0
wait $pa || rca=$?
wait $pb || rcb=$?
assert_eq "0 0" "$rca $rcb" "two new scans at once both exit 0"
assert_eq "a|done|126,b|done|126" \
    "$(sqlite3 "$DB" "select group_concat(label || '|' || status || '|' || n_endpoints, ',') from (select * from scans order by label)")" \
    "two new scans at once: both done, complete"

# ---- 5. a scan without stored options (an older tlsweep) ----
DB="$TMP/old.db"
"$TLSWEEP" scan --db "$DB" --no-progress "$TMP/closed.txt" 2>/dev/null || fail "old: first scan"
sqlite3 "$DB" "update scans set status = 'interrupted'; delete from scan_options;
               delete from results where rowid % 2 = 0"
rc=0
"$TLSWEEP" scan --db "$DB" --no-progress --resume "$TMP/closed.txt" 2>"$TMP/old.err" || rc=$?
assert_eq 0 "$rc" "a scan of an older tlsweep resumes"
grep -q "warning: scan 1 was begun by an older tlsweep that stored no options" "$TMP/old.err" ||
    fail "no warning: $(cat "$TMP/old.err")"
assert_eq "done|126" "$(sqlite3 "$DB" "select status || '|' || (select count(*) from results) from scans")" \
    "older scan completed, with a warning"

# ---- 6. STARTTLS endpoints are keyed by protocol on resume ----
LAB="$TMP/lab"
"$TLSWEEP_REAL" lab up --daemon --dir "$LAB" --base 127.87.0.0 --port 47443 --dns-port 47353 \
    >"$TMP/lab.out" 2>&1 || fail "lab up: $(cat "$TMP/lab.out")"
PIDS+=("$(cat "$LAB/lab.pid")")
trap '"$TLSWEEP_REAL" lab down --dir "$LAB" >/dev/null 2>&1 || true; cleanup' EXIT
"$TLSWEEP" lab targets --dir "$LAB" | grep '^[a-z0-9]*://' > "$TMP/stls.txt"
n_stls=$(wc -l < "$TMP/stls.txt")
[ "$n_stls" -ge 9 ] || fail "the lab lists only $n_stls STARTTLS targets"
# The same hosts and ports as direct TLS: distinct endpoints.
sed 's#^[a-z0-9]*://##' "$TMP/stls.txt" | sort -u > "$TMP/direct.txt"
n_direct=$(wc -l < "$TMP/direct.txt")
cat "$TMP/stls.txt" "$TMP/direct.txt" > "$TMP/both.txt"
DB="$TMP/stls.db"
"$TLSWEEP" scan --lab="$LAB" --db "$DB" --no-progress --quick --connect-timeout 2 \
    --handshake-timeout 2 --dns-timeout 1 --dns-tries 1 "$TMP/both.txt" 2>"$TMP/s1.err" ||
    fail "STARTTLS scan: $(tail -3 "$TMP/s1.err")"
total=$(sqlite3 "$DB" 'select count(*) from results')
[ "$(sqlite3 "$DB" 'select count(*) from results where starttls is not null')" -ge 9 ] ||
    fail "STARTTLS rows missing"
# A crash after the last commit: every row is stored, the scan still 'running'.
sqlite3 "$DB" "update scans set status = 'running', finished_at = null"
rc=0
"$TLSWEEP" scan --lab="$LAB" --db "$DB" --no-progress --resume 2>"$TMP/s2.err" || rc=$?
assert_eq 0 "$rc" "STARTTLS scan resumed"
n_targets=$(sqlite3 "$DB" 'select count(*) from (select distinct host, port, sni, starttls from results)')
grep -q "scan 1 done: 0 endpoints in .*, $n_targets already stored" "$TMP/s2.err" ||
    fail "STARTTLS endpoints probed again on resume: $(head -3 "$TMP/s2.err")"
pass "no endpoint probed again; $n_targets already stored ($n_stls STARTTLS lines)"
assert_eq "$total|done" "$(sqlite3 "$DB" "select (select count(*) from results) || '|' || status from scans")" \
    "STARTTLS resume: rows unchanged, scan done"
