#!/usr/bin/env bash
# bench/lab_identical.sh - the same lab scanned by two builds gives the same
# results (issue 18: "results bit-identical for every lab endpoint").
#
#   A_BUILD=DIR B_BUILD=DIR [KINDS="full quick future"] bench/lab_identical.sh [WORKDIR]
#
# Brings one lab up (B's binary, the integration tests' address and ports,
# so it holds /tmp/tlsweep-integ.lock while it runs), then scans it with A
# and with B: a full scan (grading probes), a --quick scan, and a full scan
# with --now past the certificates' expiry.  Each scan is rendered with
# (the scan's and each endpoint's timing: *_at, *elapsed*, *_ms, time,
# duration, started, finished) and scan ids are dropped, the scan clock in
# details ("now ...") and the first bytes of the lab endpoint that sends
# random bytes are masked, then A's and B's
# documents must be equal (problems compared as a set: ties are ranked in
# storage order).  Prints one line per scan and exits 1 on any
# difference (the differing lines are shown).
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
A_BUILD=${A_BUILD:?set A_BUILD} B_BUILD=${B_BUILD:?set B_BUILD}
W=${1:-$(mktemp -d /tmp/tlsweep-labid.XXXXXX)}
mkdir -p "$W"
exec 9>/tmp/tlsweep-integ.lock
flock 9
LAB=$W/lab
cleanup() {
    if [ -f "$LAB/lab.pid" ]; then kill "$(cat "$LAB/lab.pid")" 2>/dev/null || true; fi
}
trap cleanup EXIT
"$B_BUILD/tlsweep" lab up --daemon --dir "$LAB" --base 127.78.0.0 --port 18443 --dns-port 15353 \
    >"$W/lab.out" 2>&1 || { cat "$W/lab.out" >&2; exit 1; }
"$B_BUILD/tlsweep" lab targets --dir "$LAB" >"$W/targets.txt"

strip() { # JSON on stdin -> canonical JSON without time fields
    python3 -c '
import json, re, sys
drop = re.compile(r"(_at$|elapsed|_ms$|^time$|duration|started|finished|^scan_id$|^id$|^scan$|queue)")
# Text that carries the clock or the random bytes of the lab: the scan time in
# a detail ("now 2026-..."), and the first bytes of the endpoint that
# answers with random bytes.
norm = [(re.compile(r"now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "now <clock>"),
        (re.compile(r"first bytes \".*\" \(([0-9a-f]{2} ?)+\)"), "first bytes <random>")]
def walk(v):
    if isinstance(v, dict):
        return {k: walk(x) for k, x in v.items() if not drop.search(k)}
    if isinstance(v, list):
        return [walk(x) for x in v]
    if isinstance(v, str):
        for rx, to in norm:
            v = rx.sub(to, v)
    return v
doc = walk(json.load(sys.stdin))
# Problems that tie on their endpoint count are ranked, and show their first
# endpoints and reproduce command, in the order the results were stored,
# which follows the scan timing: compare each problem by what it is and how
# many endpoints it has, and its endpoints as a set.
if isinstance(doc, dict) and isinstance(doc.get("problems"), list):
    keep = ("severity", "tier", "kind", "title", "endpoints", "explanation", "fix")
    doc["problems"] = sorted(({k: p.get(k) for k in keep} for p in doc["problems"]),
                             key=lambda p: json.dumps(p, sort_keys=True))
print(json.dumps(doc, indent=1, sort_keys=True))'
}

rc=0
for kind in ${KINDS:-full quick future}; do
    for side in A B; do
        if [ $side = A ]; then tw=$A_BUILD/tlsweep; else tw=$B_BUILD/tlsweep; fi
        db=$W/$kind-$side.db
        rm -f "$db" "$db-wal" "$db-shm"
        args=()
        [ $kind = quick ] && args+=(--quick)
        [ $kind = future ] && args+=(--now 2100-01-01T00:00:00Z)
        "$tw" scan --lab="$LAB" --db "$db" --no-progress --connect-timeout 2 --handshake-timeout 6 \
            --dns-timeout 1 --dns-tries 1 "${args[@]}" "$W/targets.txt" 2>"$W/$kind-$side.err" ||
            { tail -3 "$W/$kind-$side.err" >&2; rc=1; }
        "$B_BUILD/tlsweep" report --db "$db" --format json | strip >"$W/$kind-$side.json"
    done
    n=$(python3 -c "import json; d = json.load(open('$W/$kind-A.json')); print(len(d.get('endpoints', d.get('results', []))))")
    if cmp -s "$W/$kind-A.json" "$W/$kind-B.json"; then
        echo "lab_identical: $kind: $n endpoints, A and B identical (json without times)"
    else
        echo "lab_identical: $kind: DIFFERENT"
        diff "$W/$kind-A.json" "$W/$kind-B.json" | head -40 || true
        rc=1
    fi
done
echo "lab_identical: work files in $W"
exit $rc
