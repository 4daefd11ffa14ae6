#!/usr/bin/env bash
# Issue 4's acceptance test: bring the whole lab up, scan it, and check every
# endpoint's class and exact issue set against the expectations the lab
# prints with its targets ("# expect: CLASS ISSUES" before each target line).
# Then scan again with --now past the valid certificates' expiry: they turn
# into cert_expired.
. "$(dirname "$0")/common.sh"

LAB="$TMP/lab"
"$TLSWEEP" lab up --daemon --dir "$LAB" --base 127.78.0.0 --port 18443 --dns-port 15353 >"$TMP/lab.out" 2>&1 || fail "lab up: $(cat "$TMP/lab.out")"
labpid=$(cat "$LAB/lab.pid")
PIDS+=("$labpid")
"$TLSWEEP" lab targets --dir "$LAB" > "$TMP/targets.txt"
[ -s "$TMP/targets.txt" ] || fail "lab printed no targets"

DB="$TMP/lab.db"
# --handshake-timeout 6: slow-hello's handshakes take 4 s (issue 14); it is ok.
"$TLSWEEP" scan --lab="$LAB" --db "$DB" --no-progress --connect-timeout 2 \
    --handshake-timeout 6 --dns-timeout 1 --dns-tries 1 "$TMP/targets.txt" 2>"$TMP/scan.err" \
    || fail "scan exited $?: $(tail -5 "$TMP/scan.err")"
tail -30 "$TMP/scan.err"

