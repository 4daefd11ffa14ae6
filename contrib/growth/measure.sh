#!/usr/bin/env bash
# measure.sh - how much a nightly database grows per endpoint, measured on
# loopback with real scans (not synthesised rows):
#   failure: FAIL endpoints where nothing listens (tcp_refused: a results
#            row and its index entries, no certificate, no grading);
#   known:   TLS endpoints (tls_fleet.py, RSA-2048 leaf + CA sent, graded)
#            scanned a second night with the same certificates;
#   new:     the same endpoints a third night with every leaf replaced.
# Growth is the change in used pages ((page_count - freelist) * page_size
# after a WAL checkpoint) from one night to the next, divided by the
# endpoints scanned.  Then `prune --keep 1` shows what retention gives back.
# Usage: TLSWEEP=build/tlsweep contrib/growth/measure.sh [FAIL] [TLS]
# (defaults 98300 and 1000; a few minutes on 2 cores).
set -euo pipefail
TLSWEEP=$(realpath "${TLSWEEP:?set TLSWEEP to the built tlsweep}")
FAIL_RANGES=${1:-98300}
TLS=${2:-1000}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/tlsweep-growth.XXXXXX)
fleet_pid=
cleanup() { [ -z "$fleet_pid" ] || kill "$fleet_pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
used() { # DB -> bytes in used pages
    sqlite3 "$1" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    sqlite3 "$1" 'SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count p, pragma_freelist_count f, pragma_page_size s'
}
night() { # DB TARGETS LABEL [OPTS] -> endpoints scanned
    local db=$1 t=$2 label=$3; shift 3
    "$TLSWEEP" scan --db "$db" --no-progress -c 1000 --connect-timeout 3 --handshake-timeout 10 \
        --label "$label" "$@" "$t" 2>> "$tmp/scan.err" || { tail -5 "$tmp/scan.err" >&2; exit 3; }
    sqlite3 "$db" "SELECT n_endpoints FROM scans ORDER BY id DESC LIMIT 1"
}
per() { python3 -c "import sys; print(round(int(sys.argv[1]) / int(sys.argv[2]), 1))" "$1" "$2"; }

# --- failures ---
closed=$(free_port)
{
    echo "127.70.0.0/16:$closed"
    [ "$FAIL_RANGES" -gt 65534 ] && echo "127.71.0.0/17:$closed"
} > "$tmp/fail.txt"
F="$tmp/fail.db"
n=$(night "$F" "$tmp/fail.txt" n1); b1=$(used "$F")
n=$(night "$F" "$tmp/fail.txt" n2); b2=$(used "$F")
echo "failure endpoints: $n per night; night 2 grew $((b2 - b1)) bytes = $(per $((b2 - b1)) "$n") bytes/endpoint"
fail_per=$(per $((b2 - b1)) "$n")

# --- TLS, certificates known, then all new ---
port=$(free_port)
start_fleet() { # GENERATION
    python3 "$here/tls_fleet.py" "$tmp" "$TLS" "$port" "$1" > "$tmp/fleet.out" 2>&1 &
    fleet_pid=$!
    for _ in $(seq 1 600); do grep -q ready "$tmp/fleet.out" 2>/dev/null && return 0; sleep 0.2; done
    echo "fleet did not start: $(cat "$tmp/fleet.out")" >&2; exit 3
}
stop_fleet() { kill "$fleet_pid"; wait "$fleet_pid" 2>/dev/null || true; fleet_pid=; }
python3 -c 'import ipaddress, sys
for i in range(int(sys.argv[1])):
    print("%s:%s h%d.test" % (ipaddress.IPv4Address("127.72.0.1") + i, sys.argv[2], i))' "$TLS" "$port" > "$tmp/tls.txt"
T="$tmp/tls.db"
start_fleet 1
n=$(night "$T" "$tmp/tls.txt" t1 --ca-file "$tmp/ca.crt"); t1=$(used "$T")
n=$(night "$T" "$tmp/tls.txt" t2 --ca-file "$tmp/ca.crt"); t2=$(used "$T")
stop_fleet
start_fleet 2
n3=$(night "$T" "$tmp/tls.txt" t3 --ca-file "$tmp/ca.crt"); t3=$(used "$T")
stop_fleet
echo "TLS classes night 3: $(sqlite3 "$T" "SELECT group_concat(class || ':' || c) FROM (SELECT class, count(*) c FROM results WHERE scan_id = 3 GROUP BY class)")"
echo "TLS graded night 3: $(sqlite3 "$T" "SELECT count(*) FROM results WHERE scan_id = 3 AND grade IS NOT NULL") of $n3"
echo "TLS endpoints, certificates known: $n per night; grew $((t2 - t1)) bytes = $(per $((t2 - t1)) "$n") bytes/endpoint"
echo "TLS endpoints, every leaf new:     $n3 per night; grew $((t3 - t2)) bytes = $(per $((t3 - t2)) "$n3") bytes/endpoint"
echo "certs rows: $(sqlite3 "$T" 'SELECT count(*) FROM certs'); average PEM $(sqlite3 "$T" 'SELECT CAST(avg(length(pem)) AS INTEGER) FROM certs') bytes"
echo "per-table bytes after 3 TLS nights (dbstat):"
sqlite3 "$T" "SELECT '  ' || name || ' ' || sum(pgsize) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC"
python3 - "$fail_per" "$(per $((t2 - t1)) "$n")" "$(per $((t3 - t2)) "$n3")" <<'PY'
import sys
f, k, a = map(float, sys.argv[1:4])
for label, v in (("all failures (tcp_refused)", f), ("all TLS, certificates known", k), ("all TLS, every leaf new", a)):
    print("  1M endpoints/night, %-30s %6.0f MB" % (label + ":", v * 1e6 / 1e6))
PY
before=$(stat -c %s "$T")
"$TLSWEEP" prune --db "$T" --keep 1 | tail -2
echo "prune --keep 1: file $before -> $(stat -c %s "$T") bytes"
