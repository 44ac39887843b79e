#!/bin/bash
# tools/slurm/submit.sh - submit a sharded `ablate run` to Slurm: a job array with one shard per task
# (CPUs and threads matched, or one GPU each), then a report job that runs once the whole array succeeded.
set -u

usage() {
  cat <<'EOF'
usage: tools/slurm/submit.sh [options] -- RUN-OPTIONS...

Submits `ablate run RUN-OPTIONS --shard I/N` as a Slurm job array (task I = shard I); when the
study prunes (--prune K > 0; the default is 0) a second round of the same array, which runs each
shard's pruning units once every shard's sweep is done; then a report job that runs
`ablate run RUN-OPTIONS --no-compute`: it writes the reports, byte for byte those of the
one-process run `ablate run RUN-OPTIONS`, or names the shards still missing and fails. Each job
waits for the one before with --dependency=afterok (and is cancelled if that one failed). The
run directory (--out in RUN-OPTIONS, or the default runs/<model>-<hash>) must be on a file
system every node shares. Prints the job ids: "array JOBID", "round2 JOBID", "report JOBID".

options:
  --shards N         number of shards = array tasks (default: 4)
  --cpus C           CPUs per shard: --cpus-per-task=C and --threads C (default: 4, 2 with --gpus)
  --gpus             one GPU per shard: --gres=gpu:1 and --device cuda (the report job gets one too)
  --only LIST        the first round runs only these shards, e.g. 3 or 1,5-7 (rerun shards that
                     died; they resume from their journals); the second round and the report
                     job follow as usual
  --rounds R         1 or 2 array rounds (default: 2 with --prune K > 0 in RUN-OPTIONS, else 1)
  --max-running M    at most M array tasks at once (--array=...%M)
  --partition P      Slurm partition of every job
  --time T           time limit of each shard (Slurm syntax, e.g. 2:00:00); size it from
                     `ablate run RUN-OPTIONS --estimate --shards N`
  --logs DIR         job output files go to DIR (default: slurm-logs); created if missing
  --ablate PATH      the ablate binary (default: ./ablate); made absolute
  --sbatch-arg ARG   one more argument for every sbatch command (repeatable), e.g. --mem=8G
  --dry-run          print the sbatch commands, submit nothing
  -h, --help         this text

example (the full study on 32 nodes of 16 cores):
  tools/slurm/submit.sh --shards 32 --cpus 16 --time 4:00:00 -- --tasks all --limit 0 --out runs/full
EOF
}

die() { echo "submit.sh: $*" >&2; exit 2; }