# Walk the expectations: each "# expect:" line applies to the next target line.
check_expectations() {
    local db=$1 override_ok=${2:-} n=0 bad=0 expect_class="" expect_issues=""
    while IFS= read -r line; do
        case "$line" in
            "# expect: "*)
                read -r _ _ expect_class expect_issues <<<"$line"
                continue ;;
            "#"*|"") continue ;;
        esac
        [ -n "$expect_class" ] || continue
        read -r target sni <<<"$line"
        # A STARTTLS target keeps its scheme (smtp://NAME:PORT): stored as
        # results.starttls, the host column holds the name alone.
        local scheme="" stls_sql="starttls IS NULL"
        if [[ "$target" == *://* ]]; then
            scheme=${target%%://*}; target=${target#*://}; stls_sql="starttls = '$scheme'"
        fi
        local host port
        if [[ "$target" == \[* ]]; then
            host=${target#[}; host=${host%%]*}; port=${target##*]:}
        else
            host=${target%:*}; port=${target##*:}
        fi
        # Without an SNI field a name sends itself, an address sends none.
        local sni_sql
        if [ "$sni" = "-" ]; then sni_sql="sni IS NULL"
        elif [ -n "$sni" ]; then sni_sql="sni = '$sni'"
        elif [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then sni_sql="sni IS NULL"
        else sni_sql="sni = '$host'"; fi
        local got
        got=$(sqlite3 -batch -noheader -separator ' ' "$db" \
            "select class, issues from results where host='$host' and port=$port and $sni_sql and $stls_sql")
        local want="$expect_class $expect_issues"
        if [ -n "$override_ok" ] && [ "$expect_class" = ok ]; then
            want="$override_ok"
        fi
        n=$((n + 1))
        if [ -z "$got" ]; then
            echo "MISSING $target ${sni:-}: expected '$want'"; bad=$((bad + 1))
        elif [ "$got" != "$want" ]; then
            echo "WRONG   $target ${sni:-}: expected '$want', got '$got'"
            sqlite3 "$db" "select detail from results where host='$host' and port=$port and $sni_sql" | head -2
            bad=$((bad + 1))
        else
            echo "ok - $target ${sni:-}: $got"
        fi
        expect_class=""
    done < "$TMP/targets.txt"
    [ "$n" -ge 20 ] || fail "only $n expectations found in the lab targets"
    [ "$bad" = 0 ] || fail "$bad of $n lab endpoints misclassified"
    pass "all $n lab endpoints classified as expected"
}
check_expectations "$DB"

# Issue 13: the endpoints judged as clients see them are graded all the
# same (a server that wants a client certificate is graded from its
# hellos), and the client-certificate requests are stored.
q() { sqlite3 -batch -noheader "$DB" "$1"; }
grade_of() { q "select ifnull(grade, 'NULL') from results where host = '$1.lab.tlsweep.test'"; }
# cn-only: a valid chain for a name the certificate holds only in its CN: M.
assert_eq "M" "$(grade_of cn-only)" "cn-only: no subjectAltName -> M"
assert_eq "1" "$(q "select count(*) from results where host = 'cn-only.lab.tlsweep.test'
                    and detail like '%no subjectAltName: clients ignore the subject CN%'")" \
    "cn-only: the detail says why"
# client-cert-*: TLS 1.2 only -> A- (no TLS 1.3 warning); TLS 1.3 only and
# the optional one (TLS 1.2 + 1.3) -> A, as valid-rsa.
assert_eq "A-" "$(grade_of client-cert-tls12)" "client-cert-tls12: graded, A-"
assert_eq "A" "$(grade_of client-cert-tls13)" "client-cert-tls13: graded, A"
assert_eq "A" "$(grade_of client-cert-optional)" "client-cert-optional: graded, A"
certreq() {
    q "select c.required || ' ' || c.n_ca_names || ' ' || c.ca_names from cert_requests c
       join results r on r.id = c.result_id where r.host = '$1.lab.tlsweep.test'"
}
names="CN=tlsweep lab root CA,O=tlsweep lab; CN=tlsweep lab intermediate CA,O=tlsweep lab"
assert_eq "1 2 $names" "$(certreq client-cert-tls12)" "client-cert-tls12: required, CA names"
assert_eq "1 2 $names" "$(certreq client-cert-tls13)" "client-cert-tls13: required, CA names"
assert_eq "0 2 $names" "$(certreq client-cert-optional)" "client-cert-optional: optional, CA names"
assert_eq "3" "$(q "select count(*) from cert_requests")" "no other server asked for a certificate"
assert_eq "1" "$(q "select count(*) from results where host = 'client-cert-tls13.lab.tlsweep.test'
                    and detail like '%alert certificate_required (116)%'")" \
    "client-cert-tls13: the post-handshake alert is named"
assert_eq "1" "$(q "select count(*) from results where host = 'client-cert-optional.lab.tlsweep.test'
                    and detail like '%but works without one%'")" \
    "client-cert-optional: the note says it works without one"

# The client policy (--clients modern, the default) decides the class; the
# grade stays SSL Labs' judgement of what the server accepts.
assert_eq "C" "$(grade_of tls10-only)" "tls10-only: protocol_mismatch, still graded C"
assert_eq "C" "$(grade_of tls11-only)" "tls11-only: protocol_mismatch, graded C"
assert_eq "A-" "$(grade_of ccm-only)" "ccm-only: no_shared_cipher, graded A- (TLS 1.2 AEAD, no TLS 1.3)"
assert_eq "B" "$(grade_of dhe-1024)" "dhe-1024: no_shared_cipher, still graded B"
assert_eq "1" "$(q "select count(*) from results where host = 'tls10-only.lab.tlsweep.test'
                    and detail like '%accepts only TLS 1.0/1.1 or older (best: TLSv1): modern clients refuse it%'")" \
    "tls10-only: the detail says why"
assert_eq "1" "$(q "select count(*) from scans where options like '% --clients modern%'")" \
    "the policy is stored with the scan"
# Graded, the policy is decided from the enumeration: no extra connection.
assert_eq "0" "$(q "select count(*) from results where detail like '%modern=%'")" \
    "no modern-suites probe when grading"

# Mozilla profiles (issue 13): verdicts per profile as "pass failed_checks".
# dual-cert: the ECDSA leaf is seen from the enumeration (modern does not
# fail certificate_types), two-year HSTS: intermediate and old pass; modern
# fails on TLS 1.2, its suites, the RSA-signed leaves and their lifespan.
moz() {
    q "select pass || ' ' || failed_checks from compliance_latest
       where host = '$1.lab.tlsweep.test' and profile = '$2'"
}
assert_eq "A+" "$(grade_of dual-cert)" "dual-cert: graded A+ (two-year HSTS)"
assert_eq "A-" "$(grade_of rsa-pss-only)" "rsa-pss-only: graded A- (TLS 1.2 only)"
assert_eq "A" "$(grade_of x25519-only)" "x25519-only: graded A, as valid-rsa"
assert_eq "1 " "$(moz dual-cert intermediate)" "dual-cert: Mozilla intermediate"
assert_eq "1 " "$(moz dual-cert old)" "dual-cert: Mozilla old"
assert_eq "0 tls_versions,ciphers,certificate_signatures,maximum_certificate_lifespan" \
    "$(moz dual-cert modern)" "dual-cert: not modern, and not for its key type"
# The others send no or a one-year HSTS: every profile fails hsts_min_age.
for ep in rsa-pss-only x25519-only valid-rsa; do
    assert_eq "0 hsts_min_age" "$(moz $ep intermediate)" "$ep: intermediate fails on HSTS alone"
    assert_eq "0 hsts_min_age" "$(moz $ep old)" "$ep: old fails on HSTS alone"
    assert_eq "0 tls_versions,ciphers,certificate_types,certificate_signatures,hsts_min_age,maximum_certificate_lifespan" \
        "$(moz $ep modern)" "$ep: not modern"
done
assert_eq "0 tls_versions,ciphers,hsts_min_age" "$(moz tls10-only intermediate)" \
    "tls10-only: intermediate fails on TLS 1.0 and its suites"
assert_eq "0 hsts_min_age" "$(moz tls10-only old)" "tls10-only: old accepts TLS 1.0"
assert_eq "1" "$(q "select count(*) from results where host = 'dual-cert.lab.tlsweep.test'
                    and id in (select result_id from compliance
                               where profile = 'intermediate' and pass = 1)")" \
    "compliance rows join results (report --where)"
assert_eq "0" "$(q "select count(*) from results r where grade is not null
                    and (select count(*) from compliance c where c.result_id = r.id) != 3")" \
    "every graded endpoint has its three verdicts"

# --quick: from the one handshake, plus one modern-suites handshake when its
# suite is outside the set (dhe-1024); --clients any: today's judgement.
grep -E "^(tls10-only|tls11-only|dhe-1024|cbc-only|ccm-only|valid-rsa)\." "$TMP/targets.txt" \
    >"$TMP/policy.txt"
assert_eq "6" "$(grep -c . "$TMP/policy.txt")" "six policy targets"
for mode in quick any; do
    args=(--quick)
    [ "$mode" = any ] && args=(--clients any)
    "$TLSWEEP" scan --lab="$LAB" --db "$TMP/$mode.db" --no-progress --connect-timeout 2 \
        --handshake-timeout 3 --dns-timeout 1 --dns-tries 1 "${args[@]}" "$TMP/policy.txt" \
        2>"$TMP/$mode.err" || fail "$mode scan exited $?: $(tail -5 "$TMP/$mode.err")"
done
cls() { sqlite3 -batch -noheader "$TMP/$1.db" "select class from results where host = '$2.lab.tlsweep.test'"; }
assert_eq "protocol_mismatch" "$(cls quick tls10-only)" "--quick: tls10-only from the one handshake"
assert_eq "protocol_mismatch" "$(cls quick tls11-only)" "--quick: tls11-only from the one handshake"
assert_eq "no_shared_cipher" "$(cls quick dhe-1024)" "--quick: dhe-1024 after the modern-suites handshake"
assert_eq "ok" "$(cls quick cbc-only)" "--quick: cbc-only (ECDHE-RSA-AES128-SHA, a modern suite)"
assert_eq "ok" "$(cls quick valid-rsa)" "--quick: valid-rsa"
assert_eq "1" "$(sqlite3 "$TMP/quick.db" "select count(*) from results where detail like '%modern=%'")" \
    "--quick: one modern-suites handshake in all (dhe-1024)"
assert_eq "ok" "$(cls any tls10-only)" "--clients any: tls10-only is ok"
assert_eq "ok" "$(cls any tls11-only)" "--clients any: tls11-only is ok"
assert_eq "ok" "$(cls any dhe-1024)" "--clients any: dhe-1024 is ok"
assert_eq "no_shared_cipher" "$(cls any ccm-only)" "--clients any: ccm-only needs every cipher (as before)"
assert_eq "C" "$(sqlite3 "$TMP/any.db" "select grade from results where host = 'tls10-only.lab.tlsweep.test'")" \
    "--clients any: the same grade"
"$TLSWEEP" scan --clients bogus --db "$TMP/x.db" "$TMP/policy.txt" 2>"$TMP/bogus.err" && fail "--clients bogus accepted"
grep -q "tlsweep scan: --clients: 'bogus'" "$TMP/bogus.err" || fail "--clients bogus: $(cat "$TMP/bogus.err")"
pass "--clients bogus is refused"

stored=$(sqlite3 "$DB" "select count(*) from results")
distinct=$(sqlite3 "$DB" "select count(distinct host||port||ifnull(sni,'-')||ifnull(starttls,'')) from results")
assert_eq "$stored" "$distinct" "every endpoint stored once"

# Judge validity a few years ahead: every otherwise-ok certificate is expired.
DB2="$TMP/lab-later.db"
"$TLSWEEP" scan --lab="$LAB" --db "$DB2" --no-progress --connect-timeout 2 \
    --handshake-timeout 6 --dns-timeout 1 --dns-tries 1 --now "@$(( $(date +%s) + 20*365*86400 ))" \
    "$TMP/targets.txt" 2>/dev/null || fail "--now scan failed"
ok_then=$(sqlite3 "$DB" "select host||':'||port||' '||ifnull(sni,'-') from results where class='ok'")
[ -n "$ok_then" ] || fail "no ok endpoints in the lab scan"
while IFS= read -r ep; do
    read -r hp s <<<"$ep"
    h=${hp%:*}; p=${hp##*:}
    if [ "$s" = "-" ]; then cond="sni IS NULL"; else cond="sni='$s'"; fi
    c=$(sqlite3 "$DB2" "select class from results where host='$h' and port=$p and $cond")
    assert_eq cert_expired "$c" "with --now in 20 years, $ep"
done <<<"$ok_then"

"$TLSWEEP" lab down --dir "$LAB" || fail "lab down failed"
# The daemon is not our child: give its reaper a moment (bounded) to collect it.
for _ in $(seq 1 50); do
    kill -0 "$labpid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$labpid" 2>/dev/null && [ "$(ps -o stat= -p "$labpid" | cut -c1)" != Z ]; then
    fail "lab still running after lab down"
fi
pass "lab stopped"
