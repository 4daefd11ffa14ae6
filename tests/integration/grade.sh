#!/usr/bin/env bash
# Issue 5's acceptance test: scan the lab with grading on, check each graded
# endpoint's letter against what store/GRADING.md gives for its server
# configuration (tests/lab/servers.c), cross-check the enumerated suites of
# tls10-only against an independent client (openssl s_client, one suite at a
# time), check the SQL tables (the README's CBC query), the connection
# budget, and that --quick grades nothing.
. "$(dirname "$0")/common.sh"

LAB="$TMP/lab"
BASE=127.81.0
"$TLSWEEP" lab up --daemon --dir "$LAB" --base $BASE.0 --port 28443 --dns-port 25353 \
    >"$TMP/lab.out" 2>&1 || fail "lab up: $(cat "$TMP/lab.out")"
PIDS+=("$(cat "$LAB/lab.pid")")
trap '"$TLSWEEP" lab down --dir "$LAB" >/dev/null 2>&1 || true; cleanup' EXIT

DB="$TMP/grade.db"
t0=$(date +%s.%N)
"$TLSWEEP" scan --lab="$LAB" --db "$DB" -j 2 --no-progress --connect-timeout 2 \
    --handshake-timeout 3 --dns-timeout 1 --dns-tries 1 2>"$TMP/scan.err" \
    || fail "scan exited $?: $(tail -5 "$TMP/scan.err")"
t1=$(date +%s.%N)

q() { sqlite3 -batch -noheader "$DB" "$1"; }
# grade NAME: the grade of NAME's endpoint scanned with its own name as SNI.
grade() {
    q "select ifnull(grade, 'NULL') from results
       where host = '$1.lab.tlsweep.test' and sni = '$1.lab.tlsweep.test'"
}

# Expected letters, from each server's configuration (servers.c) and GRADING.md:
# TLS_OK servers: TLS 1.2 + 1.3, ECDHE AEAD suites only (AES-128/256-GCM,
# ChaCha20), RSA-2048 leaf: P = 100, K = 90 (2048-bit key), C = (80 + 100) / 2
# = 90 -> 93 -> A; TLS 1.3 and RFC 5746 -> no warning; no HSTS -> A.
assert_eq "A" "$(grade valid-rsa)" "valid-rsa: no HSTS -> A"
assert_eq "A" "$(grade valid-ecdsa)" "valid-ecdsa: P-256 leaf (3072 RSA-eq) -> A"
# hsts: the same plus max-age=31536000 >= 15552000 -> A+.
assert_eq "A+" "$(grade hsts)" "hsts: long HSTS, no warnings -> A+"
# tls10-only: TLS 1.0 alone, CBC suites: no_tls12 caps C (tls10, no AEAD: B).
assert_eq "C" "$(grade tls10-only)" "tls10-only: no TLS 1.2 -> C"
# tls13-only: TLS 1.3 alone; no HSTS -> A (A+ would need HSTS).
assert_eq "A" "$(grade tls13-only)" "tls13-only: A without HSTS"
# rsa1024: K = 80 -> weak_key_lt2048 caps B.
assert_eq "B" "$(grade rsa1024)" "rsa1024: 1024-bit key -> B"
# Trust overlay: T for expired, self-signed, sha1 leaf, untrusted, incomplete,
# not yet valid, revoked; M for the wrong name.
for n in expired self-signed sha1 untrusted-root incomplete-chain not-yet-valid revoked; do
    assert_eq "T" "$(grade $n)" "$n -> T"
    assert_eq "A" "$(q "select g.grade_trust_ignored from grades g join results r on r.id = g.result_id
                        where r.host = '$n.lab.tlsweep.test'")" "$n: A if trust is ignored"
done
assert_eq "1" "$(q "select count(*) from grade_reasons gr join results r on r.id = gr.result_id
                    where r.host = 'sha1.lab.tlsweep.test' and gr.code = 'sig_sha1'")" \
    "sha1: the reason is sig_sha1"
assert_eq "M" "$(grade wrong-host)" "wrong-host -> M"
# Endpoints whose MAIN handshake failed are not graded.
for n in no-shared-cipher alert stall reset garbage plain-http protocol-mismatch closed; do
    assert_eq "NULL" "$(grade $n)" "$n: not graded"
done
assert_eq "$(q "select count(*) from results where grade is not null")" \
    "$(q "select count(*) from grades where grade is not null")" "every graded result has a grades row"

# Protocol rows: tls10-only accepts TLSv1 alone, every protocol was tested.
assert_eq "SSLv2:0 SSLv3:0 TLSv1:1 TLSv1.1:0 TLSv1.2:0 TLSv1.3:0" \
    "$(q "select group_concat(protocol || ':' || accepted, ' ') from (select p.protocol, p.accepted
          from protocols p join results r on r.id = p.result_id
          where r.host = 'tls10-only.lab.tlsweep.test' order by p.protocol)")" \
    "tls10-only: protocol rows"
assert_eq "present|31536000|1|0" \
    "$(q "select h.status, h.max_age, h.include_subdomains, h.preload from hsts h
          join results r on r.id = h.result_id where r.host = 'hsts.lab.tlsweep.test'")" \
    "hsts: header stored"
assert_eq "absent" "$(q "select h.status from hsts h join results r on r.id = h.result_id
                        where r.host = 'valid-rsa.lab.tlsweep.test'")" "valid-rsa: no HSTS header"

