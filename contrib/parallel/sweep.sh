#!/usr/bin/env bash
# sweep.sh - a sharded sweep over ssh: shard k of N runs on the k-th worker
# listed in WORKERS (one ssh login per line, e.g. "scan@10.0.0.11"), the
# shard databases come back here and are merged into ESTATE.
#
#   ./sweep.sh workers.txt hosts.txt estate.db
#
# Every worker needs tlsweep on its PATH (same version) and ssh access
# without a password prompt.  With GNU parallel installed the shards are
# driven by parallel (--transferfile the target list, --return the shard
# database, --cleanup the remote copies); without it, by plain ssh and scp
# in background jobs.  Both leave shard-K.db files in a fresh local
# directory and then run `tlsweep merge`, which refuses shards of different
# target lists or shard counts, and a set with a shard missing or
# unfinished (a worker that failed), naming it.  Extra scan options go in
# TLSWEEP_SCAN_OPTS.
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 WORKERS HOSTS ESTATE.db" >&2; exit 2; }
workers=$1 hosts=$2 estate=$3
mapfile -t logins < <(grep -Ev '^[[:space:]]*(#|$)' "$workers")
N=${#logins[@]}
[ "$N" -ge 1 ] || { echo "$0: no workers in $workers" >&2; exit 2; }
[ -r "$hosts" ] || { echo "$0: cannot read $hosts" >&2; exit 2; }
run=$(date -u +%Y%m%dT%H%M%SZ)
label="sweep-$run"               # one label for all shards: merge checks it
dir=$(mktemp -d "./shards-$run.XXXXXX")
remote_hosts=".tlsweep-hosts-$run.txt"
opts=${TLSWEEP_SCAN_OPTS:-}

if command -v parallel >/dev/null 2>&1; then
    # One job slot per worker ("1/login"), jobs K = 1..N.  parallel copies
    # the target list to each worker's home, runs the shard there, brings
    # shard-K.db back into $dir and removes the remote files.
    cp "$hosts" "$dir/$remote_hosts"
    printf '1/%s\n' "${logins[@]}" > "$dir/sshlogins"
    (cd "$dir" && seq 1 "$N" | parallel --jobs 1 --sshloginfile sshlogins \
        --transferfile "$remote_hosts" --return 'shard-{}.db' --cleanup \
        --halt now,fail=1 --tag \
        "tlsweep scan --no-progress --label $label --shard {}/$N --db shard-{}.db $opts $remote_hosts")
else
    pids=()
    for k in $(seq 1 "$N"); do
        login=${logins[$((k - 1))]}
        # shellcheck disable=SC2029 # the remote commands are built here on purpose
        (
            scp -q "$hosts" "$login:$remote_hosts"
            ssh "$login" "tlsweep scan --no-progress --label $label --shard $k/$N --db shard-$run-$k.db $opts $remote_hosts"
            scp -q "$login:shard-$run-$k.db" "$dir/shard-$k.db"
            ssh "$login" "rm -f $remote_hosts shard-$run-$k.db shard-$run-$k.db-wal shard-$run-$k.db-shm"
        ) > "$dir/shard-$k.log" 2>&1 &
        pids+=($!)
    done
    failed=0
    for k in $(seq 1 "$N"); do
        wait "${pids[$((k - 1))]}" || { echo "$0: shard $k/$N on ${logins[$((k - 1))]} failed:" >&2; tail -5 "$dir/shard-$k.log" >&2; failed=1; }
    done
    [ "$failed" = 0 ] || exit 3
fi

tlsweep merge "$estate" "$dir"/shard-*.db
echo "$0: $N shards merged into $estate (shard databases kept in $dir)"
# Then, for example:
#   tlsweep report --db "$estate" --format html -o report.html
#   tlsweep diff --db "$estate" --fail-on regression || alert
