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

LIB_SRC  = $(filter-out $(ISA_EXCLUDE),$(wildcard base/*.c loader/*.c kernels/*.c engine/*.c eval/*.c cli/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/test_*.c) tests/runner.c tests/t.c
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/registry.o

# Only the ISA files get ISA flags: the binary runs on any x86-64 and picks kernels at run time.
$(BUILD)/kernels/avx2%.o:   ISA_FLAGS = -mavx2 -mfma -mf16c
$(BUILD)/kernels/avx512%.o: ISA_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c

.PHONY: all build test test-asan test-model test-neon model data clean bench fuzz fuzz-smoke cuda

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
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# Fast tier: no network, no real model. The runner prints one line per test and
# "N passed, N failed" last.
test: $(BUILD)/runner ablate
	./$(BUILD)/runner

test-asan:
	$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build-asan/runner
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ./build-asan/runner

# Real-model tier (needs `make model`).
test-model: $(BUILD)/runner ablate
	./$(BUILD)/runner --tier model

# ---- model and data (issue 4) ------------------------------------------------------------
MODEL_DIR = models/smollm2-135m-instruct

model: ablate
	sh tools/fetch_model.sh

model-if-missing:
	@test -f $(MODEL_DIR)/model.safetensors || $(MAKE) --no-print-directory model

data:
	sh tools/fetch_data.sh

data-if-missing:
	@test -f data/tasks/.complete || $(MAKE) --no-print-directory data

# ---- benchmarks --------------------------------------------------------------------------
bench: ablate
	./ablate bench kernels

clean:
	rm -rf build build-asan build-neon build-fuzz ablate

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
