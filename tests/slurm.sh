#!/bin/bash
# tests/slurm.sh - `make test-slurm`: a sharded study through a real single-node Slurm on localhost
# (tools/slurm/local-cluster.sh), checked byte for byte against the one-process run, including a shard cancelled mid-run and resubmitted.
#
# Usage: bash tests/slurm.sh [BINARY]   (default ./ablate; run from the repository root, as root)
# The study: the tiny fixture model on a generated task (about a minute, so CI stays short), or
# with ABLATE_SLURM_MODEL=real the real model with a few items per task (`make model` first;
# tens of minutes on 2 cores). Prints PASS/FAIL/SKIP lines, then
# "N passed, N failed, N skipped". Where slurm-wlm/munge cannot be installed or slurmctld cannot
# start (a container without the privileges, ...), it prints why and counts one skip, exit 0.
# ABLATE_SLURM_KEEP=1 keeps the scratch directory (daemon logs, run directories) for a look.
set -u
BIN=${1:-./ablate}
here=$(cd "$(dirname "$0")/.." && pwd)
cluster=$here/tools/slurm/local-cluster.sh
submit=$here/tools/slurm/submit.sh
WAIT_S=${ABLATE_SLURM_WAIT_S:-1800} # a hang guard per job, not a speed requirement

pass=0 fail=0 skip=0
ok() { echo "PASS slurm_$1"; pass=$((pass + 1)); }
bad() { echo "FAIL slurm_$1: $2"; fail=$((fail + 1)); }
finish() {
  echo "$pass passed, $fail failed, $skip skipped"
  [ "$fail" -eq 0 ]
  exit
}