shards=4 cpus="" gpus=0 only="" rounds="" maxrun="" partition="" tlimit="" logs=slurm-logs ablate=./ablate dry=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shards) [ $# -ge 2 ] || die "--shards needs a value"; shards=$2; shift 2 ;;
    --cpus) [ $# -ge 2 ] || die "--cpus needs a value"; cpus=$2; shift 2 ;;
    --gpus) gpus=1; shift ;;
    --only) [ $# -ge 2 ] || die "--only needs a value"; only=$2; shift 2 ;;
    --rounds) [ $# -ge 2 ] || die "--rounds needs a value"; rounds=$2; shift 2 ;;
    --max-running) [ $# -ge 2 ] || die "--max-running needs a value"; maxrun=$2; shift 2 ;;
    --partition) [ $# -ge 2 ] || die "--partition needs a value"; partition=$2; shift 2 ;;
    --time) [ $# -ge 2 ] || die "--time needs a value"; tlimit=$2; shift 2 ;;
    --logs) [ $# -ge 2 ] || die "--logs needs a value"; logs=$2; shift 2 ;;
    --ablate) [ $# -ge 2 ] || die "--ablate needs a value"; ablate=$2; shift 2 ;;
    --sbatch-arg) [ $# -ge 2 ] || die "--sbatch-arg needs a value"; extra+=("$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (ablate run options go after --; see --help)" ;;
  esac
done
run_opts=("$@")

posint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
posint "$shards" || die "--shards must be a positive integer, got '$shards'"
[ -n "$cpus" ] || { [ "$gpus" -eq 1 ] && cpus=2 || cpus=4; }
posint "$cpus" || die "--cpus must be a positive integer, got '$cpus'"
[ -z "$maxrun" ] || posint "$maxrun" || die "--max-running must be a positive integer, got '$maxrun'"
if [ -n "$only" ]; then
  [[ "$only" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] ||
    die "--only takes shard numbers like 3 or 1,5-7, got '$only'"
  for r in ${only//,/ }; do
    for s in ${r//-/ }; do
      [ "$s" -lt "$shards" ] || die "--only: shard $s does not exist (shards 0..$((shards - 1)))"
    done
  done
fi
# The options this script sets per job must not come twice; only --prune K > 0 (the run's
# default is 0) needs a second round.
prev="" prune_on=0
for o in "${run_opts[@]}"; do
  { [ "$prev" = --prune ] && [[ "$o" =~ ^0*[1-9][0-9]*$ ]]; } || [[ "$o" =~ ^--prune=0*[1-9][0-9]*$ ]] && prune_on=1
  prev=$o
  case "$o" in
    --shard | --shard=* | --shards | --shards=* | --threads | --threads=* | --no-compute | --estimate)
      die "'$o' is set by submit.sh itself; leave it out of RUN-OPTIONS" ;;
    --device | --device=*)
      die "'$o': submit.sh sets the device (--gpus for --device cuda)" ;;
  esac
done

[ -n "$rounds" ] || rounds=$((prune_on ? 2 : 1))
[[ "$rounds" =~ ^[12]$ ]] || die "--rounds must be 1 or 2, got '$rounds'"

here=$(cd "$(dirname "$0")" && pwd)
script=$here/ablate-study.sbatch
[ -f "$script" ] || die "missing $script"
[ -x "$ablate" ] || die "ablate binary not found or not executable: $ablate (hint: make, or --ablate PATH)"
ablate=$(cd "$(dirname "$ablate")" && pwd)/$(basename "$ablate")
case "$logs" in /*) ;; *) logs=$PWD/$logs ;; esac
command -v sbatch >/dev/null 2>&1 || [ "$dry" -eq 1 ] || die "sbatch not found: is this a Slurm login node?"

common=(--chdir="$PWD" --ntasks=1 --cpus-per-task="$cpus")
[ -z "$partition" ] || common+=(--partition="$partition")
[ "$gpus" -eq 0 ] || { common+=(--gres=gpu:1); run_opts+=(--device cuda); }
common+=("${extra[@]}")

all="0-$((shards - 1))" first="0-$((shards - 1))"
[ -z "$only" ] || first=$only
lim=""
[ -z "$maxrun" ] || lim="%$maxrun"
# shard_cmd NAME ARRAY: the sbatch command of one round, in cmd.
shard_cmd() {
  cmd=(sbatch --parsable --job-name="$1" --array="$2$lim" "${common[@]}" --output="$logs/$1-%A_%a.out")
  [ -z "$tlimit" ] || cmd+=(--time="$tlimit")
}
report_cmd=(sbatch --parsable --job-name=ablate-report "${common[@]}" --output="$logs/ablate-report-%j.out")
after=(--kill-on-invalid-dep=yes --dependency=afterok:)
shard_tail=("$script" shard "$shards" "$ablate" "${run_opts[@]}")
report_tail=("$script" report "$ablate" "${run_opts[@]}")

if [ "$dry" -eq 1 ]; then
  shard_cmd ablate-shard "$first"
  printf '%q ' "${cmd[@]}" "${shard_tail[@]}"; echo
  if [ "$rounds" -eq 2 ]; then
    shard_cmd ablate-round2 "$all"
    printf '%q ' "${cmd[@]}" "${after[0]}" "${after[1]}ROUND1" "${shard_tail[@]}"; echo
  fi
  printf '%q ' "${report_cmd[@]}" "${after[0]}" "${after[1]}ROUND$rounds" "${report_tail[@]}"; echo
  exit 0
fi

mkdir -p "$logs" || die "cannot create the log folder $logs"
shard_cmd ablate-shard "$first"
aid=$("${cmd[@]}" "${shard_tail[@]}") || die "sbatch refused the array job"
aid=${aid%%;*}
echo "array $aid"
last=$aid bid=""
if [ "$rounds" -eq 2 ]; then
  shard_cmd ablate-round2 "$all"
  bid=$("${cmd[@]}" "${after[0]}" "${after[1]}$aid" "${shard_tail[@]}") ||
    die "sbatch refused the second round (array $aid is queued; scancel $aid cancels it)"
  bid=${bid%%;*}
  echo "round2 $bid"
  last=$bid
fi
rid=$("${report_cmd[@]}" "${after[0]}" "${after[1]}$last" "${report_tail[@]}") ||
  die "sbatch refused the report job (scancel $aid${bid:+ $bid} cancels what is queued)"
rid=${rid%%;*}
echo "report $rid"
echo "submit.sh: shards $first of $shards as array job $aid${bid:+, all shards again (pruning units) as $bid}," \
  "report job $rid; logs in $logs" >&2
