#!/usr/bin/env bash
# Shards and merge (issue 9): a ~41,000-endpoint loopback fleet (two CIDR
# ranges on a port where nothing listens, plus four openssl s_server
# endpoints with an ok, a self-signed, a wrong-name and an untrusted
# certificate) is scanned once whole and once as 4 shards in 4 concurrent
# processes, then merged.  Checked: every shard records K/N and the
# target-set fingerprint of the whole list; the shards are disjoint and
# cover the whole scan; the merged scan holds the same endpoints with the
# same classes, issues, versions, grades and leaves (SQL, both ways);
# `tlsweep diff` between the whole scan and the merge reports no change
# (exit 0 under --fail-on regression, zero changes in JSON); merge is
# idempotent; merge refuses overlapping shards, other target lists, other
# N and OUT among the inputs, with a message naming the files, writing
# nothing; a merge missing a shard, or with a shard killed mid-scan, is
# refused naming it, and with --allow-missing is 'done' and partial.
. "$(dirname "$0")/common.sh"
START=$SECONDS

# --- PKI (generated now, never committed) ---
cd "$TMP"
mkca() { # NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -keyout "$1.key" -out "$1.crt" -subj "/CN=$1" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>/dev/null || fail "cannot make CA $1"
}
mkleaf() { # NAME CA SAN
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.csr" -subj "/CN=$1" 2>/dev/null || fail "cannot make key $1"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 20 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null || fail "cannot sign $1"
}
mkca ca
mkca otherca
mkleaf ok ca "DNS:ok.test,IP:127.0.0.1"
mkleaf wrongname ca "DNS:other.test"
mkleaf foreign otherca "DNS:ok.test"
make_cert "$TMP" self.test

# serve VAR CERTNAME [S_SERVER ARGS...]: start a server, put its port in VAR.
# Not called as $(serve ...): a command substitution is a subshell, and the
# PID it recorded would never reach the cleanup trap.
serve() {
    local var=$1 name=$2 port
    shift 2
    port=$(free_port)
    openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$name.crt" -key "$name.key" \
        "$@" >/dev/null 2>&1 </dev/null &
    PIDS+=($!)
    printf -v "$var" '%s' "$port"
}
serve p_ok ok
serve p_self self.test
serve p_wrong wrongname
serve p_foreign foreign -cert_chain otherca.crt # the whole chain, to a root nobody trusts
for p in "$p_ok" "$p_self" "$p_wrong" "$p_foreign"; do wait_port 127.0.0.1 "$p"; done
closed=$(free_port)

cat > targets.txt <<EOT
# the bulk: nothing listens there (tcp_refused, fast)
127.40.0.0/17:$closed
127.41.0.0/19:$closed
# TLS endpoints, SNI ok.test unless said otherwise
127.0.0.1:$p_ok ok.test
127.0.0.1:$p_self self.test
127.0.0.1:$p_wrong ok.test
127.0.0.1:$p_foreign ok.test
EOT
EXPECT=$((32766 + 8190 + 4))

SCAN_OPTS=(--no-progress --ca-file ca.crt -c 2000 -j 2 --connect-timeout 2
           --handshake-timeout 3 --label nightly)

# --- the whole fleet in one process: scan 1 of both.db ---
t0=$SECONDS
"$TLSWEEP" scan "${SCAN_OPTS[@]}" --db both.db targets.txt 2> whole.err \
    || fail "whole scan failed: $(tail -3 whole.err)"
DB=both.db
assert_eq "$EXPECT" "$(q 'SELECT count(*) FROM results WHERE scan_id = 1')" \
    "whole scan: every endpoint once ($((SECONDS - t0)) s)"
assert_eq "done||" "$(q "SELECT status || '|' || ifnull(shard, '') || '|' FROM scans WHERE id = 1")" \
    "whole scan: done, no shard"
assert_eq "ok self_signed hostname_mismatch untrusted_root" \
    "$(q "SELECT group_concat(class, ' ') FROM (SELECT class FROM results WHERE scan_id = 1 AND port IN ($p_ok, $p_self, $p_wrong, $p_foreign) ORDER BY CASE port WHEN $p_ok THEN 1 WHEN $p_self THEN 2 WHEN $p_wrong THEN 3 ELSE 4 END)")" \
    "whole scan: the TLS endpoints' classes"

