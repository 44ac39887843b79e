/* loader/dequant.c - scalar dequantizers for the ggml block formats, one function per type,
 * each mirroring the format definition's arithmetic order so results are bit-exact. */
#include "dequant.h"

#include <string.h>

/* Bit-exactness needs a*b+c computed as two roundings: forbid fused multiply-add. GCC already
 * does not contract in ISO C mode (-std=c11); clang contracts by default unless told here. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define QK 32   /* elements per block of the 32-wide formats */
#define QK_K 256 /* elements per super-block of the K-quants */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

float dq_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in F32 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31)
        return from_bits(sign | 0x7f800000u | mant << 13);
    return from_bits(sign | (exp + 112) << 23 | mant << 13);
}

float dq_bf16_to_f32(uint16_t h) { return from_bits((uint32_t)h << 16); }

static float f16at(const uint8_t *p) { return dq_f16_to_f32(rd16(p)); }

/* Q4_0: d (f16), 16 bytes of nibbles; low nibbles are elements 0..15, high 16..31. */
static void dq_q4_0(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 18, y += QK) {
        const float d = f16at(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)((qs[j] & 0x0f) - 8) * d;
            y[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: d, m (f16), nibbles; x = q*d + m. */
static void dq_q4_1(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 20, y += QK) {
        const float d = f16at(b), m = f16at(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < QK / 2; j++) {
            const float p0 = (float)(qs[j] & 0x0f) * d, p1 = (float)(qs[j] >> 4) * d;
            y[j] = p0 + m;
            y[j + QK / 2] = p1 + m;
        }
    }
}

/* Q5_0: d, 32 high bits (u32 LE, bit j = element j), nibbles; x = (q5 - 16) * d. */
static void dq_q5_0(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 22, y += QK) {
        const float d = f16at(b);
        const uint32_t qh = rd32(b + 2);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1) << 4, h1 = (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(((qs[j] & 0x0f) | h0) - 16) * d;
            y[j + QK / 2] = (float)(((qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

/* Q5_1: d, m, high bits, nibbles; x = q5*d + m. */
static void dq_q5_1(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 24, y += QK) {
        const float d = f16at(b), m = f16at(b + 2);
        const uint32_t qh = rd32(b + 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1) << 4, h1 = (int)((qh >> (j + 16)) & 1) << 4;
            const float p0 = (float)((qs[j] & 0x0f) | h0) * d;
            const float p1 = (float)((qs[j] >> 4) | h1) * d;
            y[j] = p0 + m;
            y[j + QK / 2] = p1 + m;
        }
    }
}

/* Q8_0: d, 32 signed bytes; x = q*d. */
static void dq_q8_0(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 34, y += QK) {
        const float d = f16at(b);
        for (int j = 0; j < QK; j++)
            y[j] = (float)(int8_t)b[2 + j] * d;
    }
}

/* The 12 packed bytes of Q4_K/Q5_K hold 8 six-bit scales and 8 six-bit mins. */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: d, dmin (f16), scales[12], qs[128]; 8 sub-blocks of 32: x = (d*sc)*q - (dmin*m). */
static void dq_q4_k(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 144) {
        const float d = f16at(b), dmin = f16at(b + 2);
        const uint8_t *scales = b + 4, *q = b + 16;
        for (int j = 0; j < 8; j += 2, q += 32, y += 64) {
            int sc, m;
            scale_min_k4(j, scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            scale_min_k4(j + 1, scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) {
                const float p1 = d1 * (float)(q[l] & 0x0f), p2 = d2 * (float)(q[l] >> 4);
                y[l] = p1 - m1;
                y[l + 32] = p2 - m2;
            }
        }
    }
}

/* Q5_K: d, dmin, scales[12], qh[32] (bit 2k / 2k+1 = high bit of sub-block 2k / 2k+1),
 * qs[128]; x = (d*sc)*q5 - (dmin*m). */
static void dq_q5_k(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 176) {
        const float d = f16at(b), dmin = f16at(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *q = b + 48;
        for (int j = 0; j < 8; j += 2, q += 32, y += 64) {
            int sc, m;
            scale_min_k4(j, scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            scale_min_k4(j + 1, scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            const uint8_t u1 = (uint8_t)(1u << j), u2 = (uint8_t)(2u << j);
            for (int l = 0; l < 32; l++) {
                const int q1 = (q[l] & 0x0f) + (qh[l] & u1 ? 16 : 0);
                const int q2 = (q[l] >> 4) + (qh[l] & u2 ? 16 : 0);
                const float p1 = d1 * (float)q1, p2 = d2 * (float)q2;
                y[l] = p1 - m1;
                y[l + 32] = p2 - m2;
            }
        }
    }
}

/* Q6_K: ql[128] low nibbles, qh[64] 2-bit highs, scales[16] (int8), d (f16);
 * 16 sub-blocks of 16: x = (d*sc)*(q6 - 32). */
static void dq_q6_k(const uint8_t *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        const float d = f16at(b + 208);
        for (int n = 0; n < QK_K; n += 128, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

bool dq_supported(int type)
{
    switch (type) {
    case GGUF_T_F32: case GGUF_T_F16: case GGUF_T_BF16: case GGUF_T_Q8_0: case GGUF_T_Q4_0:
    case GGUF_T_Q4_1: case GGUF_T_Q5_0: case GGUF_T_Q5_1: case GGUF_T_Q4_K: case GGUF_T_Q5_K:
    case GGUF_T_Q6_K:
        return true;
    default:
        return false;
    }
}

abl_status dq_to_f32(int type, const void *src, size_t n, float *dst, abl_err *err)
{
    if (!dq_supported(type))
        return abl_fail(err, ABL_E_UNSUPPORTED,
                        "dequantize: expected F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, "
                        "Q5_K or Q6_K, found %s (type %d) (hint: requantize the model with "
                        "llama-quantize to a supported type)", gguf_type_name(type), type);
    size_t blk = (size_t)gguf_type_block(type);
    if (n % blk)
        return abl_fail(err, ABL_E_ARG,
                        "dequantize: expected a multiple of %zu %s elements, found %zu", blk,
                        gguf_type_name(type), n);
    const uint8_t *b = src;
    size_t nb = n / blk;
    switch (type) {
    case GGUF_T_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case GGUF_T_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = dq_f16_to_f32(rd16(b + 2 * i));
        break;
    case GGUF_T_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = dq_bf16_to_f32(rd16(b + 2 * i));
        break;
    case GGUF_T_Q4_0: dq_q4_0(b, nb, dst); break;
    case GGUF_T_Q4_1: dq_q4_1(b, nb, dst); break;
    case GGUF_T_Q5_0: dq_q5_0(b, nb, dst); break;
    case GGUF_T_Q5_1: dq_q5_1(b, nb, dst); break;
    case GGUF_T_Q8_0: dq_q8_0(b, nb, dst); break;
    case GGUF_T_Q4_K: dq_q4_k(b, nb, dst); break;
    case GGUF_T_Q5_K: dq_q5_k(b, nb, dst); break;
    case GGUF_T_Q6_K: dq_q6_k(b, nb, dst); break;
    default: ABL_ASSERT(0);
    }
    return ABL_OK;
}