[ -x "$BIN" ] || { echo "test-slurm: $BIN is not built (hint: make ablate)"; bad build "no binary"; finish; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# ---- submit.sh without Slurm: the sbatch commands it would run, and what it refuses ------------
dry() { "$submit" --ablate "$BIN" --dry-run "$@" 2>&1; }
out=$(dry --shards 8 --cpus 16 -- --tasks piqa --prune 3 --out runs/x)
if [ "$(echo "$out" | grep -c '^sbatch')" = 3 ] && echo "$out" | grep -q -- '--array=0-7 .*--cpus-per-task=16 .* shard 8 ' &&
  echo "$out" | grep -q -- '--dependency=afterok:ROUND2 .* report '; then
  ok submit_dry_run_two_rounds
else
  bad submit_dry_run_two_rounds "$out"
fi
out=$(dry --shards 2 --gpus --only 1 -- --prune 0)
if [ "$(echo "$out" | grep -c '^sbatch')" = 2 ] && echo "$out" | grep -q -- '--array=1 .*--gres=gpu:1 .*--prune 0 --device cuda' &&
  ! echo "$out" | grep -q round2; then
  ok submit_dry_run_gpus_one_round
else
  bad submit_dry_run_gpus_one_round "$out"
fi
out=$(dry --shards 4 -- --tasks piqa)
if [ "$(echo "$out" | grep -c '^sbatch')" = 2 ] && ! echo "$out" | grep -q ROUND2; then
  ok submit_dry_run_default_one_round
else
  bad submit_dry_run_default_one_round "$out"
fi
refused=0
for args in "--shards 0 --" "--only 2 --shards 2 --" "--rounds 3 --" "-- --threads 4" "-- --shard 0/2" "--bogus --"; do
  # shellcheck disable=SC2086 # word splitting of the case is intended
  if msg=$(dry $args); then echo "submit.sh $args: accepted"; elif [ "$(echo "$msg" | wc -l)" = 1 ]; then
    refused=$((refused + 1)); else echo "submit.sh $args: $msg"; fi
done
if [ "$refused" = 6 ]; then ok submit_refuses_bad_options; else bad submit_refuses_bad_options "$refused of 6 refused with one line"; fi

if ! "$cluster" install; then
  echo "SKIP slurm: slurm-wlm and munge are not installed and could not be installed"
  skip=1
  finish
fi

tmp=$(mktemp -d /tmp/ablate-slurm-XXXXXX) && chmod 755 "$tmp" || exit 1
cleanup() {
  "$cluster" stop "$tmp/cluster" >/dev/null 2>&1
  if [ "${ABLATE_SLURM_KEEP:-0}" = 1 ]; then echo "test-slurm: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Daemon logs and job outputs for a failure message.
show_logs() {
  local f
  for f in "$tmp"/cluster/slurmctld.log "$tmp"/cluster/slurmd.log "$tmp"/logs*/*.out; do
    [ -s "$f" ] || continue
    echo "---- tail of $f"
    tail -n 12 "$f"
  done
}

if ! "$cluster" start "$tmp/cluster" 2 >"$tmp/cluster-start.log" 2>&1; then
  cat "$tmp/cluster-start.log"
  echo "SKIP slurm: slurmctld/slurmd cannot start here (see the log tails above)"
  skip=1
  finish
fi
export SLURM_CONF=$tmp/cluster/slurm.conf

# ---- the study -------------------------------------------------------------------------------
model=${ABLATE_SLURM_MODEL:-}
[ -n "$model" ] || model=tiny
case "$model" in
  real)
    # 8 items of piqa and arc_easy in 64-token work units (about 10), one pruning step.
    opts=(--tasks piqa,arc_easy --limit 8 --batch-tokens 64 --prune 1 --quiet) ;;
  tiny)
    # A generated three-choice task, 32-token units: enough units that a shard runs for a while.
    opts=(--model tests/fixtures/tiny --tasks "jsonl:$tmp/task.jsonl" --limit 0 --batch-tokens 32 --prune 1
      --seed 7 --quiet)
    w=(the cat sat on a mat red sun moon tree blue dog)
    s=12345
    for i in $(seq 0 299); do
      x=()
      for _ in 0 1 2 3 4 5 6 7; do s=$(((s * 1103515245 + 12345) % 4294967296)); x+=("${w[$(((s >> 16) % 12))]}"); done
      printf '{"context": "%s %s %s %s %s", "choices": ["%s", "%s %s", "%s"], "label": %d}\n' \
        "${x[0]}" "${x[1]}" "${x[2]}" "${x[3]}" "${x[4]}" "${x[5]}" "${x[6]}" "${x[7]}" "${x[2]}" $((i % 3))
    done >"$tmp/task.jsonl" ;;
  *) echo "test-slurm: ABLATE_SLURM_MODEL must be tiny or real, got '$model'"; bad setup "bad model"; finish ;;
esac
echo "test-slurm: $model model, ablate run ${opts[*]}"

# The one-process reference: the very command the report job runs (the reports record it, --out
# included), so every study below runs in $tmp/study and is moved aside afterwards.
run=$tmp/study
t0=$SECONDS
if ! "$BIN" run "${opts[@]}" --out "$run" >"$tmp/ref.log" 2>&1; then
  tail -n 5 "$tmp/ref.log"
  bad reference "the one-process run failed"
  finish
fi
mv "$run" "$tmp/ref"
echo "test-slurm: one-process run $((SECONDS - t0)) s"

# Result files: everything but the journals (one file vs one per shard) and timing.json (seconds).
results() {
  local f
  for f in "$1"/*; do
    f=${f##*/}
    case "$f" in journal* | timing.json | '*') ;; *) echo "$f" ;; esac
  done
}
# same_results DIR: every result file of the reference exists in DIR with the same bytes.
same_results() {
  local f n=0 diffs=""
  [ -n "$(results "$tmp/ref")" ] || { echo "no result files in the reference"; return 1; }
  [ "$(results "$tmp/ref")" = "$(results "$1")" ] ||
    { echo "file sets differ: $(results "$1" | tr '\n' ' ') vs $(results "$tmp/ref" | tr '\n' ' ')"; return 1; }
  for f in $(results "$tmp/ref"); do
    cmp -s "$tmp/ref/$f" "$1/$f" || diffs="$diffs $f"
    n=$((n + 1))
  done
  [ -z "$diffs" ] || { echo "differ:$diffs"; return 1; }
  echo "$n files identical"
}