# --- 4 shards in 4 concurrent processes ---
t0=$SECONDS
SPIDS=()
for k in 1 2 3 4; do
    "$TLSWEEP" scan "${SCAN_OPTS[@]}" --shard "$k/4" --db "s$k.db" targets.txt 2> "s$k.err" &
    SPIDS+=($!)
done
for k in 1 2 3 4; do
    wait "${SPIDS[$((k - 1))]}" || fail "shard $k/4 failed: $(tail -3 "s$k.err")"
done
pass "4 shard processes finished ($((SECONDS - t0)) s)"

whole_fp=$(q 'SELECT targets_sha256 FROM scans WHERE id = 1')
[ -n "$whole_fp" ] || fail "the whole scan recorded no targets_sha256"
sum=0
for k in 1 2 3 4; do
    DB=s$k.db
    assert_eq "$k/4|$whole_fp|done|nightly" \
        "$(q "SELECT printf('%s|%s|%s|%s', shard, targets_sha256, status, label) FROM scans")" \
        "shard $k records K/N, the whole list's fingerprint, done"
    n=$(q 'SELECT count(*) FROM results')
    [ "$n" -gt 0 ] || fail "shard $k/4 is empty"
    assert_eq "$n" "$(q 'SELECT n_endpoints FROM scans')" "shard $k: n_endpoints = rows ($n)"
    sum=$((sum + n))
done
assert_eq "$EXPECT" "$sum" "the shards' endpoints add up to the whole fleet"

# --- merge into the whole scan's database: scan 2 ---
"$TLSWEEP" merge both.db s1.db s2.db s3.db s4.db 2> merge.err \
    || fail "merge failed: $(cat merge.err)"
DB=both.db
assert_eq "2|done||$whole_fp|nightly|$EXPECT" \
    "$(q "SELECT id || '|' || status || '|' || ifnull(shard, '') || '|' || targets_sha256 || '|' || label || '|' || n_endpoints FROM scans WHERE id = 2")" \
    "merged scan 2: done, no shard, same fingerprint and label, every endpoint"

# Same endpoints, same verdicts: symmetric difference of the two scans.
COLS="host, ip, port, ifnull(sni, '-'), class, issues, ifnull(tls_version, ''), ifnull(grade, ''), ifnull(cert_sha256, '')"
only_whole=$(q "SELECT count(*) FROM (SELECT $COLS FROM results WHERE scan_id = 1 EXCEPT SELECT $COLS FROM results WHERE scan_id = 2)")
only_merged=$(q "SELECT count(*) FROM (SELECT $COLS FROM results WHERE scan_id = 2 EXCEPT SELECT $COLS FROM results WHERE scan_id = 1)")
assert_eq "0 0" "$only_whole $only_merged" "whole and merged scans: same endpoints, classes, issues, versions, grades, leaves"
assert_eq "$(q 'SELECT group_concat(c) FROM (SELECT class || ":" || count(*) AS c FROM results WHERE scan_id = 1 GROUP BY class ORDER BY class)')" \
    "$(q 'SELECT group_concat(c) FROM (SELECT class || ":" || count(*) AS c FROM results WHERE scan_id = 2 GROUP BY class ORDER BY class)')" \
    "class counts agree"
assert_eq "$(q 'SELECT count(*) FROM result_chain rc JOIN results r ON r.id = rc.result_id WHERE r.scan_id = 1')" \
    "$(q 'SELECT count(*) FROM result_chain rc JOIN results r ON r.id = rc.result_id WHERE r.scan_id = 2')" \
    "chains copied with the merged results"
[ "$(q "SELECT count(*) FROM grades x JOIN results r ON r.id = x.result_id WHERE r.scan_id = 1")" -gt 0 ] \
    || fail "the whole scan graded no endpoint: nothing to compare"
for t in grades grade_reasons protocols suites groups hsts probe_stats; do
    assert_eq "$(q "SELECT count(*) FROM $t x JOIN results r ON r.id = x.result_id WHERE r.scan_id = 1")" \
        "$(q "SELECT count(*) FROM $t x JOIN results r ON r.id = x.result_id WHERE r.scan_id = 2")" \
        "$t rows copied with the merged results"
