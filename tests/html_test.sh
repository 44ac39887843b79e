#!/bin/sh
# tests/html_test.sh - `make test-html`: report.html of a small run (the tiny model) in headless
# Chromium: not blank, every figure drawn, no text outside its box, prints. Skips without it.
# usage: tests/html_test.sh BUILD_DIR   (run from the repository root, after `make`)
# ABLATE_CHROMIUM=PATH picks the browser; ABLATE_HTML_OUT=DIR keeps the PNGs, PDF and DOMs.
set -u
BUILD=${1:-build}
pass=0
fail=0
say() {
  case "$1" in
    PASS*) pass=$((pass + 1)) ;;
    FAIL*) fail=$((fail + 1)) ;;
  esac
  echo "$1"
}
result() { if [ "$2" -eq 0 ]; then say "PASS $1"; else say "FAIL $1${3:+: $3}"; fi; }
skip() {
  echo "SKIP test_html: $1"
  echo "0 passed, 0 failed"
  exit 0
}

find_chromium() {
  for c in chromium chromium-browser google-chrome; do
    command -v "$c" 2>/dev/null && return 0
  done
  return 1
}
CHROME=${ABLATE_CHROMIUM:-$(find_chromium)}
if [ -z "$CHROME" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium from Debian (apt-get install -y chromium)"
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1
  CHROME=$(find_chromium)
fi
[ -n "$CHROME" ] || skip "no chromium found, and it could not be installed here (hint: apt-get install chromium, or set ABLATE_CHROMIUM)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# Headless Chromium as root needs --no-sandbox; each profile lives in the temp dir.
chrome() {
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$tmp/profile" --no-first-run --disable-extensions "$@" 2>>"$tmp/chrome.err"
}
printf '<!DOCTYPE html><p>probe ok</p>' >"$tmp/probe.html"
chrome --dump-dom "file://$tmp/probe.html" >"$tmp/probe.out"
grep -q "probe ok" "$tmp/probe.out" ||
  skip "$CHROME cannot run headless here: $(tail -c 300 "$tmp/chrome.err" | tr '\n' ' ')"
echo "chromium: $("$CHROME" --version 2>/dev/null)"

# ---- a small run on the tiny model: a toy multiple-choice task and a text corpus -----------
i=0
while [ $i -lt 16 ]; do
  echo "{\"context\": \"The cat sat on the $i\", \"choices\": [\"mat\", \"sea & sky\", \"<violin>\"], \"label\": $((i % 3))}"
  i=$((i + 1))
done >"$tmp/toy.jsonl"
i=0
while [ $i -lt 40 ]; do
  echo "A river runs to the sea, and the sea runs to the sky. Block $i of the text."
  i=$((i + 1))
done >"$tmp/text.txt"
run="$tmp/run"
./ablate run --model tests/fixtures/tiny --tasks "jsonl:$tmp/toy.jsonl,corpus:$tmp/text.txt" \
  --limit 0 --prune 2 --threads 2 --quiet --out "$run" >"$tmp/run.log" 2>&1
result html_run_writes_report $? "$(tail -n 3 "$tmp/run.log" | tr '\n' ' ')"
html="$run/report.html"
[ -s "$html" ] || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }

# ---- self-contained: no script, no external resource -------------------------------------
ext=$(grep -n -i -E '<script|<link|<img|@import|url\(|src=|href="(https?:)?//' "$html" | head -3)
result html_self_contained "$([ -z "$ext" ] && echo 0 || echo 1)" "$ext"

# ---- laid out at a laptop and a phone width: the measurements of tests/html_check.js ------
# Headless windows are at least 500 px wide, so the phone view is a 390 px srcdoc iframe.
figs=4 # scatter, heatmap, confusion, pruning (the run has --prune 2)
for view in laptop:1280,900 phone:390,844; do
  name=${view%%:*}
  size=${view#*:}
  copy="$tmp/check_$name.html"
  # The test copy only: the measuring script goes in just before </body>.
  {
    sed '/<\/body>/,$d' "$html"
    echo "<script>window.ABLATE_EXPECT_FIGS = $figs;</script><script>"
    cat tests/html_check.js
    echo "</script></body></html>"
  } >"$copy"
  page="$copy"
  if [ "$name" = phone ]; then
    page="$tmp/frame_$name.html"
    {
      printf '<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0" '
      printf 'width="%s" height="%s" srcdoc="' "${size%,*}" "${size#*,}"
      sed 's/&/\&amp;/g; s/"/\&quot;/g' "$copy"
      printf '"></iframe></body></html>\n'
    } >"$page"
  fi
  chrome --window-size=1280,900 --run-all-compositor-stages-before-draw \
    --virtual-time-budget=5000 --dump-dom "file://$page" >"$tmp/dom_$name.html"
  res=$(sed -n '/<pre id="ablate-check">/,/<\/pre>/p' "$tmp/dom_$name.html" |
    sed 's/&amp;/\&/g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g')
  echo "$res" | grep '^INFO ' | sed "s/^INFO /$name: /"
  lines=$(echo "$res" | grep -E '^(PASS|FAIL) ')
  if [ -z "$lines" ]; then
    say "FAIL html_${name}_measured: no results in the DOM dump (the check script did not run)"
  fi
  # one line per check, named after the view
  while IFS= read -r l; do
    [ -n "$l" ] && say "$(echo "$l" | sed "s/^\(PASS\|FAIL\) /\1 html_${name}_/")"
  done <<EOF
$lines
EOF
  # The shipped report itself, as pixels: not a blank page.
  chrome --window-size="${size%,*},2400" --run-all-compositor-stages-before-draw \
    --virtual-time-budget=5000 --screenshot="$tmp/$name.png" "file://$html" >/dev/null
  say "$("$BUILD/html_png" "$tmp/$name.png" "html_${name}_png_not_blank")"
done

# The pixel check must be able to fail: a blank page is reported blank.
printf '<!DOCTYPE html><body style="background:#fff"></body>' >"$tmp/blank.html"
chrome --window-size=400,300 --screenshot="$tmp/blank.png" "file://$tmp/blank.html" >/dev/null
"$BUILD/html_png" "$tmp/blank.png" blank >"$tmp/blank.out"
grep -q '^FAIL blank' "$tmp/blank.out"
result html_png_check_detects_blank $? "$(cat "$tmp/blank.out")"

# ---- on paper: the print stylesheet gives a PDF --------------------------------------------
chrome --run-all-compositor-stages-before-draw --virtual-time-budget=5000 --no-pdf-header-footer \
  --print-to-pdf="$tmp/report.pdf" "file://$html" >/dev/null
pdf_ok=1
if [ -s "$tmp/report.pdf" ] && head -c 5 "$tmp/report.pdf" | grep -q '%PDF' &&
  [ "$(wc -c <"$tmp/report.pdf")" -gt 10000 ]; then pdf_ok=0; fi
result html_prints_to_pdf $pdf_ok "no PDF of at least 10 kB from --print-to-pdf"

if [ -n "${ABLATE_HTML_OUT:-}" ]; then
  mkdir -p "$ABLATE_HTML_OUT" &&
    cp "$tmp"/*.png "$tmp"/dom_*.html "$tmp/report.pdf" "$html" "$ABLATE_HTML_OUT"/ 2>/dev/null
  echo "kept the renderings in $ABLATE_HTML_OUT"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
