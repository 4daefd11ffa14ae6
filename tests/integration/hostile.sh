#!/usr/bin/env bash
# Issue 8: a scanner pointed at hostile machines must never crash, hang,
# leak or lose a result.  The lab's hostile-* group (`lab targets --hostile`:
# a 1 MiB chain, 10,000 SANs, a 50-deep chain, truncated / absurd / slow /
# endless records, renegotiation, an alert after ServerHello, certificate
# fields with NUL, controls, invalid UTF-8, HTML and SQL) is scanned; every
# endpoint must get its expected class, the scan must end within what its
# timeouts bound, with bounded RSS, and stored text must stay bounded.
# The lab itself always runs unwrapped (it is the fixture, not under test).
. "$(dirname "$0")/common.sh"

LAB="$TMP/lab"
# A base and ports of our own, so that a developer's default lab can run.
BASE=127.79.0.0
PORT=$(free_port)
DNSPORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TLSWEEP_REAL" lab up --daemon --dir "$LAB" --base "$BASE" --port "$PORT" --dns-port "$DNSPORT" \
    >"$TMP/lab.out" 2>&1 || fail "lab up: $(cat "$TMP/lab.out") $(cat "$LAB/lab.log" 2>/dev/null)"
PIDS+=("$(cat "$LAB/lab.pid")")
"$TLSWEEP_REAL" lab targets --hostile --dir "$LAB" > "$TMP/hostile.txt"
n_targets=$(grep -vc '^#' "$TMP/hostile.txt")
[ "$n_targets" -ge 10 ] || fail "lab printed only $n_targets hostile targets"
# The default target list stays the normal estate.
if "$TLSWEEP_REAL" lab targets --dir "$LAB" | grep -q hostile; then
    fail "hostile endpoints leaked into the default 'lab targets'"
fi
pass "lab targets --hostile lists $n_targets endpoints, the default list none"
# Issue 16: scan --lab --hostile plans the estate and the hostile group.
"$TLSWEEP_REAL" scan --lab="$LAB" --hostile --dry-run > "$TMP/plan.txt" 2>"$TMP/plan.err" \
    || fail "scan --lab --hostile --dry-run: $(cat "$TMP/plan.err")"
grep -q "hostile-" "$TMP/plan.txt" || fail "scan --lab --hostile plans no hostile endpoint"
grep -q "valid-rsa" "$TMP/plan.txt" || fail "scan --lab --hostile lost the estate"
"$TLSWEEP_REAL" scan --lab="$LAB" --dry-run 2>/dev/null | grep -q "hostile-" \
    && fail "scan --lab without --hostile plans hostile endpoints"
pass "scan --lab --hostile adds the hostile group"

HS_TIMEOUT=3
DB="$TMP/hostile.db"
start=$(date +%s%N)
rc=0
/usr/bin/time -v -o "$TMP/time.txt" "$TLSWEEP" scan --lab="$LAB" --db "$DB" --no-progress \
    --connect-timeout 2 --handshake-timeout "$HS_TIMEOUT" --dns-timeout 1 --dns-tries 1 \
    "$TMP/hostile.txt" 2>"$TMP/scan.err" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq 0 "$rc" "scan of the hostile group exits 0 ($(tail -3 "$TMP/scan.err"))"

# Time: probes of one endpoint run one after the other, each bounded by the
# connect + handshake timeouts; 30 s leaves room for valgrind, never for a
# stall (the slow server alone would hold a per-read timer for minutes).
limit=30000
[ "$ms" -lt "$limit" ] || fail "hostile scan took $ms ms (limit $limit)"
pass "hostile scan finished in $ms ms"
if [ -z "${TLSWEEP_WRAPPER:-}" ]; then
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
    [ -n "$rss" ] && [ "$rss" -lt 204800 ] || fail "max RSS ${rss:-?} KB (limit 200 MB)"
    pass "max RSS $rss KB"
fi

# Class and issues per endpoint, from the "# expect:" line before each target.
bad=0; n=0; expect=""
while IFS= read -r line; do
    case "$line" in
        "# expect: "*) expect=${line#\# expect: }; continue ;;
        "#"*|"") continue ;;
    esac
    host=${line%:*}
    got=$(sqlite3 -batch -noheader -separator ' ' "$DB" \
        "select class, issues from results where host='$host'")
    n=$((n + 1))
    if [ "$got" != "$expect" ]; then
        echo "WRONG $host: expected '$expect', got '$got'"
        sqlite3 "$DB" "select detail from results where host='$host'"
        bad=$((bad + 1))
    else
        pass "$host: $got"
    fi
