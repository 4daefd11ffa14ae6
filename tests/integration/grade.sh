#!/usr/bin/env bash
# Issue 5's acceptance test: scan the lab with grading on, check each graded
# endpoint's letter (and, for the grading endpoints, its reason codes)
# against what tls/GRADING.md gives for its server configuration
# (lab/servers.c), cross-check the enumerated suites of tls10-only,
# no-fs, cbc-only and dhe-1024 against an independent client (openssl
# s_client, one suite at a time), check the SQL tables (the README's CBC
# query, SSLv3/RC4 and 3DES found by the scripted endpoints), the connection
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
# --handshake-timeout 6: slow-hello's handshakes take 4 s (issue 14).
"$TLSWEEP" scan --lab="$LAB" --db "$DB" -j 2 --no-progress --connect-timeout 2 \
    --handshake-timeout 6 --dns-timeout 1 --dns-tries 1 2>"$TMP/scan.err" \
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

# The grading endpoints (servers.c GRADE rows, README "Grading endpoints"):
# valid RSA-2048 leaf and chain, so K = 90 unless a DH group is smaller, and
# no trust overlay.  reasons NAME: the endpoint's reason codes, sorted.
reasons() {
    q "select group_concat(code, ' ') from (select gr.code from grade_reasons gr
       join results r on r.id = gr.result_id where r.host = '$1.lab.tlsweep.test' order by gr.code)"
}
# no-fs (V16): TLS 1.2 only, AES128-GCM-SHA256 + AES256-GCM-SHA384 with RSA key
# transport.  P = 100, K = 90, C = (80 + 100) / 2 = 90 -> S = 93 -> A; no
# ECDHE/DHE suite and no TLS 1.3 -> no_fs caps B (C37); no TLS 1.3 also warns
# (C44, A-, subsumed); no HSTS header -> hsts_absent.
assert_eq "B" "$(grade no-fs)" "no-fs: no forward secrecy -> B"
assert_eq "hsts_absent no_fs no_tls13_warning" "$(reasons no-fs)" "no-fs: reasons"
# cbc-only (V18 with the SHA-1 MAC suites): TLS 1.2 only, ECDHE-RSA-AES128-SHA +
# ECDHE-RSA-AES256-SHA.  93 -> A; no GCM/CCM/ChaCha20 suite and no TLS 1.3 ->
# no_aead caps B (C38); FS holds (ECDHE).
assert_eq "B" "$(grade cbc-only)" "cbc-only: no AEAD -> B"
assert_eq "hsts_absent no_aead no_tls13_warning" "$(reasons cbc-only)" "cbc-only: reasons"
# 3des (V21): B0 (TLS 1.2 + 1.3, the three ECDHE-RSA AEAD suites) plus
# DES-CBC3-SHA under TLS 1.2, answered by script (legacy.c: this OpenSSL has
# no 3DES).  C = (100 + 80) / 2 = 90 (3DES scores as 168 bits) -> 93 -> A; a
# 64-bit-block suite accepted on TLS 1.1+ caps C in strict mode (C33).
assert_eq "C" "$(grade 3des)" "3des: 3DES under TLS 1.2 -> C"
assert_eq "3des_tls11plus hsts_absent" "$(reasons 3des)" "3des: reasons"
assert_eq "TLSv1.2|TLS_RSA_WITH_3DES_EDE_CBC_SHA|168|1|0|0" \
    "$(q "select s.protocol, s.name, s.bits, s.is_cbc, s.is_aead, s.is_fs from suites s
          join results r on r.id = s.result_id where r.host = '3des.lab.tlsweep.test' and s.code = 10")" \
    "3des: the scripted suite is stored"
# dhe-1024 (V28): TLS 1.2 only, DHE-RSA-AES128-GCM-SHA256 with RFC 2409's
# 1024-bit group.  P = 100, K = min(90, DH 1024 -> 80) = 80, C = 80 -> S = 30 +
# 24 + 32 = 86 -> A; DH group < 2048 caps B (C27).
assert_eq "B" "$(grade dhe-1024)" "dhe-1024: 1024-bit DH -> B"
assert_eq "dh_lt2048 hsts_absent no_tls13_warning" "$(reasons dhe-1024)" "dhe-1024: reasons"
assert_eq "1024" "$(q "select g.bits from groups g join results r on r.id = g.result_id
                      where r.host = 'dhe-1024.lab.tlsweep.test' and g.group_id is null")" \
    "dhe-1024: DH prime size stored"
