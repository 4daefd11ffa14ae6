#!/usr/bin/env bash
# Slurm, for real (issue 17): a single-node cluster on this machine (its own
# slurm.conf, munge key and socket, state and spool in a temporary
# directory, ports from the kernel, 2 CPUs) runs contrib/slurm/submit.sh
# with N=4 against a 4,208-endpoint loopback fleet (bench/fleet: TLS 1.3 and
# 1.2, ECDSA and RSA, wrong names, no SNI; and ports where nothing
# listens).  The same targets scanned whole, unsharded, are the previous
# night in the estate database.  Checked: the array, merge and report jobs
# complete; the merged scan equals the unsharded scan (endpoints, classes,
# issues, versions, grades, leaves, chains, grading rows, certificates);
# the report job's `diff --fail-on regression` against the previous night
# finds no change.  Then a second night with task 3 cancelled mid-scan: the
# merge and report jobs are cancelled by their dependency, the estate is
# untouched, and `tlsweep merge` of that night refuses, naming shard 3, and
# merges it with --allow-missing as partial.  The cluster is stopped by PID.
# Needs slurmctld, slurmd and munge (tests/packages-ci.txt); without them it
# is skipped (exit 77).  Installs nothing.
for cmd in slurmctld slurmd munged mungekey sbatch squeue scontrol scancel sinfo; do
    if ! command -v "$cmd" > /dev/null && ! [ -x "/usr/sbin/$cmd" ]; then
        echo "# $cmd not installed (apt-get install slurmctld slurmd munge): skipped"
        exit 77
    fi
done
PATH=$PATH:/usr/sbin
. "$(dirname "$0")/common.sh"
: "${BUILDDIR:?}" "${SRCDIR:?}"
START=$SECONDS
SUBMIT=$SRCDIR/contrib/slurm/submit.sh
FLEET=$BUILDDIR/bench/fleet
[ -x "$FLEET" ] || fail "bench/fleet is not built ($FLEET)"
[ "$(id -u)" = 0 ] || { echo "# slurmd must run as root here: skipped"; exit 77; }

