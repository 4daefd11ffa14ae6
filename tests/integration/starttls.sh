#!/usr/bin/env bash
# Issue 9's acceptance test: STARTTLS endpoints of the lab (one per
# protocol, plus the two failure variants) are scanned through their
# plaintext phase and classified; a STARTTLS endpoint and the direct-TLS
# endpoint on the same host:port are two rows (results.starttls); failures
# of the plaintext phase get their own classes; the ok STARTTLS endpoints are
# graded through the same plaintext phase before every grading hello (no HTTP
# probe: HSTS is not applicable); reports reproduce with `-starttls NAME`;
# --starttls auto maps well-known ports; merge carries the column; a
# version-3 database migrates.
. "$(dirname "$0")/common.sh"

LAB="$TMP/lab"
BASE=127.81.0
PORT=38443
"$TLSWEEP_REAL" lab up --daemon --dir "$LAB" --base $BASE.0 --port $PORT --dns-port 35353 \
    >"$TMP/lab.out" 2>&1 || fail "lab up: $(cat "$TMP/lab.out")"
PIDS+=("$(cat "$LAB/lab.pid")")
trap '"$TLSWEEP_REAL" lab down --dir "$LAB" >/dev/null 2>&1 || true; cleanup' EXIT

# The lab's STARTTLS lines with their expectations, plus edge cases.
"$TLSWEEP" lab targets --dir "$LAB" | grep -B1 '://' | grep -v '^--$' > "$TMP/targets.txt"
n_stls=$(grep -c '://' "$TMP/targets.txt")
[ "$n_stls" -ge 9 ] || fail "lab targets lists only $n_stls STARTTLS endpoints"
cat >> "$TMP/targets.txt" <<EOT
# the SMTP port scanned as direct TLS: its greeting is no TLS record
starttls-smtp.lab.tlsweep.test:$PORT
# a direct-TLS server scanned as SMTP: it waits for our ClientHello
smtp://valid-rsa.lab.tlsweep.test:$PORT
# bytes that are no SMTP at all
smtp://garbage.lab.tlsweep.test:$PORT
# nothing listens
imap://closed.lab.tlsweep.test:$PORT
# direct TLS in the same scan is still graded
valid-rsa.lab.tlsweep.test:$PORT
EOT

DB="$TMP/st.db"
"$TLSWEEP" scan --lab="$LAB" --db "$DB" -j 2 --no-progress --connect-timeout 2 \
    --handshake-timeout 2 --dns-timeout 1 --dns-tries 1 "$TMP/targets.txt" 2>"$TMP/scan.err" \
    || fail "scan exited $?: $(tail -5 "$TMP/scan.err")"
q() { sqlite3 -batch -noheader -separator '|' "$DB" "$1"; }