# tls13-hsts (V09): TLS 1.3 only + max-age=31536000.  93 -> A; TLS 1.3 present
# so no C09 and no C44; RFC 5746 is not judged without TLS <= 1.2
# (GRADING.md choice 13); HSTS >= 15552000 -> A+.
assert_eq "A+" "$(grade tls13-hsts)" "tls13-hsts: TLS 1.3 only with HSTS -> A+"
assert_eq "" "$(reasons tls13-hsts)" "tls13-hsts: no reason"
# tls12-only-hsts (V08): B0 without TLS 1.3, with HSTS.  93 -> A; no TLS 1.3 ->
# warning (C44) -> A-, so no A+ despite HSTS.
assert_eq "A-" "$(grade tls12-only-hsts)" "tls12-only-hsts: no TLS 1.3 -> A-"
assert_eq "no_tls13_warning" "$(reasons tls12-only-hsts)" "tls12-only-hsts: reasons"
# rc4-sslv3 (V12/V19 family): B0, plus SSLv3 and TLS 1.0 hellos offering RC4
# answered by script with RC4-SHA / RC4-MD5.  P = (100 + 80) / 2 = 90, K = 90,
# C = (100 + 80) / 2 = 90 (RC4_128 is 128 bits) -> S = 90 -> A; SSLv3 caps B
# (C23), TLS 1.0 caps B (C42), RC4 caps B (C24).  Not C: RC4 only on SSLv3 and
# TLS 1.0 (no C14), no CBC suite on SSLv3 (no POODLE, C20); not F: TLS 1.2 is
# the best protocol (C26) and not every suite is RC4 (C28).
assert_eq "B" "$(grade rc4-sslv3)" "rc4-sslv3: SSLv3, TLS 1.0, RC4 -> B"
assert_eq "hsts_absent rc4 ssl3 tls10_or_11" "$(reasons rc4-sslv3)" "rc4-sslv3: reasons"
assert_eq "SSLv2:0 SSLv3:1 TLSv1:1 TLSv1.1:0 TLSv1.2:1 TLSv1.3:1" \
    "$(q "select group_concat(protocol || ':' || accepted, ' ') from (select p.protocol, p.accepted
          from protocols p join results r on r.id = p.result_id
          where r.host = 'rc4-sslv3.lab.tlsweep.test' order by p.protocol)")" \
    "rc4-sslv3: protocol rows"
for proto in SSLv3 TLSv1; do
    assert_eq "TLS_RSA_WITH_RC4_128_SHA TLS_RSA_WITH_RC4_128_MD5" \
        "$(q "select group_concat(name, ' ') from (select s.name from suites s
              join results r on r.id = s.result_id
              where r.host = 'rc4-sslv3.lab.tlsweep.test' and s.protocol = '$proto' order by s.pref_order)")" \
        "rc4-sslv3: $proto suites in server order"
done
# slow-hello (issue 14): TLS 1.3 only, TLS_AES_256_GCM_SHA384 and X25519
# alone, and every handshake waits 4 s before its ServerHello.  The grading
# connections' deadline is derived from the endpoint's own handshake time:
# max(--probe-timeout default 3 s, 2 x 4 s) capped at --handshake-timeout
# (6 s), so its hellos are answered in time and it is graded.  P = 100, K = 90
# (X25519), C = 100 (AES-256 alone) -> S = 97 -> A; no HSTS -> A.  With the
# plain 3 s probe timeout every accepted hello timed out: not graded.
assert_eq "ok|A" "$(q "select class, grade from results where host = 'slow-hello.lab.tlsweep.test'")" \
    "slow-hello: a 4 s handshake is graded"
assert_eq "hsts_absent" "$(reasons slow-hello)" "slow-hello: reasons"
assert_eq "TLSv1.3:TLS_AES_256_GCM_SHA384" \
    "$(q "select group_concat(s.protocol || ':' || s.name, ' ') from suites s
          join results r on r.id = s.result_id where r.host = 'slow-hello.lab.tlsweep.test'")" \
    "slow-hello: its one suite found through the slow hellos"
