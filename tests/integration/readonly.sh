#!/usr/bin/env bash
# Readers who may read the database but not write it (issue 15, item 5):
# another user (nobody, through setpriv) and a read-only mount (a private
# mount namespace, through unshare) run `report` and `diff` on a database
# that real scans wrote.  Without write access and without a non-empty -wal
# the database is opened immutable (URI, so the path is percent-encoded:
# a directory named with % ? # and a space); with a non-empty -wal SQLite
# reads it through an existing -shm, and when no -shm can be made the error
# says why and what to do.  Needs root (to become nobody); skipped otherwise.
. "$(dirname "$0")/common.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
    echo "skipped: needs root and setpriv"
    exit 77
fi
# nobody must reach the files: the test directory is traversable, the
# binary is a copy inside it (the build tree may be private).
chmod 711 "$TMP"
mkdir -m 755 "$TMP/bin"
cp "$TLSWEEP_REAL" "$TMP/bin/tlsweep"
chmod 755 "$TMP/bin/tlsweep"
TW="$TMP/bin/tlsweep"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }


# Two real scans (closed ports on loopback: fast tcp_refused rows).
closed=$(free_port)
printf '127.45.0.0/29:%s\n' "$closed" > "$TMP/targets.txt"
RO="$TMP/ro"
mkdir -m 755 "$RO"
DB="$RO/t.db"
for night in 1 2; do
    "$TLSWEEP" scan --db "$DB" --no-progress --label "night $night" "$TMP/targets.txt" 2>"$TMP/scan.err" \
        || fail "scan $night failed: $(cat "$TMP/scan.err")"
done
rm -f "$DB-wal" "$DB-shm" # nobody holds the database open
chmod 644 "$DB"
"$TLSWEEP" report --db "$DB" --format json > "$TMP/root.json" || fail "root report"
"$TLSWEEP" diff --db "$DB" --format json > "$TMP/root.diff.json" || fail "root diff"
rm -f "$DB-wal" "$DB-shm"

# nobody may read, not write: neither the file nor the directory.
as_nobody sh -c "test -r '$DB' && ! test -w '$DB' && ! test -w '$RO'" || fail "nobody's access is not read-only"
before=$(ls -la "$RO" | sha256sum)
expect_rc 0 as_nobody "$TW" report --db "$DB" --format json
cmp -s "$TMP/out" "$TMP/root.json" || fail "nobody's report differs from root's"
pass "nobody reads a database it may not write (no -wal, no -shm): same report as root"
expect_rc 0 as_nobody "$TW" diff --db "$DB" --format json
cmp -s "$TMP/out" "$TMP/root.diff.json" || fail "nobody's diff differs from root's"
pass "nobody runs diff on it"
expect_rc 0 as_nobody "$TW" report --db "$DB" --where "port > 0" --format csv
assert_eq "$before" "$(ls -la "$RO" | sha256sum)" "the reader created no file beside the database"

# An empty -wal and a -shm left by the writer (the state a scan that ends
# with a TRUNCATE checkpoint leaves while another connection is open).
python3 - "$DB" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
os._exit(0)  # keep -wal (0 bytes) and -shm
PY
[ -e "$DB-wal" ] && [ ! -s "$DB-wal" ] || fail "no empty -wal left"
expect_rc 0 as_nobody "$TW" report --db "$DB" --format json
cmp -s "$TMP/out" "$TMP/root.json" || fail "report with an empty -wal differs"
pass "an empty -wal: read immutable"

# A directory whose name holds URI syntax (% ? #, a space).
ODD="$TMP/odd %41?x=1#frag"
mkdir -m 755 "$ODD"
cp "$DB" "$ODD/t.db"
chmod 644 "$ODD/t.db"
expect_rc 0 as_nobody "$TW" report --db "$ODD/t.db" --format json
cmp -s "$TMP/out" "$TMP/root.json" || fail "report under a path with % ? # differs"
pass "the immutable URI escapes % ? # and spaces"

# A non-empty -wal: changes not yet in the database file.
wal_write() { # LABEL: commit a new label for scan 2 into the -wal, keep -wal and -shm
    python3 - "$DB" "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("UPDATE scans SET label = ? WHERE id = 2", (sys.argv[2],))
os._exit(0)
PY
    [ -s "$DB-wal" ] || fail "no non-empty -wal"
    chmod 644 "$DB-wal" "$DB-shm"
}
wal_write "in the wal"
# An existing -shm (readable): SQLite reads the -wal through it.
expect_rc 0 as_nobody "$TW" report --db "$DB" --format json
assert_eq "in the wal" "$(jq -r .scan.label "$TMP/out")" "nobody sees the changes held in the -wal (not an immutable read)"
# No -shm, and nobody cannot create it: a clear error.
rm -f "$DB-shm"
expect_rc 3 as_nobody "$TW" report --db "$DB"
grep -q "^tlsweep report: $DB: cannot read: $DB-wal holds [0-9]* bytes not yet copied into the database" "$TMP/err" \
    || fail "the message does not say why: $(cat "$TMP/err")"
grep -q "checkpoint" "$TMP/err" || fail "the message does not say what to do"
pass "a non-empty -wal without a -shm: the error says why and what to do"
expect_rc 3 as_nobody "$TW" diff --db "$DB"
grep -q "^tlsweep diff: .*-wal holds" "$TMP/err" || fail "diff: no clear message"
# The owner checkpoints: the reader works again and sees the change.
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
expect_rc 0 as_nobody "$TW" report --db "$DB" --format json
assert_eq "in the wal" "$(jq -r .scan.label "$TMP/out")" "after a checkpoint the reader sees the change"

# A read-only mount, as root: a private mount namespace that ends with the
# command, so nothing is left mounted.
MNT="$TMP/mnt"
mkdir "$MNT"
rm -f "$DB-wal" "$DB-shm"
if unshare -m sh -c "mount --bind '$RO' '$MNT' && mount -o remount,ro,bind '$MNT'" 2>/dev/null; then
    unshare -m sh -c "mount --bind '$RO' '$MNT' && mount -o remount,ro,bind '$MNT' &&
        '$TW' report --db '$MNT/t.db' --format json > '$TMP/mnt.json' 2> '$TMP/mnt.err' &&
        '$TW' diff --db '$MNT/t.db' --format json > '$TMP/mnt.diff.json' 2>> '$TMP/mnt.err'" \
        || fail "report/diff on a read-only mount failed: $(cat "$TMP/mnt.err")"
    assert_eq "in the wal $(jq .scan.results "$TMP/root.json")" "$(jq -r '"\(.scan.label) \(.scan.results)"' "$TMP/mnt.json")" \
        "root reads a database on a read-only mount"
    assert_eq "1 2" "$(jq -r '"\(.old.id) \(.new.id)"' "$TMP/mnt.diff.json")" "diff on a read-only mount"
    mountpoint -q "$MNT" && fail "the mount leaked out of its namespace"
    pass "nothing left mounted"
else
    echo "note: cannot make a read-only bind mount here (no CAP_SYS_ADMIN); that part skipped"
fi
