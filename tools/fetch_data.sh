#!/bin/sh
# tools/fetch_data.sh - `make data`: every benchmark file in data/manifest.tsv, copied from a mirror
# folder or downloaded from its upstream URL, sha256-checked, into data/tasks/<path>.
#
# Mirror: $ABLATE_DATA_MIRROR (default ../shared/data, relative to the repository root). Files
# already in data/tasks with the right sha256 are kept. Each file lands atomically (temp + mv);
# data/tasks/.complete is written only when every file is present and valid. A missing or corrupt
# file is named with the way to fix it, and the script exits 1.
set -eu
cd "$(dirname "$0")/.."

MANIFEST=data/manifest.tsv
DEST=data/tasks
MIRROR=${ABLATE_DATA_MIRROR:-../shared/data}
TAB=$(printf '\t')

say() { echo "fetch_data: $*"; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

command -v sha256sum >/dev/null 2>&1 || { echo "fetch_data: error: sha256sum not found" >&2; exit 1; }
[ -f "$MANIFEST" ] || { echo "fetch_data: error: $MANIFEST missing (hint: restore it from git)" >&2; exit 1; }

download() { # url out
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1" </dev/null
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2" </dev/null
    fi
}

bunzip() { # in out
    python3 -c 'import bz2, shutil, sys
with bz2.open(sys.argv[1]) as i, open(sys.argv[2], "wb") as o: shutil.copyfileobj(i, o)' "$1" "$2" </dev/null
}

mkdir -p "$DEST"
rm -f "$DEST/.complete"
TMP=$DEST/.tmp.$$
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$TMP"

n=0; kept=0; copied=0; fetched=0; failed=0
while IFS="$TAB" read -r task path sha url how; do
    case "$task" in ''|'#'*|task) continue ;; esac
    n=$((n + 1))
    out=$DEST/$path
    if [ -f "$out" ] && [ "$(sha_of "$out")" = "$sha" ]; then
        kept=$((kept + 1))
        continue
    fi
    if [ -f "$out" ]; then state="$out has sha256 $(sha_of "$out"), expected $sha"; else state="$out is missing"; fi
    mkdir -p "$(dirname "$out")"
    tmp=$TMP/file
    rm -f "$tmp"
    src=""
    if [ -f "$MIRROR/$path" ]; then
        cp "$MIRROR/$path" "$tmp"
        if [ "$(sha_of "$tmp")" = "$sha" ]; then
            src=mirror
        else
            say "warning: $MIRROR/$path has the wrong sha256; trying upstream"
        fi
    fi
    if [ -z "$src" ] && [ "$how" != derived ]; then
        : > "$TMP/err"
        if download "$url" "$TMP/dl" 2>"$TMP/err"; then
            if [ "$how" = bunzip2 ]; then bunzip "$TMP/dl" "$tmp" || rm -f "$tmp"; else mv "$TMP/dl" "$tmp"; fi
            [ -f "$tmp" ] && [ "$(sha_of "$tmp")" = "$sha" ] && src=upstream
        fi
        rm -f "$TMP/dl"
    fi
    if [ -z "$src" ]; then
        failed=$((failed + 1))
        if [ "$how" = derived ]; then
            why="no valid copy in the mirror $MIRROR, and it cannot be downloaded: it is an edited copy of $url (see SOURCE.md)"
        else
            why="no valid copy in the mirror $MIRROR, and downloading $url failed ($(tail -n 1 "$TMP/err" 2>/dev/null | head -c 200)) or gave the wrong sha256"
        fi
        echo "fetch_data: error: $task: $state; $why (hint: set ABLATE_DATA_MIRROR to a folder holding $path, e.g. a copy of shared/data, and run \`make data\` again)" >&2
        continue
    fi
    mv "$tmp" "$out"
    if [ $src = mirror ]; then copied=$((copied + 1)); else fetched=$((fetched + 1)); fi
done < "$MANIFEST"

if [ $failed -gt 0 ]; then
    echo "fetch_data: error: $failed of $n files missing or corrupt (see above); data/tasks is incomplete" >&2
    exit 1
fi
date -u +%Y-%m-%dT%H:%M:%SZ > "$DEST/.complete"
say "$n files ok in $DEST ($kept already there, $copied copied from $MIRROR, $fetched downloaded)"