# The vulnerability probes (issue 14, scanner/vuln.h), one scripted server
# each (lab/servers.c, legacy.c), each otherwise grading.md's B0 (TLS 1.2 +
# 1.3, ECDHE-RSA AEAD suites, RSA-2048, no HSTS: A) so that only its one
# defect shows.  vuln NAME PROBE: tested|vulnerable of that row.
vuln() {
    q "select v.tested || '|' || v.vulnerable from vulns v join results r on r.id = v.result_id
       where r.host = '$1.lab.tlsweep.test' and v.name = '$2'"
}
# heartbleed: acknowledges the heartbeat extension on TLS <= 1.2 and echoes
# as many bytes as a request claims: the probe claims 16 and sends none, so
# the answer (3 + 16 + 16 padding = 35 bytes) proves the over-read.  C17 -> F.
assert_eq "1|1" "$(vuln heartbleed heartbleed)" "heartbleed: vulnerable"
assert_eq "1|1" "$(vuln heartbleed heartbeat_extension)" "heartbleed: heartbeat extension on"
assert_eq "F" "$(grade heartbleed)" "heartbleed: F"
assert_eq "heartbleed hsts_absent" "$(reasons heartbleed)" "heartbleed: reasons"
assert_eq "1" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where r.host = 'heartbleed.lab.tlsweep.test' and v.name = 'heartbleed'
    and v.detail like '%35-byte heartbeat answer%bytes discarded%'")" "heartbleed: only the length is kept"
# ccs-injection: an early ChangeCipherSpec after the TLS <= 1.2 first flight
# is accepted; the second fails with bad_record_mac (20).  C18 -> F.
assert_eq "1|1" "$(vuln ccs-injection ccs_injection)" "ccs-injection: vulnerable"
assert_eq "F" "$(grade ccs-injection)" "ccs-injection: F"
assert_eq "ccs_injection hsts_absent" "$(reasons ccs-injection)" "ccs-injection: reasons"
# compression: chooses DEFLATE whenever a TLS 1.2 hello offers it (CRIME):
# 93 -> A, C08 caps C.
assert_eq "1|1" "$(vuln compression compression)" "compression: vulnerable"
assert_eq "C" "$(grade compression)" "compression: C"
assert_eq "compression hsts_absent" "$(reasons compression)" "compression: reasons"
# early-data (issue 14, second session): a TLS 1.3 session ticket with
# max_early_data_size 16384, read on the HTTP step's connection (no extra
# connection).  0-RTT is a note: the grade stays A, no reason added.
assert_eq "1|1" "$(vuln early-data early_data)" "early-data: 0-RTT accepted"
assert_eq "A" "$(grade early-data)" "early-data: A (a note, no grade effect)"
assert_eq "hsts_absent" "$(reasons early-data)" "early-data: reasons"
assert_eq "1" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where r.host = 'early-data.lab.tlsweep.test' and v.name = 'early_data'
    and v.detail like '%allows 16384 bytes of 0-RTT%'")" "early-data: the announced size"
# insecure-reneg: lab/reneg.c's scripted TLS 1.2 server (ECDHE-RSA
# AES-128-GCM, no renegotiation_info) answers our client-initiated
# renegotiation hello with a new ServerHello: C06 -> F (and no C13 warning,
# which is for servers that refuse).  legacy-no-reneg: the same script
# refuses with a no_renegotiation warning: tested, not vulnerable; C13 and no
# TLS 1.3 (C44) -> A-.
assert_eq "1|1" "$(vuln insecure-reneg insecure_renegotiation)" "insecure-reneg: vulnerable"
assert_eq "1|1" "$(vuln insecure-reneg no_secure_renegotiation)" "insecure-reneg: no RFC 5746"
assert_eq "F" "$(grade insecure-reneg)" "insecure-reneg: F"
assert_eq "hsts_absent insecure_reneg no_tls13_warning" "$(reasons insecure-reneg)" "insecure-reneg: reasons"
assert_eq "1|0" "$(vuln legacy-no-reneg insecure_renegotiation)" "legacy-no-reneg: tested, refused"
assert_eq "1" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where r.host = 'legacy-no-reneg.lab.tlsweep.test' and v.name = 'insecure_renegotiation'
    and v.detail like '%alert 100 (no_renegotiation)%'")" "legacy-no-reneg: no_renegotiation"
assert_eq "A-" "$(grade legacy-no-reneg)" "legacy-no-reneg: A-"
assert_eq "hsts_absent no_secure_reneg no_tls13_warning" "$(reasons legacy-no-reneg)" "legacy-no-reneg: reasons"
# Everywhere else RFC 5746 is supported: the probe does not run.
assert_eq "0" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where v.name = 'insecure_renegotiation' and v.tested = 1
    and r.host not in ('insecure-reneg.lab.tlsweep.test', 'legacy-no-reneg.lab.tlsweep.test')")" \
    "insecure_renegotiation: probed only where RFC 5746 is missing"
