#!/bin/sh
# tools/check_layers.sh - `make check-layers`: fails on any #include "..." that points up the
# stack. Layers, lowest first: base; loader and kernels (peers); kernels_cuda (over kernels);
# engine; eval; study; cli; ablate.c. Usage: tools/check_layers.sh [ROOT] (default: the repo).
# Prints one line per violation (file:line, what it includes, what that file may include) and a
# last line "check-layers: N files, M violations"; exits 1 when M > 0.
root=${1:-$(dirname "$0")/..}
cd "$root" || { echo "check-layers: $root: cannot enter"; exit 2; }
files=$(find base loader kernels kernels_cuda engine eval study cli \
          \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) 2>/dev/null | sort)
[ -f ablate.c ] && files="$files ablate.c"
[ -n "$files" ] || { echo "check-layers: no source files under $root"; exit 2; }
# shellcheck disable=SC2086
awk '
BEGIN {
  may["base"] = "base"
  may["loader"] = "base loader"
  may["kernels"] = "base kernels"
  may["kernels_cuda"] = "base kernels kernels_cuda"
  may["engine"] = "base loader kernels kernels_cuda engine"
  may["eval"] = may["engine"] " eval"
  may["study"] = may["eval"] " study"
  may["cli"] = may["study"] " cli"
  may["."] = may["cli"] " ."
}
FNR == 1 { n_files++ }
/^[ \t]*#[ \t]*include[ \t]*"/ {
  inc = $0
  sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
  # the included path relative to the root: the including file s folder, then inc
  dir = FILENAME; if (!sub(/\/[^\/]*$/, "", dir)) dir = "."
  k = split(dir "/" inc, part, "/"); m = 0
  for (i = 1; i <= k; i++) {
    if (part[i] == "." || part[i] == "") continue
    if (part[i] == "..") { if (m > 0) m--; else { m = -1; break } }
    else out[++m] = part[i]
  }
  from = FILENAME; if (!sub(/\/.*$/, "", from)) from = "."
  if (m < 0) to = "(outside the repository)"
  else to = (m == 1) ? "." : out[1]
  if (index(" " may[from] " ", " " to " ") == 0) {
    printf "%s:%d: includes \"%s\" (%s), above or beside %s (which may include: %s)\n",
      FILENAME, FNR, inc, to, from, may[from]
    bad++
  }
}
END {
  printf "check-layers: %d files, %d violations\n", n_files, bad
  exit bad > 0
}' $files
