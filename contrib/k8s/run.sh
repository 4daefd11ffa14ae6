#!/bin/sh
# run.sh - one night's sharded sweep on Kubernetes: N scan pods (an Indexed
# Job), then the merge Job.  Usage: ./run.sh [N] (default 4).
# Needs kubectl pointed at the namespace that holds pvc.yaml and
# targets-configmap.yaml (apply those once).  Schedule it from cron or a
# CronJob running kubectl; exit 0 = no regression, non-zero = look at the
# merge Job's log.
set -eu
N=${1:-4}
case $N in '' | *[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "usage: $0 [N]" >&2; exit 2; }
RUN=$(date -u +%Y%m%dt%H%M)      # lower case: it is part of the Job names
here=$(dirname "$0")

render() { # FILE: set the marked lines for this run
    sed -E -e "/# @RUN@/ s/manual/$RUN/" -e "/# @N@/ s/[0-9]+/$N/" "$1"
}
render "$here/scan-job.yaml" | kubectl create -f -
kubectl wait --for=condition=complete --timeout=6h "job/tlsweep-scan-$RUN"
render "$here/merge-job.yaml" | kubectl create -f -
# Complete (no regression) or Failed (a regression, or an error).
kubectl wait --for=condition=complete --timeout=2h "job/tlsweep-merge-$RUN" || {
    kubectl logs "job/tlsweep-merge-$RUN" >&2 || true
    exit 1
}
echo "tlsweep: run $RUN merged into estate.db on the tlsweep-data volume"
