#!/usr/bin/env bash
# The scan engine end to end (issue 3): over a thousand endpoints through
# DNS (a test resolver), connect and handshake, each stored exactly once
# with the class its peer earns: ok, tcp_refused, handshake_timeout,
# dns_nxdomain, dns_servfail, dns_timeout; one endpoint per A/AAAA address;
# one DNS query per name per worker; --dry-run; --rate; exit codes 2 and 3.
. "$(dirname "$0")/common.sh"
PEERS="$(dirname "$0")/engine_peers.py"

# start_peer NAME ARGS...: run a python peer in the background, wait for "ready".
start_peer() {
    local name=$1; shift
    python3 "$PEERS" "$@" > "$TMP/$name.out" 2>&1 &
    PIDS+=($!)
    local i
    for i in $(seq 1 100); do
        grep -q ready "$TMP/$name.out" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$name peer did not start: $(cat "$TMP/$name.out")"
}

make_cert "$TMP" ok.test
tls=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$tls" -cert "$TMP/ok.test.crt" \
    -key "$TMP/ok.test.key" -www >/dev/null 2>&1 &
PIDS+=($!)
dnsport=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_peer dns dns "$dnsport" "$TMP/dns.log"
tarpit=$(free_port)
start_peer tarpit tarpit "$tarpit"
wait_port 127.0.0.1 "$tls"
closed=$(free_port)

cat > "$TMP/targets.txt" <<EOT
ok.test:$tls
127.0.0.1:$tls ok.test
ok.test:$closed
127.0.0.1:$closed
127.30.0.0/22:$closed
127.0.0.1:$tarpit
nx.test
servfail.test
silent.test
dual.test:$closed
multi.test:$closed
this is not a target line
EOT

# --dry-run: the endpoint plan on stdout, nothing stored, nothing connected.
"$TLSWEEP" scan --dry-run --db "$TMP/dry.db" "$TMP/targets.txt" > "$TMP/plan" 2>"$TMP/plan.err" \
    || fail "dry run failed: $(cat "$TMP/plan.err")"
[ ! -e "$TMP/dry.db" ] || fail "--dry-run created a database"
grep -qx "ok.test $tls ok.test" "$TMP/plan" || fail "dry run lacks the name endpoint: $(head "$TMP/plan")"
grep -qx "127.0.0.1 $closed -" "$TMP/plan" || fail "dry run lacks the address endpoint"
grep -qx "nx.test 443 nx.test" "$TMP/plan" || fail "dry run lacks the default port"
planned=$(wc -l < "$TMP/plan")
[ "$planned" -ge 1030 ] || fail "dry run planned only $planned endpoints"
pass "--dry-run prints $planned endpoints and stores nothing"

DB="$TMP/t.db"
rc=0
"$TLSWEEP" scan --db "$DB" --no-progress --resolver "127.0.0.1:$dnsport" \
    --ca-file "$TMP/ok.test.crt" --connect-timeout 2 --handshake-timeout 2 \
    --dns-timeout 1 --dns-tries 1 -c 300 -j 2 "$TMP/targets.txt" 2> "$TMP/stderr" || rc=$?
assert_eq 0 "$rc" "scan exit code ($(tail -3 "$TMP/stderr"))"

# dual.test yields two endpoints (A and AAAA), multi.test two (its answer
# repeats an address): planned + 2 rows, each endpoint once.
total=$(q 'select count(*) from results')
assert_eq $((planned + 2)) "$total" "every planned endpoint stored (A and AAAA apart)"
assert_eq "$total" "$(q "select count(*) from (select distinct host, ip, port, ifnull(sni,'') from results)")" "each endpoint stored exactly once"
assert_eq done "$(q 'select status from scans')" "scan marked done"
n_range=$(grep -c '^127\.30\.' "$TMP/plan")
[ "$n_range" -ge 1000 ] || fail "the /22 planned only $n_range endpoints"
assert_eq "$n_range" "$(q "select count(*) from results where ip like '127.30.%' and class='tcp_refused'")" "a /22 of closed ports is tcp_refused"
assert_eq ok "$(q "select class from results where host='ok.test' and port=$tls")" "name -> A -> TLS server is ok"
assert_eq 127.0.0.1 "$(q "select ip from results where host='ok.test' and port=$tls")" "resolved address stored"
assert_eq ok "$(q "select class from results where host='127.0.0.1' and port=$tls")" "address target with SNI is ok"
assert_eq TLSv1.3 "$(q "select tls_version from results where host='127.0.0.1' and port=$tls")" "version recorded"
assert_eq tcp_refused "$(q "select class from results where host='127.0.0.1' and port=$closed")" "closed port"
assert_eq handshake_timeout "$(q "select class from results where port=$tarpit")" "tarpit"
assert_eq "dns_nxdomain|" "$(q "select class, ip from results where host='nx.test'")" "NXDOMAIN, no address"
assert_eq dns_servfail "$(q "select class from results where host='servfail.test'")" "SERVFAIL"
assert_eq dns_timeout "$(q "select class from results where host='silent.test'")" "no answer"
assert_eq "127.0.0.1|tcp_refused,::1|tcp_refused" \
    "$(q "select group_concat(ip || '|' || class, ',') from (select ip, class from results where host='dual.test' order by ip)")" \
    "one endpoint per A and AAAA address, IPv6 connect"
