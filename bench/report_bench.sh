#!/usr/bin/env bash
# report_bench.sh [N] [DIR] - time `tlsweep report` (every format) and
# `tlsweep diff` over a generated database with N results per scan.
#
# The database (two done scans of N endpoints each, 10,000 certificates, a
# two-certificate chain per result, failures, issues, grade/class/cipher
# changes between the scans) is generated with SQL in DIR (default: a
# temporary directory, removed at the end).  Nothing is downloaded.
#   TLSWEEP=build/tlsweep bench/report_bench.sh 1000000
set -euo pipefail
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TLSWEEP=${TLSWEEP:-$SRCDIR/build/tlsweep}
N=${1:-1000000}
DIR=${2:-}
if [ -z "$DIR" ]; then
    DIR=$(mktemp -d /tmp/tlsweep-bench.XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi
DB="$DIR/bench.db"
. "$SRCDIR/tests/golden/fixture.sh"

secs() { python3 -c 'import sys; print("%.2f" % ((int(sys.argv[2]) - int(sys.argv[1])) / 1e9))' "$1" "$2"; }

rm -f "$DB" "$DB-wal" "$DB-shm"
t0=$(date +%s%N)
tw_fixture_schema "$DB"
sqlite3 -bail "$DB" >/dev/null <<SQL
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO scans(id, label, started_at, finished_at, status) VALUES
  (1, 'bench-old', '2026-01-01T00:00:00Z', '2026-01-01T00:30:00Z', 'done'),
  (2, 'bench-new', '2026-01-08T00:00:00Z', '2026-01-08T00:30:00Z', 'done');
INSERT INTO certs(sha256, subject, issuer, not_before, not_after, key_type, key_bits, sig_alg)
  VALUES ('ff', 'CN=Bench Intermediate', 'CN=Bench Root', '2025-01-01T00:00:00Z',
          '2030-01-01T00:00:00Z', 'EC', 384, 'ecdsa-with-SHA384');
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 9999)
INSERT INTO certs(sha256, subject, issuer, not_before, not_after, key_type, key_bits, sig_alg)
SELECT printf('%064x', i), 'CN=h' || i || '.example', 'CN=Bench Intermediate',
       '2025-01-01T00:00:00Z', strftime('%Y-%m-%dT%H:%M:%SZ', '2026-01-01', '+' || (i % 400) || ' days'),
       'EC', 256, 'ecdsa-with-SHA256' FROM c;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1),
s(scan) AS (VALUES (1), (2))
INSERT INTO results(scan_id, target, host, ip, port, sni, class, issues, tls_version, cipher,
                    grade, cert_sha256, detail, elapsed_ms, scanned_at)
SELECT scan, 'h' || (i / 4) || '.example', 'h' || (i / 4) || '.example',
       '10.' || ((i >> 16) & 255) || '.' || ((i >> 8) & 255) || '.' || (i & 255),
       443 + (i % 4), 'h' || (i / 4) || '.example',
       CASE WHEN i % 50 = 0 THEN 'tcp_refused' WHEN i % 51 = 0 THEN 'tcp_timeout'
            WHEN i % 97 = 0 THEN 'cert_expired' WHEN i % 89 = 0 THEN 'incomplete_chain'
            WHEN scan = 2 AND i % 1009 = 0 THEN 'tcp_reset' ELSE 'ok' END,
       CASE WHEN i % 50 = 0 THEN 'tcp_refused' WHEN i % 51 = 0 THEN 'tcp_timeout'
            WHEN i % 97 = 0 THEN 'cert_expired' WHEN i % 89 = 0 THEN 'incomplete_chain'
            WHEN scan = 2 AND i % 1009 = 0 THEN 'tcp_reset' ELSE 'ok' END,
       CASE WHEN i % 50 = 0 OR i % 51 = 0 OR (scan = 2 AND i % 1009 = 0) THEN NULL
            WHEN i % 23 = 0 THEN 'TLSv1' WHEN i % 3 = 0 THEN 'TLSv1.2' ELSE 'TLSv1.3' END,
       CASE WHEN i % 50 = 0 OR i % 51 = 0 OR (scan = 2 AND i % 1009 = 0) THEN NULL
            WHEN scan = 2 AND i % 211 = 0 THEN 'TLS_CHACHA20_POLY1305_SHA256'
            ELSE 'TLS_AES_256_GCM_SHA384' END,
       CASE WHEN i % 50 = 0 OR i % 51 = 0 OR (scan = 2 AND i % 1009 = 0) THEN NULL
            WHEN i % 97 = 0 THEN 'T' WHEN i % 23 = 0 THEN 'C'
            WHEN scan = 2 AND i % 307 = 0 THEN 'B' WHEN i % 7 = 0 THEN 'A+' ELSE 'A' END,
       CASE WHEN i % 50 = 0 OR i % 51 = 0 OR (scan = 2 AND i % 1009 = 0) THEN NULL
            ELSE printf('%064x', (i + (scan = 2 AND i % 401 = 0)) % 10000) END,
       CASE WHEN i % 50 = 0 THEN 'connect: Connection refused' END,
       5 + i % 200, '2026-01-01T00:00:01Z'
FROM c, s;
INSERT INTO result_chain(result_id, depth, cert_sha256)
SELECT id, 0, cert_sha256 FROM results WHERE cert_sha256 IS NOT NULL;
INSERT INTO result_chain(result_id, depth, cert_sha256)
SELECT id, 1, 'ff' FROM results WHERE cert_sha256 IS NOT NULL;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
t1=$(date +%s%N)
rows=$(sqlite3 "$DB" "SELECT count(*) FROM results")
echo "generated $rows results ($N per scan) in $(secs "$t0" "$t1") s: $DB ($(du -h "$DB" | cut -f1))"

run() { # LABEL ARGS...
    local label=$1; shift
    local a b rc=0
    a=$(date +%s%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%M" -o "$DIR/rss" "$TLSWEEP" "$@" >/dev/null 2>"$DIR/err" || rc=$?
    else
        echo 0 > "$DIR/rss"
        "$TLSWEEP" "$@" >/dev/null 2>"$DIR/err" || rc=$?
    fi
    b=$(date +%s%N)
    [ "$rc" -le 1 ] || { cat "$DIR/err" >&2; echo "FAILED: $label" >&2; exit 1; }
    printf '%-28s %7s s  max RSS %6s MB\n' "$label" "$(secs "$a" "$b")" \
        "$(( $(tail -1 "$DIR/rss") / 1024 ))"
}

for fmt in text json csv md html prom; do
    run "report --format $fmt" report --db "$DB" --scan 2 --format "$fmt" -o "$DIR/out.$fmt"
done
run "report --expiring 30" report --db "$DB" --scan 2 --expiring 30 -o "$DIR/out.exp"
run "report --where" report --db "$DB" --scan 2 --where "class <> 'ok'" -o "$DIR/out.where"
run "diff (text)" diff --db "$DB" 1 2 -o "$DIR/out.diff"
run "diff --format json" diff --db "$DB" 1 2 --format json -o "$DIR/out.diff.json"
ls -l "$DIR"/out.* | awk '{printf "  %-12s %12d bytes\n", substr($NF, length($NF)-10), $5}'