# s_client_suites DB HOST IP PORT FLAG PROTO: cross-check the suites tlsweep
# stored for one protocol against openssl s_client: every suite OpenSSL can
# offer that completes a handshake (one suite per connection) must be in the
# suites table, and nothing else.
s_client_suites() {
    local db=$1 host=$2 ip=$3 port=$4 flag=$5 proto=$6 want="" got pair std ossl sni=()
    [ "$host" = "$ip" ] || sni=(-servername "$host")
    for pair in $(openssl ciphers -stdname "$flag" 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | awk '{print $1 "=" $3}'); do
        std=${pair%%=*}; ossl=${pair#*=}
        case "$std" in TLS_AES_*|TLS_CHACHA20_*) continue ;; esac
        if openssl s_client -connect "$ip:$port" "${sni[@]}" "$flag" -cipher "$ossl:@SECLEVEL=0" \
            </dev/null >/dev/null 2>&1; then
            want="$want $std"
        fi
    done
    want=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
    got=$(sqlite3 -batch -noheader "$db" "select s.name from suites s join results r on r.id = s.result_id
           where r.host = '$host' and s.protocol = '$proto' order by s.name" | tr '\n' ' ')
    [ -n "$want" ] || fail "s_client completed no $proto handshake with $host"
    assert_eq "$want" "$got" "$host: $proto suites match s_client's"
}
s_client_suites "$DB" tls10-only.lab.tlsweep.test \
    "$(q "select ip from results where host = 'tls10-only.lab.tlsweep.test'")" 28443 -tls1 TLSv1

# The README's query: endpoints still accepting a CBC suite under TLS 1.2.
# Every lab server with TLS 1.2 runs ECDHE AEAD suites only: no row.  Under
# TLS 1.0 the same query finds tls10-only, and only it.
cbc12=$(q "SELECT r.host, r.port, s.name FROM results r JOIN suites s ON s.result_id = r.id
           WHERE s.protocol = 'TLSv1.2' AND s.is_cbc = 1")
assert_eq "" "$cbc12" "CBC under TLS 1.2: none in the lab"
assert_eq "tls10-only.lab.tlsweep.test" \
    "$(q "SELECT DISTINCT r.host FROM results r JOIN suites s ON s.result_id = r.id
          WHERE s.protocol = 'TLSv1' AND s.is_cbc = 1")" "CBC under TLS 1.0: tls10-only"

# Connections: accepted + 1 per protocol is far below one connection per
# suite (OpenSSL alone knows this many TLS <= 1.2 suites, per protocol).
per_suite=$(openssl ciphers 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' '\n' | wc -l)
max_conns=$(q "select max(connections) from probe_stats")
mean_conns=$(q "select round(avg(connections), 1) from probe_stats")
n_graded=$(q "select count(*) from probe_stats")
[ "$max_conns" -lt "$per_suite" ] || fail "an endpoint used $max_conns connections (>= $per_suite)"
pass "at most $max_conns connections per graded endpoint (one per suite: >= $per_suite per protocol)"
assert_eq "0" "$(q "select count(*) from probe_stats where grading_connections >= connections")" \
    "classification probes are counted too"
echo "# graded endpoints: $n_graded, mean connections: $mean_conns, scan wall time:" \
    "$(awk "BEGIN { print $t1 - $t0 }") s (whole lab, including its timeout endpoints)"

# A TLS service that does not speak HTTP (openssl s_server without -www,
# default suites: TLS 1.2 with CBC and DHE, TLS 1.3): HSTS is not applicable
# (A is the ceiling), and the README's CBC query finds it.
make_cert "$TMP" 127.0.0.1
SPORT=$(free_port)
openssl s_server -accept "127.0.0.1:$SPORT" -cert "$TMP/127.0.0.1.crt" -key "$TMP/127.0.0.1.key" \
    -quiet </dev/null >/dev/null 2>&1 &
PIDS+=("$!")
wait_port 127.0.0.1 "$SPORT"
echo "127.0.0.1:$SPORT" > "$TMP/s_server.txt"
"$TLSWEEP" scan --db "$TMP/s.db" --ca-file "$TMP/127.0.0.1.crt" --no-progress --handshake-timeout 3 \
    "$TMP/s_server.txt" 2>/dev/null || fail "s_server scan failed"
sq() { sqlite3 -batch -noheader "$TMP/s.db" "$1"; }
assert_eq "not_http" "$(sq "select status from hsts")" "s_server: not HTTP"
assert_eq "1" "$(sq "select count(*) from grade_reasons where code = 'hsts_not_applicable'")" \
    "s_server: hsts_not_applicable"
assert_eq "A" "$(sq "select grade_trust_ignored from grades")" "s_server: A at best without HTTP"
cbc=$(sq "SELECT count(*) FROM results r JOIN suites s ON s.result_id = r.id
          WHERE s.protocol = 'TLSv1.2' AND s.is_cbc = 1")
[ "$cbc" -gt 0 ] || fail "s_server: the CBC query found no TLS 1.2 CBC suite"
pass "s_server: the CBC query lists $cbc TLS 1.2 CBC suites"
s_client_suites "$TMP/s.db" 127.0.0.1 127.0.0.1 "$SPORT" -tls1_2 TLSv1.2
assert_eq "2048" "$(sq "select bits from groups where group_id is null")" "s_server: DHE prime size"

# --quick grades nothing.
"$TLSWEEP" scan --lab="$LAB" --db "$TMP/quick.db" --quick -j 2 --no-progress --connect-timeout 2 \
    --handshake-timeout 3 --dns-timeout 1 --dns-tries 1 2>/dev/null || fail "quick scan failed"
assert_eq "0|0|0" "$(sqlite3 "$TMP/quick.db" "select (select count(*) from results where grade is not null),
    (select count(*) from grades), (select count(*) from suites)")" "--quick: no grade, no grading rows"

"$TLSWEEP" lab down --dir "$LAB" >/dev/null 2>&1 || true
echo "grade: all checks passed"