assert_eq "127.0.0.1,127.0.0.2" \
    "$(q "select group_concat(ip, ',') from (select ip from results where host='multi.test' order by ip)")" \
    "duplicate addresses in an answer scanned once"
el=$(q "select min(elapsed_ms) >= 0 and max(elapsed_ms) < 60000 from results")
assert_eq 1 "$el" "elapsed_ms recorded"

# ok.test appears on two lines (two ports): one worker owns the name, so
# it is asked about once (A + AAAA).
assert_eq 1 "$(grep -c '^ok.test 1$' "$TMP/dns.log")" "one A query for a name used twice"
grep -q "tcp_refused *10[0-9][0-9]" "$TMP/stderr" || fail "summary lacks the per-class counts: $(cat "$TMP/stderr")"
grep -q "1 bad target line" "$TMP/stderr" || fail "summary lacks the bad line count: $(cat "$TMP/stderr")"
grep -q "targets.txt:12:" "$TMP/stderr" || fail "bad line not reported"
pass "summary on stderr"

# --rate: 40 new connections at 20/s cannot take less than ~1.5 s.
seq 1 40 | sed "s/.*/127.31.0.&:$closed/" > "$TMP/rate.txt"
start=$(date +%s%N)
"$TLSWEEP" scan --db "$TMP/rate.db" --no-progress --rate 20 -j 2 "$TMP/rate.txt" 2>/dev/null \
    || fail "rate scan failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1400 ] || fail "--rate 20 ran 40 connections in $ms ms"
assert_eq 40 "$(sqlite3 "$TMP/rate.db" 'select count(*) from results')" "rate-limited scan complete"
pass "--rate 20 paced 40 connections over $ms ms"

# --rate fractions (issue 16): 3 connections at 2.5/s over 2 workers take
# at least ~0.8 s (no start-up burst of one per worker), and the rate is
# stored exactly for --resume.
seq 1 3 | sed "s/.*/127.31.1.&:$closed/" > "$TMP/rate2.txt"
start=$(date +%s%N)
"$TLSWEEP" scan --db "$TMP/rate2.db" --no-progress --rate 2.5/s -j 2 "$TMP/rate2.txt" 2>/dev/null \
    || fail "fractional rate scan failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 700 ] || fail "--rate 2.5/s ran 3 connections in $ms ms"
assert_eq "3|2.5" "$(sqlite3 "$TMP/rate2.db" "select (select count(*) from results), (select value from scan_options where name = 'rate')")" \
    "--rate 2.5/s: every endpoint, stored as 2.5 ($ms ms)"
# One budget for the scan (issue 18): eight endpoints behind one host go to
# one worker, yet at -j 2 -c 8 all eight hold a connection at once (the
# worker borrows the other's idle slots), so none of them queued.
for i in 1 2 3 4 5 6 7 8; do echo "127.0.0.1:$tarpit b$i.test"; done > "$TMP/budget.txt"
"$TLSWEEP" scan --db "$TMP/budget.db" --no-progress -vv -j 2 -c 8 --per-ip 8 \
    --handshake-timeout 1 "$TMP/budget.txt" 2>"$TMP/budget.err" || fail "budget scan failed"
grep -q "budget: at most 8 of 8 connection slots held at once" "$TMP/budget.err" \
    || fail "one worker did not use the whole budget: $(grep budget: "$TMP/budget.err")"
assert_eq "8|0" "$(sqlite3 "$TMP/budget.db" 'select count(*), max(queue_ms) from results')" \
    "eight endpoints, none queued"
# With one slot the second endpoint waits a whole handshake timeout: that
# wait is stored as queue_ms, not in elapsed_ms.
head -2 "$TMP/budget.txt" > "$TMP/budget2.txt"
"$TLSWEEP" scan --db "$TMP/budget2.db" --no-progress -j 1 -c 1 --handshake-timeout 1 \
    "$TMP/budget2.txt" 2>/dev/null || fail "one-slot scan failed"
assert_eq "1|1" "$(sqlite3 "$TMP/budget2.db" 'select sum(queue_ms = 0), sum(queue_ms > 0) from results')" \
    "one endpoint queued behind the other"
pass "one budget: a one-worker list holds every slot; queueing stored as queue_ms"

# Exit codes: unreadable target file -> 2, database that cannot be opened -> 3.
rc=0
"$TLSWEEP" scan --db "$TMP/x.db" --no-progress "$TMP/missing.txt" 2>/dev/null || rc=$?
assert_eq 2 "$rc" "missing target file"
rc=0
"$TLSWEEP" scan --db "$TMP/no/such/dir/x.db" --no-progress "$TMP/rate.txt" 2>"$TMP/err3" || rc=$?
assert_eq 3 "$rc" "database that cannot be opened ($(cat "$TMP/err3"))"
