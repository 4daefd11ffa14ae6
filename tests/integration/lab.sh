#!/usr/bin/env bash
# lab.sh - bring the lab up as a daemon in a temp dir, check that every
# endpoint really behaves as its row in lab/lab.c says (with
# openssl s_client, bash /dev/tcp and /dev/udp), then bring it down.
#
# The lab runs on its own base address and ports so that a developer's lab
# on the defaults is not disturbed.  Every process this test starts is
# stopped by its PID.
set -u

TLSWEEP=${TLSWEEP:?TLSWEEP must name the built binary}
BASE=127.79.1.0
PFX=127.79.1
PORT=28443
DNS_PORT=25353
DIR=$(mktemp -d /tmp/tlsweep-lab-test.XXXXXX)
FAILS=0
FG_PID=

cleanup() {
    if [ -s "$DIR/lab.pid" ]; then
        "$TLSWEEP" lab down --dir "$DIR" >/dev/null 2>&1
    fi
    if [ -n "$FG_PID" ] && kill -0 "$FG_PID" 2>/dev/null; then
        kill "$FG_PID" 2>/dev/null
        wait "$FG_PID" 2>/dev/null
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

pass() { echo "ok   - $*"; }
fail() {
    echo "FAIL - $*"
    FAILS=$((FAILS + 1))
}
# check DESC CMD...: pass when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# s_client ADDR [ARGS...]: the client's whole output; never waits > 5 s.
sc() {
    local addr=$1
    shift
    timeout 5 openssl s_client -connect "$addr" -CAfile "$DIR/ca.pem" "$@" </dev/null 2>&1
}
# expect_sc DESC PATTERN ADDR [ARGS...]: the s_client output matches PATTERN (ERE).
expect_sc() {
    local desc=$1 pat=$2 out
    shift 2
    out=$(sc "$@")
    if grep -Eq -- "$pat" <<<"$out"; then
        pass "$desc"
    else
        fail "$desc: no /$pat/ in:"
        sed 's/^/    /' <<<"$out" | head -20
    fi
}
host() { echo "$1.lab.tlsweep.test"; }
# gone PID: the process has exited (a zombie not yet reaped by init counts).
gone() {
    local st
    kill -0 "$1" 2>/dev/null || return 0
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$st" = Z ] || [ -z "$st" ]
}

# ---- up ----
START=$(date +%s)
if ! "$TLSWEEP" lab up --daemon --dir "$DIR" --base $BASE --port $PORT --dns-port $DNS_PORT; then
    echo "FAIL - lab up --daemon"
    cat "$DIR/lab.log" 2>/dev/null
    exit 1
fi
PID=$(cat "$DIR/lab.pid")
check "daemon pid $PID is alive" kill -0 "$PID"
check "lab dir is 0700" test "$(stat -c %a "$DIR")" = 700
check "lab.env has the resolver" grep -qx "TLSWEEP_LAB_RESOLVER=$PFX.1:$DNS_PORT" "$DIR/lab.env"
check "lab.env has the CA" grep -qx "TLSWEEP_LAB_CA=$DIR/ca.pem" "$DIR/lab.env"
check "lab.env has the targets" grep -qx "TLSWEEP_LAB_TARGETS=$DIR/targets.txt" "$DIR/lab.env"
check "lab.env has nothing else" test "$(grep -c . "$DIR/lab.env")" = 3
check "lab ca prints ca.pem" cmp -s <("$TLSWEEP" lab ca --dir "$DIR") "$DIR/ca.pem"
check "the bundle is one root CA" test "$(grep -c 'BEGIN CERTIFICATE' "$DIR/ca.pem")" = 1
check "the root is self-signed" bash -c "openssl verify -CAfile '$DIR/ca.pem' '$DIR/ca.pem' >/dev/null"
"$TLSWEEP" lab status --dir "$DIR" >"$DIR/status.out"
check "lab status says running with the pid" grep -q "running, pid $PID" "$DIR/status.out"
check "lab status gives the resolver" grep -q "$PFX.1:$DNS_PORT" "$DIR/status.out"
"$TLSWEEP" lab up --daemon --dir "$DIR" --base $BASE --port $PORT --dns-port $DNS_PORT 2>/dev/null
check "a second lab up in the same dir is refused (exit 3)" test $? = 3

# ---- targets ----
"$TLSWEEP" lab targets --dir "$DIR" >"$DIR/targets.out"
check "lab targets prints targets.txt" cmp -s "$DIR/targets.out" "$DIR/targets.txt"
CLASSES="dns_nxdomain dns_servfail dns_timeout tcp_refused tcp_unreachable tcp_timeout tcp_reset
starttls_unsupported starttls_refused handshake_timeout not_tls protocol_mismatch no_shared_cipher sni_required client_cert_required tls_alert cert_revoked
cert_expired cert_not_yet_valid self_signed untrusted_root incomplete_chain hostname_mismatch
weak_key weak_signature ok"
bad=$(awk -v classes="$CLASSES" '
    BEGIN { n = split(classes, c, /[ \n]+/); for (i = 1; i <= n; i++) ok[c[i]] = 1 }
    /^# expect: / {
        if (pending) { print "two expect lines before line " NR; }
        if (!(($3) in ok)) print "unknown class " $3 " at line " NR
        m = split($4, is, ","); for (i = 1; i <= m; i++) if (!(is[i] in ok)) print "unknown issue " is[i]
        if (NF != 4) print "bad expect line " NR
        pending = 1; next
    }
    { if (!pending) print "target without expect at line " NR ": " $0; pending = 0; targets++ }
    END { if (targets != 66) print "expected 66 targets, got " targets }' "$DIR/targets.out")
check "every target has one valid '# expect: CLASS ISSUES' line ($bad)" test -z "$bad"
check "targets use NAME.lab.tlsweep.test:PORT" grep -qx "valid-rsa.lab.tlsweep.test:$PORT" "$DIR/targets.out"
check "sni-required has a no-SNI line" grep -qx "sni-required.lab.tlsweep.test:$PORT -" "$DIR/targets.out"
check "no-sni-different-cert has a no-SNI line" grep -qx "no-sni-different-cert.lab.tlsweep.test:$PORT -" "$DIR/targets.out"
check "the IPv6 endpoint is an address target" grep -qx "\[::1\]:$((PORT + 1))" "$DIR/targets.out"
check "lab targets without a lab prints the defaults" bash -c "'$TLSWEEP' lab targets --dir /nonexistent | grep -qx 'expired.lab.tlsweep.test:8443'"

# ---- certificate endpoints (IP N from lab/lab.c) ----
V="Verify return code"
expect_sc "valid-rsa verifies" "$V: 0 \(ok\)" $PFX.2:$PORT -servername "$(host valid-rsa)" -verify_hostname "$(host valid-rsa)"
expect_sc "valid-rsa has an RSA-2048 key" "public key is 2048 bit" $PFX.2:$PORT -servername "$(host valid-rsa)"
expect_sc "valid-ecdsa verifies" "$V: 0 \(ok\)" $PFX.3:$PORT -servername "$(host valid-ecdsa)" -verify_hostname "$(host valid-ecdsa)"
expect_sc "valid-ecdsa has a P-256 key" "public key is 256 bit" $PFX.3:$PORT -servername "$(host valid-ecdsa)"
expect_sc "valid-rsa staples nothing" "OCSP response: no response sent" $PFX.2:$PORT -servername "$(host valid-rsa)" -status
out=$(printf 'GET / HTTP/1.1\r\nHost: hsts\r\n\r\n' | timeout 5 openssl s_client -connect $PFX.4:$PORT -servername "$(host hsts)" -CAfile "$DIR/ca.pem" -quiet 2>/dev/null)
check "hsts sends Strict-Transport-Security" grep -q "^Strict-Transport-Security: max-age=31536000; includeSubDomains" <<<"$out"
out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 openssl s_client -connect $PFX.2:$PORT -servername "$(host valid-rsa)" -CAfile "$DIR/ca.pem" -quiet 2>/dev/null)
check "valid-rsa answers HTTP 200 without HSTS" bash -c "grep -q '^HTTP/1.1 200' <<<\"\$1\" && ! grep -qi strict-transport <<<\"\$1\"" _ "$out"
expect_sc "expired: certificate has expired" "$V: 10 " $PFX.5:$PORT -servername "$(host expired)"
expect_sc "not-yet-valid: not yet valid" "$V: 9 " $PFX.6:$PORT -servername "$(host not-yet-valid)"
expect_sc "wrong-host: hostname mismatch" "$V: 62 " $PFX.7:$PORT -servername "$(host wrong-host)" -verify_hostname "$(host wrong-host)"
expect_sc "wrong-host chain is otherwise fine" "$V: 0 \(ok\)" $PFX.7:$PORT -servername "$(host wrong-host)"
expect_sc "incomplete-chain: unable to get local issuer" "verify error:num=20:" $PFX.8:$PORT -servername "$(host incomplete-chain)"
expect_sc "incomplete-chain sends the leaf alone" "^ 0 s:.*incomplete-chain" $PFX.8:$PORT -servername "$(host incomplete-chain)" -showcerts
out=$(sc $PFX.8:$PORT -servername "$(host incomplete-chain)" -showcerts)
check "incomplete-chain sends one certificate" test "$(grep -c 'BEGIN CERTIFICATE' <<<"$out")" = 1
check "incomplete-chain leaf has an AIA caIssuers URL" bash -c "openssl x509 -noout -ext authorityInfoAccess <<<\"\$1\" | grep -q 'CA Issuers - URI:http://'" _ "$out"
expect_sc "self-signed: depth-0 self-signed" "$V: 18 " $PFX.9:$PORT -servername "$(host self-signed)"
expect_sc "self-signed: the name is right" "subject=.*CN = self-signed.lab.tlsweep.test" $PFX.9:$PORT -servername "$(host self-signed)"
expect_sc "untrusted-root: self-signed cert in chain" "$V: 19 " $PFX.10:$PORT -servername "$(host untrusted-root)"
out=$(sc $PFX.10:$PORT -servername "$(host untrusted-root)" -showcerts)
check "untrusted-root sends leaf, intermediate and root" test "$(grep -c 'BEGIN CERTIFICATE' <<<"$out")" = 3
expect_sc "revoked: verifies otherwise" "$V: 0 \(ok\)" $PFX.11:$PORT -servername "$(host revoked)"
expect_sc "revoked: staples a revoked OCSP status" "Cert Status: revoked" $PFX.11:$PORT -servername "$(host revoked)" -status
expect_sc "revoked: the OCSP response is successful" "OCSP Response Status: successful" $PFX.11:$PORT -servername "$(host revoked)" -status
expect_sc "rsa1024: 1024-bit key" "public key is 1024 bit" $PFX.12:$PORT -servername "$(host rsa1024)" -cipher 'DEFAULT:@SECLEVEL=0'
out=$(sc $PFX.13:$PORT -servername "$(host sha1)" -cipher 'DEFAULT:@SECLEVEL=0' -showcerts)
check "sha1: leaf signed with SHA-1" bash -c "openssl x509 -noout -text <<<\"\$1\" | grep -q 'Signature Algorithm: sha1WithRSAEncryption'" _ "$out"
expect_sc "sha1: handshake completes at SECLEVEL=0" "$V: 0 \(ok\)" $PFX.13:$PORT -servername "$(host sha1)" -cipher 'DEFAULT:@SECLEVEL=0'

