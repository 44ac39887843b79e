#!/usr/bin/env bash
# tools/gpu_check.sh - `make gpu-check`: on a machine with an NVIDIA GPU, in a few minutes, builds
# the CUDA backend, runs its tests, compares CPU and CUDA log-likelihoods, times SGEMM against
# cuBLAS and a full PIQA study, estimates the full study, and ends with one summary table.
#
# Inputs (nothing is fetched): the model's tokenizer.json and the benchmark data, in .gpucarry/
# (filled by `make gpu-carry` from models/ and data/tasks/; git-ignored). Without --model the
# script writes a seeded random model of SmolLM2-135M's shape there (tools/mkmodel.c), so the real
# weights need not travel. On the project's device tool: run `make gpu-carry` here, then
#   command: make gpu-check      carry: [".gpucarry"]
# and the table comes back as $OUT/gpu_check.txt (logs in $OUT/gpu_check/).
#
# --device cpu rehearses every step that needs no GPU (the cuBLAS and CUDA-test steps report
# "skipped"), so the script is tested on any machine (tests/test_gpu_check.c).
set -u
cd "$(dirname "$0")/.." || exit 1

usage() {
  cat <<'EOF'
usage: tools/gpu_check.sh [options]      (make gpu-check ARGS="...")
  --model DIR        real weights to use (default: a seeded model of SmolLM2-135M's shape)
  --carry DIR        tokenizer.json and tasks/ (default .gpucarry, made by `make gpu-carry`)
  --items N          PIQA items for the CPU/CUDA log-likelihood comparison (default 300)
  --study-limit N    items of the timed PIQA study, 0 = all (default 0)
  --device D         cuda (default) | cpu: rehearse the GPU-free steps on the CPU
  --tiny             a 2-block seeded model (for rehearsals; the real shape otherwise)
  --estimate-tasks L tasks of the full-study estimate (default all)
  --no-build         use the binaries already built
  --work DIR         scratch folder, emptied first (default build-cuda/gpucheck or build/gpucheck)
  --jobs N           make -j (default: all cores)
  --sgemm-summary F  print the SGEMM rows from a saved gpu_sgemm_bench output F, and exit
Prints one summary table; writes it to $OUT/gpu_check.txt when OUT is set.
EOF
}

die() { echo "gpu-check: $1" >&2; exit "${2:-1}"; }

need_int() { case "$2" in ''|*[!0-9]*) die "$1: expected a whole number, found '$2'" 2;; esac; }

SMI=${NVIDIA_SMI:-nvidia-smi}   # NVIDIA_SMI=/nonexistent makes a GPU machine look bare (tests)
MODEL="" CARRY=.gpucarry ITEMS=300 SLIMIT=0 DEV=cuda TINY=0 BUILD_IT=1 ETASKS=all SUMMARIZE="" W=""
JOBS=$(nproc 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0;;
    --model|--carry|--items|--study-limit|--device|--jobs|--estimate-tasks|--sgemm-summary|--work)
      [ $# -ge 2 ] || die "$1: expected a value" 2
      case "$1" in
        --model) MODEL=$2;; --carry) CARRY=$2;; --estimate-tasks) ETASKS=$2;;
        --sgemm-summary) SUMMARIZE=$2;; --work) W=$2;;
        --items) need_int "$1" "$2"; ITEMS=$2;;
        --study-limit) need_int "$1" "$2"; SLIMIT=$2;;
        --jobs) need_int "$1" "$2"; JOBS=$2;;
        --device) case "$2" in cuda|cpu) DEV=$2;; *) die "--device: expected cuda or cpu, found '$2'" 2;; esac;;
      esac
      shift 2;;
    --tiny) TINY=1; shift;;
    --no-build) BUILD_IT=0; shift;;
    *) die "unknown option '$1' (hint: tools/gpu_check.sh --help)" 2;;
  esac
