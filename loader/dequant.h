/* loader/dequant.h - GGUF tensor blocks to F32, bit-exact with the ggml format definition:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K. */
#ifndef DEQUANT_H
#define DEQUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"
#include "gguf.h"

/* True when dq_to_f32 implements this tensor type. */
bool dq_supported(int type);

/* Dequantize n elements of `type` from src into dst (n floats, caller-owned). n must be a
 * multiple of gguf_type_block(type); src holds n / block * gguf_type_size(type) bytes (unaligned
 * is fine). Each value is computed in F32 with exactly the multiply/add order of the format
 * definition (no fused multiply-add), so results match ggml and gguf-py bit for bit.
 * Errors: ABL_E_UNSUPPORTED for another type, ABL_E_ARG for n not a multiple of the block.
 * Thread-safe (pure function). */
abl_status dq_to_f32(int type, const void *src, size_t n, float *dst, abl_err *err);

/* IEEE half / bfloat16 bit patterns to F32 (exact; subnormals, Inf and NaN payloads kept). */
float dq_f16_to_f32(uint16_t h);
float dq_bf16_to_f32(uint16_t h);

#endif
