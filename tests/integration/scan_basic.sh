#!/usr/bin/env bash
# Issue 2's end-to-end check: an OpenSSL server on loopback is scanned and
# its row (version, cipher, certificate fingerprint, class ok) is in SQLite;
# a closed port is tcp_refused; a bad target line is reported and skipped.
. "$(dirname "$0")/common.sh"

make_cert "$TMP" localhost
port=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$TMP/localhost.crt" \
    -key "$TMP/localhost.key" -www >/dev/null 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$port"
closed=$(free_port)

cat > "$TMP/targets.txt" <<EOT
# a comment line, then a blank line

127.0.0.1:$port localhost
127.0.0.1:$closed
bad..name:443
127.0.0.1:70000
EOT
DB="$TMP/t.db"
"$TLSWEEP" scan --db "$DB" --no-progress --quick --ca-file "$TMP/localhost.crt" \
    --connect-timeout 3 --handshake-timeout 3 "$TMP/targets.txt" 2> "$TMP/stderr" \
    || fail "scan exited $?: $(cat "$TMP/stderr")"

grep -q "targets.txt:5:" "$TMP/stderr" || fail "bad line 5 not reported: $(cat "$TMP/stderr")"
grep -q "targets.txt:6:" "$TMP/stderr" || fail "bad line 6 not reported: $(cat "$TMP/stderr")"
pass "bad lines reported with file:line"

assert_eq 2 "$(q 'select count(*) from results')" "two endpoints stored"
assert_eq done "$(q 'select status from scans')" "scan marked done"
assert_eq ok "$(q "select class from results where port=$port")" "TLS server class"
assert_eq ok "$(q "select issues from results where port=$port")" "TLS server issues"
assert_eq localhost "$(q "select sni from results where port=$port")" "SNI recorded"
ver=$(q "select tls_version from results where port=$port")
assert_eq TLSv1.3 "$ver" "negotiated version"
cipher=$(q "select cipher from results where port=$port")
[ -n "$cipher" ] || fail "cipher empty"
pass "cipher recorded ($cipher)"
want=$(openssl x509 -in "$TMP/localhost.crt" -outform DER | sha256sum | cut -d' ' -f1)
assert_eq "$want" "$(q "select cert_sha256 from results where port=$port")" "leaf fingerprint"
assert_eq "CN=localhost" "$(q "select subject from certs where sha256='$want'")" "certificate subject"
assert_eq 1 "$(q "select count(*) from certs where sha256='$want' and pem like '-----BEGIN CERTIFICATE-----%'")" "certificate PEM stored"
assert_eq tcp_refused "$(q "select class from results where port=$closed")" "closed port"

# A second scan of the same server stores the certificate once.
"$TLSWEEP" scan --db "$DB" --no-progress --quick --ca-file "$TMP/localhost.crt" \
    "$TMP/targets.txt" 2>/dev/null || fail "second scan failed"
assert_eq 2 "$(q 'select count(*) from scans')" "two scans"
assert_eq 1 "$(q 'select count(*) from certs')" "certificate stored once"
