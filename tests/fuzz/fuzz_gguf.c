/* tests/fuzz/fuzz_gguf.c - libFuzzer target for the GGUF reader: any bytes must give a clean error
 * or a file whose every metadata value and tensor block can be read without leaving the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../loader/dequant.h"
#include "../../loader/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f;
    abl_err err;
    if (gguf_open_mem(&f, data, size, "fuzz.gguf", &err) != ABL_OK)
        return 0;
    for (int i = 0; i < gguf_kv_count(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        for (uint64_t j = 0; j < kv->n; j++) {
            int64_t v;
            double d;
            gguf_str s;
            if (gguf_kv_str(kv, j, &s) && s.len)
                (void)*(volatile const char *)(s.ptr + s.len - 1);
            (void)gguf_kv_int(kv, j, &v);
            (void)gguf_kv_num(kv, j, &d);
        }
    }
    for (int i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        int blk = gguf_type_block(t->type);
        if (!dq_supported(t->type) || t->numel < blk)
            continue;
        /* the first and the last block of the tensor */
        float y[256];
        size_t bsz = (size_t)gguf_type_size(t->type), nb = t->nbytes / bsz;
        (void)dq_to_f32(t->type, t->data, (size_t)blk, y, &err);
        (void)dq_to_f32(t->type, (const uint8_t *)t->data + (nb - 1) * bsz, (size_t)blk, y, &err);
    }
    gguf_close(f);
    return 0;
}
