#!/usr/bin/env bash
# `report -o` and `diff -o`: a symlink keeps its link and its target gets the
# report, a FIFO is written through and stays a FIFO, a name for our own
# standard output (a link to /proc/self/fd/1, like /dev/stdout) writes to
# it, `-o -` is standard output, and SIGINT leaves no temporary file.
. "$(dirname "$0")/common.sh"
. "$SRCDIR/tests/golden/fixture.sh"

DB="$TMP/fx.db"
tw_fixture_db "$DB" || fail "cannot build the fixture database"
"$TLSWEEP" report --db "$DB" -o "$TMP/ref.txt" || fail "report -o"
"$TLSWEEP" diff --db "$DB" 1 2 > "$TMP/ref.diff" || fail "diff to stdout"
[ -s "$TMP/ref.txt" ] || fail "empty reference report"

no_temp() { # DIR
    if find "$1" -maxdepth 1 -name '*.tmp.*' | grep -q .; then fail "temporary file left in $1: $(ls -A "$1")"; fi
}

# ---- symlinks: the target is written and the link stays ----
mkdir "$TMP/sub"
echo old > "$TMP/sub/real.txt"
ln -s sub/real.txt "$TMP/link"
"$TLSWEEP" report --db "$DB" -o "$TMP/link" || fail "report -o symlink"
[ -L "$TMP/link" ] || fail "the symlink was replaced"
cmp -s "$TMP/ref.txt" "$TMP/sub/real.txt" || fail "symlink target not written"
no_temp "$TMP"; no_temp "$TMP/sub"
pass "-o through a symlink writes its target and keeps the link"
ln -s sub/new.txt "$TMP/dangling"
"$TLSWEEP" diff --db "$DB" 1 2 -o "$TMP/dangling" || fail "diff -o dangling symlink"
[ -L "$TMP/dangling" ] || fail "the dangling symlink was replaced"
cmp -s "$TMP/ref.diff" "$TMP/sub/new.txt" || fail "dangling symlink target not written"
pass "-o through a dangling symlink creates its target and keeps the link"

# ---- a FIFO: written through, the reader gets everything ----
mkfifo "$TMP/fifo"
cat "$TMP/fifo" > "$TMP/fromfifo" &
reader=$!
PIDS+=("$reader")
"$TLSWEEP" report --db "$DB" -o "$TMP/fifo" || fail "report -o FIFO"
wait "$reader" || fail "FIFO reader failed"
[ -p "$TMP/fifo" ] || fail "the FIFO was replaced"
cmp -s "$TMP/ref.txt" "$TMP/fromfifo" || fail "FIFO reader got a different report"
pass "-o to a FIFO: the reader gets the full report, the FIFO stays"

# ---- our own standard output under another name (as /dev/stdout is; the
# real /dev/stdout is left alone) ----
ln -s /proc/self/fd/1 "$TMP/stdout"
"$TLSWEEP" report --db "$DB" -o "$TMP/stdout" | cat > "$TMP/piped"
cmp -s "$TMP/ref.txt" "$TMP/piped" || fail "-o stdout link into a pipe"
"$TLSWEEP" report --db "$DB" -o "$TMP/stdout" > "$TMP/redir"
cmp -s "$TMP/ref.txt" "$TMP/redir" || fail "-o stdout link redirected to a file"
echo first > "$TMP/append"
"$TLSWEEP" report --db "$DB" -o "$TMP/stdout" >> "$TMP/append"
{ echo first; cat "$TMP/ref.txt"; } | cmp -s - "$TMP/append" || fail "-o stdout link with >> did not append"
[ "$(readlink "$TMP/stdout")" = /proc/self/fd/1 ] || fail "the stdout link was replaced"
no_temp "$TMP"
pass "-o to a link to /proc/self/fd/1: a pipe, a file and >> get the report, the link stays"

# ---- -o - is standard output ----
"$TLSWEEP" report --db "$DB" -o - > "$TMP/dash"
cmp -s "$TMP/ref.txt" "$TMP/dash" || fail "-o - differs from the report"
[ ! -e "$TMP/-" ] || fail "-o - created a file named -"
pass "-o - writes standard output"

# ---- SIGINT while the report is written leaves no temporary file: gdb
# stops the process once the temporary file exists (at tw_report_run) and
# delivers SIGINT there, so no timing is involved. ----
if ! command -v gdb >/dev/null 2>&1; then
    echo "ok - # SKIP no gdb: SIGINT cleanup not tested"
    exit 0
fi
mkdir "$TMP/int"
echo old > "$TMP/int/r.txt"
gdb -q -batch -ex 'set pagination off' -ex 'handle SIGINT nostop pass' -ex 'break tw_report_run' \
    -ex run -ex "shell ls -A '$TMP/int' > '$TMP/int.ls'" -ex 'signal SIGINT' \
    --args "$TLSWEEP_REAL" report --db "$DB" -o "$TMP/int/r.txt" > "$TMP/gdb.out" 2>&1 </dev/null || true
grep -q '\.tmp\.' "$TMP/int.ls" || { cat "$TMP/gdb.out" >&2; fail "no temporary file while the report was written"; }
grep -q 'terminated with signal SIGINT' "$TMP/gdb.out" || { cat "$TMP/gdb.out" >&2; fail "report did not die of SIGINT"; }
no_temp "$TMP/int"
assert_eq old "$(cat "$TMP/int/r.txt")" "SIGINT leaves no temporary file and the old report in place"
