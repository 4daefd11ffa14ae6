#!/usr/bin/env bash
# Issue 8, bad input: target files with binary garbage, 60,000-character
# lines, invalid UTF-8, huge CIDRs, ports 0 and 70000, IPv6 zone ids,
# control characters and duplicate lines.  Each bad line is reported with
# file:line and skipped, the rest is scanned (duplicates once).  A whole
# binary file as a target list neither crashes nor hangs; it is refused as
# "not a target list" (issue 15), and so is /dev/zero, at once.  Bad options,
# resolvers and CA files give a message and exit 2 before anything is
# written.
. "$(dirname "$0")/common.sh"

make_cert "$TMP" good.test
tls=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$tls" -cert "$TMP/good.test.crt" \
    -key "$TMP/good.test.key" -www >/dev/null 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$tls"
closed=$(free_port)

T="$TMP/bad.txt"
{
    printf '127.0.0.1:%s good.test\n' "$tls"                 # 1 good
    printf 'garbage\x00\x01\x02\xfe\xff binary\n'            # 2 NUL
    python3 -c 'print("a" * 60000)'                          # 3 long (< 64 KiB)
    printf 'caf\xc3\xa9\xff.example:443\n'                   # 4 invalid UTF-8
    printf '10.0.0.0/4:443\n'                                # 5 huge CIDR
    printf '127.0.0.1:0\n'                                   # 6 port 0
    printf '127.0.0.1:70000\n'                               # 7 port 70000
    printf '[fe80::1%%eth0]:443\n'                           # 8 zone id
    printf 'fe80::1%%lo\n'                                   # 9 zone id
    printf '127.0.0.1:%s\n' "$closed"                        # 10 good
    printf '127.0.0.1:%s\n' "$closed"                        # 11 duplicate
    printf '127.0.0.1:%s good.test\n' "$tls"                 # 12 duplicate
    printf 'evil\x1b[31m.example:443\n'                      # 13 control character
    printf '127.0.0.1:%s sni\x07bell\n' "$tls"               # 14 control in the SNI
    printf '127.0.0.1:%s:443\n' "$tls"                       # 15 two ports
    printf '[::1:443\n'                                      # 16 unclosed bracket
    printf '%s\n' "$(python3 -c 'print("x" * 300 + ".example")')" # 17 name > 253
    printf '127.0.0.1:%s\n' "$closed"                        # 18 duplicate
} > "$T"
bad_lines="2 3 4 5 6 7 8 9 13 14 15 16 17"

DB="$TMP/t.db"
rc=0
"$TLSWEEP" scan --db "$DB" --no-progress --quick --ca-file "$TMP/good.test.crt" \
    --connect-timeout 2 --handshake-timeout 2 "$T" 2>"$TMP/err" || rc=$?
assert_eq 0 "$rc" "scan with bad lines exits 0"
for n in $bad_lines; do
    grep -q "bad.txt:$n: " "$TMP/err" || fail "bad line $n not reported: $(head -c 2000 "$TMP/err")"
done
pass "every bad line reported as file:line ($(echo $bad_lines | wc -w))"
for n in 1 10 11 12 18; do
    if grep -q "bad.txt:$n: " "$TMP/err"; then fail "good line $n reported as bad"; fi
done
pass "good and duplicate lines not reported"
[ "$(wc -c < "$TMP/err")" -lt 20000 ] || fail "stderr echoes the 60,000-character line ($(wc -c < "$TMP/err") bytes)"
pass "a long line is not echoed whole"
if grep -q $'\x1b' "$TMP/err"; then fail "an escape sequence from the file reached stderr"; fi
pass "control characters from the file are not echoed raw"
grep -q "13 bad target lines" "$TMP/err" || fail "summary count: $(tail -3 "$TMP/err")"
pass "summary counts 13 bad lines"
assert_eq "ok|good.test,tcp_refused|" \
    "$(q "select group_concat(class || '|' || ifnull(sni,''), ',') from (select class, sni from results order by class)")" \
    "the good lines scanned, duplicates once"

# A binary file as the target list: every line is rejected or parsed, none crashes.
cp "$(command -v openssl)" "$TMP/binary.dat"
rc=0
timeout 60 "$TLSWEEP" scan --dry-run --db "$TMP/bin.db" "$TMP/binary.dat" >"$TMP/bin.out" 2>"$TMP/bin.err" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "binary target file: exit $rc"
grep -q "binary.dat:[0-9]*: " "$TMP/bin.err" || fail "binary target file: nothing reported"
grep -q "binary.dat: not a target list (" "$TMP/bin.err" || fail "binary target file not refused: $(tail -3 "$TMP/bin.err")"
[ ! -s "$TMP/bin.out" ] || fail "binary target file: targets listed: $(head -3 "$TMP/bin.out")"
pass "binary target file: exit $rc, $(grep -c 'binary.dat:' "$TMP/bin.err") lines reported, no crash"

# Bad options and option values: a message and exit 2, no database created.
expect2() {
    local rc=0
    "$TLSWEEP" scan --db "$TMP/opt.db" "$@" "$T" >/dev/null 2>"$TMP/opt.err" </dev/null || rc=$?
    [ "$rc" = 2 ] || fail "scan $*: exit $rc, expected 2: $(head -3 "$TMP/opt.err")"
    [ -s "$TMP/opt.err" ] || fail "scan $*: no message"
    [ ! -e "$TMP/opt.db" ] || fail "scan $*: created a database"
    pass "scan $*: exit 2 ($(head -1 "$TMP/opt.err"))"
}
expect2 --bogus
expect2 -c -5
expect2 -c 99999999999999999999
expect2 -j abc
expect2 --rate x
expect2 --ports 1,2,x
expect2 --ports 0
expect2 --handshake-timeout nan
expect2 --connect-timeout 1e999
expect2 --shard 0/0
expect2 --now 'not a time'
expect2 --resolver 999.1.1.1
expect2 --resolver 127.0.0.1:99999
expect2 --resolver '[::1'
expect2 --ca-file /nonexistent/ca.pem
expect2 --ca-file /etc/hostname
expect2 --resume abc
rc=0
"$TLSWEEP" scan --db >/dev/null 2>"$TMP/opt.err" || rc=$?
assert_eq 2 "$rc" "--db without a value"

# Issue 15: /dev/zero as the target list (no newline, ever) ends at once with
# "not a target list" instead of reading forever.  timeout is only a safety
# net.  The exit is 2 once a scan without any valid target exits 2 (issue 15
# item 3, in cli/); a build without that gives 0 with an empty scan.
rc=0
timeout 20 "$TLSWEEP" scan --db "$TMP/zero.db" --no-progress /dev/zero \
    >/dev/null 2>"$TMP/zero.err" </dev/null || rc=$?
[ "$rc" != 124 ] || fail "scan /dev/zero did not end within 20 s"
[ "$rc" = 2 ] || [ "$rc" = 0 ] || fail "scan /dev/zero: exit $rc: $(head -3 "$TMP/zero.err")"
grep -q "^/dev/zero:1: line too long (over 65536 bytes): not a target list$" "$TMP/zero.err" ||
    fail "scan /dev/zero: no message: $(head -3 "$TMP/zero.err")"
pass "scan /dev/zero ends: exit $rc, $(head -1 "$TMP/zero.err")"