done
FAILS=0
# put KEY VALUE [TARGET]: one row of the summary table
put() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$RES"; }
# fail KEY LOG: the row says FAILED with the log's last line
fail() { put "$1" "FAILED: $(tail -n 1 "$2" 2>/dev/null | cut -c1-110) (log $2)"; FAILS=$((FAILS + 1)); }
# lim SECONDS CMD...: CMD with a time limit; a step past it fails (exit 124, said on stderr)
# and the rest go on
lim() {
  local secs=$1 rc
  shift
  command -v timeout >/dev/null 2>&1 || { "$@"; return; }
  timeout "$secs" "$@"
  rc=$?
  [ $rc != 124 ] || echo "gpu-check: timed out after $secs s: $*" >&2
  return $rc
}
# sgemm_rows FILE: the two SGEMM rows of the table from gpu_sgemm_bench's output (ours / cuBLAS
# per shape: geometric mean, the worst shape, and our TFLOPS at the LM head's 4096 x 49152 x 576).
sgemm_rows() {
  for col in f32 tf32; do
    r=$(awk -v c="$col" '
      $1 ~ /^[0-9]+$/ && NF == 7 { r = (c == "f32" ? $4 / $5 : $6 / $7); s += log(r); n++
                        if (n == 1 || r < w) { w = r; ws = $1 " " $2 "x" $3 }
                        if ($1 == 4096 && $2 == 49152) h = (c == "f32" ? $4 : $6) }
      END { if (!n) exit 1
            printf "geomean %.2f, worst %.2f (M N x K = %s), head 4096x49152x576 %.1f TFLOPS",
              exp(s / n), w, ws, h }' "$1") || return 1
    put "SGEMM $col / cuBLAS $col (ours / theirs)" "$r" "$([ $col = f32 ] && echo '>= 0.70')"
  done
}

if [ -n "$SUMMARIZE" ]; then # --sgemm-summary FILE: only those rows, for a saved bench output
  RES=$(mktemp) || die "mktemp failed"
  sgemm_rows "$SUMMARIZE" || { rm -f "$RES"; die "$SUMMARIZE: no gpu_sgemm_bench rows in it"; }
  tr '\t' '|' <"$RES"
  rm -f "$RES"
  exit 0
fi
[ "$ITEMS" -ge 1 ] || die "--items: expected at least 1, found $ITEMS" 2
WORK_GIVEN=$W # a folder the user names is never emptied by us
[ -z "$W" ] || [ ! -e "$W" ] || [ -z "$(ls -A "$W" 2>/dev/null)" ] ||
  die "--work $W: expected a new or empty folder"

# ---- preconditions: each a one-line error -------------------------------------------------
if [ "$DEV" = cuda ]; then
  command -v "$SMI" >/dev/null 2>&1 && GPUS=$("$SMI" -L 2>/dev/null) && [ -n "$GPUS" ] ||
    die "no NVIDIA GPU here (nvidia-smi -L lists none); run this on a GPU machine, or rehearse the GPU-free steps with --device cpu"
  command -v "${NVCC:-nvcc}" >/dev/null 2>&1 ||
    die "nvcc not found (hint: put the CUDA toolkit's bin on PATH or set NVCC)"
fi
[ -n "$MODEL" ] && { [ -f "$MODEL/config.json" ] || die "--model $MODEL: no config.json there"; }
[ -n "$MODEL" ] || [ -f "$CARRY/tokenizer.json" ] ||
  die "$CARRY/tokenizer.json missing (hint: run \`make gpu-carry\` where models/ exists, and carry $CARRY)"
TASKS=$CARRY/tasks
[ -f "$TASKS/piqa/valid.jsonl" ] ||
  die "$TASKS/piqa/valid.jsonl missing (hint: run \`make gpu-carry\` where data/tasks/ exists, and carry $CARRY)"

T0=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
if [ "$DEV" = cuda ]; then B=build-cuda; else B=build; fi
if [ -z "$WORK_GIVEN" ]; then
  W=$B/gpucheck
  rm -rf "$W"
fi
mkdir -p "$W" || die "$W: cannot create"
RES=$W/results.tsv
: >"$RES"

# ---- 1. build --------------------------------------------------------------------------------
ABL=./ablate
if [ "$BUILD_IT" = 1 ]; then
  t=$(now)
  if [ "$DEV" = cuda ]; then
    cc=$("$SMI" --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
    case "$cc" in ''|*[!0-9]*) cc=90;; esac
    ARCHF="-gencode arch=compute_$cc,code=sm_$cc"
    if make -j"$JOBS" --no-print-directory CUDA_ARCH="$ARCHF" cuda >"$W/build.log" 2>&1 &&
       make -j"$JOBS" --no-print-directory CUDA=1 BUILD=build-cuda CUDA_ARCH="$ARCHF" \
         build-cuda/runner build-cuda/mkmodel build-cuda/gpu_sgemm_bench >>"$W/build.log" 2>&1; then
      put "build (make cuda, sm_$cc, -j$JOBS)" "ok, $(since "$t") s"
    else
      fail "build (make cuda, sm_$cc)" "$W/build.log"
      echo "gpu-check: the build failed; see $W/build.log" >&2
    fi
  else
    if make -j"$JOBS" --no-print-directory ablate build/runner build/mkmodel >"$W/build.log" 2>&1; then
      put "build (CPU rehearsal)" "ok, $(since "$t") s"
    else
      fail "build (CPU rehearsal)" "$W/build.log"
    fi
  fi
fi
[ -x "$ABL" ] && [ -x "$B/mkmodel" ] || {
  cat "$RES" >&2
  die "$ABL or $B/mkmodel is not built (see $W/build.log)"
}

# ---- 2. CUDA tests ---------------------------------------------------------------------------
if [ "$DEV" = cuda ]; then
  t=$(now)
  lim 240 ./build-cuda/runner cuda >"$W/tests.log" 2>&1
  rc=$?
  line=$(tail -n 1 "$W/tests.log")
  case "$line" in *skipped*) rc=3; echo "gpu-check: CUDA tests skipped on a GPU machine" \
    >>"$W/tests.log";; esac
  if [ $rc = 0 ]; then put "CUDA tests (runner cuda)" "$line, $(since "$t") s"
  else fail "CUDA tests (runner cuda)" "$W/tests.log"; fi