done < "$TMP/hostile.txt"
[ "$bad" = 0 ] || fail "$bad of $n hostile endpoints misclassified"
assert_eq "$n_targets" "$(q 'select count(*) from results')" "one row per hostile endpoint"
assert_eq 0 "$(q "select count(*) from results where class is null or issues is null or class = ''")" "every row whole"

# The slow server: the handshake deadline bounds the total, not the gap
# between two bytes (it sends one every 100 ms).
slow=$(q "select elapsed_ms from results where host like 'hostile-slowloris.%'")
[ "$slow" -ge $((HS_TIMEOUT * 1000 - 200)) ] && [ "$slow" -lt $((HS_TIMEOUT * 1000 + 2500)) ] \
    || fail "slowloris endpoint took $slow ms with --handshake-timeout $HS_TIMEOUT"
pass "slowloris bounded by the handshake timeout ($slow ms)"
q "select detail from results where host like 'hostile-endless.%'" | grep -q "without completing the handshake" \
    || fail "endless stream not cut by the byte budget: $(q "select detail from results where host like 'hostile-endless.%'")"
pass "endless stream cut by the handshake byte budget"

# Stored text is bounded and NUL-free whatever the certificate held.
assert_eq 0 "$(q "select count(*) from certs where length(subject) > 4096 or length(issuer) > 4096 or length(san) > 4096 or length(pem) > 65536")" "certificate fields bounded"
assert_eq 0 "$(q "select count(*) from certs where instr(subject, char(0)) or instr(san, char(0)) or instr(issuer, char(0))")" "no NUL in stored fields"
q "select san from certs c join results r on r.cert_sha256 = c.sha256 where r.host like 'hostile-manysans.%'" \
    | grep -q ',\.\.\.$' || fail "10,000 SANs not stored truncated with the ',...' flag"
pass "10,000 SANs stored truncated"
deep=$(q "select count(*) from result_chain rc join results r on r.id = rc.result_id where r.host like 'hostile-deepchain.%'" 2>/dev/null || echo "?")
[ "$deep" = 16 ] || fail "50-deep chain: $deep chain rows stored (expected the 16 kept)"
pass "50-deep chain stored as its first 16 certificates"
fields=$(q "select san from certs c join results r on r.cert_sha256 = c.sha256 where r.host like 'hostile-fields.%'")
case "$fields" in
    *"DNS:a.example?DNS:forged.example"*) pass "a ',' inside a SAN cannot forge an entry" ;;
    *) fail "hostile SAN list stored as: $fields" ;;
esac
# Issue 15: control bytes and '\' in certificate text are stored escaped as
# \xNN, so a user's own sqlite3 query cannot drive a terminal.
ctl="'*[' || char(1) || '-' || char(31) || char(127) || ']*'"
assert_eq 0 "$(q "select count(*) from certs where subject glob $ctl or issuer glob $ctl or san glob $ctl")" \
    "no control byte in stored certificate text"
case "$fields" in
    *'DNS:\x1b]0;pwned\x07\x7f'*) pass "control bytes in a SAN stored as \\xNN text" ;;
    *) fail "hostile SAN control bytes stored as: $fields" ;;
esac

# Reports stay well-formed with the hostile fields in them.
"$TLSWEEP" report --db "$DB" --format json > "$TMP/r.json" || fail "json report failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/r.json" || fail "json report does not parse"
"$TLSWEEP" report --db "$DB" --format html > "$TMP/r.html" || fail "html report failed"
if grep -q '<script>alert\|<img src=x' "$TMP/r.html"; then
    fail "hostile markup reached the HTML report unescaped"
fi
"$TLSWEEP" report --db "$DB" --format text > "$TMP/r.txt" || fail "text report failed"
if grep -q $'\x1b\]0;pwned' "$TMP/r.txt"; then
    fail "a terminal escape sequence reached the text report"
fi
pass "json, html and text reports escape the hostile fields"
