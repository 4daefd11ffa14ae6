#!/usr/bin/env bash
# Every message that `prune` and `lab` print for a bad command line starts
# with "tlsweep CMD: " (issue 15, item 8): getopt's own messages
# ("prune: unrecognized option") are replaced by ours.  report and diff are
# checked in report.sh and diff.sh.
. "$(dirname "$0")/common.sh"

for args in "--bogus" "--db" "-x" "--keep" "--keep abc"; do
    rc=0
    # shellcheck disable=SC2086
    "$TLSWEEP" prune $args > "$TMP/out" 2> "$TMP/err" < /dev/null || rc=$?
    assert_eq 2 "$rc" "prune $args exits 2"
    grep -q . "$TMP/err" || fail "prune $args: no message"
    if grep -v "^tlsweep prune: " "$TMP/err" | grep -q .; then fail "prune $args: unprefixed message: $(cat "$TMP/err")"; fi
done
pass "prune: option errors are prefixed 'tlsweep prune: '"
for args in "up --bogus" "up --port" "up --port x" "down --dir"; do
    rc=0
    # shellcheck disable=SC2086
    "$TLSWEEP" lab $args > "$TMP/out" 2> "$TMP/err" < /dev/null || rc=$?
    assert_eq 2 "$rc" "lab $args exits 2"
    head -1 "$TMP/err" | grep -q "^tlsweep lab: " || fail "lab $args: unprefixed message: $(cat "$TMP/err")"
done
pass "lab: option errors are prefixed 'tlsweep lab: '"