done
assert_eq 0 "$(q "SELECT count(*) FROM (SELECT r.host, r.port, s.protocol, s.code FROM suites s JOIN results r ON r.id = s.result_id WHERE r.scan_id = 1 EXCEPT SELECT r.host, r.port, s.protocol, s.code FROM suites s JOIN results r ON r.id = s.result_id WHERE r.scan_id = 2)")" \
    "merged suites belong to the same endpoints"
assert_eq 0 "$(q 'SELECT count(*) FROM pragma_foreign_key_check')" "no dangling references after merge"

# --- diff: the whole scan (OLD) against the merged shards (NEW) ---
rc=0
"$TLSWEEP" diff --db both.db 1 2 --fail-on regression > diff.txt 2> diff.err || rc=$?
assert_eq 0 "$rc" "diff 1 2 --fail-on regression exits 0 ($(cat diff.err))"
"$TLSWEEP" diff --db both.db 1 2 --format json -o diff.json 2> diff.err \
    || fail "diff --format json failed: $(cat diff.err)"
assert_eq "1 2 0 0 false" \
    "$(jq -r '"\(.old.id) \(.new.id) \(.changes | length) \([.summary[]] | add) \(.regression)"' diff.json)" \
    "diff JSON: zero changes, zero in every summary count, no regression"

# The same check has teeth: one endpoint changed in a copy is a regression.
cp both.db neg.db
DB=neg.db q "UPDATE results SET class = 'tcp_timeout', issues = 'tcp_timeout' WHERE scan_id = 2 AND port = $p_ok"
rc=0
"$TLSWEEP" diff --db neg.db 1 2 --fail-on regression --format json -o neg.json 2>/dev/null || rc=$?
assert_eq "1 1" "$rc $(jq '.changes | length' neg.json)" "control: one changed endpoint makes diff exit 1 with one change"
DB=both.db

# --- idempotent: merging again replaces scan 2, adds nothing ---
before=$(q 'SELECT count(*) FROM results')
"$TLSWEEP" merge both.db s1.db s2.db s3.db s4.db 2> merge2.err || fail "second merge failed: $(cat merge2.err)"
assert_eq "2 $before $EXPECT" "$(q "SELECT (SELECT count(*) FROM scans) || ' ' || (SELECT count(*) FROM results) || ' ' || (SELECT n_endpoints FROM scans WHERE id = 2)")" \
    "merging again: still 2 scans, same rows"
# Order of inputs does not matter either.
"$TLSWEEP" merge both.db s4.db s2.db s1.db s3.db 2> merge3.err || fail "third merge failed: $(cat merge3.err)"
assert_eq "2 $before" "$(q "SELECT (SELECT count(*) FROM scans) || ' ' || (SELECT count(*) FROM results)")" \
    "merging in another order: still 2 scans, same rows"

# --- refusals ---
expect_refusal() { # NAME PATTERN OUT IN...
    local name=$1 pat=$2 out=$3; shift 3
    local rc=0
    "$TLSWEEP" merge "$out" "$@" > refuse.out 2> refuse.err || rc=$?
    assert_eq 2 "$rc" "$name: merge exits 2"
    grep -q -- "$pat" refuse.err || fail "$name: message lacks '$pat': $(cat refuse.err)"
    pass "$name: says '$(head -c 160 refuse.err)'"
    [ ! -e "$out" ] || fail "$name: $out was created"
}
cp s1.db s1copy.db
expect_refusal "overlapping shards" "shard 1/4 appears in s1.db and s1copy.db" x1.db s1.db s2.db s1copy.db
printf '127.50.0.0/28:%s\n' "$closed" > other.txt
"$TLSWEEP" scan "${SCAN_OPTS[@]}" --shard 3/4 --db other.db other.txt 2>/dev/null || fail "other scan failed"
expect_refusal "another target list" "different target lists" x2.db s1.db s2.db other.db
"$TLSWEEP" scan "${SCAN_OPTS[@]}" --shard 2/2 --db half.db targets.txt 2>/dev/null || fail "2-shard scan failed"
expect_refusal "another shard count" "shard counts differ" x3.db s1.db half.db
expect_refusal "whole scan as input" "not a shard" x4.db s1.db both.db
rc=0
"$TLSWEEP" merge s1.db s1.db s2.db 2> refuse.err || rc=$?
assert_eq 2 "$rc" "OUT among the inputs: exit 2 ($(cat refuse.err))"
assert_eq 1 "$(DB=s1.db q 'SELECT count(*) FROM scans')" "OUT among the inputs: s1.db untouched"

