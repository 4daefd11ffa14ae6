#!/usr/bin/env bash
# Soak test (issue 8; not part of the default suite: about 2 minutes, root
# not needed).  50,000 endpoints mixed from every lab class, 30% of them
# tarpits that hold each handshake until its timeout, at -c 5000.  Checks:
# the scan completes within the time its timeouts bound, every endpoint is
# stored exactly once, RSS is flat after warm-up and the descriptor count
# does not grow (sampled every second from /proc/PID/status and /proc/PID/fd).
#
#   TLSWEEP=build/tlsweep tests/soak/soak.sh [N_ENDPOINTS]
#
# Prints the figures (bench/RESULTS.md takes them) and exits non-zero when a
# check fails.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TLSWEEP=${TLSWEEP:-$HERE/../../build/tlsweep}
N=${1:-50000}
CONC=${SOAK_CONCURRENCY:-5000}
HS=3
CT=3
TMP=$(mktemp -d /tmp/tlsweep-soak.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    [ -f "$TMP/lab/lab.pid" ] && "$TLSWEEP" lab down --dir "$TMP/lab" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "SOAK FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# The estate: the lab (every class, hostile group included) on its own base.
PORT=$(free_port)
DNSPORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TLSWEEP" lab up --daemon --dir "$TMP/lab" --base 127.90.0.0 --port "$PORT" --dns-port "$DNSPORT" \
    --threads 2 >/dev/null || fail "lab up"
PIDS+=("$(cat "$TMP/lab/lab.pid")")
tarpit=$(free_port)
python3 "$HERE/../integration/engine_peers.py" tarpit "$tarpit" > "$TMP/tarpit.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q ready "$TMP/tarpit.out" && break; sleep 0.1; done
closed=$(free_port)

# Mix: 30% tarpit addresses, the lab's own lines (normal + hostile) repeated
# through address targets with distinct SNI-less forms, the rest closed ports.
n_tarpit=$((N * 30 / 100))
n_lab_rounds=10
python3 - "$TMP/targets.txt" "$N" "$n_tarpit" "$tarpit" "$closed" "$TMP/lab" "$n_lab_rounds" <<'EOF'
import sys, ipaddress
out, n, n_tarpit, tarpit, closed, lab, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
lines = []
# The lab endpoints by address (127.90.0.N:PORT) with 40 distinct SNI values
# each, so that every class (and the hostile group) is hit many times over.
import re
lab_lines = [l for l in open(lab + "/targets.txt").read().split("\n") + open(lab + "/hostile.txt").read().split("\n") if l and not l.startswith("#")]
for r in range(rounds):
    for l in lab_lines:
        parts = l.split()
        host, port = parts[0].rsplit(":", 1)
        if host.startswith("["):
            continue
        line = "%s:%s r%d.%s" % (host, port, r, host)
        if line not in lines: # sni-required and no-sni-different-cert have two lines
            lines.append(line)
def addrs(base):
    net = ipaddress.ip_network(base)
    for a in net.hosts():
        yield str(a)
t = addrs("127.100.0.0/14")
for _ in range(n_tarpit):
    lines.append("%s:%s" % (next(t), tarpit))
c = addrs("127.112.0.0/14")
while len(lines) < n:
    lines.append("%s:%s" % (next(c), closed))
open(out, "w").write("\n".join(lines[:n]) + "\n")
EOF
[ "$(wc -l < "$TMP/targets.txt")" = "$N" ] || fail "target list"

DB="$TMP/soak.db"
start=$(date +%s.%N)
"$TLSWEEP" scan --lab="$TMP/lab" --db "$DB" --no-progress -c "$CONC" -j 2 \
    --connect-timeout "$CT" --handshake-timeout "$HS" --dns-timeout 1 --dns-tries 1 \
    "$TMP/targets.txt" 2>"$TMP/scan.err" &
pid=$!
: > "$TMP/samples"
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
    [ -n "$rss" ] && echo "$(date +%s.%N) $rss $fds" >> "$TMP/samples"
    sleep 1
done
rc=0
wait "$pid" || rc=$?
end=$(date +%s.%N)
[ "$rc" = 0 ] || fail "scan exited $rc: $(tail -5 "$TMP/scan.err")"
elapsed=$(python3 -c "print('%.1f' % ($end - $start))")

stored=$(sqlite3 "$DB" 'select count(*) from results')
distinct=$(sqlite3 "$DB" "select count(*) from (select distinct host, ip, port, ifnull(sni,'') from results)")
echo "endpoints $N, stored $stored, distinct $distinct, elapsed ${elapsed} s (-c $CONC -j 2, timeouts connect $CT s handshake $HS s)"
sqlite3 "$DB" "select '  ' || class || ' ' || count(*) from results group by class order by count(*) desc"
[ "$stored" = "$N" ] && [ "$distinct" = "$N" ] || fail "stored $stored / distinct $distinct of $N"

# Time bound: the tarpits need ceil(n_tarpit / CONC) rounds of HS s; the
# lab addresses (4 connections per address, --per-ip) one round of
# CT + HS per SNI variant;
# everything else is fast; follow-up probes at most double a round.
bound=$(python3 -c "import math; print(int(math.ceil($n_tarpit / $CONC) * $HS * 2 + $n_lab_rounds * ($CT + $HS) + 60))")
python3 -c "import sys; sys.exit(0 if $elapsed < $bound else 1)" || fail "took ${elapsed} s, bound ${bound} s"
echo "time bound: ${elapsed} s < ${bound} s"

# RSS and descriptors after warm-up (the first 20% of samples) up to the last
# 10% (the tail drains): the max must not exceed the warm-up max by > 25%,
# and the descriptor count must stay below -c plus the margin.
python3 - "$TMP/samples" "$CONC" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
conc = int(sys.argv[2])
rss = [int(r[1]) for r in rows]; fds = [int(r[2]) for r in rows]
n = len(rows)
if n < 5:
    print("only %d samples" % n); sys.exit(0)
w = max(1, n // 5); tail = max(w + 1, n - max(1, n // 10))
warm = max(rss[:w]); steady = rss[w:tail] or rss[w:]
print("samples %d; RSS KB: min %d, warm-up max %d, steady max %d, last %d" % (n, min(rss), warm, max(steady), rss[-1]))
print("fds: max %d, last %d (limit -c + 100 = %d)" % (max(fds), fds[-1], conc + 100))
ok = max(steady) <= warm * 1.25 + 10240 and max(fds) <= conc + 100
if not ok:
    print("SOAK FAIL: RSS or fd growth"); sys.exit(1)
print("RSS flat, no fd growth")
EOF
