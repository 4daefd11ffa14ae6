#!/bin/sh
# make_certinfo_seeds.sh - write DER certificate seeds for fuzz_certinfo.
#
# Certificates and keys are never committed (HELPERS rules): this script
# makes a handful of small, varied certificates with `openssl req` into DIR
# (default /tmp/corpus_certinfo_seeds) and throws the keys away.
#   usage: tests/fuzz/make_certinfo_seeds.sh [DIR]
# Then: /tmp/fuzz_certinfo -max_total_time=60 /tmp/corpus_certinfo DIR
set -eu

dir=${1:-/tmp/corpus_certinfo_seeds}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seed() { # name, then extra openssl req arguments
    name=$1
    shift
    openssl req -x509 -outform DER -out "$dir/$name.der" -keyout "$tmp/key.pem" \
        -nodes -days 30 "$@" 2>/dev/null
}

seed ec_san -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=good.test" \
    -addext "subjectAltName=DNS:good.test,DNS:*.good.test,IP:127.0.0.1,IP:::1,email:a@b.test,URI:https://good.test/"
seed rsa1024_sha1 -newkey rsa:1024 -sha1 -subj "/CN=weak.test/O=Old Corp"
seed ed25519_ca -newkey ed25519 -subj "/CN=Test Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
utf8=$(printf 'caf\303\251 \342\230\203')
seed hostile_names -newkey ec -pkeyopt ec_paramgen_curve:P-256 -utf8 \
    -subj "/CN=<script>alert(1)<\/script>/O=$utf8/OU=a\,b" \
    -addext "subjectAltName=DNS:evil.test,DNS:*.*.test,IP:10.0.0.1" \
    -addext "authorityInfoAccess=caIssuers;URI:http://ca.test/int.crt,OCSP;URI:http://ocsp.test/"
sans=$(i=0; while [ $i -lt 300 ]; do printf 'DNS:h%d.example.com,' $i; i=$((i + 1)); done)
seed many_sans -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=many.test" \
    -addext "subjectAltName=${sans%,}"
ls -l "$dir"
