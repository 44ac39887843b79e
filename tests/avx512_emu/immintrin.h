/* tests/avx512_emu/immintrin.h - scalar stand-ins for the few AVX-512F intrinsics that
 * kernels/avx512_gemm.c uses, so `make test-avx512-emu` checks its logic on any x86-64. */
#ifndef AVX512_EMU_IMMINTRIN_H
#define AVX512_EMU_IMMINTRIN_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    float f[16];
} __m512;

static inline __m512 _mm512_setzero_ps(void)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = 0.0f;
    return r;
}

static inline __m512 _mm512_set1_ps(float a)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = a;
    return r;
}

static inline __m512 _mm512_loadu_ps(const void *p)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = ((const float *)p)[i];
    return r;
}

/* The real instruction faults on a misaligned address: so does the stand-in. */
static inline __m512 _mm512_load_ps(const void *p)
{
    if ((uintptr_t)p % 64)
        abort();
    return _mm512_loadu_ps(p);
}

static inline void _mm512_storeu_ps(void *p, __m512 a)
{
    for (int i = 0; i < 16; i++)
        ((float *)p)[i] = a.f[i];
}

static inline __m512 _mm512_fmadd_ps(__m512 a, __m512 b, __m512 c)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = __builtin_fmaf(a.f[i], b.f[i], c.f[i]);
    return r;
}

static inline __m512 _mm512_add_ps(__m512 a, __m512 b)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = a.f[i] + b.f[i];
    return r;
}

static inline float _mm512_reduce_add_ps(__m512 a)
{
    float s = 0.0f;
    for (int i = 0; i < 16; i++)
        s += a.f[i];
    return s;
}

#endif