# Logjam, FREAK, Sweet32 and BEAST come from the enumeration alone: 3des is
# the one Sweet32 server (its C is grade.c's C33), tls10-only the one CBC-on-
# TLS 1.0 server (BEAST: a note since 2009d); dhe-1024's 1024-bit group is
# no Logjam (< 1024 is) and no lab server accepts an export suite.
assert_eq "1|1" "$(vuln 3des sweet32)" "3des: sweet32"
assert_eq "1|1" "$(vuln tls10-only beast)" "tls10-only: beast"
assert_eq "1|0" "$(vuln dhe-1024 logjam)" "dhe-1024: tested, no logjam"
# DROWN across the estate (issue 14, store/drown.c): drown-sslv2 answers
# SSLv2 CLIENT-HELLOs by script (lab/legacy.c) with a key no other endpoint
# has but drown-peer, a clean TLS 1.2/1.3 server with another certificate.
# The scan's end marks both (by the SPKI SHA-256 of their leaves) and grades
# them F with the reason 'drown'; drown-sslv2's own SSLv2 is F already (C05).
assert_eq "1|1" "$(vuln drown-sslv2 drown)" "drown-sslv2: drown"
assert_eq "1|1" "$(vuln drown-peer drown)" "drown-peer: drown (shares the SSLv2 endpoint's key)"
assert_eq "F" "$(grade drown-sslv2)" "drown-sslv2: F"
assert_eq "F" "$(grade drown-peer)" "drown-peer: F"
assert_eq "drown hsts_absent" "$(reasons drown-peer)" "drown-peer: reasons"
assert_eq "1|1" "$(q "select sum(gr.code = 'drown'), sum(gr.code = 'ssl2') from grade_reasons gr
    join results r on r.id = gr.result_id where r.host = 'drown-sslv2.lab.tlsweep.test'")" \
    "drown-sslv2: reasons drown and ssl2"
assert_eq "F|F|hsts_absent,drown" "$(q "select g.grade, g.grade_trust_ignored, g.reasons from grades g
    join results r on r.id = g.result_id where r.host = 'drown-peer.lab.tlsweep.test'")" \
    "drown-peer: the grades row says F and why"
assert_eq "1" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where r.host = 'drown-peer.lab.tlsweep.test' and v.name = 'drown'
    and v.detail like '%served with SSLv2 by drown-sslv2.lab.tlsweep.test:%'")" \
    "drown-peer: the detail names the SSLv2 endpoint"
assert_eq "SSLv2:1" "$(q "select p.protocol || ':' || p.accepted from protocols p
    join results r on r.id = p.result_id
    where r.host = 'drown-sslv2.lab.tlsweep.test' and p.protocol = 'SSLv2'")" \
    "drown-sslv2: SSLv2 accepted"
assert_eq "drown-sslv2" "$(q "select group_concat(replace(r.host, '.lab.tlsweep.test', ''), ' ')
    from protocols p join results r on r.id = p.result_id
    where p.protocol = 'SSLv2' and p.accepted = 1")" "SSLv2: accepted by drown-sslv2 alone"
# No false positive anywhere else: those rows are the only vulnerable
# ones of the whole lab; every fixed TLS <= 1.2 server refused the early CCS
# with unexpected_message and the fallback hello with inappropriate_fallback.
assert_eq "3des:sweet32 ccs-injection:ccs_injection compression:compression drown-peer:drown drown-sslv2:drown early-data:early_data heartbleed:heartbeat_extension heartbleed:heartbleed insecure-reneg:insecure_renegotiation insecure-reneg:no_secure_renegotiation legacy-no-reneg:no_secure_renegotiation tls10-only:beast" \
    "$(q "select group_concat(n, ' ') from (select replace(r.host, '.lab.tlsweep.test', '') || ':' || v.name as n
          from vulns v join results r on r.id = v.result_id where v.vulnerable = 1 order by n)")" \
    "vulns: no probe fires on any other lab endpoint"
assert_eq "0" "$(q "select count(*) from vulns v join results r on r.id = v.result_id
    where v.name = 'ccs_injection' and v.tested = 1 and v.vulnerable = 0
    and v.detail not like '%unexpected_message%'")" "vulns: every fixed server said unexpected_message"
