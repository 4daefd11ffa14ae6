#!/usr/bin/env bash
# The command line contract (DESIGN §2): --help everywhere, usage errors exit 2.
. "$(dirname "$0")/common.sh"


expect_rc 0 "$TLSWEEP" --help
grep -q "scan" "$TMP/out" || fail "top-level help lists no commands"
for cmd in scan report diff lab merge; do
    expect_rc 0 "$TLSWEEP" "$cmd" --help
    grep -qi "usage" "$TMP/out" || fail "$cmd --help prints no usage"
done
expect_rc 2 "$TLSWEEP"
expect_rc 2 "$TLSWEEP" frobnicate
expect_rc 2 "$TLSWEEP" scan --no-such-option
expect_rc 2 "$TLSWEEP" scan -c 0 -
expect_rc 2 "$TLSWEEP" scan -c abc -
expect_rc 2 "$TLSWEEP" scan --ports 0 -
expect_rc 2 "$TLSWEEP" scan --ports 70000 -
expect_rc 2 "$TLSWEEP" scan --shard 5/4 -
expect_rc 2 "$TLSWEEP" scan --now yesterday -
expect_rc 2 "$TLSWEEP" scan --connect-timeout -1 -
expect_rc 2 "$TLSWEEP" scan --db "$TMP/x.db" "$TMP/does-not-exist.txt"
grep -q "does-not-exist.txt" "$TMP/err" || fail "missing file not named in the error"
pass "missing target file named"

# --dry-run prints the plan and connects nothing.
printf '192.0.2.0/30\nexample.com:8443 -\n[2001:db8::1]:443 www.example.com\n' > "$TMP/t.txt"
expect_rc 0 "$TLSWEEP" scan --dry-run --db "$TMP/dry.db" "$TMP/t.txt"
assert_eq 4 "$(wc -l < "$TMP/out" | tr -d ' ')" "dry run lists 4 endpoints"
[ ! -e "$TMP/dry.db" ] || fail "dry run created a database"
pass "dry run stores nothing"
