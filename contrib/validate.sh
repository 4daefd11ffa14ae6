#!/usr/bin/env bash
# validate.sh - check the contrib recipes on this machine, offline:
#  1. every YAML file parses (python3 yaml, else yq), and the Jobs name the
#     image contrib/container/build.sh makes (a schema check needs an API
#     server: `kubectl --dry-run=client` fetches the schema from one, and
#     Debian 12 packages no offline validator);
#  2. the systemd units pass `systemd-analyze verify` (binary path pointed
#     at TLSWEEP) when systemd-analyze exists;
#  3. the Kubernetes pod scripts run as written: the scan Job's script for
#     every index (JOB_COMPLETION_INDEX, SHARDS, RUN_ID as Kubernetes and
#     run.sh set them) and the merge Job's script, with /out and /targets
#     mapped to a temporary directory and a loopback target list;
#  4. parallel/sweep.sh runs end to end with ssh/scp replaced by local shims
#     (two "workers" that are directories here).
# Usage: TLSWEEP=build/tlsweep contrib/validate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TLSWEEP=$(realpath "${TLSWEEP:?set TLSWEEP to the built tlsweep}")
tmp=$(mktemp -d /tmp/tlsweep-contrib.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$tmp/bin"
ln -s "$TLSWEEP" "$tmp/bin/tlsweep"
export PATH="$tmp/bin:$PATH"

# 1. YAML
for f in "$here"/k8s/*.yaml; do
    if python3 -c 'import yaml' 2>/dev/null; then
        python3 -c 'import sys, yaml; docs = list(yaml.safe_load_all(open(sys.argv[1]))); assert all(d and "kind" in d for d in docs)' "$f" \
            || die "$f does not parse"
    else
        yq . "$f" >/dev/null || die "$f does not parse"
    fi
    ok "YAML parses: k8s/$(basename "$f")"
done

# The Jobs use the image contrib/container/build.sh makes: localhost/tlsweep:VERSION.
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$here/../meson.build" | head -1)
for f in "$here"/k8s/scan-job.yaml "$here"/k8s/merge-job.yaml; do
    img=$(sed -n 's/^ *image: *//p' "$f")
    [ "$img" = "localhost/tlsweep:$version" ] || die "$f: image '$img', not build.sh's localhost/tlsweep:$version"
done
ok "k8s Jobs use the image build.sh makes (localhost/tlsweep:$version)"

# 2. systemd
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$tmp/units"
    for f in "$here"/systemd/*; do
        sed "s#/usr/local/bin/tlsweep#$TLSWEEP#g" "$f" > "$tmp/units/$(basename "$f")"
    done
    out=$(cd "$tmp/units" && systemd-analyze verify --man=no ./tlsweep-scan.service \
        ./tlsweep-scan.timer ./tlsweep-alert@.service 2>&1) || die "systemd-analyze verify: $out"
    [ -z "$out" ] || die "systemd-analyze verify warns: $out"
    ok "systemd-analyze verify: tlsweep-scan.service, tlsweep-scan.timer, tlsweep-alert@.service"
else
    echo "# skip: no systemd-analyze"
fi

# A loopback target list: a /24 where nothing listens (tcp_refused).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '127.61.0.0/24:%s\n127.61.1.1:%s\n' "$port" "$port" > "$tmp/hosts.txt"
EXPECT=255

# 3. the Kubernetes pod scripts
script_of() { # FILE -> the container's shell script, paths mapped into $tmp/k8s
    python3 -c 'import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
print(job["spec"]["template"]["spec"]["containers"][0]["args"][0])' "$1" \
        | sed -e "s#/out#$tmp/k8s/out#g" -e "s#/targets/#$tmp/k8s/targets/#g" \
              -e "s#cd /out#cd $tmp/k8s/out#"
}
mkdir -p "$tmp/k8s/out" "$tmp/k8s/targets"
cp "$tmp/hosts.txt" "$tmp/k8s/targets/hosts.txt"
script_of "$here/k8s/scan-job.yaml" > "$tmp/k8s/scan.sh"
script_of "$here/k8s/merge-job.yaml" > "$tmp/k8s/merge.sh"
N=3
for i in $(seq 0 $((N - 1))); do
    JOB_COMPLETION_INDEX=$i SHARDS=$N RUN_ID=night1 sh "$tmp/k8s/scan.sh" \
        2> "$tmp/k8s/scan-$i.err" &
done
wait
for i in $(seq 0 $((N - 1))); do
    [ "$(sqlite3 "$tmp/k8s/out/night1/shard-$i.db" 'SELECT shard FROM scans')" = "$((i + 1))/$N" ] \
        || die "pod $i did not scan shard $((i + 1))/$N: $(cat "$tmp/k8s/scan-$i.err")"
done
ok "k8s scan pods 0..$((N - 1)) wrote shards 1/$N..$N/$N"
# First night: no earlier scan to diff against, so diff exits 2 (usage):
# check merge, report and prune, then run a second night for the gate.
RUN_ID=night1 sh "$tmp/k8s/merge.sh" > "$tmp/k8s/merge1.out" 2>&1 || true
got=$(sqlite3 "$tmp/k8s/out/estate.db" "SELECT status || ' ' || n_endpoints FROM scans")
[ "$got" = "done $EXPECT" ] || die "merge job: estate.db holds '$got': $(cat "$tmp/k8s/merge1.out")"
[ -s "$tmp/k8s/out/report-night1.html" ] || die "merge job wrote no report"
[ ! -e "$tmp/k8s/out/night1" ] || die "merge job left the shard directory"
for i in $(seq 0 $((N - 1))); do
    JOB_COMPLETION_INDEX=$i SHARDS=$N RUN_ID=night2 sh "$tmp/k8s/scan.sh" 2>/dev/null &
done
wait
sleep 1 # a later started_at than night 1
RUN_ID=night2 sh "$tmp/k8s/merge.sh" > "$tmp/k8s/merge2.out" 2>&1 \
    || die "merge job, second night: $(cat "$tmp/k8s/merge2.out")"
[ "$(sqlite3 "$tmp/k8s/out/estate.db" "SELECT count(*) FROM scans WHERE status = 'done'")" = 2 ] \
    || die "two nights expected in estate.db"
grep -q 'Regressions: 0' "$tmp/k8s/out/diff-night2.txt" || die "diff-night2.txt: $(head -5 "$tmp/k8s/out/diff-night2.txt")"
ok "k8s merge job: merged, reported, pruned, diffed (no regression on night 2)"

# 4. parallel/sweep.sh with ssh/scp shims: login "wK" is the directory $tmp/ssh/wK.
mkdir -p "$tmp/ssh/w1" "$tmp/ssh/w2"
cat > "$tmp/bin/ssh" <<SHIM
#!/bin/sh
login=\$1; shift
cd "$tmp/ssh/\$login" && exec sh -c "\$*"
SHIM
cat > "$tmp/bin/scp" <<SHIM
#!/bin/sh
[ "\$1" = -q ] && shift
map() { case \$1 in *:*) echo "$tmp/ssh/\${1%%:*}/\${1#*:}" ;; *) echo "\$1" ;; esac; }
exec cp "\$(map "\$1")" "\$(map "\$2")"
SHIM
chmod +x "$tmp/bin/ssh" "$tmp/bin/scp"
printf '# two workers\nw1\nw2\n' > "$tmp/workers.txt"
(cd "$tmp" && PATH="$tmp/bin:$(echo "$PATH" | tr ':' '\n' | grep -v "^$tmp/bin$" | while read -r d; do [ -x "$d/parallel" ] || printf '%s:' "$d"; done)" \
    "$here/parallel/sweep.sh" workers.txt hosts.txt estate.db > sweep.out 2>&1) \
    || die "sweep.sh: $(cat "$tmp/sweep.out")"
got=$(sqlite3 "$tmp/estate.db" "SELECT status || ' ' || n_endpoints FROM scans")
[ "$got" = "done $EXPECT" ] || die "sweep.sh: estate.db holds '$got'"
[ -z "$(find "$tmp/ssh" -type f)" ] || die "sweep.sh left files on the workers: $(find "$tmp/ssh" -type f)"
ok "parallel/sweep.sh (ssh/scp path): 2 workers, merged done scan of $EXPECT endpoints, workers cleaned"