# --- the cluster: munge, then slurmctld and slurmd in the foreground ---
C=$TMP/cluster
mkdir -p "$C/munge" "$C/state" "$C/spool" "$C/log"
chmod 700 "$C/munge"
export SLURM_CONF=$C/slurm.conf
CLUSTER_PIDS=()
stop_cluster() {
    local pid
    # Jobs still queued or running (a failed run) go first, then the
    # daemons, by the PIDs this script started.
    if [ ${#CLUSTER_PIDS[@]} -gt 0 ]; then
        scancel --quiet --user=root 2>/dev/null || true
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    for pid in "${CLUSTER_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${CLUSTER_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    CLUSTER_PIDS=()
}
trap 'stop_cluster; cleanup' EXIT

t0=$SECONDS
mungekey --create --keyfile="$C/munge/munge.key" --bits=1024 || fail "mungekey failed"
munged --foreground --force --socket="$C/munge/munge.sock" --key-file="$C/munge/munge.key" \
    --pid-file="$C/munge/munged.pid" --log-file="$C/log/munged.log" \
    --seed-file="$C/munge/munged.seed" > "$C/log/munged.out" 2>&1 &
MUNGED=$!
CLUSTER_PIDS+=("$MUNGED")
for _ in $(seq 1 50); do [ -S "$C/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$C/munge/munge.sock" ] || fail "munged did not start: $(cat "$C/log/munged.out")"

host=$(hostname -s)
cat > "$SLURM_CONF" <<EOT
# A throw-away single-node cluster for tests/integration/slurm.sh.
ClusterName=tlsweeptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$C/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
# Test pending jobs every second (default 60): a dependency that can never
# be met is found, and its job cancelled, at once.
SchedulerParameters=sched_interval=1
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MinJobAge=3600
NodeName=twnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=tw Nodes=twnode Default=YES MaxTime=INFINITE State=UP
EOT
slurmctld -D -i -f "$SLURM_CONF" > "$C/log/slurmctld.out" 2>&1 &
CLUSTER_PIDS+=($!)
slurmd -D -N twnode -f "$SLURM_CONF" > "$C/log/slurmd.out" 2>&1 &
CLUSTER_PIDS+=($!)
for _ in $(seq 1 150); do
    [ "$(sinfo -h -N -o '%t' 2>/dev/null)" = idle ] && break
    sleep 0.2
done
[ "$(sinfo -h -N -o '%t' 2>/dev/null)" = idle ] \
    || fail "the node is not idle: $(sinfo 2>&1; tail -5 "$C/log/slurmctld.log" "$C/log/slurmd.log" 2>&1)"
assert_eq "2" "$(sinfo -h -N -o '%c')" "cluster up: one node, 2 CPUs ($((SECONDS - t0)) s to start)"

# --- the fleet and the targets ---
cd "$TMP" || exit 1
port=$(free_port)
closed=$(free_port)
"$FLEET" --port "$port" --threads 2 --ca-out ca.pem > fleet.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'fleet ready' fleet.log && break; sleep 0.1; done
grep -q 'fleet ready' fleet.log || fail "the fleet did not start: $(cat fleet.log)"
cat > targets.txt <<EOT
# nothing listens there: tcp_refused
127.40.0.0/21:$closed
127.41.0.0/22:$closed
# the fleet: TLS 1.3 ECDSA, TLS 1.3 RSA, TLS 1.2 ECDSA, TLS 1.2 RSA
127.20.0.0/24:$port x.fleet.test
127.21.0.0/24:$port x.fleet.test
127.22.0.0/24:$port x.fleet.test
127.23.0.0/24:$port x.fleet.test
# the wrong name, and no SNI at all
127.20.1.0/26:$port wrong.example
127.23.1.0/26:$port -
EOT
EXPECT=$((2046 + 1022 + 4 * 254 + 2 * 62))
[ "$EXPECT" -ge 4000 ] || fail "the fleet is too small: $EXPECT"
# Generous timeouts and few connections at once: on a loaded machine a
# timed-out handshake or grading probe would make the two scans differ.
SCAN_OPTS="--ca-file $TMP/ca.pem -c 200 --connect-timeout 10 --handshake-timeout 10 --probe-timeout 10"

# --- the previous night: the same targets, unsharded, into the estate ---
t0=$SECONDS
# shellcheck disable=SC2086
"$TLSWEEP" scan --no-progress --label nightly -j 2 $SCAN_OPTS --db estate.db targets.txt 2> whole.err \
    || fail "unsharded scan failed: $(tail -3 whole.err)"
DB=estate.db
assert_eq "$EXPECT done" "$(q 'SELECT n_endpoints || " " || status FROM scans WHERE id = 1')" \
    "unsharded scan: $EXPECT endpoints ($((SECONDS - t0)) s)"
[ "$(q "SELECT count(*) FROM results WHERE scan_id = 1 AND grade IS NOT NULL")" -ge 1000 ] \
    || fail "the unsharded scan graded too few endpoints: $(q 'SELECT class, count(*) FROM results GROUP BY class')"

# wait_jobs ID...: until none of them is queued or running (bounded).
wait_jobs() {
    local left
    for _ in $(seq 1 900); do
        left=$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null | wc -l)
        [ "$left" = 0 ] && return 0
        sleep 0.2
    done
    fail "jobs $* still queued after 180 s: $(squeue 2>&1)"
}
# job_state ID: the state (and exit code) Slurm keeps for a finished job.
job_state() {
    scontrol show job "$1" | tr ' ' '\n' | sed -n 's/^JobState=//p; s/^ExitCode=//p' | paste -sd ' '
}

# --- tonight: submit.sh with N=4, exactly as the README says ---
t0=$SECONDS
ids=$(TLSWEEP=$TLSWEEP TLSWEEP_SCAN_OPTS=$SCAN_OPTS "$SUBMIT" 4 targets.txt night2 estate.db) \
    || fail "submit.sh failed: $ids"
eval "$ids" # scan=ID merge=ID report=ID
[ -n "${scan:-}" ] && [ -n "${merge:-}" ] && [ -n "${report:-}" ] || fail "submit.sh printed '$ids'"
wait_jobs "$scan" "$merge" "$report"
for k in 1 2 3 4; do
    assert_eq "COMPLETED 0:0" "$(job_state "${scan}_$k")" "array task $k completed"
done
assert_eq "COMPLETED 0:0" "$(job_state "$merge")" "merge job completed: $(cat night2/merge.out)"
assert_eq "COMPLETED 0:0" "$(job_state "$report")" "report job completed (diff --fail-on regression exit 0)"
pass "array of 4, merge and report ran in $((SECONDS - t0)) s"
for k in 1 2 3 4; do
    assert_eq "$k/4|done|nightly" "$(DB=night2/shard-$k.db q "SELECT shard || '|' || status || '|' || label FROM scans")" \
        "shard $k/4 scanned by task $k"
done
[ -s night2/report.html ] || fail "the report job wrote no report.html"

# --- the merged scan equals the unsharded one ---
assert_eq "2|done|0||$EXPECT" \
    "$(q "SELECT id || '|' || status || '|' || partial || '|' || ifnull(shard, '') || '|' || n_endpoints FROM scans WHERE id = 2")" \
    "merged scan 2: done, not partial, no shard, every endpoint"
assert_eq "$(q 'SELECT targets_sha256 FROM scans WHERE id = 1')" "$(q 'SELECT targets_sha256 FROM scans WHERE id = 2')" \
    "same target fingerprint"
COLS="host, ip, port, ifnull(sni, '-'), class, issues, ifnull(tls_version, ''), ifnull(cipher, ''), ifnull(grade, ''), ifnull(cert_sha256, '')"
assert_eq "0 0" \
    "$(q "SELECT (SELECT count(*) FROM (SELECT $COLS FROM results WHERE scan_id = 1 EXCEPT SELECT $COLS FROM results WHERE scan_id = 2)) || ' ' || (SELECT count(*) FROM (SELECT $COLS FROM results WHERE scan_id = 2 EXCEPT SELECT $COLS FROM results WHERE scan_id = 1))")" \
    "merged and unsharded: same endpoints, classes, issues, versions, ciphers, grades, leaves"
classes() { q "SELECT group_concat(c, ' ') FROM (SELECT class || ':' || count(*) AS c FROM results WHERE scan_id = $1 GROUP BY class ORDER BY class)"; }
assert_eq "$(classes 1)" "$(classes 2)" "class counts agree ($(classes 2))"
for c in tcp_refused ok hostname_mismatch; do
    [ "$(q "SELECT count(*) FROM results WHERE scan_id = 2 AND class = '$c'")" -gt 0 ] || fail "no $c endpoint in the fleet scan"
done
CHAIN="SELECT r.host, r.port, ifnull(r.sni, '-'), c.depth, c.cert_sha256 FROM result_chain c JOIN results r ON r.id = c.result_id"
assert_eq "0 0" \
    "$(q "SELECT (SELECT count(*) FROM ($CHAIN WHERE r.scan_id = 1 EXCEPT $CHAIN WHERE r.scan_id = 2)) || ' ' || (SELECT count(*) FROM ($CHAIN WHERE r.scan_id = 2 EXCEPT $CHAIN WHERE r.scan_id = 1))")" \
    "same certificate chains, endpoint by endpoint"
for t in grades grade_reasons protocols suites groups hsts probe_stats; do
    assert_eq "$(q "SELECT count(*) FROM $t x JOIN results r ON r.id = x.result_id WHERE r.scan_id = 1")" \
        "$(q "SELECT count(*) FROM $t x JOIN results r ON r.id = x.result_id WHERE r.scan_id = 2")" \
        "$t rows agree"
done
GR="SELECT r.host, r.port, ifnull(r.sni, '-'), g.grade, g.score FROM grades g JOIN results r ON r.id = g.result_id"
assert_eq 0 "$(q "SELECT count(*) FROM ($GR WHERE r.scan_id = 1 EXCEPT $GR WHERE r.scan_id = 2)")" "same grades and scores"
assert_eq 0 "$(q 'SELECT count(*) FROM pragma_foreign_key_check')" "no dangling references"
grep -q . night2/diff.txt || fail "the report job's diff printed nothing"
rc=0
"$TLSWEEP" diff --db estate.db 1 2 --fail-on regression --format json -o diff.json 2> diff.err || rc=$?
assert_eq "0 0" "$rc $(jq '.changes | length' diff.json)" "diff of the two nights: no change"

# --- a third night with task 3 killed mid-scan ---
# Its own small list (refused ports only) at 100 connections a second, so
# that each task runs for a few seconds and task 3 can be caught running.
printf '127.40.0.0/21:%s\n' "$closed" > targets3.txt
t0=$SECONDS
ids=$(TLSWEEP=$TLSWEEP TLSWEEP_SCAN_OPTS="$SCAN_OPTS --rate 100" "$SUBMIT" 4 targets3.txt night3 estate.db) \
    || fail "submit.sh failed: $ids"
eval "$ids"
for _ in $(seq 1 600); do
    [ "$(DB=night3/shard-3.db q 'SELECT count(*) FROM results' 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
done
[ "$(job_state "${scan}_3" | cut -d' ' -f1)" = RUNNING ] || fail "task 3 is not running: $(job_state "${scan}_3")"
scancel "${scan}_3"
wait_jobs "$scan" "$merge" "$report"
assert_eq CANCELLED "$(job_state "${scan}_3" | cut -d' ' -f1)" "task 3 cancelled mid-scan"
assert_eq CANCELLED "$(job_state "$merge" | cut -d' ' -f1)" "merge job cancelled: its dependency can never be met"
assert_eq CANCELLED "$(job_state "$report" | cut -d' ' -f1)" "report job cancelled too"
[ ! -e night3/merge.out ] || fail "the merge job ran: $(cat night3/merge.out)"
assert_eq 2 "$(q 'SELECT count(*) FROM scans')" "the estate is untouched: still 2 scans"
st3=$(DB=night3/shard-3.db q 'SELECT status FROM scans')
[ "$st3" != "done" ] || fail "the killed shard's scan is 'done'"
rc=0
"$TLSWEEP" merge night3.db night3/shard-*.db 2> m3.err || rc=$?
assert_eq 2 "$rc" "merging the killed night: exit 2"
grep -q "incomplete shard set: shard 3/4 in night3/shard-3.db is '$st3', not done" m3.err \
    || fail "the refusal does not name shard 3: $(cat m3.err)"
pass "says: $(cat m3.err)"
"$TLSWEEP" merge --allow-missing night3.db night3/shard-*.db 2> m3.err || fail "--allow-missing failed: $(cat m3.err)"
assert_eq "done 1" "$(DB=night3.db q "SELECT status || ' ' || partial FROM scans")" \
    "--allow-missing: merged as done, partial ($((SECONDS - t0)) s for the third night)"

stop_cluster
pass "cluster stopped; slurm test took $((SECONDS - START)) s"
