#!/usr/bin/env bash
# Issue 8, the database side: a database locked by another process, on a
# read-only file system, on a full disk: a clear error naming the file and
# the cause, exit 3, nothing half-written (integrity_check ok, the scan row
# never left 'running').  Two scans on one database at once both complete
# (WAL, busy timeout, the writer's retry).  File-descriptor exhaustion
# (`ulimit -n 256` with -c 10000): -c is lowered with a warning and no
# endpoint fails as tcp_* because of the scanner's own limits.
# The read-only and full-disk cases mount small tmpfs file systems (root):
# without root they are skipped, unless CI is set (then they fail).
. "$(dirname "$0")/common.sh"

printf '127.0.0.1:%s\n' "$(free_port)" > "$TMP/one.txt"
closed=$(free_port)

expect_fail3() { # DESC PATTERN CMD...: exit 3 and PATTERN in stderr
    local desc=$1 pat=$2 rc=0
    shift 2
    "$@" >/dev/null 2>"$TMP/err" || rc=$?
    [ "$rc" = 3 ] || fail "$desc: exit $rc, expected 3: $(cat "$TMP/err")"
    grep -qE "$pat" "$TMP/err" || fail "$desc: error lacks /$pat/: $(cat "$TMP/err")"
    pass "$desc: exit 3, '$(tail -1 "$TMP/err")'"
}

# ---- locked by another process ----
DB="$TMP/locked.db"
"$TLSWEEP" scan --db "$DB" --no-progress "$TMP/one.txt" 2>/dev/null || fail "first scan failed"
python3 - "$DB" "$TMP/locked.flag" <<'EOF' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(20)
EOF
lockpid=$!
PIDS+=($lockpid)
for _ in $(seq 1 100); do [ -e "$TMP/locked.flag" ] && break; sleep 0.1; done
[ -e "$TMP/locked.flag" ] || fail "the lock holder did not start"
expect_fail3 "database locked by another process" "locked.db: .*locked" \
    "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/one.txt"
kill "$lockpid" 2>/dev/null || true
wait "$lockpid" 2>/dev/null || true
assert_eq "ok|1|done" "$(q "pragma integrity_check; select count(*) || '|' || max(status) from scans" | paste -sd'|')" \
    "locked: nothing half-written"

# ---- two scans on one database at once ----
DB="$TMP/two.db"
"$TLSWEEP" scan --db "$DB" --no-progress "$TMP/one.txt" 2>/dev/null || fail "setup scan failed"
echo "127.70.0.0/19:$closed" > "$TMP/t1.txt"
echo "127.71.0.0/19:$closed" > "$TMP/t2.txt"
"$TLSWEEP" scan --db "$DB" --no-progress -c 1000 --rate 10000 "$TMP/t1.txt" 2>"$TMP/a.err" &
a=$!
"$TLSWEEP" scan --db "$DB" --no-progress -c 1000 --rate 10000 "$TMP/t2.txt" 2>"$TMP/b.err" &
b=$!
rca=0; rcb=0
wait "$a" || rca=$?
wait "$b" || rcb=$?
assert_eq "0 0" "$rca $rcb" "two concurrent scans both exit 0 ($(tail -1 "$TMP/a.err"); $(tail -1 "$TMP/b.err"))"
assert_eq "3|3|8190,8190" "$(q "select count(*), sum(status = 'done'), (select group_concat(n, ',') from (select count(*) n from results where scan_id > 1 group by scan_id)) from scans")" \
    "both scans done with every endpoint"
assert_eq ok "$(q 'pragma integrity_check')" "two writers: integrity"

# ---- descriptor exhaustion ----
tarpit=$(free_port)
python3 "$(dirname "$0")/engine_peers.py" tarpit "$tarpit" > "$TMP/tarpit.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q ready "$TMP/tarpit.out" && break; sleep 0.1; done
printf '127.72.0.0/23:%s\n127.73.0.0/22:%s\n' "$tarpit" "$closed" > "$TMP/fd.txt"
DB="$TMP/fd.db"
rc=0
bash -c 'ulimit -n 256 && exec "$@"' _ "$TLSWEEP" scan --db "$DB" --no-progress -c 10000 \
    --handshake-timeout 1 --connect-timeout 2 "$TMP/fd.txt" 2>"$TMP/fd.err" || rc=$?
assert_eq 0 "$rc" "scan under ulimit -n 256 ($(tail -1 "$TMP/fd.err"))"
grep -q -- "-c 10000 needs .* using -c" "$TMP/fd.err" || fail "no warning about lowering -c: $(cat "$TMP/fd.err")"
pass "warned: $(grep -- '-c 10000 needs' "$TMP/fd.err")"
assert_eq "handshake_timeout|510,tcp_refused|1022" \
    "$(q "select group_concat(class || '|' || n) from (select class, count(*) n from results group by class order by class)")" \
    "no endpoint failed because of our own descriptor limit"

# ---- read-only file system and full disk (tmpfs mounts) ----
MNT="$TMP/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
    [ -n "${CI:-}" ] && fail "cannot mount a tmpfs for the read-only and full-disk cases"
    echo "SKIP: cannot mount tmpfs (not root?): read-only and full-disk cases not run"
    exit 77
fi
cleanup_mnt() { umount "$MNT" 2>/dev/null || true; cleanup; }
trap cleanup_mnt EXIT

"$TLSWEEP" scan --db "$MNT/ro.db" --no-progress "$TMP/one.txt" 2>/dev/null || fail "tmpfs scan failed"
mount -o remount,ro "$MNT" || fail "remount ro failed"
expect_fail3 "existing database on a read-only file system" "ro\.db" \
    "$TLSWEEP" scan --db "$MNT/ro.db" --no-progress "$TMP/one.txt"
expect_fail3 "new database on a read-only file system" "new\.db" \
    "$TLSWEEP" scan --db "$MNT/new.db" --no-progress "$TMP/one.txt"
assert_eq "1|done" "$(sqlite3 -batch -noheader "file:$MNT/ro.db?immutable=1" "select count(*) || '|' || max(status) from scans")" \
    "read-only: the old scan untouched"
umount "$MNT"

mount -t tmpfs -o size=256k tmpfs "$MNT" || fail "tmpfs mount failed"
echo "127.74.0.0/16:$closed" > "$TMP/big.txt"
expect_fail3 "full disk while writing results" "full\.db: database or disk is full" \
    "$TLSWEEP" scan --db "$MNT/full.db" --no-progress -c 2000 "$TMP/big.txt"
DB="$MNT/full.db"
assert_eq ok "$(q 'pragma integrity_check')" "full disk: integrity"
st=$(q 'select status from scans')
case "$st" in
interrupted) pass "full disk: the scan is marked interrupted (resumable), not left running" ;;
"") pass "full disk: no scan row (the disk filled before it)" ;;
*) fail "full disk: scan left '$st'" ;;
esac