# ---- protocol endpoints ----
expect_sc "tls10-only: TLSv1 at SECLEVEL=0" "Protocol *: TLSv1$" $PFX.14:$PORT -servername "$(host tls10-only)" -cipher 'DEFAULT:@SECLEVEL=0'
expect_sc "tls10-only: refuses TLS 1.2" "unsupported protocol|alert protocol version" $PFX.14:$PORT -servername "$(host tls10-only)" -tls1_2
expect_sc "tls13-only: TLSv1.3" "New, TLSv1.3," $PFX.15:$PORT -servername "$(host tls13-only)"
expect_sc "tls13-only: refuses TLS 1.2" "alert protocol version" $PFX.15:$PORT -servername "$(host tls13-only)" -tls1_2
expect_sc "no-shared-cipher: DEFAULT gets handshake_failure" "alert handshake failure" $PFX.16:$PORT -servername "$(host no-shared-cipher)"
expect_sc "no-shared-cipher: ALL@0 gets handshake_failure" "alert handshake failure" $PFX.16:$PORT -servername "$(host no-shared-cipher)" -cipher 'ALL:@SECLEVEL=0'
expect_sc "no-shared-cipher: every suite completes" "Cipher *: NULL-SHA256" $PFX.16:$PORT -servername "$(host no-shared-cipher)" -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'
expect_sc "protocol-mismatch: protocol_version alert" "alert protocol version" $PFX.17:$PORT -servername "$(host protocol-mismatch)"
expect_sc "sni-required: unrecognized_name without SNI" "unrecognized name" $PFX.18:$PORT -noservername
expect_sc "sni-required: fine with SNI" "$V: 0 \(ok\)" $PFX.18:$PORT -servername "$(host sni-required)"
N=$(host no-sni-different-cert)
expect_sc "no-sni-different-cert: right cert with SNI" "$V: 0 \(ok\)" $PFX.19:$PORT -servername "$N" -verify_hostname "$N"
expect_sc "no-sni-different-cert: other name without SNI" "$V: 62 " $PFX.19:$PORT -noservername -verify_hostname "$N"
expect_sc "alert: internal_error alert" "alert internal error" $PFX.26:$PORT -servername "$(host alert)"
# STARTTLS endpoints (issue 9): OpenSSL's own client upgrades each one.
N=27
for p in smtp smtp-unsupported smtp-refused imap pop3 ftp xmpp ldap postgres; do
    proto=${p%%-*}
    extra=()
    [ "$proto" = xmpp ] && extra=(-xmpphost "$(host starttls-$p)")
    case "$p" in
    smtp-unsupported|smtp-refused)
        expect_sc "starttls-$p: no TLS session" "Cipher is \(NONE\)" $PFX.$N:$PORT -starttls smtp \
            -servername "$(host starttls-$p)" ;;
    *)
        expect_sc "starttls-$p: -starttls $proto verifies" "$V: 0 \(ok\)" $PFX.$N:$PORT -starttls "$proto" \
            "${extra[@]}" -servername "$(host starttls-$p)" -verify_hostname "$(host starttls-$p)" ;;
    esac
    N=$((N + 1))