else
  put "CUDA tests (runner cuda)" "skipped (CPU rehearsal)"
fi

# ---- 3. the model ----------------------------------------------------------------------------
if [ -z "$MODEL" ]; then
  MODEL=$W/model-seeded
  shape=""
  [ "$TINY" = 1 ] && shape="--layers 2 --dim 64 --heads 4 --kv-heads 2 --head-dim 16 --ffn 128"
  t=$(now)
  # shellcheck disable=SC2086
  "$B/mkmodel" --out "$MODEL" --tokenizer "$CARRY/tokenizer.json" $shape >"$W/mkmodel.log" 2>&1 ||
    { cat "$W/mkmodel.log" >&2; die "mkmodel failed (log $W/mkmodel.log)"; }
  what="seeded, $(awk -F'[:,]' '/num_hidden_layers/ { l = $2 } /"hidden_size"/ { d = $2 }
    END { printf "L=%d D=%d", l, d }' "$MODEL/config.json"), $(since "$t") s to write"
else
  what=$MODEL
fi
put "model" "$what"

# ---- 4. CPU vs device log-likelihoods on PIQA ------------------------------------------------
# llcmp A.json B.json: "max_abs_diff same n" over the per-item "ll": [...] lists of two
# `ablate eval --json` files (one item per line, same order).
llcmp() {
  paste -d '\n' <(grep -o '"ll": \[[^]]*\]' "$1") <(grep -o '"ll": \[[^]]*\]' "$2") | awk '
    function parse(s, a,   n) { gsub(/"ll": \[|\]| /, "", s); return split(s, a, ",") }
    function best(a, n,   i, b) { b = 1; for (i = 2; i <= n; i++) if (a[i] + 0 > a[b] + 0) b = i; return b }
    NR % 2 == 1 { na = parse($0, A); next }
    { nb = parse($0, Bv); n++
      if (na != nb) bad++
      for (i = 1; i <= na; i++) { d = A[i] - Bv[i]; if (d < 0) d = -d; if (d > mx) mx = d }
      if (best(A, na) == best(Bv, nb)) same++ }
    END { if (!n || bad) { print "error"; exit 1 } printf "%.3g %d %d\n", mx, same, n }'
}
evalrun() { # evalrun DEVICE TF32 OUT.json
  ABLATE_CUDA_TF32=$2 lim 150 "$ABL" eval --tasks piqa --limit "$ITEMS" --model "$MODEL" \
    --data-dir "$TASKS" --device "$1" --json "$3" --quiet >"${3%.json}.log" 2>&1
}
t=$(now)
if evalrun cpu 0 "$W/ll_cpu.json"; then
  put "PIQA $ITEMS items on the CPU (reference)" "$(since "$t") s"
  for mode in f32 tf32; do
    t=$(now)
    key="PIQA $ITEMS items, $DEV $mode vs CPU"
    if evalrun "$DEV" "$([ $mode = tf32 ] && echo 1 || echo 0)" "$W/ll_$mode.json" &&
       r=$(llcmp "$W/ll_cpu.json" "$W/ll_$mode.json"); then
      set -- $r
      tgt="max diff < 1e-2"
      [ $mode = tf32 ] && tgt="same choice >= 98%"
      put "$key" "max |ll diff| $1, same choice $2/$3 ($(awk -v a="$2" -v b="$3" \
        'BEGIN { printf "%.1f", 100 * a / b }')%), $(since "$t") s" "$tgt"
    else
      fail "$key" "$W/ll_$mode.log"
    fi
  done
