#!/bin/sh
# tests/valgrind.sh - `make test-valgrind`: small end-to-end runs of the real binary on the tiny
# model under valgrind memcheck (any error or definite leak fails), then "N passed, N failed".
# Usage: sh tests/valgrind.sh [BINARY]   (default ./ablate; run from the repository root)
BIN=${1:-./ablate}
TINY=tests/fixtures/tiny
command -v valgrind >/dev/null 2>&1 || { echo "test-valgrind: valgrind not found (hint: apt-get install valgrind)"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$BIN" ] || { echo "test-valgrind: $BIN is not built (hint: make ablate)"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d /tmp/ablate-valgrind-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
# a tiny three-choice task: 6 items
i=0
while [ $i -lt 6 ]; do
  printf '{"context": "the cat sat on the mat %d", "choices": ["red sun", "blue", "a tree"], "label": %d}\n' \
    $i $((i % 3)) >> "$tmp/task.jsonl"
  i=$((i + 1))
done
printf 'one two three four five six seven eight nine ten eleven twelve\n' > "$tmp/corpus.txt"

pass=0 fail=0
check() { # check NAME EXPECTED_RC ARGS...
  name=$1 want=$2
  shift 2
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --track-origins=yes "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -eq "$want" ] && ! grep -q '^==[0-9]*==' "$tmp/err"; then
    echo "PASS valgrind_$name"
    pass=$((pass + 1))
  else
    echo "FAIL valgrind_$name: exit $rc (expected $want); memcheck said:"
    grep -A12 '^==[0-9]*==' "$tmp/err" | head -40
    tail -n 3 "$tmp/err"
    fail=$((fail + 1))
  fi
}

check inspect 0 inspect --model $TINY
check generate 0 generate --model $TINY --prompt "The cat" -n 8 --threads 2
check tokenize 0 tokenize --model $TINY "Hello, world 123"
check eval 0 eval --model $TINY --tasks "jsonl:$tmp/task.jsonl" --threads 2 --quiet
check eval_corpus 0 eval --model $TINY --corpus "$tmp/corpus.txt" --ctx 4 --threads 1 --quiet
check study 0 run --model $TINY --tasks "jsonl:$tmp/task.jsonl" --limit 0 --out "$tmp/run" --threads 2 --quiet
check study_resumed 0 run --model $TINY --tasks "jsonl:$tmp/task.jsonl" --limit 0 --out "$tmp/run" --threads 2 --quiet
check bad_model 1 inspect --model "$tmp"
check bad_flag 2 run --threads 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