assert_eq "0" "$(q "select count(*) from results r where r.grade is not null
    and (select count(*) from vulns v where v.result_id = r.id) != 13")" "vulns: thirteen rows per graded endpoint (drown included)"
assert_eq "0|0|0|0" "$(q "select v.tested, v.vulnerable, (select count(*) from vulns w
    where w.result_id = v.result_id and w.name in ('ccs_injection', 'no_fallback_scsv', 'heartbleed')
    and w.tested = 1), (select count(*) from vulns w where w.result_id = v.result_id and w.vulnerable = 1)
    from vulns v join results r on r.id = v.result_id
    where r.host = 'tls13-hsts.lab.tlsweep.test' and v.name = 'ccs_injection'")" \
    "vulns: TLS 1.3 only, no probe applies"
# legacy-raw answers nothing but SSLv3/TLS 1.0 hellos with RC4 (lab.sh checks
# the scripted bytes).  The engine grades only once one of its OpenSSL
# classification probes completed a handshake (scanner/worker.c
# ep_grade_base); here every one of them, the all-ciphers one too, gets
# handshake_failure -> tls_alert, no grading probe ever runs, so nothing
# records its SSLv3 or RC4.
assert_eq "tls_alert|NULL|0|0|0" \
    "$(q "select r.class, ifnull(r.grade, 'NULL'),
          (select count(*) from protocols p where p.result_id = r.id),
          (select count(*) from suites s where s.result_id = r.id),
          (select count(*) from grades g where g.result_id = r.id)
          from results r where r.host = 'legacy-raw.lab.tlsweep.test'")" \
    "legacy-raw: tls_alert, not graded, no protocol or suite rows"
# no-shared-cipher: MAIN fails, the engine grades on its all-ciphers probe
# (scanner/worker.c ep_grade_base).  The one suite is NULL-SHA256: C = 0 ->
# S = 0 (zero_category) -> F, and a suite under 112 bits caps F (C34).
assert_eq "no_shared_cipher|F" "$(q "select class, grade from results
    where host = 'no-shared-cipher.lab.tlsweep.test'")" "no-shared-cipher: graded F"
assert_eq "2" "$(q "select count(*) from grade_reasons gr join results r on r.id = gr.result_id
    where r.host = 'no-shared-cipher.lab.tlsweep.test' and gr.code in ('zero_category', 'cipher_lt112')")" \
    "no-shared-cipher: zero_category and cipher_lt112"
# Endpoints where no classification probe completed a handshake are not graded.
for n in alert stall reset garbage plain-http protocol-mismatch closed legacy-raw; do
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
for n in tls13-hsts tls12-only-hsts; do
    assert_eq "present|31536000" "$(q "select h.status, h.max_age from hsts h
        join results r on r.id = h.result_id where r.host = '$n.lab.tlsweep.test'")" "$n: HSTS stored"
done

