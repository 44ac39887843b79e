# ablate - build, test and fetch targets. `make && ./ablate` builds, fetches and converts the
# default model once, copies the benchmark data, then runs the default study.

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?=
BUILD   ?= build
SAN     ?=
CSTD     = -std=c11 -D_GNU_SOURCE
WARN     = -Wall -Wextra
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) -g -MMD -MP $(SAN) $(CFLAGS)
LDLIBS   = -lm -lpthread

ARCH    := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq (,$(findstring x86_64,$(ARCH)))
ISA_EXCLUDE = kernels/neon%.c
else ifneq (,$(findstring aarch64,$(ARCH)))
ISA_EXCLUDE = kernels/avx%.c
else
ISA_EXCLUDE = kernels/avx%.c kernels/neon%.c
endif

LIB_SRC  = $(filter-out $(ISA_EXCLUDE),$(wildcard base/*.c loader/*.c kernels/*.c engine/*.c eval/*.c study/*.c cli/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/test_*.c) tests/runner.c tests/t.c tests/t_alloc.c
# The runner's allocations go through tests/t_alloc.c (planted allocation failures).
ALLOC_WRAP = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=aligned_alloc
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/registry.o

# ---- CUDA (issue 10): which objects stand for kernels_cuda.h. The CPU build links the stub and
# never needs nvcc; `make cuda` sets CUDA=1: the .cu objects, kernels_cuda/*.c and libcudart.
NVCC      ?= nvcc
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
CUDA_CU    = $(wildcard kernels_cuda/*.cu)
CUDA_C     = $(filter-out kernels_cuda/cuda_stub.c,$(wildcard kernels_cuda/*.c))
ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(realpath $(shell command -v $(NVCC) 2>/dev/null)))
LIB_SRC   += $(CUDA_C)
LIB_OBJ   += $(CUDA_CU:%.cu=$(BUILD)/%.o)
LDLIBS    += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lstdc++
else
LIB_SRC   += kernels_cuda/cuda_stub.c
endif

# Only the ISA files get ISA flags: the binary runs on any x86-64 and picks kernels at run time.
$(BUILD)/kernels/avx2%.o:   ISA_FLAGS = -mavx2 -mfma -mf16c
$(BUILD)/kernels/avx512%.o: ISA_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c

.PHONY: check-layers all build test test-asan test-model test-neon model data clean bench fuzz fuzz-smoke cuda kern-test test-avx512-emu

all: build
	@$(MAKE) --no-print-directory model-if-missing data-if-missing

build: ablate

ablate: $(BUILD)/ablate.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_FLAGS) -c $< -o $@

$(BUILD)/tests/registry.c: $(TEST_SRC) tests/gen_registry.sh
	@mkdir -p $(dir $@)
	sh tests/gen_registry.sh $(wildcard tests/test_*.c) > $@

$(BUILD)/tests/registry.o: $(BUILD)/tests/registry.c
	$(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

$(BUILD)/runner: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(ALLOC_WRAP) -o $@ $^ $(LDLIBS)

# Fast tier: no network, no real model. The runner prints one line per test and
# "N passed, N failed" last.
test: check-layers $(BUILD)/runner ablate $(BUILD)/mkmodel
	./$(BUILD)/runner

# Includes never point up the stack (base < loader, kernels < kernels_cuda < engine < eval < study
# < cli < ablate.c); tools/check_layers.sh names each violation. Part of `make test`.
check-layers:
	@sh tools/check_layers.sh

test-asan:
	$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build-asan/runner build-asan/ablate-san
	ABLATE_BIN=build-asan/ablate-san ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 ./build-asan/runner

# Real-model tier (needs `make model`).
test-model: $(BUILD)/runner ablate
	./$(BUILD)/runner --tier model

# ---- model and data (issue 4) ------------------------------------------------------------
MODEL_DIR = models/smollm2-135m-instruct
# gguf2st links only what it needs, so `make model` never waits on the rest of the library.
GGUF2ST_OBJ = $(addprefix $(BUILD)/,base/abl.o base/file.o base/jw.o loader/gguf.o loader/dequant.o \
              loader/st_write.o loader/gguf_convert.o tools/gguf2st.o)

$(BUILD)/gguf2st: $(GGUF2ST_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# mkmodel writes a seeded random model of any shape (SmolLM2-135M's by default) for gpu-check.
MKMODEL_OBJ = $(addprefix $(BUILD)/,base/abl.o base/file.o base/jw.o loader/json.o loader/config.o \
              loader/config_rope.o \
              loader/safetensors.o loader/hf_names.o loader/st_write.o tools/mkmodel.o)

$(BUILD)/mkmodel: $(MKMODEL_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

model: $(BUILD)/gguf2st
	GGUF2ST=$(BUILD)/gguf2st sh tools/fetch_model.sh

model-if-missing:
	@test -f $(MODEL_DIR)/model.safetensors || $(MAKE) --no-print-directory model

data:
	sh tools/fetch_data.sh

data-if-missing:
	@test -f data/tasks/.complete || $(MAKE) --no-print-directory data

# ---- benchmarks --------------------------------------------------------------------------
bench: ablate
	./ablate bench kernels

# ---- kernels (issue 6) ------------------------------------------------------------------------
# A small runner with only base/, kernels/ and tests/test_kernels.c: `make kern-test` here, and
# `make test-neon` cross-builds it for aarch64 (static) and runs it under qemu-aarch64.
KERN_SRC = $(filter-out $(ISA_EXCLUDE),base/abl.c $(wildcard kernels/*.c))
KERN_TOBJ = $(KERN_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/test_kernels.o $(BUILD)/tests/runner.o \
            $(BUILD)/tests/t.o $(BUILD)/tests/kern_registry.o
KERN_LDFLAGS ?=

$(BUILD)/tests/kern_registry.c: tests/test_kernels.c tests/gen_registry.sh
	@mkdir -p $(dir $@)
	sh tests/gen_registry.sh tests/test_kernels.c > $@

$(BUILD)/tests/kern_registry.o: $(BUILD)/tests/kern_registry.c
	$(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

$(BUILD)/kern-runner: $(KERN_TOBJ)
	$(CC) $(ALL_CFLAGS) $(KERN_LDFLAGS) -o $@ $^ $(LDLIBS)

kern-test: $(BUILD)/kern-runner
	./$(BUILD)/kern-runner

# AVX-512 logic on any x86-64 (no AVX-512 needed): kernels/avx512_gemm.c compiled against scalar
# stand-ins for its intrinsics (tests/avx512_emu/), with a CPU check that says yes; the AVX2 code
# it builds on runs natively. `make test-avx512-emu` runs the avx512 kernel tests that way.
EMU = build-avx512emu
EMU_OBJ = $(filter-out $(EMU)/kernels/avx_cpu.o $(EMU)/kernels/avx512_gemm.o, \
            $(KERN_SRC:%.c=$(EMU)/%.o)) $(EMU)/emu/avx512_gemm.o $(EMU)/emu/cpu_yes.o \
          $(EMU)/tests/test_kernels.o $(EMU)/tests/runner.o $(EMU)/tests/t.o \
          $(EMU)/tests/kern_registry.o

$(EMU)/emu/avx512_gemm.o: kernels/avx512_gemm.c tests/avx512_emu/immintrin.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/avx512_emu -c $< -o $@

$(EMU)/emu/cpu_yes.o: tests/avx512_emu/cpu_yes.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(EMU)/kern-runner-emu: $(EMU_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

test-avx512-emu:
	$(MAKE) --no-print-directory BUILD=$(EMU) $(EMU)/kern-runner-emu
	./$(EMU)/kern-runner-emu avx512

# ---- NEON (issue 6): aarch64 cross build of the kernel tests, run under qemu ------------------
NEON_CC ?= aarch64-linux-gnu-gcc

test-neon:
	@command -v $(NEON_CC) >/dev/null && command -v qemu-aarch64 >/dev/null || \
	  { echo "installing gcc-aarch64-linux-gnu and qemu-user"; \
	    apt-get install -y gcc-aarch64-linux-gnu qemu-user >/dev/null || \
	    { apt-get update >/dev/null && apt-get install -y gcc-aarch64-linux-gnu qemu-user; }; }
	$(MAKE) --no-print-directory CC=$(NEON_CC) BUILD=build-neon KERN_LDFLAGS=-static \
	  build-neon/kern-runner
	qemu-aarch64 ./build-neon/kern-runner

# ---- CUDA (issue 10): `make cuda` links ./ablate with the CUDA backend (sm_80, sm_90, plus PTX
# for newer GPUs); `make cuda-check` only compiles the CUDA sources, warnings as errors (CI).
NVCCFLAGS ?= -O3
NVCC_ALL   = -std=c++17 $(NVCCFLAGS) $(CUDA_ARCH) -g -Xcompiler -Wall,-Wextra -MMD -MP

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_ALL) -c $< -o $@

$(BUILD)/ablate-cuda: $(BUILD)/ablate.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# tools/gpu_sgemm_bench: our SGEMM against cuBLAS (linked here only, never into ablate).
$(BUILD)/tools/gpu_sgemm_bench.o: ISA_FLAGS = -I$(CUDA_HOME)/include
$(BUILD)/gpu_sgemm_bench: $(BUILD)/tools/gpu_sgemm_bench.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) -lcublas

CUDA_NO_NVCC = nvcc not found (expected '$(NVCC)' on PATH; hint: install the CUDA toolkit or \
               set NVCC=/path/to/nvcc); the CPU build is plain 'make'

cuda:
	@command -v $(NVCC) >/dev/null 2>&1 || { echo "make cuda: $(CUDA_NO_NVCC)"; exit 1; }
	@echo "make cuda: found $$(command -v $(NVCC)) ($$($(NVCC) --version | \
	  grep -o 'release [0-9.]*')); building for sm_80 and sm_90, plus compute_90 PTX"
	$(MAKE) --no-print-directory CUDA=1 BUILD=build-cuda build-cuda/ablate-cuda
	cp build-cuda/ablate-cuda ablate

cuda-check:
	@command -v $(NVCC) >/dev/null 2>&1 || { echo "make cuda-check: $(CUDA_NO_NVCC)"; exit 1; }
	$(MAKE) --no-print-directory CUDA=1 BUILD=build-cuda-check \
	  NVCCFLAGS="$(NVCCFLAGS) --Werror all-warnings -Xcompiler -Werror" CFLAGS="$(CFLAGS) -Werror" \
	  $(CUDA_CU:%.cu=build-cuda-check/%.o) $(CUDA_C:%.c=build-cuda-check/%.o)

# Without a GPU: tests/test_cuda.c, test_backend.c and test_arch.c against kernels_cuda compiled by
# g++ for the CPU with an emulated CUDA runtime (tools/cuda_emu; slow, minutes). Checks the CUDA
# code's logic, not its speed.
cuda-emu:
	sh tools/cuda_emu/run.sh

.PHONY: cuda-check cuda-emu

# ---- gpu-check (issue 18): tools/gpu_check.sh on a GPU machine (build, CUDA tests, CPU vs CUDA
# log-likelihoods, SGEMM vs cuBLAS, PIQA study wall time, full-study estimate; one table).
# `make gpu-carry` fills .gpucarry/ (git-ignored) with what must travel to that machine: the
# tokenizer and the benchmark data. ARGS passes options (ARGS="--device cpu --tiny" rehearses).
gpu-check:
	bash tools/gpu_check.sh $(ARGS)

gpu-carry:
	@test -f $(MODEL_DIR)/tokenizer.json || { echo "make gpu-carry: $(MODEL_DIR)/tokenizer.json \
	  missing (hint: make model)"; exit 1; }
	@test -f data/tasks/.complete || { echo "make gpu-carry: data/tasks is incomplete (hint: \
	  make data)"; exit 1; }
	rm -rf .gpucarry && mkdir -p .gpucarry
	cp $(MODEL_DIR)/tokenizer.json .gpucarry/ && cp -RL data/tasks .gpucarry/tasks
	@echo "make gpu-carry: $$(du -sh .gpucarry | cut -f1) in .gpucarry; device command: \
	  make gpu-check, carry [\".gpucarry\"]"

.PHONY: gpu-check gpu-carry

# ---- fuzzing (issue 11): libFuzzer targets for the parsers (tests/fuzz/fuzz_*.c), built with
# clang + ASan + UBSan into build-fuzz/. `make fuzz-smoke` runs each target FUZZ_SECS seconds
# (default 30, CI); `make fuzz` runs each FUZZ_LONG_SECS (default 600). Seeds are committed in
# tests/fuzz/corpus/<target>/; new inputs go to build-fuzz/corpus/<target>/, crashes to
# build-fuzz/crash-<target>-* (reproduce: ./build-fuzz/fuzz_<target> FILE).
FUZZ_CC        ?= clang
FUZZ_SECS      ?= 30
FUZZ_LONG_SECS ?= 600
FUZZ_TARGETS    = json safetensors config
FUZZ_FLAGS      = -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
                  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB        = base/abl.c base/file.c loader/json.c loader/safetensors.c loader/config.c loader/hf_names.c
FUZZ_TARGETS   += gguf
FUZZ_SRC_gguf   = loader/gguf.c loader/dequant.c
# tokenizer (issue 5): encode/decode/stream of arbitrary bytes with the tiny golden tokenizers
FUZZ_TARGETS   += tokenizer
FUZZ_SRC_tokenizer = engine/tokenizer.c engine/tok_bpe.c engine/tok_pretok.c engine/tok_nfc.c \
                     engine/unicode_tables.c engine/unicode_nfc.c
# datasets (issue 11): every dataset reader (eval/task_*.c) on arbitrary file contents;
# tokjson: loading an arbitrary tokenizer.json, then encode/decode with it; journal: a run
# directory's journal.tsv (torn, corrupt or foreign), then append and reopen
FUZZ_TARGETS   += datasets tokjson journal
FUZZ_SRC_datasets = base/sha256.c eval/docs.c $(wildcard eval/task_*.c)
FUZZ_SRC_tokjson  = $(FUZZ_SRC_tokenizer)
FUZZ_SRC_journal  = base/sha256.c study/journal.c
# A new target: add its name to FUZZ_TARGETS, write tests/fuzz/fuzz_NAME.c, seed
# tests/fuzz/corpus/NAME/, and list any sources beyond FUZZ_LIB in FUZZ_SRC_NAME; an optional
# tests/fuzz/NAME.dict replaces the default dictionary tests/fuzz/json.dict.

.SECONDEXPANSION:
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $$(FUZZ_SRC_$$*) $(wildcard loader/*.h tests/fuzz/*.h) base/abl.h \
                   | build-fuzz/.ok
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB) $(FUZZ_SRC_$*) -lm -lpthread

build-fuzz/.ok:
	@mkdir -p build-fuzz
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) * 0; }\n' \
	  > build-fuzz/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined build-fuzz/probe.c -o build-fuzz/probe \
	  >/dev/null 2>&1 || { echo "make fuzz: '$(FUZZ_CC) -fsanitize=fuzzer,address,undefined' does \
	  not link: clang and its libFuzzer runtime are needed (hint: apt-get install clang \
	  libclang-rt-14-dev, or set FUZZ_CC=clang-NN)"; exit 1; }
	@touch $@

fuzz-smoke: $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  dict=tests/fuzz/$$t.dict; [ -f $$dict ] || dict=tests/fuzz/json.dict; \
	  echo "fuzz $$t: $(FUZZ_SECS) s"; \
	  ./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECS) -timeout=10 -rss_limit_mb=2048 \
	    -dict=$$dict -artifact_prefix=build-fuzz/crash-$$t- -print_final_stats=1 \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t >build-fuzz/fuzz_$$t.log 2>&1 || \
	    { tail -n 40 build-fuzz/fuzz_$$t.log; \
	      echo "fuzz $$t: FAILED (reproduce: ./build-fuzz/fuzz_$$t build-fuzz/crash-$$t-*)"; \
	      exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' build-fuzz/fuzz_$$t.log | tr '\n' ' '; echo; \
	done

fuzz:
	$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECS=$(FUZZ_LONG_SECS)

# ---- sanitizer tiers (issue 11) ---------------------------------------------------------------
# test-asan (above) also links an ASan+UBSan ablate (build-asan/ablate-san) that the bad-input and
# interruption tests exec (ABLATE_BIN), so their error paths run with LeakSanitizer too.
# test-tsan: ThreadSanitizer build of the runner on the tests that run threads (pool, kernels,
# threaded forward, generate, eval, study); a race aborts that test (halt_on_error).
# test-valgrind: end-to-end runs of ./ablate on the tiny model under memcheck (tests/valgrind.sh).
TSAN_TESTS ?= kernels_ model_threads_agree model_ref_kernels_agree model_cli_generate eval_run \
              study_resume study_interrupted
.PHONY: test-tsan test-valgrind test-slurm fuzz-list

$(BUILD)/ablate-san: $(BUILD)/ablate.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

test-tsan:
	$(MAKE) --no-print-directory BUILD=build-tsan OPT=-O1 \
	  SAN="-fsanitize=thread -fno-omit-frame-pointer" build-tsan/runner
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
	  ./build-tsan/runner $(TSAN_TESTS)

test-valgrind: ablate
	sh tests/valgrind.sh ./ablate

# test-slurm (issue 16): a sharded study as a job array on a real single-node Slurm on localhost
# (installs slurm-wlm and munge when missing; skips where slurmctld cannot start), byte for byte
# against the one-process run, with one shard cancelled mid-run and resubmitted (tests/slurm.sh).
test-slurm: ablate
	bash tests/slurm.sh ./ablate

fuzz-list:
	@echo $(FUZZ_TARGETS)

clean:
	rm -rf build build-asan build-neon build-fuzz build-cuda build-cuda-check build-tsan build-avx512emu ablate

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
