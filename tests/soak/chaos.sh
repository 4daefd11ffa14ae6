#!/usr/bin/env bash
# Chaos run (issue 15): N nights in a row on a loopback fleet of E endpoints
# (bench/fleet: one listener for every 127.x.y.z, its own DNS, --map to
# change what some addresses serve), each night with a known set of changes
# injected into the fleet and the target list, one failure injected at a
# random point of the scan (SIGINT, SIGTERM, SIGKILL, a full disk, the
# resolver taken away, an empty target list), then the documented recovery
# (`tlsweep scan --resume ID` with the same options, or a new scan).  The
# checks (tests/soak/chaos.py says each): no night is reported complete when
# it is not, no endpoint is lost or doubled, and `diff` between consecutive
# nights shows exactly the injected changes and fails on regression exactly
# when one was injected.
#
#   TLSWEEP=build/tlsweep tests/soak/chaos.sh [--nights N] [--endpoints E]
#       [--seed S] [--concurrency C] [--markdown FILE] [--keep] [--verbose]
#
# Defaults: 20 nights, 20,000 endpoints, seed 15, -c 300.  Ports come from
# the kernel (no lab lock needed).  As root the database lives on a tmpfs
# mounted in a private mount namespace (so the mount disappears with the run
# even on SIGKILL) and a full disk is the tmpfs shrunk to what it holds;
# otherwise the disk fills by `prlimit --fsize` on the scan.  Every server,
# mount and temporary directory is removed at exit, also on failure.
# Prints one line per night and the checks; exits 1 when a check failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TLSWEEP=${TLSWEEP:-$HERE/../../build/tlsweep}
FLEET=${FLEET:-$(dirname "$TLSWEEP")/bench/fleet}
NIGHTS=20 ENDPOINTS=20000 SEED=15 CONC=300 MARKDOWN= KEEP=0 VERBOSE=
ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --nights) NIGHTS=$2; shift ;;
    --endpoints) ENDPOINTS=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --concurrency) CONC=$2; shift ;;
    --markdown) MARKDOWN=$2; shift ;;
    --keep) KEEP=1 ;;
    --verbose) VERBOSE=--verbose ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "chaos: unknown argument $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
for v in "$NIGHTS" "$ENDPOINTS" "$SEED" "$CONC"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "chaos: not a number: $v" >&2; exit 2; }
done
[ -x "$TLSWEEP" ] || { echo "chaos: no tlsweep at $TLSWEEP (set TLSWEEP)" >&2; exit 2; }
[ -x "$FLEET" ] || { echo "chaos: no fleet at $FLEET (set FLEET)" >&2; exit 2; }
TLSWEEP=$(cd "$(dirname "$TLSWEEP")" && pwd)/$(basename "$TLSWEEP")
[ -z "$MARKDOWN" ] || MARKDOWN=$(cd "$(dirname "$MARKDOWN")" && pwd)/$(basename "$MARKDOWN")

# As root, run in a private mount namespace: the tmpfs cannot outlive us.
if [ "$(id -u)" = 0 ] && [ -z "${CHAOS_MOUNT_NS:-}" ] && command -v unshare >/dev/null &&
    unshare -m --propagation private true 2>/dev/null; then
    export CHAOS_MOUNT_NS=1 TLSWEEP FLEET
    exec unshare -m --propagation private bash "$0" "${ARGS[@]}"
fi

W=$(mktemp -d /tmp/tlsweep-chaos.XXXXXX)
FLEET_PID= MOUNTED= PY_PID=
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM HUP
    if [ -n "$PY_PID" ]; then kill "$PY_PID" 2>/dev/null || true; wait "$PY_PID" 2>/dev/null || true; fi
    # The scans the nights started (their pids, checked to still be ours).
    if [ -f "$W/pids" ]; then
        while read -r pid; do
            if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
                tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$W/db/chaos.db"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done <"$W/pids"
    fi
    if [ -n "$FLEET_PID" ]; then kill "$FLEET_PID" 2>/dev/null || true; wait "$FLEET_PID" 2>/dev/null || true; fi
    if [ -n "$MOUNTED" ]; then umount "$W/db" 2>/dev/null || umount -l "$W/db" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then echo "chaos: kept $W" >&2; else rm -rf "$W"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
free_port() { # tcp|udp
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' "$1"
}

# The database's file system.
mkdir -p "$W/db"
TMPFS_ARGS=()
TMPFS_SIZE=$((2 * 1024 * 1024 * 1024))
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o "size=$TMPFS_SIZE,mode=0700" tmpfs "$W/db" 2>/dev/null; then
    MOUNTED=1
    TMPFS_ARGS=(--tmpfs --tmpfs-size "$TMPFS_SIZE")
fi

# The fleet, on ports from the kernel; an empty map to begin with.
: >"$W/map.txt"
PORT=$(free_port tcp) DNSPORT=$(free_port udp)
# setpriv --pdeathsig: should this shell be SIGKILLed (no trap runs), the
# fleet and the driver die with it instead of serving on.
PDEATH=()
if command -v setpriv >/dev/null && setpriv --pdeathsig KILL true 2>/dev/null; then
    PDEATH=(setpriv --pdeathsig KILL)
fi
${PDEATH[@]+"${PDEATH[@]}"} "$FLEET" --port "$PORT" --dns-port "$DNSPORT" --threads 2 --ca-out "$W/ca.pem" \
    --stats "$W/fleet.stats" --map "$W/map.txt" --tarpit-cap 40000 >"$W/fleet.log" 2>&1 &
FLEET_PID=$!
for _ in $(seq 100); do grep -q 'fleet ready' "$W/fleet.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'fleet ready' "$W/fleet.log" || { cat "$W/fleet.log" >&2; echo "chaos: the fleet did not start" >&2; exit 1; }
for _ in $(seq 50); do [ -s "$W/fleet.stats" ] && break; sleep 0.1; done

rc=0
${PDEATH[@]+"${PDEATH[@]}"} python3 "$HERE/chaos.py" --nights "$NIGHTS" --endpoints "$ENDPOINTS" --seed "$SEED" \
    --concurrency "$CONC" --tlsweep "$TLSWEEP" --fleet-pid "$FLEET_PID" --port "$PORT" \
    --dns-port "$DNSPORT" --ca "$W/ca.pem" --map "$W/map.txt" --stats "$W/fleet.stats" \
    --work "$W" --db-dir "$W/db" --pids-file "$W/pids" ${MARKDOWN:+--markdown "$MARKDOWN"} \
    ${TMPFS_ARGS[@]+"${TMPFS_ARGS[@]}"} $VERBOSE &
PY_PID=$!
wait "$PY_PID" || rc=$?
PY_PID=
exit "$rc"
