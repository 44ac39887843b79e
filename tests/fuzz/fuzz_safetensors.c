/* tests/fuzz/fuzz_safetensors.c - libFuzzer target for loader/safetensors.c: each input is written
 * to an in-memory file and opened; accepted files have every tensor read back as F32. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../loader/safetensors.h"
#include "fuzz_memfile.h"

static volatile float sink;

/* One input: the checks the fuzzer runs; tests/test_fuzz.c replays the corpus through it. */
int fuzz_safetensors_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    st_file *f = NULL;
    abl_err e = {0};
    if (st_open(&f, path, &e) == ABL_OK) {
        for (int i = 0; i < st_count(f); i++) {
            const st_tensor *t = st_at(f, i);
            ABL_ASSERT(st_find(f, t->name) == t);
            const float *x;
            float *own;
            if (st_read_f32(t, &x, &own, &e) == ABL_OK) {
                float s = 0;
                for (int64_t k = 0; k < t->numel; k++)
                    s += x[k];
                sink = s;
                free(own);
            }
        }
        (void)st_metadata(f, "format");
        st_close(f);
    } else {
        ABL_ASSERT(f == NULL && e.msg[0] && !strchr(e.msg, '\n'));
    }
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors_one(data, size); }
#endif