# --- an incomplete set: refused, naming the gap, unless --allow-missing ---
# (Issue 17 changed this: a merge missing a shard used to succeed as
# 'interrupted'; now it is refused, and with --allow-missing it is 'done'
# and marked partial.)
expect_refusal "a missing shard" "incomplete shard set: shard 3/4 missing" part.db s1.db s2.db s4.db
grep -q -- "--allow-missing" refuse.err || fail "the refusal does not mention --allow-missing: $(cat refuse.err)"

# Many missing shards: the first eight are named, the rest counted.
"$TLSWEEP" scan "${SCAN_OPTS[@]}" --shard 1/20 --db one20.db other.txt 2>/dev/null || fail "1/20 scan failed"
expect_refusal "19 of 20 shards missing" \
    "incomplete shard set: shards 2/20, 3/20, 4/20, 5/20, 6/20, 7/20, 8/20, 9/20 and 11 more missing; nothing merged" \
    x5.db one20.db

# A killed shard: shard 3/4 again, rate-limited so that it is still running
# when it gets SIGKILL (as a Slurm task or a pod killed by its node), which
# leaves its scan 'running' with part of its endpoints.
"$TLSWEEP" scan "${SCAN_OPTS[@]}" --rate 100 --shard 3/4 --db k3.db targets.txt 2> k3.err &
KPID=$!
PIDS+=("$KPID")
for _ in $(seq 1 100); do
    [ "$(DB=k3.db q 'SELECT count(*) FROM results' 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
done
kill -KILL "$KPID"
wait "$KPID" 2>/dev/null || true
DB=k3.db
assert_eq "3/4|running" "$(q "SELECT shard || '|' || status FROM scans")" "killed shard 3/4: its scan is left 'running'"
killed_n=$(q 'SELECT count(*) FROM results')
[ "$killed_n" -gt 0 ] && [ "$killed_n" -lt "$(DB=s3.db q 'SELECT count(*) FROM results')" ] \
    || fail "the killed shard holds $killed_n results: not a part of its share"
expect_refusal "a killed shard" "shard 3/4 in k3.db is 'running', not done" part.db s1.db s2.db k3.db s4.db

# --allow-missing: merged, 'done', partial = 1, the shards' endpoints only.
rc=0
"$TLSWEEP" merge --allow-missing part.db s1.db s2.db k3.db s4.db 2> part.err || rc=$?
assert_eq 0 "$rc" "--allow-missing with the killed shard: exit 0 ($(cat part.err))"
grep -q "warning: incomplete shard set: shard 3/4 in k3.db is 'running', not done; merged as partial" part.err \
    || fail "no partial warning: $(cat part.err)"
DB=part.db
assert_eq "done 1 $((EXPECT - $(DB=s3.db q 'SELECT count(*) FROM results') + killed_n))" \
    "$(q "SELECT status || ' ' || partial || ' ' || n_endpoints FROM scans")" \
    "killed shard merged with --allow-missing: done, partial, the endpoints there are"
"$TLSWEEP" merge --allow-missing part2.db s1.db s2.db s4.db 2>/dev/null || fail "partial merge without shard 3 failed"
DB=part2.db
assert_eq "done 1 $((EXPECT - $(DB=s3.db q 'SELECT count(*) FROM results')))" \
    "$(q "SELECT status || ' ' || partial || ' ' || n_endpoints FROM scans")" \
    "3 of 4 shards with --allow-missing: done, partial, their endpoints only"
# The complete merge is not partial, also after a partial merge into the same file.
"$TLSWEEP" merge --allow-missing part2.db s1.db s2.db s3.db s4.db 2>/dev/null || fail "full merge into part2.db failed"
assert_eq "0" "$(q 'SELECT partial FROM scans ORDER BY id DESC LIMIT 1')" "a complete set is not partial, --allow-missing or not"
DB=both.db
assert_eq "0" "$(q 'SELECT group_concat(partial) FROM scans WHERE id = 2')" "the complete merge earlier: partial 0"

elapsed=$((SECONDS - START))
[ "$elapsed" -lt 90 ] || echo "# note: the test took ${elapsed} s (budget 90 s)"
pass "shards test finished in ${elapsed} s"