# job_state ID: the Slurm state of a job or array task (COMPLETED, CANCELLED, RUNNING, ...).
job_state() { scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }
# wait_gone ID: wait until the job (every task of an array) has left the queue.
wait_gone() {
  local t0=$SECONDS
  while [ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; do
    [ $((SECONDS - t0)) -lt "$WAIT_S" ] || { echo "job $1 still queued after $WAIT_S s"; return 1; }
    sleep 1
  done
}
# submit_study LOGS [submit.sh options]: the study into $run; sets aid (first round), bid (second
# round, or empty) and rid (report job); false when submit.sh failed.
submit_study() {
  local logs=$1 out
  shift
  aid="" bid="" rid=""
  out=$("$submit" --ablate "$BIN" --cpus 1 --logs "$logs" "$@" -- "${opts[@]}" --out "$run" 2>>"$tmp/submit.log")
  aid=$(echo "$out" | sed -n 's/^array //p')
  bid=$(echo "$out" | sed -n 's/^round2 //p')
  rid=$(echo "$out" | sed -n 's/^report //p')
  [ -n "$aid" ] && [ -n "$rid" ] || { cat "$tmp/submit.log"; return 1; }
}
wait_all() { wait_gone "$aid" && { [ -z "$bid" ] || wait_gone "$bid"; } && wait_gone "$rid"; }
# shard_units I N: work units journaled so far by shard I of N in $run (the file's first line is
# its header).
shard_units() {
  local f=$run/journal.shard-$1-of-$2.tsv
  if [ -f "$f" ]; then echo $(($(wc -l <"$f") - 1)); else echo 0; fi
}

# ---- 1. four shards, then the report job -------------------------------------------------------
t0=$SECONDS
submit_study "$tmp/logs4" --shards 4 || { bad array4_submitted "submit.sh failed"; finish; }
wait_all
st=$(job_state "$rid")
if [ "$st" = COMPLETED ]; then
  ok "array4_report_job_completed (jobs $aid${bid:+ $bid} $rid)"
else
  show_logs
  bad array4_report_job_completed "report job $rid ended $st"
fi
if msg=$(same_results "$run"); then ok "array4_equals_one_process ($msg, $((SECONDS - t0)) s)"; else bad array4_equals_one_process "$msg"; fi
mv "$run" "$tmp/run4"

# ---- 2. a shard cancelled mid-run, then resubmitted alone ---------------------------------------
t0=$SECONDS
submit_study "$tmp/logs2" --shards 2 || { bad cancel_submitted "submit.sh failed"; finish; }
# Cancel shard 0 while it runs, once it has journaled at least one unit.
caught=0
while [ $((SECONDS - t0)) -lt "$WAIT_S" ]; do
  st=$(job_state "${aid}_0")
  case "$st" in
    PENDING | RUNNING | CONFIGURING) ;;
    *) break ;;
  esac
  if [ "$st" = RUNNING ] && [ "$(shard_units 0 2)" -ge 1 ]; then
    scancel "${aid}_0"
    caught=1
    break
  fi
  sleep 0.2
done
wait_all
st0=$(job_state "${aid}_0") st1=$(job_state "${aid}_1") str=$(job_state "$rid")
done0=$(shard_units 0 2)
if [ "$caught" = 1 ] && [ "$st0" = CANCELLED ] && [ "$st1" = COMPLETED ] && [ "$str" != COMPLETED ]; then
  ok "cancel_mid_run (shard 0 cancelled after $done0 units; report job $str)"
else
  show_logs
  bad cancel_mid_run "caught=$caught shard0=$st0 shard1=$st1 report=$str (did shard 0 finish before it could be cancelled?)"
fi
# The report command refuses to write reports with shard 0 unfinished, and names it.
if "$BIN" run "${opts[@]}" --out "$run" --no-compute >"$tmp/nocompute.log" 2>&1; then
  bad cancel_no_compute_refuses "exited 0 with shard 0 cancelled"
elif grep -q 'shards 0/2' "$tmp/nocompute.log"; then
  ok "cancel_no_compute_refuses ($(grep 'shards 0/2' "$tmp/nocompute.log" | head -n 1))"
else
  bad cancel_no_compute_refuses "the message does not name shard 0/2: $(tail -n 2 "$tmp/nocompute.log")"
fi
# Resubmitted alone, shard 0 resumes: its journal keeps every record written before the cancel.
j0=$run/journal.shard-0-of-2.tsv
head -n $((done0 + 1)) "$j0" >"$tmp/journal0.before" 2>/dev/null
submit_study "$tmp/logs2b" --shards 2 --only 0 || { bad resubmit "submit.sh --only 0 failed"; finish; }
wait_all
st=$(job_state "$rid")
said=$(grep -h '^shard 0/2' "$tmp"/logs2b/ablate-shard-*_0.out 2>/dev/null | head -n 1)
if [ "$st" = COMPLETED ] && [ "$done0" -ge 1 ] &&
  head -n $((done0 + 1)) "$j0" | cmp -s - "$tmp/journal0.before"; then
  ok "resubmitted_shard_resumed ($said)"
else
  show_logs
  bad resubmitted_shard_resumed "report job $rid ended $st; shard 0 said: $said"
fi
if msg=$(same_results "$run"); then ok "resubmitted_equals_one_process ($msg, $((SECONDS - t0)) s)"; else bad resubmitted_equals_one_process "$msg"; fi

finish