# s_client_suites DB HOST IP PORT FLAG PROTO: cross-check the suites tlsweep
# stored for one protocol against openssl s_client: every suite OpenSSL can
# offer that completes a handshake (one suite per connection, four clients at
# a time) must be in the suites table, and nothing else.  PSK and SRP suites
# are left out: s_client offers them only with credentials, so they could
# never complete.
try_suite() { # ADDR SNI FLAG STD OSSL: print STD when the handshake completes
    local sni=()
    [ -z "$2" ] || sni=(-servername "$2")
    timeout 5 openssl s_client -connect "$1" "${sni[@]}" "$3" -cipher "$5:@SECLEVEL=0" \
        </dev/null >/dev/null 2>&1 && echo "$4"
    return 0
}
export -f try_suite
s_client_suites() {
    local db=$1 host=$2 ip=$3 port=$4 flag=$5 proto=$6 want got sni=""
    [ "$host" = "$ip" ] || sni=$host
    want=$(openssl ciphers -stdname "$flag" 'ALL:COMPLEMENTOFALL:!PSK:!SRP:@SECLEVEL=0' |
        awk '$1 !~ /^TLS_(AES|CHACHA20)_/ { print $1, $3 }' |
        A="$ip:$port" S="$sni" F="$flag" xargs -P 4 -n 2 bash -c 'try_suite "$A" "$S" "$F" "$0" "$1"' |
        LC_ALL=C sort | tr '\n' ' ')
    got=$(sqlite3 -batch -noheader "$db" "select s.name from suites s join results r on r.id = s.result_id
           where r.host = '$host' and s.protocol = '$proto' order by s.name" | tr '\n' ' ')
    [ -n "$want" ] || fail "s_client completed no $proto handshake with $host"
    assert_eq "$want" "$got" "$host: $proto suites match s_client's"
}
s_client_suites "$DB" tls10-only.lab.tlsweep.test \
    "$(q "select ip from results where host = 'tls10-only.lab.tlsweep.test'")" 28443 -tls1 TLSv1
for n in no-fs cbc-only dhe-1024; do
    s_client_suites "$DB" $n.lab.tlsweep.test \
        "$(q "select ip from results where host = '$n.lab.tlsweep.test'")" 28443 -tls1_2 TLSv1.2
done

# The README's query: endpoints still accepting a CBC suite under TLS 1.2.
# cbc-only (ECDHE-RSA-AES128/256-SHA) and 3des (DES-CBC3-SHA, CBC too); every
# other lab server with TLS 1.2 runs AEAD suites only.  Under TLS 1.0 the same
# query finds tls10-only, and only it (rc4-sslv3's TLS 1.0 suites are RC4).
cbc12=$(q "SELECT r.host || ' ' || s.name FROM results r JOIN suites s ON s.result_id = r.id
           WHERE s.protocol = 'TLSv1.2' AND s.is_cbc = 1 ORDER BY r.host, s.name")
assert_eq "3des.lab.tlsweep.test TLS_RSA_WITH_3DES_EDE_CBC_SHA
cbc-only.lab.tlsweep.test TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
cbc-only.lab.tlsweep.test TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" "$cbc12" "CBC under TLS 1.2: cbc-only and 3des"
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

# diff (issue 14): a probe that newly fires is a regression.  Two scans of
# heartbleed; the first one's row is set back to "not vulnerable", as if the
# server had been fixed then (both scans grade it F, so only vuln_new fires).
echo "heartbleed.lab.tlsweep.test:28443" > "$TMP/hb.txt"
for i in 1 2; do
    "$TLSWEEP" scan --lab="$LAB" --db "$TMP/hb.db" --no-progress --handshake-timeout 3 "$TMP/hb.txt" \
        2>/dev/null || fail "heartbleed scan $i failed"
done
sqlite3 "$TMP/hb.db" "update vulns set vulnerable = 0 where name = 'heartbleed'
                      and result_id = (select min(id) from results)"
rc=0
"$TLSWEEP" diff --db "$TMP/hb.db" --fail-on regression --format json > "$TMP/hb.json" 2>&1 || rc=$?
assert_eq "1" "$rc" "diff: newly vulnerable fails --fail-on regression"
# old and new: the probes that fired on each side.
assert_eq "vuln_new|1|heartbeat_extension|heartbeat_extension,heartbleed" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("\n".join("%s|%d|%s|%s" % (c["kind"], c["regression"], c["old"], c["new"]) for c in d["changes"]))' \
    "$TMP/hb.json")" "diff: the one change is vuln_new, heartbleed added"
"$TLSWEEP" report --db "$TMP/hb.db" --group none > "$TMP/hb.txt.out" 2>&1 || fail "report failed"
grep -q "vulns: *heartbeat_extension,heartbleed" "$TMP/hb.txt.out" || fail "text report lacks the vulns line"
pass "text report: vulns line"
"$TLSWEEP" report --db "$TMP/hb.db" --format json > "$TMP/hb.rep.json" 2>&1 || fail "json report failed"
assert_eq '["heartbeat_extension", "heartbleed"]' "$(python3 -c 'import json,sys
print(json.dumps(json.load(open(sys.argv[1]))["endpoints"][0]["vulns"]))' "$TMP/hb.rep.json")" \
    "json report: vulns"

# --quick grades nothing.
"$TLSWEEP" scan --lab="$LAB" --db "$TMP/quick.db" --quick -j 2 --no-progress --connect-timeout 2 \
    --handshake-timeout 3 --dns-timeout 1 --dns-tries 1 2>/dev/null || fail "quick scan failed"
assert_eq "0|0|0" "$(sqlite3 "$TMP/quick.db" "select (select count(*) from results where grade is not null),
    (select count(*) from grades), (select count(*) from suites)")" "--quick: no grade, no grading rows"

"$TLSWEEP" lab down --dir "$LAB" >/dev/null 2>&1 || true
echo "grade: all checks passed"
