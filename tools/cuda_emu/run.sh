#!/bin/sh
# tools/cuda_emu/run.sh - runs tests/test_cuda.c, test_backend.c and test_arch.c with
# kernels_cuda/*.cu compiled by g++ for the CPU against an emulated CUDA runtime, so the CUDA
# code's logic is checked on a machine without a GPU.
# Developer aid, slow (minutes; the sgemm cases dominate). Usage: tools/cuda_emu/run.sh [-v] [NAME...]
# SAN="-fsanitize=address,undefined" also checks every "device" access with ASan.
set -e
cd "$(dirname "$0")/../.."
B=${BUILD:-build-cuda-emu}
SAN=${SAN:-}
E=$B/cuda_emu
mkdir -p "$E"
lib=""
for f in base/*.c loader/*.c engine/*.c kernels/ref.c kernels/dispatch.c kernels/kernels_entry.c \
         kernels/pool.c tests/test_cuda.c tests/test_backend.c tests/test_arch.c \
         tests/test_model_util.c tests/runner.c \
         tests/t.c; do
  lib="$lib $B/${f%.c}.o"
done
make --no-print-directory BUILD="$B" OPT=-O1 SAN="$SAN" $lib >/dev/null
for f in kernels_cuda/*.cu; do
  n=$(basename "$f" .cu)
  python3 tools/cuda_emu/transform.py "$f" "$E/$n.cpp"
  g++ -std=c++17 -O1 -g $SAN -Wno-unknown-pragmas -Itools/cuda_emu -Ikernels_cuda \
    -c "$E/$n.cpp" -o "$E/$n.o"
done
g++ -std=c++17 -O1 -g $SAN -Itools/cuda_emu -c tools/cuda_emu/emu.cpp -o "$E/emu.o"
sh tests/gen_registry.sh tests/test_cuda.c tests/test_backend.c tests/test_arch.c > "$E/registry.c"
cc -std=c11 -Itests -c "$E/registry.c" -o "$E/registry.o"
g++ $SAN -o "$E/runner" "$E"/*.o $lib -lm -lpthread
exec "./$E/runner" "$@"