done
# ---- grading endpoints (issue 5; grades in tests/integration/grade.sh) ----
# raw_hello ADDR HEX: send one ClientHello record (hex) over bash /dev/tcp and
# print the first 64 bytes of the answer as hex ("" when none within 3 s).
raw_hello() {
    local ip=${1%:*} port=${1##*:} hex=$2 esc
    esc=$(sed 's/../\\x&/g' <<<"$hex")
    timeout 4 bash -c "exec 3<>/dev/tcp/$ip/$port || exit 9; printf '$esc' >&3; timeout 3 head -c 64 <&3 | od -An -tx1" | tr -d ' \n'
}
# hello_hex RECORD_VERSION CLIENT_VERSION SUITES: a minimal ClientHello record
# (zero random, no session id, null compression, no extensions).
hello_hex() {
    local rv=$1 cv=$2 suites=$3 body
    body=$(printf '%s%064d00%04x%s0100' "$cv" 0 $((${#suites} / 2)) "$suites")
    printf '16%s%04x01%06x%s' "$rv" $((${#body} / 2 + 4)) $((${#body} / 2)) "$body"
}
# sh_of ANSWER: "RECORD_VERSION HANDSHAKE_TYPE VERSION SUITE" of a ServerHello
# answer (the suite after a 32-byte random and an empty session id).
sh_of() { echo "${1:2:4} ${1:10:2} ${1:18:4} ${1:88:4}"; }
expect_sc "no-fs: RSA key transport only" "Cipher is AES(128|256)-GCM-SHA(256|384)" $PFX.50:$PORT -servername "$(host no-fs)" -tls1_2
expect_sc "no-fs: refuses every ECDHE suite" "alert handshake failure" $PFX.50:$PORT -servername "$(host no-fs)" -cipher 'ECDHE:DHE'
expect_sc "no-fs: refuses TLS 1.3" "alert protocol version" $PFX.50:$PORT -servername "$(host no-fs)" -tls1_3
expect_sc "cbc-only: ECDHE CBC" "Cipher is ECDHE-RSA-AES(128|256)-SHA$" $PFX.51:$PORT -servername "$(host cbc-only)"
expect_sc "cbc-only: refuses every AEAD suite" "alert handshake failure" $PFX.51:$PORT -servername "$(host cbc-only)" -tls1_2 -cipher 'AESGCM:CHACHA20:AESCCM'
expect_sc "3des: TLS 1.3 by OpenSSL" "New, TLSv1.3," $PFX.52:$PORT -servername "$(host 3des)" -verify_hostname "$(host 3des)"
expect_sc "3des: TLS 1.2 ECDHE AEAD by OpenSSL" "Cipher is ECDHE-RSA-AES(128|256)-GCM" $PFX.52:$PORT -servername "$(host 3des)" -tls1_2
expect_sc "dhe-1024: 1024-bit DH group" "Server Temp Key: DH, 1024 bits" $PFX.53:$PORT -servername "$(host dhe-1024)" -cipher 'DHE:@SECLEVEL=0'
expect_sc "dhe-1024: DHE-RSA-AES128-GCM-SHA256" "Cipher is DHE-RSA-AES128-GCM-SHA256" $PFX.53:$PORT -servername "$(host dhe-1024)" -cipher 'ALL:@SECLEVEL=0'
out=$(sc $PFX.53:$PORT -servername "$(host dhe-1024)" -cipher 'DHE:@SECLEVEL=0' -msg)
# ServerKeyExchange: a 128-byte prime starting like RFC 2409's Oakley group 2.
check "dhe-1024: the prime is RFC 2409's Oakley group 2" grep -q "0c00....0080ffffffffffffffffc90fdaa22168c234" <<<"$(tr -d ' \n' <<<"$out")"
# Issue 14 (second session), checked with openssl's own client.
# early-data: one TLS 1.3 ticket allowing 16384 bytes of early data.
(sleep 1) | timeout 5 openssl s_client -connect $PFX.76:$PORT -servername "$(host early-data)" \
    -CAfile "$DIR/ca.pem" -sess_out "$DIR/ed.sess" >/dev/null 2>&1
check "early-data: the ticket allows 16384 bytes of early data" \
    bash -c "openssl sess_id -in '$DIR/ed.sess' -noout -text | grep -q 'Max Early Data: 16384'"
# insecure-reneg: no RFC 5746, and s_client's renegotiation ("R") gets a
# second ServerHello; legacy-no-reneg refuses it with no_renegotiation.
reneg_sc() {
    (sleep 1; echo R; sleep 1) | timeout 5 openssl s_client -connect "$1" -servername "$2" -CAfile "$DIR/ca.pem" \
        -verify_hostname "$2" -tls1_2 -legacy_server_connect -legacy_renegotiation -msg 2>&1
}
out=$(reneg_sc $PFX.77:$PORT "$(host insecure-reneg)")
check "insecure-reneg: no RFC 5746" grep -q "Secure Renegotiation IS NOT supported" <<<"$out"
check "insecure-reneg: a verified ECDHE-RSA-AES128-GCM-SHA256 handshake" \
    bash -c "grep -q 'Verify return code: 0 (ok)' <<<\"\$1\" && grep -q 'Cipher is ECDHE-RSA-AES128-GCM-SHA256' <<<\"\$1\"" _ "$out"
check "insecure-reneg: the renegotiation gets a second ServerHello" \
    test "$(grep -c '^<<< TLS 1.2, Handshake \[length [0-9a-f]*\], ServerHello$' <<<"$out")" = 2
out=$(reneg_sc $PFX.78:$PORT "$(host legacy-no-reneg)")
check "legacy-no-reneg: no RFC 5746" grep -q "Secure Renegotiation IS NOT supported" <<<"$out"
# drown-sslv2 and drown-peer (issue 14): one key of their own (two
# certificates); grade.sh checks the scripted SSLv2 answer and the verdicts.
pk() { timeout 5 openssl s_client -connect "$1" -servername "$2" </dev/null 2>/dev/null | openssl x509 -pubkey -noout 2>/dev/null | sha256sum; }
k1=$(pk $PFX.79:$PORT "$(host drown-sslv2)"); k2=$(pk $PFX.80:$PORT "$(host drown-peer)"); k3=$(pk $PFX.2:$PORT "$(host valid-rsa)")
check "drown-sslv2 and drown-peer share a key no other endpoint has" \
    bash -c '[ "$1" = "$2" ] && [ "$1" != "$3" ] && [ "${1%% *}" != "$(printf "" | sha256sum | cut -d" " -f1)" ]' _ "$k1" "$k2" "$k3"
check "legacy-no-reneg: the renegotiation gets no_renegotiation, one ServerHello" \
    bash -c "grep -q 'warning no_renegotiation' <<<\"\$1\" && test \"\$(grep -c '], ServerHello\$' <<<\"\$1\")\" = 1" _ "$out"
expect_sc "tls13-hsts: TLS 1.3" "New, TLSv1.3," $PFX.54:$PORT -servername "$(host tls13-hsts)"
expect_sc "tls13-hsts: refuses TLS 1.2" "alert protocol version" $PFX.54:$PORT -servername "$(host tls13-hsts)" -tls1_2
expect_sc "tls12-only-hsts: TLS 1.2 ECDHE AEAD" "New, TLSv1.2, Cipher is ECDHE-RSA-AES(128|256)-GCM" $PFX.55:$PORT -servername "$(host tls12-only-hsts)"
for n in 54:tls13-hsts 55:tls12-only-hsts; do
    out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 openssl s_client -connect $PFX.${n%%:*}:$PORT -servername "$(host ${n#*:})" -CAfile "$DIR/ca.pem" -quiet 2>/dev/null)
    check "${n#*:} sends Strict-Transport-Security" grep -q "^Strict-Transport-Security: max-age=31536000" <<<"$out"
done
expect_sc "legacy-raw: handshake_failure to OpenSSL" "alert handshake failure" $PFX.56:$PORT -servername "$(host legacy-raw)"
expect_sc "legacy-raw: handshake_failure to every OpenSSL suite" "alert handshake failure" $PFX.56:$PORT -servername "$(host legacy-raw)" -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'
expect_sc "rc4-sslv3: TLS 1.3 by OpenSSL" "New, TLSv1.3," $PFX.57:$PORT -servername "$(host rc4-sslv3)" -verify_hostname "$(host rc4-sslv3)"
# The scripted answers (OpenSSL 3 has no SSLv3, RC4 or 3DES to offer):
# SSLv3 / TLS 1.0 hellos with RC4-SHA (0005), RC4-MD5 (0004), SCSV (00ff).
ans=$(raw_hello $PFX.56:$PORT "$(hello_hex 0300 0300 0004000500ff)")
check "legacy-raw: SSLv3 + RC4 -> SSLv3 ServerHello, RC4-SHA ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0300 02 0300 0005"
# The same hello in two writes 300 ms apart: the endpoint waits for the whole record.
hx=$(hello_hex 0300 0300 0004000500ff)
ans=$(timeout 5 bash -c "exec 3<>/dev/tcp/$PFX.56/$PORT || exit 9; printf '$(sed 's/../\\x&/g' <<<"${hx:0:14}")' >&3; sleep 0.3; printf '$(sed 's/../\\x&/g' <<<"${hx:14}")' >&3; timeout 3 head -c 64 <&3 | od -An -tx1" | tr -d ' \n')
check "legacy-raw: a hello split over two writes is answered ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0300 02 0300 0005"
ans=$(raw_hello $PFX.56:$PORT "$(hello_hex 0300 0300 000400ff)")
check "legacy-raw: SSLv3 + RC4-MD5 only -> RC4-MD5 ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0300 02 0300 0004"
ans=$(raw_hello $PFX.56:$PORT "$(hello_hex 0301 0301 00050004)")
check "legacy-raw: TLS 1.0 + RC4 -> TLS 1.0 ServerHello ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0301 02 0301 0005"
ans=$(raw_hello $PFX.56:$PORT "$(hello_hex 0301 0303 c02f0005)")
check "legacy-raw: TLS 1.2 + RC4 -> answered at TLS 1.0 ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0301 02 0301 0005"
ans=$(raw_hello $PFX.56:$PORT "$(hello_hex 0300 0300 002f000a)")
check "legacy-raw: SSLv3 without RC4 -> handshake_failure ($ans)" test "$ans" = 15030000020228
ans=$(raw_hello $PFX.57:$PORT "$(hello_hex 0300 0300 000500ff)")
check "rc4-sslv3: SSLv3 + RC4 -> SSLv3 ServerHello ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0300 02 0300 0005"
ans=$(raw_hello $PFX.52:$PORT "$(hello_hex 0301 0303 c02b000a)")
check "3des: TLS 1.2 without OpenSSL's suites -> DES-CBC3-SHA ($(sh_of "$ans"))" test "$(sh_of "$ans")" = "0303 02 0303 000a"
ans=$(raw_hello $PFX.52:$PORT "$(hello_hex 0301 0302 000a)")
check "3des: no 3DES under TLS 1.1 (OpenSSL's protocol_version alert: $ans)" test "${ans:0:2}${ans:10:4}" = 150246
expect_sc "valid-ipv6 on [::1]" "$V: 0 \(ok\)" "[::1]:$((PORT + 1))" -verify_ip ::1

# ---- judged as clients see it (issue 13) ----
out=$(sc $PFX.58:$PORT -servername "$(host cn-only)" | openssl x509 -noout -text 2>&1)
check "cn-only: the leaf's CN is the name" grep -q "Subject:.*CN *= *cn-only.lab.tlsweep.test" <<<"$out"
check "cn-only: the leaf has no subjectAltName" test "$(grep -c 'Subject Alternative Name' <<<"$out")" = 0
expect_sc "cn-only: OpenSSL's default name check falls back to the CN (browsers do not)" "$V: 0 \(ok\)" $PFX.58:$PORT -servername "$(host cn-only)" -verify_hostname "$(host cn-only)"
expect_sc "client-cert-tls12: CertificateRequest with the lab CA names" "Acceptable client certificate CA names" $PFX.59:$PORT -servername "$(host client-cert-tls12)"
expect_sc "client-cert-tls12: handshake_failure without a certificate" "alert handshake failure" $PFX.59:$PORT -servername "$(host client-cert-tls12)"
out=$(sleep 1 | timeout 5 openssl s_client -connect $PFX.60:$PORT -servername "$(host client-cert-tls13)" -CAfile "$DIR/ca.pem" 2>&1)
check "client-cert-tls13: TLS 1.3 handshake completes for the client" grep -q "New, TLSv1.3," <<<"$out"
check "client-cert-tls13: certificate_required after the client's Finished" grep -q "alert certificate required" <<<"$out"
out=$(sleep 1 | timeout 5 openssl s_client -connect $PFX.61:$PORT -servername "$(host client-cert-optional)" -CAfile "$DIR/ca.pem" 2>&1)
check "client-cert-optional: CertificateRequest" grep -q "Acceptable client certificate CA names" <<<"$out"
expect_sc "tls11-only: TLS 1.1 at SECLEVEL 0" "Protocol *: TLSv1.1" $PFX.62:$PORT -servername "$(host tls11-only)" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
expect_sc "tls11-only: refuses TLS 1.2" "alert protocol version|no protocols available|unsupported protocol" $PFX.62:$PORT -servername "$(host tls11-only)" -tls1_2
expect_sc "ccm-only: ECDHE-ECDSA AES-CCM" "Cipher is ECDHE-ECDSA-AES(128|256)-CCM" $PFX.63:$PORT -servername "$(host ccm-only)" -cipher 'AESCCM'
expect_sc "ccm-only: refuses the browsers' suites" "alert handshake failure" $PFX.63:$PORT -servername "$(host ccm-only)" -cipher 'ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA' -ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
check "client-cert-optional: no alert without a certificate" test "$(grep -c 'alert' <<<"$out")" = 0
# Mozilla profiles and reference clients (issue 13): one endpoint, two leaves;
# RSA-PSS signatures only; X25519 only.
expect_sc "dual-cert: an ECDSA P-256 leaf for an ECDSA client" "Peer signature type: ECDSA" $PFX.68:$PORT -servername "$(host dual-cert)" -sigalgs ecdsa_secp256r1_sha256
expect_sc "dual-cert: an RSA-2048 leaf for an RSA client" "Server public key is 2048 bit" $PFX.68:$PORT -servername "$(host dual-cert)" -sigalgs rsa_pss_rsae_sha256:RSA+SHA256
out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 openssl s_client -connect $PFX.68:$PORT -servername "$(host dual-cert)" -CAfile "$DIR/ca.pem" -quiet 2>/dev/null)
check "dual-cert: HSTS two years (Mozilla's hsts_min_age)" grep -q "Strict-Transport-Security: max-age=63072000" <<<"$out"
expect_sc "rsa-pss-only: TLS 1.2 signed with RSA-PSS" "Peer signature type: RSA-PSS" $PFX.69:$PORT -servername "$(host rsa-pss-only)"
expect_sc "rsa-pss-only: handshake_failure without PSS" "alert handshake failure" $PFX.69:$PORT -servername "$(host rsa-pss-only)" -sigalgs RSA+SHA256:RSA+SHA384
expect_sc "x25519-only: X25519" "Server Temp Key: X25519" $PFX.70:$PORT -servername "$(host x25519-only)"
expect_sc "x25519-only: no P-256 (Java 8's groups)" "alert handshake failure" $PFX.70:$PORT -servername "$(host x25519-only)" -groups P-256:P-384:P-521

# ---- network endpoints ----
timeout 3 bash -c "exec 3<>/dev/tcp/$PFX.20/$PORT" 2>/dev/null
check "closed: refused at once" test $? = 1
timeout 2 bash -c "exec 3<>/dev/tcp/$PFX.21/$PORT" 2>/dev/null
check "connect-timeout: SYN unanswered (connect still pending after 2 s)" test $? = 124
stall_out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$PFX.22/$PORT || exit 9; printf '\x16\x03\x01\x00\x01\x01' >&3; if read -r -t 2 -n 1 x <&3; then exit 1; else rc=\$?; [ \$rc -gt 128 ] && exit 0; exit 2; fi")
check "stall: connects, then silence for 2 s" test $? = 0
expect_sc "reset: RST after the ClientHello" "errno=104|Connection reset" $PFX.23:$PORT -servername "$(host reset)"
http_out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$PFX.24/$PORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3")
check "plain-http: HTTP/1.1 400" grep -q "^HTTP/1.1 400" <<<"$http_out"
expect_sc "plain-http: no TLS record for s_client" "wrong version number|packet length too long" $PFX.24:$PORT
first=$(timeout 5 bash -c "exec 3<>/dev/tcp/$PFX.25/$PORT; head -c 1 <&3 | od -An -tu1" | tr -d ' ')
check "garbage: first byte $first is not a TLS record type" bash -c "[ -n '$first' ] && { [ '$first' -lt 20 ] || [ '$first' -gt 24 ]; } && [ '$first' -lt 128 ]"
expect_sc "garbage: s_client sees no TLS" "wrong version number|packet length too long|unknown protocol" $PFX.25:$PORT

# ---- DNS (raw queries over bash /dev/udp) ----
# dns_query NAME QTYPE_HEX: the answer as hex bytes ("" when none within 2 s).
dns_query() {
    local name=$1 t=$2 qn="" p
    IFS=. read -ra parts <<<"$name"
    for p in "${parts[@]}"; do qn+=$(printf '\\x%02x' ${#p})$p; done
    timeout 3 bash -c "exec 3<>/dev/udp/$PFX.1/$DNS_PORT; printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00${qn}\x00\x00\x$t\x00\x01' >&3; timeout 2 dd bs=512 count=1 <&3 2>/dev/null | od -An -tx1" | tr -d ' \n'
}
ans=$(dns_query valid-rsa.lab.tlsweep.test 01)
check "dns: A for valid-rsa is $PFX.2 (NOERROR, 1 answer)" bash -c "[[ '$ans' == 12348580000100010000* && '$ans' == *00047f4f0102 ]]"
ans=$(dns_query CLOSED.LAB.tlsweep.test 01)
check "dns: names are case-insensitive (closed = $PFX.20)" bash -c "[[ '$ans' == *00047f4f0114 ]]"
ans=$(dns_query valid-rsa.lab.tlsweep.test 1c)
check "dns: AAAA is NOERROR with no data" bash -c "[[ '$ans' == 12348580000100000000* ]]"
ans=$(dns_query nxdomain.lab.tlsweep.test 01)
check "dns: nxdomain -> NXDOMAIN" bash -c "[[ '$ans' == 12348583* ]]"
ans=$(dns_query servfail.lab.tlsweep.test 01)
check "dns: servfail -> SERVFAIL" bash -c "[[ '$ans' == 12348582* ]]"
ans=$(dns_query dnstimeout.lab.tlsweep.test 01)
check "dns: dnstimeout is never answered" test -z "$ans"
timeout 3 bash -c "exec 3<>/dev/udp/$PFX.1/$DNS_PORT; printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01' >&3; printf 'x' >&3; head -c 4000 /dev/urandom >&3" 2>/dev/null
ans=$(dns_query valid-ecdsa.lab.tlsweep.test 01)
check "dns: still answers after malformed packets" bash -c "[[ '$ans' == *00047f4f0103 ]]"

# ---- load: many parallel handshakes ----
pids=()
for i in $(seq 1 60); do
    (sc $PFX.3:$PORT -servername "$(host valid-ecdsa)" | grep -q "$V: 0 (ok)") &
    pids+=($!)
done
okn=0
for p in "${pids[@]}"; do wait "$p" && okn=$((okn + 1)); done
check "60 parallel handshakes all succeed ($okn)" test "$okn" = 60
check "the daemon is still alive" kill -0 "$PID"

# ---- down ----
"$TLSWEEP" lab down --dir "$DIR" >/dev/null
check "lab down exits 0" test $? = 0
check "lab down removed the pid file" test ! -e "$DIR/lab.pid"
check "the daemon is gone" gone "$PID"
"$TLSWEEP" lab status --dir "$DIR" >/dev/null
check "lab status says not running (exit 3)" test $? = 3
timeout 2 bash -c "exec 3<>/dev/tcp/$PFX.2/$PORT" 2>/dev/null
check "the listeners are closed" test $? = 1

# ---- foreground: SIGTERM stops it cleanly ----
"$TLSWEEP" lab up --dir "$DIR" --base $BASE --port $PORT --dns-port $DNS_PORT >"$DIR/fg.out" 2>&1 &
FG_PID=$!
for _ in $(seq 1 100); do
    [ -s "$DIR/lab.pid" ] && break
    sleep 0.1
done
check "foreground lab writes its pid" test "$(cat "$DIR/lab.pid" 2>/dev/null)" = "$FG_PID"
expect_sc "foreground lab serves" "$V: 0 \(ok\)" $PFX.2:$PORT -servername "$(host valid-rsa)"
kill -TERM "$FG_PID"
wait "$FG_PID"
check "foreground lab exits 0 on SIGTERM" test $? = 0
FG_PID=
check "foreground lab removed its pid file" test ! -e "$DIR/lab.pid"

echo "lab.sh: $FAILS failure(s) in $(($(date +%s) - START)) s"
[ "$FAILS" = 0 ]
