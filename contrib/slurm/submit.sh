#!/bin/sh
# submit.sh N TARGETS RUN_DIR ESTATE_DB [SBATCH OPTIONS...]
#
# One night of the sweep on a Slurm cluster, as three jobs:
#   1. an array of N tasks, task K scanning shard K/N into RUN_DIR/shard-K.db;
#   2. the merge into ESTATE_DB, --dependency=afterok on the whole array
#      (--kill-on-invalid-dep=yes: cancelled when a task fails);
#   3. the report and `diff --fail-on regression` against the previous night,
#      --dependency=afterok on the merge.
# RUN_DIR and ESTATE_DB must be on storage every node sees; use a fresh
# RUN_DIR each night.  The SBATCH OPTIONS (e.g. --partition=batch) go to all
# three jobs.  TLSWEEP, TLSWEEP_LABEL, TLSWEEP_SCAN_OPTS and TLSWEEP_KEEP are
# passed on (see the .sbatch files).  Prints "scan=ID merge=ID report=ID".
set -eu
if [ $# -lt 4 ]; then
    sed -n '2,16p' "$0" >&2
    exit 2
fi
n=$1 targets=$2 run=$3 estate=$4
shift 4
case $n in '' | *[!0-9]*) echo "submit.sh: N must be a number" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "submit.sh: N must be at least 1" >&2; exit 2; }
[ -r "$targets" ] || { echo "submit.sh: cannot read $targets" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$run"
TLSWEEP_TARGETS=$(realpath "$targets")
TLSWEEP_RUN=$(realpath "$run")
TLSWEEP_ESTATE=$(realpath "$estate")
export TLSWEEP_TARGETS TLSWEEP_RUN TLSWEEP_ESTATE

# --parsable prints "id" or "id;cluster".
jobid() { sed 's/;.*//'; }
scan=$(sbatch --parsable --array="1-$n" --chdir="$TLSWEEP_RUN" \
    --output="$TLSWEEP_RUN/scan-%a.out" "$@" "$here/tlsweep-scan.sbatch" | jobid)
merge=$(sbatch --parsable --dependency="afterok:$scan" --kill-on-invalid-dep=yes \
    --chdir="$TLSWEEP_RUN" --output="$TLSWEEP_RUN/merge.out" "$@" "$here/tlsweep-merge.sbatch" | jobid)
report=$(sbatch --parsable --dependency="afterok:$merge" --kill-on-invalid-dep=yes \
    --chdir="$TLSWEEP_RUN" --output="$TLSWEEP_RUN/report.out" "$@" "$here/tlsweep-report.sbatch" | jobid)
echo "scan=$scan merge=$merge report=$report"
