// tools/cuda_emu/mma.h - emulated WMMA for tf32 m16n16k8 as documented (row-major A, col-major B,
// float accumulator): every lane holds the whole fragment. Developer aid only.
#pragma once
#include "cuda_runtime.h"
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision { struct tf32 {}; }
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment;
template <typename T, typename L> struct fragment<matrix_a, 16, 16, 8, T, L> {
    enum { num_elements = 16 * 8 };
    float x[16 * 8]; // (m, k) at m*8 + k
};
template <typename T, typename L> struct fragment<matrix_b, 16, 16, 8, T, L> {
    enum { num_elements = 8 * 16 };
    float x[8 * 16]; // (k, n) at k*16 + n
};
template <typename T> struct fragment<accumulator, 16, 16, 8, T, void> {
    enum { num_elements = 16 * 16 };
    float x[16 * 16]; // (m, n) at m*16 + n
};

inline float __float_to_tf32(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x1000u) & ~0x1fffu; // round to 10 mantissa bits
    memcpy(&f, &u, 4);
    return f;
}

template <typename T> void fill_fragment(fragment<accumulator, 16, 16, 8, T, void> &f, float v)
{
    for (int i = 0; i < 256; i++)
        f.x[i] = v;
}
template <typename T>
void load_matrix_sync(fragment<matrix_a, 16, 16, 8, T, row_major> &f, const float *p, unsigned ldm)
{
    for (int m = 0; m < 16; m++)
        for (int k = 0; k < 8; k++)
            f.x[m * 8 + k] = p[m * ldm + k];
}
template <typename T>
void load_matrix_sync(fragment<matrix_b, 16, 16, 8, T, col_major> &f, const float *p, unsigned ldm)
{
    for (int k = 0; k < 8; k++)
        for (int n = 0; n < 16; n++)
            f.x[k * 16 + n] = p[n * ldm + k];
}
template <typename T, typename A, typename B>
void mma_sync(fragment<accumulator, 16, 16, 8, T, void> &d, const A &a, const B &b,
              const fragment<accumulator, 16, 16, 8, T, void> &c)
{
    float r[256];
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float s = c.x[m * 16 + n];
            for (int k = 0; k < 8; k++)
                s += a.x[m * 8 + k] * b.x[k * 16 + n];
            r[m * 16 + n] = s;
        }
    memcpy(d.x, r, sizeof r);
}
template <typename T>
void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 8, T, void> &f, unsigned ldm,
                       layout_t l)
{
    (void)l;
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++)
            p[m * ldm + n] = f.x[m * 16 + n];
}
} // namespace wmma
} // namespace nvcuda
