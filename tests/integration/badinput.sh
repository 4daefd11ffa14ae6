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
# net.  No valid target was read, so the exit is 2 and no scan is recorded
# (issue 15 item 3; the check was "0 or 2" before that).
rc=0
timeout 20 "$TLSWEEP" scan --db "$TMP/zero.db" --no-progress /dev/zero \
    >/dev/null 2>"$TMP/zero.err" </dev/null || rc=$?
[ "$rc" != 124 ] || fail "scan /dev/zero did not end within 20 s"
[ "$rc" = 2 ] || fail "scan /dev/zero: exit $rc, expected 2: $(head -3 "$TMP/zero.err")"
grep -q "^/dev/zero:1: line too long (over 65536 bytes): not a target list$" "$TMP/zero.err" ||
    fail "scan /dev/zero: no message: $(head -3 "$TMP/zero.err")"
grep -q "^tlsweep scan: no valid target in /dev/zero " "$TMP/zero.err" ||
    fail "scan /dev/zero: no 'no valid target' message: $(cat "$TMP/zero.err")"
[ ! -e "$TMP/zero.db" ] || [ "$(sqlite3 "$TMP/zero.db" 'select count(*) from scans')" = 0 ] ||
    fail "scan /dev/zero recorded a scan"
pass "scan /dev/zero ends: exit 2, no scan recorded"

# Issue 15 item 3: a list without any valid target (empty, only comments,
# every line bad, /dev/null, empty stdin, the binary file) exits 2 with "no
# valid target in FILE" and records no scan, also into a database that
# already holds one; a closed stdin is an error with or without '-'.
printf '' > "$TMP/empty.txt"
printf '# nothing here

   
# 127.0.0.1
' > "$TMP/comments.txt"
printf 'not a target!
127.0.0.1:0
[::1
' > "$TMP/allbad.txt"
DB="$TMP/none.db"
"$TLSWEEP" scan --db "$DB" --no-progress --quick --connect-timeout 1 "$TMP/comments.txt" \
    "$TMP/allbad.txt" <(printf '127.0.0.1:%s\n' "$closed") 2>/dev/null ||
    fail "a list with one valid target among bad lines must scan"
assert_eq 1 "$(q 'select count(*) from scans')" "one valid target is enough"
no_target() {
    local what=$1 rc=0
    shift
    "$@" 2>"$TMP/nt.err" >/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "$what: exit $rc, expected 2: $(cat "$TMP/nt.err")"
    grep -q "^tlsweep scan: no valid target in " "$TMP/nt.err" ||
        fail "$what: no 'no valid target' message: $(cat "$TMP/nt.err")"
    assert_eq 1 "$(q 'select count(*) from scans')" "$what: exit 2, no scan recorded"
}
no_target "empty file" "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/empty.txt"
no_target "comments only" "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/comments.txt"
no_target "every line bad" "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/allbad.txt"
no_target "/dev/null" "$TLSWEEP" scan --db "$DB" --no-progress /dev/null
no_target "empty stdin" "$TLSWEEP" scan --db "$DB" --no-progress - </dev/null
no_target "three empty lists" "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/empty.txt" \
    "$TMP/comments.txt" "$TMP/allbad.txt"
no_target "a binary file" "$TLSWEEP" scan --db "$DB" --no-progress "$TMP/binary.dat"
grep -q "no valid target in $TMP/binary.dat" "$TMP/nt.err" || fail "the file is not named: $(cat "$TMP/nt.err")"
no_target "--dry-run of an empty list" "$TLSWEEP" scan --db "$DB" --dry-run "$TMP/comments.txt"
for form in "-" ""; do
    rc=0
    "$TLSWEEP" scan --db "$DB" --no-progress $form <&- 2>"$TMP/cl.err" >/dev/null || rc=$?
    assert_eq 2 "$rc" "closed stdin, 'scan $form': exit 2"
    grep -q "^tlsweep scan: stdin is closed" "$TMP/cl.err" || fail "closed stdin 'scan $form': $(cat "$TMP/cl.err")"
done
assert_eq 1 "$(q 'select count(*) from scans')" "closed stdin: no scan recorded"
# A shard that takes none of a valid list's endpoints is no error: a done,
# empty scan.
printf '127.0.0.1:%s\n' "$closed" > "$TMP/one.txt"
for k in 1 2; do
    n=$("$TLSWEEP" scan --dry-run --shard $k/2 "$TMP/one.txt" | wc -l)
    [ "$n" = 0 ] && empty_k=$k
done
[ -n "${empty_k:-}" ] || fail "no shard of 2 is empty for one endpoint"
"$TLSWEEP" scan --db "$DB" --no-progress --shard "$empty_k/2" "$TMP/one.txt" 2>"$TMP/sh.err" ||
    fail "an empty shard of a valid list: exit $?: $(cat "$TMP/sh.err")"
assert_eq "done|0|$empty_k/2" "$(q "select status || '|' || n_endpoints || '|' || shard from scans where id = (select max(id) from scans)")" \
    "an empty shard of a valid list is a done scan of 0 endpoints"