# Every lab expectation, matched on (host, port, starttls).
n=0
want_cls=""
while IFS= read -r line; do
    case "$line" in
    "# expect: "*) read -r _ _ want_cls want_issues <<<"$line"; continue ;;
    *://*) [ -n "$want_cls" ] || continue ;;
    *) continue ;;
    esac
    scheme=${line%%://*}; hp=${line#*://}; host=${hp%:*}; port=${hp##*:}
    got=$(q "select class || ' ' || issues from results
             where host = '$host' and port = $port and starttls = '$scheme'")
    assert_eq "$want_cls $want_issues" "$got" "$scheme://$host"
    assert_eq "$scheme://$host:$port" "$(q "select target from results
             where host = '$host' and port = $port and starttls = '$scheme'")" "$host: the target keeps its scheme"
    n=$((n + 1))
    want_cls=""
done < "$TMP/targets.txt"
[ "$n" -ge 9 ] || fail "only $n expectations checked"

# The ok ones completed a real handshake after their dialogue.
assert_eq "0" "$(q "select count(*) from results where starttls is not null and class = 'ok'
                    and (tls_version is null or tls_version not like 'TLSv1%')")" \
    "every ok STARTTLS endpoint has a TLS version"
assert_eq "7" "$(q "select count(*) from results where starttls is not null and class = 'ok'")" \
    "seven protocols upgrade to TLS"
for p in smtp imap pop3 ftp xmpp ldap postgres; do
    assert_eq "1" "$(q "select count(*) from results where starttls = '$p' and class = 'ok'
                        and cert_sha256 is not null and detail like '%after STARTTLS ($p)%'")" \
        "$p: handshake after STARTTLS, certificate stored"
done

# Graded the same way as direct TLS, each grading hello after its own
# dialogue.  Expected letter, from the lab's STLS() servers (servers.c) and
# tls/GRADING.md: TLS 1.2 + 1.3 (P = (100 + 100) / 2 = 100), ECDHE AEAD
# suites only (CIPHERS_MODERN: AES-128/256-GCM, ChaCha20, and the TLS 1.3
# suites; C = (80 + 100) / 2 = 90), RSA-2048 leaf and groups of at least 2048
# RSA-equivalent bits (K = 90): S = 30 + 27 + 36 = 93 -> A; TLS 1.3 is there
# (no C44 warning), RFC 5746 in the TLS 1.2 hellos (no C13); a valid chain
# for the name (no T, no M).  Not HTTP: hsts_not_applicable, A is the
# ceiling (SPEC CHOICE 11, grading.md V61) -> A, and A with trust ignored.
for p in smtp imap pop3 ftp xmpp ldap postgres; do
    assert_eq "A|A|hsts_not_applicable" \
        "$(q "select r.grade, g.grade_trust_ignored, g.reasons from results r
              join grades g on g.result_id = r.id where r.starttls = '$p' and r.class = 'ok'")" \
        "$p: A, HSTS not applicable"
    assert_eq "SSLv2:0 SSLv3:0 TLSv1:0 TLSv1.1:0 TLSv1.2:1 TLSv1.3:1" \
        "$(q "select group_concat(protocol || ':' || accepted, ' ') from (select p.protocol, p.accepted
              from protocols p join results r on r.id = p.result_id
              where r.starttls = '$p' and r.class = 'ok' order by p.protocol)")" \
        "$p: protocol rows (every protocol tested through the dialogue)"
    assert_eq "3|3|0|6" \
        "$(q "select sum(s.protocol = 'TLSv1.3'), sum(s.protocol = 'TLSv1.2'), sum(s.is_cbc),
              sum(s.is_aead) from suites s join results r on r.id = s.result_id
              where r.starttls = '$p' and r.class = 'ok'")" "$p: suite rows, all AEAD"
    assert_eq "not_http" "$(q "select h.status from hsts h join results r on r.id = h.result_id
                              where r.starttls = '$p' and r.class = 'ok'")" "$p: hsts row not_http"
    [ "$(q "select count(*) from groups x join results r on r.id = x.result_id
            where r.starttls = '$p' and r.class = 'ok'")" -gt 0 ] || fail "$p: no groups rows"
done
# Every grading connection of an ok STARTTLS endpoint reached READY: none
# stopped, and the suites match what OpenSSL's own client negotiates after
# `-starttls smtp`, one suite per connection.
assert_eq "0" "$(q "select count(*) from results where starttls is not null and detail like '%not graded%'")" \
    "no STARTTLS grading was stopped"
smtp_ip=$(q "select ip from results where host = 'starttls-smtp.lab.tlsweep.test' and starttls = 'smtp'")
want=""
for pair in $(openssl ciphers -stdname -tls1_2 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | awk '{print $1 "=" $3}'); do
    std=${pair%%=*}; ossl=${pair#*=}
    case "$std" in TLS_AES_*|TLS_CHACHA20_*) continue ;; esac
    if openssl s_client -connect "$smtp_ip:$PORT" -servername starttls-smtp.lab.tlsweep.test \
        -starttls smtp -tls1_2 -cipher "$ossl:@SECLEVEL=0" </dev/null >/dev/null 2>&1; then
        want="$want $std"
    fi
done
want=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
[ -n "$want" ] || fail "s_client -starttls smtp completed no TLS 1.2 handshake"
assert_eq "$want" "$(q "select s.name from suites s join results r on r.id = s.result_id
                       where r.starttls = 'smtp' and r.class = 'ok' and s.protocol = 'TLSv1.2'
                       order by s.name" | tr '\n' ' ')" "smtp: TLS 1.2 suites match s_client -starttls smtp"
# Connections: the classification probe plus the grading ones, all counted.
assert_eq "0" "$(q "select count(*) from probe_stats p join results r on r.id = p.result_id
                    where r.starttls is not null and p.grading_connections >= p.connections")" \
    "classification probes are counted too"
echo "# graded STARTTLS endpoints: $(q "select count(*) from probe_stats p join results r
      on r.id = p.result_id where r.starttls is not null"), connections each:" \
    "$(q "select group_concat(distinct p.connections) from probe_stats p join results r
          on r.id = p.result_id where r.starttls is not null")," \
    "mean elapsed: $(q "select round(avg(elapsed_ms)) from results where starttls is not null
                       and class = 'ok'") ms"
# The failures of the plaintext phase completed no handshake: not graded.
assert_eq "0" "$(q "select count(*) from results r join grades g on g.result_id = r.id
                    where r.starttls is not null and r.class != 'ok'")" \
    "no grade without a completed handshake"
assert_eq "NULL NULL" "$(q "select ifnull(grade, 'NULL') from results where starttls = 'smtp'
                           and class in ('starttls_unsupported', 'starttls_refused')" | tr '\n' ' ' | sed 's/ $//')" \
    "the refused and unsupported endpoints have no grade"
assert_eq "A" "$(q "select grade from results where host = 'valid-rsa.lab.tlsweep.test'
                    and starttls is null")" "direct TLS in the same scan is graded"

# Failures of the plaintext phase.
assert_eq "not_tls" "$(q "select class from results where host = 'starttls-smtp.lab.tlsweep.test'
                          and starttls is null")" "the SMTP port as direct TLS: not_tls"
assert_eq "handshake_timeout" "$(q "select class from results where host = 'valid-rsa.lab.tlsweep.test'
                          and starttls = 'smtp'")" "a TLS port as SMTP: the greeting never comes"
q "select detail from results where host = 'valid-rsa.lab.tlsweep.test' and starttls = 'smtp'" \
    | grep -q "smtp dialogue timed out" || fail "the timeout detail names the dialogue"
assert_eq "not_tls" "$(q "select class from results where host = 'garbage.lab.tlsweep.test'")" \
    "garbage as SMTP: not_tls"
q "select detail from results where host = 'garbage.lab.tlsweep.test'" | grep -q "^smtp: " \
    || fail "the protocol error detail comes from the dialogue"
assert_eq "tcp_refused" "$(q "select class from results where host = 'closed.lab.tlsweep.test'")" \
    "nothing listening: tcp_refused"
# One endpoint per (host, ip, port, sni, starttls): both smtp:// and direct rows exist.
assert_eq "2" "$(q "select count(*) from results where host = 'starttls-smtp.lab.tlsweep.test'")" \
    "smtp://h:P and h:P are two rows"
assert_eq "1" "$(q "select count(*) from sqlite_master where name = 'results_endpoint'
                    and sql like '%starttls%'")" "the unique index includes starttls"
assert_eq "14" "$(q "pragma user_version")" "schema version 14"

# Reports reproduce with -starttls, whatever the class.
"$TLSWEEP" report --db "$DB" --format text --group none > "$TMP/report.txt" 2>/dev/null || fail "report failed"
grep -q "openssl s_client -connect $BASE.29:$PORT -servername starttls-smtp-refused.lab.tlsweep.test -starttls smtp" \
    "$TMP/report.txt" || fail "report: no -starttls smtp repro for the refused endpoint"
pass "report: the refused endpoint's repro has -starttls smtp"
"$TLSWEEP" report --db "$DB" --format json > "$TMP/report.json" 2>/dev/null || fail "json report failed"
python3 - "$TMP/report.json" <<'PY' || fail "json: a STARTTLS repro lacks its -starttls flag"
import json, sys
rows = json.load(open(sys.argv[1]))["endpoints"]
if not any("-starttls" in (r.get("reproduce") or "") for r in rows):
    sys.exit(1)
bad = [r for r in rows
       if r.get("reproduce") and "://" in (r.get("target") or "")
       and ("-starttls " + r["target"].split("://")[0]) not in r["reproduce"]]
direct = [r for r in rows if r.get("reproduce") and "://" not in (r.get("target") or "")
          and "-starttls" in r["reproduce"]]
sys.exit(1 if bad or direct else 0)
PY
pass "json: every STARTTLS repro has its protocol, no direct one has any"

# --starttls auto: well-known ports without a scheme speak STARTTLS.
printf 'a.test:25\na.test:587\nb.test:143\nc.test:443\nd.test:465\nimap://e.test\nhttps://f.test:8443\n' \
    > "$TMP/auto.txt"
"$TLSWEEP" scan --dry-run --starttls auto --db "$TMP/dry.db" "$TMP/auto.txt" > "$TMP/plan" \
    || fail "dry run with --starttls auto failed"
assert_eq "a.test 25 a.test smtp
a.test 587 a.test smtp
b.test 143 b.test imap
c.test 443 c.test
d.test 465 d.test
e.test 143 e.test imap
f.test 8443 f.test" "$(cat "$TMP/plan")" "--starttls auto: the plan names each endpoint's protocol"
"$TLSWEEP" scan --dry-run --db "$TMP/dry.db" "$TMP/auto.txt" | grep -qx "a.test 25 a.test" \
    || fail "without --starttls auto, a.test:25 is direct TLS"
rc=0
"$TLSWEEP" scan --dry-run --starttls smtp --db "$TMP/dry.db" "$TMP/auto.txt" >/dev/null 2>&1 || rc=$?
assert_eq "2" "$rc" "--starttls with anything but auto is a usage error"

# --starttls auto on a real port 25 (a second lab on its own base): the
# engine applies it, stores the scheme, and the endpoint is ok.
LAB25="$TMP/lab25"
if "$TLSWEEP_REAL" lab up --daemon --dir "$LAB25" --base 127.82.0.0 --port 25 --dns-port 35354 \
    >"$TMP/lab25.out" 2>&1; then
    PIDS+=("$(cat "$LAB25/lab.pid")")
    trap '"$TLSWEEP_REAL" lab down --dir "$LAB" >/dev/null 2>&1 || true;
          "$TLSWEEP_REAL" lab down --dir "$LAB25" >/dev/null 2>&1 || true; cleanup' EXIT
    echo "starttls-smtp.lab.tlsweep.test:25" > "$TMP/p25.txt"
    "$TLSWEEP" scan --lab="$LAB25" --db "$TMP/p25.db" --starttls auto --no-progress \
        --handshake-timeout 3 "$TMP/p25.txt" 2>/dev/null || fail "port-25 scan failed"
    assert_eq "smtp://starttls-smtp.lab.tlsweep.test:25|smtp|ok" \
        "$(sqlite3 "$TMP/p25.db" "select target, starttls, class from results")" \
        "--starttls auto: port 25 spoke SMTP"
    "$TLSWEEP_REAL" lab down --dir "$LAB25" >/dev/null 2>&1 || true
else
    echo "# port 25 lab could not start here ($(tail -1 "$TMP/lab25.out")): auto checked by --dry-run only"
fi

# merge: two shards of the STARTTLS scan carry the column.
for k in 1 2; do
    "$TLSWEEP" scan --lab="$LAB" --db "$TMP/s$k.db" --shard "$k/2" --quick --no-progress \
        --connect-timeout 2 --handshake-timeout 2 --dns-timeout 1 --dns-tries 1 "$TMP/targets.txt" \
        2>/dev/null || fail "shard $k failed"
done
"$TLSWEEP" merge "$TMP/m.db" "$TMP/s1.db" "$TMP/s2.db" >/dev/null 2>&1 || fail "merge failed"
assert_eq "$(q "select count(*) from results where starttls is not null")" \
    "$(sqlite3 "$TMP/m.db" "select count(*) from results where starttls is not null")" \
    "merge keeps every STARTTLS row"
assert_eq "$(q "select group_concat(s, ',') from (select distinct starttls s from results
                where starttls is not null order by 1)")" \
    "$(sqlite3 "$TMP/m.db" "select group_concat(s, ',') from (select distinct starttls s from results
                where starttls is not null order by 1)")" "merge copies the protocol names"

# A version-3 database (before STARTTLS) migrates: its rows stay direct TLS.
python3 - "$SRCDIR/store/schema.c" "$TMP/v3.db" <<'PY'
import re, sqlite3, sys
src = open(sys.argv[1], encoding="utf-8").read()
body = re.sub(r"/\*.*?\*/", "", re.search(r"steps\[\]\s*=\s*\{(.*?)\n\};", src, re.S).group(1), flags=re.S)
steps, cur, pos = [], [], 0
lit = re.compile(r'"((?:[^"\\]|\\.)*)"')
while pos < len(body):
    if body[pos] == '"':
        m = lit.match(body, pos); cur.append(bytes(m.group(1), "utf-8").decode("unicode_escape")); pos = m.end()
    elif body[pos] == ',':
        steps.append("".join(cur)); cur = []; pos += 1
    else:
        pos += 1
db = sqlite3.connect(sys.argv[2])
for s in steps[:3]:
    db.executescript(s)
db.execute("PRAGMA user_version=3")
db.execute("INSERT INTO scans(id, started_at, status) VALUES (1, '2026-01-01T00:00:00Z', 'done')")
db.execute("INSERT INTO results(scan_id, target, host, ip, port, sni, class, issues)"
           " VALUES (1, 'old.test:443', 'old.test', '192.0.2.1', 443, 'old.test', 'ok', 'ok')")
db.commit()
PY
echo "smtp://starttls-smtp.lab.tlsweep.test:$PORT" > "$TMP/one.txt"
"$TLSWEEP" scan --lab="$LAB" --db "$TMP/v3.db" --quick --no-progress --handshake-timeout 3 \
    "$TMP/one.txt" 2>/dev/null || fail "scan into a version-3 database failed"
assert_eq "14|old.test||ok" "$(sqlite3 "$TMP/v3.db" "select (select user_version from pragma_user_version),
    host, starttls, class from results where scan_id = 1")" "v3 -> v4: the old row is direct TLS"
assert_eq "smtp|ok" "$(sqlite3 "$TMP/v3.db" "select starttls, class from results where scan_id = 2")" \
    "v3 -> v4: a STARTTLS row fits"
assert_eq "smtp" "$(sqlite3 "$TMP/v3.db" "select starttls from latest where host like 'starttls-smtp%'")" \
    "the latest view shows starttls"

"$TLSWEEP_REAL" lab down --dir "$LAB" >/dev/null 2>&1 || true
echo "starttls: all checks passed"