else
  fail "PIQA $ITEMS items on the CPU (reference)" "$W/ll_cpu.log"
fi

# ---- 5. SGEMM against cuBLAS -----------------------------------------------------------------
if [ "$DEV" = cuda ]; then
  if lim 120 ./build-cuda/gpu_sgemm_bench --iters 10 >"$W/sgemm.txt" 2>&1 && sgemm_rows "$W/sgemm.txt"; then
    :
  else
    fail "SGEMM vs cuBLAS" "$W/sgemm.txt"
  fi
else
  put "SGEMM vs cuBLAS" "skipped (CPU rehearsal)"
fi

# ---- 6. the PIQA study, timed ----------------------------------------------------------------
t=$(now)
lim=$SLIMIT
if lim 300 "$ABL" run --device "$DEV" --tasks piqa --limit "$lim" --prune 0 --model "$MODEL" \
     --data-dir "$TASKS" --out "$W/run-piqa" --quiet >"$W/study.log" 2>&1; then
  put "PIQA study (--limit $lim --prune 0) wall" "$(since "$t") s" "<= 60 s"
else
  fail "PIQA study (--limit $lim --prune 0)" "$W/study.log"
fi

# ---- 7. the full-study estimate --------------------------------------------------------------
if lim 120 "$ABL" run --tasks "$ETASKS" --limit 0 --estimate --device "$DEV" --model "$MODEL" \
     --data-dir "$TASKS" >"$W/estimate.log" 2>&1; then
  put "full study estimate (--tasks $ETASKS --limit 0)" "$(awk '
    /^rate:/ { for (i = 1; i < NF; i++) if ($(i + 1) == "GFLOP/s") g = $i }
    $1 == "total" { tf = $3; tm = $4 }
    END { printf "%s (%.1f TFLOP at %.0f GFLOP/s = %.0f s)", tm, tf, g, (g > 0 ? tf * 1e3 / g : -1) }' \
    "$W/estimate.log")" "<= 15 min"
else
  fail "full study estimate" "$W/estimate.log"
fi
put "gpu-check wall time" "$(since "$T0") s" "<= 480 s"

# ---- the table ------------------------------------------------------------------------------
# the commit, and "+ changes" when the tree differs from it (a copied working tree, say)
rev() {
  local r
  r=$(git rev-parse --short HEAD 2>/dev/null) || { echo '?'; return; }
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ]; then
    echo "$r + changes"; else echo "$r"; fi
}
table() {
  echo "gpu-check $(rev) on $(
    if [ "$DEV" = cuda ]; then "$SMI" --query-gpu=name,memory.total --format=csv,noheader |
      head -n 1; else echo "CPU rehearsal ($(nproc) cores)"; fi)"
  awk -F'\t' '{ printf "%-52s %-s%s\n", $1, $2, ($3 == "" ? "" : "   [target " $3 "]") }' "$RES"
}
table | tee "$W/gpu_check.txt"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/gpu_check" && cp "$W/gpu_check.txt" "$OUT/gpu_check.txt" &&
    cp "$W"/*.log "$W"/*.txt "$OUT/gpu_check/" 2>/dev/null
fi
[ "$FAILS" = 0 ] || die "$FAILS step(s) failed (logs in $W)"
