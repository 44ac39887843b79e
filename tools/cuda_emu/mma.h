// tools/cuda_emu/mma.h - the emulated tensor-core MMA of kernels_cuda/kc_sgemm.cu: mma.sync
// m16n8k8 TF32 with the documented per-lane fragment layout, exchanged through one warp barrier.
// Developer aid only.
#pragma once
#include "cuda_runtime.h"

// d (16x8) += a (16x8, row) . b (8x8, col) for the calling warp. Lane l = 4g + t holds
// a = {(g,t), (g+8,t), (g,t+4), (g+8,t+4)}, b = {(k=t,n=g), (k=t+4,n=g)} as TF32 bits and
// d = {(g,2t), (g,2t+1), (g+8,2t), (g+8,2t+1)}. Every lane of the warp must call it.
inline void emu_mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2])
{
    static float ex[32][32][6]; // [warp][lane]: a0..a3, b0, b1
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++)
        ex[warp][lane][i] = __uint_as_float(a[i]);
    for (int i = 0; i < 2; i++)
        ex[warp][lane][4 + i] = __uint_as_float(b[i]);
    emu_warp_sync();
    float r[4];
    for (int i = 0; i < 4; i++) {
        const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        float s = d[i];
        for (int k = 0; k < 8; k++) {
            const float av = ex[warp][(row & 7) * 4 + (k & 3)][(row >= 8) + 2 * (k >= 4)];
            const float bv = ex[warp][col * 4 + (k & 3)][4 + (k >= 4)];
            s += av * bv;
        }
        r[i] = s;
    }
    emu_warp_sync(); // every lane has read before any writes its next fragments
    for (int i = 0; i < 4; i++)
        d[i] = r[i];
}
